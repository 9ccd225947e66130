//! The engine's decisions, as pure functions of the facts the flow has gathered: which phase
//! comes next, whether the kill switch stops it, what an invocation's result means, whether the
//! live alarm allows acting, whether the instance's role tag matches, and what a press decides.
//!
//! What it is: no I/O, no clock, no async — every input is a value, so each rule is tested here
//! with tables of cases. What it is not: the order in which facts are gathered (that is the
//! flow in `flow.rs` and `run.rs`, which calls these).

use crate::outcome::Outcome;
use crate::ports::{GlobalMode, Invocation, InvocationStatus, LiveAlarm};
use selfheal_core::approval::{Approval, Decision};
use selfheal_core::{AlarmState, InstanceId, RunbookEntry};

/// One SSM command of a remediation, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Precheck,
    Commands,
    Verify,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::Precheck, Phase::Commands, Phase::Verify];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Precheck => "precheck",
            Phase::Commands => "commands",
            Phase::Verify => "verify",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The runbook lines of this phase.
    pub fn lines(self, entry: &RunbookEntry) -> &[String] {
        match self {
            Phase::Precheck => &entry.precheck,
            Phase::Commands => &entry.commands,
            Phase::Verify => &entry.verify,
        }
    }

    /// The phases a run sends, in order: those with lines, and in mode `approve` (before Run)
    /// only the precheck.
    pub fn plan(entry: &RunbookEntry, approve_first: bool) -> Vec<Phase> {
        Self::ALL
            .into_iter()
            .filter(|p| !p.lines(entry).is_empty())
            .filter(|p| !approve_first || *p == Phase::Precheck)
            .collect()
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outcome with the details history and chat show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ending {
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

/// Whether the global mode (or the runbook's own dry-run) forbids sending `phase` now. Checked
/// right before every send; a phase already sent is awaited regardless.
pub fn mode_stop(
    mode: GlobalMode,
    runbook_dry_run: bool,
    phase: Phase,
    phases_done: &[String],
) -> Option<(Outcome, Ending)> {
    let (outcome, because) = match mode {
        GlobalMode::Off => (Outcome::Killed, "the kill switch is off"),
        GlobalMode::DryRun => (Outcome::DryRun, "the global mode is dry-run"),
        GlobalMode::Enforce if runbook_dry_run => (Outcome::DryRun, "the global mode is dry-run"),
        GlobalMode::Enforce => return None,
    };
    let ran = if phases_done.is_empty() {
        "none".to_owned()
    } else {
        phases_done.join(", ")
    };
    Some((
        outcome,
        Ending {
            reason: format!(
                "{because} now: {phase} and any later phase were not sent (phases that ran: {ran})"
            ),
            failed_phase: Some(phase.as_str().to_owned()),
            ..Ending::default()
        },
    ))
}

/// What a finished invocation of `phase` means: `None` when it passed (Success with exit 0),
/// else the outcome. A result that cannot be read is a failure, never a success.
pub fn phase_result(
    phase: Phase,
    inv: &Invocation,
    instance: &InstanceId,
) -> Option<(Outcome, Ending)> {
    let failed = |outcome: Outcome, reason: String| {
        Some((
            outcome,
            Ending {
                reason,
                failed_phase: Some(phase.as_str().to_owned()),
                exit_code: inv.exit_code,
                output_tail: tail_of(&inv.stdout, &inv.stderr),
            },
        ))
    };
    match inv.status {
        InvocationStatus::Success if matches!(inv.exit_code, None | Some(0)) => None,
        InvocationStatus::Success | InvocationStatus::Failed => {
            let code = inv
                .exit_code
                .map_or("unknown".to_owned(), |c| c.to_string());
            if phase == Phase::Precheck {
                failed(
                    Outcome::PrecheckFailed,
                    format!("precheck exited {code}: nothing was changed"),
                )
            } else {
                failed(Outcome::Failed, format!("{phase} exited {code}"))
            }
        }
        InvocationStatus::TimedOut
        | InvocationStatus::ExecutionTimedOut
        | InvocationStatus::DeliveryTimedOut => failed(
            Outcome::TimedOut,
            format!("{phase} timed out ({:?})", inv.status),
        ),
        InvocationStatus::Undeliverable => failed(
            Outcome::Unresolved,
            format!("{phase} could not be delivered to {instance} (Undeliverable)"),
        ),
        InvocationStatus::Cancelled
        | InvocationStatus::Terminated
        | InvocationStatus::Unknown
        | InvocationStatus::Running => failed(
            Outcome::Failed,
            format!("{phase} ended {:?}: counted as a failure", inv.status),
        ),
    }
}

/// The live re-check (DESIGN principle 3): `None` when the alarm is in ALARM and its own
/// configuration watches `instance`; else the outcome and why nothing runs.
pub fn live_alarm_stop(
    name: &str,
    instance: &InstanceId,
    live: Option<&LiveAlarm>,
) -> Option<(Outcome, String)> {
    match live {
        None => Some((
            Outcome::Unresolved,
            format!("alarm {name:?} cannot be found: nothing runs"),
        )),
        Some(l) if !l.watches_instance => Some((
            Outcome::Unresolved,
            format!("alarm {name:?} does not watch {instance} (its configuration names no such InstanceId): nothing runs"),
        )),
        Some(l) if l.state != AlarmState::Alarm => Some((
            Outcome::Recovered,
            format!(
                "the alarm is {} again: a blip that recovered, nothing runs",
                l.state.as_str()
            ),
        )),
        Some(_) => None,
    }
}

/// The instance's role tag must equal the alert's resolved role before anything runs:
/// `Some(why)` when it does not.
pub fn role_tag_mismatch(resolved: &str, tag: Option<&str>) -> Option<String> {
    match tag {
        Some(t) if t == resolved => None,
        Some(t) => Some(format!(
            "the instance's role tag is {t:?}, but the alert is for role {resolved:?}: nothing runs"
        )),
        None => {
            Some("the instance has no role tag (or SSM cannot see it): nothing runs".to_owned())
        }
    }
}

/// What a press taken from `awaiting-approval` decides before any guard: Skip ends it, a Run
/// pressed after the request's expiry (as recorded when pressed) ends it; `None`: Run, go on.
pub fn press_stop(approval: &Approval, approver: &str) -> Option<(Outcome, String)> {
    if approval.decision == Decision::Skip {
        return Some((
            Outcome::Skipped,
            format!("{approver} pressed Skip: nothing runs"),
        ));
    }
    (approval.pressed_at_ms > approval.expires_at_ms).then(|| {
        (
            Outcome::Expired,
            "Run was pressed after the approval request expired: nothing runs".to_owned(),
        )
    })
}

/// The last 4 KB of output (stderr after stdout), on a character boundary.
pub fn tail_of(stdout: &str, stderr: &str) -> Option<String> {
    const MAX: usize = 4096;
    let joined = match (stdout.is_empty(), stderr.is_empty()) {
        (true, true) => return None,
        (false, true) => stdout.to_owned(),
        (true, false) => stderr.to_owned(),
        (false, false) => format!("{stdout}\n--- stderr ---\n{stderr}"),
    };
    if joined.len() <= MAX {
        return Some(joined);
    }
    let mut start = joined.len() - MAX;
    while !joined.is_char_boundary(start) {
        start += 1;
    }
    Some(format!("…{}", &joined[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst() -> InstanceId {
        InstanceId::parse("i-0123456789abcdef0").expect("id")
    }

    fn inv(status: InvocationStatus, exit_code: Option<i32>) -> Invocation {
        Invocation {
            status,
            exit_code,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    #[test]
    fn phase_results() {
        use InvocationStatus as S;
        let cases: &[(Phase, S, Option<i32>, Option<Outcome>)] = &[
            (Phase::Commands, S::Success, Some(0), None),
            (Phase::Commands, S::Success, None, None),
            // SSM says Success but the script said otherwise: a failure.
            (Phase::Commands, S::Success, Some(3), Some(Outcome::Failed)),
            (
                Phase::Precheck,
                S::Failed,
                Some(1),
                Some(Outcome::PrecheckFailed),
            ),
            (Phase::Verify, S::Failed, Some(1), Some(Outcome::Failed)),
            (Phase::Verify, S::TimedOut, None, Some(Outcome::TimedOut)),
            (
                Phase::Commands,
                S::ExecutionTimedOut,
                None,
                Some(Outcome::TimedOut),
            ),
            (
                Phase::Commands,
                S::DeliveryTimedOut,
                None,
                Some(Outcome::TimedOut),
            ),
            (
                Phase::Precheck,
                S::Undeliverable,
                None,
                Some(Outcome::Unresolved),
            ),
            (Phase::Commands, S::Cancelled, None, Some(Outcome::Failed)),
            (Phase::Commands, S::Terminated, None, Some(Outcome::Failed)),
            // A status nobody knows is never a success.
            (Phase::Commands, S::Unknown, Some(0), Some(Outcome::Failed)),
            (Phase::Commands, S::Running, None, Some(Outcome::Failed)),
        ];
        for (phase, status, code, want) in cases {
            let got = phase_result(*phase, &inv(*status, *code), &inst());
            assert_eq!(
                got.as_ref().map(|(o, _)| *o),
                *want,
                "{phase} {status:?} {code:?}"
            );
            if let Some((_, ending)) = got {
                assert_eq!(ending.failed_phase.as_deref(), Some(phase.as_str()));
                assert_eq!(ending.exit_code, *code);
            }
        }
    }

    #[test]
    fn the_mode_stops_a_phase_before_it_is_sent() {
        let done = vec!["precheck".to_owned()];
        assert_eq!(
            mode_stop(GlobalMode::Enforce, false, Phase::Commands, &done),
            None
        );
        let (o, e) = mode_stop(GlobalMode::Off, false, Phase::Commands, &done).expect("stops");
        assert_eq!(o, Outcome::Killed);
        assert_eq!(e.failed_phase.as_deref(), Some("commands"));
        assert!(
            e.reason.contains("phases that ran: precheck"),
            "{}",
            e.reason
        );
        let (o, e) = mode_stop(GlobalMode::DryRun, false, Phase::Precheck, &[]).expect("stops");
        assert_eq!(o, Outcome::DryRun);
        assert!(e.reason.contains("phases that ran: none"), "{}", e.reason);
        let (o, _) = mode_stop(GlobalMode::Enforce, true, Phase::Verify, &done).expect("stops");
        assert_eq!(o, Outcome::DryRun);
        // `off` wins over a runbook dry-run.
        let (o, _) = mode_stop(GlobalMode::Off, true, Phase::Verify, &done).expect("stops");
        assert_eq!(o, Outcome::Killed);
    }

    #[test]
    fn the_live_alarm_must_be_in_alarm_and_watch_the_instance() {
        let live = |state, watches_instance| LiveAlarm {
            state,
            watches_instance,
        };
        let i = inst();
        assert_eq!(
            live_alarm_stop("a", &i, Some(&live(AlarmState::Alarm, true))),
            None
        );
        let cases = [
            (None, Outcome::Unresolved, "cannot be found"),
            (
                Some(live(AlarmState::Alarm, false)),
                Outcome::Unresolved,
                "does not watch",
            ),
            // A recovered alarm that watches another instance is still not ours.
            (
                Some(live(AlarmState::Ok, false)),
                Outcome::Unresolved,
                "does not watch",
            ),
            (
                Some(live(AlarmState::Ok, true)),
                Outcome::Recovered,
                "OK again",
            ),
            (
                Some(live(AlarmState::InsufficientData, true)),
                Outcome::Recovered,
                "INSUFFICIENT_DATA again",
            ),
        ];
        for (l, want, says) in cases {
            let (o, why) = live_alarm_stop("a", &i, l.as_ref()).expect("stops");
            assert_eq!(o, want, "{l:?}");
            assert!(why.contains(says), "{why}");
        }
    }

    #[test]
    fn role_tags() {
        assert_eq!(role_tag_mismatch("api", Some("api")), None);
        assert!(role_tag_mismatch("api", Some("web")).is_some());
        assert!(
            role_tag_mismatch("api", Some("API")).is_some(),
            "case-sensitive"
        );
        assert!(role_tag_mismatch("api", None).is_some());
    }

    #[test]
    fn phase_plans() {
        let mut e = RunbookEntry::with_commands(vec!["true".into()]);
        assert_eq!(Phase::plan(&e, false), vec![Phase::Commands]);
        e.precheck = vec!["true".into()];
        e.verify = vec!["true".into()];
        assert_eq!(Phase::plan(&e, false), Phase::ALL.to_vec());
        assert_eq!(Phase::plan(&e, true), vec![Phase::Precheck]);
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
        assert_eq!(Phase::parse("other"), None);
    }

    #[test]
    fn output_tails_are_bounded_on_a_char_boundary() {
        assert_eq!(tail_of("", ""), None);
        let long = "é".repeat(5000);
        let t = tail_of(&long, "").expect("tail");
        assert!(t.len() <= 4096 + "…".len() + 1);
        assert!(t.starts_with('…'));
    }
}
