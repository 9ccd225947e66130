//! The fake resource tags: an instance's role and its `selfheal:silence` tag.

use super::lock;
use crate::ports::*;
use async_trait::async_trait;
use selfheal_core::InstanceId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Fake role (and silence) tags.
#[derive(Default)]
pub struct FakeTags {
    pub roles: Mutex<HashMap<String, String>>,
    pub silences: Mutex<HashMap<String, String>>,
    pub down: AtomicBool,
}

impl FakeTags {
    pub fn with(pairs: &[(&str, &str)]) -> Arc<Self> {
        let t = Self::default();
        for (i, r) in pairs {
            lock(&t.roles).insert((*i).to_owned(), (*r).to_owned());
        }
        Arc::new(t)
    }
    pub fn set(&self, instance: &str, role: &str) {
        lock(&self.roles).insert(instance.to_owned(), role.to_owned());
    }
    /// Sets the instance's `selfheal:silence` tag.
    pub fn silence(&self, instance: &str, until: &str) {
        lock(&self.silences).insert(instance.to_owned(), until.to_owned());
    }
}

#[async_trait]
impl Tags for FakeTags {
    async fn tags_of(&self, instance: &InstanceId) -> Result<InstanceTags, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Transient("tagging API throttled".into()));
        }
        // A tag with an empty value counts as absent (as the tagging adapter reads it).
        let value = |m: &Mutex<HashMap<String, String>>| {
            lock(m)
                .get(instance.as_str())
                .filter(|v| !v.is_empty())
                .cloned()
        };
        Ok(InstanceTags {
            role: value(&self.roles),
            silence: value(&self.silences),
        })
    }
}
