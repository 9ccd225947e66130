//! The deterministic simulator: several workers run the real engine over fault-injecting
//! wrappers of the in-memory fakes, fed by a simulated SQS queue, on simulated time, while the
//! world changes around them. A seed fully determines a run.

pub mod approvals;
pub mod check;
pub mod exec;
pub mod faults;
pub mod queue;
pub mod rng;
pub mod workload;

use exec::{lock, waker_for, ReadySet, SimClock, SimCore};
use faults::{Fx, Gate, Rates, Sabotage};
use queue::{Queue, Receipt};
use rng::Rng;
use selfheal_core::silence::SilenceRecord;
use selfheal_core::{AlarmState, RunbookMap};
use selfheal_service::fakes::{
    CommandPlan, FakeAlarms, FakeExecutor, FakeMode, FakeStore, FakeTags, Recorder,
};
use selfheal_service::ports::{EpochMillis, GlobalMode};
use selfheal_service::{Engine, EngineSettings, InboundRecord, Outcome, Ports, RecordResult};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use workload::{AlertSpec, Config, Planner, WorldEvent};

/// 2026-11-23T03:03:20Z: far from midnight, so a run never spans two history days.
pub const T0: EpochMillis = 1_795_403_000_000;
/// The drain gives up after this much simulated time past the faulty part.
const DRAIN_LIMIT_MS: EpochMillis = 48 * 3_600_000;
const MAX_STEPS: u64 = 2_000_000;
const MAX_REDRIVES: u32 = 30;
/// The scheduled invocation that ends unanswered approval requests.
const TICK_MS: EpochMillis = 300_000;

#[derive(Debug, Clone)]
pub struct Violation {
    pub inv: u8,
    /// Which way the invariant broke (to group failing seeds).
    pub kind: &'static str,
    pub text: String,
}

/// One record's result as the worker saw it.
#[derive(Debug, Clone)]
#[allow(dead_code)] // read through Debug in the printed trace
pub struct Processed {
    pub t: EpochMillis,
    pub worker: String,
    pub message_id: String,
    pub alert: usize,
    pub outcome: Outcome,
    pub retry: bool,
    pub deleted: bool,
}

#[derive(Debug, Default, Clone)]
#[allow(dead_code)] // read through Debug in the printed trace
pub struct Stats {
    pub messages: usize,
    pub batches: u64,
    pub crashes: u32,
    pub kills: u32,
    pub redrives: u32,
    pub faults: u64,
    pub calls: u64,
    pub sends: usize,
    pub sim_ms: EpochMillis,
    pub outcomes: std::collections::BTreeMap<String, usize>,
}

pub struct RunReport {
    pub seed: u64,
    pub violations: Vec<Violation>,
    pub trace: Option<Vec<String>>,
    pub stats: Stats,
}

pub struct World {
    pub executor: Arc<FakeExecutor>,
    pub store: Arc<FakeStore>,
    pub tags: Arc<FakeTags>,
    pub alarms: Arc<FakeAlarms>,
    pub mode: Arc<FakeMode>,
    pub chat: Arc<Recorder>,
    pub escalations: Arc<Recorder>,
    pub planner: Arc<Mutex<Planner>>,
    pub stash: Arc<Mutex<Option<CommandPlan>>>,
}

type BatchFuture = Pin<Box<dyn Future<Output = Vec<RecordResult>>>>;

struct Busy {
    task: u64,
    kill_at: EpochMillis,
    receipts: Vec<(Receipt, String, usize)>,
}

struct Worker {
    idx: usize,
    gen: u32,
    gate: Gate,
    engine: Engine,
    busy: Option<Busy>,
    available_at: EpochMillis,
}

