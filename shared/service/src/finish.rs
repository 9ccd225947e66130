//! The claim of one alert identity (DESIGN principle 6) and how an alert ends: taking the claim,
//! recording a duplicate, and closing the claim with exactly one final history record.
//!
//! Every alert that could act (state ALARM) ends through [`Engine::close_claim`]: the final
//! history record is written under the claim id only by the worker that holds the claim, and
//! the claim is then marked done, so a later copy finds it done and is recorded beside it as a
//! duplicate, never over it.

use crate::engine::Engine;
use crate::flow::{Case, Ending};
use crate::outcome::Outcome;
use crate::ports::{AnnouncementKind, Claim, ClaimAttempt, ClaimState, PortError};
use selfheal_core::claim_id;
use selfheal_core::silence::Silenced;

/// What taking the claim of an identity gave.
pub(crate) enum Claimed {
    /// This worker owns it now (fresh, or taken over from a worker whose lease passed).
    Mine(Claim),
    /// Already decided (`Done`) or waiting for a person (`AwaitingApproval`).
    Decided(Claim),
    /// Another worker holds it right now; the record goes back to the queue until it finishes.
    Busy,
}

impl Engine {
    /// Claims `identity` for `owner`, or takes over a claim whose owner is gone.
    pub(crate) async fn take_claim(
        &self,
        identity: &str,
        owner: &str,
    ) -> Result<Claimed, PortError> {
        let now = self.ports.clock.now_ms();
        let fresh = Claim {
            identity: identity.to_owned(),
            state: ClaimState::Claimed,
            owner: owner.to_owned(),
            owner_until_ms: now + self.lease_ms(),
            claimed_at_ms: now,
            version: 1,
            ..Claim::default()
        };
        match self.ports.store.claim(&fresh).await? {
            ClaimAttempt::Won(c) => Ok(Claimed::Mine(c)),
            ClaimAttempt::Exists(existing) => {
                if matches!(
                    existing.state,
                    ClaimState::Done | ClaimState::AwaitingApproval
                ) {
                    return Ok(Claimed::Decided(existing));
                }
                // Our own claim (a lost response of the put above, or this message's earlier
                // attempt) is ours to continue; anyone else's only once its lease passed.
                if existing.owner != owner && existing.owner_until_ms > now {
                    tracing::info!(identity = %existing.identity, "claim held by another worker; retrying later");
                    return Ok(Claimed::Busy);
                }
                let mut mine = existing.clone();
                mine.owner = owner.to_owned();
                mine.owner_until_ms = now + self.lease_ms();
                mine.version = existing.version + 1;
                if self
                    .ports
                    .store
                    .update_claim(&mine, existing.version)
                    .await?
                {
                    Ok(Claimed::Mine(mine))
                } else {
                    Ok(Claimed::Busy)
                }
            }
        }
    }

    /// Gives up ownership of `identity` after a transient failure, so the next delivery can take
    /// the claim over at once (best effort: it also expires on its own).
    pub(crate) async fn give_up_ownership(&self, identity: &str, owner: &str) {
        let Ok(Some(mut claim)) = self.ports.store.load_claim(identity).await else {
            return;
        };
        if claim.owner != owner || claim.state == ClaimState::Done {
            return;
        }
        self.hand_back(&mut claim).await;
    }

    /// Records a later copy of an alert whose claim is already decided, beside its final record.
    pub(crate) async fn record_duplicate(
        &self,
        case: &Case<'_>,
        existing: &Claim,
    ) -> Result<Outcome, PortError> {
        let why = format!(
            "this alert was already handled (claim {}, {}): nothing runs twice",
            claim_id(&existing.identity),
            existing.outcome.as_deref().unwrap_or("awaiting approval")
        );
        let sort = format!("{}#dup#{}", claim_id(&case.alert.identity), case.message_id);
        let rec = self.history(
            &sort,
            case.received_at,
            None,
            self.fields(case),
            Outcome::Duplicate,
            &Ending::because(why),
        );
        self.ports.store.put_history(&rec).await?;
        Ok(Outcome::Duplicate)
    }

