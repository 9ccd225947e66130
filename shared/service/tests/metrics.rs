//! EMF lines parsed back and checked against the outcomes of a scenario.

mod common;
use common::*;
use selfheal_service::metrics::MemoryMetrics;
use std::collections::HashMap;
use std::sync::Arc;

#[tokio::test]
async fn emf_lines_match_the_outcomes() {
    let w = world();
    let sink = Arc::new(MemoryMetrics::default());
    let e = engine(&w, standard_runbooks()).with_metrics(sink.clone());
    let nginx = cw_body("api:nginx_down", "ALARM", NGINX, "t1");
    let out = e
        .process_batch(
            vec![
                rec("a", nginx.clone()),
                rec("b", cw_body("api:unknown", "ALARM", NGINX, "t")),
                rec("c", "garbage".into()),
                rec("d", cw_body("api:nginx_down", "OK", NGINX, "t2")),
            ],
            DEADLINE,
        )
        .await;
    let again = e.process_batch(vec![rec("e", nginx)], DEADLINE).await;
    let lines = sink.0.lock().expect("lock").clone();
    let mut per_outcome: HashMap<String, u64> = HashMap::new();
    let mut records = 0;
    let mut duplicates = 0;
    let mut durations = 0;
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        let meta = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(meta["Namespace"], "selfheal");
        for m in meta["Metrics"].as_array().expect("metrics") {
            let name = m["Name"].as_str().expect("name");
            assert!(v.get(name).is_some(), "metric {name} has a value in {line}");
        }
        if let Some(ms) = v.get("RemediationDuration") {
            assert_eq!(
                v["Outcome"], "healed",
                "only remediations that ran are timed"
            );
            assert!(ms.as_i64().is_some_and(|ms| ms >= 0), "{line}");
            durations += 1;
        } else if let Some(o) = v.get("Outcome").and_then(|o| o.as_str()) {
            *per_outcome.entry(o.to_owned()).or_default() += v["Alerts"].as_u64().expect("count");
        } else {
            records += v["Records"].as_u64().expect("records");
            duplicates += v["Duplicates"].as_u64().expect("dups");
        }
    }
    let mut expected: HashMap<String, u64> = HashMap::new();
    for r in out.iter().chain(again.iter()) {
        *expected.entry(r.outcome.as_str().to_owned()).or_default() += 1;
    }
    assert_eq!(per_outcome, expected);
    assert_eq!(records, 5);
    assert_eq!(duplicates, 1);
    assert_eq!(expected.get("healed"), Some(&1));
    assert_eq!(durations, 1, "one time-to-heal line for the one heal");
}

#[tokio::test]
async fn ssm_failures_are_counted_by_operation() {
    let w = world();
    let sink = Arc::new(MemoryMetrics::default());
    let e = engine(&w, standard_runbooks()).with_metrics(sink.clone());
    w.executor
        .fail_sends
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let out = e
        .process_batch(
            vec![rec("a", cw_body("api:nginx_down", "ALARM", NGINX, "t1"))],
            DEADLINE,
        )
        .await;
    assert!(out[0].retry, "a failed SendCommand sends the record back");
    let lines = sink.0.lock().expect("lock").clone();
    let failures: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("SsmFailures").is_some())
        .collect();
    assert_eq!(failures.len(), 1, "{lines:?}");
    assert_eq!(failures[0]["Operation"], "SendCommand");
}
