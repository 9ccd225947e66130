//! After the claim: dry-run, attempt budget, capacity, live alarm re-check, then the phases on the
//! one instance, resumable at any point from the stored claim.

use crate::engine::Engine;
use crate::flow::{Case, Ending};
use crate::outcome::Outcome;
use crate::ports::{
    AnnouncementKind, Claim, ClaimState, CommandRequest, EpochMillis, InvocationStatus,
    NeedsReview, PortError, Sent,
};
use crate::record::has_live_alarm;
use crate::script::wrap;
use crate::verdict::{live_alarm_stop, mode_stop, phase_result, Phase};
use selfheal_core::{claim_id, Action, InstanceId, RunbookEntry};

/// An attempt budget that ran out: why, and the review item that stops further runs.
pub(crate) struct Exhausted {
    pub why: String,
    pub review: NeedsReview,
}

/// How one phase ended.
pub(crate) struct PhaseEnd {
    pub outcome: Option<Outcome>,
    pub ending: Ending,
}

impl Engine {
    pub(crate) async fn run_claimed(
        &self,
        case: &Case<'_>,
        mut claim: Claim,
        action: Action,
        deadline: EpochMillis,
    ) -> Result<Outcome, PortError> {
        let Some(entry) = case.entry else {
            return self
                .finish_claimed(
                    case,
                    claim,
                    Outcome::NoRunbook,
                    Ending::because("no runbook"),
                    false,
                )
                .await;
        };
        let instance = case
            .alert
            .single_instance()
            .cloned()
            .ok_or_else(|| PortError::Permanent("no single instance".into()))?;
        let role = case.role.clone().unwrap_or_default();
        let holder = claim_id(&claim.identity);
        let resuming = claim.phase.is_some();

        if case.dry_run && !resuming {
            let a = self.announcement(
                case,
                AnnouncementKind::Start,
                None,
                &Ending::because("dry-run: nothing runs"),
                Some(&claim),
                &entry.commands,
            );
            self.ports.chat.announce(&a).await;
            let why = format!(
                "dry-run: would run {} command(s) of {} on {instance}; nothing ran",
                entry.commands.len(),
                case.runbook_key.unwrap_or("?")
            );
            return self
                .finish_claimed(case, claim, Outcome::DryRun, Ending::because(why), false)
                .await;
        }

        // Attempt budget: counted once per claim, per ROLE:ALERT and instance and per runbook
        // entry and instance (a wildcard entry cannot be re-run under new alert names).
        if claim.attempt == 0 {
            match self.take_budgets(case, &claim, entry, &instance).await? {
                Ok(n) => {
                    claim.attempt = n;
                    self.save_claim(&mut claim).await?;
                }
                Err(exhausted) => {
                    self.ports
                        .store
                        .mark_needs_review(&exhausted.review)
                        .await?;
                    return self
                        .finish_claimed(
                            case,
                            claim,
                            Outcome::BudgetExhausted,
                            Ending::because(exhausted.why),
                            false,
                        )
                        .await;
                }
            }
        }

        // Capacity: per-role lease (idempotent for this holder) and the fleet-wide hourly cap,
        // taken under the role's in-process lock so one batch's records do not race each other.
        let role_lock = self.role_lock(&role);
        let guard = role_lock.lock().await;
        let now = self.ports.clock.now_ms();
        let until = now + self.lease_ms();
        if !self
            .ports
            .store
            .acquire_lease(&role, &holder, entry.max_concurrent, now, until)
            .await?
        {
            drop(guard);
            let why = format!(
                "role {role} already runs {} remediation(s), its max_concurrent",
                entry.max_concurrent
            );
            return self.capacity_wait(case, claim, why, false).await;
        }
        let fleet = self
            .ports
            .store
            .take_fleet_slot(&holder, self.settings.max_per_hour, now)
            .await;
        drop(guard);
        match fleet {
            Ok(true) => {}
            Ok(false) => {
                let why = format!("the fleet already started {} remediations in the last hour (SELFHEAL_MAX_PER_HOUR)", self.settings.max_per_hour);
                return self.capacity_wait(case, claim, why, true).await;
            }
            Err(e) => {
                self.release(&role, &holder).await;
                return Err(e);
            }
        }

        if !resuming {
            // Check before acting: the alarm's live state, not the message's.
            if has_live_alarm(case.alert) {
                let name = case.alert.alarm_name.as_deref().unwrap_or_default();
                let live = match self.ports.alarms.live_alarm(name, &instance).await {
                    Ok(live) => live,
                    Err(e) => {
                        self.release(&role, &holder).await;
                        self.hand_back(&mut claim).await;
                        return Err(e);
                    }
                };
                if let Some((outcome, why)) = live_alarm_stop(name, &instance, live.as_ref()) {
                    return self
                        .finish_claimed(case, claim, outcome, Ending::because(why), true)
                        .await;
                }
            }
            // In mode `approve` the request with its buttons is the first message.
            if action != Action::Approve {
                let a = self.announcement(
                    case,
                    AnnouncementKind::Start,
                    None,
                    &Ending::because("starting"),
                    Some(&claim),
                    &entry.commands,
                );
                self.ports.chat.announce(&a).await;
            }
        }

        let phases = Phase::plan(entry, action == Action::Approve);
        let start_at = claim
            .phase
            .as_deref()
            .and_then(Phase::parse)
            .and_then(|p| phases.iter().position(|q| *q == p))
            .unwrap_or(0);
        for &phase in phases.iter().skip(start_at) {
            let end = self
                .run_phase(case, &mut claim, entry, phase, deadline)
                .await;
            let end = match end {
                Ok(end) => end,
                Err(e) => {
                    self.hand_back(&mut claim).await;
                    return Err(e);
                }
            };
            match end.outcome {
                None => claim.phases_done.push(phase.as_str().to_owned()),
                Some(Outcome::Running) => {
                    // The command keeps running on the instance until the next delivery resumes
                    // it: keep its place in the role's lease until then (the redelivery comes
                    // after the queue's visibility timeout, longer than the claim lease).
                    let now = self.ports.clock.now_ms();
                    let hold = i64::try_from(self.settings.running_hold.as_millis())
                        .unwrap_or(i64::MAX / 4)
                        .max(self.lease_ms());
                    if let Err(e) = self
                        .ports
                        .store
                        .acquire_lease(&role, &holder, entry.max_concurrent, now, now + hold)
                        .await
                    {
                        tracing::warn!(error = %e, "could not extend the role lease while the command runs");
                    }
                    self.hand_back(&mut claim).await;
                    return Ok(Outcome::Running);
                }
                Some(o) => return self.finish_claimed(case, claim, o, end.ending, true).await,
            }
        }
        if action == Action::Approve {
            let ttl_ms = i64::try_from(self.settings.approval_ttl.as_millis()).unwrap_or(1_800_000);
            let requested_at = self.ports.clock.now_ms();
            claim.state = ClaimState::AwaitingApproval;
            claim.approval_expires_at_ms = Some(requested_at + ttl_ms);
            claim.body = Some(case.body.to_owned());
            claim.body_message_id = Some(case.body_message_id.to_owned());
            let why = "precheck passed; waiting for a permitted person to press Run";
            let rec = self.history(
                &holder,
                claim.claimed_at_ms,
                Some(&claim),
                self.fields(case),
                Outcome::AwaitingApproval,
                &Ending::because(why),
            );
            self.ports.store.put_history(&rec).await?;
            self.save_claim(&mut claim).await?;
            // Listed as open so the engine ends it itself if nobody answers.
            self.ports
                .store
                .open_approval(&claim.identity, requested_at + ttl_ms)
                .await?;
            self.release(&role, &holder).await;
            let mut a = self.announcement(
                case,
                AnnouncementKind::Start,
                Some(Outcome::AwaitingApproval),
                &Ending::because(why),
                Some(&claim),
                &entry.commands,
            );
            a.approval = Some(selfheal_core::approval::ButtonValue::new(
                &claim.identity,
                case.key.as_deref().unwrap_or_default(),
                requested_at,
                ttl_ms,
            ));
            self.ports.chat.announce(&a).await;
            return Ok(Outcome::AwaitingApproval);
        }
        let why = if entry.verify.is_empty() {
            "every command exited 0".to_owned()
        } else {
            "every command exited 0 and verify passed".to_owned()
        };
        self.finish_claimed(case, claim, Outcome::Healed, Ending::because(why), true)
            .await
    }

