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

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_service::ports::{
    ApprovalRecord, Claim, ClaimAttempt, EpochMillis, HistoryRecord, NeedsReview, PortError,
    SilenceRecord, StateStore,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::error::port_error;

/// How often an optimistic read-modify-write is retried after losing a race.
pub const MAX_RACE_RETRIES: usize = 16;
/// The longest pause between two tries of a contended item.
pub const MAX_RACE_PAUSE_MS: u64 = 200;
/// How long a claim item lives after it was claimed.
pub const CLAIM_TTL_SECONDS: i64 = 30 * 86_400;
/// How long a lease item outlives its latest holder.
pub const LEASE_TTL_MARGIN_SECONDS: i64 = 86_400;
/// The fleet cap's window.
pub const FLEET_WINDOW_MS: EpochMillis = 3_600_000;

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

    /// The stored claim of `identity` (consistent read).
    pub async fn get_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        match self.get(&claim_pk(identity), "claim").await? {
            None => Ok(None),
            Some(item) => decode_claim(item).map(Some),
        }
    }

    /// Stores a silence or maintenance window (replacing one with the same id).
    pub async fn put_silence(&self, record: &SilenceRecord) -> Result<(), PortError> {
        let expires_at = record.until_ms.map(|until| until.div_euclid(1000) + 86_400);
        let sk = format!("s#{}", record.id);
        self.put_record(record, "silence", SILENCE_PK, &sk, expires_at)
            .await
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
        let mut item: Item = to_item(record)
            .map_err(|e| PortError::Permanent(format!("{what} not storable: {e}")))?;
        item.insert("pk".to_owned(), s(pk));
        item.insert("sk".to_owned(), s(sk));
        if let Some(at) = expires_at {
            item.insert("expires_at".to_owned(), n(at));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:PutItem", &e))?;
        Ok(())
    }

    /// Deletes the silence `id`; `false` when there was none.
    pub async fn remove_silence(&self, id: &str) -> Result<bool, PortError> {
        self.delete_existing(SILENCE_PK, &format!("s#{id}")).await
    }

    /// Everything listed as needing review.
    pub async fn needs_review(&self) -> Result<Vec<NeedsReview>, PortError> {
        self.query_records(REVIEW_PK, "", "needs-review").await
    }

    /// Takes `key` on `instance` off the review list; `false` when it was not on it.
    pub async fn clear_review(&self, key: &str, instance: &str) -> Result<bool, PortError> {
        self.delete_existing(REVIEW_PK, &format!("{key}#{instance}"))
            .await
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

    /// Every history record of one day (`YYYY-MM-DD`), in sort-key order. Items that cannot be
    /// read as a [`HistoryRecord`] are skipped with a warning.
    pub async fn query_history_day(&self, day: &str) -> Result<Vec<HistoryRecord>, PortError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":pk", s(&history_pk(day)))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("dynamodb:Query", &e))?;
            for item in page.items() {
                match from_item::<HistoryRecord>(item.clone()) {
                    Ok(rec) => out.push(rec),
                    Err(e) => tracing::warn!(
                        day,
                        error = %e,
                        "skipping a history item that is not a HistoryRecord"
                    ),
                }
            }
        }
        Ok(out)
    }

    /// Every item whose `pk` starts with `prefix` (a Scan; for `selfheal status` and tests),
    /// as JSON objects (numbers become JSON numbers where they fit, sets become arrays,
    /// binary values become `null`).
    pub async fn list_items(&self, prefix: &str) -> Result<Vec<serde_json::Value>, PortError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(#pk, :prefix)")
            .expression_attribute_names("#pk", "pk")
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("dynamodb:Scan", &e))?;
            out.extend(page.items().iter().map(item_to_json));
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