pub struct Sim {
    pub cfg: Config,
    pub core: Arc<SimCore>,
    pub fx: Arc<Fx>,
    pub world: World,
    pub runbooks: Arc<RunbookMap>,
    pub queue: Queue,
    workers: Vec<Worker>,
    tasks: HashMap<u64, BatchFuture>,
    next_task: u64,
    ready: Arc<ReadySet>,
    sched: Rng,
    wrng: Rng,
    pubs: Vec<(EpochMillis, usize, usize)>,
    next_pub: usize,
    events: Vec<(EpochMillis, WorldEvent)>,
    next_event: usize,
    pub alerts: Vec<AlertSpec>,
    /// Global mode changes (the initial `enforce` at T0 included).
    pub flips: Vec<(EpochMillis, GlobalMode)>,
    pub processed: Vec<Processed>,
    roles_now: Vec<String>,
    alarm_ok: HashMap<String, bool>,
    pub stats: Stats,
    pub violations: Vec<Violation>,
    pub fault_end: EpochMillis,
    pub human: approvals::Human,
    /// The next scheduled invocation (every 5 minutes, as the stack's schedule).
    next_tick: EpochMillis,
    ticks: bool,
}

impl Sim {
    pub fn new(seed: u64, verbose: bool, sabotage: Sabotage) -> Self {
        let mut master = Rng::new(seed);
        let cfg = Config::from_seed(&mut master);
        let core = SimCore::new(T0);
        let fx = Fx::new(core.clone(), master.fork(), cfg.rates, verbose, sabotage);
        let clock: Arc<SimClock> = Arc::new(SimClock(core.clone()));
        let executor = FakeExecutor::new(clock);
        let planner = Arc::new(Mutex::new(Planner {
            profile: workload::pick_profile(&mut master),
            rng: master.fork(),
        }));
        let stash: Arc<Mutex<Option<CommandPlan>>> = Arc::default();
        {
            let stash = stash.clone();
            executor.plan_with(move |_| lock(&stash).clone().unwrap_or_else(CommandPlan::success));
        }
        let tags = Arc::new(FakeTags::default());
        for i in 0..workload::INSTANCES {
            tags.set(&workload::instance(i), workload::home_role(i));
        }
        let alarms = FakeAlarms::all_in_alarm();
        for i in 0..workload::INSTANCES {
            for names in workload::NAMES {
                for n in names {
                    alarms.watch(&workload::alarm_name(n, i), &[&workload::instance(i)]);
                }
            }
        }
        let world = World {
            executor,
            store: FakeStore::new(),
            tags,
            alarms,
            mode: FakeMode::new(GlobalMode::Enforce),
            chat: Recorder::new(),
            escalations: Recorder::new(),
            planner,
            stash,
        };
        let runbooks = workload::runbooks(&cfg);
        let mut alerts = workload::alerts(&mut master, T0, cfg.fault_ms);
        let mut violations = Vec::new();
        for (k, a) in alerts.iter_mut().enumerate() {
            let ids: Vec<String> = a
                .deliveries
                .iter()
                .map(|d| {
                    selfheal_core::parse_body(&d.body, Some(&d.message_id))
                        .item
                        .map_or_else(|e| format!("invalid: {}", e.reason), |al| al.identity)
                })
                .collect();
            a.identity = ids[0].clone();
            if ids.iter().any(|i| *i != ids[0]) {
                violations.push(Violation {
                    inv: 1,
                    kind: "identity split",
                    text: format!(
                        "copies of one alarm transition (alert #{k}, {}) parse to different identities: {ids:?}",
                        a.short()
                    ),
                });
            }
        }
        let mut pubs: Vec<(EpochMillis, usize, usize)> = alerts
            .iter()
            .enumerate()
            .flat_map(|(k, a)| {
                a.deliveries
                    .iter()
                    .enumerate()
                    .map(move |(c, d)| (d.at, k, c))
            })
            .collect();
        pubs.sort_by_key(|p| *p);
        let events = workload::world_events(&mut master, T0, cfg.fault_ms);
        let queue = Queue::new(cfg.visibility_ms, cfg.max_receive);
        let stats = Stats {
            messages: pubs.len(),
            ..Stats::default()
        };
        let mut sim = Self {
            fault_end: T0 + cfg.fault_ms,
            cfg,
            core,
            fx,
            world,
            runbooks,
            queue,
            workers: Vec::new(),
            tasks: HashMap::new(),
            next_task: 1,
            ready: Arc::new(ReadySet::default()),
            sched: master.fork(),
            wrng: master.fork(),
            pubs,
            next_pub: 0,
            events,
            next_event: 0,
            alerts,
            flips: vec![(T0, GlobalMode::Enforce)],
            processed: Vec::new(),
            roles_now: (0..workload::INSTANCES)
                .map(|i| workload::home_role(i).to_owned())
                .collect(),
            alarm_ok: HashMap::new(),
            stats,
            violations,
            human: approvals::Human::new(master.fork()),
            next_tick: T0 + TICK_MS,
            ticks: true,
        };
        for idx in 0..sim.cfg.workers {
            let (gate, engine) = sim.engine_for(idx, 0);
            sim.workers.push(Worker {
                idx,
                gen: 0,
                gate,
                engine,
                busy: None,
                available_at: T0,
            });
        }
        let cfg = sim.cfg.clone();
        sim.fx.note(|| format!("seed {seed}: {cfg:?}"));
        for (k, a) in sim.alerts.iter().enumerate() {
            let line = format!(
                "alert #{k}: {} identity {} ({}) deliveries {:?}",
                a.short(),
                a.identity,
                &selfheal_core::claim_id(&a.identity)[..8],
                a.deliveries
                    .iter()
                    .map(|d| format!("{}@{}s", d.message_id, (d.at - T0) / 1000))
                    .collect::<Vec<_>>()
            );
            sim.fx.note(|| line);
        }
        sim
    }