    /// Runs (or resumes) one phase. `outcome: None` means the phase passed.
    async fn run_phase(
        &self,
        case: &Case<'_>,
        claim: &mut Claim,
        entry: &RunbookEntry,
        phase: Phase,
        deadline: EpochMillis,
    ) -> Result<PhaseEnd, PortError> {
        let instance = case
            .alert
            .single_instance()
            .cloned()
            .ok_or_else(|| PortError::Permanent("no single instance".into()))?;
        let comment = format!("selfheal {} {phase}", claim_id(&claim.identity));
        if claim.phase.as_deref() != Some(phase.as_str()) {
            claim.phase = Some(phase.as_str().to_owned());
            claim.command_id = None;
            claim.phase_sent_at_ms = None;
            claim.state = ClaimState::Running;
        }
        let command_id = match claim.command_id.clone() {
            Some(id) => id,
            None => {
                // A crash between SendCommand and saving its id leaves phase_sent_at set: look
                // for the command by its comment before deciding to send.
                let found = match claim.phase_sent_at_ms {
                    Some(since) => self
                        .ports
                        .executor
                        .find_by_comment(&comment, &instance, since)
                        .await
                        .inspect_err(|_| self.ssm_failed("ListCommands"))?,
                    None => None,
                };
                match found {
                    Some(id) => id,
                    None => {
                        // The kill switch is read again before every phase is sent (at most a
                        // few seconds old): `off` or `dry-run` stops here. A phase already sent
                        // (its id stored, or found by its comment) is still awaited.
                        if let Some(stop) = self.stopped_by_mode(case, claim, phase).await {
                            return Ok(stop);
                        }
                        claim.phase_sent_at_ms = Some(self.ports.clock.now_ms());
                        self.save_claim(claim).await?;
                        let req = CommandRequest {
                            instance: instance.clone(),
                            document: entry.document.clone(),
                            lines: wrap(phase.as_str(), phase.lines(entry)),
                            execution_timeout_seconds: entry.timeout_seconds,
                            comment: comment.clone(),
                        };
                        crate::failpoints::failpoint("before-send");
                        match self
                            .ports
                            .executor
                            .send(&req)
                            .await
                            .inspect_err(|_| self.ssm_failed("SendCommand"))?
                        {
                            Sent::CommandId(id) => {
                                crate::failpoints::failpoint("after-send");
                                id
                            }
                            Sent::InvalidInstance(msg) => {
                                return Ok(PhaseEnd {
                                    outcome: Some(Outcome::Unresolved),
                                    ending: Ending {
                                        reason: format!("SSM cannot reach {instance}: {msg}"),
                                        failed_phase: Some(phase.as_str().to_owned()),
                                        ..Ending::default()
                                    },
                                });
                            }
                        }
                    }
                }
            }
        };
        if claim.command_id.as_deref() != Some(&command_id) {
            claim.command_id = Some(command_id.clone());
            if !claim.command_ids.contains(&command_id) {
                claim.command_ids.push(command_id.clone());
            }
            self.save_claim(claim).await?;
        }
        let margin = i64::try_from(self.settings.deadline_margin.as_millis()).unwrap_or(5_000);
        let mut delay = self.settings.poll_initial;
        let mut errors = 0u32;
        let inv = loop {
            if self.ports.clock.now_ms() + margin >= deadline {
                return Ok(PhaseEnd {
                    outcome: Some(Outcome::Running),
                    ending: Ending::because(
                        "time ran out while polling; the next delivery resumes",
                    ),
                });
            }
            crate::failpoints::failpoint("during-poll");
            match self.ports.executor.poll(&command_id, &instance).await {
                Ok(inv) if inv.status == InvocationStatus::Running => {}
                Ok(inv) => break inv,
                Err(PortError::Transient(e)) if errors < 3 => {
                    errors += 1;
                    self.ssm_failed("GetCommandInvocation");
                    tracing::warn!(error = %e, "polling failed; trying again");
                }
                Err(e) => {
                    self.ssm_failed("GetCommandInvocation");
                    return Err(e);
                }
            }
            self.ports.clock.sleep(delay).await;
            delay = (delay * 2).min(self.settings.poll_max);
        };
        let end = match phase_result(phase, &inv, &instance) {
            None => PhaseEnd {
                outcome: None,
                ending: Ending::default(),
            },
            Some((outcome, ending)) => PhaseEnd {
                outcome: Some(outcome),
                ending,
            },
        };
        Ok(end)
    }

