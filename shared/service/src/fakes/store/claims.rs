//! Claims (`claim#<identity>`): one per alarm-and-instance, won by a conditional write and
//! advanced by optimistic version; the fault injection that loses a saved command id.

use super::validation::{check_item, check_key};
use super::FakeStore;
use crate::fakes::{lock, take_one};
use crate::ports::*;

fn claim_key(identity: &str) -> String {
    format!("claim#{identity}")
}

impl FakeStore {
    pub fn claim_of(&self, identity: &str) -> Option<Claim> {
        lock(&self.claims).get(identity).cloned()
    }
}

pub(super) async fn claim(store: &FakeStore, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
    store.check()?;
    check_item(fresh, &claim_key(&fresh.identity), "claim")?;
    let mut claims = lock(&store.claims);
    match claims.get(&fresh.identity) {
        Some(c) => Ok(ClaimAttempt::Exists(c.clone())),
        None => {
            claims.insert(fresh.identity.clone(), fresh.clone());
            Ok(ClaimAttempt::Won(fresh.clone()))
        }
    }
}

pub(super) async fn update_claim(
    store: &FakeStore,
    claim: &Claim,
    expected_version: u64,
) -> Result<bool, PortError> {
    store.check()?;
    check_item(claim, &claim_key(&claim.identity), "claim")?;
    // The first write that would carry a command id the stored claim does not know yet.
    let new_id = lock(&store.claims).get(&claim.identity).is_some_and(|c| {
        claim
            .command_ids
            .iter()
            .any(|id| !c.command_ids.contains(id))
    });
    if new_id && take_one(&store.fail_command_id_saves) {
        return Err(PortError::Transient(
            "crash before the command id reached the store".into(),
        ));
    }
    let mut claims = lock(&store.claims);
    match claims.get(&claim.identity) {
        Some(c) if c.version == expected_version => {
            claims.insert(claim.identity.clone(), claim.clone());
            Ok(true)
        }
        _ => Ok(false),
    }
}

pub(super) async fn load_claim(
    store: &FakeStore,
    identity: &str,
) -> Result<Option<Claim>, PortError> {
    store.check()?;
    check_key(&claim_key(identity), "claim")?;
    Ok(lock(&store.claims).get(identity).cloned())
}
