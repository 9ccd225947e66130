//! Handler overhead with zero-latency fakes (issue 9 / issue 4 benchmarks).
//!
//! Standard workload: SNS-wrapped CloudWatch alarm notifications in the shape of
//! `tests/fixtures/sns-envelope.json` (alarm `api:nginx_down`), ten distinct instances of role
//! `api`, one runbook with precheck, commands and verify, `max_concurrent` 64, generous
//! `max_attempts` (100, the maximum the runbook format allows; the clock moves an hour per batch), the fleet hourly cap raised, and a fresh `StateChangeTime` per alert on every
//! iteration, so every alert runs the full path (tag lookup → decide → mode → claim → budget →
//! lease → fleet slot → live alarm re-check → 3 × (save claim, SendCommand, save claim, poll) →
//! history → claim done → lease release → chat) and ends `healed`.
//!
//! Benchmarks (criterion prints time per iteration; throughput lines give alerts/s):
//! - `handler/one alert`: one record per `process_batch` on a current-thread runtime — the
//!   per-alert handler overhead (target ≤ 50 µs).
//! - `handler/10-record batch`: one warm 10-record batch on a multi-thread runtime, as the Lambda
//!   runs it (target ≤ 0.5 ms).
//! - `handler/lambda event 10 records`: the same batch starting from the Lambda SQS event JSON
//!   text and ending with the serialized partial-batch response (the work `alert-remediator`
//!   adds around the engine, mirrored here because that crate cannot be a dependency).
//! - `throughput/10k alerts, 1000 batches × 10 spawned`: 10,000 alerts as 1,000 concurrent
//!   10-record batches spawned on a 2-worker multi-thread runtime (target ≥ 20,000 alerts/s on
//!   2 cores).
//!
//! (A single 10,000-record `process_batch` is not measured: all records would share one fake
//! instant, so the attempt budget (≤ 100 per instance and window) and the fakes' O(n) pruning of
//! the fleet's hourly map would dominate — an artifact of the fakes, not of the engine.)
//!
//! Untimed between iterations: building the record bodies, and advancing the fake clock by 61
//! minutes so attempt windows and the fleet's hourly map stay as small as in real life (the
//! fakes prune by time; the fake clock only moves when told). The fake world is rebuilt every
//! [`WORLD_REUSE`] iterations so the claim and history maps stay bounded.
//!
//! Run: `cargo bench -p selfheal-service --bench handler`. `HANDLER_BENCH_QUICK=1` shortens it.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::RunbookMap;
use selfheal_service::fakes::FakeWorld;
use selfheal_service::ports::Clock;
use selfheal_service::{Engine, EngineSettings, InboundRecord, Outcome};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ENVELOPE: &str = include_str!("../../../tests/fixtures/sns-envelope.json");
const T0: i64 = 1_795_403_000_000;
const DEADLINE_AHEAD_MS: i64 = 840_000;
/// Iterations served by one fake world before a fresh one is built (untimed).
const WORLD_REUSE: u64 = 200;

const RUNBOOKS: &str = r#"{
  "api:nginx_down": {
    "description": "nginx is down",
    "owner": "@web",
    "precheck": ["! pgrep -x nginx"],
    "commands": ["systemctl restart nginx", "systemctl status nginx --no-pager"],
    "verify": ["systemctl is-active --quiet nginx"],
    "max_attempts": 100,
    "window_minutes": 60,
    "max_concurrent": 64
  }
}"#;

fn runbooks() -> Arc<RunbookMap> {
    Arc::new(
        load(
            &[RunbookSource {
                name: "bench.json",
                text: RUNBOOKS,
            }],
            &LoadOptions::default(),
        )
        .expect("valid runbooks")
        .0,
    )
}

/// The ten instances of role `api`.
fn instance(i: usize) -> String {
    format!("i-0c51f9f1213e6315{}", i % 10)
}

/// Builds SNS-wrapped alarm bodies from the fixture with a given instance and StateChangeTime.
struct Bodies {
    envelope: serde_json::Value,
    message: serde_json::Value,
}

impl Bodies {
    fn new() -> Self {
        let envelope: serde_json::Value = serde_json::from_str(ENVELOPE).expect("fixture is JSON");
        let message: serde_json::Value =
            serde_json::from_str(envelope["Message"].as_str().expect("Message"))
                .expect("Message is JSON");
        Self { envelope, message }
    }

