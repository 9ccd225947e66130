//! One record through the guards of DESIGN §1, in order: (approval message check) → parse →
//! claim (a redelivery resumes what is in flight here) → role and tag check → decide →
//! silences → kill switch → dry-run → attempt budget → capacity (role lease, fleet cap) → live
//! alarm re-check → phases (precheck → commands → verify, the kill switch read before each) →
//! record and announce.

use crate::engine::{Engine, InboundRecord};
use crate::finish::Claimed;
use crate::outcome::Outcome;
use crate::ports::{Claim, EpochMillis, GlobalMode, PortError};
use crate::record::{approver_of, HistoryFields};
use selfheal_core::approval::{parse_approval, Approval, Decision};
use selfheal_core::runbook::Mode;
use selfheal_core::silence::{find_silence, tag_silence, Silence, Silenced};
use selfheal_core::{claim_id, decide, parse_body, Action, AlarmState, Alert, RunbookEntry};

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

pub(crate) use crate::verdict::Ending;
use crate::verdict::{press_stop, role_tag_mismatch};

/// One alert to handle and where it came from (the queue record, or the alert kept in a claim
/// and resumed by an approval).
pub(crate) struct Delivery<'a> {
    pub alert: &'a Alert,
    /// The body and message id the alert came with (kept in the claim while awaiting approval).
    pub body: &'a str,
    pub body_message_id: &'a str,
    pub record: &'a InboundRecord,
    pub received_at: EpochMillis,
    pub deadline: EpochMillis,
    /// The Run / Skip press this alert resumes with, if any.
    pub approval: Option<&'a Approval>,
}

