//! One record through the guards of DESIGN §1, in order: (approval message check) → parse →
//! role and tag check → decide → silences → kill switch → claim → dry-run → attempt budget →
//! capacity (role lease, fleet cap) → live alarm re-check → phases (precheck → commands →
//! verify) → record and announce.

use crate::engine::{Engine, InboundRecord};
use crate::outcome::Outcome;
use crate::ports::{
    Announcement, AnnouncementKind, Claim, ClaimAttempt, ClaimState, EpochMillis, GlobalMode,
    HistoryRecord, PortError,
};
use selfheal_core::approval::{parse_approval, Approval, Decision};
use selfheal_core::silence::{find_silence, tag_silence, Silence, Silenced};
use selfheal_core::{
    claim_id, decide, parse_body, Action, AlarmState, Alert, RunbookEntry, Source,
};

/// Everything known about the alert being handled.
pub(crate) struct Case<'a> {
    pub alert: &'a Alert,
    pub message_id: &'a str,
    pub receive_count: u32,
    pub received_at: EpochMillis,
    pub role: Option<String>,
    pub key: Option<String>,
    pub runbook_key: Option<&'a str>,
    pub entry: Option<&'a RunbookEntry>,
    pub dry_run: bool,
    /// The queue record's body and message id (kept in the claim while awaiting approval).
    pub body: &'a str,
    pub body_message_id: &'a str,
    /// The Run / Skip decision this alert resumes with, if any.
    pub approval: Option<&'a Approval>,
}

/// Details of how a remediation ended, for history and chat.
#[derive(Default)]
pub(crate) struct Ending {
    pub reason: String,
    pub failed_phase: Option<String>,
    pub exit_code: Option<i32>,
    pub output_tail: Option<String>,
}

impl Ending {
    pub fn because(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            ..Self::default()
        }
    }
}

