//! One phase of a remediation on its instance (DESIGN principle 6), as a sans-IO state machine:
//! it is fed facts (what a port answered, and the time) and answers with the next step the
//! driver must perform. It never does I/O and never reads a clock, so every path through it —
//! a crash between send and save, a lost response, the kill switch turning mid-flight, the
//! deadline — is a plain unit test.
//!
//! The protocol, in order, for a phase that has not finished:
//! 1. a stored command id is polled, never sent again;
//! 2. with no id but `phase_sent_at_ms` set (a crash between SendCommand and saving its id, or a
//!    lost SendCommand response), the command is looked for by its comment before anything else;
//! 3. `phase_sent_at_ms` is saved, then the mode is read (again if the answer took more than
//!    2 s): `off`/`dry-run` end it before anything is sent, and so does a deadline too close to
//!    send and still save state;
//! 4. SendCommand follows the mode read directly (never retried: this machine's step 2 is the
//!    only retry); its id is kept in the claim (with `acting_since_ms`, the first time a
//!    command of the remediation itself is known to be sent) but not written on its own: the
//!    next claim write carries it, and until then step 2 finds the command by its comment;
//! 5. the invocation is polled with a doubling delay until it ends, or until the deadline leaves
//!    only the margin to save state (`Running`: the next delivery resumes at step 1).

use crate::outcome::Outcome;
use crate::ports::{
    Claim, ClaimState, CommandRequest, EpochMillis, GlobalMode, Invocation, InvocationStatus,
    PortError, Sent,
};
use crate::verdict::{mode_stop, phase_result, Ending, Phase};
use selfheal_core::InstanceId;
use std::time::Duration;

/// What the phase needs to know besides the claim.
#[derive(Debug, Clone)]
pub struct PhaseSpec {
    pub phase: Phase,
    pub instance: InstanceId,
    pub document: String,
    /// The wrapped script ([`crate::script::wrap`]).
    pub lines: Vec<String>,
    pub execution_timeout_seconds: u32,
    /// `selfheal <claim id> <phase>`: how a sent command is found again.
    pub comment: String,
    /// The runbook (or global mode at the guards) is dry-run.
    pub dry_run: bool,
    pub deadline: EpochMillis,
    pub deadline_margin_ms: EpochMillis,
    pub poll_initial: Duration,
    pub poll_max: Duration,
    /// Transient poll failures tolerated before the record goes back to the queue.
    pub poll_retries: u32,
    /// Ask for a live alarm re-check once it is known that this phase was not sent yet (a
    /// resumed remediation about to send `commands`).
    pub recheck: bool,
    /// This phase is part of the remediation itself (not the precheck run as evidence for an
    /// approval request): its command, once known to be sent, marks when the remediation began
    /// acting (`Claim::acting_since_ms`, set once). Records data only; decides nothing.
    pub acting: bool,
    /// The remediation's role lease lapsed while it was paused (`Capacity::Lapsed`): a command
    /// already sent is still found and awaited, but once it is known that this phase was not
    /// sent, it ends `timed-out` with this reason instead of being sent.
    pub lapsed: Option<String>,
    /// This run saved the phase's sent-at itself (in the admission) and sent nothing since:
    /// there is no command to look for; the mode is read and it is sent.
    pub sent_at_saved: bool,
}

