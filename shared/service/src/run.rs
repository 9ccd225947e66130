//! After the claim: dry-run, attempt budget, capacity, live alarm re-check, then the phases on the
//! one instance, resumable at any point from the stored claim.

use crate::engine::Engine;
use crate::flow::{Case, Ending};
use crate::outcome::Outcome;
use crate::phase::{Fact, PhaseRun, PhaseSpec, Step};
use crate::ports::{AnnouncementKind, Claim, ClaimState, EpochMillis, NeedsReview, PortError};
use crate::record::has_live_alarm;
use crate::script::wrap;
use crate::verdict::{live_alarm_stop, Phase};
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
                None => {}
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

    /// Runs (or resumes) one phase: the driver of the sans-IO [`PhaseRun`] machine, which
    /// decides every step; this only performs them against the ports. `outcome: None` means the
    /// phase passed.
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
        let spec = PhaseSpec {
            phase,
            instance,
            document: entry.document.clone(),
            lines: wrap(phase.as_str(), phase.lines(entry)),
            execution_timeout_seconds: entry.timeout_seconds,
            comment: format!("selfheal {} {phase}", claim_id(&claim.identity)),
            dry_run: case.dry_run,
            deadline,
            deadline_margin_ms: i64::try_from(self.settings.deadline_margin.as_millis())
                .unwrap_or(5_000),
            poll_initial: self.settings.poll_initial,
            poll_max: self.settings.poll_max,
            poll_retries: 3,
        };
        let mut run = PhaseRun::new(spec, std::mem::take(claim));
        let ended = self.drive_phase(&mut run).await;
        *claim = run.into_claim();
        ended
    }

    /// Performs the steps [`PhaseRun`] asks for until it is done.
    async fn drive_phase(&self, run: &mut PhaseRun) -> Result<PhaseEnd, PortError> {
        let executor = &self.ports.executor;
        let mut fact = Fact::Start;
        loop {
            fact = match run.step(fact, self.ports.clock.now_ms()) {
                Step::FindByComment {
                    comment,
                    instance,
                    since,
                } => Fact::Found(
                    executor
                        .find_by_comment(&comment, &instance, since)
                        .await
                        .inspect_err(|_| self.ssm_failed("ListCommands"))?,
                ),
                Step::ReadMode => Fact::Mode(self.ports.mode.mode().await),
                Step::SaveClaim => {
                    self.save_claim(run.claim_mut()).await?;
                    Fact::Saved
                }
                Step::Send(req) => {
                    crate::failpoints::failpoint("before-send");
                    let sent = executor
                        .send(&req)
                        .await
                        .inspect_err(|_| self.ssm_failed("SendCommand"))?;
                    crate::failpoints::failpoint("after-send");
                    Fact::Sent(sent)
                }
                Step::Poll {
                    command_id,
                    instance,
                } => {
                    crate::failpoints::failpoint("during-poll");
                    let polled = executor.poll(&command_id, &instance).await;
                    if polled.is_err() {
                        self.ssm_failed("GetCommandInvocation");
                    }
                    Fact::Polled(polled)
                }
                Step::Sleep(d) => {
                    self.ports.clock.sleep(d).await;
                    Fact::Slept
                }
                Step::Done { outcome, ending } => return Ok(PhaseEnd { outcome, ending }),
                Step::Fail(e) => return Err(e),
            };
        }
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
