//! One alert through the guards of DESIGN §1, as a sans-IO state machine (quinn style): it is
//! fed facts — a claim taken or found, tags read, the mode, a lease granted, a command sent, an
//! invocation's status — with the time, and answers with the next step — take the claim, read
//! tags, read the mode, send a phase, poll, write history, hand the record back. It does no I/O,
//! reads no clock and awaits nothing; [`crate::driver`] performs its steps against the ports.
//!
//! The order (ARCHITECTURE.md, "Guard order"): claim first — a claim with a phase in flight is
//! resumed before any other check, a decided one makes this copy a duplicate — then role tag,
//! decision, silences, kill switch, dry-run, attempt budgets, capacity, the live alarm, and the
//! phases ([`crate::phase::PhaseRun`], a machine of its own). Whatever stops an alert that holds
//! the claim closes it with the one final history record; any port failure hands the claim back
//! and returns the record to the queue.

use crate::engine::EngineSettings;
use crate::flow::Case;
use crate::outcome::Outcome;
use crate::phase::{self, PhaseRun, PhaseSpec};
use crate::ports::{
    Announcement, AnnouncementKind, Claim, ClaimAttempt, ClaimState, Decided, DecidedAnnounce,
    EpochMillis, GlobalMode, HistoryRecord, InstanceTags, LiveAlarm, NeedsReview, PortError,
    SilenceRecord,
};
use crate::record::{announcement_at, approver_of, fields_of, has_live_alarm, history_record};
use crate::record::{HistoryFields, Stamp};
use crate::script::wrap;
use crate::verdict::{live_alarm_stop, press_stop, role_tag_mismatch, Ending, Phase};
use selfheal_core::approval::{Approval, ButtonValue, Decision};
use selfheal_core::runbook::Mode;
use selfheal_core::silence::{find_silence, tag_silence, Silence};
use selfheal_core::{claim_id, decide, Action, Alert, InstanceId, RunbookEntry, RunbookMap};
use std::collections::VecDeque;
use std::sync::Arc;

/// One alert to handle, owned by the machine.
#[derive(Debug, Clone)]
pub struct AlertInput {
    pub alert: Alert,
    /// The body and message id the alert came with (kept in the claim while awaiting approval).
    pub body: String,
    pub body_message_id: String,
    /// The queue record being handled (an approval's own message when resuming one).
    pub message_id: String,
    pub receive_count: u32,
    pub received_at: EpochMillis,
    pub deadline: EpochMillis,
    /// The Run / Skip press this alert resumes with, if any.
    pub approval: Option<Approval>,
}

/// What the driver must do next.
#[derive(Debug, Clone)]
pub enum Step {
    LoadClaim(String),
    /// Conditional put of a fresh claim.
    PutClaim(Claim),
    UpdateClaim {
        claim: Claim,
        expected: u64,
    },
    ReadTags(InstanceId),
    ReadSilences,
    NoteOnce {
        id: String,
        until: EpochMillis,
    },
    ReadMode,
    TakeAttempt {
        budget_key: String,
        max: u32,
        window_start: EpochMillis,
        ttl: i64,
    },
    MarkNeedsReview(NeedsReview),
    /// The role lease and then a fleet slot, under the role's in-process lock (the lease is
    /// released again when the fleet slot fails).
    TakeCapacity {
        role: String,
        holder: String,
        max_concurrent: u32,
        until: EpochMillis,
        /// Take a fleet slot too (not when resuming a remediation already counted).
        fleet: bool,
    },
    /// Extends the lease while a command keeps running after the deadline (failure only logged).
    HoldLease {
        role: String,
        holder: String,
        max_concurrent: u32,
        until: EpochMillis,
    },
    /// Failure only logged: the lease expires on its own.
    ReleaseLease {
        role: String,
        holder: String,
    },
    LiveAlarm {
        name: String,
        instance: InstanceId,
    },
    /// A step of the phase in flight (find by comment, read mode, send, poll, sleep).
    Phase(phase::Step),
    PutHistory(Box<HistoryRecord>),
    OpenApproval {
        identity: String,
        until: EpochMillis,
    },
    /// Failure only logged: the sweep closes it.
    CloseApproval(String),
    Announce(Box<Announcement>),
    Escalate(Box<Announcement>),
    /// The time-to-heal metric.
    Duration {
        outcome: Outcome,
        took_ms: i64,
    },
    Failpoint(&'static str),
    /// The record's end: an outcome (`Retry`, `CapacityWait` and `Running` go back to the queue).
    Done(Outcome),
}

/// What the capacity step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    Granted,
    /// The role already runs `max_concurrent` remediations.
    RoleFull,
    /// The fleet started `SELFHEAL_MAX_PER_HOUR` in the last hour (the lease was released).
    FleetFull,
}