/// A fact the driver learned by performing the previous step.
#[derive(Debug, Clone)]
pub enum Fact {
    Start,
    /// ListCommands by comment: the command id, if one was sent.
    Found(Option<String>),
    Mode(GlobalMode),
    /// The claim was saved.
    Saved,
    Sent(Sent),
    Polled(Result<Invocation, PortError>),
    Slept,
    /// The live re-check: `None` to go on, else how the remediation ends.
    Rechecked(Option<(Outcome, Ending)>),
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    FindByComment {
        comment: String,
        instance: InstanceId,
        since: EpochMillis,
    },
    ReadMode,
    /// Re-check the live alarm before sending (answer [`Fact::Rechecked`]).
    Recheck,
    /// Save [`PhaseRun::claim`] (conditional on its version).
    SaveClaim,
    Send(CommandRequest),
    Poll {
        command_id: String,
        instance: InstanceId,
        /// When the phase was sent (its saved sent-at): how far back a listing must look.
        sent_at: EpochMillis,
    },
    Sleep(Duration),
    /// The phase ended: `outcome` `None` when it passed, `Running` at the deadline.
    Done {
        outcome: Option<Outcome>,
        ending: Ending,
    },
    /// A port failure the record goes back to the queue for.
    Fail(PortError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Begin,
    AwaitFound,
    AwaitMode,
    AwaitRecheck,
    AwaitSentAtSaved,
    AwaitSent,
    AwaitPoll,
    AwaitSleep,
    Ended,
}

/// One phase in flight. Create with [`PhaseRun::new`], feed [`Fact::Start`], then each fact the
/// returned step produced, until [`Step::Done`] or [`Step::Fail`].
#[derive(Debug)]
pub struct PhaseRun {
    spec: PhaseSpec,
    claim: Claim,
    state: State,
    delay: Duration,
    poll_errors: u32,
    mode_asked_at: EpochMillis,
}

/// A mode answer that took longer than this to arrive is read again before anything is sent.
pub const MODE_MAX_AGE_MS: EpochMillis = 2_000;

impl PhaseRun {
    pub fn new(spec: PhaseSpec, claim: Claim) -> Self {
        let delay = spec.poll_initial;
        Self {
            spec,
            claim,
            state: State::Begin,
            delay,
            poll_errors: 0,
            mode_asked_at: 0,
        }
    }

    /// The claim as this phase has changed it (what [`Step::SaveClaim`] saves).
    pub fn claim(&self) -> &Claim {
        &self.claim
    }

    pub fn claim_mut(&mut self) -> &mut Claim {
        &mut self.claim
    }

    pub fn into_claim(self) -> Claim {
        self.claim
    }

    /// The next step, given what the previous one produced and the time now.
    pub fn step(&mut self, fact: Fact, now: EpochMillis) -> Step {
        match (self.state, fact) {
            (State::Begin, Fact::Start) => self.begin(now),
            (State::AwaitFound, Fact::Found(Some(id))) => self.record_id(id, now),
            (State::AwaitFound, Fact::Found(None)) | (State::AwaitSentAtSaved, Fact::Saved) => {
                if let Some(stop) = self.stop_unsent() {
                    return stop;
                }
                if self.spec.recheck {
                    self.spec.recheck = false;
                    self.state = State::AwaitRecheck;
                    return Step::Recheck;
                }
                self.read_mode(now)
            }
            (State::AwaitRecheck, Fact::Rechecked(None)) => self.read_mode(now),
            (State::AwaitRecheck, Fact::Rechecked(Some((outcome, ending)))) => {
                self.done(Some(outcome), ending)
            }
            (State::AwaitMode, Fact::Mode(mode)) => {
                // A read that took long may be stale: read again rather than act on it.
                if now - self.mode_asked_at > MODE_MAX_AGE_MS {
                    return self.read_mode(now);
                }
                let done = self.claim.phases_done.clone();
                if let Some((outcome, ending)) =
                    mode_stop(mode, self.spec.dry_run, self.spec.phase, &done)
                {
                    return self.done(Some(outcome), ending);
                }
                if now + self.spec.deadline_margin_ms >= self.spec.deadline {
                    // Too late to send and still save state: the next delivery sends it.
                    return self.done(
                        Some(Outcome::Running),
                        Ending::because(
                            "time ran out before the phase was sent; the next delivery resumes",
                        ),
                    );
                }
                self.state = State::AwaitSent;
                Step::Send(CommandRequest {
                    instance: self.spec.instance.clone(),
                    document: self.spec.document.clone(),
                    lines: self.spec.lines.clone(),
                    execution_timeout_seconds: self.spec.execution_timeout_seconds,
                    comment: self.spec.comment.clone(),
                })
            }
            (State::AwaitSent, Fact::Sent(Sent::CommandId(id))) => self.record_id(id, now),
            (State::AwaitSent, Fact::Sent(Sent::InvalidInstance(msg))) => {
                let ending = Ending {
                    reason: format!("SSM cannot reach {}: {msg}", self.spec.instance),
                    failed_phase: Some(self.spec.phase.as_str().to_owned()),
                    ..Ending::default()
                };
                self.done(Some(Outcome::Unresolved), ending)
            }
            (State::AwaitSleep, Fact::Slept) => self.poll_or_stop(now),
            (State::AwaitPoll, Fact::Polled(Ok(inv)))
                if inv.status == InvocationStatus::Running =>
            {
                self.sleep()
            }
            (State::AwaitPoll, Fact::Polled(Ok(inv))) => {
                match phase_result(self.spec.phase, &inv, &self.spec.instance) {
                    None => {
                        self.claim
                            .phases_done
                            .push(self.spec.phase.as_str().to_owned());
                        self.done(None, Ending::default())
                    }
                    Some((outcome, ending)) => self.done(Some(outcome), ending),
                }
            }
            (State::AwaitPoll, Fact::Polled(Err(PortError::Transient(e))))
                if self.poll_errors < self.spec.poll_retries =>
            {
                self.poll_errors += 1;
                tracing::warn!(error = %e, "polling failed; trying again");
                self.sleep()
            }
            (State::AwaitPoll, Fact::Polled(Err(e))) => {
                self.state = State::Ended;
                Step::Fail(e)
            }
            (state, fact) => {
                self.state = State::Ended;
                Step::Fail(PortError::Permanent(format!(
                    "phase machine: fact {fact:?} does not fit state {state:?}"
                )))
            }
        }
    }

