//! The admission ([`StateStore::admit`]): attempt budgets, the role lease, the fleet's hour
//! and the claim in two calls — one consistent `BatchGetItem` of the limit items, one
//! `TransactWriteItems` writing every changed item under its version condition and the claim
//! under its own. All or nothing: a refused admission writes nothing, and a race lost on a
//! limit item (another worker wrote it between the read and the write) is read and decided
//! again after a jittered pause; a race lost on every try is a short capacity wait
//! (`Admitted::Contended`), never a failure that waits out the queue's visibility timeout.
//!
//! [`StateStore::admit`]: selfheal_service::ports::StateStore::admit

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use selfheal_service::ports::{Admission, Admitted, PortError};

use super::claims::encode_claim;
use super::limits::{
    budget_item, fleet_item, lease_item, number_list, number_map, FLEET_WINDOW_MS,
};
use super::transaction::{MapJoin, Transaction, TxnPut};
use super::{n, pause_before, race_lost, s, version_of, DynamoStateStore, Item, MAX_RACE_RETRIES};
use crate::error::port_error;

/// The claim's `Put` comes first in the transaction: its cancellation reason tells a changed
/// claim from a lost race on a limit item.
const CLAIM_AT: usize = 0;

impl DynamoStateStore {
    pub(crate) async fn admit(&self, a: &Admission) -> Result<Admitted, PortError> {
        let budget_pks: Vec<String> = a
            .budgets
            .iter()
            .map(|b| format!("budget#{}", b.key))
            .collect();
        let lease_pk = format!("lease#{}", a.role);
        let mut keys: Vec<(&str, &str)> = budget_pks
            .iter()
            .map(|pk| (pk.as_str(), "budget"))
            .collect();
        keys.push((lease_pk.as_str(), "lease"));
        keys.push(("fleet", "starts"));
        for attempt in 0..MAX_RACE_RETRIES {
            pause_before(attempt).await;
            let stored = self.batch_get(&keys).await?;
            let item = |pk: &str| stored.get(pk);
            // Decide from what is stored: budgets, then the lease, then the fleet.
            let mut writes: Vec<(Item, u64)> = Vec::new();
            let mut first_count = None;
            for (i, (b, pk)) in a.budgets.iter().zip(&budget_pks).enumerate() {
                let mut attempts: Vec<i64> = item(pk)
                    .and_then(|it| it.get("attempts"))
                    .map(number_list)
                    .unwrap_or_default();
                attempts.retain(|t| *t >= b.window_start);
                if attempts.len() >= b.max as usize {
                    return Ok(Admitted::BudgetExhausted(i));
                }
                attempts.push(a.now);
                first_count.get_or_insert(attempts.len());
                writes.push((
                    budget_item(pk, &attempts, b.ttl_until),
                    item(pk).map_or(0, version_of),
                ));
            }
            let mut joins = Vec::new();
            let stored_holders = item(&lease_pk)
                .and_then(|it| it.get("holders"))
                .map(number_map);
            let mut holders = stored_holders.clone().unwrap_or_default();
            holders.retain(|_, t| *t > a.now);
            if !holders.contains_key(&a.holder) && holders.len() >= a.max_concurrent as usize {
                return Ok(Admitted::RoleFull);
            }
            let until = holders
                .get(&a.holder)
                .map_or(a.lease_until, |u| (*u).max(a.lease_until));
            let lease = lease_item(&lease_pk, &holders_with(&holders, &a.holder, until));
            match join_of(
                item(&lease_pk),
                stored_holders.as_ref(),
                holders.len(),
                &a.holder,
            ) {
                // Nothing to prune and not held yet: join without racing other joiners.
                true => joins.push(MapJoin {
                    pk: lease_pk.clone(),
                    sk: "lease",
                    map: "holders",
                    key: a.holder.clone(),
                    value: until,
                    max: a.max_concurrent as usize,
                    expires_at: raised_expiry(item(&lease_pk), &lease),
                }),
                false => writes.push((lease, item(&lease_pk).map_or(0, version_of))),
            }
            let stored_starts = item("fleet")
                .and_then(|it| it.get("starts"))
                .map(number_map);
            let mut starts = stored_starts.clone().unwrap_or_default();
            starts.retain(|_, t| *t >= a.now - FLEET_WINDOW_MS);
            if !starts.contains_key(&a.holder) {
                if starts.len() >= a.fleet_max as usize {
                    return Ok(Admitted::FleetFull);
                }
                let fleet = fleet_item(&holders_with(&starts, &a.holder, a.now), a.now);
                match join_of(
                    item("fleet"),
                    stored_starts.as_ref(),
                    starts.len(),
                    &a.holder,
                ) {
                    true => joins.push(MapJoin {
                        pk: "fleet".to_owned(),
                        sk: "starts",
                        map: "starts",
                        key: a.holder.clone(),
                        value: a.now,
                        max: a.fleet_max as usize,
                        expires_at: raised_expiry(item("fleet"), &fleet),
                    }),
                    false => writes.push((fleet, item("fleet").map_or(0, version_of))),
                }
            }
            let mut claim = a.claim.clone();
            if let Some(count) = first_count {
                claim.attempt = u32::try_from(count).unwrap_or(u32::MAX);
            }
            match self
                .write_admission(encode_claim(&claim)?, a.expected_version, writes, joins)
                .await?
            {
                Txn::Done => {
                    return Ok(Admitted::Yes {
                        attempt: claim.attempt,
                    })
                }
                Txn::ClaimChanged => return Ok(Admitted::ClaimChanged),
                Txn::Raced => {}
            }
        }
        // Lost the race every time: other workers are taking and leaving these items right
        // now. A short capacity wait (SELFHEAL_CAPACITY_RETRY_SECONDS), not a failure that
        // waits out the queue's visibility timeout.
        tracing::info!(role = %a.role, "admission contended on every try; capacity wait");
        Ok(Admitted::Contended)
    }

