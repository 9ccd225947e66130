//! In-memory fakes of every port, with fault injection, for deterministic tests and benchmarks.
//! They keep the same semantics as the AWS adapters (conditional writes, lease expiry), and
//! record what happened so tests can assert on it.

use crate::ports::*;
use async_trait::async_trait;
use selfheal_core::{AlarmState, InstanceId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A virtual clock: `sleep` advances time instantly (and yields to other tasks).
pub struct FakeClock {
    now: AtomicI64,
}

impl FakeClock {
    pub fn new(start_ms: EpochMillis) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(start_ms),
        })
    }
    pub fn advance(&self, d: Duration) {
        self.now
            .fetch_add(i64::try_from(d.as_millis()).unwrap_or(0), Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now_ms(&self) -> EpochMillis {
        self.now.load(Ordering::SeqCst)
    }
    async fn sleep(&self, d: Duration) {
        self.advance(d);
        tokio::task::yield_now().await;
    }
}

/// How the fake SSM answers one command.
#[derive(Debug, Clone)]
pub struct CommandPlan {
    /// Polls answering `Running` before the final state.
    pub running_polls: u32,
    pub status: InvocationStatus,
    pub exit_code: Option<i32>,
    pub stdout: String,
}

impl CommandPlan {
    pub fn success() -> Self {
        Self {
            running_polls: 0,
            status: InvocationStatus::Success,
            exit_code: Some(0),
            stdout: String::new(),
        }
    }
    pub fn exit(code: i32) -> Self {
        Self {
            running_polls: 0,
            status: if code == 0 {
                InvocationStatus::Success
            } else {
                InvocationStatus::Failed
            },
            exit_code: Some(code),
            stdout: format!("exit {code}"),
        }
    }
    pub fn status(status: InvocationStatus) -> Self {
        Self {
            running_polls: 0,
            status,
            exit_code: None,
            stdout: String::new(),
        }
    }
}

/// One SendCommand the fake received.
#[derive(Debug, Clone)]
pub struct SentCommand {
    pub command_id: String,
    pub request: CommandRequest,
    pub at_ms: EpochMillis,
}

type Planner = Box<dyn Fn(&CommandRequest) -> CommandPlan + Send + Sync>;

struct Running {
    plan: CommandPlan,
    polls: u32,
    instance: InstanceId,
    done: bool,
}

/// Fake SSM RunCommand. Tracks commands in flight (sent and not yet finished) per instance set.
pub struct FakeExecutor {
    planner: Mutex<Planner>,
    sent: Mutex<Vec<SentCommand>>,
    running: Mutex<HashMap<String, Running>>,
    clock: Arc<dyn Clock>,
    next_id: AtomicU32,
    /// SendCommand answers `Transient` this many more times.
    pub fail_sends: AtomicU32,
    /// GetCommandInvocation answers `Transient` this many more times.
    pub fail_polls: AtomicU32,
    /// Instances SSM does not manage (SendCommand answers InvalidInstanceId).
    pub unmanaged: Mutex<Vec<String>>,
    in_flight: AtomicI64,
    max_in_flight: AtomicI64,
}

impl FakeExecutor {
    pub fn new(clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            planner: Mutex::new(Box::new(|_| CommandPlan::success())),
            sent: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
            clock,
            next_id: AtomicU32::new(1),
            fail_sends: AtomicU32::new(0),
            fail_polls: AtomicU32::new(0),
            unmanaged: Mutex::new(Vec::new()),
            in_flight: AtomicI64::new(0),
            max_in_flight: AtomicI64::new(0),
        })
    }

    /// Decides how each command ends (by phase comment, instance, lines…).
    pub fn plan_with(&self, f: impl Fn(&CommandRequest) -> CommandPlan + Send + Sync + 'static) {
        *lock(&self.planner) = Box::new(f);
    }

    pub fn sent(&self) -> Vec<SentCommand> {
        lock(&self.sent).clone()
    }

    /// Sent commands whose comment names `phase`.
    pub fn sent_in_phase(&self, phase: &str) -> Vec<SentCommand> {
        self.sent()
            .into_iter()
            .filter(|s| s.request.comment.ends_with(&format!(" {phase}")))
            .collect()
    }

    /// The most commands that were ever in flight at once.
    pub fn max_in_flight(&self) -> i64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl Executor for FakeExecutor {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        if take_one(&self.fail_sends) {
            return Err(PortError::Transient(
                "ThrottlingException: Rate exceeded".into(),
            ));
        }
        if lock(&self.unmanaged)
            .iter()
            .any(|i| i == req.instance.as_str())
        {
            return Ok(Sent::InvalidInstance("InvalidInstanceId".into()));
        }
        let id = format!("cmd-{:06}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let plan = (lock(&self.planner))(req);
        lock(&self.sent).push(SentCommand {
            command_id: id.clone(),
            request: req.clone(),
            at_ms: self.clock.now_ms(),
        });
        lock(&self.running).insert(
            id.clone(),
            Running {
                plan,
                polls: 0,
                instance: req.instance.clone(),
                done: false,
            },
        );
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Ok(Sent::CommandId(id))
    }

    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        if take_one(&self.fail_polls) {
            return Err(PortError::Transient("InternalServerError".into()));
        }
        let mut running = lock(&self.running);
        let Some(r) = running.get_mut(command_id) else {
            return Ok(Invocation {
                status: InvocationStatus::Running,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            });
        };
        if &r.instance != instance {
            return Err(PortError::Permanent(
                "InvalidInstanceId for this command".into(),
            ));
        }
        if r.polls < r.plan.running_polls {
            r.polls += 1;
            return Ok(Invocation {
                status: InvocationStatus::Running,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        if !r.done {
            r.done = true;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(Invocation {
            status: r.plan.status,
            exit_code: r.plan.exit_code,
            stdout: r.plan.stdout.clone(),
            stderr: String::new(),
        })
    }

    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        Ok(lock(&self.sent)
            .iter()
            .find(|s| {
                s.request.comment == comment
                    && &s.request.instance == instance
                    && s.at_ms >= since - 5_000
            })
            .map(|s| s.command_id.clone()))
    }
}

/// Fake DynamoDB state with the adapter's semantics and fault injection.
#[derive(Default)]
pub struct FakeStore {
    claims: Mutex<HashMap<String, Claim>>,
    attempts: Mutex<HashMap<String, Vec<EpochMillis>>>,
    leases: Mutex<HashMap<String, HashMap<String, EpochMillis>>>,
    fleet: Mutex<HashMap<String, EpochMillis>>,
    history: Mutex<Vec<HistoryRecord>>,
    /// When set, every call answers `Transient` (the store is unreachable).
    pub down: AtomicBool,
    /// The next this-many `update_claim` calls that store a command id fail (a crash right after
    /// SendCommand, before its id was saved).
    pub fail_command_id_saves: AtomicU32,
    /// Leases held at once per role, at most ever.
    max_leases: Mutex<HashMap<String, usize>>,
    silences: Mutex<Vec<SilenceRecord>>,
    notes: Mutex<HashMap<String, EpochMillis>>,
    reviews: Mutex<HashMap<String, NeedsReview>>,
    approvals: Mutex<HashMap<String, ApprovalRecord>>,
    open_approvals: Mutex<HashMap<String, EpochMillis>>,
}

impl FakeStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    fn check(&self) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            Err(PortError::Transient("DynamoDB unreachable".into()))
        } else {
            Ok(())
        }
    }
    /// History items, keyed by (day, sort) as the table would keep them (last write wins).
    pub fn history(&self) -> Vec<HistoryRecord> {
        let mut by_key: Vec<HistoryRecord> = Vec::new();
        for r in lock(&self.history).iter() {
            if let Some(existing) = by_key
                .iter_mut()
                .find(|e| e.day == r.day && e.sort == r.sort)
            {
                *existing = r.clone();
            } else {
                by_key.push(r.clone());
            }
        }
        by_key
    }
    pub fn add_silence(&self, s: SilenceRecord) {
        lock(&self.silences).push(s);
    }
    pub fn clear_silences(&self) {
        lock(&self.silences).clear();
    }
    /// How many distinct silence notes were announced.
    pub fn notes(&self) -> usize {
        lock(&self.notes).len()
    }
    pub fn needs_review(&self) -> Vec<NeedsReview> {
        lock(&self.reviews).values().cloned().collect()
    }
    /// Stores an approval record as `slack-approvals` would.
    pub fn put_approval(&self, r: ApprovalRecord) {
        lock(&self.approvals).insert(r.identity.clone(), r);
    }
    pub fn claim_of(&self, identity: &str) -> Option<Claim> {
        lock(&self.claims).get(identity).cloned()
    }
    pub fn max_leases(&self, role: &str) -> usize {
        lock(&self.max_leases).get(role).copied().unwrap_or(0)
    }
    pub fn leases_held(&self, role: &str) -> usize {
        lock(&self.leases).get(role).map_or(0, HashMap::len)
    }
}

