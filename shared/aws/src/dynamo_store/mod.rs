//! [`DynamoStateStore`]: the [`StateStore`] port over one DynamoDB table.
//!
//! Table: partition key `pk` (S), sort key `sk` (S), TTL attribute `expires_at` (epoch seconds).
//! Item layouts (other tools read them; keep them stable):
//!
//! | item | `pk` | `sk` | attributes |
//! |---|---|---|---|
//! | claim | `claim#<identity>` | `claim` | every [`Claim`] field, `expires_at` = claimed_at + 30 days |
//! | attempt budget | `budget#<budget_key>` | `budget` | `attempts` (list of epoch ms), `version`, `expires_at` |
//! | role lease | `lease#<role>` | `lease` | `holders` (map holder → until ms), `version`, `expires_at` |
//! | fleet hourly cap | `fleet` | `starts` | `starts` (map holder → start ms), `version`, `expires_at` |
//! | history | `hist#<day>` | record sort key | every [`HistoryRecord`] field (its own `expires_at`) |
//! | silence / window | `silence` | `s#<id>` | every [`SilenceRecord`] field, `expires_at` (one-off: end + 1 day) |
//! | silence announced | `silence` | `note#<note id>` | `expires_at` (end of that stretch + 1 day) |
//! | needs review | `review` | `<ROLE:ALERT>#<instance>` | every [`NeedsReview`] field, `expires_at` = since + 30 days |
//! | approval (written by `slack-approvals`) | `approval#<identity>` | `approval` | every `ApprovalRecord` field |
//! | open approval request | `approvals-open` | `<identity>` | `identity`, `expires_at_ms`, `expires_at` = expiry + 1 day |
//!
//! Every write that guards safety is conditional. A lost race is not an error: counters re-read
//! and retry after a short jittered pause (at most [`MAX_RACE_RETRIES`] times, then
//! `Transient`). Throttling, 5xx and an
//! unreachable table are `Transient`, so the engine fails closed.
//!
//! Where things are: this file holds the store, its shared request helpers (get, conditional
//! and versioned puts, delete-if-present, prefix queries), the race-retry pause and the
//! [`StateStore`] impl, which only delegates to one file per item kind: `claims.rs`, `limits.rs`
//! (attempt budgets, role leases, the fleet cap), `history.rs`, `silences.rs`, `review.rs`,
//! `approvals.rs` and `listing.rs` (the Scan and JSON view for `selfheal status`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_service::ports::{
    Admission, Admitted, ApprovalRecord, Claim, ClaimAttempt, EpochMillis, HistoryRecord, LeaseRef,
    NeedsReview, PortError, SilenceRecord, StateStore,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::error::port_error;
use crate::retry::Backoff;

mod admit;
mod approvals;
mod claims;
mod close;
mod history;
mod limits;
mod listing;
mod review;
mod silences;
mod transaction;

pub use claims::CLAIM_TTL_SECONDS;
pub use limits::{FLEET_WINDOW_MS, LEASE_TTL_MARGIN_SECONDS};
pub use listing::item_to_json;

/// How often an optimistic read-modify-write is retried after losing a race.
pub const MAX_RACE_RETRIES: usize = 16;
/// The longest pause between two tries of a contended item.
pub const MAX_RACE_PAUSE_MS: u64 = 200;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB-backed state (claims, attempt budgets, leases, the fleet cap, history).
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The result of one conditional write.
enum Write {
    Done,
    LostRace,
}

