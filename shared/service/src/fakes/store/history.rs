//! History items (`hist#<day>`, one per sort key): written by PutItem, last write wins.

use super::validation::check_item;
use super::FakeStore;
use crate::fakes::lock;
use crate::ports::*;

impl FakeStore {
    /// History items, keyed by (day, sort) as the table would keep them (last write wins), in
    /// the order each key was first written.
    pub fn history(&self) -> Vec<HistoryRecord> {
        let mut by_key: Vec<HistoryRecord> = Vec::new();
        for r in lock(&self.history).iter() {
            if let Some(existing) = by_key
                .iter_mut()
                .find(|e| e.day == r.day && e.sort == r.sort)
            {
                *existing = r.clone();
            } else {
                by_key.push(r.clone());
            }
        }
        by_key
    }
    /// One day's history items as a Query of `hist#<day>` returns them: one per sort key (the
    /// last write), in sort-key order.
    pub fn history_day(&self, day: &str) -> Vec<HistoryRecord> {
        let mut items: Vec<HistoryRecord> = self
            .history()
            .into_iter()
            .filter(|r| r.day == day)
            .collect();
        items.sort_by(|a, b| a.sort.cmp(&b.sort));
        items
    }
}

pub(super) async fn put_history(
    store: &FakeStore,
    record: &HistoryRecord,
) -> Result<(), PortError> {
    store.check()?;
    check_item(record, &format!("hist#{}", record.day), &record.sort)?;
    lock(&store.history).push(record.clone());
    Ok(())
}

/// The final record and the done claim together (as one DynamoDB transaction): both or
/// neither, conditional on the claim's version; the lease left in the same step.
pub(super) async fn close(
    store: &FakeStore,
    record: &HistoryRecord,
    claim: &Claim,
    expected_version: u64,
    release: Option<&LeaseRef>,
) -> Result<bool, PortError> {
    store.check()?;
    check_item(record, &format!("hist#{}", record.day), &record.sort)?;
    check_item(claim, &format!("claim#{}", claim.identity), "claim")?;
    let mut claims = lock(&store.claims);
    match claims.get(&claim.identity) {
        Some(c) if c.version == expected_version => {
            claims.insert(claim.identity.clone(), claim.clone());
            lock(&store.history).push(record.clone());
            if let Some(r) = release {
                if let Some(holders) = lock(&store.leases).get_mut(&r.role) {
                    holders.remove(&r.holder);
                }
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}