/// What performing the previous step produced.
#[derive(Debug, Clone)]
pub enum Fact {
    Start,
    Claim(Result<Option<Claim>, PortError>),
    Put(Result<ClaimAttempt, PortError>),
    Updated(Result<bool, PortError>),
    Tags(Result<InstanceTags, PortError>),
    Silences(Result<Vec<SilenceRecord>, PortError>),
    Noted(Result<bool, PortError>),
    Mode(GlobalMode),
    Attempt(Result<Option<u32>, PortError>),
    Capacity(Result<Capacity, PortError>),
    Live(Result<Option<LiveAlarm>, PortError>),
    Phase(phase::Fact),
    /// A port call of the phase in flight failed (ListCommands, SendCommand).
    PhaseFailed(PortError),
    Written(Result<(), PortError>),
    /// An effect whose result does not matter (announcements, releases, metrics, failpoints).
    Ok,
}

/// How an alert that holds the claim ends.
#[derive(Debug, Clone)]
struct Finish {
    outcome: Outcome,
    ending: Ending,
    holds_lease: bool,
    kind: FinishKind,
}

#[derive(Debug, Clone)]
enum FinishKind {
    /// A remediation's result: announced, escalated when it pages, time measured.
    Remediation,
    /// Stopped by a guard before acting: announced only when a human should look.
    BeforeActing,
    /// Silenced: the first alert of a stretch of silence is announced, quietly.
    Silenced { note_id: String, until: EpochMillis },
}

impl Finish {
    fn decided(&self) -> Decided {
        Decided {
            outcome: self.outcome,
            reason: self.ending.reason.clone(),
            failed_phase: self.ending.failed_phase.clone(),
            exit_code: self.ending.exit_code,
            output_tail: self.ending.output_tail.clone(),
            announce: match &self.kind {
                FinishKind::Remediation => DecidedAnnounce::Remediation {
                    holds_lease: self.holds_lease,
                },
                FinishKind::BeforeActing => DecidedAnnounce::BeforeActing,
                FinishKind::Silenced { note_id, until } => DecidedAnnounce::Silenced {
                    note_id: note_id.clone(),
                    until_ms: *until,
                },
            },
        }
    }

    fn from_decided(d: &Decided) -> Self {
        let (holds_lease, kind) = match &d.announce {
            DecidedAnnounce::Remediation { holds_lease } => (*holds_lease, FinishKind::Remediation),
            DecidedAnnounce::BeforeActing => (false, FinishKind::BeforeActing),
            DecidedAnnounce::Silenced { note_id, until_ms } => (
                false,
                FinishKind::Silenced {
                    note_id: note_id.clone(),
                    until: *until_ms,
                },
            ),
        };
        Self {
            outcome: d.outcome,
            ending: Ending {
                reason: d.reason.clone(),
                failed_phase: d.failed_phase.clone(),
                exit_code: d.exit_code,
                output_tail: d.output_tail.clone(),
            },
            holds_lease,
            kind,
        }
    }
}

#[derive(Debug)]
enum State {
    Start,
    AwaitingLoaded,
    AwaitingTaken,
    Put,
    TakenOver,
    StrayHandedBack,
    DuplicateWritten,
    Tags,
    Silences,
    Mode,
    Attempt { next: usize },
    AttemptSaved,
    ReviewMarked { why: String },
    Capacity,
    Live,
    InPhase(Box<PhaseRun>),
    PhaseRecheck(Box<PhaseRun>),
    PhaseSaved(Box<PhaseRun>),
    RunningHandedBack,
    ApprovalHistory,
    ApprovalSaved,
    ApprovalOpened,
    WaitHistory { why: String },
    WaitHandedBack { why: String },
    Deciding(Box<Finish>),
    FinalHistory(Box<Finish>),
    ClaimDone(Box<Finish>),
    Noted { why: String },
    GiveUpLoaded,
    GiveUpUpdated,
    Ended,
}

/// One alert in flight. Feed [`Fact::Start`], then each fact the returned step produced.
#[derive(Debug)]
pub struct AlertRun {
    input: AlertInput,
    runbooks: Arc<RunbookMap>,
    settings: Arc<EngineSettings>,
    owner: String,
    state: State,
    now: EpochMillis,
    claim: Option<Claim>,
    from_awaiting: bool,
    role: Option<String>,
    key: Option<String>,
    runbook_key: Option<String>,
    entry: Option<Arc<RunbookEntry>>,
    action: Action,
    dry_run: bool,
    tags: InstanceTags,
    budgets: Vec<String>,
    first_attempt: Option<u32>,
    holds_lease: bool,
    release_on_fail: bool,
    phases: Vec<Phase>,
    next_phase: usize,
    close_approval: bool,
    /// This delivery resumes a remediation whose earlier phases ran in an earlier delivery.
    resumed: bool,
    /// Steps to emit before the next real request; effects among them are answered `Fact::Ok`.
    outbox: VecDeque<Step>,
    awaiting_effect: bool,
}

