//! What `invariants.rs` does not cover yet: random alert streams under random *per-call* faults of
//! the state store and SSM, including ambiguous ones (the write or the send happened, but the
//! caller saw an error — a timeout after commit, or a process killed right after the call), with
//! time jumping past claim leases between deliveries. Invariants: at most one SendCommand per
//! alert identity and phase, nothing lost, exactly one final outcome per alert identity, leases
//! never over-subscribed; attempts bounded per sliding window while time passes; the kill switch.
//!
//! The gaps found while writing these are closed; their tests stay as regressions.

mod common;
use async_trait::async_trait;
use common::*;
use proptest::prelude::*;
use selfheal_core::{claim_id, InstanceId};
use selfheal_service::fakes::{CommandPlan, FakeExecutor, FakeStore, FakeWorld};
use selfheal_service::ports::*;
use selfheal_service::{Engine, InboundRecord, Outcome};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Decides, call by call, whether to fail and how (deterministic from a seed).
struct Faults {
    state: AtomicU64,
    /// Out of 1000.
    per_mille: u64,
    on: AtomicBool,
    injected: AtomicU64,
}

#[derive(PartialEq)]
enum Fault {
    None,
    /// The call never reached the service.
    Clean,
    /// The call took effect, but the caller sees an error.
    Ambiguous,
}

impl Faults {
    fn new(seed: u64, per_mille: u64) -> Arc<Self> {
        Arc::new(Self {
            state: AtomicU64::new(seed | 1),
            per_mille,
            on: AtomicBool::new(true),
            injected: AtomicU64::new(0),
        })
    }
    fn next(&self) -> u64 {
        // xorshift64*, good enough to pick faults.
        let mut x = self.state.load(Ordering::SeqCst);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.store(x, Ordering::SeqCst);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick(&self) -> Fault {
        if !self.on.load(Ordering::SeqCst) {
            return Fault::None;
        }
        let r = self.next();
        if r % 1000 >= self.per_mille {
            return Fault::None;
        }
        self.injected.fetch_add(1, Ordering::SeqCst);
        if (r >> 20).is_multiple_of(2) {
            Fault::Clean
        } else {
            Fault::Ambiguous
        }
    }
}

fn err() -> PortError {
    PortError::Transient("injected fault".into())
}

/// Runs `call` unless a clean fault is picked; turns its result into an error on an ambiguous one.
macro_rules! faulty {
    ($faults:expr, $call:expr) => {{
        match $faults.pick() {
            Fault::Clean => Err(err()),
            Fault::Ambiguous => {
                let _ = $call;
                Err(err())
            }
            Fault::None => $call,
        }
    }};
}

struct FaultyStore {
    inner: Arc<FakeStore>,
    faults: Arc<Faults>,
}

#[async_trait]
impl StateStore for FaultyStore {
    async fn claim(&self, fresh: &Claim) -> Result<ClaimAttempt, PortError> {
        faulty!(self.faults, self.inner.claim(fresh).await)
    }
    async fn update_claim(&self, claim: &Claim, expected_version: u64) -> Result<bool, PortError> {
        faulty!(
            self.faults,
            self.inner.update_claim(claim, expected_version).await
        )
    }
    async fn take_attempt(
        &self,
        k: &str,
        max: u32,
        ws: EpochMillis,
        now: EpochMillis,
        ttl: i64,
    ) -> Result<Option<u32>, PortError> {
        faulty!(
            self.faults,
            self.inner.take_attempt(k, max, ws, now, ttl).await
        )
    }
    async fn clear_attempts(&self, k: &str) -> Result<(), PortError> {
        self.inner.clear_attempts(k).await
    }
    async fn admit(&self, a: &Admission) -> Result<Admitted, PortError> {
        faulty!(self.faults, self.inner.admit(a).await)
    }
    async fn acquire_lease(
        &self,
        role: &str,
        holder: &str,
        max: u32,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        faulty!(
            self.faults,
            self.inner
                .acquire_lease(role, holder, max, now, until)
                .await
        )
    }
    async fn renew_lease(
        &self,
        role: &str,
        holder: &str,
        now: EpochMillis,
        until: EpochMillis,
    ) -> Result<bool, PortError> {
        faulty!(
            self.faults,
            self.inner.renew_lease(role, holder, now, until).await
        )
    }
    async fn release_lease(&self, role: &str, holder: &str) -> Result<(), PortError> {
        faulty!(self.faults, self.inner.release_lease(role, holder).await)
    }
    async fn take_fleet_slot(
        &self,
        holder: &str,
        max: u32,
        now: EpochMillis,
    ) -> Result<bool, PortError> {
        faulty!(
            self.faults,
            self.inner.take_fleet_slot(holder, max, now).await
        )
    }
    async fn put_history(&self, record: &HistoryRecord) -> Result<(), PortError> {
        faulty!(self.faults, self.inner.put_history(record).await)
    }
    async fn close(
        &self,
        record: &HistoryRecord,
        claim: &Claim,
        expected: u64,
        release: Option<&LeaseRef>,
    ) -> Result<bool, PortError> {
        faulty!(
            self.faults,
            self.inner.close(record, claim, expected, release).await
        )
    }
    async fn silences(&self) -> Result<Vec<SilenceRecord>, PortError> {
        faulty!(self.faults, self.inner.silences().await)
    }
    async fn note_once(&self, id: &str, until: EpochMillis) -> Result<bool, PortError> {
        faulty!(self.faults, self.inner.note_once(id, until).await)
    }
    async fn mark_needs_review(&self, item: &NeedsReview) -> Result<(), PortError> {
        faulty!(self.faults, self.inner.mark_needs_review(item).await)
    }
    async fn load_claim(&self, identity: &str) -> Result<Option<Claim>, PortError> {
        faulty!(self.faults, self.inner.load_claim(identity).await)
    }
    async fn approval_record(&self, identity: &str) -> Result<Option<ApprovalRecord>, PortError> {
        faulty!(self.faults, self.inner.approval_record(identity).await)
    }
    async fn open_approval(&self, identity: &str, until: EpochMillis) -> Result<(), PortError> {
        faulty!(self.faults, self.inner.open_approval(identity, until).await)
    }
    async fn expired_approvals(&self, now: EpochMillis) -> Result<Vec<String>, PortError> {
        faulty!(self.faults, self.inner.expired_approvals(now).await)
    }
    async fn close_approval(&self, identity: &str) -> Result<(), PortError> {
        faulty!(self.faults, self.inner.close_approval(identity).await)
    }
}

struct FaultyExecutor {
    inner: Arc<FakeExecutor>,
    faults: Arc<Faults>,
}

#[async_trait]
impl Executor for FaultyExecutor {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        faulty!(self.faults, self.inner.send(req).await)
    }
    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        faulty!(self.faults, self.inner.poll(command_id, instance).await)
    }
    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        faulty!(
            self.faults,
            self.inner.find_by_comment(comment, instance, since).await
        )
    }
    async fn statuses(
        &self,
        ids: &[String],
        since: EpochMillis,
    ) -> Result<std::collections::HashMap<String, InvocationStatus>, PortError> {
        faulty!(self.faults, self.inner.statuses(ids, since).await)
    }
}

