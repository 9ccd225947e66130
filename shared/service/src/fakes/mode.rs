//! The fake kill switch: the global mode an operator sets (`enforce`, `dry-run`, `off`).

use super::lock;
use crate::ports::*;
use async_trait::async_trait;
use std::sync::{Arc, Mutex};

/// Fake kill switch.
pub struct FakeMode(pub Mutex<GlobalMode>);

impl FakeMode {
    pub fn new(mode: GlobalMode) -> Arc<Self> {
        Arc::new(Self(Mutex::new(mode)))
    }
    pub fn set(&self, mode: GlobalMode) {
        *lock(&self.0) = mode;
    }
    /// Sets the mode as an operator sets the parameter: `Some(value)` is its raw value, `None` a
    /// parameter that cannot be read (missing, access denied). Anything but `enforce`, `dry-run`
    /// or `off` reads as `dry-run`, as the parameter adapter reads it (fail closed).
    pub fn set_parameter(&self, raw: Option<&str>) {
        self.set(
            raw.and_then(GlobalMode::parse)
                .unwrap_or(GlobalMode::DryRun),
        );
    }
}

#[async_trait]
impl ModeSource for FakeMode {
    async fn mode(&self) -> GlobalMode {
        *lock(&self.0)
    }
}