    /// A fresh engine for worker `idx`, generation `gen` (a restarted process has a new owner).
    fn engine_for(&self, idx: usize, gen: u32) -> (Gate, Engine) {
        let gate = Gate {
            name: format!("w{idx}.{gen}"),
            crashed: Arc::new(AtomicBool::new(false)),
            fx: self.fx.clone(),
        };
        let w = &self.world;
        let ports = Ports {
            executor: Arc::new(faults::SimExecutor {
                inner: w.executor.clone(),
                g: gate.clone(),
                planner: w.planner.clone(),
                stash: w.stash.clone(),
            }),
            store: Arc::new(faults::SimStore {
                inner: w.store.clone(),
                g: gate.clone(),
            }),
            tags: Arc::new(faults::SimTags {
                inner: w.tags.clone(),
                g: gate.clone(),
            }),
            alarms: Arc::new(faults::SimAlarms {
                inner: w.alarms.clone(),
                g: gate.clone(),
            }),
            mode: Arc::new(faults::SimMode {
                inner: w.mode.clone(),
                g: gate.clone(),
                kept: Mutex::new(None),
            }),
            chat: Arc::new(faults::SimChat {
                inner: w.chat.clone(),
                g: gate.clone(),
                op: "chat",
            }),
            escalator: Arc::new(faults::SimChat {
                inner: w.escalations.clone(),
                g: gate.clone(),
                op: "escalate",
            }),
            clock: Arc::new(SimClock(self.core.clone())),
        };
        let ms = |v: EpochMillis| Duration::from_millis(u64::try_from(v).unwrap_or(0));
        let settings = EngineSettings {
            max_per_hour: self.cfg.max_per_hour,
            claim_lease: ms(self.cfg.claim_lease_ms),
            owner: gate.name.clone(),
            redrive_limit: self.cfg.max_receive,
            capacity_retry: Duration::from_secs(60),
            running_hold: Duration::from_secs(3600),
            ..EngineSettings::default()
        };
        (gate, Engine::new(ports, self.runbooks.clone(), settings))
    }

    fn note(&self, line: impl FnOnce() -> String) {
        self.fx.note(line);
    }

