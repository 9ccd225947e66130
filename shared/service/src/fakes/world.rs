//! [`FakeWorld`]: every fake, wired together into the engine's [`Ports`](crate::engine::Ports).

use super::{FakeAlarms, FakeClock, FakeExecutor, FakeMode, FakeStore, FakeTags, Recorder};
use crate::ports::*;
use std::sync::Arc;

/// Every fake, wired together.
pub struct FakeWorld {
    pub clock: Arc<FakeClock>,
    pub executor: Arc<FakeExecutor>,
    pub store: Arc<FakeStore>,
    pub tags: Arc<FakeTags>,
    pub alarms: Arc<FakeAlarms>,
    pub mode: Arc<FakeMode>,
    pub chat: Arc<Recorder>,
    pub escalations: Arc<Recorder>,
}

impl FakeWorld {
    pub fn new(start_ms: EpochMillis) -> Self {
        let clock = FakeClock::new(start_ms);
        Self {
            executor: FakeExecutor::new(clock.clone()),
            clock,
            store: FakeStore::new(),
            tags: Arc::new(FakeTags::default()),
            alarms: FakeAlarms::all_in_alarm(),
            mode: FakeMode::new(GlobalMode::Enforce),
            chat: Recorder::new(),
            escalations: Recorder::new(),
        }
    }

    pub fn ports(&self) -> crate::engine::Ports {
        crate::engine::Ports {
            executor: self.executor.clone(),
            store: self.store.clone(),
            tags: self.tags.clone(),
            alarms: self.alarms.clone(),
            mode: self.mode.clone(),
            chat: self.chat.clone(),
            escalator: self.escalations.clone(),
            clock: self.clock.clone(),
        }
    }
}