#[async_trait]
impl StateStore for FakeStore {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        self.check()?;
        let mut claims = lock(&self.claims);
        match claims.get(&fresh.identity) {
            Some(c) => Ok(ClaimAttempt::Exists(c.clone())),
            None => {
                claims.insert(fresh.identity.clone(), fresh.clone());
                Ok(ClaimAttempt::Won(fresh.clone()))
            }
        }
    }

    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        self.check()?;
        if claim.command_id.is_some() && take_one(&self.fail_command_id_saves) {
            let claims = lock(&self.claims);
            if let Some(c) = claims.get(&claim.identity) {
                if c.command_id.is_none() {
                    return Err(PortError::Transient(
                        "crash before the command id was saved".into(),
                    ));
                }
            }
            drop(claims);
        }
        let mut claims = lock(&self.claims);
        match claims.get(&claim.identity) {
            Some(c) if c.version == expected_version => {
                claims.insert(claim.identity.clone(), claim.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        _ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        self.check()?;
        let mut all = lock(&self.attempts);
        let list = all.entry(budget_key.to_owned()).or_default();
        list.retain(|t| *t >= window_start);
        if list.len() >= max as usize {
            return Ok(None);
        }
        list.push(now);
        Ok(Some(u32::try_from(list.len()).unwrap_or(u32::MAX)))
    }

    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        self.check()?;
        lock(&self.attempts).remove(budget_key);
        Ok(())
    }

    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        self.check()?;
        let mut leases = lock(&self.leases);
        let holders = leases.entry(role.to_owned()).or_default();
        holders.retain(|_, u| *u > now);
        if holders.contains_key(holder) || holders.len() < max as usize {
            holders.insert(holder.to_owned(), until);
            let n = holders.len();
            let mut maxes = lock(&self.max_leases);
            let m = maxes.entry(role.to_owned()).or_default();
            *m = (*m).max(n);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        self.check()?;
        if let Some(h) = lock(&self.leases).get_mut(role) {
            h.remove(holder);
        }
        Ok(())
    }

    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        self.check()?;
        let mut fleet = lock(&self.fleet);
        fleet.retain(|_, t| *t > now - 3_600_000);
        if fleet.contains_key(holder) {
            return Ok(true);
        }
        if fleet.len() < max as usize {
            fleet.insert(holder.to_owned(), now);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        self.check()?;
        lock(&self.history).push(record.clone());
        Ok(())
    }

    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        self.check()?;
        Ok(lock(&self.silences).clone())
    }

    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        self.check()?;
        let mut notes = lock(&self.notes);
        if notes.contains_key(note_id) {
            return Ok(false);
        }
        notes.insert(note_id.to_owned(), keep_until);
        Ok(true)
    }

    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        self.check()?;
        lock(&self.reviews).insert(format!("{}#{}", item.key, item.instance), item.clone());
        Ok(())
    }

    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        self.check()?;
        Ok(lock(&self.claims).get(identity).cloned())
    }

    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        self.check()?;
        Ok(lock(&self.approvals).get(identity).cloned())
    }

    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        self.check()?;
        lock(&self.open_approvals).insert(identity.to_owned(), expires_at);
        Ok(())
    }

    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        self.check()?;
        let mut due: Vec<String> = lock(&self.open_approvals)
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        due.sort();
        Ok(due)
    }

    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        self.check()?;
        lock(&self.open_approvals).remove(identity);
        Ok(())
    }
}