    /// Runs the faulty part, then a fault-free drain, then checks every invariant.
    pub fn run(mut self) -> RunReport {
        let mut draining = false;
        let mut steps = 0u64;
        loop {
            steps += 1;
            if steps > MAX_STEPS {
                self.stuck("the step limit was hit");
                break;
            }
            while let Some(tid) = {
                let sched = &mut self.sched;
                self.ready.take(|n| sched.index(n))
            } {
                self.poll_task(tid);
            }
            if self.core.fire_due() {
                continue;
            }
            let now = self.core.now();
            for w in 0..self.workers.len() {
                if self.workers[w]
                    .busy
                    .as_ref()
                    .is_some_and(|b| b.kill_at <= now)
                {
                    self.stats.kills += 1;
                    self.crash(w, "the invocation timed out (Lambda stops it)");
                }
            }
            {
                let alerts = &self.alerts;
                self.human.watch(&self.world.chat, now, |id| {
                    alerts.iter().position(|a| a.identity == id).unwrap_or(0)
                });
            }
            for line in self
                .human
                .press_due(now, &self.world.store, &mut self.queue)
            {
                self.fx.note(|| line);
            }
            if self.human.new_requests {
                self.human.new_requests = false;
                self.ticks = true;
            }
            if self.ticks && now >= self.next_tick {
                self.next_tick = now + TICK_MS;
                // Once draining, the schedule matters only while a request is open.
                if draining && self.awaiting().is_none() {
                    self.ticks = false;
                } else if let Some(w) = (0..self.workers.len()).find(|&w| {
                    self.workers[w].busy.is_none() && self.workers[w].available_at <= now
                }) {
                    self.start_batch(w, Vec::new(), Vec::new(), now);
                    continue;
                }
            }
            while self.next_pub < self.pubs.len() && self.pubs[self.next_pub].0 <= now {
                let (_, k, c) = self.pubs[self.next_pub];
                self.next_pub += 1;
                let d = &self.alerts[k].deliveries[c];
                let (mid, body) = (d.message_id.clone(), d.body.clone());
                self.note(|| format!("publish {mid} (alert #{k})"));
                self.queue.send(mid, body, k, now);
            }
            while self.next_event < self.events.len() && self.events[self.next_event].0 <= now {
                let (_, e) = self.events[self.next_event];
                self.next_event += 1;
                self.world_event(e);
            }
            if !draining && now >= self.fault_end {
                draining = true;
                self.fx.set_rates(Rates::default());
                self.note(|| "faults off: draining".to_owned());
            }
            if self.dispatch(now) {
                continue;
            }
            let idle = self.workers.iter().all(|w| w.busy.is_none());
            let settled = draining
                && self.next_pub >= self.pubs.len()
                && self.queue.msgs.is_empty()
                && idle
                && !self.human.pending();
            if settled {
                if !self.queue.dlq.is_empty() {
                    if self.stats.redrives >= MAX_REDRIVES {
                        self.stuck("the DLQ was redriven too often");
                        break;
                    }
                    self.stats.redrives += 1;
                    let n = self.queue.redrive(now);
                    self.note(|| format!("DLQ redrive of {n} message(s)"));
                    continue;
                }
                // Requests still awaiting an answer keep the drain going (the scheduled
                // invocation ends them), at most an hour past their expiry.
                match self.awaiting() {
                    None => break,
                    Some(exp) if now > exp + 3_600_000 => {
                        self.stuck("approval request(s) still open an hour after they expired");
                        break;
                    }
                    Some(_) => self.ticks = true,
                }
            }
            let mut next: Vec<EpochMillis> = Vec::new();
            next.extend(self.core.next_timer());
            next.extend(self.queue.next_visible_after(now));
            next.extend(self.pubs.get(self.next_pub).map(|p| p.0));
            next.extend(self.events.get(self.next_event).map(|e| e.0));
            for w in &self.workers {
                match &w.busy {
                    Some(b) => next.push(b.kill_at),
                    None if w.available_at > now => next.push(w.available_at),
                    None => {}
                }
            }
            if !draining {
                next.push(self.fault_end);
            }
            next.extend(self.human.next_at());
            if self.ticks {
                next.push(self.next_tick);
            }
            match next.into_iter().filter(|t| *t > now).min() {
                Some(t) if t <= self.fault_end + DRAIN_LIMIT_MS => self.core.advance_to(t),
                Some(_) => {
                    self.stuck("the drain did not finish within 48 simulated hours");
                    break;
                }
                None => {
                    if self.queue.msgs.is_empty() && self.queue.dlq.is_empty() {
                        break;
                    }
                    self.stuck("nothing is left to happen but the queue is not empty");
                    break;
                }
            }
        }
        self.stats.sim_ms = self.core.now() - T0;
        {
            let log = lock(&self.fx.log);
            self.stats.faults = log.faults;
            self.stats.calls = log.calls;
            self.stats.sends = log.sends.len();
        }
        for p in &self.processed {
            *self
                .stats
                .outcomes
                .entry(p.outcome.as_str().to_owned())
                .or_default() += 1;
        }
        let mut violations = std::mem::take(&mut self.violations);
        violations.extend(check::all(&self));
        let trace = lock(&self.fx.log).lines.take();
        RunReport {
            seed: 0,
            violations,
            trace,
            stats: self.stats.clone(),
        }
    }