    fn begin(&mut self, now: EpochMillis) -> Step {
        let phase = self.spec.phase.as_str();
        if self.claim.phase.as_deref() != Some(phase) {
            self.claim.phase = Some(phase.to_owned());
            self.claim.command_id = None;
            self.claim.phase_sent_at_ms = None;
            self.claim.state = ClaimState::Running;
        }
        if self.claim.command_id.is_some() {
            // Sent before and its id saved: never send again, read it.
            return self.poll_or_stop(now);
        }
        match self.claim.phase_sent_at_ms {
            // A crash between SendCommand and saving its id (or a lost response): find the
            // command by its comment before deciding anything else.
            Some(_) if self.spec.sent_at_saved => {
                self.state = State::AwaitSentAtSaved;
                self.step(Fact::Saved, now)
            }
            Some(since) => {
                self.state = State::AwaitFound;
                Step::FindByComment {
                    comment: self.spec.comment.clone(),
                    instance: self.spec.instance.clone(),
                    since,
                }
            }
            // Sent-at is saved before the mode is read, so the mode read is the last thing
            // before SendCommand and at most a few seconds old when it goes out.
            None => {
                if let Some(stop) = self.stop_unsent() {
                    return stop;
                }
                self.claim.phase_sent_at_ms = Some(now);
                self.state = State::AwaitSentAtSaved;
                Step::SaveClaim
            }
        }
    }

    /// A phase known not to be sent, of a remediation whose lease lapsed: it ends here.
    fn stop_unsent(&mut self) -> Option<Step> {
        let why = self.spec.lapsed.take()?;
        Some(self.done(Some(Outcome::TimedOut), Ending::because(why)))
    }

    fn read_mode(&mut self, now: EpochMillis) -> Step {
        self.mode_asked_at = now;
        self.state = State::AwaitMode;
        Step::ReadMode
    }

    fn record_id(&mut self, id: String, now: EpochMillis) -> Step {
        if !self.claim.command_ids.contains(&id) {
            self.claim.command_ids.push(id.clone());
        }
        if self.spec.acting && self.claim.acting_since_ms.is_none() {
            self.claim.acting_since_ms = Some(self.claim.phase_sent_at_ms.unwrap_or(now));
        }
        // Not saved here: the comment names the claim and the phase, so a crash or a failure
        // before the next claim write finds the command again by it (step 2). The id reaches
        // the store with the next write (the next phase's sent-at, a hand-back, the close).
        self.claim.command_id = Some(id);
        self.poll_or_stop(now)
    }

