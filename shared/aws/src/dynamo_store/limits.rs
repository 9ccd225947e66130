//! Limits: attempt budgets (`budget#<budget_key>`), role leases (`lease#<role>`) and the fleet
//! hourly cap (`fleet` / `starts`), each a versioned counter item written by optimistic
//! read-modify-write.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_service::ports::{EpochMillis, PortError};

use super::{
    n, pause_before, race_lost, s, version_of, DynamoStateStore, Item, Write, MAX_RACE_RETRIES,
};
use crate::error::port_error;

/// How long a lease item outlives its latest holder.
pub const LEASE_TTL_MARGIN_SECONDS: i64 = 86_400;
/// The fleet cap's window.
pub const FLEET_WINDOW_MS: EpochMillis = 3_600_000;

impl DynamoStateStore {
    pub(crate) async fn take_attempt(
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
            let item = budget_item(&pk, &attempts, ttl_until);
            if let Write::Done = self.put_versioned(item, version).await? {
                return Ok(Some(count));
            }
        }
        Err(race_lost("attempt budget"))
    }

    pub(crate) async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
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

    pub(crate) async fn acquire_lease(
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

    /// Extends `holder`'s unexpired lease (never shortens it); a lapsed or absent one is not
    /// taken again. The same versioned read-modify-write as [`Self::acquire_lease`].
    pub(crate) async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        let pk = format!("lease#{role}");
        for attempt in 0..MAX_RACE_RETRIES {
            pause_before(attempt).await;
            let Some(stored) = self.get(&pk, "lease").await? else {
                return Ok(false);
            };
            let version = version_of(&stored);
            let mut holders = stored.get("holders").map(number_map).unwrap_or_default();
            holders.retain(|_, t| *t > now);
            let Some(held) = holders.get_mut(holder) else {
                return Ok(false);
            };
            *held = (*held).max(until);
            let item = lease_item(&pk, &holders);
            if let Write::Done = self.put_versioned(item, version).await? {
                return Ok(true);
            }
        }
        Err(race_lost("role lease"))
    }

    /// One conditional `UpdateItem`: removes the holder and bumps the version (so a concurrent
    /// acquire that read the old set cannot write it back). Absent item or holder: nothing to do.
    pub(crate) async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
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

    pub(crate) async fn take_fleet_slot(
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
            let item = fleet_item(&starts, now);
            if let Write::Done = self.put_versioned(item, version).await? {
                return Ok(true);
            }
        }
        Err(race_lost("fleet cap"))
    }
}

/// A budget item: the attempts (epoch ms) still inside its window.
pub(super) fn budget_item(pk: &str, attempts: &[i64], ttl_until: i64) -> Item {
    Item::from([
        ("pk".to_owned(), s(pk)),
        ("sk".to_owned(), s("budget")),
        (
            "attempts".to_owned(),
            AttributeValue::L(attempts.iter().map(|t| n(*t)).collect()),
        ),
        ("expires_at".to_owned(), n(ttl_until)),
    ])
}

/// The fleet item: each holder's start (epoch ms) within the last hour.
pub(super) fn fleet_item(starts: &HashMap<String, i64>, now: EpochMillis) -> Item {
    Item::from([
        ("pk".to_owned(), s("fleet")),
        ("sk".to_owned(), s("starts")),
        ("starts".to_owned(), number_map_value(starts)),
        (
            "expires_at".to_owned(),
            n(now.div_euclid(1000) + 2 * FLEET_WINDOW_MS / 1000),
        ),
    ])
}

pub(super) fn lease_item(pk: &str, holders: &HashMap<String, i64>) -> Item {
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

fn number(v: &AttributeValue) -> Option<i64> {
    match v {
        AttributeValue::N(x) => x.parse().ok(),
        _ => None,
    }
}

pub(super) fn number_list(v: &AttributeValue) -> Vec<i64> {
    match v {
        AttributeValue::L(items) => items.iter().filter_map(number).collect(),
        AttributeValue::Ns(items) => items.iter().filter_map(|x| x.parse().ok()).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn number_map(v: &AttributeValue) -> HashMap<String, i64> {
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
