//! The alert storm at small scale, through the real DynamoDB leases: 50 alerts over 25 instances
//! of one role (`max_concurrent` 2, the fleet cap raised), drained by four `selfheal serve --once`
//! loops running at the same time against one moto. An observer reads the role's lease item
//! (consistent reads) the whole time: never more than 2 holders. Every alert heals exactly once
//! (3 commands per alert, each on its own instance) and nothing is left on the queue or the DLQ.
//!
//! With the `failpoints` feature (the project's test command) every poll sleeps 30 ms, so each
//! remediation holds its lease long enough for the four processes to contend for real.

mod support;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

const INSTANCES: usize = 25;
const ALERTS_PER_INSTANCE: usize = 2;
const PROCESSES: usize = 4;
const MAX_CONCURRENT: usize = 2;

const RUNBOOKS: &str = r#"{
  "api:nginx_down": {
    "precheck": ["! pgrep -x nginx"],
    "commands": ["systemctl restart nginx"],
    "verify": ["systemctl is-active --quiet nginx"],
    "max_concurrent": 2, "max_attempts": 10
  }
}"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// Unexpired holders in the stored `lease#api` item.
async fn lease_holders(c: &selfheal_aws::AwsClients, table: &str) -> usize {
    let out = c
        .dynamodb
        .get_item()
        .table_name(table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("lease#api".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("lease".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem lease");
    let now = now_ms();
    out.item()
        .and_then(|i| i.get("holders"))
        .and_then(|h| h.as_m().ok())
        .map_or(0, |m| {
            m.values()
                .filter_map(|v| v.as_n().ok()?.parse::<i64>().ok())
                .filter(|until| *until > now)
                .count()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_serve_processes_never_exceed_max_concurrent() {
    let Some(moto) = start_moto("four_serve_processes_never_exceed_max_concurrent") else {
        return;
    };
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("storm");
    create_table(&c, &table).await;
    // Visibility 20 s (longer than any batch takes); capacity waits come back after 1 s
    // (SELFHEAL_CAPACITY_RETRY_SECONDS). The redrive limit is raised so a message that waited
    // many times is not dead-lettered during the test.
    let (topic, queue, dlq) = selfheal_aws::local::topic_and_queue(&c, &unique("storm"), 20)
        .await
        .expect("topic and queue");
    let dlq_arn = c
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("dlq arn")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("dlq arn");
    c.sqs
        .set_queue_attributes()
        .queue_url(&queue)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1000"})
                .to_string(),
        )
        .send()
        .await
        .expect("redrive raised");
    selfheal_aws::local::put_parameter(&c, "/selfheal/mode", "enforce")
        .await
        .expect("mode");
    let runbooks = write_runbooks(&std::env::temp_dir().join(unique("storm-rb")), RUNBOOKS);

    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        instances.push(run_instance(&url, &[("Role", "api")]));
    }
    for (i, inst) in instances.iter().enumerate() {
        let name = format!("api:nginx_down:{i}");
        alarm(&c, &name, inst, "ALARM").await;
        for n in 0..ALERTS_PER_INSTANCE {
            c.sns
                .publish()
                .topic_arn(&topic)
                .message(alarm_message(
                    &name,
                    inst,
                    "ALARM",
                    &format!("2026-11-23T03:{i:02}:{n:02}.000+0000"),
                ))
                .send()
                .await
                .expect("published");
        }
    }
    let total = INSTANCES * ALERTS_PER_INSTANCE;
    assert_eq!(queue_depth(&c, &queue).await, total);

    // The observer: the most holders ever seen in the lease item.
    let stop = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(AtomicUsize::new(0));
    let observer = {
        let (c, table, stop, max_seen, samples) = (
            c.clone(),
            table.clone(),
            stop.clone(),
            max_seen.clone(),
            samples.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = lease_holders(&c, &table).await;
                max_seen.fetch_max(n, Ordering::Relaxed);
                samples.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // Four workers, each running `serve --once` until the queue stays empty.
    let env: Vec<(&'static str, String)> = vec![
        ("SELFHEAL_TABLE", table.clone()),
        ("SELFHEAL_MODE_PARAM", "/selfheal/mode".into()),
        ("SELFHEAL_RUNBOOKS", runbooks.display().to_string()),
        ("SELFHEAL_MAX_PER_HOUR", "1000".into()),
        ("SELFHEAL_CAPACITY_RETRY_SECONDS", "1".into()),
        ("SELFHEAL_FAILPOINTS", "during-poll=sleep(30)".into()),
    ];
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..PROCESSES {
        let (url, queue, env, c) = (url.clone(), queue.clone(), env.clone(), c.clone());
        workers.push(tokio::spawn(async move {
            let mut lines = Vec::new();
            let mut empty_rounds = 0;
            while empty_rounds < 3 && started.elapsed() < Duration::from_secs(240) {
                let (u, q, e) = (url.clone(), queue.clone(), env.clone());
                let out = tokio::task::spawn_blocking(move || serve_once(&u, &q, &e))
                    .await
                    .expect("serve ran");
                if out.trim().is_empty() {
                    if queue_depth(&c, &queue).await == 0 {
                        empty_rounds += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                } else {
                    empty_rounds = 0;
                    lines.extend(out.lines().map(str::to_owned));
                }
            }
            lines
        }));
    }
    let mut lines = Vec::new();
    for w in workers {
        lines.extend(w.await.expect("worker"));
    }
    stop.store(true, Ordering::Relaxed);
    observer.await.expect("observer");

    // Never more than max_concurrent holders, and the observer really saw contention.
    let max_seen = max_seen.load(Ordering::Relaxed);
    assert!(
        max_seen <= MAX_CONCURRENT,
        "the lease had {max_seen} holders at once (max_concurrent {MAX_CONCURRENT})"
    );
    assert!(samples.load(Ordering::Relaxed) > 20, "the observer sampled");
    assert_eq!(
        max_seen, MAX_CONCURRENT,
        "four processes kept the lease full"
    );

    // Every alert healed exactly once; the queue and the DLQ are empty.
    let healed = lines
        .iter()
        .filter(|l| l.ends_with(" healed deleted"))
        .count();
    assert_eq!(
        healed,
        total,
        "every alert healed once:\n{}",
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with(" healed deleted") || l.ends_with(" capacity-wait returned")),
        "only heals and capacity waits:\n{}",
        lines.join("\n")
    );
    assert_eq!(queue_depth(&c, &queue).await, 0);
    assert_eq!(queue_depth(&c, &dlq).await, 0, "nothing dead-lettered");

    // SSM: 3 commands per alert, each sent to its own instance only, one set per claim.
    let mut per_comment: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pages = c.ssm.list_commands().into_paginator().send();
    while let Some(page) = pages.next().await {
        for cmd in page.expect("ListCommands").commands() {
            assert_eq!(cmd.instance_ids().len(), 1, "one instance per command");
            let claim = cmd
                .comment()
                .unwrap_or_default()
                .rsplit_once(' ')
                .map(|(c, _)| c.to_owned())
                .unwrap_or_default();
            per_comment
                .entry(claim)
                .or_default()
                .push(cmd.instance_ids()[0].clone());
        }
    }
    assert_eq!(per_comment.len(), total, "one claim per alert");
    for (claim, on) in &per_comment {
        assert_eq!(on.len(), 3, "{claim}: precheck, commands, verify once each");
        let distinct: BTreeSet<&String> = on.iter().collect();
        assert_eq!(distinct.len(), 1, "{claim}: all on one instance");
    }
    let mut per_instance: BTreeMap<&String, usize> = BTreeMap::new();
    for on in per_comment.values() {
        *per_instance.entry(&on[0]).or_default() += 1;
    }
    assert_eq!(per_instance.len(), INSTANCES);
    assert!(per_instance.values().all(|n| *n == ALERTS_PER_INSTANCE));
    eprintln!(
        "storm: {total} alerts, {PROCESSES} processes, {:.1} s, {} serve lines, max lease holders seen {max_seen}",
        started.elapsed().as_secs_f64(),
        lines.len()
    );
}
