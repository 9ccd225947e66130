//! The two-week fixture (`fixtures/report/two_weeks.py`: 66 instances, 17 keys, every outcome,
//! trends both ways, approve and dry-run keys, a fleet-wide and a single-instance recurrence,
//! night-time crashes) produces the hand-written decisions and headline of
//! `two_weeks.expected.json`, and its numbers add up.

use selfheal_core::history::HistoryRecord;
use selfheal_core::report::*;
use serde_json::Value;

/// Monday 2026-11-30 07:00 Europe/Berlin (06:00 UTC).
const NOW: i64 = 1_796_018_400_000;

fn fixture_report(end: WindowEnd, now: i64) -> Report {
    let w = ReportWindow::new(now, "Europe/Berlin", 7, end).expect("window");
    let mut records: Vec<HistoryRecord> = include_str!("fixtures/report/two_weeks.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("history record"))
        .collect();
    // As the reporter reads them: by UTC day partition, each day in time order.
    records.sort_by(|a, b| {
        a.day.cmp(&b.day).then(
            ReportBuilder::record_time(a)
                .unwrap_or(0)
                .cmp(&ReportBuilder::record_time(b).unwrap_or(0)),
        )
    });
    let mut b = ReportBuilder::new(w);
    for r in &records {
        b.add(r);
    }
    for line in include_str!("fixtures/report/two_weeks_alarm_history.jsonl").lines() {
        let v: Value = serde_json::from_str(line).expect("alarm item");
        b.add_alarm_history(
            v["alarm"].as_str().expect("alarm"),
            v["ms"].as_i64().expect("ms"),
            v["state"].as_str().expect("state"),
        );
    }
    b.finish(ReportConfig::default())
}

fn expected() -> Value {
    serde_json::from_str(include_str!("fixtures/report/two_weeks.expected.json")).expect("json")
}

#[test]
fn two_weeks_produce_the_hand_written_decisions() {
    let r = fixture_report(WindowEnd::StartOfToday, NOW);
    let want = expected();
    assert_eq!(r.generated_at, want["now"].as_str().expect("now"));
    assert_eq!(r.days.first().map(String::as_str), Some("2026-11-23"));
    let got: Vec<Value> = r
        .decisions
        .iter()
        .map(|d| serde_json::json!([d.key, d.decision, d.pages, d.superseded]))
        .collect();
    let want_decisions = want["decisions"].as_array().expect("decisions");
    let show = |v: &[Value]| {
        v.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        show(&got),
        show(want_decisions),
        "\nevidence:\n{}",
        r.decisions
            .iter()
            .map(|d| format!("{}: {}", d.key, d.evidence))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for key in want["no_decision"].as_array().expect("list") {
        let k = r
            .keys
            .iter()
            .find(|k| k.key == key.as_str().expect("key"))
            .expect("key present");
        assert_eq!(k.decision, None, "{}", k.key);
    }
    for (field, value) in want["totals"].as_object().expect("totals") {
        let got = serde_json::to_value(&r.totals).expect("totals")[field].clone();
        assert_eq!(&got, value, "totals.{field}");
    }
    for (field, value) in want["data_quality"].as_object().expect("dq") {
        let got = serde_json::to_value(&r.data_quality).expect("dq")[field].clone();
        assert_eq!(&got, value, "data_quality.{field}");
    }
}

#[test]
fn two_weeks_numbers_add_up_and_advice_never_contradicts() {
    let r = fixture_report(WindowEnd::StartOfToday, NOW);
    for k in r.keys.iter().filter(|k| k.seen.history) {
        assert_eq!(k.outcome_groups.total(), k.this_period, "{}", k.key);
        assert_eq!(k.outcomes.values().sum::<u64>(), k.this_period, "{}", k.key);
        assert_eq!(k.daily.iter().sum::<u64>(), k.this_period, "{}", k.key);
        assert_eq!(
            k.daily_last_period.iter().sum::<u64>(),
            k.last_period,
            "{}",
            k.key
        );
        assert_eq!(k.hours.iter().sum::<u64>(), k.this_period, "{}", k.key);
        assert!(k.pages_avoided <= k.healed);
        // Never "noise, downgrade" for a key a human touched.
        if k.decision.as_deref() == Some("downgrade-to-warning") {
            assert_eq!((k.escalated, k.humans_involved), (0, 0), "{}", k.key);
            assert_eq!(k.mode.as_deref(), Some("enforce"));
        }
    }
    let t = &r.totals;
    assert_eq!(t.outcome_groups.total(), t.via_selfheal);
    assert_eq!(t.daily.iter().sum::<u64>(), t.alerts);
    let heat: u64 = t.heatmap.iter().flatten().sum();
    assert_eq!(heat, t.via_selfheal);
    assert!(t.off_hours.alerts > 0 && t.off_hours.alerts < t.alerts);
    // The nightly crash stands out in the heatmap: 02:00 on every weekday has an alert.
    assert!(t.heatmap.iter().all(|row| row[2] >= 1));
    // Keys: no "(unknown)" key, no key made only of duplicates.
    assert!(r.keys.iter().all(|k| k.key != UNKNOWN_KEY));
    // Trends both ways.
    let up = r
        .keys
        .iter()
        .find(|k| k.key == "batch:disk_full")
        .expect("k");
    let down = r
        .keys
        .iter()
        .find(|k| k.key == "web:disk_usage")
        .expect("k");
    assert!(up.change.delta > 0 && down.change.delta < 0);
    // Time to heal of an approve-mode key is mostly waiting for the press.
    let vac = r.keys.iter().find(|k| k.key == "db:vacuum").expect("k");
    assert!(vac.time_waiting.median_ms > vac.time_running.median_ms);
    // Owners reach the decisions (keys without a runbook have none to name).
    assert!(r
        .decisions
        .iter()
        .filter(|d| d.runbook.is_some())
        .all(|d| d.owner.is_some()));
}

#[test]
fn two_weeks_text_report_starts_with_the_decisions() {
    let r = fixture_report(WindowEnd::StartOfToday, NOW);
    let text = render_text(&r);
    let head: Vec<&str> = text.lines().take(8).collect();
    assert!(head[0].starts_with("selfheal weekly report — 2026-11-23 – 2026-11-29"));
    assert!(
        head.iter()
            .any(|l| l.starts_with("Decisions this week (13)")),
        "{head:?}"
    );
    assert!(
        head.iter().any(|l| l.contains("batch:disk_full")),
        "{head:?}"
    );
    if std::env::var_os("SELFHEAL_PRINT_REPORT").is_some() {
        println!("{text}");
    }
}

#[test]
fn two_weeks_partial_today_is_marked_in_every_format() {
    // The CLI's default: today included, partial.
    let r = fixture_report(WindowEnd::EndOfToday, NOW + 3 * 3_600_000);
    assert_eq!(r.partial_day.as_deref(), Some("2026-11-30"));
    for f in [Format::Text, Format::Markdown, Format::Html] {
        assert!(
            render(&r, f).contains("2026-11-30 is partial, until 10:00"),
            "{f:?}"
        );
    }
    let json: Value = serde_json::from_str(&render(&r, Format::Json)).expect("json");
    assert_eq!(json["partial_day"], "2026-11-30");
}

/// `SELFHEAL_REPORT_DOCS=DIR` writes the fixture's HTML page, summary SVG and text report to DIR
/// (how `docs/report-*.png` are made; see docs/README or the closing note of issue 17).
#[test]
fn two_weeks_write_docs_when_asked() {
    let Some(dir) = std::env::var_os("SELFHEAL_REPORT_DOCS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let r = fixture_report(WindowEnd::StartOfToday, NOW);
    std::fs::write(dir.join("report.html"), render_html(&r)).expect("html");
    std::fs::write(dir.join("summary.svg"), render_summary_svg(&r)).expect("svg");
    std::fs::write(dir.join("report.txt"), render_text(&r)).expect("text");
    std::fs::write(dir.join("report.json"), render_json(&r)).expect("json");
}
