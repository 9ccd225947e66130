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

/// SSM keeps at most this many characters of a command's `Comment`.
pub const COMMENT_MAX_CHARS: usize = 100;
/// A command requested this long before `since` is still found by its comment (clock skew).
pub const FIND_SKEW_MS: EpochMillis = 5_000;

/// The comment as SSM stores it (its first [`COMMENT_MAX_CHARS`] characters).
fn ssm_comment(comment: &str) -> &str {
    comment
        .char_indices()
        .nth(COMMENT_MAX_CHARS)
        .map_or(comment, |(i, _)| &comment[..i])
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
            // SSM answers `InvocationDoesNotExist` for an instance the command was not sent to,
            // which the adapter reads as "not visible yet" (as it must right after sending).
            return Ok(Invocation {
                status: InvocationStatus::Running,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            });
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
        // As the SSM adapter does: SSM keeps the first 100 characters of a comment, a command
        // requested up to 5 s before `since` still counts (clock skew), and the newest match
        // wins (the later one on a tie).
        let wanted = ssm_comment(comment);
        Ok(lock(&self.sent)
            .iter()
            .filter(|s| {
                ssm_comment(&s.request.comment) == wanted
                    && &s.request.instance == instance
                    && s.at_ms >= since.saturating_sub(FIND_SKEW_MS)
            })
            .max_by_key(|s| s.at_ms)
            .map(|s| s.command_id.clone()))
    }
}

/// Fake DynamoDB state with the adapter's semantics and fault injection.
///
/// What it models of the table (each held to `DynamoStateStore` on moto by the contract suite,
/// `shared/aws/tests/contract.rs`): conditional writes (claims, notes), optimistic versions,
/// PutItem overwriting an item with the same key (history, silences, needs-review items, open
/// approvals), Query order (sort key, bytewise), DynamoDB's size limits (partition key ≤ 2048
/// bytes, sort key ≤ 1024 bytes, item ≤ 400 KB: a `ValidationException`, permanent, that
/// changes nothing; reads with an oversized key are refused too, as DynamoDB refuses them,
/// although moto checks only writes).
///
/// What it does not model: TTL. DynamoDB deletes an expired item only eventually (typically
/// within days) and reads return it until then, so a store that never deletes is one that
/// DynamoDB may be; nothing may rely on TTL for correctness. The `expires_at` each item carries
/// is checked only against DynamoDB.
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

/// DynamoDB's limit on a partition key value (UTF-8 bytes).
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's limit on a sort key value (UTF-8 bytes).
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// DynamoDB's limit on one item: attribute names and values (UTF-8 bytes).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The key `pk`/`sk` as DynamoDB checks it: a key value is never empty nor too long.
fn check_key(pk: &str, sk: &str) -> Result<(), PortError> {
    let invalid = |why: String| {
        Err(PortError::Permanent(format!(
            "dynamodb: ValidationException: One or more parameter values were invalid: {why}"
        )))
    };
    if pk.is_empty() || sk.is_empty() {
        return invalid("a key attribute cannot contain an empty string value".into());
    }
    if pk.len() > MAX_PARTITION_KEY_BYTES {
        return invalid(format!(
            "Size of hashkey has exceeded the maximum size limit of {MAX_PARTITION_KEY_BYTES} bytes"
        ));
    }
    if sk.len() > MAX_SORT_KEY_BYTES {
        return invalid(format!(
            "Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes"
        ));
    }
    Ok(())
}

/// The item `record` would be (every field, plus `pk`, `sk` and `expires_at`) as DynamoDB checks
/// it: its key, and its size (names + values; numbers are counted by their digits, a little more
/// than DynamoDB counts, so the fake refuses no later than the table).
fn check_item<T: serde::Serialize>(record: &T, pk: &str, sk: &str) -> Result<(), PortError> {
    fn size(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        match v {
            Value::Null | Value::Bool(_) => 1,
            Value::Number(n) => n.to_string().len(),
            Value::String(s) => s.len(),
            Value::Array(xs) => 3 + xs.iter().map(|x| 1 + size(x)).sum::<usize>(),
            Value::Object(m) => 3 + m.iter().map(|(k, x)| k.len() + 1 + size(x)).sum::<usize>(),
        }
    }
    check_key(pk, sk)?;
    let keys = "pk".len() + pk.len() + "sk".len() + sk.len() + "expires_at".len() + 12;
    // Fast path: the size counted below is never more than twice the record's JSON text (the
    // worst case is an array of one-digit numbers, 5 counted for 3 written), so an item whose
    // JSON fits twice over is within the limit; only a large one is measured exactly.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    if serde_json::to_writer(&mut count, record).is_ok() && 2 * count.0 + keys <= MAX_ITEM_BYTES {
        return Ok(());
    }
    let value = serde_json::to_value(record)
        .map_err(|e| PortError::Permanent(format!("item not storable: {e}")))?;
    let attributes = match &value {
        serde_json::Value::Object(m) => m.iter().map(|(k, x)| k.len() + size(x)).sum(),
        other => size(other),
    };
    if attributes + keys > MAX_ITEM_BYTES {
        return Err(PortError::Permanent(
            "dynamodb: ValidationException: Item size has exceeded the maximum allowed size".into(),
        ));
    }
    Ok(())
}