/// A jittered pause before try `attempt` (0-based) of a contended read-modify-write: nothing
/// before the first try, then a random wait in `1..=min(5 ms << attempt, 200 ms)`, so racing
/// writers spread out instead of colliding again in lockstep.
async fn pause_before(attempt: usize) {
    if attempt == 0 {
        return;
    }
    let ceiling = (5u64 << attempt.min(8)).min(MAX_RACE_PAUSE_MS);
    let ms = rand::random_range(1..=ceiling);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

fn race_lost(what: &str) -> PortError {
    PortError::Transient(format!(
        "dynamodb: {what} still contended after {MAX_RACE_RETRIES} attempts"
    ))
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        let pk = claim_pk(&fresh.identity);
        for _ in 0..MAX_RACE_RETRIES {
            let item = encode_claim(fresh)?;
            match self
                .put_if(item, "attribute_not_exists(#pk)", &[("#pk", "pk")], vec![])
                .await?
            {
                Write::Done => return Ok(ClaimAttempt::Won(fresh.clone())),
                Write::LostRace => {
                    if let Some(existing) = self.get(&pk, "claim").await? {
                        return Ok(ClaimAttempt::Exists(decode_claim(existing)?));
                    }
                    // It vanished between the two calls (deleted or expired): try again.
                }
            }
        }
        Err(race_lost("claim"))
    }

    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        let item = encode_claim(claim)?;
        let written = self
            .put_if(
                item,
                "#version = :expected",
                &[("#version", "version")],
                vec![(":expected", n(expected_version))],
            )
            .await?;
        Ok(matches!(written, Write::Done))
    }

    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        let pk = format!("budget#{budget_key}");
        for attempt in 0..MAX_RACE_RETRIES {
            pause_before(attempt).await;
            let stored = self.get(&pk, "budget").await?;
            let version = stored.as_ref().map_or(0, version_of);
            let mut attempts: Vec<i64> = stored
                .as_ref()
                .and_then(|i| i.get("attempts"))
                .map(number_list)
                .unwrap_or_default();
            attempts.retain(|t| *t >= window_start);
            if attempts.len() >= max as usize {
                return Ok(None);
            }
            attempts.push(now);
            let count = u32::try_from(attempts.len()).unwrap_or(u32::MAX);
            let item = Item::from([
                ("pk".to_owned(), s(&pk)),
                ("sk".to_owned(), s("budget")),
                (
                    "attempts".to_owned(),
                    AttributeValue::L(attempts.iter().map(|t| n(*t)).collect()),
                ),
                ("expires_at".to_owned(), n(ttl_until)),
            ]);
            if let Write::Done = self.put_versioned(item, version).await? {
                return Ok(Some(count));
            }
        }
        Err(race_lost("attempt budget"))
    }

    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&format!("budget#{budget_key}")))
            .key("sk", s("budget"))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:DeleteItem", &e))?;
        Ok(())
    }

    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        let pk = format!("lease#{role}");
        for attempt in 0..MAX_RACE_RETRIES {
            pause_before(attempt).await;
            let stored = self.get(&pk, "lease").await?;
            let version = stored.as_ref().map_or(0, version_of);
            let mut holders = stored
                .as_ref()
                .and_then(|i| i.get("holders"))
                .map(number_map)
                .unwrap_or_default();
            holders.retain(|_, t| *t > now);
            if !holders.contains_key(holder) && holders.len() >= max as usize {
                return Ok(false);
            }
            holders.insert(holder.to_owned(), until);
            let item = lease_item(&pk, &holders);
            if let Write::Done = self.put_versioned(item, version).await? {
                return Ok(true);
            }
        }
        Err(race_lost("role lease"))
    }

    /// One conditional `UpdateItem`: removes the holder and bumps the version (so a concurrent
    /// acquire that read the old set cannot write it back). Absent item or holder: nothing to do.
    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        let pk = format!("lease#{role}");
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s("lease"))
            .update_expression("REMOVE #holders.#h SET #version = #version + :one")
            .condition_expression("attribute_exists(#holders.#h)")
            .expression_attribute_names("#holders", "holders")
            .expression_attribute_names("#h", holder)
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(port_error("dynamodb:UpdateItem", &e)),
        }
    }

    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        for attempt in 0..MAX_RACE_RETRIES {
            pause_before(attempt).await;
            let stored = self.get("fleet", "starts").await?;
            let version = stored.as_ref().map_or(0, version_of);
            let mut starts = stored
                .as_ref()
                .and_then(|i| i.get("starts"))
                .map(number_map)
                .unwrap_or_default();
            starts.retain(|_, t| *t >= now - FLEET_WINDOW_MS);
            if starts.contains_key(holder) {
                return Ok(true);
            }
            if starts.len() >= max as usize {
                return Ok(false);
            }
            starts.insert(holder.to_owned(), now);
            let item = Item::from([
                ("pk".to_owned(), s("fleet")),
                ("sk".to_owned(), s("starts")),
                ("starts".to_owned(), number_map_value(&starts)),
                (
                    "expires_at".to_owned(),
                    n(now.div_euclid(1000) + 2 * FLEET_WINDOW_MS / 1000),
                ),
            ]);
            if let Write::Done = self.put_versioned(item, version).await? {
                return Ok(true);
            }
        }
        Err(race_lost("fleet cap"))
    }

    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        let pk = history_pk(&record.day);
        self.put_record(record, "history record", &pk, &record.sort, None)
            .await
    }

    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        self.query_records(SILENCE_PK, "s#", "silence").await
    }

    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        let item = Item::from([
            ("pk".to_owned(), s(SILENCE_PK)),
            ("sk".to_owned(), s(&format!("note#{note_id}"))),
            (
                "expires_at".to_owned(),
                n(keep_until.div_euclid(1000) + 86_400),
            ),
        ]);
        let written = self
            .put_if(item, "attribute_not_exists(#pk)", &[("#pk", "pk")], vec![])
            .await?;
        Ok(matches!(written, Write::Done))
    }

    async fn mark_needs_review(&self, review: &NeedsReview) -> Result<(), PortError> {
        let sk = format!("{}#{}", review.key, review.instance);
        let expires_at = review.since_ms.div_euclid(1000) + REVIEW_TTL_SECONDS;
        self.put_record(
            review,
            "needs-review item",
            REVIEW_PK,
            &sk,
            Some(expires_at),
        )
        .await
    }

    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        self.get_claim(identity).await
    }

    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        let pk = selfheal_core::approval::record_pk(identity);
        match self.get(&pk, selfheal_core::approval::RECORD_SK).await? {
            None => Ok(None),
            Some(item) => from_item(item).map(Some).map_err(|e| {
                PortError::Permanent(format!("stored approval record unreadable: {e}"))
            }),
        }
    }

    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        let record = OpenApproval {
            identity: identity.to_owned(),
            expires_at_ms: expires_at,
        };
        // Kept a day past the expiry, so a sweep that was down for a while still finds it.
        let ttl = expires_at.div_euclid(1000) + 86_400;
        self.put_record(
            &record,
            "open approval",
            OPEN_APPROVAL_PK,
            identity,
            Some(ttl),
        )
        .await
    }

    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        let open: Vec<OpenApproval> = self
            .query_records(OPEN_APPROVAL_PK, "", "open approval")
            .await?;
        Ok(open
            .into_iter()
            .filter(|o| o.expires_at_ms <= now)
            .map(|o| o.identity)
            .collect())
    }

    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        self.delete_existing(OPEN_APPROVAL_PK, identity).await?;
        Ok(())
    }
}

