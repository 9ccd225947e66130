//! Safety invariants under random alert streams (proptest) and a storm (DESIGN §1, principles 4–6,
//! 10): at most one execution per alert identity, never more than `max_concurrent` per role,
//! never more than `max_attempts` per window, and `off` means zero commands.

mod common;
use common::*;
use proptest::prelude::*;
use selfheal_service::fakes::{CommandPlan, FakeWorld};
use selfheal_service::ports::GlobalMode;
use selfheal_service::{Engine, InboundRecord, Outcome};
use std::collections::HashMap;

fn storm_runbooks(
    max_concurrent: u32,
    max_attempts: u32,
) -> std::sync::Arc<selfheal_core::RunbookMap> {
    runbooks(&format!(
        r#"{{"web:*": {{"precheck": ["true"], "commands": ["systemctl restart app"], "verify": ["true"],
            "max_concurrent": {max_concurrent}, "max_attempts": {max_attempts}, "window_minutes": 60}}}}"#
    ))
}

fn instance(i: usize) -> String {
    format!("i-{i:08x}")
}

/// Feeds records like SQS would: whatever goes back to the queue is delivered again in a later
/// batch, until nothing is left (or the round limit is hit).
async fn drain(
    e: &Engine,
    w: &FakeWorld,
    mut queue: Vec<InboundRecord>,
    batch: usize,
) -> Vec<(String, Outcome)> {
    let mut finals = Vec::new();
    let mut rounds = 0;
    while !queue.is_empty() && rounds < 10_000 {
        rounds += 1;
        let take: Vec<_> = queue.drain(..batch.min(queue.len())).collect();
        let out = e.process_batch(take.clone(), DEADLINE).await;
        for (r, res) in take.into_iter().zip(out) {
            if res.retry {
                let mut again = r;
                again.receive_count += 1;
                queue.push(again);
            } else {
                finals.push((res.message_id, res.outcome));
            }
        }
        w.clock.advance(std::time::Duration::from_millis(500));
    }
    finals
}

#[tokio::test]
async fn storm_of_500_alerts_over_200_instances_never_exceeds_two_in_flight() {
    let w = FakeWorld::new(T0);
    for i in 0..200 {
        w.tags.set(&instance(i), "web");
    }
    w.executor.plan_with(|_| CommandPlan {
        running_polls: 2,
        ..CommandPlan::success()
    });
    let e = Engine::new(w.ports(), storm_runbooks(2, 100), settings());
    let queue: Vec<_> = (0..500)
        .map(|n| {
            rec(
                &format!("m{n}"),
                cw_body(
                    "web:app_down",
                    "ALARM",
                    &instance(n % 200),
                    &format!("t{n}"),
                ),
            )
        })
        .collect();
    let finals = drain(&e, &w, queue, 10).await;
    assert_eq!(finals.len(), 500, "every alert reached a final outcome");
    assert!(
        finals.iter().all(|(_, o)| *o == Outcome::Healed),
        "{:?}",
        finals.iter().find(|(_, o)| *o != Outcome::Healed)
    );
    assert!(
        w.executor.max_in_flight() <= 2,
        "max in flight {}",
        w.executor.max_in_flight()
    );
    assert!(w.store.max_leases("web") <= 2);
    assert_eq!(
        w.executor.max_in_flight(),
        2,
        "the storm did use both slots"
    );
    assert_eq!(w.executor.sent_in_phase("commands").len(), 500);
}

#[derive(Debug, Clone)]
struct Delivery {
    alert: usize,
    instance: usize,
    copies: usize,
    fail_polls: u32,
    running_polls: u32,
}

fn delivery() -> impl Strategy<Value = Delivery> {
    (0usize..12, 0usize..4, 1usize..3, 0u32..2, 0u32..4).prop_map(
        |(alert, instance, copies, fail_polls, running_polls)| Delivery {
            alert,
            instance,
            copies,
            fail_polls,
            running_polls,
        },
    )
}

fn run_stream(
    stream: &[Delivery],
    mode: GlobalMode,
    max_concurrent: u32,
    max_attempts: u32,
    batch: usize,
) -> (FakeWorld, Vec<(String, Outcome)>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let w = FakeWorld::new(T0);
        for i in 0..4 {
            w.tags.set(&instance(i), "web");
        }
        w.mode.set(mode);
        let plans: HashMap<String, u32> = stream
            .iter()
            .map(|d| (instance(d.instance), d.running_polls))
            .collect();
        w.executor.plan_with(move |r| CommandPlan {
            running_polls: plans.get(r.instance.as_str()).copied().unwrap_or(0),
            ..CommandPlan::success()
        });
        w.executor.fail_polls.store(
            stream.iter().map(|d| d.fail_polls).sum(),
            std::sync::atomic::Ordering::SeqCst,
        );
        let e = Engine::new(
            w.ports(),
            storm_runbooks(max_concurrent, max_attempts),
            settings(),
        );
        let mut queue = Vec::new();
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
        let finals = drain(&e, &w, queue, batch).await;
        (w, finals)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn at_most_one_execution_per_identity_and_bounded_concurrency(
        stream in proptest::collection::vec(delivery(), 1..30),
        max_concurrent in 1u32..4,
        batch in 1usize..10,
    ) {
        let (w, finals) = run_stream(&stream, GlobalMode::Enforce, max_concurrent, 100, batch);
        let total: usize = stream.iter().map(|d| d.copies).sum();
        prop_assert_eq!(finals.len(), total, "nothing lost");
        let mut per_identity: HashMap<(String, String), usize> = HashMap::new();
        for s in w.executor.sent_in_phase("commands") {
            *per_identity.entry((s.request.instance.to_string(), s.request.comment.clone())).or_default() += 1;
        }
        prop_assert!(per_identity.values().all(|n| *n == 1), "{:?}", per_identity);
        let distinct: std::collections::HashSet<_> = stream.iter().map(|d| (d.alert, d.instance)).collect();
        prop_assert_eq!(w.executor.sent_in_phase("commands").len(), distinct.len());
        prop_assert!(w.executor.max_in_flight() <= i64::from(max_concurrent));
        prop_assert!(w.store.max_leases("web") <= max_concurrent as usize);
    }

    #[test]
    fn attempts_never_exceed_the_budget(
        stream in proptest::collection::vec(delivery(), 1..30),
        max_attempts in 1u32..4,
    ) {
        let (w, _) = run_stream(&stream, GlobalMode::Enforce, 2, max_attempts, 5);
        let mut per_instance: HashMap<String, u32> = HashMap::new();
        for s in w.executor.sent_in_phase("commands") {
            *per_instance.entry(s.request.instance.to_string()).or_default() += 1;
        }
        prop_assert!(per_instance.values().all(|n| *n <= max_attempts), "{:?}", per_instance);
    }

    #[test]
    fn off_mode_means_zero_commands(stream in proptest::collection::vec(delivery(), 1..20)) {
        let (w, finals) = run_stream(&stream, GlobalMode::Off, 2, 10, 4);
        prop_assert!(w.executor.sent().is_empty());
        // Each alert ends killed once; its other copies are duplicates beside that record.
        prop_assert!(finals.iter().all(|(_, o)| matches!(*o, Outcome::Killed | Outcome::Duplicate)), "{:?}", finals);
        prop_assert!(finals.iter().any(|(_, o)| *o == Outcome::Killed));
    }

    #[test]
    fn dry_run_mode_means_zero_commands(stream in proptest::collection::vec(delivery(), 1..20)) {
        let (w, _) = run_stream(&stream, GlobalMode::DryRun, 2, 10, 4);
        prop_assert!(w.executor.sent().is_empty());
    }
}