fn claim_key(identity: &str) -> String {
    format!("claim#{identity}")
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
    /// History items, keyed by (day, sort) as the table would keep them (last write wins), in
    /// the order each key was first written.
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
    /// One day's history items as a Query of `hist#<day>` returns them: one per sort key (the
    /// last write), in sort-key order.
    pub fn history_day(&self, day: &str) -> Vec<HistoryRecord> {
        let mut items: Vec<HistoryRecord> = self
            .history()
            .into_iter()
            .filter(|r| r.day == day)
            .collect();
        items.sort_by(|a, b| a.sort.cmp(&b.sort));
        items
    }
    /// Stores a silence or maintenance window, replacing one with the same id (as
    /// `DynamoStateStore::put_silence` does).
    pub fn add_silence(&self, s: SilenceRecord) {
        let mut all = lock(&self.silences);
        all.retain(|x| x.id != s.id);
        all.push(s);
        all.sort_by(|a, b| a.id.cmp(&b.id));
    }
    pub fn clear_silences(&self) {
        lock(&self.silences).clear();
    }
    /// Deletes the silence `id`; `false` when there was none.
    pub fn remove_silence(&self, id: &str) -> bool {
        let mut all = lock(&self.silences);
        let before = all.len();
        all.retain(|x| x.id != id);
        all.len() != before
    }
    /// How many distinct silence notes were announced.
    pub fn notes(&self) -> usize {
        lock(&self.notes).len()
    }
    /// Everything listed as needing review, in the table's order (`<ROLE:ALERT>#<instance>`).
    pub fn needs_review(&self) -> Vec<NeedsReview> {
        let reviews = lock(&self.reviews);
        let mut keys: Vec<&String> = reviews.keys().collect();
        keys.sort();
        keys.into_iter().map(|k| reviews[k].clone()).collect()
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
        check_item(fresh, &claim_key(&fresh.identity), "claim")?;
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
        check_item(claim, &claim_key(&claim.identity), "claim")?;
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
        check_key(&format!("budget#{budget_key}"), "budget")?;
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
        check_key(&format!("budget#{budget_key}"), "budget")?;
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
        check_key(&format!("lease#{role}"), "lease")?;
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
        check_key(&format!("lease#{role}"), "lease")?;
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
        // A start exactly one hour ago still counts ("since now - 1 h", as the adapter keeps it).
        fleet.retain(|_, t| *t >= now - 3_600_000);
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
        check_item(record, &format!("hist#{}", record.day), &record.sort)?;
        lock(&self.history).push(record.clone());
        Ok(())
    }

    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        self.check()?;
        Ok(lock(&self.silences).clone())
    }

    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        self.check()?;
        check_key("silence", &format!("note#{note_id}"))?;
        let mut notes = lock(&self.notes);
        if notes.contains_key(note_id) {
            return Ok(false);
        }
        notes.insert(note_id.to_owned(), keep_until);
        Ok(true)
    }

    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        self.check()?;
        let sk = format!("{}#{}", item.key, item.instance);
        check_item(item, "review", &sk)?;
        lock(&self.reviews).insert(sk, item.clone());
        Ok(())
    }

    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        self.check()?;
        check_key(&claim_key(identity), "claim")?;
        Ok(lock(&self.claims).get(identity).cloned())
    }

    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        self.check()?;
        check_key(&format!("approval#{identity}"), "approval")?;
        Ok(lock(&self.approvals).get(identity).cloned())
    }

    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        self.check()?;
        check_key("approvals-open", identity)?;
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
        check_key("approvals-open", identity)?;
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
        // A tag with an empty value counts as absent (as the tagging adapter reads it).
        let value = |m: &Mutex<HashMap<String, String>>| {
            lock(m)
                .get(instance.as_str())
                .filter(|v| !v.is_empty())
                .cloned()
        };
        Ok(InstanceTags {
            role: value(&self.roles),
            silence: value(&self.silences),
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
    /// Sets the mode as an operator sets the parameter: `Some(value)` is its raw value, `None` a
    /// parameter that cannot be read (missing, access denied). Anything but `enforce`, `dry-run`
    /// or `off` reads as `dry-run`, as the parameter adapter reads it (fail closed).
    pub fn set_parameter(&self, raw: Option<&str>) {
        self.set(
            raw.and_then(GlobalMode::parse)
                .unwrap_or(GlobalMode::DryRun),
        );
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

/// How the answer of a port call is lost after the call took effect (the request reached AWS,
/// the response did not reach us: a 5xx after the write, a reset, a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Every attempt's answer is lost: the effect happened once and the caller sees
    /// `PortError::Transient` (the SDK ran out of attempts, or the call is never retried).
    Every,
    /// The first answer is lost and the SDK's retry gets through: the caller sees the answer
    /// of the same call made again after its own effect. A conditional write then meets itself
    /// (a claim comes back `Exists` with the caller's own claim, an update at the old version is
    /// `false`, a note is not new, an attempt is counted twice); an unconditional write is
    /// simply done. SendCommand is never retried by the SDK: for it this is [`Loss::Every`].
    RetriedOnce,
}

/// Wraps a port so that the next call (armed with [`LostResponses::lose_next`]) takes effect
/// and then loses its answer as DynamoDB or SSM would, with the product's SDK retries. The
/// contract suite (`shared/aws/tests/contract.rs`) holds each shape to the real adapters behind
/// moto's fault layer: after either, the table or SSM holds what one successful call leaves.
pub struct LostResponses<T: ?Sized> {
    inner: Arc<T>,
    next: Mutex<Option<Loss>>,
}

impl<T: ?Sized> LostResponses<T> {
    pub fn new(inner: Arc<T>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            next: Mutex::new(None),
        })
    }
    /// The wrapped port.
    pub fn inner(&self) -> &Arc<T> {
        &self.inner
    }
    /// The next call (of any method) takes effect and loses its answer as `loss` says.
    pub fn lose_next(&self, loss: Loss) {
        *lock(&self.next) = Some(loss);
    }
    fn take(&self) -> Option<Loss> {
        lock(&self.next).take()
    }
}