    /// Consistent reads of `keys` (pk, sk) in one `BatchGetItem` (again for any key DynamoDB
    /// left unprocessed), by partition key.
    async fn batch_get(&self, keys: &[(&str, &str)]) -> Result<HashMap<String, Item>, PortError> {
        let mut pending: Vec<Item> = keys
            .iter()
            .map(|(pk, sk)| Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]))
            .collect();
        let mut found = HashMap::new();
        for _ in 0..MAX_RACE_RETRIES {
            if pending.is_empty() {
                return Ok(found);
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| PortError::Permanent(format!("dynamodb: read not buildable: {e}")))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| port_error("dynamodb:BatchGetItem", &e))?;
            for it in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                if let Some(AttributeValue::S(pk)) = it.get("pk") {
                    found.insert(pk.clone(), it.clone());
                }
            }
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
                pause_before(1).await;
            }
        }
        Err(race_lost("admission read"))
    }

    /// One transaction: the claim at `expected_version` and each limit item at the version it
    /// was read with (absent items must still be absent).
    async fn write_admission(
        &self,
        claim: Item,
        expected_version: u64,
        writes: Vec<(Item, u64)>,
        joins: Vec<MapJoin>,
    ) -> Result<Txn, PortError> {
        let mut puts = vec![TxnPut {
            item: claim,
            condition: Some(("attribute_exists(#pk) AND #version = :v", expected_version)),
        }];
        for (mut item, read_version) in writes {
            item.insert("version".to_owned(), n(read_version + 1));
            puts.push(TxnPut {
                item,
                condition: Some(("attribute_not_exists(#pk) OR #version = :v", read_version)),
            });
        }
        Ok(match self.transact_all(puts, joins, None).await? {
            Transaction::Committed => Txn::Done,
            t if t.condition_failed_at(CLAIM_AT) => Txn::ClaimChanged,
            // A limit item changed since it was read, or a conflicting transaction: read and
            // decide again.
            Transaction::Cancelled(_) => Txn::Raced,
        })
    }
}

/// `map` with `key` set to `value`.
fn holders_with(map: &HashMap<String, i64>, key: &str, value: i64) -> HashMap<String, i64> {
    let mut m = map.clone();
    m.insert(key.to_owned(), value);
    m
}

/// A place can be joined by a [`MapJoin`] (no version race with other joiners) when the item
/// and its map exist, every stored entry is live (nothing to prune: the map's size is the
/// count the cap checks), and `key` is not in it yet (a renewal rewrites its entry).
fn join_of(
    stored: Option<&Item>,
    stored_map: Option<&HashMap<String, i64>>,
    live: usize,
    key: &str,
) -> bool {
    let versioned = stored.is_some_and(|it| it.contains_key("version"));
    versioned && stored_map.is_some_and(|m| m.len() == live && !m.contains_key(key))
}

/// The expiry a join writes: the one the full item would carry, or the stored one if later
/// (a join never lowers it; one raised since the read cancels the join, which is read again).
fn raised_expiry(stored: Option<&Item>, full: &Item) -> i64 {
    let of = |it: &Item| match it.get("expires_at") {
        Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
        _ => None,
    };
    of(full).unwrap_or(0).max(stored.and_then(of).unwrap_or(0))
}

enum Txn {
    Done,
    ClaimChanged,
    Raced,
}
