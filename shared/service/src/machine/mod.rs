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
    Admission, Admitted, Announcement, AnnouncementKind, BudgetTake, Claim, ClaimAttempt,
    ClaimState, Decided, DecidedAnnounce, EpochMillis, GlobalMode, HistoryRecord, InstanceTags,
    LeaseRef, LiveAlarm, NeedsReview, PortError, SilenceRecord,
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

/// Added to a phase's timeout in [`AlertRun::hold_ms`]: SSM reports a timed-out command a
/// little after its execution timeout.
const HOLD_MARGIN_MS: EpochMillis = 5 * 60 * 1000;
use std::sync::Arc;

mod acting;
mod closing;
mod guards;

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
    /// Budgets, role lease, fleet start and the claim, all or nothing. A try after an
    /// in-process capacity wait (`after_wait`) queues on the role's in-process lock, so the
    /// waiters of one process woken by one freed place do not race each other for it.
    Admit {
        admission: Box<Admission>,
        after_wait: bool,
    },
    MarkNeedsReview(NeedsReview),
    /// A remediation resumed with a phase begun renews the lease it kept (never takes one
    /// again), under the role's in-process lock.
    RenewLease {
        role: String,
        holder: String,
        until: EpochMillis,
    },
    /// Extends the lease the claim still holds while its remediation is in flight; never takes
    /// a lapsed one again (failure only logged).
    HoldLease {
        role: String,
        holder: String,
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
        /// Read it now, not from what the batch read at its start (after a capacity wait).
        fresh: bool,
    },
    /// No place in the role now: wait in this process until one of its remediations of the
    /// role leaves the lease, or `wait`, whichever comes first (answered `Fact::Ok`); the
    /// admission is then tried again. Costs no call while it waits.
    WaitForCapacity {
        role: String,
        wait: std::time::Duration,
    },
    /// A step of the phase in flight (find by comment, read mode, send, poll, sleep).
    Phase(phase::Step),
    PutHistory(Box<HistoryRecord>),
    /// The final history record and the claim marked done, in one all-or-nothing write
    /// conditional on the claim's version ([`StateStore::close`]).
    Close {
        record: Box<HistoryRecord>,
        claim: Box<Claim>,
        expected: u64,
        /// Leave the role's lease in the same write (under the role's in-process lock).
        release: Option<LeaseRef>,
    },
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
    Admitted(Result<Admitted, PortError>),
    /// The answer to [`Step::RenewLease`]: `false` when the lease had lapsed.
    Renewed(Result<bool, PortError>),
    Live(Result<Option<LiveAlarm>, PortError>),
    Phase(phase::Fact),
    /// A port call of the phase in flight failed (ListCommands, SendCommand).
    PhaseFailed(PortError),
    Written(Result<(), PortError>),
    /// The answer to [`Step::Close`]: `false` when the claim's version had changed.
    Closed(Result<bool, PortError>),
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

