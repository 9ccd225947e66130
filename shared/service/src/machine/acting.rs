//! After the guards: dry-run, the admission (attempt budgets, role lease, fleet start, in one
//! write), the live alarm, the phases (through the phase machine) and the approval request.

use super::*;

impl AlertRun {
    /// After the guards: dry-run, budgets, capacity, the live alarm, then the phases.
    pub(super) fn run_claimed(&mut self) -> Step {
        let Some(entry) = self.entry.clone() else {
            return self.finish(Finish {
                outcome: Outcome::NoRunbook,
                ending: Ending::because("no runbook"),
                holds_lease: false,
                kind: FinishKind::Remediation,
            });
        };
        let Some(instance) = self.instance() else {
            return self.fail(PortError::Permanent("no single instance".into()));
        };
        let resuming = self.claim_ref().phase.is_some();
        if self.dry_run && !resuming {
            let a = self.announcement(
                AnnouncementKind::Start,
                None,
                &Ending::because("dry-run: nothing runs"),
                true,
                &entry.commands,
            );
            self.outbox.push_back(Step::Announce(Box::new(a)));
            let why = format!(
                "dry-run: would run {} command(s) of {} on {instance}; nothing ran",
                entry.commands.len(),
                self.runbook_key.as_deref().unwrap_or("?")
            );
            return self.finish(Finish {
                outcome: Outcome::DryRun,
                ending: Ending::because(why),
                holds_lease: false,
                kind: FinishKind::Remediation,
            });
        }
        if resuming {
            return self.renew_lease();
        }
        self.budgets.clear();
        if self.claim_ref().attempt == 0 {
            // Counted once per claim, per ROLE:ALERT and instance and per runbook entry and
            // instance (a wildcard entry cannot be re-run under new alert names).
            let key = self.key.clone().unwrap_or_default();
            let runbook = self.runbook_key.clone().unwrap_or_else(|| key.clone());
            self.budgets = vec![format!("{key}#{instance}")];
            if runbook != key {
                self.budgets.push(format!("entry:{runbook}#{instance}"));
            }
        }
        // Check before taking anything: the alarm's live state and configuration.
        self.live_then_admit(true, false)
    }

    /// Reads the live alarm (when `read` and the alert has one on a single instance; `fresh`
    /// bypasses what the batch read), then the admission; else the admission at once.
    fn live_then_admit(&mut self, read: bool, fresh: bool) -> Step {
        match (read && has_live_alarm(&self.input.alert), self.instance()) {
            (true, Some(instance)) => {
                self.state = State::Live;
                self.emit_then(Step::LiveAlarm {
                    name: self.input.alert.alarm_name.clone().unwrap_or_default(),
                    instance,
                    fresh,
                })
            }
            _ => self.admit(),
        }
    }

    /// Budgets, the role lease (held until the remediation can be resumed after a crash: the
    /// running hold, at least the claim lease and a phase's timeout), a fleet start and the
    /// claim recording the attempt: one all-or-nothing step ([`StateStore::admit`]).
    pub(super) fn admit(&mut self) -> Step {
        let entry = self.entry_or_empty();
        let window_ms = i64::from(entry.window_minutes) * 60_000;
        let budgets = self
            .budgets
            .iter()
            .map(|key| BudgetTake {
                key: key.clone(),
                max: entry.max_attempts,
                window_start: self.now - window_ms,
                ttl_until: (self.now + window_ms) / 1000 + 86_400,
            })
            .collect();
        let expected_version = self.claim_ref().version;
        let mut claim = self.claim_ref().clone();
        claim.version += 1;
        // The first phase's sent-at is saved in this same write (the mode is still read right
        // before the send): a crash after it is resumed like one after a sent-at save.
        if let Some(first) = Phase::plan(&entry, self.action == Action::Approve).first() {
            claim.phase = Some(first.as_str().to_owned());
            claim.command_id = None;
            claim.phase_sent_at_ms = Some(self.now);
            claim.state = ClaimState::Running;
        }
        self.pending_admission = Some(claim.clone());
        let admission = Admission {
            budgets,
            role: self.role.clone().unwrap_or_default(),
            holder: claim_id(&self.identity()),
            max_concurrent: entry.max_concurrent,
            lease_until: self.now + self.hold_ms(&entry),
            fleet_max: self.settings.max_per_hour,
            now: self.now,
            expected_version,
            claim,
        };
        self.state = State::Admitting;
        self.emit_then(Step::Admit {
            admission: Box::new(admission),
            after_wait: self.capacity_waits > 0,
        })
    }

