//! [`StateStore::admit`] on the fake table: budgets, the role lease, the fleet's hour and the
//! claim checked under one set of locks and written together, as one DynamoDB transaction
//! does (all or nothing).

use super::validation::{check_item, check_key};
use super::FakeStore;
use crate::fakes::lock;
use crate::ports::*;

/// The fleet's window: starts since `now - 1 h` count (one exactly an hour old too).
const FLEET_WINDOW_MS: EpochMillis = 3_600_000;

pub(super) async fn admit(store: &FakeStore, a: &Admission) -> Result<Admitted, PortError> {
    store.check()?;
    for b in &a.budgets {
        check_key(&format!("budget#{}", b.key), "budget")?;
    }
    check_key(&format!("lease#{}", a.role), "lease")?;
    check_item(&a.claim, &format!("claim#{}", a.claim.identity), "claim")?;
    // Lock order: claims, attempts, leases, fleet (nothing else takes two of them).
    let mut claims = lock(&store.claims);
    if claims
        .get(&a.claim.identity)
        .is_none_or(|c| c.version != a.expected_version)
    {
        return Ok(Admitted::ClaimChanged);
    }
    let mut attempts = lock(&store.attempts);
    let mut counts = Vec::with_capacity(a.budgets.len());
    for (i, b) in a.budgets.iter().enumerate() {
        let live = attempts
            .get(&b.key)
            .map_or(0, |l| l.iter().filter(|t| **t >= b.window_start).count());
        if live >= b.max as usize {
            return Ok(Admitted::BudgetExhausted(i));
        }
        counts.push(live + 1);
    }
    let mut leases = lock(&store.leases);
    let holders = leases.entry(a.role.clone()).or_default();
    holders.retain(|_, u| *u > a.now);
    if !holders.contains_key(&a.holder) && holders.len() >= a.max_concurrent as usize {
        return Ok(Admitted::RoleFull);
    }
    let mut fleet = lock(&store.fleet);
    fleet.retain(|_, t| *t >= a.now - FLEET_WINDOW_MS);
    if !fleet.contains_key(&a.holder) && fleet.len() >= a.fleet_max as usize {
        return Ok(Admitted::FleetFull);
    }
    // Everything passed: write it all.
    for b in &a.budgets {
        let list = attempts.entry(b.key.clone()).or_default();
        list.retain(|t| *t >= b.window_start);
        list.push(a.now);
    }
    let until = holders
        .get(&a.holder)
        .map_or(a.lease_until, |u| (*u).max(a.lease_until));
    holders.insert(a.holder.clone(), until);
    let held = holders.len();
    let mut maxes = lock(&store.max_leases);
    let m = maxes.entry(a.role.clone()).or_default();
    *m = (*m).max(held);
    fleet.entry(a.holder.clone()).or_insert(a.now);
    let mut claim = a.claim.clone();
    let attempt = counts
        .first()
        .map_or(claim.attempt, |n| u32::try_from(*n).unwrap_or(u32::MAX));
    claim.attempt = attempt;
    claims.insert(claim.identity.clone(), claim);
    Ok(Admitted::Yes { attempt })
}
