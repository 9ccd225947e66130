//! The small traits the flow talks through. Each AWS service sits behind one of these; the
//! adapters live in `selfheal-aws`, the fakes in [`crate::fakes`].

use async_trait::async_trait;
use selfheal_core::{AlarmState, InstanceId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// An error from a port. `Transient` means "try the record again later" (throttling that outlived
/// its retries, 5xx, the state store unreachable); `Permanent` means retrying will not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Milliseconds since the Unix epoch (one type for every crate). The core never reads a clock;
/// this is passed in.
pub use selfheal_core::calendar::EpochMillis;

/// Time, injectable so tests are deterministic.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> EpochMillis;
    async fn sleep(&self, d: Duration);
}

/// The global mode of DESIGN principle 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlobalMode {
    Enforce,
    DryRun,
    Off,
}

impl GlobalMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "enforce" => Some(Self::Enforce),
            "dry-run" => Some(Self::DryRun),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::DryRun => "dry-run",
            Self::Off => "off",
        }
    }
}

/// The kill switch. Implementations cache for at most 30 s and answer `DryRun` when the
/// configured parameter cannot be read (fail closed).
#[async_trait]
pub trait ModeSource: Send + Sync {
    async fn mode(&self) -> GlobalMode;
}

/// The tags of one instance that selfheal reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceTags {
    /// The role tag's value (`None`: no such tag, or the instance is unknown).
    pub role: Option<String>,
    /// The `selfheal:silence` tag's raw value (an ISO-8601 end time).
    pub silence: Option<String>,
}

/// Instance tags (Resource Groups Tagging API).
#[async_trait]
pub trait Tags: Send + Sync {
    /// The role and silence tags of `instance` (one lookup).
    async fn tags_of(&self, instance: &InstanceId) -> Result<InstanceTags, PortError>;
    /// The value of the role tag on `instance`; `None` when the instance has no such tag.
    async fn role_of(&self, instance: &InstanceId) -> Result<Option<String>, PortError> {
        Ok(self.tags_of(instance).await?.role)
    }
    /// The tags of each of `instances`, in as few lookups as the service allows (one batch
    /// read for a whole SQS batch). Every instance asked for is in the map (no tags when the
    /// service does not know it). Default: one [`Tags::tags_of`] each.
    async fn tags_of_many(
        &self,
        instances: &[InstanceId],
    ) -> Result<std::collections::HashMap<InstanceId, InstanceTags>, PortError> {
        let mut out = std::collections::HashMap::new();
        for i in instances {
            out.insert(i.clone(), self.tags_of(i).await?);
        }
        Ok(out)
    }
}

/// What the live re-check found about one alarm (DESIGN principle 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAlarm {
    pub state: AlarmState,
    /// The alarm's own configuration names the instance being remediated: the `InstanceId`
    /// dimension of its metric, or of a metric of its metric-math expression. A composite alarm
    /// watches no instance of its own (`false`).
    pub watches_instance: bool,
}

/// Live CloudWatch alarm state.
#[async_trait]
pub trait Alarms: Send + Sync {
    /// The alarm's current state and whether it watches `instance`; `None` when no alarm has
    /// that name.
    async fn live_alarm(
        &self,
        alarm_name: &str,
        instance: &InstanceId,
    ) -> Result<Option<LiveAlarm>, PortError>;
    /// [`Alarms::live_alarm`] for each (alarm, instance) pair, in as few reads as the service
    /// allows (DescribeAlarms takes up to 100 names). Every pair asked for is in the map.
    /// Default: one `live_alarm` each.
    async fn live_alarms(
        &self,
        pairs: &[(String, InstanceId)],
    ) -> Result<std::collections::HashMap<(String, InstanceId), Option<LiveAlarm>>, PortError> {
        let mut out = std::collections::HashMap::new();
        for (name, instance) in pairs {
            out.insert(
                (name.clone(), instance.clone()),
                self.live_alarm(name, instance).await?,
            );
        }
        Ok(out)
    }
}

/// One SSM RunCommand phase on one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRequest {
    pub instance: InstanceId,
    pub document: String,
    /// The script lines (already wrapped by [`crate::script::wrap`]).
    pub lines: Vec<String>,
    pub execution_timeout_seconds: u32,
    /// Carries the claim id so a crashed sender can find its command again (DESIGN principle 6).
    pub comment: String,
}

