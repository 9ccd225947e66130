//! Chat plumbing that is not tied to one service: fan-out to several sinks, a log sink for local
//! runs, and the system clock used by the binaries.

use crate::ports::{Announcement, Chat, Clock, EpochMillis, Escalator};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Sends every announcement to each configured sink in turn (each sink isolates its failures).
pub struct MultiChat(pub Vec<Arc<dyn Chat>>);

#[async_trait]
impl Chat for MultiChat {
    async fn announce(&self, a: &Announcement) {
        for sink in &self.0 {
            sink.announce(a).await;
        }
    }
}

/// Writes announcements to the log (the chat of a local `selfheal serve` without Slack).
pub struct LogChat;

#[async_trait]
impl Chat for LogChat {
    async fn announce(&self, a: &Announcement) {
        tracing::info!(
            kind = ?a.kind,
            key = a.key.as_deref().unwrap_or("-"),
            instance = a.instance.as_deref().unwrap_or("-"),
            outcome = a.outcome.as_deref().unwrap_or("-"),
            dry_run = a.dry_run,
            detail = %a.detail,
            "chat"
        );
    }
}

#[async_trait]
impl Escalator for LogChat {
    async fn escalate(&self, a: &Announcement) {
        tracing::warn!(
            key = a.key.as_deref().unwrap_or("-"),
            instance = a.instance.as_deref().unwrap_or("-"),
            outcome = a.outcome.as_deref().unwrap_or("-"),
            detail = %a.detail,
            "escalation (no escalation topic configured)"
        );
    }
}

/// The wall clock, for the binaries only (the engine takes time from the `Clock` port). The one
/// place the system time is read: binaries call [`SystemClock::now`] instead of their own copy.
pub struct SystemClock;

impl SystemClock {
    /// Milliseconds since the Unix epoch now (0 before 1970, `i64::MAX` past year 292 million).
    pub fn now() -> EpochMillis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

#[async_trait]
impl Clock for SystemClock {
    fn now_ms(&self) -> EpochMillis {
        SystemClock::now()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}
