//! Taking the claim (or finding it decided, or resuming what is in flight) and the guards
//! before acting: role tag, decision, silences, kill switch.

use super::*;

impl AlertRun {
    pub(super) fn start(&mut self) -> Step {
        self.outbox.push_back(Step::Failpoint("before-claim"));
        if self.input.approval.is_some() {
            self.state = State::AwaitingLoaded;
            self.emit_then(Step::LoadClaim(self.identity()))
        } else {
            self.state = State::Put;
            let fresh = self.fresh_claim();
            self.emit_then(Step::PutClaim(fresh))
        }
    }

    pub(super) fn fresh_claim(&self) -> Claim {
        Claim {
            identity: self.identity(),
            state: ClaimState::Claimed,
            owner: self.owner.clone(),
            owner_until_ms: self.now + self.lease_ms(),
            claimed_at_ms: self.now,
            version: 1,
            ..Claim::default()
        }
    }

    /// A press found the claim not awaiting approval any more: take it like any redelivery
    /// (a decision left unfinished is finished; an approved run interrupted is resumed; anything
    /// else is handed back untouched and this press is a duplicate).
    pub(super) fn not_awaiting(&mut self) -> Step {
        self.state = State::Put;
        let fresh = self.fresh_claim();
        self.emit_then(Step::PutClaim(fresh))
    }

    /// This worker holds the claim: resume what is in flight, or run the guards.
    pub(super) fn holding(&mut self) -> Step {
        if let Some(d) = self.claim_ref().decided.clone() {
            // Decided before and not closed (a crash, a lost response): the same record again.
            let claim = self.claim_ref().clone();
            self.role = claim.role.clone();
            self.key = claim.key.clone();
            self.runbook_key = claim.runbook.clone();
            self.entry = claim
                .runbook
                .as_deref()
                .and_then(|k| self.runbooks.get(k))
                .map(|e| Arc::new(e.clone()));
            return self.close(Box::new(Finish::from_decided(&d)));
        }
        let stray = self.input.approval.as_ref().is_some_and(|ap| {
            !self.from_awaiting && (ap.decision == Decision::Skip || !self.claim_ref().approved)
        });
        if stray {
            // A press for a claim that is not waiting for it: give it back untouched.
            let c = self.claim_ref().clone();
            self.claim = Some(c.clone());
            return self.hand_back_claim(State::StrayHandedBack);
        }
        self.outbox.push_back(Step::Failpoint("after-claim"));
        if self.claim_ref().phase.is_some() {
            // Whatever happens next, the role lease of a remediation in flight is extended as
            // soon as a delivery touches it, so a run interrupted again and again keeps it.
            self.hold_lease_in_flight();
            return self.resume();
        }
        match self.input.alert.single_instance().cloned() {
            Some(i) => {
                self.state = State::Tags;
                self.emit_then(Step::ReadTags(i))
            }
            None => self.decided(),
        }
    }

    /// A claim with a phase in flight: resume with what the claim fixed (no tag, silence or
    /// decision is consulted again).
    pub(super) fn resume(&mut self) -> Step {
        self.resumed = true;
        let claim = self.claim_ref().clone();
        let decision = decide(&self.input.alert, &self.runbooks, claim.role.as_deref());
        self.role = claim.role.clone().or(decision.role.clone());
        self.key = claim.key.clone().or(decision.key.clone());
        let stored = claim
            .runbook
            .as_deref()
            .and_then(|k| self.runbooks.get(k).map(|e| (k, e)))
            .or(decision.runbook)
            .map(|(k, e)| (k.to_owned(), Arc::new(e.clone())));
        let Some((runbook_key, entry)) = stored else {
            let why = format!(
                "the runbook this remediation was started with ({}) is no longer in the map: phase {} was in flight and nothing more runs",
                claim.runbook.as_deref().unwrap_or("unknown"),
                claim.phase.as_deref().unwrap_or("?")
            );
            return self.finish(Finish {
                outcome: Outcome::Unresolved,
                ending: Ending::because(why),
                holds_lease: true,
                kind: FinishKind::Remediation,
            });
        };
        self.action = if entry.mode == Mode::Approve && !claim.approved {
            Action::Approve
        } else {
            Action::Remediate
        };
        self.runbook_key = Some(runbook_key);
        self.entry = Some(entry);
        self.run_claimed()
    }