    fn stuck(&mut self, why: &str) {
        let now = self.core.now();
        let left: Vec<String> = self
            .queue
            .msgs
            .iter()
            .chain(self.queue.dlq.iter())
            .map(|m| {
                let last = self
                    .processed
                    .iter()
                    .rev()
                    .find(|p| p.message_id == m.message_id && p.alert == m.alert)
                    .map_or("never processed".to_owned(), |p| {
                        p.outcome.as_str().to_owned()
                    });
                format!(
                    "{} (alert #{}, receives {}, last outcome {last})",
                    m.message_id, m.alert, m.receive_count
                )
            })
            .collect();
        self.violations.push(Violation {
            inv: 6,
            kind: "not drained",
            text: format!(
                "{why} (at +{}s): {} message(s) left: {}",
                (now - T0) / 1000,
                left.len(),
                left.join(", ")
            ),
        });
    }

    /// Idle workers receive a batch each; true when one started.
    fn dispatch(&mut self, now: EpochMillis) -> bool {
        let mut order: Vec<usize> = (0..self.workers.len()).collect();
        for i in (1..order.len()).rev() {
            let j = self.sched.index(i + 1);
            order.swap(i, j);
        }
        let mut started = false;
        for w in order {
            if self.workers[w].busy.is_some() || self.workers[w].available_at > now {
                continue;
            }
            if !self.queue.any_visible(now) {
                break;
            }
            let max = 1 + self.sched.index(self.cfg.max_batch);
            let got = self.queue.receive(now, max, &mut self.sched);
            if got.is_empty() {
                continue;
            }
            let records: Vec<_> = got.iter().map(|(_, r, _)| r.clone()).collect();
            let receipts: Vec<_> = got
                .into_iter()
                .map(|(rc, r, k)| (rc, r.message_id, k))
                .collect();
            self.start_batch(w, records, receipts, now);
            started = true;
        }
        started
    }

    /// Worker `w` starts one invocation with `records` (none: the scheduled invocation).
    fn start_batch(
        &mut self,
        w: usize,
        records: Vec<InboundRecord>,
        receipts: Vec<(Receipt, String, usize)>,
        now: EpochMillis,
    ) {
        let worker = &mut self.workers[w];
        let name = worker.gate.name.clone();
        let list: Vec<String> = records
            .iter()
            .map(|r| format!("{} (receive {})", r.message_id, r.receive_count))
            .collect();
        self.fx.note(|| {
            if list.is_empty() {
                format!("{name} runs the scheduled invocation")
            } else {
                format!("{name} receives [{}]", list.join(", "))
            }
        });
        let engine = worker.engine.clone();
        let deadline = now + self.cfg.budget_ms;
        let fut: BatchFuture =
            Box::pin(async move { engine.process_batch(records, deadline).await });
        let tid = self.next_task;
        self.next_task += 1;
        self.tasks.insert(tid, fut);
        worker.busy = Some(Busy {
            task: tid,
            kill_at: now + self.cfg.lambda_timeout_ms,
            receipts,
        });
        self.stats.batches += 1;
        self.ready.push(tid);
    }

    /// Approval requests still open (claims awaiting approval, or an expiry decided but not yet
    /// closed: the next scheduled invocation finishes it, as the stack's 5-minute schedule
    /// would), with the latest expiry.
    fn awaiting(&self) -> Option<EpochMillis> {
        use selfheal_service::ports::ClaimState;
        self.alerts
            .iter()
            .filter(|a| a.name == workload::APPROVE_NAME)
            .filter_map(|a| self.world.store.claim_of(&a.identity))
            .filter(|c| {
                c.state == ClaimState::AwaitingApproval
                    || c.state != ClaimState::Done
                        && c.decided
                            .as_ref()
                            .is_some_and(|d| d.outcome == selfheal_service::Outcome::Expired)
            })
            .map(|c| c.approval_expires_at_ms.unwrap_or(0))
            .max()
    }

