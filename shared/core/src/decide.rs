//! `decide()`: what should happen to one alert, judged from the alert and the runbook map alone.
//!
//! Invariant (property-tested): commands are returned only for an alert in state ALARM that names
//! exactly one instance, whose role is known and whose key has a runbook.

use crate::alert::{AlarmState, Alert};
use crate::runbook::{Mode, RunbookEntry, RunbookMap};

/// The action of DESIGN §6 (`selfheal plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Remediate,
    DryRun,
    Approve,
    Disabled,
    Ignore,
    NoRunbook,
    Unresolved,
    Invalid,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Remediate => "remediate",
            Action::DryRun => "dry-run",
            Action::Approve => "approve",
            Action::Disabled => "disabled",
            Action::Ignore => "ignore",
            Action::NoRunbook => "no-runbook",
            Action::Unresolved => "unresolved",
            Action::Invalid => "invalid",
        }
    }

    /// Actions that carry the runbook's commands.
    pub fn carries_commands(self) -> bool {
        matches!(self, Action::Remediate | Action::DryRun | Action::Approve)
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'m> {
    pub action: Action,
    /// The alert's own `ROLE:ALERT` (None while the role is unknown).
    pub key: Option<String>,
    /// The role the alert resolved to.
    pub role: Option<String>,
    /// The map key that matched, and its entry.
    pub runbook: Option<(&'m str, &'m RunbookEntry)>,
    /// One human sentence.
    pub reason: String,
}

impl<'m> Decision<'m> {
    /// The runbook's `commands`, only when the action carries them.
    pub fn commands(&self) -> &'m [String] {
        match self.runbook {
            Some((_, entry)) if self.action.carries_commands() => &entry.commands,
            _ => &[],
        }
    }

    pub fn runbook_key(&self) -> Option<&'m str> {
        self.runbook.map(|(k, _)| k)
    }
}

/// Decides what to do with `alert`. `looked_up_role` is the instance's role tag (or `--role`
/// offline); the alert's own role (explicit field or `ROLE:ALERT` alarm name) wins over it.
pub fn decide<'m>(
    alert: &Alert,
    map: &'m RunbookMap,
    looked_up_role: Option<&str>,
) -> Decision<'m> {
    let role = alert.role.as_deref().or(looked_up_role).map(str::to_owned);
    let key = role.as_deref().map(|r| format!("{r}:{}", alert.alert));
    let runbook = role.as_deref().and_then(|r| map.lookup(r, &alert.alert));
    let mut d = Decision {
        action: Action::Unresolved,
        key,
        role,
        runbook,
        reason: String::new(),
    };
    if alert.state != AlarmState::Alarm {
        d.action = Action::Ignore;
        d.reason = format!(
            "the alarm is {}, not ALARM: recorded for the report, nothing runs",
            alert.state.as_str()
        );
        return d;
    }
    if alert.composite && alert.instance_ids.is_empty() {
        d.reason = "a composite alarm names no instance: escalated to a human, nothing runs".into();
        return d;
    }
    match alert.instance_ids.len() {
        1 => {}
        0 => {
            d.reason = "the alert names no instance: escalated to a human, nothing runs".into();
            return d;
        }
        n => {
            d.reason = format!(
                "the alert names {n} instances; selfheal acts on exactly one and never fans out"
            );
            return d;
        }
    }
    if d.role.is_none() {
        d.reason = "the role is unknown: the alarm name is not ROLE:ALERT, the alert has no role and no role tag was found".into();
        return d;
    }
    let Some((matched, entry)) = d.runbook else {
        d.action = Action::NoRunbook;
        d.reason = format!(
            "no runbook matches {}; write one to automate this alert",
            d.key.as_deref().unwrap_or("?")
        );
        return d;
    };
    let instance = &alert.instance_ids[0];
    let (action, reason) = match entry.mode {
        Mode::Enforce => (
            Action::Remediate,
            format!("runbook {matched} would run on {instance}"),
        ),
        Mode::DryRun => (
            Action::DryRun,
            format!("runbook {matched} is in dry-run: it announces what it would run on {instance} and runs nothing"),
        ),
        Mode::Approve => (
            Action::Approve,
            format!("runbook {matched} needs a person to press Run before it runs on {instance}"),
        ),
        Mode::Off => (
            Action::Disabled,
            format!("runbook {matched} is switched off (mode off)"),
        ),
    };
    d.action = action;
    d.reason = reason;
    d
}