fn instance(i: usize) -> String {
    format!("i-{i:08x}")
}

fn web_runbooks(
    max_concurrent: u32,
    max_attempts: u32,
    window_minutes: u32,
) -> Arc<selfheal_core::RunbookMap> {
    runbooks(&format!(
        r#"{{"web:*": {{"precheck": ["true"], "commands": ["systemctl restart app"], "verify": ["true"],
            "max_concurrent": {max_concurrent}, "max_attempts": {max_attempts}, "window_minutes": {window_minutes}}}}}"#
    ))
}

#[derive(Debug, Clone)]
struct Delivery {
    alert: usize,
    instance: usize,
    copies: usize,
}

fn delivery() -> impl Strategy<Value = Delivery> {
    (0usize..10, 0usize..4, 1usize..3).prop_map(|(alert, instance, copies)| Delivery {
        alert,
        instance,
        copies,
    })
}

struct Run {
    w: FakeWorld,
    finals: Vec<(String, Outcome)>,
    rounds: usize,
    injected: u64,
}

/// Delivers like SQS: retried records come back later (after the others), time jumps between
/// batches, and faults stop after `fault_rounds` so the stream can drain.
fn run_faulty(
    stream: &[Delivery],
    seed: u64,
    per_mille: u64,
    max_concurrent: u32,
    batch: usize,
    jumps: &[u64],
    fault_rounds: usize,
) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let w = FakeWorld::new(T0);
        for i in 0..4 {
            w.tags.set(&instance(i), "web");
        }
        w.executor.plan_with(|_| CommandPlan {
            running_polls: 1,
            ..CommandPlan::success()
        });
        let faults = Faults::new(seed, per_mille);
        let mut ports = w.ports();
        ports.store = Arc::new(FaultyStore {
            inner: w.store.clone(),
            faults: faults.clone(),
        });
        ports.executor = Arc::new(FaultyExecutor {
            inner: w.executor.clone(),
            faults: faults.clone(),
        });
        let e = Engine::new(ports, web_runbooks(max_concurrent, 100, 60), settings());
        let mut queue: Vec<InboundRecord> = Vec::new();
        for (n, d) in stream.iter().enumerate() {
            for c in 0..d.copies {
                queue.push(rec(
                    &format!("m{n}-{c}"),
                    cw_body(
                        "web:app_down",
                        "ALARM",
                        &instance(d.instance),
                        &format!("t{}", d.alert),
                    ),
                ));
            }
        }
        let mut finals = Vec::new();
        let mut rounds = 0;
        while !queue.is_empty() && rounds < 5_000 {
            if rounds == fault_rounds {
                faults.on.store(false, Ordering::SeqCst);
            }
            let take: Vec<_> = queue.drain(..batch.min(queue.len())).collect();
            let out = e.process_batch(take.clone(), DEADLINE).await;
            for (r, res) in take.into_iter().zip(out) {
                if res.retry {
                    queue.push(InboundRecord {
                        receive_count: r.receive_count + 1,
                        ..r
                    });
                } else {
                    finals.push((res.message_id, res.outcome));
                }
            }
            let jump = jumps
                .get(rounds % jumps.len().max(1))
                .copied()
                .unwrap_or(500);
            w.clock.advance(Duration::from_millis(jump));
            rounds += 1;
        }
        let injected = faults.injected.load(Ordering::SeqCst);
        Run {
            w,
            finals,
            rounds,
            injected,
        }
    })
}