    /// Writes the final history record under the claim id, then marks the claim done. History
    /// is written first: if marking fails the record is retried and the same item is written
    /// again, never lost. `Err` when the claim changed under us (someone else finished it).
    pub(crate) async fn close_claim(
        &self,
        case: &Case<'_>,
        claim: &mut Claim,
        outcome: Outcome,
        ending: &Ending,
    ) -> Result<(), PortError> {
        let sort = claim_id(&case.alert.identity);
        let rec = self.history(
            &sort,
            claim.claimed_at_ms,
            Some(claim),
            self.fields(case),
            outcome,
            ending,
        );
        crate::failpoints::failpoint("before-history");
        self.ports.store.put_history(&rec).await?;
        crate::failpoints::failpoint("after-history");
        let expected = claim.version;
        let awaited = claim.approval_expires_at_ms.is_some();
        claim.state = ClaimState::Done;
        claim.body = None;
        claim.body_message_id = None;
        claim.approval_expires_at_ms = None;
        claim.outcome = Some(outcome.as_str().to_owned());
        claim.owner_until_ms = self.ports.clock.now_ms();
        claim.version += 1;
        if !self.ports.store.update_claim(claim, expected).await? {
            return Err(PortError::Transient(format!(
                "claim {} changed under us while finishing",
                claim_id(&claim.identity)
            )));
        }
        if awaited {
            if let Err(e) = self.ports.store.close_approval(&claim.identity).await {
                tracing::warn!(error = %e, "could not close the approval request; the sweep closes it");
            }
        }
        Ok(())
    }

    /// Ends an alert stopped by a guard before anything ran (it holds the claim, no lease):
    /// recorded, and announced only when a human should look.
    pub(crate) async fn finish_before_acting(
        &self,
        case: &Case<'_>,
        mut claim: Claim,
        outcome: Outcome,
        ending: Ending,
    ) -> Result<Outcome, PortError> {
        self.close_claim(case, &mut claim, outcome, &ending).await?;
        if outcome.escalates() {
            let a = self.announcement(
                case,
                AnnouncementKind::Result,
                Some(outcome),
                &ending,
                None,
                &[],
            );
            self.ports.escalator.escalate(&a).await;
            self.ports.chat.announce(&a).await;
        }
        Ok(outcome)
    }

    /// Records `silenced`; the first alert under each stretch of silence is announced, quietly
    /// (no escalation), later ones only recorded.
    pub(crate) async fn finish_silenced(
        &self,
        case: &Case<'_>,
        mut claim: Claim,
        silenced: Silenced,
    ) -> Result<Outcome, PortError> {
        let why = format!("{}: nothing runs", silenced.reason);
        self.close_claim(
            case,
            &mut claim,
            Outcome::Silenced,
            &Ending::because(why.clone()),
        )
        .await?;
        if self
            .ports
            .store
            .note_once(&silenced.note_id, silenced.until_ms)
            .await?
        {
            let detail = format!("{why}. Further alerts under this silence are only recorded (see `selfheal status`).");
            let a = self.announcement(
                case,
                AnnouncementKind::Result,
                Some(Outcome::Silenced),
                &Ending::because(detail),
                None,
                &[],
            );
            self.ports.chat.announce(&a).await;
        }
        Ok(Outcome::Silenced)
    }

    /// Records the final outcome of a remediation, marks the claim done, releases the lease and
    /// announces the result.
    pub(crate) async fn finish_claimed(
        &self,
        case: &Case<'_>,
        mut claim: Claim,
        outcome: Outcome,
        ending: Ending,
        holds_lease: bool,
    ) -> Result<Outcome, PortError> {
        self.close_claim(case, &mut claim, outcome, &ending).await?;
        if matches!(
            outcome,
            Outcome::Healed | Outcome::Failed | Outcome::TimedOut | Outcome::PrecheckFailed
        ) {
            let took = self.ports.clock.now_ms() - claim.claimed_at_ms;
            self.metric(|now| crate::metrics::duration_line(outcome, took, now));
        }
        if holds_lease {
            if let Some(role) = &case.role {
                self.release(role, &claim_id(&claim.identity)).await;
            }
        }
        let a = self.announcement(
            case,
            AnnouncementKind::Result,
            Some(outcome),
            &ending,
            Some(&claim),
            &[],
        );
        self.ports.chat.announce(&a).await;
        if outcome.escalates() {
            self.ports.escalator.escalate(&a).await;
        }
        crate::failpoints::failpoint("after-finish");
        Ok(outcome)
    }

    /// Saves the claim with a bumped version; a lost race is transient (someone else took it).
    pub(crate) async fn save_claim(&self, claim: &mut Claim) -> Result<(), PortError> {
        let expected = claim.version;
        claim.version += 1;
        if self.ports.store.update_claim(claim, expected).await? {
            Ok(())
        } else {
            Err(PortError::Transient(format!(
                "claim {} was taken over by another worker",
                claim_id(&claim.identity)
            )))
        }
    }

    /// Gives up ownership now so the next delivery can take the claim over at once.
    pub(crate) async fn hand_back(&self, claim: &mut Claim) {
        claim.owner_until_ms = self.ports.clock.now_ms();
        if let Err(e) = self.save_claim(claim).await {
            tracing::warn!(error = %e, "could not hand the claim back; it expires on its own");
        }
    }

    pub(crate) async fn release(&self, role: &str, holder: &str) {
        if let Err(e) = self.ports.store.release_lease(role, holder).await {
            tracing::warn!(error = %e, "lease release failed; it expires on its own");
        }
    }
}
