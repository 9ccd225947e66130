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

    /// Ends an alert that holds the claim: the final history record (under the claim id) and
    /// the claim marked done are written together, all or nothing, conditional on the claim's
    /// version. Until that write commits nothing is recorded, so a redelivery after a failure
    /// finds the claim as it was and ends it once. The decision is kept in the done claim too.
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
        self.close(Box::new(f))
    }

    /// The final history record and the claim marked done, in one conditional write. Also
    /// ends a claim decided by an earlier delivery (a Skip or an expiry decided in the write
    /// that took the request, or a decision written before closes were one write).
    pub(super) fn close(&mut self, mut f: Box<Finish>) -> Step {
        let now = self.now;
        // A remediation holding its role lease leaves it in the same write.
        let release = match (
            &self.role,
            f.kind.is_remediation() && f.holds_lease && self.holds_lease,
        ) {
            (Some(role), true) => {
                f.holds_lease = false;
                Some(LeaseRef {
                    role: role.clone(),
                    holder: claim_id(&self.identity()),
                })
            }
            _ => None,
        };
        let before = self.claim_ref().clone();
        let rec = history_record(
            self.stamp(),
            &claim_id(&self.input.alert.identity),
            before.claimed_at_ms,
            Some(&before),
            self.fields().escalated(f.pages()),
            f.outcome,
            &f.ending,
        );
        let claim = self.claim_mut();
        let (expected, awaited) = claim.mark_done(f.outcome.as_str(), now);
        let claim = Box::new(claim.clone());
        self.close_approval = awaited;
        self.outbox.push_back(Step::Failpoint("before-history"));
        self.state = State::Closing(f);
        self.emit_then(Step::Close {
            record: Box::new(rec),
            claim,
            expected,
            release,
        })
    }

    /// The close failed or lost its race: read the claim back. Only a claim that this run
    /// closed (done, our owner, our outcome, our version) counts as closed.
    pub(super) fn check_close(&mut self, f: Box<Finish>, e: PortError) -> Step {
        self.state = State::CloseCheck(f, e);
        self.emit_then(Step::LoadClaim(self.identity()))
    }

    pub(super) fn is_our_close(&self, stored: &Claim, outcome: Outcome) -> bool {
        let mine = self.claim_ref();
        stored.state == ClaimState::Done
            && stored.owner == mine.owner
            && stored.version == mine.version
            && stored.outcome.as_deref() == Some(outcome.as_str())
    }

    /// The claim is done: close the approval request, release, announce, escalate.
    pub(super) fn closed(&mut self, f: Finish) -> Step {
        self.outbox.push_back(Step::Failpoint("after-history"));
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
            self.unsent_phase = true;
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