/// What SendCommand answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    CommandId(String),
    /// SSM does not manage or cannot reach the instance (`InvalidInstanceId`).
    InvalidInstance(String),
}

/// SSM command invocation status (GetCommandInvocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvocationStatus {
    /// Not visible yet (`InvocationDoesNotExist` right after sending), Pending, InProgress, Delayed.
    Running,
    Success,
    Failed,
    Cancelled,
    TimedOut,
    DeliveryTimedOut,
    ExecutionTimedOut,
    Undeliverable,
    Terminated,
    /// A status this code does not know: treated as a failure, never a success.
    Unknown,
}

impl InvocationStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "Pending" | "InProgress" | "Delayed" | "Cancelling" => Self::Running,
            "Success" => Self::Success,
            "Failed" => Self::Failed,
            "Cancelled" => Self::Cancelled,
            "TimedOut" => Self::TimedOut,
            "DeliveryTimedOut" => Self::DeliveryTimedOut,
            "ExecutionTimedOut" => Self::ExecutionTimedOut,
            "Undeliverable" | "InvalidPlatform" | "AccessDenied" => Self::Undeliverable,
            "Terminated" => Self::Terminated,
            _ => Self::Unknown,
        }
    }
}

/// The state of one invocation, with bounded output tails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub status: InvocationStatus,
    /// The script's exit code (`ResponseCode`), when SSM reported one.
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Invocation {
    /// Not over yet (nothing to read).
    pub fn running() -> Self {
        Self {
            status: InvocationStatus::Running,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
        }
    }
}

/// SSM RunCommand.
#[async_trait]
pub trait Executor: Send + Sync {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError>;
    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError>;
    /// The id of a command sent to `instance` at or after `since` whose comment is `comment`.
    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError>;
    /// The status of each of `ids` (all sent at or after `since`) from one listing of commands
    /// (`ListCommands`), for a poll round of many commands in flight. A command missing from
    /// the answer is unknown, never finished; only `poll` decides a phase. The default lists
    /// nothing (every command is then polled on its own).
    async fn statuses(
        &self,
        ids: &[String],
        since: EpochMillis,
    ) -> Result<HashMap<String, InvocationStatus>, PortError> {
        let _ = (ids, since);
        Ok(HashMap::new())
    }
}

/// Something people should read in chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Announcement {
    pub kind: AnnouncementKind,
    pub identity: String,
    pub key: Option<String>,
    pub runbook: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub instance: Option<String>,
    pub role: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub alarm_name: Option<String>,
    pub alarm_reason: Option<String>,
    pub attempt: u32,
    pub max_attempts: u32,
    pub dry_run: bool,
    pub outcome: Option<String>,
    pub detail: String,
    pub duration_ms: Option<i64>,
    pub failed_phase: Option<String>,
    pub exit_code: Option<i32>,
    pub output_tail: Option<String>,
    pub command_ids: Vec<String>,
    /// Commands that run (or would run), for dry-run and start messages.
    pub commands: Vec<String>,
    /// For `awaiting-approval`: the Run / Skip buttons' value (chat sinks that can show buttons
    /// add them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<selfheal_core::approval::ButtonValue>,
    /// The Slack message this belongs under (the approval request's thread), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<ChatThread>,
}

/// A Slack message to reply under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatThread {
    pub channel: String,
    pub ts: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnnouncementKind {
    Start,
    Result,
}

/// Chat. Never fails outward: a chat outage must not block or fail a remediation.
#[async_trait]
pub trait Chat: Send + Sync {
    async fn announce(&self, a: &Announcement);
}

/// Pages a human (escalation SNS topic). Failures are logged, never fail the record.
#[async_trait]
pub trait Escalator: Send + Sync {
    async fn escalate(&self, a: &Announcement);
}

