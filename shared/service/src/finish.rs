//! Claim writes outside the alert machine (the approval sweep): closing a claim with its one
//! final history record, and releasing a lease. The alert machine
//! (`machine.rs`) does the same steps through its driver.

use crate::engine::Engine;
use crate::flow::{Case, Ending};
use crate::outcome::Outcome;
use crate::ports::{Claim, PortError};
use selfheal_core::claim_id;

impl Engine {
    /// Writes the final history record under the claim id and marks the claim done, in one
    /// all-or-nothing write ([`crate::ports::StateStore::close`]): a failure leaves both as they
    /// were, so the next sweep ends it once. `Err` when the claim changed under us (someone else
    /// finished it).
    /// Owner, description and mode come from the entry of the claim's stored runbook key when
    /// the map has it (else from the case); `escalated` says whether the caller pages a human.
    pub(crate) async fn close_claim(
        &self,
        case: &Case<'_>,
        claim: &mut Claim,
        outcome: Outcome,
        ending: &Ending,
        escalated: bool,
    ) -> Result<(), PortError> {
        let sort = claim_id(&case.alert.identity);
        let entry = self.claim_entry(claim).or(case.entry);
        let rec = self.history(
            &sort,
            claim.claimed_at_ms,
            Some(claim),
            self.fields(case).with_entry(entry).escalated(escalated),
            outcome,
            ending,
        );
        crate::failpoints::failpoint("before-history");
        let (expected, awaited) = claim.mark_done(outcome.as_str(), self.ports.clock.now_ms());
        if !self.ports.store.close(&rec, claim, expected, None).await? {
            return Err(PortError::Transient(format!(
                "claim {} changed under us while finishing",
                claim_id(&claim.identity)
            )));
        }
        crate::failpoints::failpoint("after-history");
        if awaited {
            if let Err(e) = self.ports.store.close_approval(&claim.identity).await {
                tracing::warn!(error = %e, "could not close the approval request; the sweep closes it");
            }
        }
        Ok(())
    }

    /// Leaves the role's lease, under the role's in-process lock (so it never races an
    /// admission of this process on the lease item).
    pub(crate) async fn release(&self, role: &str, holder: &str) {
        let local = self.role_local(role);
        {
            let _guard = local.lock.lock().await;
            if let Err(e) = self.ports.store.release_lease(role, holder).await {
                tracing::warn!(error = %e, "lease release failed; it expires on its own");
            }
        }
        local.freed.notify_one();
    }
}
