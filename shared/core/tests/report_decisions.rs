//! The weekly report's decisions, data-driven: every case in
//! `fixtures/report/decision_cases.json` is a compact history (see its `about`) and the exact,
//! ordered decisions it must produce — one per key, by the precedence in `report::rules`.

use selfheal_core::history::HistoryRecord;
use selfheal_core::report::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2024-06-12T10:00:00Z (Wednesday); complete days: Wed 06-05 .. Tue 06-11 (UTC).
const NOW: i64 = 1_718_186_400_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    #[allow(dead_code)]
    about: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    alerts: Vec<Row>,
    #[serde(default)]
    cloudwatch: Vec<CwRow>,
    expect: Vec<(String, String)>,
    #[serde(default)]
    superseded: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    evidence_contains: BTreeMap<String, String>,
    #[serde(default)]
    key_fields: BTreeMap<String, BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    key: String,
    outcome: String,
    instances: u32,
    days: Vec<i64>,
    #[serde(default = "one")]
    per_day: u32,
    #[serde(default = "ten")]
    hour: i64,
    #[serde(default)]
    first_instance: u32,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    escalated: Option<bool>,
    #[serde(default)]
    ok_after: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CwRow {
    alarm: String,
    days: Vec<i64>,
    states: Vec<String>,
}

fn one() -> u32 {
    1
}

fn ten() -> i64 {
    10
}

fn window() -> ReportWindow {
    ReportWindow::new(NOW, "UTC", 7, WindowEnd::StartOfToday).expect("window")
}

fn records(rows: &[Row], start: i64) -> Vec<HistoryRecord> {
    let mut out = Vec::new();
    for row in rows {
        let (role, alert) = row.key.split_once(':').expect("ROLE:ALERT");
        for day in &row.days {
            for i in 0..row.instances {
                for n in 0..row.per_day {
                    let at = start + day * DAY + row.hour * HOUR + i64::from(n) * 10 * 60_000;
                    let instance = format!("i-{:08x}", row.first_instance + i);
                    let rec = HistoryRecord {
                        key: Some(row.key.clone()),
                        role: Some(role.into()),
                        alert: Some(alert.into()),
                        runbook: (row.outcome != "no-runbook").then(|| row.key.clone()),
                        instance: Some(instance.clone()),
                        state: Some("ALARM".into()),
                        outcome: row.outcome.clone(),
                        received_at_ms: at,
                        finished_at_ms: at + 60_000,
                        mode: row.mode.clone(),
                        decision: row.decision.clone(),
                        escalated: row.escalated,
                        owner: Some(format!("team-{role}")),
                        ..Default::default()
                    };
                    if row.ok_after {
                        out.push(HistoryRecord {
                            state: Some("OK".into()),
                            outcome: "ignored".into(),
                            received_at_ms: at + 5 * 60_000,
                            finished_at_ms: at + 5 * 60_000,
                            ..rec.clone()
                        });
                    }
                    out.push(rec);
                }
            }
        }
    }
    out.sort_by_key(|r| r.received_at_ms);
    out
}

fn run_case(c: &Case) -> Report {
    let w = window();
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for r in records(&c.alerts, start) {
        b.add(&r);
    }
    for cw in &c.cloudwatch {
        for day in &cw.days {
            for (n, state) in cw.states.iter().enumerate() {
                b.add_alarm_history(&cw.alarm, start + day * DAY + n as i64 * HOUR, state);
            }
        }
    }
    b.finish(ReportConfig::default())
}

#[test]
fn every_decision_case() {
    let cases: Cases =
        serde_json::from_str(include_str!("fixtures/report/decision_cases.json")).expect("cases");
    assert!(cases.cases.len() >= 15);
    let mut seen_rules = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for c in &cases.cases {
        let r = run_case(c);
        let got: Vec<(String, String)> = r
            .decisions
            .iter()
            .map(|d| (d.key.clone(), d.decision.clone()))
            .collect();
        if got != c.expect {
            failures.push(format!(
                "{}: decisions {got:?}, want {:?}\n  evidence: {:?}",
                c.name,
                c.expect,
                r.decisions.iter().map(|d| &d.evidence).collect::<Vec<_>>()
            ));
            continue;
        }
        for d in &r.decisions {
            seen_rules.insert(d.decision.clone());
            let want = c.superseded.get(&d.key).cloned().unwrap_or_default();
            if d.superseded != want {
                failures.push(format!(
                    "{}: {} superseded {:?}, want {want:?}",
                    c.name, d.key, d.superseded
                ));
            }
            assert!(!d.evidence.contains('\n'), "one line: {}", d.evidence);
            assert!(d.pages > 0, "{}: a decision removes pages", c.name);
            let key = r.keys.iter().find(|k| k.key == d.key).expect("key");
            assert_eq!(key.decision.as_deref(), Some(d.decision.as_str()));
            assert_eq!(d.owner, key.owner);
        }
        for (key, text) in &c.evidence_contains {
            let d = r
                .decisions
                .iter()
                .find(|d| &d.key == key)
                .expect("decision");
            if !d.evidence.contains(text.as_str()) {
                failures.push(format!(
                    "{}: evidence {:?} lacks {text:?}",
                    c.name, d.evidence
                ));
            }
        }
        let json = serde_json::to_value(&r).expect("json");
        for (key, fields) in &c.key_fields {
            let k = json["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .find(|k| k["key"] == key.as_str())
                .unwrap_or_else(|| panic!("{}: key {key} missing", c.name));
            for (f, want) in fields {
                if &k[f] != want {
                    failures.push(format!("{}: {key}.{f} = {}, want {want}", c.name, k[f]));
                }
            }
        }
        // At most one decision per key, ranked by pages.
        let mut keys: Vec<&str> = r.decisions.iter().map(|d| d.key.as_str()).collect();
        keys.dedup();
        assert_eq!(keys.len(), r.decisions.len(), "{}", c.name);
        assert!(r.decisions.windows(2).all(|w| w[0].pages >= w[1].pages));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for rule in RULES {
        assert!(seen_rules.contains(rule), "no case decides {rule}");
    }
}

/// The README documents every rule in precedence order (the order `RULES` applies them).
#[test]
fn readme_lists_every_rule_in_precedence_order() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("### Decisions and their precedence")
        .nth(1)
        .expect("README has the decisions section");
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains('`'))
        .take(RULES.len())
        .collect();
    for (i, (row, rule)) in rows.iter().zip(RULES).enumerate() {
        assert!(
            row.starts_with(&format!("| {} | `{rule}` |", i + 1)),
            "README row {} should be {rule}: {row}",
            i + 1
        );
    }
    assert_eq!(rows.len(), RULES.len());
}