fn identity_of(d: &Delivery) -> String {
    // As cw_body builds it (see common): alarm ARN | time | instance.
    format!(
        "alarm|arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:web:app_down|t{}|{}",
        d.alert,
        instance(d.instance)
    )
}

const FINAL: &[&str] = &[
    "healed",
    "failed",
    "precheck-failed",
    "recovered",
    "timed-out",
    "dry-run",
    "disabled",
    "ignored",
    "no-runbook",
    "unresolved",
    "invalid",
    "budget-exhausted",
    "killed",
    "silenced",
    "skipped",
    "expired",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn per_call_faults_never_send_twice_lose_an_alert_or_leave_it_without_one_final_outcome(
        stream in proptest::collection::vec(delivery(), 1..24),
        seed in any::<u64>(),
        per_mille in 0u64..300,
        max_concurrent in 1u32..4,
        batch in 1usize..8,
        jumps in proptest::collection::vec(1_000u64..70_000, 1..6),
        fault_rounds in 1usize..40,
    ) {
        let run = run_faulty(&stream, seed, per_mille, max_concurrent, batch, &jumps, fault_rounds);
        let total: usize = stream.iter().map(|d| d.copies).sum();
        prop_assert_eq!(run.finals.len(), total, "nothing lost ({} rounds, {} faults)", run.rounds, run.injected);

        // Exactly once: one SendCommand per alert identity and phase, whatever failed.
        let mut per_comment: HashMap<String, usize> = HashMap::new();
        for s in run.w.executor.sent() {
            *per_comment.entry(format!("{} {}", s.request.instance, s.request.comment)).or_default() += 1;
        }
        prop_assert!(per_comment.values().all(|n| *n == 1), "sent twice: {:?}", per_comment);

        // One final outcome per alert identity (under its claim id); every other record of the
        // identity is a duplicate delivery (`#dup#<message id>`).
        let identities: HashSet<String> = stream.iter().map(identity_of).collect();
        let hist = run.w.store.history();
        for id in &identities {
            let cid = claim_id(id);
            let finals: Vec<_> = hist.iter().filter(|h| h.sort == cid).collect();
            prop_assert_eq!(finals.len(), 1, "identity {} has {} records under its claim id", id, finals.len());
            prop_assert!(FINAL.contains(&finals[0].outcome.as_str()), "{} ended {}", id, finals[0].outcome);
            prop_assert_eq!(finals[0].outcome.as_str(), "healed", "commands always succeed here: {:?}", finals[0]);
            let claim = run.w.store.claim_of(id);
            prop_assert_eq!(claim.map(|c| c.state), Some(ClaimState::Done));
        }
        for h in &hist {
            let is_final = identities.iter().any(|id| claim_id(id) == h.sort);
            prop_assert!(is_final || (h.sort.contains("#dup#") && h.outcome == "duplicate"), "stray record {:?}", h);
        }
        // Three phases for every identity, and never more.
        prop_assert_eq!(run.w.executor.sent().len(), identities.len() * 3);
        // Leases are never over-subscribed (the in-flight count is not asserted here: see
        // `lease_covers_a_remediation_until_it_is_resumed`).
        prop_assert!(run.w.store.max_leases("web") <= max_concurrent as usize);
    }

    #[test]
    fn attempts_stay_within_every_sliding_window_while_time_passes(
        gaps_min in proptest::collection::vec(0u64..40, 1..40),
        max_attempts in 1u32..4,
        window_minutes in 5u32..61,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (sends, outcomes) = rt.block_on(async {
            let w = FakeWorld::new(T0);
            w.tags.set(&instance(0), "web");
            let map = runbooks(&format!(
                r#"{{"web:*": {{"commands": ["systemctl restart app"], "max_attempts": {max_attempts}, "window_minutes": {window_minutes}}}}}"#
            ));
            let e = Engine::new(w.ports(), map, settings());
            let mut outcomes = Vec::new();
            for (n, gap) in gaps_min.iter().enumerate() {
                w.clock.advance(Duration::from_secs(gap * 60));
                let at = w.clock.now_ms();
                let earlier = w.executor.sent_in_phase("commands").len();
                let out = e.process_batch(vec![rec(&format!("m{n}"), cw_body("web:app_down", "ALARM", &instance(0), &format!("t{n}")))], DEADLINE).await;
                outcomes.push((at, earlier, out[0].outcome));
            }
            let sends: Vec<i64> = w.executor.sent_in_phase("commands").iter().map(|s| s.at_ms).collect();
            (sends, outcomes)
        });
        let window = i64::from(window_minutes) * 60_000;
        for (i, t) in sends.iter().enumerate() {
            let in_window = sends[..=i].iter().filter(|s| **s >= t - window).count();
            prop_assert!(in_window <= max_attempts as usize, "{in_window} attempts within {window_minutes} min at {t}");
        }
        // And the budget frees up again: an alert with a full window behind it of no attempts runs.
        for (at, earlier, o) in &outcomes {
            let before = sends[..*earlier].iter().filter(|s| **s >= at - window).count();
            if before < max_attempts as usize {
                prop_assert_eq!(*o, Outcome::Healed, "budget not freed at {}", at);
            } else {
                prop_assert_eq!(*o, Outcome::BudgetExhausted);
            }
        }
    }

    #[test]
    fn switching_the_kill_switch_off_mid_stream_stops_every_new_command(
        stream in proptest::collection::vec(delivery(), 2..20),
        off_after in 0usize..20,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (sent_before, sent_after, outcomes_after) = rt.block_on(async {
            let w = FakeWorld::new(T0);
            for i in 0..4 {
                w.tags.set(&instance(i), "web");
            }
            let e = Engine::new(w.ports(), web_runbooks(4, 100, 60), settings());
            let mut sent_before = 0;
            let mut outcomes_after = Vec::new();
            for (n, d) in stream.iter().enumerate() {
                if n == off_after {
                    w.mode.set(GlobalMode::Off);
                    sent_before = w.executor.sent().len();
                }
                let out = e.process_batch(vec![rec(&format!("m{n}"), cw_body("web:app_down", "ALARM", &instance(d.instance), &format!("t{}", d.alert)))], DEADLINE).await;
                if n >= off_after {
                    outcomes_after.push(out[0].outcome);
                }
            }
            if off_after >= stream.len() {
                sent_before = w.executor.sent().len();
            }
            (sent_before, w.executor.sent().len(), outcomes_after)
        });
        prop_assert_eq!(sent_before, sent_after, "commands were sent after the switch went off");
        // New alerts end killed; later copies of an alert already decided are duplicates.
        prop_assert!(outcomes_after.iter().all(|o| matches!(*o, Outcome::Killed | Outcome::Duplicate)), "{:?}", outcomes_after);
    }
}