    pub(super) fn after_admit(&mut self, a: Admitted) -> Step {
        let entry = self.entry_or_empty();
        let role = self.role.clone().unwrap_or_default();
        match a {
            Admitted::Yes { attempt } => {
                let mut claim = self.pending_admission.take().unwrap_or_default();
                claim.attempt = attempt;
                self.claim = Some(claim);
                self.admitted()
            }
            Admitted::BudgetExhausted(i) => self.budget_exhausted(i),
            Admitted::RoleFull => self.wait_for_capacity(format!(
                "role {role} already runs {} remediation(s), its max_concurrent",
                entry.max_concurrent
            )),
            Admitted::FleetFull => self.capacity_wait(format!(
                "the fleet already started {} remediations in the last hour (SELFHEAL_MAX_PER_HOUR)",
                self.settings.max_per_hour
            )),
            Admitted::ClaimChanged => self.check_admit(taken_over(&self.identity())),
            Admitted::Contended => self.wait_for_capacity(format!(
                "role {role}'s lease and the fleet's hourly starts were being changed by other workers throughout; trying again shortly"
            )),
        }
    }

    /// The admission failed or found the claim changed: read the claim back. Only our own
    /// admission committed (the next version, our owner, the attempt counted) lets it go on;
    /// anything else goes back to the queue.
    pub(super) fn check_admit(&mut self, e: PortError) -> Step {
        self.state = State::AdmitCheck(e);
        self.emit_then(Step::LoadClaim(self.identity()))
    }

    pub(super) fn after_admit_check(&mut self, stored: Claim, e: PortError) -> Step {
        let ours = self.pending_admission.take().is_some_and(|mine| {
            stored.version == mine.version
                && stored.owner == mine.owner
                && stored.state == mine.state
                && stored.phase_sent_at_ms == mine.phase_sent_at_ms
                && stored.attempt != 0
        });
        if ours {
            self.claim = Some(stored);
            self.admitted()
        } else {
            self.fail(e)
        }
    }

    /// Admitted (the live alarm was checked before): the lease is ours (given back if this
    /// delivery fails before anything is sent), and the first phase starts.
    fn admitted(&mut self) -> Step {
        self.holds_lease = true;
        self.release_on_fail = true;
        self.sent_at_saved = self.claim_ref().phase_sent_at_ms.is_some();
        self.announce_start()
    }

    /// A remediation resumed with a phase begun renews the lease it kept; it never takes a
    /// lease (or a fleet start) again.
    pub(super) fn renew_lease(&mut self) -> Step {
        let entry = self.entry_or_empty();
        self.state = State::Renewing;
        self.emit_then(Step::RenewLease {
            role: self.role.clone().unwrap_or_default(),
            holder: claim_id(&self.identity()),
            until: self.now + self.hold_ms(&entry),
        })
    }

    pub(super) fn after_renew(&mut self, held: bool) -> Step {
        if held {
            self.holds_lease = true;
            // One whose phases ran keeps its lease until it is resumed, failure or not.
            self.release_on_fail = false;
            return self.start_phases();
        }
        // Lapsed while the remediation was paused (no delivery within the hold): another
        // remediation of the role may have run since. A command already sent is still found
        // and awaited; nothing new is sent.
        let entry = self.entry_or_empty();
        self.lapsed = Some(format!(
            "not resumed while it held its place in role {} (held {} min after its last step): other remediations of the role may have run since, so no further phase is sent",
            self.role.as_deref().unwrap_or("?"),
            self.hold_ms(&entry) / 60_000
        ));
        self.holds_lease = false;
        self.release_on_fail = false;
        self.start_phases()
    }