    fn body(&self, seq: u64, inst: &str) -> String {
        let mut m = self.message.clone();
        // A fresh transition every time: distinct identity, so no alert is a duplicate.
        m["StateChangeTime"] =
            serde_json::Value::String(format!("2026-11-23T03:03:12.{seq:09}+0000"));
        if let Some(dims) = m
            .pointer_mut("/Trigger/Dimensions")
            .and_then(|d| d.as_array_mut())
        {
            for d in dims {
                if d["name"] == "InstanceId" {
                    d["value"] = serde_json::Value::String(inst.to_owned());
                }
            }
        }
        let mut e = self.envelope.clone();
        e["Message"] = serde_json::Value::String(m.to_string());
        e["MessageId"] = serde_json::Value::String(format!("sns-{seq}"));
        e.to_string()
    }

    /// `n` records over the ten instances, each with a fresh StateChangeTime.
    fn records(&self, seq: &AtomicU64, n: usize) -> Vec<InboundRecord> {
        (0..n)
            .map(|i| {
                let s = seq.fetch_add(1, Ordering::Relaxed);
                InboundRecord {
                    message_id: format!("m-{s}"),
                    body: self.body(s, &instance(i)),
                    receive_count: 1,
                }
            })
            .collect()
    }

    /// A Lambda SQS event holding the same records.
    fn sqs_event(&self, seq: &AtomicU64, n: usize) -> String {
        let records: Vec<serde_json::Value> = self
            .records(seq, n)
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "messageId": r.message_id,
                    "receiptHandle": "AQEB-bench",
                    "body": r.body,
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795403000000"},
                    "messageAttributes": {},
                    "md5OfBody": "0",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:selfheal-alerts",
                    "awsRegion": "ap-northeast-1"
                })
            })
            .collect();
        serde_json::json!({ "Records": records }).to_string()
    }
}

/// A fake world and an engine over it.
struct Rig {
    world: FakeWorld,
    engine: Engine,
    used: u64,
}

impl Rig {
    fn new(map: &Arc<RunbookMap>) -> Self {
        let world = FakeWorld::new(T0);
        for i in 0..10 {
            world.tags.set(&instance(i), "api");
        }
        let settings = EngineSettings {
            max_per_hour: 1_000_000_000,
            ..EngineSettings::default()
        };
        let engine = Engine::new(world.ports(), map.clone(), settings);
        Self {
            world,
            engine,
            used: 0,
        }
    }

    /// Called before every timed iteration (untimed): keeps the fakes' maps small.
    fn next(&mut self, map: &Arc<RunbookMap>) -> (Engine, i64) {
        self.used += 1;
        if self.used > WORLD_REUSE {
            *self = Self::new(map);
            self.used = 1;
        }
        self.world.clock.advance(Duration::from_secs(61 * 60));
        let now = self.world.clock.now_ms();
        (self.engine.clone(), now + DEADLINE_AHEAD_MS)
    }
}