    fn poll_task(&mut self, tid: u64) {
        let Some(w) = self
            .workers
            .iter()
            .position(|w| w.busy.as_ref().is_some_and(|b| b.task == tid))
        else {
            return;
        };
        let Some(fut) = self.tasks.get_mut(&tid) else {
            return;
        };
        let waker = waker_for(tid, &self.ready);
        let mut cx = Context::from_waker(&waker);
        let polled = fut.as_mut().poll(&mut cx);
        if self.workers[w].gate.crashed.load(Ordering::SeqCst) {
            self.stats.crashes += 1;
            self.crash(w, "crashed at a port call");
            return;
        }
        if let Poll::Ready(results) = polled {
            self.tasks.remove(&tid);
            self.finish_batch(w, results);
        }
    }

    /// The worker's process dies: its batch is dropped, nothing is deleted, and a new process
    /// (a new owner) takes its place a few seconds later.
    fn crash(&mut self, w: usize, why: &str) {
        let now = self.core.now();
        let restart = self.sched.range(1_000, 10_000);
        let (idx, gen) = (self.workers[w].idx, self.workers[w].gen + 1);
        if let Some(b) = self.workers[w].busy.take() {
            self.tasks.remove(&b.task);
        }
        let old = self.workers[w].gate.name.clone();
        self.workers[w].gate.crashed.store(true, Ordering::SeqCst);
        self.note(|| format!("{old} dies: {why}"));
        let (gate, engine) = self.engine_for(idx, gen);
        let worker = &mut self.workers[w];
        worker.gen = gen;
        worker.gate = gate;
        worker.engine = engine;
        worker.available_at = now + restart;
    }

    fn finish_batch(&mut self, w: usize, results: Vec<RecordResult>) {
        let now = self.core.now();
        let Some(busy) = self.workers[w].busy.take() else {
            return;
        };
        let name = self.workers[w].gate.name.clone();
        if results.len() != busy.receipts.len() {
            self.violations.push(Violation {
                inv: 6,
                kind: "result count",
                text: format!(
                    "{name}: process_batch returned {} results for {} records",
                    results.len(),
                    busy.receipts.len()
                ),
            });
        }
        for ((receipt, mid, k), r) in busy.receipts.into_iter().zip(results) {
            if r.message_id != mid {
                self.violations.push(Violation {
                    inv: 6,
                    kind: "result order",
                    text: format!("{name}: result for {} in the place of {mid}", r.message_id),
                });
            }
            if r.retry != r.outcome.returns_to_queue() {
                self.violations.push(Violation {
                    inv: 6,
                    kind: "no stated reason",
                    text: format!(
                        "{name}: {mid} ended {} but retry={} (no stated reason)",
                        r.outcome, r.retry
                    ),
                });
            }
            let deleted = if r.retry {
                if let Some(d) = r.retry_after {
                    let at = now + i64::try_from(d.as_millis()).unwrap_or(0);
                    self.queue.change_visibility(receipt, at);
                }
                false
            } else {
                self.queue.delete(receipt)
            };
            self.note(|| {
                format!(
                    "{name} {mid}: {}{}",
                    r.outcome,
                    if r.retry {
                        format!(
                            " -> back to the queue{}",
                            r.retry_after
                                .map(|d| format!(" after {}s", d.as_secs()))
                                .unwrap_or_default()
                        )
                    } else if deleted {
                        " -> deleted".to_owned()
                    } else {
                        " -> delete with a stale receipt (not deleted)".to_owned()
                    }
                )
            });
            self.processed.push(Processed {
                t: now,
                worker: name.clone(),
                message_id: mid,
                alert: k,
                outcome: r.outcome,
                retry: r.retry,
                deleted,
            });
        }
        self.workers[w].available_at = now;
    }