/// The stored claim of one alert identity (DESIGN principle 6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub identity: String,
    pub state: ClaimState,
    /// Who holds it and until when; a claim whose owner lease has passed can be taken over.
    pub owner: String,
    pub owner_until_ms: EpochMillis,
    pub claimed_at_ms: EpochMillis,
    /// Phases already finished, and the command id of the phase in flight.
    pub phase: Option<String>,
    pub command_id: Option<String>,
    pub phase_sent_at_ms: Option<EpochMillis>,
    pub command_ids: Vec<String>,
    pub attempt: u32,
    /// The final outcome once `state` is `Done`.
    pub outcome: Option<String>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: u64,
    /// The queue record's body, kept while `AwaitingApproval` so a Run press can resume the
    /// alert through every guard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The SQS message id the body came with (a generic alert without `id` takes its identity
    /// from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_message_id: Option<String>,
    /// The resolved role, the alert's `ROLE:ALERT` and the runbook key that matched, fixed when
    /// the claim was taken: a redelivery resumes with these, never with a role read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// Phases whose command finished, in order (history lists them when a remediation stops
    /// part-way, e.g. at the kill switch).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases_done: Vec<String>,
    /// Run was pressed for this claim: a resumed run goes past the precheck.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approved: bool,
    /// The final outcome, made durable before its history record is written: a redelivery that
    /// finds it (claim not yet `Done`) writes the same record again and closes the claim,
    /// instead of judging the alert anew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<Decided>,
    /// While `AwaitingApproval`: when the Run/Skip request expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_expires_at_ms: Option<EpochMillis>,
    /// When the remediation began acting: the `phase_sent_at_ms` of its first command known to
    /// be sent (the precheck run as evidence for an approval request does not count; after Run,
    /// the first command does). Set once, never overwritten; history's `waited_ms` is this
    /// minus `claimed_at_ms` (time spent waiting for capacity or for a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acting_since_ms: Option<EpochMillis>,
}

impl Claim {
    /// Marks the claim done with `outcome` (what a close writes): the kept body and the approval
    /// request are dropped, ownership ends at `now`, the version is bumped. Answers the version
    /// the close is conditional on, and whether an approval request was open.
    pub fn mark_done(&mut self, outcome: &str, now: EpochMillis) -> (u64, bool) {
        let expected = self.version;
        let awaited = self.approval_expires_at_ms.is_some();
        self.state = ClaimState::Done;
        self.body = None;
        self.body_message_id = None;
        self.approval_expires_at_ms = None;
        self.outcome = Some(outcome.to_owned());
        self.owner_until_ms = now;
        self.version += 1;
        (expected, awaited)
    }
}

/// How an alert ended, kept in its claim until the claim is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    pub outcome: crate::outcome::Outcome,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tail: Option<String>,
    /// Who is told: `remediation` (the result, escalated when it pages), `before-acting` (only
    /// what pages), `silenced` (the first of a stretch of silence).
    pub announce: DecidedAnnounce,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DecidedAnnounce {
    Remediation {
        holds_lease: bool,
    },
    BeforeActing,
    Silenced {
        note_id: String,
        until_ms: EpochMillis,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimState {
    /// Guards passed or in progress; no phase in flight.
    #[default]
    Claimed,
    /// A phase was (or is about to be) sent; `phase`/`command_id` say which.
    Running,
    /// Waiting for capacity: the next delivery retries the guards.
    CapacityWait,
    AwaitingApproval,
    Done,
}

/// The result of trying to claim an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAttempt {
    /// This caller now owns a fresh claim.
    Won(Claim),
    /// A claim exists; the caller may take it over only if it is not `Done` and its owner lease passed.
    Exists(Claim),
}

pub use selfheal_core::approval::ApprovalRecord;
pub use selfheal_core::history::HistoryRecord;
pub use selfheal_core::silence::SilenceRecord;

/// One attempt budget an [`Admission`] counts: fewer than `max` attempts since
/// `window_start`, or the admission is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetTake {
    /// `ROLE:ALERT#instance` or `entry:<runbook key>#instance`.
    pub key: String,
    pub max: u32,
    pub window_start: EpochMillis,
    /// When the budget item may expire (epoch seconds).
    pub ttl_until: i64,
}

/// A holder's place in a role's lease (`lease#<role>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRef {
    pub role: String,
    pub holder: String,
}

/// Everything a remediation takes before it acts, as one all-or-nothing step: its attempt
/// budgets, a place in its role's lease, a fleet-wide start in the last hour, and the claim
/// recording that it was admitted. Either all of it is written or none of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// Counted in order; empty when the claim already counted its attempt (after a
    /// capacity wait that counted nothing, they are counted again).
    pub budgets: Vec<BudgetTake>,
    pub role: String,
    /// The claim id: the lease holder and the fleet start.
    pub holder: String,
    pub max_concurrent: u32,
    pub lease_until: EpochMillis,
    /// At most this many remediations started fleet-wide since `now - 1 h`.
    pub fleet_max: u32,
    pub now: EpochMillis,
    /// The claim to store when admitted, replacing the stored one at `expected_version`; its
    /// `attempt` is set to the first budget's count when budgets are counted.
    pub claim: Claim,
    pub expected_version: u64,
}