/// Sends one alert whose `phase` outlives the invocation (it returns `Running` and goes back to
/// the queue; 40 polls in all, so a redelivery finishes it), then lets `gap` pass.
async fn running_then(w: &FakeWorld, e: &Engine, phase: &'static str, gap: Duration) {
    w.executor.plan_with(move |r| {
        if r.comment.ends_with(phase) {
            CommandPlan {
                running_polls: 40,
                ..CommandPlan::success()
            }
        } else {
            CommandPlan::success()
        }
    });
    let out = e
        .process_batch(
            vec![rec(
                "long",
                cw_body("web:app_down", "ALARM", &instance(0), "t-long"),
            )],
            T0 + 30_000,
        )
        .await;
    assert_eq!(out[0].outcome, Outcome::Running);
    assert!(out[0].retry);
    w.clock.advance(gap);
}

/// A remediation that outlives its invocation returns `Running`; its claim is handed back and its
/// command keeps running on the instance. SQS redelivers it only after the visibility timeout,
/// long after the claim lease, so the role lease is extended (`running_hold`) on the way out:
/// another remediation of the same role must wait (`max_concurrent`, DESIGN principle 5).
#[tokio::test]
async fn lease_covers_a_remediation_until_it_is_resumed() {
    let w = FakeWorld::new(T0);
    w.tags.set(&instance(0), "web");
    w.tags.set(&instance(1), "web");
    let e = Engine::new(w.ports(), web_runbooks(1, 100, 60), settings());
    // settings(): claim lease 60 s; a Lambda queue's visibility is 6 × 900 s.
    running_then(&w, &e, " commands", Duration::from_secs(120)).await;
    w.executor.plan_with(|_| CommandPlan::success());
    let out = e
        .process_batch(
            vec![rec(
                "other",
                cw_body("web:app_down", "ALARM", &instance(1), "t-other"),
            )],
            DEADLINE,
        )
        .await;
    assert_eq!(
        out[0].outcome,
        Outcome::CapacityWait,
        "a second remediation of role web started while the first one's command still runs (max in flight {})",
        w.executor.max_in_flight()
    );
}