impl AlertRun {
    pub fn new(
        input: AlertInput,
        runbooks: Arc<RunbookMap>,
        settings: Arc<EngineSettings>,
    ) -> Self {
        let owner = format!("{}/{}", settings.owner, input.message_id);
        Self {
            input,
            runbooks,
            settings,
            owner,
            state: State::Start,
            now: 0,
            claim: None,
            from_awaiting: false,
            role: None,
            key: None,
            runbook_key: None,
            entry: None,
            action: Action::Unresolved,
            dry_run: false,
            tags: InstanceTags::default(),
            budgets: Vec::new(),
            first_attempt: None,
            holds_lease: false,
            release_on_fail: false,
            phases: Vec::new(),
            next_phase: 0,
            close_approval: false,
            resumed: false,
            outbox: VecDeque::new(),
            awaiting_effect: false,
        }
    }

    /// The next step, given what the previous one produced and the time now.
    pub fn step(&mut self, fact: Fact, now: EpochMillis) -> Step {
        self.now = now;
        if self.awaiting_effect {
            // An effect's answer does not matter: go on with what is queued.
            self.awaiting_effect = false;
            return self.emit();
        }
        let state = std::mem::replace(&mut self.state, State::Ended);
        match (state, fact) {
            (State::Start, Fact::Start) => self.start(),
            // ---- taking the claim
            (State::AwaitingLoaded, Fact::Claim(Ok(Some(existing))))
                if existing.state == ClaimState::AwaitingApproval =>
            {
                let run = self.is_run();
                let mut mine = existing.clone();
                mine.state = ClaimState::Claimed;
                mine.owner.clone_from(&self.owner);
                mine.owner_until_ms = now + self.lease_ms();
                mine.phase = None;
                mine.command_id = None;
                mine.phase_sent_at_ms = None;
                mine.approved = run;
                mine.version = existing.version + 1;
                // A Skip, or a Run pressed after the expiry, is decided in this same write, so a
                // crash right after it cannot reopen the request.
                if let Some(ap) = self.input.approval.as_ref() {
                    if let Some((outcome, why)) = press_stop(ap, &approver_of(ap)) {
                        mine.decided = Some(Decided {
                            outcome,
                            reason: why,
                            failed_phase: None,
                            exit_code: None,
                            output_tail: None,
                            announce: DecidedAnnounce::Remediation { holds_lease: false },
                        });
                    }
                }
                self.claim = Some(mine.clone());
                self.state = State::AwaitingTaken;
                self.emit_then(Step::UpdateClaim {
                    claim: mine,
                    expected: existing.version,
                })
            }
            (State::AwaitingLoaded, Fact::Claim(Ok(_))) => {
                self.claim = None;
                self.not_awaiting()
            }
            (State::AwaitingTaken, Fact::Updated(Ok(true))) => {
                self.from_awaiting = true;
                self.holding()
            }
            (State::AwaitingTaken, Fact::Updated(Ok(false))) => {
                self.claim = None;
                self.not_awaiting()
            }
            (State::Put, Fact::Put(Ok(ClaimAttempt::Won(c)))) => {
                self.claim = Some(c);
                self.holding()
            }
            (State::Put, Fact::Put(Ok(ClaimAttempt::Exists(existing)))) => {
                if matches!(
                    existing.state,
                    ClaimState::Done | ClaimState::AwaitingApproval
                ) {
                    return self.duplicate(&existing);
                }
                // Our own claim (a lost response of the put, or this message's earlier attempt)
                // is ours to continue; anyone else's only once its lease passed.
                if existing.owner != self.owner && existing.owner_until_ms > now {
                    tracing::info!(identity = %existing.identity, "claim held by another worker; retrying later");
                    return self.done(Outcome::Retry);
                }
                let mut mine = existing.clone();
                mine.owner.clone_from(&self.owner);
                mine.owner_until_ms = now + self.lease_ms();
                mine.version = existing.version + 1;
                self.claim = Some(mine.clone());
                self.state = State::TakenOver;
                self.emit_then(Step::UpdateClaim {
                    claim: mine,
                    expected: existing.version,
                })
            }
            (State::TakenOver, Fact::Updated(Ok(true))) => self.holding(),
            (State::TakenOver, Fact::Updated(Ok(false))) => {
                self.claim = None;
                self.done(Outcome::Retry)
            }
            (State::StrayHandedBack, _) => match self.claim.take() {
                Some(c) => self.duplicate(&c),
                None => self.done(Outcome::Retry),
            },
            (State::DuplicateWritten, Fact::Written(Ok(()))) => self.done(Outcome::Duplicate),
            // ---- the guards, holding the claim
            (State::Tags, Fact::Tags(Ok(tags))) => {
                self.tags = tags;
                self.decided()
            }
            (State::Silences, Fact::Silences(Ok(stored))) => {
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
                let instance = self.input.alert.single_instance().map(ToString::to_string);
                match find_silence(
                    &silences,
                    self.role.as_deref(),
                    self.key.as_deref(),
                    instance.as_deref(),
                    now,
                ) {
                    Some(s) => self.silenced(s),
                    None => self.read_mode(),
                }
            }
            (State::Mode, Fact::Mode(mode)) => self.after_mode(mode),
            (State::Attempt { next }, Fact::Attempt(Ok(Some(n)))) => {
                self.first_attempt.get_or_insert(n);
                self.take_attempt(next)
            }
            (State::Attempt { next }, Fact::Attempt(Ok(None))) => self.budget_exhausted(next - 1),
            (State::AttemptSaved, Fact::Updated(Ok(true))) => self.take_capacity(),
            (State::ReviewMarked { why }, Fact::Written(Ok(()))) => self.finish(Finish {
                outcome: Outcome::BudgetExhausted,
                ending: Ending::because(why),
                holds_lease: false,
                kind: FinishKind::Remediation,
            }),
            (State::Capacity, Fact::Capacity(Ok(c))) => self.after_capacity(c),
            (State::Live, Fact::Live(Ok(live))) => {
                let name = self.input.alert.alarm_name.clone().unwrap_or_default();
                let instance = self.instance();
                match instance
                    .as_ref()
                    .and_then(|i| live_alarm_stop(&name, i, live.as_ref()))
                {
                    Some((outcome, why)) => self.finish(Finish {
                        outcome,
                        ending: Ending::because(why),
                        holds_lease: true,
                        kind: FinishKind::Remediation,
                    }),
                    None => self.announce_start(),
                }
            }
            // ---- the phases
            (State::InPhase(mut run), Fact::Phase(f)) => {
                let s = run.step(f, now);
                self.phase_step(run, s)
            }
            (State::PhaseRecheck(mut run), Fact::Live(Ok(live))) => {
                let name = self.input.alert.alarm_name.clone().unwrap_or_default();
                let stop = self.instance().and_then(|i| {
                    live_alarm_stop(&name, &i, live.as_ref())
                        .map(|(outcome, why)| (outcome, Ending::because(why)))
                });
                let s = run.step(phase::Fact::Rechecked(stop), now);
                self.phase_step(run, s)
            }
            (State::PhaseRecheck(run), Fact::Live(Err(e))) => {
                self.claim = Some(run.into_claim());
                self.fail(e)
            }
            (State::InPhase(run), Fact::PhaseFailed(e)) => {
                self.claim = Some(run.into_claim());
                self.fail(e)
            }
            (State::PhaseSaved(mut run), Fact::Updated(Ok(true))) => {
                let s = run.step(phase::Fact::Saved, now);
                self.phase_step(run, s)
            }
            (State::PhaseSaved(run), Fact::Updated(other)) => {
                self.claim = Some(run.into_claim());
                self.fail(match other {
                    Err(e) => e,
                    Ok(_) => taken_over(&self.identity()),
                })
            }
            (State::RunningHandedBack, _) => self.done(Outcome::Running),
            // ---- mode approve: the request
            // Listed as open before the claim says so: a crash in between leaves an open item
            // whose claim is not waiting (the sweep closes it), never a request nobody ends.
            (State::ApprovalHistory, Fact::Written(Ok(()))) => {
                let until = self.claim_ref().approval_expires_at_ms.unwrap_or(now);
                self.state = State::ApprovalOpened;
                self.emit_then(Step::OpenApproval {
                    identity: self.identity(),
                    until,
                })
            }
            (State::ApprovalOpened, Fact::Written(Ok(()))) => self.save_claim(State::ApprovalSaved),
            (State::ApprovalSaved, Fact::Updated(Ok(true))) => self.post_request(),
            // ---- capacity wait
            (State::WaitHistory { why }, Fact::Written(Ok(()))) => {
                self.hand_back_claim(State::WaitHandedBack { why })
            }
            (State::WaitHandedBack { why }, _) => {
                if self.input.receive_count + 1 >= self.settings.redrive_limit {
                    let ending = Ending::because(format!(
                        "{why}; the alert is about to reach the dead-letter queue"
                    ));
                    let a = self.announcement(
                        AnnouncementKind::Result,
                        Some(Outcome::CapacityWait),
                        &ending,
                        true,
                        &[],
                    );
                    self.outbox.push_back(Step::Escalate(Box::new(a.clone())));
                    self.outbox.push_back(Step::Announce(Box::new(a)));
                }
                self.done(Outcome::CapacityWait)
            }
            // ---- finishing
            (State::Deciding(f), Fact::Updated(Ok(true))) => self.write_final(f),
            (State::FinalHistory(f), Fact::Written(Ok(()))) => {
                let claim = self.claim_mut();
                let expected = claim.version;
                let awaited = claim.approval_expires_at_ms.is_some();
                claim.state = ClaimState::Done;
                claim.body = None;
                claim.body_message_id = None;
                claim.approval_expires_at_ms = None;
                claim.outcome = Some(f.outcome.as_str().to_owned());
                claim.owner_until_ms = now;
                claim.version += 1;
                let claim = claim.clone();
                self.close_approval = awaited;
                self.outbox.push_back(Step::Failpoint("after-history"));
                self.state = State::ClaimDone(f);
                self.emit_then(Step::UpdateClaim { claim, expected })
            }
            (State::ClaimDone(f), Fact::Updated(Ok(true))) => self.closed(*f),
            (State::ClaimDone(_), Fact::Updated(Ok(false))) => {
                let e = PortError::Transient(format!(
                    "claim {} changed under us while finishing",
                    claim_id(&self.identity())
                ));
                self.fail(e)
            }
            (State::Noted { why }, Fact::Noted(Ok(first))) => {
                if first {
                    let detail = format!("{why}. Further alerts under this silence are only recorded (see `selfheal status`).");
                    let a = self.announcement(
                        AnnouncementKind::Result,
                        Some(Outcome::Silenced),
                        &Ending::because(detail),
                        false,
                        &[],
                    );
                    self.outbox.push_back(Step::Announce(Box::new(a)));
                }
                self.done(Outcome::Silenced)
            }
            // ---- giving the claim back after a failure
            (State::GiveUpLoaded, Fact::Claim(Ok(Some(mut c))))
                if c.owner == self.owner && c.state != ClaimState::Done =>
            {
                let expected = c.version;
                c.owner_until_ms = now;
                c.version += 1;
                self.state = State::GiveUpUpdated;
                self.emit_then(Step::UpdateClaim { claim: c, expected })
            }
            (State::GiveUpLoaded, _) | (State::GiveUpUpdated, _) => self.done(Outcome::Retry),
            // ---- failures: every port error hands the claim back and retries the record
            (
                _,
                Fact::Claim(Err(e))
                | Fact::Put(Err(e))
                | Fact::Updated(Err(e))
                | Fact::Tags(Err(e))
                | Fact::Silences(Err(e))
                | Fact::Noted(Err(e))
                | Fact::Attempt(Err(e))
                | Fact::Capacity(Err(e))
                | Fact::Live(Err(e))
                | Fact::Written(Err(e)),
            ) => self.fail(e),
            (
                State::AttemptSaved | State::ApprovalSaved | State::Deciding(_),
                Fact::Updated(Ok(false)),
            ) => {
                let e = taken_over(&self.identity());
                self.fail(e)
            }
            (state, fact) => {
                let e = PortError::Permanent(format!(
                    "alert machine: fact {fact:?} does not fit state {state:?}"
                ));
                tracing::error!(error = %e, "nothing more runs for this record");
                self.fail(e)
            }
        }
    }