impl FinishKind {
    fn is_remediation(&self) -> bool {
        matches!(self, Self::Remediation)
    }
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
    /// A human is paged about this ending (`closed` escalates it; history records it).
    fn pages(&self) -> bool {
        match self.kind {
            FinishKind::Remediation | FinishKind::BeforeActing => self.outcome.escalates(),
            FinishKind::Silenced { .. } => false,
        }
    }

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
    Admitting,
    /// The admission failed or found the claim changed: the claim is read back to tell an
    /// admission that committed (its answer lost) from one that did not.
    AdmitCheck(PortError),
    Renewing,
    ReviewMarked {
        why: String,
    },
    Live,
    /// Waiting in-process for a place in the role (the record stays in the batch).
    CapacityWaiting,
    InPhase(Box<PhaseRun>),
    PhaseRecheck(Box<PhaseRun>),
    PhaseSaved(Box<PhaseRun>),
    RunningHandedBack,
    ApprovalHistory,
    ApprovalSaved,
    ApprovalOpened,
    WaitHistory {
        why: String,
    },
    WaitHandedBack {
        why: String,
    },
    Closing(Box<Finish>),
    /// The close failed or found the claim changed: read the claim to tell a close that
    /// committed (its answer lost) from one that did not.
    CloseCheck(Box<Finish>, PortError),
    Noted {
        why: String,
    },
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
    holds_lease: bool,
    release_on_fail: bool,
    /// Set when a resumed remediation's role lease had lapsed ([`AlertRun::after_renew`]): the
    /// reason no further phase is sent.
    lapsed: Option<String>,
    /// The claim the admission in flight writes (the caller's copy until it is answered).
    pending_admission: Option<Claim>,
    /// A failure came before this run sent anything (its lease was given back).
    unsent_phase: bool,
    /// The admission saved the first phase's sent-at: nothing can have been sent for it yet.
    sent_at_saved: bool,
    /// In-process waits for a place in the role so far, and when the first began.
    capacity_waits: u32,
    waiting_since: Option<EpochMillis>,
    /// When the live alarm was last read (its answer arrived) before the admission.
    live_read_at: Option<EpochMillis>,
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
            holds_lease: false,
            release_on_fail: false,
            lapsed: None,
            pending_admission: None,
            unsent_phase: false,
            sent_at_saved: false,
            capacity_waits: 0,
            waiting_since: None,
            live_read_at: None,
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
            (State::Admitting, Fact::Admitted(Ok(a))) => self.after_admit(a),
            (State::Admitting, Fact::Admitted(Err(e))) => self.check_admit(e),
            (State::AdmitCheck(e), Fact::Claim(Ok(Some(stored)))) => {
                self.after_admit_check(stored, e)
            }
            (State::AdmitCheck(e), _) => self.fail(e),
            (State::Renewing, Fact::Renewed(Ok(held))) => self.after_renew(held),
            (State::ReviewMarked { why }, Fact::Written(Ok(()))) => self.finish(Finish {
                outcome: Outcome::BudgetExhausted,
                ending: Ending::because(why),
                holds_lease: false,
                kind: FinishKind::Remediation,
            }),
            (State::Live, Fact::Live(Ok(live))) => {
                self.live_read_at = Some(now);
                let name = self.input.alert.alarm_name.clone().unwrap_or_default();
                let instance = self.instance();
                match instance
                    .as_ref()
                    .and_then(|i| live_alarm_stop(&name, i, live.as_ref()))
                {
                    // Checked before the admission: nothing was taken, nothing to give back.
                    Some((outcome, why)) => self.finish(Finish {
                        outcome,
                        ending: Ending::because(why),
                        holds_lease: false,
                        kind: FinishKind::Remediation,
                    }),
                    None => self.admit(),
                }
            }
            (State::CapacityWaiting, Fact::Ok) => self.after_capacity_wait(),
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
                if self.wait_pages() {
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
            (State::Closing(f), Fact::Closed(Ok(true))) => self.closed(*f),
            (State::Closing(f), Fact::Closed(Ok(false))) => {
                let e = PortError::Transient(format!(
                    "claim {} changed under us while finishing",
                    claim_id(&self.identity())
                ));
                self.check_close(f, e)
            }
            (State::Closing(f), Fact::Closed(Err(e))) => self.check_close(f, e),
            (State::CloseCheck(f, e), Fact::Claim(Ok(Some(stored)))) => {
                if self.is_our_close(&stored, f.outcome) {
                    self.claim = Some(stored);
                    self.closed(*f)
                } else {
                    self.fail(e)
                }
            }
            (State::CloseCheck(_, e), _) => self.fail(e),
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
                if self.unsent_phase && c.command_id.is_none() && c.phases_done.is_empty() {
                    // Admitted but failed before anything was sent: the next delivery starts
                    // afresh (guards, admission) instead of resuming a phase never sent.
                    c.phase = None;
                    c.phase_sent_at_ms = None;
                    c.state = ClaimState::Claimed;
                }
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
                | Fact::Renewed(Err(e))
                | Fact::Live(Err(e))
                | Fact::Written(Err(e)),
            ) => self.fail(e),
            (State::ApprovalSaved, Fact::Updated(Ok(false))) => {
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

    // ------------------------------------------------------------------ guards

    // ------------------------------------------------------------------ phases

    // ------------------------------------------------------------------ finishing

    // ------------------------------------------------------------------ helpers

    /// Queues `request` after the effects already queued and emits the first of them.
    pub(super) fn emit_then(&mut self, request: Step) -> Step {
        self.outbox.push_back(request);
        self.emit()
    }

    /// The next queued step. An effect is answered `Fact::Ok`, which `step` turns into the
    /// next queued step; the last one is the request the current state waits for.
    pub(super) fn emit(&mut self) -> Step {
        let Some(s) = self.outbox.pop_front() else {
            self.state = State::Ended;
            return Step::Done(Outcome::Retry);
        };
        self.awaiting_effect = is_effect(&s) && !self.outbox.is_empty();
        s
    }

    pub(super) fn done(&mut self, o: Outcome) -> Step {
        self.state = State::Ended;
        self.emit_then(Step::Done(o))
    }

    pub(super) fn entry_or_empty(&self) -> Arc<RunbookEntry> {
        self.entry
            .clone()
            .unwrap_or_else(|| Arc::new(RunbookEntry::with_commands(Vec::new())))
    }

    pub(super) fn is_run(&self) -> bool {
        self.input
            .approval
            .as_ref()
            .is_some_and(|a| a.decision == Decision::Run)
    }

    pub(super) fn identity(&self) -> String {
        self.input.alert.identity.clone()
    }

    pub(super) fn instance(&self) -> Option<InstanceId> {
        self.input.alert.single_instance().cloned()
    }

    pub(super) fn lease_ms(&self) -> EpochMillis {
        ms(self.settings.claim_lease)
    }

    /// How long a role lease is held past its latest step: the running hold, at least the
    /// claim lease, and at least one phase's whole timeout (a command may run that long on the
    /// instance, so the lease must not lapse under it).
    pub(super) fn hold_ms(&self, entry: &RunbookEntry) -> EpochMillis {
        let phase = EpochMillis::from(entry.timeout_seconds) * 1000 + HOLD_MARGIN_MS;
        ms(self.settings.running_hold)
            .max(self.lease_ms())
            .max(phase)
    }

    pub(super) fn claim_ref(&self) -> &Claim {
        static EMPTY: std::sync::OnceLock<Claim> = std::sync::OnceLock::new();
        self.claim
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(Claim::default))
    }

    pub(super) fn claim_mut(&mut self) -> &mut Claim {
        self.claim.get_or_insert_with(Claim::default)
    }

    pub(super) fn stamp(&self) -> Stamp {
        Stamp {
            now: self.now,
            history_ttl_days: self.settings.history_ttl_days,
        }
    }

    pub(super) fn case(&self) -> Case<'_> {
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

    pub(super) fn fields(&self) -> HistoryFields {
        fields_of(&self.case())
    }

    /// A capacity wait this close to the redrive limit pages a human.
    pub(super) fn wait_pages(&self) -> bool {
        self.input.receive_count + 1 >= self.settings.redrive_limit
    }

    pub(super) fn announcement(
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