    pub(super) fn budget_exhausted(&mut self, which: usize) -> Step {
        let entry = self.entry_or_empty();
        let key = self.key.clone().unwrap_or_default();
        let runbook = self.runbook_key.clone().unwrap_or_else(|| key.clone());
        let instance = self.instance().map(|i| i.to_string()).unwrap_or_default();
        let budget_key = self.budgets.get(which).cloned().unwrap_or_default();
        let scope = if budget_key.starts_with("entry:") {
            format!("runbook entry {runbook}")
        } else {
            key.clone()
        };
        let why = format!(
            "{} attempts of {scope} on {instance} within {} minutes already: needs review by a human",
            entry.max_attempts, entry.window_minutes
        );
        let review = NeedsReview {
            key: key.clone(),
            instance: instance.clone(),
            budget_key,
            budget_keys: self.budgets.clone(),
            identity: self.identity(),
            since_ms: self.now,
            reason: format!(
                "{why} (clear with `selfheal needs-review clear {key} --instance {instance}`)"
            ),
        };
        self.state = State::ReviewMarked { why };
        self.emit_then(Step::MarkNeedsReview(review))
    }

    /// No place in the role (or every try lost the race): wait in this process and try again
    /// ([`capacity_pause`] apart, or sooner when a remediation of this process leaves the
    /// role), instead of going back to the queue. Gives up — a capacity wait through the
    /// queue — after `capacity_retry` of waiting, or when the next wait would eat into the time
    /// the remediation itself needs before the deadline.
    pub(super) fn wait_for_capacity(&mut self, why: String) -> Step {
        let entry = self.entry_or_empty();
        let since = *self.waiting_since.get_or_insert(self.now);
        let pause = capacity_pause(&self.identity(), self.capacity_waits);
        let phases =
            i64::try_from(Phase::plan(&entry, self.action == Action::Approve).len()).unwrap_or(3);
        let room = (self.input.deadline - self.input.received_at).max(0);
        let reserve = ms(self.settings.deadline_margin)
            + (phases * i64::from(entry.timeout_seconds) * 1_000).min(room / 2);
        // At most the time the queue would keep it away anyway (SELFHEAL_CAPACITY_RETRY_SECONDS),
        // so a role held for long costs a read every few seconds for that long, not for the
        // whole batch.
        // And well inside the claim's ownership, so no redelivery takes the claim over
        // while this delivery still waits with it.
        let longest = ms(self.settings.capacity_retry).min(self.lease_ms() / 2);
        let too_long = self.now - since + ms(pause) > longest;
        if too_long || self.now + ms(pause) + reserve >= self.input.deadline {
            tracing::info!(role = ?self.role, waited_ms = self.now - since, waits = self.capacity_waits, "no place in the role within the batch's time; back to the queue");
            return self.capacity_wait(why);
        }
        self.capacity_waits += 1;
        self.state = State::CapacityWaiting;
        self.emit_then(Step::WaitForCapacity {
            role: self.role.clone().unwrap_or_default(),
            wait: pause,
        })
    }

    /// After an in-process wait: the live alarm is read again when its last answer is older
    /// than [`LIVE_MAX_AGE_MS`], then the admission is tried again.
    pub(super) fn after_capacity_wait(&mut self) -> Step {
        let stale = self
            .live_read_at
            .is_some_and(|at| self.now - at > LIVE_MAX_AGE_MS);
        self.live_then_admit(stale, true)
    }

    pub(super) fn capacity_wait(&mut self, why: String) -> Step {
        // Nothing was taken: an admission refused writes nothing.
        let claim = self.claim_mut();
        claim.state = ClaimState::CapacityWait;
        let claim = claim.clone();
        let rec = history_record(
            self.stamp(),
            &claim_id(&claim.identity),
            claim.claimed_at_ms,
            Some(&claim),
            self.fields().escalated(self.wait_pages()),
            Outcome::CapacityWait,
            &Ending::because(why.clone()),
        );
        self.state = State::WaitHistory { why };
        self.emit_then(Step::PutHistory(Box::new(rec)))
    }