    // ------------------------------------------------------------------ claiming

    fn start(&mut self) -> Step {
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

    fn fresh_claim(&self) -> Claim {
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
    fn not_awaiting(&mut self) -> Step {
        self.state = State::Put;
        let fresh = self.fresh_claim();
        self.emit_then(Step::PutClaim(fresh))
    }

    /// This worker holds the claim: resume what is in flight, or run the guards.
    fn holding(&mut self) -> Step {
        if let Some(d) = self.claim_ref().decided.clone() {
            // Decided before and not closed (a crash, a lost response): the same record again.
            let claim = self.claim_ref().clone();
            self.role = claim.role.clone();
            self.key = claim.key.clone();
            self.runbook_key = claim.runbook.clone();
            self.entry = claim
                .runbook
                .as_deref()
                .and_then(|k| self.runbooks.iter().find(|(key, _)| *key == k))
                .map(|(_, e)| Arc::new(e.clone()));
            return self.write_final(Box::new(Finish::from_decided(&d)));
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
    fn resume(&mut self) -> Step {
        self.resumed = true;
        let claim = self.claim_ref().clone();
        let decision = decide(&self.input.alert, &self.runbooks, claim.role.as_deref());
        self.role = claim.role.clone().or(decision.role.clone());
        self.key = claim.key.clone().or(decision.key.clone());
        let stored = claim
            .runbook
            .as_deref()
            .and_then(|k| self.runbooks.iter().find(|(key, _)| *key == k))
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

    fn duplicate(&mut self, existing: &Claim) -> Step {
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

    // ------------------------------------------------------------------ guards

    fn decided(&mut self) -> Step {
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

    fn silenced(&mut self, s: selfheal_core::silence::Silenced) -> Step {
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

    fn read_mode(&mut self) -> Step {
        self.state = State::Mode;
        self.emit_then(Step::ReadMode)
    }

    fn after_mode(&mut self, mode: GlobalMode) -> Step {
        if mode == GlobalMode::Off {
            return self.finish_before_acting(
                Outcome::Killed,
                "the global mode is off (kill switch): nothing runs".to_owned(),
            );
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

    /// After the guards: dry-run, budgets, capacity, the live alarm, then the phases.
    fn run_claimed(&mut self) -> Step {
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
        if self.claim_ref().attempt == 0 {
            // Counted once per claim, per ROLE:ALERT and instance and per runbook entry and
            // instance (a wildcard entry cannot be re-run under new alert names).
            let key = self.key.clone().unwrap_or_default();
            let runbook = self.runbook_key.clone().unwrap_or_else(|| key.clone());
            self.budgets = vec![format!("{key}#{instance}")];
            if runbook != key {
                self.budgets.push(format!("entry:{runbook}#{instance}"));
            }
            return self.take_attempt(0);
        }
        self.take_capacity()
    }

    fn take_attempt(&mut self, next: usize) -> Step {
        let Some(budget_key) = self.budgets.get(next).cloned() else {
            let n = self.first_attempt.unwrap_or(1);
            self.claim_mut().attempt = n;
            return self.save_claim(State::AttemptSaved);
        };
        let entry = self.entry_or_empty();
        let window_ms = i64::from(entry.window_minutes) * 60_000;
        self.state = State::Attempt { next: next + 1 };
        self.emit_then(Step::TakeAttempt {
            budget_key,
            max: entry.max_attempts,
            window_start: self.now - window_ms,
            ttl: (self.now + window_ms) / 1000 + 86_400,
        })
    }

    fn budget_exhausted(&mut self, which: usize) -> Step {
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

    /// The role lease (held until the remediation can be resumed after a crash: the running
    /// hold, at least the claim lease) and, for a remediation not yet started, a fleet slot.
    fn take_capacity(&mut self) -> Step {
        let entry = self.entry_or_empty();
        let hold = ms(self.settings.running_hold).max(self.lease_ms());
        self.state = State::Capacity;
        self.emit_then(Step::TakeCapacity {
            role: self.role.clone().unwrap_or_default(),
            holder: claim_id(&self.identity()),
            max_concurrent: entry.max_concurrent,
            until: self.now + hold,
            // Counted once, when a remediation first passes the guards; a run resumed with a
            // phase begun never takes (nor loses its lease over) a fleet slot again.
            fleet: self.claim_ref().phase.is_none(),
        })
    }

    fn after_capacity(&mut self, c: Capacity) -> Step {
        let entry = self.entry_or_empty();
        let role = self.role.clone().unwrap_or_default();
        match c {
            Capacity::RoleFull => self.capacity_wait(format!(
                "role {role} already runs {} remediation(s), its max_concurrent",
                entry.max_concurrent
            )),
            Capacity::FleetFull => self.capacity_wait(format!(
                "the fleet already started {} remediations in the last hour (SELFHEAL_MAX_PER_HOUR)",
                self.settings.max_per_hour
            )),
            Capacity::Granted => {
                self.holds_lease = true;
                let resuming = self.claim_ref().phase.is_some();
                // A lease taken for a remediation that has sent nothing yet is given back on a
                // failure; one whose phases ran keeps it until it is resumed.
                self.release_on_fail = !resuming;
                if resuming {
                    return self.start_phases();
                }
                // Check before acting: the alarm's live state and configuration.
                match (has_live_alarm(&self.input.alert), self.instance()) {
                    (true, Some(instance)) => {
                        self.state = State::Live;
                        self.emit_then(Step::LiveAlarm {
                            name: self.input.alert.alarm_name.clone().unwrap_or_default(),
                            instance,
                        })
                    }
                    _ => self.announce_start(),
                }
            }
        }
    }

    fn capacity_wait(&mut self, why: String) -> Step {
        // A lease is held only when the fleet cap (after the lease) said no; the driver
        // released it then.
        let claim = self.claim_mut();
        claim.state = ClaimState::CapacityWait;
        let claim = claim.clone();
        let rec = history_record(
            self.stamp(),
            &claim_id(&claim.identity),
            claim.claimed_at_ms,
            Some(&claim),
            self.fields(),
            Outcome::CapacityWait,
            &Ending::because(why.clone()),
        );
        self.state = State::WaitHistory { why };
        self.emit_then(Step::PutHistory(Box::new(rec)))
    }

    fn announce_start(&mut self) -> Step {
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

    // ------------------------------------------------------------------ phases

    fn start_phases(&mut self) -> Step {
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

    fn next_phase_step(&mut self) -> Step {
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
        };
        let claim = self.claim.take().unwrap_or_default();
        let mut run = Box::new(PhaseRun::new(spec, claim));
        let s = run.step(phase::Fact::Start, self.now);
        self.phase_step(run, s)
    }

    /// Routes a step of the phase machine: its I/O goes to the driver, a claim save is this
    /// machine's (version-checked) update, and its end continues the run.
    fn phase_step(&mut self, mut run: Box<PhaseRun>, s: phase::Step) -> Step {
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
    fn still_running(&mut self) -> Step {
        let entry = self.entry_or_empty();
        let hold = ms(self.settings.running_hold).max(self.lease_ms());
        self.outbox.push_back(Step::HoldLease {
            role: self.role.clone().unwrap_or_default(),
            holder: claim_id(&self.identity()),
            max_concurrent: entry.max_concurrent,
            until: self.now + hold,
        });
        self.hand_back_claim(State::RunningHandedBack)
    }

    fn phases_passed(&mut self) -> Step {
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
    fn post_request(&mut self) -> Step {
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

    // ------------------------------------------------------------------ finishing

    fn finish_before_acting(&mut self, outcome: Outcome, why: String) -> Step {
        self.finish(Finish {
            outcome,
            ending: Ending::because(why),
            holds_lease: false,
            kind: FinishKind::BeforeActing,
        })
    }

    /// Ends an alert that holds the claim: the outcome is first made durable in the claim
    /// (conditional update), then the final history record is written under the claim id, then
    /// the claim is marked done. A redelivery that finds the decision repeats the last two.
    fn finish(&mut self, f: Finish) -> Step {
        let (role, key, runbook) = (
            self.role.clone(),
            self.key.clone(),
            self.runbook_key.clone(),
        );
        let decided = f.decided();
        let claim = self.claim_mut();
        if claim.role.is_none() {
            claim.role = role;
        }
        if claim.key.is_none() {
            claim.key = key;
        }
        if claim.runbook.is_none() {
            claim.runbook = runbook;
        }
        claim.decided = Some(decided);
        self.save_claim(State::Deciding(Box::new(f)))
    }

    /// Writes the final history record (the decision is durable in the claim).
    fn write_final(&mut self, f: Box<Finish>) -> Step {
        let claim = self.claim_ref().clone();
        let rec = history_record(
            self.stamp(),
            &claim_id(&self.input.alert.identity),
            claim.claimed_at_ms,
            Some(&claim),
            self.fields(),
            f.outcome,
            &f.ending,
        );
        self.outbox.push_back(Step::Failpoint("before-history"));
        self.state = State::FinalHistory(f);
        self.emit_then(Step::PutHistory(Box::new(rec)))
    }

    /// The claim is done: close the approval request, release, announce, escalate.
    fn closed(&mut self, f: Finish) -> Step {
        if self.close_approval {
            self.outbox.push_back(Step::CloseApproval(self.identity()));
        }
        let claim = self.claim_ref().clone();
        match f.kind {
            FinishKind::Remediation => {
                if matches!(
                    f.outcome,
                    Outcome::Healed | Outcome::Failed | Outcome::TimedOut | Outcome::PrecheckFailed
                ) {
                    self.outbox.push_back(Step::Duration {
                        outcome: f.outcome,
                        took_ms: self.now - claim.claimed_at_ms,
                    });
                }
                if f.holds_lease {
                    self.release_lease();
                }
                let a = self.announcement(
                    AnnouncementKind::Result,
                    Some(f.outcome),
                    &f.ending,
                    true,
                    &[],
                );
                self.outbox.push_back(Step::Announce(Box::new(a.clone())));
                if f.outcome.escalates() {
                    self.outbox.push_back(Step::Escalate(Box::new(a)));
                }
                self.outbox.push_back(Step::Failpoint("after-finish"));
                self.done(f.outcome)
            }
            FinishKind::BeforeActing => {
                if f.outcome.escalates() {
                    let a = self.announcement(
                        AnnouncementKind::Result,
                        Some(f.outcome),
                        &f.ending,
                        false,
                        &[],
                    );
                    self.outbox.push_back(Step::Escalate(Box::new(a.clone())));
                    self.outbox.push_back(Step::Announce(Box::new(a)));
                }
                self.done(f.outcome)
            }
            FinishKind::Silenced { note_id, until } => {
                self.state = State::Noted {
                    why: f.ending.reason,
                };
                self.emit_then(Step::NoteOnce { id: note_id, until })
            }
        }
    }

    /// A port failed: release a lease taken for nothing, give the claim back, and return the
    /// record to the queue.
    fn fail(&mut self, e: PortError) -> Step {
        tracing::warn!(identity = %self.input.alert.identity, error = %e, "transient failure; the record goes back to the queue");
        self.outbox.clear();
        if self.release_on_fail && self.holds_lease {
            self.release_lease();
            self.release_on_fail = false;
        }
        if self.claim.is_none() {
            return self.done(Outcome::Retry);
        }
        self.state = State::GiveUpLoaded;
        self.emit_then(Step::LoadClaim(self.identity()))
    }

    // ------------------------------------------------------------------ helpers

    fn save_claim(&mut self, then: State) -> Step {
        let claim = self.claim_mut();
        let expected = claim.version;
        claim.version += 1;
        let claim = claim.clone();
        self.state = then;
        self.emit_then(Step::UpdateClaim { claim, expected })
    }

    /// Gives up ownership now so the next delivery can take the claim over at once (its answer
    /// does not matter: the claim also expires on its own).
    fn hand_back_claim(&mut self, then: State) -> Step {
        let now = self.now;
        let claim = self.claim_mut();
        claim.owner_until_ms = now;
        let expected = claim.version;
        claim.version += 1;
        let claim = claim.clone();
        self.state = then;
        self.emit_then(Step::UpdateClaim { claim, expected })
    }

    fn release_lease(&mut self) {
        if let Some(role) = self.role.clone() {
            self.outbox.push_back(Step::ReleaseLease {
                role,
                holder: claim_id(&self.identity()),
            });
        }
        self.holds_lease = false;
    }

    /// Queues `request` after the effects already queued and emits the first of them.
    fn emit_then(&mut self, request: Step) -> Step {
        self.outbox.push_back(request);
        self.emit()
    }

    /// The next queued step. An effect is answered `Fact::Ok`, which `step` turns into the
    /// next queued step; the last one is the request the current state waits for.
    fn emit(&mut self) -> Step {
        let Some(s) = self.outbox.pop_front() else {
            self.state = State::Ended;
            return Step::Done(Outcome::Retry);
        };
        self.awaiting_effect = is_effect(&s) && !self.outbox.is_empty();
        s
    }

    fn done(&mut self, o: Outcome) -> Step {
        self.state = State::Ended;
        self.emit_then(Step::Done(o))
    }

    fn entry_or_empty(&self) -> Arc<RunbookEntry> {
        self.entry
            .clone()
            .unwrap_or_else(|| Arc::new(RunbookEntry::with_commands(Vec::new())))
    }

    fn is_run(&self) -> bool {
        self.input
            .approval
            .as_ref()
            .is_some_and(|a| a.decision == Decision::Run)
    }

    fn identity(&self) -> String {
        self.input.alert.identity.clone()
    }

    fn instance(&self) -> Option<InstanceId> {
        self.input.alert.single_instance().cloned()
    }

    fn lease_ms(&self) -> EpochMillis {
        ms(self.settings.claim_lease)
    }

    fn claim_ref(&self) -> &Claim {
        static EMPTY: std::sync::OnceLock<Claim> = std::sync::OnceLock::new();
        self.claim
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(Claim::default))
    }

    fn claim_mut(&mut self) -> &mut Claim {
        self.claim.get_or_insert_with(Claim::default)
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            now: self.now,
            history_ttl_days: self.settings.history_ttl_days,
        }
    }

    fn case(&self) -> Case<'_> {
        Case {
            alert: &self.input.alert,
            role: self.role.clone(),
            key: self.key.clone(),
            runbook_key: self.runbook_key.as_deref(),
            entry: self.entry.as_deref(),
            dry_run: self.dry_run,
            approval: self.input.approval.as_ref(),
        }
    }

    fn fields(&self) -> HistoryFields {
        fields_of(&self.case())
    }

    fn announcement(
        &self,
        kind: AnnouncementKind,
        outcome: Option<Outcome>,
        ending: &Ending,
        with_claim: bool,
        commands: &[String],
    ) -> Announcement {
        let claim = with_claim.then(|| self.claim_ref());
        announcement_at(
            self.now,
            &self.case(),
            kind,
            outcome,
            ending,
            claim,
            commands,
        )
    }
}

/// Steps whose answer does not matter.
fn is_effect(s: &Step) -> bool {
    matches!(
        s,
        Step::HoldLease { .. }
            | Step::ReleaseLease { .. }
            | Step::CloseApproval(_)
            | Step::Announce(_)
            | Step::Escalate(_)
            | Step::Duration { .. }
            | Step::Failpoint(_)
    )
}

const AWAITING_WHY: &str = "precheck passed; waiting for a permitted person to press Run";

fn ms(d: std::time::Duration) -> EpochMillis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn taken_over(identity: &str) -> PortError {
    PortError::Transient(format!(
        "claim {} was taken over by another worker",
        claim_id(identity)
    ))
}