/// Fake role (and silence) tags.
#[derive(Default)]
pub struct FakeTags {
    pub roles: Mutex<HashMap<String, String>>,
    pub silences: Mutex<HashMap<String, String>>,
    pub down: AtomicBool,
}

impl FakeTags {
    pub fn with(pairs: &[(&str, &str)]) -> Arc<Self> {
        let t = Self::default();
        for (i, r) in pairs {
            lock(&t.roles).insert((*i).to_owned(), (*r).to_owned());
        }
        Arc::new(t)
    }
    pub fn set(&self, instance: &str, role: &str) {
        lock(&self.roles).insert(instance.to_owned(), role.to_owned());
    }
    /// Sets the instance's `selfheal:silence` tag.
    pub fn silence(&self, instance: &str, until: &str) {
        lock(&self.silences).insert(instance.to_owned(), until.to_owned());
    }
}

#[async_trait]
impl Tags for FakeTags {
    async fn tags_of(&self, instance: &InstanceId) -> Result<InstanceTags, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Transient("tagging API throttled".into()));
        }
        Ok(InstanceTags {
            role: lock(&self.roles).get(instance.as_str()).cloned(),
            silence: lock(&self.silences).get(instance.as_str()).cloned(),
        })
    }
}

/// Fake CloudWatch alarms: every alarm is in `default` unless set otherwise. An alarm bound to
/// instances with [`FakeAlarms::watch`] watches exactly those (as its `InstanceId` dimensions
/// would); an unbound alarm stands for one created on whichever instance a test names.
#[derive(Default)]
pub struct FakeAlarms {
    pub states: Mutex<HashMap<String, Option<AlarmState>>>,
    pub default: Mutex<Option<AlarmState>>,
    pub watches: Mutex<HashMap<String, Vec<String>>>,
    pub down: AtomicBool,
}