    async fn capacity_wait(
        &self,
        case: &Case<'_>,
        mut claim: Claim,
        why: String,
        holds_lease: bool,
    ) -> Result<Outcome, PortError> {
        let holder = claim_id(&claim.identity);
        if holds_lease {
            if let Some(role) = &case.role {
                self.release(role, &holder).await;
            }
        }
        claim.state = ClaimState::CapacityWait;
        let rec = self.history(
            &holder,
            claim.claimed_at_ms,
            Some(&claim),
            self.fields(case),
            Outcome::CapacityWait,
            &Ending::because(why.clone()),
        );
        self.ports.store.put_history(&rec).await?;
        self.hand_back(&mut claim).await;
        if case.receive_count + 1 >= self.settings.redrive_limit {
            let a = self.announcement(
                case,
                AnnouncementKind::Result,
                Some(Outcome::CapacityWait),
                &Ending::because(format!(
                    "{why}; the alert is about to reach the dead-letter queue"
                )),
                Some(&claim),
                &[],
            );
            self.ports.escalator.escalate(&a).await;
            self.ports.chat.announce(&a).await;
        }
        Ok(Outcome::CapacityWait)
    }

    /// The end of the remediation when the global mode (or the runbook's dry-run) forbids
    /// sending `phase`; `None` to go on.
    async fn stopped_by_mode(
        &self,
        case: &Case<'_>,
        claim: &Claim,
        phase: Phase,
    ) -> Option<PhaseEnd> {
        let mode = self.ports.mode.mode().await;
        let (outcome, ending) = mode_stop(mode, case.dry_run, phase, &claim.phases_done)?;
        Some(PhaseEnd {
            outcome: Some(outcome),
            ending,
        })
    }

