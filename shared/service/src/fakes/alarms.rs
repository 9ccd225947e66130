//! The fake CloudWatch alarms: each alarm's state and the instances it watches.

use super::lock;
use crate::ports::*;
use async_trait::async_trait;
use selfheal_core::{AlarmState, InstanceId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Fake CloudWatch alarms: every alarm is in `default` unless set otherwise. An alarm bound to
/// instances with [`FakeAlarms::watch`] watches exactly those (as its `InstanceId` dimensions
/// would); an unbound alarm stands for one created on whichever instance a test names.
#[derive(Default)]
pub struct FakeAlarms {
    pub states: Mutex<HashMap<String, Option<AlarmState>>>,
    pub default: Mutex<Option<AlarmState>>,
    pub watches: Mutex<HashMap<String, Vec<String>>>,
    pub down: AtomicBool,
}

impl FakeAlarms {
    pub fn all_in_alarm() -> Arc<Self> {
        let a = Self::default();
        *lock(&a.default) = Some(AlarmState::Alarm);
        Arc::new(a)
    }
    pub fn set(&self, name: &str, state: Option<AlarmState>) {
        lock(&self.states).insert(name.to_owned(), state);
    }
    /// Binds the alarm `name` to the instances its configuration names.
    pub fn watch(&self, name: &str, instances: &[&str]) {
        lock(&self.watches).insert(
            name.to_owned(),
            instances.iter().map(|i| (*i).to_owned()).collect(),
        );
    }
}

#[async_trait]
impl Alarms for FakeAlarms {
    async fn live_alarm(
        &self,
        alarm_name: &str,
        instance: &InstanceId,
    ) -> Result<Option<LiveAlarm>, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Transient("cloudwatch throttled".into()));
        }
        let state = match lock(&self.states).get(alarm_name) {
            Some(s) => *s,
            None => *lock(&self.default),
        };
        let watches_instance = lock(&self.watches)
            .get(alarm_name)
            .is_none_or(|list| list.iter().any(|i| i == instance.as_str()));
        Ok(state.map(|state| LiveAlarm {
            state,
            watches_instance,
        }))
    }
}