    pub(super) fn duplicate(&mut self, existing: &Claim) -> Step {
        let decision = decide(&self.input.alert, &self.runbooks, existing.role.as_deref());
        self.role = decision.role.clone();
        self.key = decision.key.clone();
        self.runbook_key = decision.runbook_key().map(str::to_owned);
        self.entry = decision.runbook.map(|(_, e)| Arc::new(e.clone()));
        let why = format!(
            "this alert was already handled (claim {}, {}): nothing runs twice",
            claim_id(&existing.identity),
            existing.outcome.as_deref().unwrap_or("awaiting approval")
        );
        let sort = format!(
            "{}#dup#{}",
            claim_id(&self.input.alert.identity),
            self.input.message_id
        );
        let rec = history_record(
            self.stamp(),
            &sort,
            self.input.received_at,
            None,
            self.fields(),
            Outcome::Duplicate,
            &Ending::because(why),
        );
        self.claim = None;
        self.state = State::DuplicateWritten;
        self.emit_then(Step::PutHistory(Box::new(rec)))
    }

    pub(super) fn decided(&mut self) -> Step {
        let decision = decide(&self.input.alert, &self.runbooks, self.tags.role.as_deref());
        self.role = decision.role.clone();
        self.key = decision.key.clone();
        self.runbook_key = decision.runbook_key().map(str::to_owned);
        self.entry = decision.runbook.map(|(_, e)| Arc::new(e.clone()));
        self.action = decision.action;
        let simple = match decision.action {
            Action::Ignore => Some(Outcome::Ignored),
            Action::Unresolved => Some(Outcome::Unresolved),
            Action::NoRunbook => Some(Outcome::NoRunbook),
            Action::Disabled => Some(Outcome::Disabled),
            Action::Invalid => Some(Outcome::Invalid),
            Action::Remediate | Action::DryRun | Action::Approve => None,
        };
        if let Some(outcome) = simple {
            return self.finish_before_acting(outcome, decision.reason);
        }
        let resolved = self.role.clone().unwrap_or_default();
        if let Some(why) = role_tag_mismatch(&resolved, self.tags.role.as_deref()) {
            return self.finish_before_acting(Outcome::Unresolved, why);
        }
        // The instance's own silence tag, then stored silences and windows.
        if let (Some(inst), Some(tag)) = (
            self.input.alert.single_instance(),
            self.tags.silence.as_deref(),
        ) {
            if let Some(s) = tag_silence(inst.as_str(), tag, self.now) {
                return self.silenced(s);
            }
        }
        self.state = State::Silences;
        self.emit_then(Step::ReadSilences)
    }

    pub(super) fn silenced(&mut self, s: selfheal_core::silence::Silenced) -> Step {
        let why = format!("{}: nothing runs", s.reason);
        self.finish(Finish {
            outcome: Outcome::Silenced,
            ending: Ending::because(why),
            holds_lease: false,
            kind: FinishKind::Silenced {
                note_id: s.note_id,
                until: s.until_ms,
            },
        })
    }

    pub(super) fn read_mode(&mut self) -> Step {
        self.state = State::Mode;
        self.emit_then(Step::ReadMode)
    }

    pub(super) fn after_mode(&mut self, mode: GlobalMode) -> Step {
        if mode == GlobalMode::Off {
            return self.finish_before_acting(
                Outcome::Killed,
                "the global mode is off (kill switch): nothing runs".to_owned(),
            );
        }
        // Run was pressed for one runbook key: if the alert now resolves to another (its role
        // tag changed since), the person approved something else. Nothing runs.
        let claim = self.claim_ref();
        if claim.approved
            && claim.key.is_some()
            && (claim.key != self.key || claim.runbook != self.runbook_key)
        {
            let why = format!(
                "Run was pressed for {} ({}), but the alert now resolves to {} ({}): the role changed since the request; nothing runs",
                claim.key.as_deref().unwrap_or("?"),
                claim.runbook.as_deref().unwrap_or("?"),
                self.key.as_deref().unwrap_or("no key"),
                self.runbook_key.as_deref().unwrap_or("no runbook"),
            );
            return self.finish_before_acting(Outcome::Unresolved, why);
        }
        self.dry_run = mode == GlobalMode::DryRun || self.action == Action::DryRun;
        // What a redelivery resumes with, saved with the claim's next write (before any send).
        let (role, key, runbook) = (
            self.role.clone(),
            self.key.clone(),
            self.runbook_key.clone(),
        );
        let claim = self.claim_mut();
        // Budgets were charged for the key and entry this claim was judged with; if the
        // decision changed since (a role tag changed during a capacity wait), charge again.
        if claim.attempt > 0 && (claim.key != key || claim.runbook != runbook) {
            claim.attempt = 0;
        }
        claim.role = role;
        claim.key = key;
        claim.runbook = runbook;
        // Run was pressed: the approved runbook now runs like one in mode `enforce`.
        if self.claim_ref().approved && self.action == Action::Approve {
            self.action = Action::Remediate;
        }
        self.run_claimed()
    }
}