    /// Counts one attempt against the alert's budget (`ROLE:ALERT` and instance) and, when a
    /// wildcard entry matched, against the entry's own (`entry:<runbook key>` and instance).
    /// `Ok(Ok(n))`: attempt `n` of the alert's key.
    async fn take_budgets(
        &self,
        case: &Case<'_>,
        claim: &Claim,
        entry: &RunbookEntry,
        instance: &InstanceId,
    ) -> Result<Result<u32, Exhausted>, PortError> {
        let now = self.ports.clock.now_ms();
        let window_ms = i64::from(entry.window_minutes) * 60_000;
        let ttl = (now + window_ms) / 1000 + 86_400;
        let key = case.key.as_deref().unwrap_or_default();
        let runbook = case.runbook_key.unwrap_or(key);
        let mut budgets = vec![format!("{key}#{instance}")];
        if runbook != key {
            budgets.push(format!("entry:{runbook}#{instance}"));
        }
        let mut first = None;
        for budget_key in budgets.clone() {
            let taken = self
                .ports
                .store
                .take_attempt(&budget_key, entry.max_attempts, now - window_ms, now, ttl)
                .await?;
            match taken {
                Some(n) => {
                    first.get_or_insert(n);
                }
                None => {
                    let scope = if budget_key.starts_with("entry:") {
                        format!("runbook entry {runbook}")
                    } else {
                        key.to_owned()
                    };
                    let why = format!(
                        "{} attempts of {scope} on {instance} within {} minutes already: needs review by a human",
                        entry.max_attempts, entry.window_minutes
                    );
                    let review = NeedsReview {
                        key: key.to_owned(),
                        instance: instance.to_string(),
                        budget_key: budget_key.clone(),
                        budget_keys: budgets,
                        identity: claim.identity.clone(),
                        since_ms: now,
                        reason: format!("{why} (clear with `selfheal needs-review clear {key} --instance {instance}`)"),
                    };
                    return Ok(Err(Exhausted { why, review }));
                }
            }
        }
        Ok(Ok(first.unwrap_or(1)))
    }

    fn ssm_failed(&self, operation: &str) {
        self.metric(|now| crate::metrics::ssm_failure_line(operation, now));
    }
}
