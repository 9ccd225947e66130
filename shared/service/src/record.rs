//! What selfheal writes down and says: history records, announcements, and the fields both take
//! from the case being handled. Pure functions of the case, the claim and the clock.

use crate::engine::Engine;
use crate::flow::{Case, Ending};
use crate::outcome::Outcome;
use crate::ports::{Announcement, AnnouncementKind, Claim, EpochMillis, HistoryRecord};
use selfheal_core::approval::Approval;
use selfheal_core::calendar::day_string;
use selfheal_core::runbook::Mode;
use selfheal_core::{Alert, RunbookEntry, Source};

impl Engine {
    pub(crate) fn lease_ms(&self) -> EpochMillis {
        i64::try_from(self.settings.claim_lease.as_millis()).unwrap_or(i64::MAX / 4)
    }

    pub(crate) fn fields(&self, case: &Case<'_>) -> HistoryFields {
        fields_of(case)
    }

    /// The runbook entry stored in a claim (its runbook key), if the map still has it.
    pub(crate) fn claim_entry(&self, claim: &Claim) -> Option<&RunbookEntry> {
        claim.runbook.as_deref().and_then(|k| self.runbooks.get(k))
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
        let when = Stamp {
            now: self.ports.clock.now_ms(),
            history_ttl_days: self.settings.history_ttl_days,
        };
        history_record(when, sort, day_of, claim, f, outcome, ending)
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
        announcement_at(
            self.ports.clock.now_ms(),
            case,
            kind,
            outcome,
            ending,
            claim,
            commands,
        )
    }
}

/// The time a record is written and how long history is kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    pub now: EpochMillis,
    pub history_ttl_days: i64,
}

/// The history item of an alert (pure: the time is an argument).
pub(crate) fn history_record(
    when: Stamp,
    sort: &str,
    day_of: EpochMillis,
    claim: Option<&Claim>,
    f: HistoryFields,
    outcome: Outcome,
    ending: &Ending,
) -> HistoryRecord {
    let now = when.now;
    {
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
            expires_at: now / 1000 + when.history_ttl_days * 86_400,
            approver: f.approver,
            decision: f.decision,
            owner: f.owner,
            description: f.description,
            mode: effective_mode(f.mode, outcome).map(str::to_owned),
            escalated: Some(f.escalated),
            waited_ms: claim.and_then(waited_ms),
        }
    }
}

/// The mode an alert was handled in, as history records it: the runbook entry's mode, unless the
/// global mode forced another (`off`: the kill switch, `dry-run`). `None` when no runbook entry
/// applied.
pub(crate) fn effective_mode(entry: Option<Mode>, outcome: Outcome) -> Option<&'static str> {
    let entry = entry?;
    Some(match outcome {
        Outcome::NoRunbook | Outcome::Invalid => return None,
        // Only the global mode kills; a dry-run outcome is the runbook's or the global mode's.
        Outcome::Killed => "off",
        Outcome::DryRun => Mode::DryRun.as_str(),
        _ => entry.as_str(),
    })
}

/// Time from the alert's receipt to the remediation's first command (waiting for capacity or
/// for a person); `None` when the remediation never began acting.
pub(crate) fn waited_ms(claim: &Claim) -> Option<i64> {
    claim
        .acting_since_ms
        .map(|at| at.saturating_sub(claim.claimed_at_ms).max(0))
}

/// What chat and escalation are told about an alert (pure: the time is an argument).
pub(crate) fn announcement_at(
    now: EpochMillis,
    case: &Case<'_>,
    kind: AnnouncementKind,
    outcome: Option<Outcome>,
    ending: &Ending,
    claim: Option<&Claim>,
    commands: &[String],
) -> Announcement {
    let a = case.alert;
    {
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
            duration_ms: claim.map(|c| now - c.claimed_at_ms),
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

/// The fields of a history record that come from the case.
pub(crate) fn fields_of(case: &Case<'_>) -> HistoryFields {
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
        ..HistoryFields::default()
    }
    .with_entry(case.entry)
}

/// `<@U…> (alice)`-free plain form for history: `U012ABCDEF (alice)` or the id alone.
pub(crate) fn approver_of(a: &Approval) -> String {
    match a.user_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => format!("{} ({name})", a.user_id),
        None => a.user_id.clone(),
    }
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
    /// From the runbook entry that matched (the reporter has no runbooks).
    pub owner: Option<String>,
    pub description: Option<String>,
    /// The entry's own mode; the record holds the effective one ([`effective_mode`]).
    pub mode: Option<Mode>,
    /// The engine pages a human about this record's outcome (calls `Escalator::escalate`).
    pub escalated: bool,
}

impl HistoryFields {
    /// Owner, description and mode from `entry` (all `None` without one).
    pub(crate) fn with_entry(mut self, entry: Option<&RunbookEntry>) -> Self {
        self.owner = entry.and_then(|e| e.owner.clone());
        self.description = entry.and_then(|e| e.description.clone());
        self.mode = entry.map(|e| e.mode);
        self
    }

    pub(crate) fn escalated(mut self, escalated: bool) -> Self {
        self.escalated = escalated;
        self
    }
}

/// Whether an alert's source has a CloudWatch alarm to re-check.
pub(crate) fn has_live_alarm(alert: &Alert) -> bool {
    matches!(alert.source, Source::Cloudwatch | Source::Eventbridge) && alert.alarm_name.is_some()
}
