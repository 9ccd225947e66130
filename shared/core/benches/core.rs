//! Core benchmarks: parse + decide of one SNS-wrapped CloudWatch alarm record, a 10-record SQS
//! batch, and loading/validating a 1,000-entry runbook map.

use criterion::{criterion_group, criterion_main, Criterion};
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::{decide, parse_body, parse_document};
use std::hint::black_box;

const ENVELOPE: &str = include_str!("../../../tests/fixtures/sns-envelope.json");
const RUNBOOKS: &str = include_str!("../../../tests/fixtures/runbooks.json");

fn big_map(n: usize) -> String {
    let mut s = String::from("{\n");
    for i in 0..n {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(&format!(
            r#"  "role{i}:alert{i}": {{"description": "d", "precheck": ["pgrep -x svc{i}"], "commands": ["systemctl restart svc{i}", "systemctl status svc{i}"], "verify": ["true"], "max_attempts": 3, "window_minutes": 60, "timeout_seconds": 120}}"#
        ));
    }
    s.push_str("\n}\n");
    s
}

fn batch_of(n: usize) -> String {
    let body = serde_json::to_string(ENVELOPE).expect("string");
    let records: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"messageId": "m{i}", "receiptHandle": "r", "body": {body}, "attributes": {{"ApproximateReceiveCount": "1"}}, "eventSource": "aws:sqs"}}"#))
        .collect();
    format!(r#"{{"Records": [{}]}}"#, records.join(","))
}

fn benches(c: &mut Criterion) {
    let map = load(
        &[RunbookSource {
            name: "r.json",
            text: RUNBOOKS,
        }],
        &LoadOptions::default(),
    )
    .expect("valid")
    .0;
    c.bench_function("parse+decide one SNS-wrapped alarm", |b| {
        b.iter(|| {
            let r = parse_body(black_box(ENVELOPE), Some("m1"));
            let alert = r.item.expect("valid");
            black_box(decide(&alert, &map, None).action)
        })
    });
    let batch = batch_of(10);
    c.bench_function("parse+decide 10-record SQS batch", |b| {
        b.iter(|| {
            let recs = parse_document(black_box(&batch));
            let mut n = 0;
            for r in &recs {
                if let Ok(a) = &r.item {
                    n += decide(a, &map, None).commands().len();
                }
            }
            black_box(n)
        })
    });
    let big = big_map(1000);
    c.bench_function("load+validate 1000-entry runbook map", |b| {
        b.iter(|| {
            let m = load(
                &[RunbookSource {
                    name: "big.json",
                    text: black_box(&big),
                }],
                &LoadOptions::default(),
            )
            .expect("valid");
            black_box(m.0.len())
        })
    });
}

criterion_group!(core_benches, benches);
criterion_main!(core_benches);
