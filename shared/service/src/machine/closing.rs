//! How an alert ends: the decision made durable in the claim, the final history record, the
//! claim closed, announcements; and how a failure hands the claim back.

use super::*;

impl AlertRun {
    pub(super) fn finish_before_acting(&mut self, outcome: Outcome, why: String) -> Step {
        self.finish(Finish {
            outcome,
            ending: Ending::because(why),
            holds_lease: false,
            kind: FinishKind::BeforeActing,
        })
    }

    /// Ends an alert that holds the claim: the outcome is first made durable in the claim
    /// (conditional update), then the final history record is written under the claim id, then
    /// the claim is marked done. A redelivery that finds the decision repeats the last two.
    pub(super) fn finish(&mut self, f: Finish) -> Step {
        let (role, key, runbook) = (
            self.role.clone(),
            self.key.clone(),
            self.runbook_key.clone(),
        );
        let decided = f.decided();
        let claim = self.claim_mut();
        if claim.role.is_none() {
            claim.role = role;
        }
        if claim.key.is_none() {
            claim.key = key;
        }
        if claim.runbook.is_none() {
            claim.runbook = runbook;
        }
        claim.decided = Some(decided);
        self.save_claim(State::Deciding(Box::new(f)))
    }

    /// Writes the final history record (the decision is durable in the claim).
    pub(super) fn write_final(&mut self, f: Box<Finish>) -> Step {
        let claim = self.claim_ref().clone();
        let rec = history_record(
            self.stamp(),
            &claim_id(&self.input.alert.identity),
            claim.claimed_at_ms,
            Some(&claim),
            self.fields().escalated(f.pages()),
            f.outcome,
            &f.ending,
        );
        self.outbox.push_back(Step::Failpoint("before-history"));
        self.state = State::FinalHistory(f);
        self.emit_then(Step::PutHistory(Box::new(rec)))
    }

    /// The claim is done: close the approval request, release, announce, escalate.
    pub(super) fn closed(&mut self, f: Finish) -> Step {
        if self.close_approval {
            self.outbox.push_back(Step::CloseApproval(self.identity()));
        }
        let claim = self.claim_ref().clone();
        match f.kind {
            FinishKind::Remediation => {
                if matches!(
                    f.outcome,
                    Outcome::Healed | Outcome::Failed | Outcome::TimedOut | Outcome::PrecheckFailed
                ) {
                    self.outbox.push_back(Step::Duration {
                        outcome: f.outcome,
                        took_ms: self.now - claim.claimed_at_ms,
                    });
                }
                if f.holds_lease {
                    self.release_lease();
                }
                let a = self.announcement(
                    AnnouncementKind::Result,
                    Some(f.outcome),
                    &f.ending,
                    true,
                    &[],
                );
                self.outbox.push_back(Step::Announce(Box::new(a.clone())));
                if f.pages() {
                    self.outbox.push_back(Step::Escalate(Box::new(a)));
                }
                self.outbox.push_back(Step::Failpoint("after-finish"));
                self.done(f.outcome)
            }
            FinishKind::BeforeActing => {
                if f.pages() {
                    let a = self.announcement(
                        AnnouncementKind::Result,
                        Some(f.outcome),
                        &f.ending,
                        false,
                        &[],
                    );
                    self.outbox.push_back(Step::Escalate(Box::new(a.clone())));
                    self.outbox.push_back(Step::Announce(Box::new(a)));
                }
                self.done(f.outcome)
            }
            FinishKind::Silenced { note_id, until } => {
                self.state = State::Noted {
                    why: f.ending.reason,
                };
                self.emit_then(Step::NoteOnce { id: note_id, until })
            }
        }
    }

    /// A port failed: release a lease taken for nothing, give the claim back, and return the
    /// record to the queue.
    pub(super) fn fail(&mut self, e: PortError) -> Step {
        tracing::warn!(identity = %self.input.alert.identity, error = %e, "transient failure; the record goes back to the queue");
        self.outbox.clear();
        if self.release_on_fail && self.holds_lease {
            self.release_lease();
            self.release_on_fail = false;
        }
        if self.claim.is_none() {
            return self.done(Outcome::Retry);
        }
        // A remediation in flight keeps its role lease across this failure too: the next
        // delivery comes only after the queue's visibility timeout.
        self.hold_lease_in_flight();
        self.state = State::GiveUpLoaded;
        self.emit_then(Step::LoadClaim(self.identity()))
    }

    pub(super) fn save_claim(&mut self, then: State) -> Step {
        let claim = self.claim_mut();
        let expected = claim.version;
        claim.version += 1;
        let claim = claim.clone();
        self.state = then;
        self.emit_then(Step::UpdateClaim { claim, expected })
    }

    /// Gives up ownership now so the next delivery can take the claim over at once (its answer
    /// does not matter: the claim also expires on its own).
    pub(super) fn hand_back_claim(&mut self, then: State) -> Step {
        let now = self.now;
        let claim = self.claim_mut();
        claim.owner_until_ms = now;
        let expected = claim.version;
        claim.version += 1;
        let claim = claim.clone();
        self.state = then;
        self.emit_then(Step::UpdateClaim { claim, expected })
    }

    pub(super) fn release_lease(&mut self) {
        if let Some(role) = self.role.clone() {
            self.outbox.push_back(Step::ReleaseLease {
                role,
                holder: claim_id(&self.identity()),
            });
        }
        self.holds_lease = false;
    }

    /// Queues a lease extension for the claim's role when a phase is in flight (failure of the
    /// extension only logged).
    pub(super) fn hold_lease_in_flight(&mut self) {
        let claim = self.claim_ref();
        let (Some(role), true) = (claim.role.clone(), claim.phase.is_some()) else {
            return;
        };
        let hold = claim
            .runbook
            .as_deref()
            .and_then(|k| self.runbooks.get(k))
            .map_or_else(|| self.hold_ms(&self.entry_or_empty()), |e| self.hold_ms(e));
        self.outbox.push_back(Step::HoldLease {
            role,
            holder: claim_id(&self.identity()),
            until: self.now + hold,
        });
    }
}