    fn poll_or_stop(&mut self, now: EpochMillis) -> Step {
        if now + self.spec.deadline_margin_ms >= self.spec.deadline {
            return self.done(
                Some(Outcome::Running),
                Ending::because("time ran out while polling; the next delivery resumes"),
            );
        }
        let Some(command_id) = self.claim.command_id.clone() else {
            self.state = State::Ended;
            return Step::Fail(PortError::Permanent(
                "phase machine: polling without a command id".into(),
            ));
        };
        self.state = State::AwaitPoll;
        Step::Poll {
            command_id,
            instance: self.spec.instance.clone(),
            sent_at: self.claim.phase_sent_at_ms.unwrap_or(now),
        }
    }

    fn sleep(&mut self) -> Step {
        let d = self.delay;
        self.delay = (self.delay * 2).min(self.spec.poll_max);
        self.state = State::AwaitSleep;
        Step::Sleep(d)
    }

    fn done(&mut self, outcome: Option<Outcome>, ending: Ending) -> Step {
        self.state = State::Ended;
        Step::Done { outcome, ending }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: EpochMillis = 1_800_000_000_000;

    fn spec(phase: Phase) -> PhaseSpec {
        PhaseSpec {
            phase,
            instance: InstanceId::parse("i-0123456789abcdef0").expect("id"),
            document: "AWS-RunShellScript".into(),
            lines: vec!["command eval 'true'".into()],
            execution_timeout_seconds: 120,
            comment: format!("selfheal abc {phase}"),
            dry_run: false,
            deadline: T0 + 60_000,
            deadline_margin_ms: 5_000,
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
            poll_retries: 3,
            recheck: false,
            acting: true,
            lapsed: None,
            sent_at_saved: false,
        }
    }

    fn claim() -> Claim {
        Claim {
            identity: "x".into(),
            version: 1,
            ..Claim::default()
        }
    }

    fn inv(status: InvocationStatus, code: Option<i32>) -> Invocation {
        Invocation {
            status,
            exit_code: code,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    /// Drives a machine with `answers` (one per step after Start); returns every step.
    fn drive(run: &mut PhaseRun, answers: Vec<Fact>) -> Vec<Step> {
        let mut steps = vec![run.step(Fact::Start, T0)];
        for (i, fact) in answers.into_iter().enumerate() {
            steps.push(run.step(fact, T0 + 1_000 * (i as i64 + 1)));
        }
        steps
    }

    fn sends(steps: &[Step]) -> usize {
        steps.iter().filter(|s| matches!(s, Step::Send(_))).count()
    }

    #[test]
    fn a_fresh_phase_saves_reads_the_mode_sends_and_polls() {
        let mut run = PhaseRun::new(spec(Phase::Commands), claim());
        let steps = drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::CommandId("c1".into())),
                Fact::Polled(Ok(inv(InvocationStatus::Running, None))),
                Fact::Slept,
                Fact::Polled(Ok(inv(InvocationStatus::Success, Some(0)))),
            ],
        );
        assert_eq!(steps[0], Step::SaveClaim, "sent-at saved first");
        assert_eq!(
            steps[1],
            Step::ReadMode,
            "the mode read right before sending"
        );
        assert!(matches!(steps[2], Step::Send(_)));
        // The id is not written on its own: the comment finds the command until the next
        // claim write carries it.
        assert!(matches!(steps[3], Step::Poll { .. }), "polled right after");
        assert_eq!(steps[4], Step::Sleep(Duration::from_millis(250)));
        assert!(matches!(steps[6], Step::Done { outcome: None, .. }));
        assert_eq!(steps.iter().filter(|s| **s == Step::SaveClaim).count(), 1);
        let c = run.into_claim();
        assert_eq!(c.command_ids, vec!["c1".to_owned()]);
        assert_eq!(c.phases_done, vec!["commands".to_owned()]);
        assert_eq!(c.phase_sent_at_ms, Some(T0));
    }