/// Switching the global mode to `dry-run` while a remediation is in flight stops it from sending
/// more: the phase in flight is awaited, the rest are not sent, and `dry-run` is recorded.
/// (`off` stops it too; see the next test.)
#[tokio::test]
async fn dry_run_mode_stops_a_resumed_remediation_from_sending_more() {
    let w = FakeWorld::new(T0);
    w.tags.set(&instance(0), "web");
    let e = Engine::new(w.ports(), web_runbooks(1, 100, 60), settings());
    // The precheck is in flight when the invocation's time runs out; nothing changed yet.
    running_then(&w, &e, " precheck", Duration::from_secs(61)).await;
    let before = w.executor.sent().len();
    w.mode.set(GlobalMode::DryRun);
    w.executor.plan_with(|_| CommandPlan::success());
    let out = e
        .process_batch(
            vec![rec(
                "long",
                cw_body("web:app_down", "ALARM", &instance(0), "t-long"),
            )],
            DEADLINE,
        )
        .await;
    assert_eq!(
        w.executor.sent().len(),
        before,
        "dry-run mode, yet {:?} was sent ({:?})",
        w.executor.sent().last().map(|s| &s.request.comment),
        out[0].outcome
    );
    assert_eq!(out[0].outcome, Outcome::DryRun);
    let h = w.store.history();
    assert!(h[0].reason.contains("dry-run now"), "{}", h[0].reason);
}

/// `off` stops an in-flight remediation: no new command after the switch, `killed` recorded.
/// (Reported separately: that history item lists none of the commands that did run.)
#[tokio::test]
async fn off_mode_stops_a_resumed_remediation_from_sending_more() {
    let w = FakeWorld::new(T0);
    w.tags.set(&instance(0), "web");
    let e = Engine::new(w.ports(), web_runbooks(1, 100, 60), settings());
    running_then(&w, &e, " commands", Duration::from_secs(61)).await;
    let before = w.executor.sent().len();
    assert_eq!(before, 2, "precheck and commands were sent");
    w.mode.set(GlobalMode::Off);
    let out = e
        .process_batch(
            vec![rec(
                "long",
                cw_body("web:app_down", "ALARM", &instance(0), "t-long"),
            )],
            DEADLINE,
        )
        .await;
    assert_eq!(out[0].outcome, Outcome::Killed);
    assert_eq!(w.executor.sent().len(), before, "no new command after off");
    let hist = w.store.history();
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0].outcome, "killed");
}