impl<'a> Delivery<'a> {
    /// The case as `decision` sees it (no dry-run yet).
    pub(crate) fn case<'m>(&self, decision: &selfheal_core::Decision<'m>) -> Case<'a>
    where
        'm: 'a,
    {
        Case {
            alert: self.alert,
            message_id: &self.record.message_id,
            receive_count: self.record.receive_count,
            received_at: self.received_at,
            role: decision.role.clone(),
            key: decision.key.clone(),
            runbook_key: decision.runbook_key(),
            entry: decision.runbook.map(|(_, e)| e),
            dry_run: false,
            body: self.body,
            body_message_id: self.body_message_id,
            approval: self.approval,
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
        let delivery = Delivery {
            alert: &alert,
            body: &r.body,
            body_message_id: &r.message_id,
            record: r,
            received_at,
            deadline,
            approval: None,
        };
        match self.handle_alert(&delivery).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(identity = %alert.identity, error = %e, "transient failure; the record goes back to the queue");
                Outcome::Retry
            }
        }
    }

    /// Records an unusable record as `invalid` (deleted, never retried); if the store is down
    /// the record is retried so nothing is lost.
    pub(crate) async fn record_invalid(
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

    /// A recovery notice (`OK`, `INSUFFICIENT_DATA`): recorded for the report, never claimed.
    /// Its record sits beside the alarm's own (a generic alert may reuse its `id` for the
    /// recovery), never over it.
    async fn record_notice(&self, d: &Delivery<'_>) -> Result<Outcome, PortError> {
        let tag_role = match (d.alert.single_instance(), d.alert.role.is_none()) {
            (Some(inst), true) => self.ports.tags.tags_of(inst).await.unwrap_or_default().role,
            _ => None,
        };
        let decision = decide(d.alert, &self.runbooks, tag_role.as_deref());
        let case = d.case(&decision);
        let sort = format!(
            "{}#{}",
            claim_id(&d.alert.identity),
            d.alert.state.as_str().to_ascii_lowercase()
        );
        let outcome = match decision.action {
            Action::Invalid => Outcome::Invalid,
            _ => Outcome::Ignored,
        };
        let rec = self.history(
            &sort,
            d.received_at,
            None,
            self.fields(&case),
            outcome,
            &Ending::because(decision.reason),
        );
        self.ports.store.put_history(&rec).await?;
        Ok(outcome)
    }

    /// One alert that could act. The claim of its identity is read (and taken) first: a
    /// redelivery finishes what is in flight before any other check applies; a decided claim
    /// makes this copy a duplicate; otherwise every guard runs while this worker holds the claim,
    /// and whatever stops the alert closes the claim with its one final record.
    pub(crate) async fn handle_alert(&self, d: &Delivery<'_>) -> Result<Outcome, PortError> {
        if d.alert.state != AlarmState::Alarm && d.approval.is_none() {
            return self.record_notice(d).await;
        }
        let owner = format!("{}/{}", self.settings.owner, d.record.message_id);
        crate::failpoints::failpoint("before-claim");
        let (claim, from_awaiting) = match self.claim_for(d, &owner).await? {
            (Claimed::Mine(c), from_awaiting) => (c, from_awaiting),
            (Claimed::Decided(c), _) => {
                let decision = decide(d.alert, &self.runbooks, c.role.as_deref());
                return self.record_duplicate(&d.case(&decision), &c).await;
            }
            (Claimed::Busy, _) => return Ok(Outcome::Retry),
        };
        crate::failpoints::failpoint("after-claim");
        let identity = claim.identity.clone();
        let result = if claim.phase.is_some() {
            self.resume_in_flight(d, claim).await
        } else {
            self.guard_and_run(d, claim, from_awaiting).await
        };
        if result.is_err() {
            self.give_up_ownership(&identity, &owner).await;
        }
        result
    }

    /// Takes the claim this delivery works under; `true` when it was taken from
    /// `awaiting-approval` by this press.
    async fn claim_for(&self, d: &Delivery<'_>, owner: &str) -> Result<(Claimed, bool), PortError> {
        let identity = &d.alert.identity;
        if let Some(ap) = d.approval {
            let run = ap.decision == Decision::Run;
            if let Some(c) = self.take_awaiting(identity, owner, run).await? {
                return Ok((Claimed::Mine(c), true));
            }
            if !run {
                // A Skip for a request no longer waiting changes nothing.
                return match self.ports.store.load_claim(identity).await? {
                    Some(c) => Ok((Claimed::Decided(c), false)),
                    None => Ok((Claimed::Busy, false)),
                };
            }
            // Approved before and interrupted (capacity wait, failure, deadline): resume it like
            // any redelivery, once its owner's lease has passed.
            return match self.take_claim(identity, owner).await? {
                // Never approved (a press for a claim that posted no buttons): give it back
                // untouched and change nothing.
                Claimed::Mine(mut c) if !c.approved => {
                    self.hand_back(&mut c).await;
                    Ok((Claimed::Decided(c), false))
                }
                other => Ok((other, false)),
            };
        }
        Ok((self.take_claim(identity, owner).await?, false))
    }

    /// A redelivery of an alert whose claim has a phase in flight: the command that was sent is
    /// read and the remediation resumed with the role, key and runbook fixed when it was claimed
    /// (no tag, silence or decision is looked at again). The kill switch still applies before
    /// every further phase.
    async fn resume_in_flight(&self, d: &Delivery<'_>, claim: Claim) -> Result<Outcome, PortError> {
        let stored = claim
            .runbook
            .as_deref()
            .and_then(|k| self.runbooks.iter().find(|(key, _)| *key == k));
        let decision = decide(d.alert, &self.runbooks, claim.role.as_deref());
        let mut case = d.case(&decision);
        case.role = claim.role.clone().or(case.role);
        case.key = claim.key.clone().or(case.key);
        let Some((runbook_key, entry)) = stored.or(decision.runbook) else {
            let why = format!(
                "the runbook this remediation was started with ({}) is no longer in the map: phase {} was in flight and nothing more runs",
                claim.runbook.as_deref().unwrap_or("unknown"),
                claim.phase.as_deref().unwrap_or("?")
            );
            return self
                .finish_claimed(
                    &case,
                    claim,
                    Outcome::Unresolved,
                    Ending::because(why),
                    true,
                )
                .await;
        };
        case.runbook_key = Some(runbook_key);
        case.entry = Some(entry);
        let action = if entry.mode == Mode::Approve && !claim.approved {
            Action::Approve
        } else {
            Action::Remediate
        };
        self.run_claimed(&case, claim, action, d.deadline).await
    }

    /// Every guard before acting, in order, while this worker holds the claim; then the run.
    async fn guard_and_run(
        &self,
        d: &Delivery<'_>,
        mut claim: Claim,
        from_awaiting: bool,
    ) -> Result<Outcome, PortError> {
        let alert = d.alert;
        // Role from the alert, else the instance's tag. A tag lookup failure is transient (fail
        // closed).
        let tags = match alert.single_instance() {
            Some(inst) => self.ports.tags.tags_of(inst).await?,
            None => crate::ports::InstanceTags::default(),
        };
        let tag_role = tags.role.clone();
        let decision = decide(alert, &self.runbooks, tag_role.as_deref());
        let mut case = d.case(&decision);
        // A Skip, or a Run pressed after the request expired, ends the claim without running.
        if let (Some(ap), true) = (d.approval, from_awaiting) {
            if let Some((outcome, why)) = press_stop(ap, &approver_of(ap)) {
                return self
                    .finish_claimed(&case, claim, outcome, Ending::because(why), false)
                    .await;
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
                .finish_before_acting(&case, claim, outcome, Ending::because(decision.reason))
                .await;
        }
        // The instance's role tag must equal the alert's resolved role before anything runs.
        let resolved = case.role.clone().unwrap_or_default();
        let mismatch = role_tag_mismatch(&resolved, tag_role.as_deref());
        if let Some(why) = mismatch {
            return self
                .finish_before_acting(&case, claim, Outcome::Unresolved, Ending::because(why))
                .await;
        }
        // Silences and maintenance windows (stored ones and the instance's tag).
        if let Some(silenced) = self.silenced(&case, tags.silence.as_deref()).await? {
            return self.finish_silenced(&case, claim, silenced).await;
        }
        // Kill switch.
        let mode = self.ports.mode.mode().await;
        if mode == GlobalMode::Off {
            let why = "the global mode is off (kill switch): nothing runs";
            return self
                .finish_before_acting(&case, claim, Outcome::Killed, Ending::because(why))
                .await;
        }
        case.dry_run = mode == GlobalMode::DryRun || decision.action == Action::DryRun;
        // What a redelivery resumes with, saved with the claim's next write (before any send).
        claim.role.clone_from(&case.role);
        claim.key.clone_from(&case.key);
        claim.runbook = case.runbook_key.map(str::to_owned);
        // Run was pressed: the approved runbook now runs like one in mode `enforce`.
        let action = if claim.approved && decision.action == Action::Approve {
            Action::Remediate
        } else {
            decision.action
        };
        self.run_claimed(&case, claim, action, d.deadline).await
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
}