/// What [`StateStore::admit`] decided. Only `Yes` wrote anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// Everything taken; the claim is stored with this `attempt`.
    Yes { attempt: u32 },
    /// `budgets[i]` is used up (checked before capacity).
    BudgetExhausted(usize),
    /// The role already has `max_concurrent` live lease holders.
    RoleFull,
    /// The fleet started `fleet_max` remediations in the last hour.
    FleetFull,
    /// The stored claim is not at `expected_version`. Also the answer to a retry of an
    /// admission whose first answer was lost: the caller reads the claim back to tell.
    ClaimChanged,
    /// Other workers kept changing the limit items between this admission's read and its
    /// write, try after try: nothing was written. A short capacity wait, not a failure.
    Contended,
}

/// An alert whose attempt budget ran out: a human should look before it runs again
/// (`selfheal needs-review list|clear`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsReview {
    /// `ROLE:ALERT`.
    pub key: String,
    pub instance: String,
    /// The attempt budget that ran out (`clear_attempts` forgets it).
    pub budget_key: String,
    /// Every attempt budget the alert counts against (its `ROLE:ALERT` one and, for a wildcard
    /// entry, the entry's): a review clears them all, or the next alert stops again at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budget_keys: Vec<String>,
    /// The alert that hit the limit.
    pub identity: String,
    pub since_ms: EpochMillis,
    pub reason: String,
}

/// DynamoDB-backed state. Every write that guards safety is conditional.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Creates the claim if absent (conditional put); otherwise returns the existing one.
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError>;
    /// Replaces the claim if its stored version is `expected_version`; `false` when someone else won.
    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError>;
    /// Takes everything a remediation needs before it acts, all or nothing ([`Admission`]):
    /// budgets first, then the role lease, then a fleet start. A holder already holding the
    /// lease or already counted in the fleet's hour keeps its place (the lease extended). An
    /// error may come after the write committed (a lost answer): the caller reads the claim.
    async fn admit(&self, admission: &Admission) -> Result<Admitted, PortError>;
    /// Counts one attempt for `budget_key` if fewer than `max` happened since `window_start`.
    /// Returns the attempt number, or `None` when the budget is exhausted.
    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError>;
    /// Forgets the attempts of `budget_key` (a human reviewed it).
    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError>;
    /// Adds `holder` to the role's lease set if fewer than `max` unexpired holders exist.
    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError>;
    /// Extends `holder`'s lease to `until` only if it still holds one that has not expired at
    /// `now`; never takes a lease again (a lapsed lease may have let another remediation of
    /// the role start). `false`: the holder has no live lease.
    async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError>;
    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError>;
    /// Takes one fleet-wide start if fewer than `max` started since `now - 1 h`.
    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError>;
    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError>;
    /// Ends an alert in one all-or-nothing write: `record` (its final history record) and
    /// `claim` (marked done) replace what is stored, if the stored claim's version is
    /// `expected_version`; with `release`, the holder also leaves the role's lease in the same
    /// write (a lease it no longer holds is left as it is). `false`: the claim changed and
    /// nothing was written. An error may come after the write committed (a lost answer): the
    /// caller reads the claim to tell.
    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected_version: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError>;
    /// Every stored silence and maintenance window (expired ones included; the caller filters).
    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError>;
    /// Records that `note_id` was announced; `true` only for the first caller (announce once).
    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError>;
    /// Lists an alert as needing review (its attempt budget ran out).
    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError>;
    /// The stored claim of `identity`, if any.
    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError>;
    /// The approval record `slack-approvals` wrote for `identity`, if any.
    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError>;
    /// Lists an approval request as open until `expires_at` (so the engine can end it unanswered).
    async fn open_approval(&self, identity: &str, expires_at: EpochMillis)
        -> Result<(), PortError>;
    /// Identities of open approval requests whose expiry is at or before `now`.
    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError>;
    /// Removes an approval request from the open list (it was decided or ended).
    async fn close_approval(&self, identity: &str) -> Result<(), PortError>;
}