    fn world_event(&mut self, e: WorldEvent) {
        let now = self.core.now();
        let rng = &mut self.wrng;
        match e {
            WorldEvent::Mode => {
                let cur = self.flips.last().map_or(GlobalMode::Enforce, |f| f.1);
                let next = match cur {
                    GlobalMode::Enforce => *rng.pick(&[GlobalMode::Off, GlobalMode::DryRun]),
                    GlobalMode::Off if rng.chance(300) => GlobalMode::DryRun,
                    GlobalMode::DryRun if rng.chance(300) => GlobalMode::Off,
                    _ => GlobalMode::Enforce,
                };
                self.world.mode.set(next);
                self.flips.push((now, next));
                self.fx
                    .note(|| format!("WORLD global mode -> {}", next.as_str()));
            }
            WorldEvent::Silence => {
                let i = rng.index(workload::INSTANCES);
                let ri = rng.index(workload::ROLES.len());
                let scope = match rng.below(100) {
                    0..=39 => format!("instance:{}", workload::instance(i)),
                    40..=59 => format!("role:{}", workload::ROLES[ri]),
                    60..=84 => format!(
                        "key:{}:{}",
                        workload::ROLES[ri],
                        rng.pick(&workload::NAMES[ri])
                    ),
                    _ => "all".to_owned(),
                };
                let until = now + rng.range(120_000, 1_200_000);
                let id = format!("s{}", self.next_event);
                self.fx
                    .note(|| format!("WORLD silence {id} {scope} for {}s", (until - now) / 1000));
                self.world.store.add_silence(SilenceRecord {
                    id,
                    scope,
                    until_ms: Some(until),
                    window: None,
                    tz: None,
                    reason: "simulated maintenance".into(),
                    created_by: "sim".into(),
                    created_at_ms: now,
                });
            }
            WorldEvent::Tag => {
                let i = rng.index(workload::INSTANCES);
                let home = workload::home_role(i);
                let next = if self.roles_now[i] == home {
                    if rng.chance(500) {
                        "retired".to_owned()
                    } else {
                        workload::ROLES
                            .iter()
                            .find(|r| **r != home)
                            .map_or("retired".to_owned(), |r| (*r).to_owned())
                    }
                } else {
                    home.to_owned()
                };
                let inst = workload::instance(i);
                self.fx
                    .note(|| format!("WORLD role tag of {inst} -> {next}"));
                self.world.tags.set(&inst, &next);
                self.roles_now[i] = next;
            }
            WorldEvent::Alarm => {
                let names: Vec<String> =
                    self.alerts.iter().filter_map(|a| a.alarm.clone()).collect();
                if names.is_empty() {
                    return;
                }
                let name = rng.pick(&names).clone();
                let ok = !self.alarm_ok.get(&name).copied().unwrap_or(false);
                let state = if ok {
                    AlarmState::Ok
                } else {
                    AlarmState::Alarm
                };
                self.fx
                    .note(|| format!("WORLD alarm {name} -> {}", state.as_str()));
                self.world.alarms.set(&name, Some(state));
                self.alarm_ok.insert(name, ok);
            }
            WorldEvent::Plan => {
                let p = workload::pick_profile(rng);
                self.fx.note(|| format!("WORLD commands now behave {p:?}"));
                lock(&self.world.planner).profile = p;
            }
        }
    }
}

/// Runs one seed; a panic inside the engine is reported as a violation.
pub fn run_seed(seed: u64, verbose: bool) -> RunReport {
    run_seed_with(seed, verbose, Sabotage::None)
}

/// Runs one seed with a defect planted in the ports (see [`Sabotage`]).
pub fn run_seed_with(seed: u64, verbose: bool, sabotage: Sabotage) -> RunReport {
    let r = std::panic::catch_unwind(|| {
        let mut report = Sim::new(seed, verbose, sabotage).run();
        report.seed = seed;
        report
    });
    r.unwrap_or_else(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        RunReport {
            seed,
            violations: vec![Violation {
                inv: 0,
                kind: "panic",
                text: format!("the run panicked: {msg}"),
            }],
            trace: None,
            stats: Stats::default(),
        }
    })
}
