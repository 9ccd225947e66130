//! Approvals: the record `slack-approvals` writes (`approval#<identity>`), and the open
//! approvals awaiting an answer (`approvals-open`, with the time each one expires).

use super::validation::check_key;
use super::FakeStore;
use crate::fakes::lock;
use crate::ports::*;

impl FakeStore {
    /// Stores an approval record as `slack-approvals` would.
    pub fn put_approval(&self, r: ApprovalRecord) {
        lock(&self.approvals).insert(r.identity.clone(), r);
    }
}

pub(super) async fn approval_record(
    store: &FakeStore,
    identity: &str,
) -> Result<Option<ApprovalRecord>, PortError> {
    store.check()?;
    check_key(&format!("approval#{identity}"), "approval")?;
    Ok(lock(&store.approvals).get(identity).cloned())
}

pub(super) async fn open_approval(
    store: &FakeStore,
    identity: &str,
    expires_at: EpochMillis,
) -> Result<(), PortError> {
    store.check()?;
    check_key("approvals-open", identity)?;
    lock(&store.open_approvals).insert(identity.to_owned(), expires_at);
    Ok(())
}

pub(super) async fn expired_approvals(
    store: &FakeStore,
    now: EpochMillis,
) -> Result<Vec<String>, PortError> {
    store.check()?;
    let mut due: Vec<String> = lock(&store.open_approvals)
        .iter()
        .filter(|(_, until)| **until <= now)
        .map(|(id, _)| id.clone())
        .collect();
    due.sort();
    Ok(due)
}

pub(super) async fn close_approval(store: &FakeStore, identity: &str) -> Result<(), PortError> {
    store.check()?;
    check_key("approvals-open", identity)?;
    lock(&store.open_approvals).remove(identity);
    Ok(())
}