impl Engine {
    pub(crate) async fn process_record(&self, r: &InboundRecord, deadline: EpochMillis) -> Outcome {
        let received_at = self.ports.clock.now_ms();
        if let Some(parsed) = parse_approval(&r.body) {
            return match parsed {
                Ok(approval) => {
                    match self
                        .handle_approval(&approval, r, received_at, deadline)
                        .await
                    {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::warn!(identity = %approval.identity, error = %e, "transient failure; the approval goes back to the queue");
                            Outcome::Retry
                        }
                    }
                }
                Err(reason) => {
                    let fields = HistoryFields {
                        identity: format!("sqs|{}", r.message_id),
                        ..HistoryFields::default()
                    };
                    let why =
                        format!("an approval message that cannot be used: {reason}; nothing runs");
                    self.record_invalid(r, received_at, fields, why).await
                }
            };
        }
        let ingested = parse_body(&r.body, Some(&r.message_id));
        let alert = match ingested.item {
            Ok(a) => a,
            Err(bad) => {
                tracing::warn!(message_id = %r.message_id, reason = %bad.reason, "invalid record");
                let fields = HistoryFields {
                    identity: format!("sqs|{}", r.message_id),
                    source: bad.source.map(|s| s.as_str().to_owned()),
                    alert: bad.alert,
                    role: bad.role,
                    state: bad.state.map(|s| s.as_str().to_owned()),
                    ..HistoryFields::default()
                };
                return self
                    .record_invalid(r, received_at, fields, bad.reason)
                    .await;
            }
        };
        match self
            .handle_alert(
                &alert,
                &r.body,
                &r.message_id,
                r,
                received_at,
                deadline,
                None,
            )
            .await
        {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(identity = %alert.identity, error = %e, "transient failure; the record goes back to the queue");
                Outcome::Retry
            }
        }
    }

    /// Records an unusable record as `invalid` (deleted, never retried); if the store is down
    /// the record is retried so nothing is lost.
    async fn record_invalid(
        &self,
        r: &InboundRecord,
        received_at: EpochMillis,
        fields: HistoryFields,
        reason: String,
    ) -> Outcome {
        let rec = self.history(
            &format!("invalid#{}", r.message_id),
            received_at,
            None,
            fields,
            Outcome::Invalid,
            &Ending::because(reason),
        );
        match self.ports.store.put_history(&rec).await {
            Ok(()) => Outcome::Invalid,
            Err(_) => Outcome::Retry,
        }
    }

    /// A Run / Skip press from `slack-approvals`. It is used only when it matches the approval
    /// record that function wrote (more principals can write to the queue than to the table) and
    /// the claim is still awaiting approval; the stored alert then goes through every guard again.
    async fn handle_approval(
        &self,
        approval: &Approval,
        r: &InboundRecord,
        received_at: EpochMillis,
        deadline: EpochMillis,
    ) -> Result<Outcome, PortError> {
        let claim_ref = claim_id(&approval.identity);
        let fields = || HistoryFields {
            identity: approval.identity.clone(),
            key: Some(approval.key.clone()),
            approver: Some(approver_of(approval)),
            decision: Some(approval.decision.as_str().to_owned()),
            ..HistoryFields::default()
        };
        let record = self.ports.store.approval_record(&approval.identity).await?;
        if !record
            .as_ref()
            .is_some_and(|rec| approval.matches_record(rec))
        {
            let why = format!("an approval for claim {claim_ref} that does not match the record written by slack-approvals: nothing runs");
            tracing::warn!(claim = %claim_ref, "{why}");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        }
        let Some(claim) = self.ports.store.load_claim(&approval.identity).await? else {
            let why = format!("no claim {claim_ref} awaits this approval: nothing runs");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        };
        // Not yet done: either still awaiting the press, or approved and in progress (a capacity
        // wait, a transient failure or a deadline after Run): this message resumes it.
        if claim.state == ClaimState::Done {
            let why = format!(
                "claim {claim_ref} was already decided ({}): this press changes nothing",
                claim.outcome.as_deref().unwrap_or("done")
            );
            let sort = format!("{claim_ref}#dup#{}", r.message_id);
            let rec = self.history(
                &sort,
                received_at,
                None,
                fields(),
                Outcome::Duplicate,
                &Ending::because(why),
            );
            self.ports.store.put_history(&rec).await?;
            return Ok(Outcome::Duplicate);
        }
        let (Some(body), Some(body_id)) = (claim.body.as_deref(), claim.body_message_id.as_deref())
        else {
            let why = format!("claim {claim_ref} kept no alert to resume: nothing runs");
            return Ok(self.record_invalid(r, received_at, fields(), why).await);
        };
        let alert = match parse_body(body, Some(body_id)).item {
            Ok(a) if a.identity == approval.identity => a,
            _ => {
                let why = format!(
                    "the alert kept in claim {claim_ref} cannot be read again: nothing runs"
                );
                return Ok(self.record_invalid(r, received_at, fields(), why).await);
            }
        };
        self.handle_alert(
            &alert,
            body,
            body_id,
            r,
            received_at,
            deadline,
            Some(approval),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn handle_alert(
        &self,
        alert: &Alert,
        body: &str,
        body_message_id: &str,
        r: &InboundRecord,
        received_at: EpochMillis,
        deadline: EpochMillis,
        approval: Option<&Approval>,
    ) -> Result<Outcome, PortError> {
        // Role from the alert, else the instance's tag. For alerts that will act, a tag lookup
        // failure is transient (fail closed); for recoveries it only costs the key in the report.
        let tags = match alert.single_instance() {
            Some(inst) if alert.state == AlarmState::Alarm => self.ports.tags.tags_of(inst).await?,
            Some(inst) if alert.role.is_none() => {
                self.ports.tags.tags_of(inst).await.unwrap_or_default()
            }
            _ => crate::ports::InstanceTags::default(),
        };
        let tag_role = tags.role.clone();
        let decision = decide(alert, &self.runbooks, tag_role.as_deref());
        let mut case = Case {
            alert,
            message_id: &r.message_id,
            receive_count: r.receive_count,
            received_at,
            role: decision.role.clone(),
            key: decision.key.clone(),
            runbook_key: decision.runbook_key(),
            entry: decision.runbook.map(|(_, e)| e),
            dry_run: false,
            body,
            body_message_id,
            approval,
        };
        let owner = format!("{}/{}", self.settings.owner, r.message_id);
        // A Skip, or a press after the request expired, ends the claim without running anything.
        if let Some(ap) = approval {
            let now = self.ports.clock.now_ms();
            let ending = if ap.decision == Decision::Skip {
                Some((
                    Outcome::Skipped,
                    format!("{} pressed Skip: nothing runs", approver_of(ap)),
                ))
            } else if now > ap.expires_at_ms {
                Some((
                    Outcome::Expired,
                    "the approval request expired before Run was pressed: nothing runs".to_owned(),
                ))
            } else {
                None
            };
            if let Some((outcome, why)) = ending {
                match self.take_awaiting(&case, &owner).await? {
                    Some(claim) => {
                        return self
                            .finish_claimed(&case, claim, outcome, Ending::because(why), false)
                            .await
                    }
                    // Run was accepted earlier and is in progress: a late redelivery resumes it.
                    None if ap.decision == Decision::Run => {}
                    None => return Ok(Outcome::Duplicate),
                }
            }
        }
        let simple = match decision.action {
            Action::Ignore => Some(Outcome::Ignored),
            Action::Unresolved => Some(Outcome::Unresolved),
            Action::NoRunbook => Some(Outcome::NoRunbook),
            Action::Disabled => Some(Outcome::Disabled),
            Action::Invalid => Some(Outcome::Invalid),
            Action::Remediate | Action::DryRun | Action::Approve => None,
        };
        if let Some(outcome) = simple {
            return self
                .finish_unclaimed(&case, outcome, Ending::because(decision.reason))
                .await;
        }
        // The instance's role tag must equal the alert's resolved role before anything runs.
        let resolved = case.role.clone().unwrap_or_default();
        match tag_role.as_deref() {
            Some(t) if t == resolved => {}
            Some(t) => {
                let why = format!("the instance's role tag is {t:?}, but the alert is for role {resolved:?}: nothing runs");
                return self
                    .finish_unclaimed(&case, Outcome::Unresolved, Ending::because(why))
                    .await;
            }
            None => {
                let why = "the instance has no role tag (or SSM cannot see it): nothing runs";
                return self
                    .finish_unclaimed(&case, Outcome::Unresolved, Ending::because(why))
                    .await;
            }
        }
        // Silences and maintenance windows (stored ones and the instance's tag).
        if let Some(silenced) = self.silenced(&case, tags.silence.as_deref()).await? {
            return self.finish_silenced(&case, silenced).await;
        }
        // Kill switch.
        let mode = self.ports.mode.mode().await;
        if mode == GlobalMode::Off {
            let why = "the global mode is off (kill switch): nothing runs";
            return self
                .finish_unclaimed(&case, Outcome::Killed, Ending::because(why))
                .await;
        }
        case.dry_run = mode == GlobalMode::DryRun || decision.action == Action::DryRun;
        // Exactly once: claim the alert's identity before anything is sent.
        crate::failpoints::failpoint("before-claim");
        let claimed = match approval {
            Some(_) => match self.take_awaiting(&case, &owner).await? {
                Some(c) => Some(Claimed::Mine(c)),
                // Approved before and interrupted (capacity wait, failure, deadline): resume it
                // like any redelivery (taken over once its owner's lease has passed).
                None => self.take_claim(&case, &owner).await?,
            },
            None => self.take_claim(&case, &owner).await?,
        };
        let Some(claim) = claimed else {
            return Ok(Outcome::Retry);
        };
        let claim = match claim {
            Claimed::Mine(c) => c,
            Claimed::AlreadyDone(c) => {
                return self.record_duplicate(&case, &c).await;
            }
        };
        crate::failpoints::failpoint("after-claim");
        // Run was pressed: the approved runbook now runs like one in mode `enforce`.
        let action = if approval.is_some() && decision.action == Action::Approve {
            Action::Remediate
        } else {
            decision.action
        };
        self.run_claimed(&case, claim, action, deadline).await
    }

    /// Takes over a claim that awaits approval (one conditional write, so two presses or two
    /// deliveries resume it once). `None`: it is not awaiting approval any more.
    async fn take_awaiting(
        &self,
        case: &Case<'_>,
        owner: &str,
    ) -> Result<Option<Claim>, PortError> {
        let Some(existing) = self.ports.store.load_claim(&case.alert.identity).await? else {
            return Ok(None);
        };
        if existing.state != ClaimState::AwaitingApproval {
            return Ok(None);
        }
        let now = self.ports.clock.now_ms();
        let mut mine = existing.clone();
        mine.state = ClaimState::Claimed;
        mine.owner = owner.to_owned();
        mine.owner_until_ms = now + self.lease_ms();
        mine.phase = None;
        mine.command_id = None;
        mine.phase_sent_at_ms = None;
        mine.version = existing.version + 1;
        if self
            .ports
            .store
            .update_claim(&mine, existing.version)
            .await?
        {
            Ok(Some(mine))
        } else {
            Ok(None)
        }
    }

    /// The silence that applies to this alert now, if any. Only alerts that would act are
    /// checked; a store failure is transient (nothing runs on a guess).
    async fn silenced(
        &self,
        case: &Case<'_>,
        tag: Option<&str>,
    ) -> Result<Option<Silenced>, PortError> {
        let now = self.ports.clock.now_ms();
        let instance = case.alert.single_instance().map(ToString::to_string);
        if let (Some(inst), Some(tag)) = (&instance, tag) {
            if let Some(s) = tag_silence(inst, tag, now) {
                return Ok(Some(s));
            }
        }
        let stored = self.ports.store.silences().await?;
        let silences: Vec<Silence> = stored
            .iter()
            .filter_map(|r| match Silence::from_record(r) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(silence = %r.id, error = %e, "ignoring an unreadable silence");
                    None
                }
            })
            .collect();
        Ok(find_silence(
            &silences,
            case.role.as_deref(),
            case.key.as_deref(),
            instance.as_deref(),
            now,
        ))
    }

    /// Records `silenced`; the first alert under each stretch of silence is announced, quietly
    /// (no escalation), later ones only recorded.
    async fn finish_silenced(
        &self,
        case: &Case<'_>,
        silenced: Silenced,
    ) -> Result<Outcome, PortError> {
        let why = format!("{}: nothing runs", silenced.reason);
        let sort = claim_id(&case.alert.identity);
        let rec = self.history(
            &sort,
            case.received_at,
            None,
            self.fields(case),
            Outcome::Silenced,
            &Ending::because(why.clone()),
        );
        self.ports.store.put_history(&rec).await?;
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

    /// Claims the identity, or takes over a claim whose owner is gone. `None`: someone else is
    /// working on it right now; the record goes back to the queue until they finish.
    async fn take_claim(&self, case: &Case<'_>, owner: &str) -> Result<Option<Claimed>, PortError> {
        let now = self.ports.clock.now_ms();
        let fresh = Claim {
            identity: case.alert.identity.clone(),
            state: ClaimState::Claimed,
            owner: owner.to_owned(),
            owner_until_ms: now + self.lease_ms(),
            claimed_at_ms: now,
            phase: None,
            command_id: None,
            phase_sent_at_ms: None,
            command_ids: Vec::new(),
            attempt: 0,
            outcome: None,
            version: 1,
            body: None,
            body_message_id: None,
        };
        match self.ports.store.claim(&fresh).await? {
            ClaimAttempt::Won(c) => Ok(Some(Claimed::Mine(c))),
            ClaimAttempt::Exists(existing) => {
                if matches!(
                    existing.state,
                    ClaimState::Done | ClaimState::AwaitingApproval
                ) {
                    return Ok(Some(Claimed::AlreadyDone(existing)));
                }
                if existing.owner_until_ms > now {
                    tracing::info!(identity = %existing.identity, "claim held by another worker; retrying later");
                    return Ok(None);
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
                    Ok(Some(Claimed::Mine(mine)))
                } else {
                    Ok(None)
                }
            }
        }
    }

    async fn record_duplicate(
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

    /// Records an outcome reached before any claim (nothing ran) and announces what needs a human.
    pub(crate) async fn finish_unclaimed(
        &self,
        case: &Case<'_>,
        outcome: Outcome,
        ending: Ending,
    ) -> Result<Outcome, PortError> {
        let sort = claim_id(&case.alert.identity);
        let rec = self.history(
            &sort,
            case.received_at,
            None,
            self.fields(case),
            outcome,
            &ending,
        );
        self.ports.store.put_history(&rec).await?;
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

    /// Records the final outcome, then marks the claim done, releases the lease and announces.
    /// History is written first: if anything after it fails the record is retried and the same
    /// history item is written again, never lost.
    pub(crate) async fn finish_claimed(
        &self,
        case: &Case<'_>,
        mut claim: Claim,
        outcome: Outcome,
        ending: Ending,
        holds_lease: bool,
    ) -> Result<Outcome, PortError> {
        let sort = claim_id(&case.alert.identity);
        let rec = self.history(
            &sort,
            claim.claimed_at_ms,
            Some(&claim),
            self.fields(case),
            outcome,
            &ending,
        );
        crate::failpoints::failpoint("before-history");
        self.ports.store.put_history(&rec).await?;
        crate::failpoints::failpoint("after-history");
        if matches!(
            outcome,
            Outcome::Healed | Outcome::Failed | Outcome::TimedOut | Outcome::PrecheckFailed
        ) {
            let took = self.ports.clock.now_ms() - claim.claimed_at_ms;
            self.metric(|now| crate::metrics::duration_line(outcome, took, now));
        }
        let expected = claim.version;
        claim.state = ClaimState::Done;
        claim.body = None;
        claim.body_message_id = None;
        claim.outcome = Some(outcome.as_str().to_owned());
        claim.owner_until_ms = self.ports.clock.now_ms();
        claim.version += 1;
        if !self.ports.store.update_claim(&claim, expected).await? {
            tracing::warn!(identity = %claim.identity, "claim changed under us while finishing");
        }
        if holds_lease {
            if let Some(role) = &case.role {
                if let Err(e) = self
                    .ports
                    .store
                    .release_lease(role, &claim_id(&claim.identity))
                    .await
                {
                    tracing::warn!(error = %e, "lease release failed; it expires on its own");
                }
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

    pub(crate) fn lease_ms(&self) -> EpochMillis {
        i64::try_from(self.settings.claim_lease.as_millis()).unwrap_or(i64::MAX / 4)
    }

    pub(crate) fn fields(&self, case: &Case<'_>) -> HistoryFields {
        HistoryFields {
            identity: case.alert.identity.clone(),
            key: case.key.clone(),
            runbook: case.runbook_key.map(str::to_owned),
            role: case.role.clone(),
            alert: Some(case.alert.alert.clone()),
            instance: case.alert.single_instance().map(ToString::to_string),
            source: Some(case.alert.source.as_str().to_owned()),
            state: Some(case.alert.state.as_str().to_owned()),
            approver: case.approval.map(approver_of),
            decision: case.approval.map(|a| a.decision.as_str().to_owned()),
        }
    }

    pub(crate) fn history(
        &self,
        sort: &str,
        day_of: EpochMillis,
        claim: Option<&Claim>,
        f: HistoryFields,
        outcome: Outcome,
        ending: &Ending,
    ) -> HistoryRecord {
        let now = self.ports.clock.now_ms();
        HistoryRecord {
            day: day_string(day_of),
            sort: sort.to_owned(),
            identity: f.identity,
            key: f.key,
            runbook: f.runbook,
            role: f.role,
            alert: f.alert,
            instance: f.instance,
            source: f.source,
            state: f.state,
            outcome: outcome.as_str().to_owned(),
            reason: ending.reason.clone(),
            attempt: claim.map_or(0, |c| c.attempt),
            received_at_ms: claim.map_or(day_of, |c| c.claimed_at_ms),
            finished_at_ms: now,
            command_ids: claim.map(|c| c.command_ids.clone()).unwrap_or_default(),
            failed_phase: ending.failed_phase.clone(),
            exit_code: ending.exit_code,
            output_tail: ending.output_tail.clone(),
            expires_at: now / 1000 + self.settings.history_ttl_days * 86_400,
            approver: f.approver,
            decision: f.decision,
        }
    }

    pub(crate) fn announcement(
        &self,
        case: &Case<'_>,
        kind: AnnouncementKind,
        outcome: Option<Outcome>,
        ending: &Ending,
        claim: Option<&Claim>,
        commands: &[String],
    ) -> Announcement {
        let a = case.alert;
        Announcement {
            kind,
            identity: a.identity.clone(),
            key: case.key.clone(),
            runbook: case.runbook_key.map(str::to_owned),
            description: case.entry.and_then(|e| e.description.clone()),
            owner: case.entry.and_then(|e| e.owner.clone()),
            instance: a.single_instance().map(ToString::to_string),
            role: case.role.clone(),
            region: a.region.clone(),
            account: a.account.clone(),
            alarm_name: a.alarm_name.clone(),
            alarm_reason: a.reason.clone(),
            attempt: claim.map_or(0, |c| c.attempt),
            max_attempts: case.entry.map_or(0, |e| e.max_attempts),
            dry_run: case.dry_run,
            outcome: outcome.map(|o| o.as_str().to_owned()),
            detail: ending.reason.clone(),
            duration_ms: claim.map(|c| self.ports.clock.now_ms() - c.claimed_at_ms),
            failed_phase: ending.failed_phase.clone(),
            exit_code: ending.exit_code,
            output_tail: ending.output_tail.clone(),
            command_ids: claim.map(|c| c.command_ids.clone()).unwrap_or_default(),
            commands: commands.to_vec(),
            approval: None,
            thread: case.approval.and_then(|ap| {
                Some(crate::ports::ChatThread {
                    channel: ap.channel_id.clone()?,
                    ts: ap.message_ts.clone()?,
                })
            }),
        }
    }
}

/// `<@U…> (alice)`-free plain form for history: `U012ABCDEF (alice)` or the id alone.
pub(crate) fn approver_of(a: &Approval) -> String {
    match a.user_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => format!("{} ({name})", a.user_id),
        None => a.user_id.clone(),
    }
}

pub(crate) enum Claimed {
    Mine(Claim),
    AlreadyDone(Claim),
}

#[derive(Default)]
pub(crate) struct HistoryFields {
    pub identity: String,
    pub key: Option<String>,
    pub runbook: Option<String>,
    pub role: Option<String>,
    pub alert: Option<String>,
    pub instance: Option<String>,
    pub source: Option<String>,
    pub state: Option<String>,
    pub approver: Option<String>,
    pub decision: Option<String>,
}

/// `YYYY-MM-DD` (UTC) of an epoch-ms instant.
pub fn day_string(ms: EpochMillis) -> String {
    let days = ms.div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Whether an alert's source has a CloudWatch alarm to re-check.
pub(crate) fn has_live_alarm(alert: &Alert) -> bool {
    matches!(alert.source, Source::Cloudwatch | Source::Eventbridge) && alert.alarm_name.is_some()
}

#[cfg(test)]
mod tests {
    use super::day_string;

    #[test]
    fn days() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(1_795_403_000_000), "2026-11-23");
        assert_eq!(day_string(951_782_400_000), "2000-02-29");
        assert_eq!(day_string(-1), "1969-12-31");
    }
}