    pub(super) fn announce_start(&mut self) -> Step {
        // In mode `approve` the request with its buttons is the first message.
        if self.action != Action::Approve {
            let commands = self
                .entry
                .as_ref()
                .map(|e| e.commands.clone())
                .unwrap_or_default();
            let a = self.announcement(
                AnnouncementKind::Start,
                None,
                &Ending::because("starting"),
                true,
                &commands,
            );
            self.outbox.push_back(Step::Announce(Box::new(a)));
        }
        self.start_phases()
    }

    pub(super) fn start_phases(&mut self) -> Step {
        let entry = self.entry_or_empty();
        self.phases = Phase::plan(&entry, self.action == Action::Approve);
        self.next_phase = self
            .claim_ref()
            .phase
            .as_deref()
            .and_then(Phase::parse)
            .and_then(|p| self.phases.iter().position(|q| *q == p))
            .unwrap_or(0);
        self.next_phase_step()
    }

    pub(super) fn next_phase_step(&mut self) -> Step {
        let Some(&phase) = self.phases.get(self.next_phase) else {
            return self.phases_passed();
        };
        self.next_phase += 1;
        self.release_on_fail = false;
        let entry = self.entry_or_empty();
        let Some(instance) = self.instance() else {
            return self.fail(PortError::Permanent("no single instance".into()));
        };
        let spec = PhaseSpec {
            phase,
            instance,
            document: entry.document.clone(),
            lines: wrap(phase.as_str(), phase.lines(&entry)),
            execution_timeout_seconds: entry.timeout_seconds,
            comment: format!("selfheal {} {phase}", claim_id(&self.identity())),
            dry_run: self.dry_run,
            deadline: self.input.deadline,
            deadline_margin_ms: ms(self.settings.deadline_margin),
            poll_initial: self.settings.poll_initial,
            poll_max: self.settings.poll_max,
            poll_retries: 3,
            // A resumed remediation about to send `commands` (its precheck ran in an earlier
            // delivery) reads the live alarm again first, once it knows they were not sent.
            recheck: phase == Phase::Commands && self.resumed && has_live_alarm(&self.input.alert),
            // The precheck before an approval request is evidence for the approver: the wait
            // for the press is still to come.
            acting: self.action != Action::Approve,
            lapsed: self.lapsed.clone(),
            sent_at_saved: std::mem::take(&mut self.sent_at_saved),
        };
        let claim = self.claim.take().unwrap_or_default();
        let mut run = Box::new(PhaseRun::new(spec, claim));
        let s = run.step(phase::Fact::Start, self.now);
        self.phase_step(run, s)
    }

    /// Routes a step of the phase machine: its I/O goes to the driver, a claim save is this
    /// machine's (version-checked) update, and its end continues the run.
    pub(super) fn phase_step(&mut self, mut run: Box<PhaseRun>, s: phase::Step) -> Step {
        match s {
            phase::Step::SaveClaim => {
                let c = run.claim_mut();
                let expected = c.version;
                c.version += 1;
                let claim = c.clone();
                self.state = State::PhaseSaved(run);
                self.emit_then(Step::UpdateClaim { claim, expected })
            }
            phase::Step::Done { outcome, ending } => {
                self.claim = Some(run.into_claim());
                match outcome {
                    None => self.next_phase_step(),
                    Some(Outcome::Running) => self.still_running(),
                    Some(o) => self.finish(Finish {
                        outcome: o,
                        ending,
                        holds_lease: true,
                        kind: FinishKind::Remediation,
                    }),
                }
            }
            phase::Step::Fail(e) => {
                self.claim = Some(run.into_claim());
                self.fail(e)
            }
            phase::Step::Recheck => match self.instance() {
                Some(instance) => {
                    self.state = State::PhaseRecheck(run);
                    self.emit_then(Step::LiveAlarm {
                        name: self.input.alert.alarm_name.clone().unwrap_or_default(),
                        instance,
                        fresh: false,
                    })
                }
                None => {
                    let s = run.step(phase::Fact::Rechecked(None), self.now);
                    self.phase_step(run, s)
                }
            },
            io => {
                self.state = State::InPhase(run);
                self.emit_then(Step::Phase(io))
            }
        }
    }

