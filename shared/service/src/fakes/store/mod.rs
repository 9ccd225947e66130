//! [`FakeStore`], the fake DynamoDB state table: its items, its fault injection, and the
//! `StateStore` port over them. Each call is answered in the file of the item kind it touches:
//! claims, limits (budgets, role leases, the fleet slot), history, silences (and their notes),
//! needs-review items, approvals; `validation` checks every key and item as DynamoDB does.

mod admit;
mod approvals;
mod claims;
mod history;
mod limits;
mod reviews;
mod silences;
mod validation;

pub use validation::{MAX_ITEM_BYTES, MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES};

use crate::ports::*;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Fake DynamoDB state with the adapter's semantics and fault injection.
///
/// What it models of the table (each held to `DynamoStateStore` on moto by the contract suite,
/// `shared/aws/tests/contract.rs`): conditional writes (claims, notes), optimistic versions,
/// PutItem overwriting an item with the same key (history, silences, needs-review items, open
/// approvals), Query order (sort key, bytewise), DynamoDB's size limits (partition key ≤ 2048
/// bytes, sort key ≤ 1024 bytes, item ≤ 400 KB: a `ValidationException`, permanent, that
/// changes nothing; reads with an oversized key are refused too, as DynamoDB refuses them,
/// although moto checks only writes).
///
/// What it does not model: TTL. DynamoDB deletes an expired item only eventually (typically
/// within days) and reads return it until then, so a store that never deletes is one that
/// DynamoDB may be; nothing may rely on TTL for correctness. The `expires_at` each item carries
/// is checked only against DynamoDB.
#[derive(Default)]
pub struct FakeStore {
    claims: Mutex<HashMap<String, Claim>>,
    attempts: Mutex<HashMap<String, Vec<EpochMillis>>>,
    leases: Mutex<HashMap<String, HashMap<String, EpochMillis>>>,
    fleet: Mutex<HashMap<String, EpochMillis>>,
    history: Mutex<Vec<HistoryRecord>>,
    /// When set, every call answers `Transient` (the store is unreachable).
    pub down: AtomicBool,
    /// The next this-many `update_claim` calls that would store a command id the stored claim
    /// does not have fail (a crash after SendCommand, before any claim write carried its id:
    /// the phase machine writes it with the next phase's sent-at, not on its own).
    pub fail_command_id_saves: AtomicU32,
    /// Leases held at once per role, at most ever.
    max_leases: Mutex<HashMap<String, usize>>,
    silences: Mutex<Vec<SilenceRecord>>,
    notes: Mutex<HashMap<String, EpochMillis>>,
    reviews: Mutex<HashMap<String, NeedsReview>>,
    approvals: Mutex<HashMap<String, ApprovalRecord>>,
    open_approvals: Mutex<HashMap<String, EpochMillis>>,
}

impl FakeStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    fn check(&self) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            Err(PortError::Transient("DynamoDB unreachable".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl StateStore for FakeStore {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        claims::claim(self, fresh).await
    }

    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        claims::update_claim(self, claim, expected_version).await
    }

    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        limits::take_attempt(self, budget_key, max, window_start, now, ttl_until).await
    }

    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        limits::clear_attempts(self, budget_key).await
    }

    async fn admit(&self, admission: &Admission) -> Result<Admitted, PortError> {
        admit::admit(self, admission).await
    }

    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        limits::acquire_lease(self, role, holder, max, now, until).await
    }

    async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        limits::renew_lease(self, role, holder, now, until).await
    }

    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        limits::release_lease(self, role, holder).await
    }

    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        limits::take_fleet_slot(self, holder, max, now).await
    }

    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        history::put_history(self, record).await
    }

    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError> {
        history::close(self, record, claim, expected_version, release).await
    }

    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        silences::silences(self).await
    }

    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        silences::note_once(self, note_id, keep_until).await
    }

    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        reviews::mark_needs_review(self, item).await
    }

    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        claims::load_claim(self, identity).await
    }

    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        approvals::approval_record(self, identity).await
    }

    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        approvals::open_approval(self, identity, expires_at).await
    }

    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        approvals::expired_approvals(self, now).await
    }

    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        approvals::close_approval(self, identity).await
    }
}