fn lost(op: &str) -> PortError {
    PortError::Transient(format!("{op}: took effect but its response was lost"))
}

/// Runs `$call` under the armed loss (the expression is evaluated again for a retry).
macro_rules! lossy {
    ($self:ident, $op:literal, $call:expr) => {
        match $self.take() {
            None => $call.await,
            Some(Loss::Every) => {
                let _ = $call.await;
                Err(lost($op))
            }
            Some(Loss::RetriedOnce) => {
                let _ = $call.await;
                $call.await
            }
        }
    };
}

#[async_trait]
impl<T: StateStore + ?Sized> StateStore for LostResponses<T> {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        lossy!(self, "claim", self.inner.claim(fresh))
    }
    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        lossy!(
            self,
            "update_claim",
            self.inner.update_claim(claim, expected_version)
        )
    }
    async fn take_attempt(
        &self,
        budget_key: &str,
        max: u32,
        window_start: EpochMillis,
        now: EpochMillis,
        ttl_until: i64,
    ) -> Result<Option<u32>, PortError> {
        lossy!(
            self,
            "take_attempt",
            self.inner
                .take_attempt(budget_key, max, window_start, now, ttl_until)
        )
    }
    async fn clear_attempts(&self, budget_key: &str) -> Result<(), PortError> {
        lossy!(
            self,
            "clear_attempts",
            self.inner.clear_attempts(budget_key)
        )
    }
    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        lossy!(
            self,
            "acquire_lease",
            self.inner.acquire_lease(role, holder, max, now, until)
        )
    }
    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        lossy!(
            self,
            "release_lease",
            self.inner.release_lease(role, holder)
        )
    }
    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        lossy!(
            self,
            "take_fleet_slot",
            self.inner.take_fleet_slot(holder, max, now)
        )
    }
    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        lossy!(self, "put_history", self.inner.put_history(record))
    }
    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        lossy!(self, "silences", self.inner.silences())
    }
    async fn note_once(&self, note_id: &str, keep_until: EpochMillis) -> Result<bool, PortError> {
        lossy!(self, "note_once", self.inner.note_once(note_id, keep_until))
    }
    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        lossy!(
            self,
            "mark_needs_review",
            self.inner.mark_needs_review(item)
        )
    }
    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        lossy!(self, "load_claim", self.inner.load_claim(identity))
    }
    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        lossy!(
            self,
            "approval_record",
            self.inner.approval_record(identity)
        )
    }
    async fn open_approval(
        &self,
        identity: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        lossy!(
            self,
            "open_approval",
            self.inner.open_approval(identity, expires_at)
        )
    }
    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        lossy!(self, "expired_approvals", self.inner.expired_approvals(now))
    }
    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        lossy!(self, "close_approval", self.inner.close_approval(identity))
    }
}

#[async_trait]
impl<T: Executor + ?Sized> Executor for LostResponses<T> {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        // Never retried by the SDK (aws::config): a lost answer is always `Transient`.
        if self.take().is_some() {
            let _ = self.inner.send(req).await;
            return Err(lost("send"));
        }
        self.inner.send(req).await
    }
    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        lossy!(self, "poll", self.inner.poll(command_id, instance))
    }
    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        lossy!(
            self,
            "find_by_comment",
            self.inner.find_by_comment(comment, instance, since)
        )
    }
}
