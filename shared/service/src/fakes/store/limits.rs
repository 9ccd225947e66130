//! The items that limit how much remediation runs: attempt budgets (`budget#<key>`), role
//! leases (`lease#<role>`, with the most ever held at once), and the fleet-wide hourly slots.

use super::validation::check_key;
use super::FakeStore;
use crate::fakes::lock;
use crate::ports::*;
use std::collections::HashMap;

impl FakeStore {
    pub fn max_leases(&self, role: &str) -> usize {
        lock(&self.max_leases).get(role).copied().unwrap_or(0)
    }
    pub fn leases_held(&self, role: &str) -> usize {
        lock(&self.leases).get(role).map_or(0, HashMap::len)
    }
}

pub(super) async fn take_attempt(
    store: &FakeStore,
    budget_key: &str,
    max: u32,
    window_start: EpochMillis,
    now: EpochMillis,
    _ttl_until: i64,
) -> Result<Option<u32>, PortError> {
    store.check()?;
    check_key(&format!("budget#{budget_key}"), "budget")?;
    let mut all = lock(&store.attempts);
    let list = all.entry(budget_key.to_owned()).or_default();
    list.retain(|t| *t >= window_start);
    if list.len() >= max as usize {
        return Ok(None);
    }
    list.push(now);
    Ok(Some(u32::try_from(list.len()).unwrap_or(u32::MAX)))
}

pub(super) async fn clear_attempts(store: &FakeStore, budget_key: &str) -> Result<(), PortError> {
    store.check()?;
    check_key(&format!("budget#{budget_key}"), "budget")?;
    lock(&store.attempts).remove(budget_key);
    Ok(())
}

pub(super) async fn acquire_lease(
    store: &FakeStore,
    role: &str,
    holder: &str,
    max: u32,
    now: EpochMillis,
    until: EpochMillis,
) -> Result<bool, PortError> {
    store.check()?;
    check_key(&format!("lease#{role}"), "lease")?;
    let mut leases = lock(&store.leases);
    let holders = leases.entry(role.to_owned()).or_default();
    holders.retain(|_, u| *u > now);
    if holders.contains_key(holder) || holders.len() < max as usize {
        holders.insert(holder.to_owned(), until);
        let n = holders.len();
        let mut maxes = lock(&store.max_leases);
        let m = maxes.entry(role.to_owned()).or_default();
        *m = (*m).max(n);
        Ok(true)
    } else {
        Ok(false)
    }
}

pub(super) async fn renew_lease(
    store: &FakeStore,
    role: &str,
    holder: &str,
    now: EpochMillis,
    until: EpochMillis,
) -> Result<bool, PortError> {
    store.check()?;
    check_key(&format!("lease#{role}"), "lease")?;
    let mut leases = lock(&store.leases);
    let holders = leases.entry(role.to_owned()).or_default();
    holders.retain(|_, u| *u > now);
    match holders.get_mut(holder) {
        Some(u) => {
            *u = (*u).max(until);
            Ok(true)
        }
        None => Ok(false),
    }
}

pub(super) async fn release_lease(
    store: &FakeStore,
    role: &str,
    holder: &str,
) -> Result<(), PortError> {
    store.check()?;
    check_key(&format!("lease#{role}"), "lease")?;
    if let Some(h) = lock(&store.leases).get_mut(role) {
        h.remove(holder);
    }
    Ok(())
}

pub(super) async fn take_fleet_slot(
    store: &FakeStore,
    holder: &str,
    max: u32,
    now: EpochMillis,
) -> Result<bool, PortError> {
    store.check()?;
    let mut fleet = lock(&store.fleet);
    // A start exactly one hour ago still counts ("since now - 1 h", as the adapter keeps it).
    fleet.retain(|_, t| *t >= now - 3_600_000);
    if fleet.contains_key(holder) {
        return Ok(true);
    }
    if fleet.len() < max as usize {
        fleet.insert(holder.to_owned(), now);
        Ok(true)
    } else {
        Ok(false)
    }
}