impl FakeAlarms {
    pub fn all_in_alarm() -> Arc<Self> {
        let a = Self::default();
        *lock(&a.default) = Some(AlarmState::Alarm);
        Arc::new(a)
    }
    pub fn set(&self, name: &str, state: Option<AlarmState>) {
        lock(&self.states).insert(name.to_owned(), state);
    }
    /// Binds the alarm `name` to the instances its configuration names.
    pub fn watch(&self, name: &str, instances: &[&str]) {
        lock(&self.watches).insert(
            name.to_owned(),
            instances.iter().map(|i| (*i).to_owned()).collect(),
        );
    }
}

#[async_trait]
impl Alarms for FakeAlarms {
    async fn live_alarm(
        &self,
        alarm_name: &str,
        instance: &InstanceId,
    ) -> Result<Option<LiveAlarm>, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Transient("cloudwatch throttled".into()));
        }
        let state = match lock(&self.states).get(alarm_name) {
            Some(s) => *s,
            None => *lock(&self.default),
        };
        let watches_instance = lock(&self.watches)
            .get(alarm_name)
            .is_none_or(|list| list.iter().any(|i| i == instance.as_str()));
        Ok(state.map(|state| LiveAlarm {
            state,
            watches_instance,
        }))
    }
}

/// Fake kill switch.
pub struct FakeMode(pub Mutex<GlobalMode>);

impl FakeMode {
    pub fn new(mode: GlobalMode) -> Arc<Self> {
        Arc::new(Self(Mutex::new(mode)))
    }
    pub fn set(&self, mode: GlobalMode) {
        *lock(&self.0) = mode;
    }
}

#[async_trait]
impl ModeSource for FakeMode {
    async fn mode(&self) -> GlobalMode {
        *lock(&self.0)
    }
}

/// Records announcements (chat or escalation).
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Announcement>>);

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn all(&self) -> Vec<Announcement> {
        lock(&self.0).clone()
    }
}

#[async_trait]
impl Chat for Recorder {
    async fn announce(&self, a: &Announcement) {
        lock(&self.0).push(a.clone());
    }
}

#[async_trait]
impl Escalator for Recorder {
    async fn escalate(&self, a: &Announcement) {
        lock(&self.0).push(a.clone());
    }
}

/// Every fake, wired together.
pub struct FakeWorld {
    pub clock: Arc<FakeClock>,
    pub executor: Arc<FakeExecutor>,
    pub store: Arc<FakeStore>,
    pub tags: Arc<FakeTags>,
    pub alarms: Arc<FakeAlarms>,
    pub mode: Arc<FakeMode>,
    pub chat: Arc<Recorder>,
    pub escalations: Arc<Recorder>,
}

impl FakeWorld {
    pub fn new(start_ms: EpochMillis) -> Self {
        let clock = FakeClock::new(start_ms);
        Self {
            executor: FakeExecutor::new(clock.clone()),
            clock,
            store: FakeStore::new(),
            tags: Arc::new(FakeTags::default()),
            alarms: FakeAlarms::all_in_alarm(),
            mode: FakeMode::new(GlobalMode::Enforce),
            chat: Recorder::new(),
            escalations: Recorder::new(),
        }
    }

    pub fn ports(&self) -> crate::engine::Ports {
        crate::engine::Ports {
            executor: self.executor.clone(),
            store: self.store.clone(),
            tags: self.tags.clone(),
            alarms: self.alarms.clone(),
            mode: self.mode.clone(),
            chat: self.chat.clone(),
            escalator: self.escalations.clone(),
            clock: self.clock.clone(),
        }
    }
}
