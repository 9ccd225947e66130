//! The virtual clock: `sleep` advances time instantly, so a test runs hours of retries in no time.

use crate::ports::*;
use async_trait::async_trait;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A virtual clock: `sleep` advances time instantly (and yields to other tasks).
pub struct FakeClock {
    now: AtomicI64,
}

impl FakeClock {
    pub fn new(start_ms: EpochMillis) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(start_ms),
        })
    }
    pub fn advance(&self, d: Duration) {
        self.now
            .fetch_add(i64::try_from(d.as_millis()).unwrap_or(0), Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now_ms(&self) -> EpochMillis {
        self.now.load(Ordering::SeqCst)
    }
    async fn sleep(&self, d: Duration) {
        self.advance(d);
        tokio::task::yield_now().await;
    }
}