/// One approval request still waiting for Run or Skip.
#[derive(serde::Serialize, serde::Deserialize)]
struct OpenApproval {
    identity: String,
    expires_at_ms: EpochMillis,
}

const OPEN_APPROVAL_PK: &str = "approvals-open";

const SILENCE_PK: &str = "silence";
const REVIEW_PK: &str = "review";
/// How long a needs-review item is kept when nobody clears it.
const REVIEW_TTL_SECONDS: i64 = 30 * 86_400;

fn claim_pk(identity: &str) -> String {
    format!("claim#{identity}")
}

fn history_pk(day: &str) -> String {
    format!("hist#{day}")
}

fn encode_claim(claim: &Claim) -> Result<Item, PortError> {
    let mut item: Item =
        to_item(claim).map_err(|e| PortError::Permanent(format!("claim not storable: {e}")))?;
    item.insert("pk".to_owned(), s(&claim_pk(&claim.identity)));
    item.insert("sk".to_owned(), s("claim"));
    item.insert(
        "expires_at".to_owned(),
        n(claim.claimed_at_ms.div_euclid(1000) + CLAIM_TTL_SECONDS),
    );
    Ok(item)
}

fn decode_claim(item: Item) -> Result<Claim, PortError> {
    from_item(item).map_err(|e| PortError::Permanent(format!("stored claim unreadable: {e}")))
}