    #[test]
    fn acting_since_is_the_first_sent_command_of_the_remediation_and_is_kept() {
        // Sent: the time its sent-at was saved (the mode answer and the send came later).
        let mut run = PhaseRun::new(spec(Phase::Precheck), claim());
        drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::CommandId("c1".into())),
            ],
        );
        assert_eq!(run.claim().acting_since_ms, Some(T0));
        // A later phase (or a later delivery) keeps it.
        let mut c = run.into_claim();
        c.phase = None;
        let mut run = PhaseRun::new(spec(Phase::Commands), c);
        let steps = drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::CommandId("c2".into())),
            ],
        );
        assert_eq!(sends(&steps), 1);
        assert_eq!(run.claim().acting_since_ms, Some(T0));
        // Found by its comment after a crash: its saved sent-at, not the time it was found.
        let mut c = claim();
        c.phase = Some("commands".into());
        c.phase_sent_at_ms = Some(T0 - 5_000);
        let mut run = PhaseRun::new(spec(Phase::Commands), c);
        run.step(Fact::Start, T0);
        assert!(matches!(
            run.step(Fact::Found(Some("c1".into())), T0),
            Step::Poll { ref command_id, .. } if command_id == "c1"
        ));
        assert_eq!(run.claim().acting_since_ms, Some(T0 - 5_000));
        // Stopped by the kill switch before sending: nothing ran, nothing set.
        let mut run = PhaseRun::new(spec(Phase::Commands), claim());
        drive(&mut run, vec![Fact::Saved, Fact::Mode(GlobalMode::Off)]);
        assert_eq!(run.claim().acting_since_ms, None);
        // The precheck before an approval request is not the remediation acting.
        let mut s = spec(Phase::Precheck);
        s.acting = false;
        let mut run = PhaseRun::new(s, claim());
        drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::CommandId("c1".into())),
            ],
        );
        assert_eq!(run.claim().command_ids, vec!["c1".to_owned()]);
        assert_eq!(run.claim().acting_since_ms, None);
    }

    #[test]
    fn a_resumed_commands_phase_rechecks_the_alarm_only_if_not_sent() {
        // Not sent yet: re-check, and a recovered alarm ends it before anything is sent.
        let mut s = spec(Phase::Commands);
        s.recheck = true;
        let mut run = PhaseRun::new(s.clone(), claim());
        assert_eq!(run.step(Fact::Start, T0), Step::SaveClaim);
        assert_eq!(run.step(Fact::Saved, T0), Step::Recheck);
        let stop = Some((Outcome::Recovered, Ending::because("OK again")));
        assert!(matches!(
            run.step(Fact::Rechecked(stop), T0),
            Step::Done {
                outcome: Some(Outcome::Recovered),
                ..
            }
        ));
        // Found by its comment (it was sent): awaited, no re-check.
        let mut c = claim();
        c.phase = Some("commands".into());
        c.phase_sent_at_ms = Some(T0 - 5);
        let mut run = PhaseRun::new(s, c);
        assert!(matches!(
            run.step(Fact::Start, T0),
            Step::FindByComment { .. }
        ));
        assert!(matches!(
            run.step(Fact::Found(Some("c1".into())), T0),
            Step::Poll { ref command_id, .. } if command_id == "c1"
        ));
    }

    #[test]
    fn a_lapsed_lease_awaits_what_was_sent_and_sends_nothing_new() {
        let lapsed = || {
            let mut s = spec(Phase::Commands);
            s.lapsed = Some("lease lapsed".into());
            s
        };
        let timed_out = |s: &Step| {
            matches!(
                s,
                Step::Done {
                    outcome: Some(Outcome::TimedOut),
                    ..
                }
            )
        };
        // Not begun: it ends at once, before its sent-at is even saved.
        let mut run = PhaseRun::new(lapsed(), claim());
        assert!(timed_out(&run.step(Fact::Start, T0)));
        // Begun, not found by its comment: not sent, it ends.
        let mut c = claim();
        c.phase = Some("commands".into());
        c.phase_sent_at_ms = Some(T0 - 5);
        let mut run = PhaseRun::new(lapsed(), c.clone());
        assert!(matches!(
            run.step(Fact::Start, T0),
            Step::FindByComment { .. }
        ));
        assert!(timed_out(&run.step(Fact::Found(None), T0)));
        // Found by its comment: it was sent, so it is awaited like any other.
        let mut run = PhaseRun::new(lapsed(), c.clone());
        run.step(Fact::Start, T0);
        assert!(matches!(
            run.step(Fact::Found(Some("c1".into())), T0),
            Step::Poll { ref command_id, .. } if command_id == "c1"
        ));
        // Its id saved before: read, never sent again.
        c.command_id = Some("c1".into());
        let mut run = PhaseRun::new(lapsed(), c);
        assert!(!timed_out(&run.step(Fact::Start, T0)));
    }

    #[test]
    fn a_slow_mode_answer_is_read_again_before_sending() {
        let mut run = PhaseRun::new(spec(Phase::Commands), claim());
        assert_eq!(run.step(Fact::Start, T0), Step::SaveClaim);
        assert_eq!(run.step(Fact::Saved, T0 + 1), Step::ReadMode);
        // Asked at +1 ms, answered 5 s later: it may predate a flip.
        assert_eq!(
            run.step(Fact::Mode(GlobalMode::Enforce), T0 + 5_001),
            Step::ReadMode
        );
        let next = run.step(Fact::Mode(GlobalMode::Off), T0 + 5_002);
        assert!(matches!(
            next,
            Step::Done {
                outcome: Some(Outcome::Killed),
                ..
            }
        ));
    }

    #[test]
    fn nothing_is_sent_when_the_deadline_leaves_no_time_to_save() {
        let mut s = spec(Phase::Commands);
        s.deadline = T0 + 6_000;
        let mut run = PhaseRun::new(s, claim());
        let steps = drive(&mut run, vec![Fact::Saved, Fact::Mode(GlobalMode::Enforce)]);
        assert_eq!(sends(&steps), 0);
        assert!(matches!(
            steps.last(),
            Some(Step::Done {
                outcome: Some(Outcome::Running),
                ..
            })
        ));
    }

    #[test]
    fn a_stored_command_id_is_polled_never_sent_again() {
        let mut c = claim();
        c.phase = Some("commands".into());
        c.command_id = Some("c1".into());
        c.phase_sent_at_ms = Some(T0 - 1);
        let mut run = PhaseRun::new(spec(Phase::Commands), c);
        let first = run.step(Fact::Start, T0);
        assert!(matches!(first, Step::Poll { ref command_id, .. } if command_id == "c1"));
    }

    #[test]
    fn after_a_crash_between_send_and_save_the_comment_is_looked_up_before_the_mode() {
        for (found, mode) in [
            (Some("c9".to_owned()), GlobalMode::Off),
            (None, GlobalMode::Enforce),
            (None, GlobalMode::Off),
        ] {
            let mut c = claim();
            c.phase = Some("commands".into());
            c.phase_sent_at_ms = Some(T0 - 10);
            let mut run = PhaseRun::new(spec(Phase::Commands), c);
            let first = run.step(Fact::Start, T0);
            assert!(
                matches!(first, Step::FindByComment { since, .. } if since == T0 - 10),
                "{first:?}"
            );
            let next = run.step(Fact::Found(found.clone()), T0 + 1);
            match (found, mode) {
                // Found: it was sent; it is awaited whatever the mode is now.
                (Some(_), _) => assert!(matches!(next, Step::Poll { .. }), "{next:?}"),
                (None, mode) => {
                    assert_eq!(next, Step::ReadMode);
                    let after = run.step(Fact::Mode(mode), T0 + 2);
                    if mode == GlobalMode::Off {
                        assert!(matches!(
                            after,
                            Step::Done {
                                outcome: Some(Outcome::Killed),
                                ..
                            }
                        ));
                    } else {
                        // Not found: sent-at is already saved; the mode read leads to the send.
                        assert!(matches!(after, Step::Send(_)), "{after:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_kill_switch_and_dry_run_stop_before_any_send() {
        for (mode, dry, want) in [
            (GlobalMode::Off, false, Outcome::Killed),
            (GlobalMode::DryRun, false, Outcome::DryRun),
            (GlobalMode::Enforce, true, Outcome::DryRun),
        ] {
            let mut s = spec(Phase::Verify);
            s.dry_run = dry;
            let mut c = claim();
            c.phases_done = vec!["precheck".into(), "commands".into()];
            let mut run = PhaseRun::new(s, c);
            let steps = drive(&mut run, vec![Fact::Saved, Fact::Mode(mode)]);
            assert_eq!(sends(&steps), 0);
            match &steps[2] {
                Step::Done {
                    outcome: Some(o),
                    ending,
                } => {
                    assert_eq!(*o, want);
                    assert!(ending
                        .reason
                        .contains("phases that ran: precheck, commands"));
                    assert_eq!(ending.failed_phase.as_deref(), Some("verify"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_deadline_hands_back_running_with_the_id_kept() {
        let mut s = spec(Phase::Commands);
        s.deadline = T0 + 7_500; // sent at +2 s, inside the margin when its answer comes at +3 s
        let mut run = PhaseRun::new(s, claim());
        let steps = drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::CommandId("c1".into())),
            ],
        );
        assert!(matches!(
            steps.last(),
            Some(Step::Done {
                outcome: Some(Outcome::Running),
                ..
            })
        ));
        assert_eq!(run.claim().command_id.as_deref(), Some("c1"));
    }

    #[test]
    fn poll_failures_are_retried_three_times_then_fail() {
        let mut c = claim();
        c.phase = Some("commands".into());
        c.command_id = Some("c1".into());
        let mut run = PhaseRun::new(spec(Phase::Commands), c);
        let mut step = run.step(Fact::Start, T0);
        let mut sleeps = 0;
        for i in 0..10 {
            step = match step {
                Step::Poll { .. } => run.step(
                    Fact::Polled(Err(PortError::Transient("throttled".into()))),
                    T0 + i,
                ),
                Step::Sleep(_) => {
                    sleeps += 1;
                    run.step(Fact::Slept, T0 + i)
                }
                other => {
                    assert!(
                        matches!(other, Step::Fail(PortError::Transient(_))),
                        "{other:?}"
                    );
                    break;
                }
            };
        }
        assert_eq!(sleeps, 3);
    }

    #[test]
    fn an_unmanaged_instance_is_unresolved_and_a_bad_result_never_heals() {
        let mut run = PhaseRun::new(spec(Phase::Precheck), claim());
        let steps = drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::InvalidInstance("InvalidInstanceId".into())),
            ],
        );
        assert!(matches!(
            steps.last(),
            Some(Step::Done {
                outcome: Some(Outcome::Unresolved),
                ..
            })
        ));
        let mut run = PhaseRun::new(spec(Phase::Commands), claim());
        let steps = drive(
            &mut run,
            vec![
                Fact::Saved,
                Fact::Mode(GlobalMode::Enforce),
                Fact::Sent(Sent::CommandId("c1".into())),
                Fact::Polled(Ok(inv(InvocationStatus::Unknown, Some(0)))),
            ],
        );
        assert!(matches!(
            steps.last(),
            Some(Step::Done {
                outcome: Some(Outcome::Failed),
                ..
            })
        ));
        assert!(run.claim().phases_done.is_empty());
    }

    #[test]
    fn a_fact_out_of_order_fails_closed() {
        let mut run = PhaseRun::new(spec(Phase::Commands), claim());
        let first = run.step(Fact::Start, T0);
        assert_eq!(first, Step::SaveClaim);
        // A SendCommand answer while the machine waits for a save: never a send or success.
        let next = run.step(Fact::Sent(Sent::CommandId("c1".into())), T0);
        assert!(matches!(next, Step::Fail(PortError::Permanent(_))));
    }
}
