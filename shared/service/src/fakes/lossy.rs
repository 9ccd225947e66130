//! [`LostResponses`]: wraps the store or the executor so that a call takes effect and its answer is lost.

use super::lock;
use crate::ports::*;
use async_trait::async_trait;
use selfheal_core::InstanceId;
use std::sync::{Arc, Mutex};

/// How the answer of a port call is lost after the call took effect (the request reached AWS,
/// the response did not reach us: a 5xx after the write, a reset, a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Every attempt's answer is lost: the effect happened once and the caller sees
    /// `PortError::Transient` (the SDK ran out of attempts, or the call is never retried).
    Every,
    /// The first answer is lost and the SDK's retry gets through: the caller sees the answer
    /// of the same call made again after its own effect. A conditional write then meets itself
    /// (a claim comes back `Exists` with the caller's own claim, an update at the old version is
    /// `false`, a note is not new, an attempt is counted twice); an unconditional write is
    /// simply done. SendCommand is never retried by the SDK: for it this is [`Loss::Every`].
    RetriedOnce,
}

/// Wraps a port so that the next call (armed with [`LostResponses::lose_next`]) takes effect
/// and then loses its answer as DynamoDB or SSM would, with the product's SDK retries. The
/// contract suite (`shared/aws/tests/contract.rs`) holds each shape to the real adapters behind
/// moto's fault layer: after either, the table or SSM holds what one successful call leaves.
pub struct LostResponses<T: ?Sized> {
    inner: Arc<T>,
    next: Mutex<Option<Loss>>,
}

impl<T: ?Sized> LostResponses<T> {
    pub fn new(inner: Arc<T>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            next: Mutex::new(None),
        })
    }
    /// The wrapped port.
    pub fn inner(&self) -> &Arc<T> {
        &self.inner
    }
    /// The next call (of any method) takes effect and loses its answer as `loss` says.
    pub fn lose_next(&self, loss: Loss) {
        *lock(&self.next) = Some(loss);
    }
    fn take(&self) -> Option<Loss> {
        lock(&self.next).take()
    }
}

fn lost(op: &str) -> PortError {
    PortError::Transient(format!("{op}: took effect but its response was lost"))
}

/// Runs `$call` under the armed loss (the expression is evaluated again for a retry).
macro_rules! lossy {
    ($self:ident, $op:literal, $call:expr) => {
        match $self.take() {
            None => $call.await,
            Some(Loss::Every) => {
                let _ = $call.await;
                Err(lost($op))
            }
            Some(Loss::RetriedOnce) => {
                let _ = $call.await;
                $call.await
            }
        }
    };
}

#[async_trait]
impl<T: StateStore + ?Sized> StateStore for LostResponses<T> {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        lossy!(self, "claim", self.inner.claim(fresh))
    }
    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        lossy!(
            self,
            "update_claim",
            self.inner.update_claim(claim, expected_version)
        )
    }
    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        lossy!(
            self,
            "take_attempt",
            self.inner
                .take_attempt(budget_key, max, window_start, now, ttl_until)
        )
    }
    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        lossy!(
            self,
            "clear_attempts",
            self.inner.clear_attempts(budget_key)
        )
    }
    async fn admit(&self, admission: &Admission) -> Result<Admitted, PortError> {
        lossy!(self, "admit", self.inner.admit(admission))
    }
    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        lossy!(
            self,
            "acquire_lease",
            self.inner.acquire_lease(role, holder, max, now, until)
        )
    }
    async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        lossy!(
            self,
            "renew_lease",
            self.inner.renew_lease(role, holder, now, until)
        )
    }
    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        lossy!(
            self,
            "release_lease",
            self.inner.release_lease(role, holder)
        )
    }
    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        lossy!(
            self,
            "take_fleet_slot",
            self.inner.take_fleet_slot(holder, max, now)
        )
    }
    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        lossy!(self, "put_history", self.inner.put_history(record))
    }
    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError> {
        lossy!(
            self,
            "close",
            self.inner.close(record, claim, expected_version, release)
        )
    }
    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        lossy!(self, "silences", self.inner.silences())
    }
    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        lossy!(self, "note_once", self.inner.note_once(note_id, keep_until))
    }
    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        lossy!(
            self,
            "mark_needs_review",
            self.inner.mark_needs_review(item)
        )
    }
    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        lossy!(self, "load_claim", self.inner.load_claim(identity))
    }
    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        lossy!(
            self,
            "approval_record",
            self.inner.approval_record(identity)
        )
    }
    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        lossy!(
            self,
            "open_approval",
            self.inner.open_approval(identity, expires_at)
        )
    }
    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        lossy!(self, "expired_approvals", self.inner.expired_approvals(now))
    }
    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        lossy!(self, "close_approval", self.inner.close_approval(identity))
    }
}

#[async_trait]
impl<T: Executor + ?Sized> Executor for LostResponses<T> {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        // Never retried by the SDK (aws::config): a lost answer is always `Transient`.
        if self.take().is_some() {
            let _ = self.inner.send(req).await;
            return Err(lost("send"));
        }
        self.inner.send(req).await
    }
    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        lossy!(self, "poll", self.inner.poll(command_id, instance))
    }
    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        lossy!(
            self,
            "find_by_comment",
            self.inner.find_by_comment(comment, instance, since)
        )
    }
    async fn statuses(
        &self,
        ids: &[String],
        since: EpochMillis,
    ) -> Result<std::collections::HashMap<String, InvocationStatus>, PortError> {
        lossy!(self, "statuses", self.inner.statuses(ids, since))
    }
}