fn lease_item(pk: &str, holders: &HashMap<String, i64>) -> Item {
    let latest = holders.values().copied().max().unwrap_or(0);
    Item::from([
        ("pk".to_owned(), s(pk)),
        ("sk".to_owned(), s("lease")),
        ("holders".to_owned(), number_map_value(holders)),
        (
            "expires_at".to_owned(),
            n(latest.div_euclid(1000) + LEASE_TTL_MARGIN_SECONDS),
        ),
    ])
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

fn number(v: &AttributeValue) -> Option<i64> {
    match v {
        AttributeValue::N(x) => x.parse().ok(),
        _ => None,
    }
}

fn number_list(v: &AttributeValue) -> Vec<i64> {
    match v {
        AttributeValue::L(items) => items.iter().filter_map(number).collect(),
        AttributeValue::Ns(items) => items.iter().filter_map(|x| x.parse().ok()).collect(),
        _ => Vec::new(),
    }
}

fn number_map(v: &AttributeValue) -> HashMap<String, i64> {
    match v {
        AttributeValue::M(m) => m
            .iter()
            .filter_map(|(k, v)| number(v).map(|t| (k.clone(), t)))
            .collect(),
        _ => HashMap::new(),
    }
}

fn number_map_value(m: &HashMap<String, i64>) -> AttributeValue {
    AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), n(*v))).collect())
}

/// A DynamoDB item as JSON, for display.
pub fn item_to_json(item: &HashMap<String, AttributeValue>) -> serde_json::Value {
    serde_json::Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect(),
    )
}

fn value_to_json(v: &AttributeValue) -> serde_json::Value {
    use serde_json::Value;
    fn num(x: &str) -> Value {
        if let Ok(i) = x.parse::<i64>() {
            Value::from(i)
        } else if let Some(f) = x.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Value::Number(f)
        } else {
            Value::String(x.to_owned())
        }
    }
    match v {
        AttributeValue::S(x) => Value::String(x.clone()),
        AttributeValue::N(x) => num(x),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(xs) => Value::Array(xs.iter().map(value_to_json).collect()),
        AttributeValue::M(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), value_to_json(v)))
                .collect(),
        ),
        AttributeValue::Ss(xs) => Value::Array(xs.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(xs) => Value::Array(xs.iter().map(|x| num(x)).collect()),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfheal_service::ports::ClaimState;

    fn claim() -> Claim {
        Claim {
            identity: "arn:aws:cloudwatch:us-east-1:1:alarm:x|t|i-0123abcd".to_owned(),
            state: ClaimState::Running,
            owner: "req-1".to_owned(),
            owner_until_ms: 2_000,
            claimed_at_ms: 1_700_000_000_123,
            phase: Some("commands".to_owned()),
            command_id: None,
            phase_sent_at_ms: Some(5),
            command_ids: vec![],
            attempt: 2,
            outcome: None,
            version: 3,
            body: None,
            body_message_id: None,
            ..Default::default()
        }
    }

    #[test]
    fn claim_item_layout() {
        let item = encode_claim(&claim()).expect("encodes");
        assert_eq!(
            item.get("pk"),
            Some(&s(
                "claim#arn:aws:cloudwatch:us-east-1:1:alarm:x|t|i-0123abcd"
            ))
        );
        assert_eq!(item.get("sk"), Some(&s("claim")));
        assert_eq!(
            item.get("expires_at"),
            Some(&n(1_700_000_000 + CLAIM_TTL_SECONDS))
        );
        assert_eq!(item.get("version"), Some(&n(3)));
        assert_eq!(item.get("state"), Some(&s("running")));
        assert_eq!(item.get("command_ids"), Some(&AttributeValue::L(vec![])));
        assert_eq!(decode_claim(item).expect("decodes"), claim());
    }

    #[test]
    fn json_view() {
        let item = Item::from([
            ("pk".to_owned(), s("lease#web")),
            (
                "holders".to_owned(),
                AttributeValue::M(HashMap::from([("a".to_owned(), n(5))])),
            ),
            ("x".to_owned(), AttributeValue::Null(true)),
        ]);
        assert_eq!(
            item_to_json(&item),
            serde_json::json!({"pk": "lease#web", "holders": {"a": 5}, "x": null})
        );
    }
}