    /// The command keeps running past the deadline: keep its place in the role's lease until
    /// the next delivery resumes it, and hand the claim back.
    pub(super) fn still_running(&mut self) -> Step {
        let entry = self.entry_or_empty();
        let hold = self.hold_ms(&entry);
        self.outbox.push_back(Step::HoldLease {
            role: self.role.clone().unwrap_or_default(),
            holder: claim_id(&self.identity()),
            until: self.now + hold,
        });
        self.hand_back_claim(State::RunningHandedBack)
    }

    pub(super) fn phases_passed(&mut self) -> Step {
        if self.action == Action::Approve {
            let ttl = ms(self.settings.approval_ttl);
            let (body, body_id) = (self.input.body.clone(), self.input.body_message_id.clone());
            let now = self.now;
            let claim = self.claim_mut();
            claim.state = ClaimState::AwaitingApproval;
            claim.approval_expires_at_ms = Some(now + ttl);
            claim.body = Some(body);
            claim.body_message_id = Some(body_id);
            let claim = claim.clone();
            let rec = history_record(
                self.stamp(),
                &claim_id(&claim.identity),
                claim.claimed_at_ms,
                Some(&claim),
                self.fields(),
                Outcome::AwaitingApproval,
                &Ending::because(AWAITING_WHY),
            );
            self.state = State::ApprovalHistory;
            return self.emit_then(Step::PutHistory(Box::new(rec)));
        }
        let verify_empty = self.entry.as_ref().is_none_or(|e| e.verify.is_empty());
        let why = if verify_empty {
            "every command exited 0"
        } else {
            "every command exited 0 and verify passed"
        };
        self.finish(Finish {
            outcome: Outcome::Healed,
            ending: Ending::because(why),
            holds_lease: true,
            kind: FinishKind::Remediation,
        })
    }

    /// The approval request: the lease goes, the buttons are posted.
    pub(super) fn post_request(&mut self) -> Step {
        self.release_lease();
        let commands = self
            .entry
            .as_ref()
            .map(|e| e.commands.clone())
            .unwrap_or_default();
        let mut a = self.announcement(
            AnnouncementKind::Start,
            Some(Outcome::AwaitingApproval),
            &Ending::because(AWAITING_WHY),
            true,
            &commands,
        );
        let ttl = ms(self.settings.approval_ttl);
        let requested_at = self
            .claim_ref()
            .approval_expires_at_ms
            .map_or(self.now, |at| at - ttl);
        a.approval = Some(ButtonValue::new(
            &self.identity(),
            self.key.as_deref().unwrap_or_default(),
            requested_at,
            ttl,
        ));
        self.outbox.push_back(Step::Announce(Box::new(a)));
        self.done(Outcome::AwaitingApproval)
    }
}

/// A live alarm answer older than this is read again before an admission tried after an
/// in-process capacity wait.
pub const LIVE_MAX_AGE_MS: EpochMillis = 10_000;

/// The pause before in-process capacity try `waits + 1`: 250 ms doubling to 4 s, scaled into
/// [50 %, 100 %) by a hash of the identity and the try, so the waiters of one role spread out
/// (deterministic: the machine reads no randomness).
pub fn capacity_pause(identity: &str, waits: u32) -> std::time::Duration {
    let base: u64 = (250u64 << waits.min(4)).min(4_000);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.bytes().chain(waits.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    std::time::Duration::from_millis(base / 2 + (h % (base / 2)))
}