/// Mirror of `alert_remediator::split` for SQS events (that crate depends on this one).
fn split_sqs(event: &serde_json::Value) -> Vec<InboundRecord> {
    event
        .get("Records")
        .and_then(|r| r.as_array())
        .map(|records| {
            records
                .iter()
                .enumerate()
                .map(|(i, r)| InboundRecord {
                    message_id: r
                        .get("messageId")
                        .and_then(|v| v.as_str())
                        .map_or_else(|| format!("record-{i}"), str::to_owned),
                    body: r
                        .get("body")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    receive_count: r
                        .pointer("/attributes/ApproximateReceiveCount")
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(1),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Every alert must really run the full path: check the workload before timing it.
fn sanity_check(map: &Arc<RunbookMap>, bodies: &Bodies, seq: &AtomicU64) {
    let rt = multi_thread(2);
    let mut rig = Rig::new(map);
    for _ in 0..3 {
        let (engine, deadline) = rig.next(map);
        let results = rt.block_on(engine.process_batch(bodies.records(seq, 10), deadline));
        for r in &results {
            assert_eq!(r.outcome, Outcome::Healed, "{r:?}");
        }
    }
    assert_eq!(
        rig.world.executor.sent().len(),
        3 * 10 * 3,
        "precheck, commands, verify per alert"
    );
    assert_eq!(rig.world.store.history().len(), 30);
}

fn quick() -> bool {
    std::env::var_os("HANDLER_BENCH_QUICK").is_some()
}

fn latency(c: &mut Criterion) {
    let map = runbooks();
    let bodies = Bodies::new();
    let seq = AtomicU64::new(1);
    sanity_check(&map, &bodies, &seq);

    let mut group = c.benchmark_group("handler");
    if quick() {
        group
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
    }

    // Per-alert overhead: one record, current-thread runtime.
    let rt1 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rig = Rig::new(&map);
    group.throughput(Throughput::Elements(1));
    group.bench_function("one alert", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (engine, deadline) = rig.next(&map);
                let records = bodies.records(&seq, 1);
                let start = Instant::now();
                let out = rt1.block_on(engine.process_batch(records, deadline));
                total += start.elapsed();
                black_box(out);
            }
            total
        })
    });

    // A warm 10-record batch on a multi-thread runtime (as the Lambda's #[tokio::main]).
    let rt = multi_thread(2);
    let mut rig = Rig::new(&map);
    group.throughput(Throughput::Elements(10));
    group.bench_function("10-record batch", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (engine, deadline) = rig.next(&map);
                let records = bodies.records(&seq, 10);
                let start = Instant::now();
                let out = rt.block_on(engine.process_batch(records, deadline));
                total += start.elapsed();
                black_box(out);
            }
            total
        })
    });

    // Event JSON text in, response JSON text out (what the Lambda handler adds around the engine).
    let mut rig = Rig::new(&map);
    group.bench_function("lambda event 10 records", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (engine, deadline) = rig.next(&map);
                let event_text = bodies.sqs_event(&seq, 10);
                let start = Instant::now();
                let response = rt.block_on(async {
                    let event: serde_json::Value =
                        serde_json::from_str(&event_text).expect("event");
                    let results = engine.process_batch(split_sqs(&event), deadline).await;
                    let failures: Vec<serde_json::Value> = results
                        .iter()
                        .filter(|r| r.retry)
                        .map(|r| serde_json::json!({"itemIdentifier": r.message_id}))
                        .collect();
                    serde_json::json!({ "batchItemFailures": failures }).to_string()
                });
                total += start.elapsed();
                black_box(response);
            }
            total
        })
    });
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let map = runbooks();
    let bodies = Bodies::new();
    let seq = AtomicU64::new(1_000_000_000);
    let rt = multi_thread(2);
    let mut group = c.benchmark_group("throughput");
    group.sample_size(10);
    if quick() {
        group
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_millis(500));
    }
    const ALERTS: usize = 10_000;
    group.throughput(Throughput::Elements(ALERTS as u64));

    // 1,000 concurrent 10-record batches spread over the 2 worker threads.
    group.bench_with_input(
        BenchmarkId::new("10k alerts", "1000 batches x 10 spawned"),
        &ALERTS,
        |b, &n| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let rig = Rig::new(&map);
                    let batches: Vec<Vec<InboundRecord>> =
                        (0..n / 10).map(|_| bodies.records(&seq, 10)).collect();
                    let start = Instant::now();
                    let healed = rt.block_on(async {
                        let handles: Vec<_> = batches
                            .into_iter()
                            .map(|records| {
                                let engine = rig.engine.clone();
                                let clock = rig.world.clock.clone();
                                tokio::spawn(async move {
                                    // Each batch is its own invocation, an hour after the previous
                                    // one (keeps the fakes' time-pruned maps at real-life size).
                                    // The other worker moves the clock too, so the deadline is
                                    // far away (time never runs out in this benchmark).
                                    clock.advance(Duration::from_secs(61 * 60));
                                    let deadline = clock.now_ms() + 10 * 365 * 86_400_000;
                                    engine.process_batch(records, deadline).await
                                })
                            })
                            .collect();
                        let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
                        for h in handles {
                            for r in h.await.expect("batch task") {
                                *outcomes.entry(r.outcome.as_str()).or_default() += 1;
                            }
                        }
                        outcomes
                    });
                    total += start.elapsed();
                    assert_eq!(
                        healed.get("healed").copied(),
                        Some(n),
                        "every alert must be healed: {healed:?}"
                    );
                }
                total
            })
        },
    );

    group.finish();
}

criterion_group!(benches, latency, throughput);
criterion_main!(benches);