impl DynamoStateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes `record` (every field) as the item `pk`/`sk`, unconditionally, with `expires_at`
    /// when given (otherwise the record carries its own, or the item never expires).
    async fn put_record<T: serde::Serialize>(
        &self,
        record: &T,
        what: &str,
        pk: &str,
        sk: &str,
        expires_at: Option<i64>,
    ) -> Result<(), PortError> {
        let item = record_item(record, what, pk, sk, expires_at)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:PutItem", &e))?;
        Ok(())
    }

    /// Deletes an item only if it exists; `false` when it did not.
    async fn delete_existing(&self, pk: &str, sk: &str) -> Result<bool, PortError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", "pk")
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(port_error("dynamodb:DeleteItem", &e)),
        }
    }

    /// [`Self::query_prefix`], each item read as a `T`; unreadable items (`what`) are skipped
    /// with a warning.
    async fn query_records<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        sk_prefix: &str,
        what: &str,
    ) -> Result<Vec<T>, PortError> {
        let items = self.query_prefix(pk, sk_prefix).await?;
        Ok(items
            .into_iter()
            .filter_map(|i| match from_item::<T>(i) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable {what} item");
                    None
                }
            })
            .collect())
    }

    /// Items of partition `pk` whose sort key starts with `sk_prefix` (consistent reads).
    async fn query_prefix(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, PortError> {
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":pk", s(pk));
        req = if sk_prefix.is_empty() {
            req.key_condition_expression("#pk = :pk")
        } else {
            req.key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", "sk")
                .expression_attribute_values(":prefix", s(sk_prefix))
        };
        let mut pages = req.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("dynamodb:Query", &e))?;
            out.extend(page.items().iter().cloned());
        }
        Ok(out)
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb:GetItem", &e))?;
        Ok(out.item().cloned())
    }

    /// PutItem with a condition; a failed condition is [`Write::LostRace`], not an error.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Write, PortError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(_) => Ok(Write::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(Write::LostRace)
            }
            Err(e) => Err(port_error("dynamodb:PutItem", &e)),
        }
    }

    /// Writes a versioned counter item: it must still be absent or at `read_version`.
    async fn put_versioned(&self, mut item: Item, read_version: u64) -> Result<Write, PortError> {
        item.insert("version".to_owned(), n(read_version + 1));
        self.put_if(
            item,
            "attribute_not_exists(#pk) OR #version = :v",
            &[("#pk", "pk"), ("#version", "version")],
            vec![(":v", n(read_version))],
        )
        .await
    }
}

/// `record` as an item under `pk`/`sk` (with a TTL when `expires_at` is given).
fn record_item<T: serde::Serialize>(
    record: &T,
    what: &str,
    pk: &str,
    sk: &str,
    expires_at: Option<i64>,
) -> Result<Item, PortError> {
    let mut item: Item =
        to_item(record).map_err(|e| PortError::Permanent(format!("{what} not storable: {e}")))?;
    item.insert("pk".to_owned(), s(pk));
    item.insert("sk".to_owned(), s(sk));
    if let Some(at) = expires_at {
        item.insert("expires_at".to_owned(), n(at));
    }
    Ok(item)
}

/// The pause between two tries of a contended read-modify-write: full jitter up to
/// `10 ms × 2^(retry-1)`, at most [`MAX_RACE_PAUSE_MS`], for [`MAX_RACE_RETRIES`] tries, so
/// racing writers spread out instead of colliding again in lockstep.
pub const RACE_BACKOFF: Backoff = Backoff::new(
    Duration::from_millis(10),
    Duration::from_millis(MAX_RACE_PAUSE_MS),
    MAX_RACE_RETRIES as u32,
);

/// The jittered pause before try `attempt` (0-based) of a contended read-modify-write
/// ([`RACE_BACKOFF`]): nothing before the first try.
async fn pause_before(attempt: usize) {
    RACE_BACKOFF
        .pause_before(u32::try_from(attempt).unwrap_or(u32::MAX))
        .await;
}

fn race_lost(what: &str) -> PortError {
    PortError::Transient(format!(
        "dynamodb: {what} still contended after {MAX_RACE_RETRIES} attempts"
    ))
}

// Each method calls the inherent method of the same name in the item kind's file (inherent
// methods take precedence over trait methods, so these do not recurse).
#[async_trait]
impl StateStore for DynamoStateStore {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        self.claim(fresh).await
    }

    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        self.update_claim(claim, expected_version).await
    }

    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        self.take_attempt(budget_key, max, window_start, now, ttl_until)
            .await
    }

    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        self.clear_attempts(budget_key).await
    }

    async fn admit(&self, admission: &Admission) -> Result<Admitted, PortError> {
        self.admit(admission).await
    }

    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        self.acquire_lease(role, holder, max, now, until).await
    }

    async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        self.renew_lease(role, holder, now, until).await
    }

    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        self.release_lease(role, holder).await
    }

    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        self.take_fleet_slot(holder, max, now).await
    }

    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        self.put_history(record).await
    }

    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError> {
        self.close(record, claim, expected_version, release).await
    }

    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        self.silences().await
    }

    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        self.note_once(note_id, keep_until).await
    }

    async fn mark_needs_review(&self, review: &NeedsReview) -> Result<(), PortError> {
        self.mark_needs_review(review).await
    }

    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        self.get_claim(identity).await
    }

    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        self.approval_record(identity).await
    }

    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        self.open_approval(identity, expires_at).await
    }

    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        self.expired_approvals(now).await
    }

    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        self.close_approval(identity).await
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn version_of(item: &Item) -> u64 {
    match item.get("version") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}
