//! Weekly report aggregation on generated history with known answers: every recommendation
//! rule, week boundaries in non-UTC zones (including a DST change), empty window, one record,
//! records with missing fields, CloudWatch alarm history, bounded memory.

use selfheal_core::history::HistoryRecord;
use selfheal_core::report::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2024-06-12T10:00:00Z (Wednesday).
const NOW: i64 = 1_718_186_400_000;

fn window_utc() -> ReportWindow {
    ReportWindow::new(NOW, "UTC", 7, WindowEnd::StartOfToday).expect("window")
}

/// This period (UTC window) is 2024-06-05..=2024-06-11; `day` 0..7 picks a day of it at 10:00.
fn this_day(day: i64) -> i64 {
    let (start, _) = window_utc().this_period();
    start + day * DAY + 10 * HOUR
}

fn rec(key: &str, outcome: &str, instance: &str, at: i64) -> HistoryRecord {
    let (role, alert) = key.split_once(':').unwrap_or(("", key));
    HistoryRecord {
        day: "2024-06-05".into(),
        key: Some(key.into()),
        role: Some(role.into()),
        alert: Some(alert.into()),
        instance: (!instance.is_empty()).then(|| instance.into()),
        state: Some("ALARM".into()),
        outcome: outcome.into(),
        received_at_ms: at,
        finished_at_ms: at + 60_000,
        runbook: (outcome != "no-runbook").then(|| key.into()),
        ..Default::default()
    }
}

fn build(records: &[HistoryRecord]) -> Report {
    let mut b = ReportBuilder::new(window_utc());
    for r in records {
        b.add(r);
    }
    b.finish(ReportConfig::default())
}

fn key<'a>(r: &'a Report, k: &str) -> &'a KeyReport {
    r.keys
        .iter()
        .find(|x| x.key == k)
        .unwrap_or_else(|| panic!("key {k} missing"))
}

fn rules_of(r: &Report, k: &str) -> Vec<String> {
    r.recommendations
        .iter()
        .filter(|x| x.key == k)
        .map(|x| x.rule.clone())
        .collect()
}

#[test]
fn empty_window() {
    let r = build(&[]);
    assert_eq!(r.schema_version, 1);
    assert!(r.keys.is_empty());
    assert!(r.recommendations.is_empty());
    assert_eq!(r.totals.alerts, 0);
    assert_eq!(r.totals.auto_healed_share, None);
    assert_eq!(r.totals.on_call_minutes_saved, 0);
    assert_eq!(r.days.len(), 7);
    assert_eq!(r.days[0], "2024-06-05");
    assert_eq!(r.days[6], "2024-06-11");
    assert_eq!(r.weekdays[0], "Wed");
    assert_eq!(r.this_period.start, "2024-06-05T00:00:00Z");
    assert_eq!(r.last_period.start, "2024-05-29T00:00:00Z");
    // Every renderer copes with nothing.
    for f in [
        Format::Text,
        Format::Markdown,
        Format::Json,
        Format::Html,
        Format::Slack,
    ] {
        assert!(!render(&r, f).is_empty());
    }
}

#[test]
fn one_record() {
    let r = build(&[rec(
        "web:disk_full",
        "healed",
        "i-0123456789abcdef0",
        this_day(2),
    )]);
    assert_eq!(r.keys.len(), 1);
    let k = key(&r, "web:disk_full");
    assert_eq!(k.this_period, 1);
    assert_eq!(k.last_period, 0);
    assert_eq!(
        k.change,
        Change {
            delta: 1,
            ratio: None
        }
    );
    assert_eq!(k.healed, 1);
    assert_eq!(k.runs, 1);
    assert_eq!(k.success_rate, Some(1.0));
    assert_eq!(k.time_to_heal.median_ms, Some(60_000));
    assert_eq!(k.time_to_heal.p95_ms, Some(60_000));
    assert_eq!(k.daily, vec![0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(k.first_seen.as_deref(), Some("2024-06-07T10:00:00Z"));
    assert_eq!(k.last_seen, k.first_seen);
    assert_eq!(k.top_instances.len(), 1);
    assert_eq!(k.top_instances[0].instance, "i-0123456789abcdef0");
    assert_eq!(k.top_instances[0].healed, 1);
    assert_eq!(r.totals.alerts, 1);
    assert_eq!(r.totals.human_pages_avoided, 1);
    assert_eq!(r.totals.on_call_minutes_saved, 15);
    assert_eq!(r.totals.auto_healed_share, Some(1.0));
    assert!(r.recommendations.is_empty());
}

#[test]
fn counts_trend_and_categories() {
    let mut v = Vec::new();
    let k = "db:replication_lag";
    for (i, o) in [
        "healed",
        "healed",
        "failed",
        "timed-out",
        "budget-exhausted",
        "unresolved",
        "dry-run",
        "no-runbook",
        "precheck-failed",
        "recovered",
    ]
    .iter()
    .enumerate()
    {
        v.push(rec(
            k,
            o,
            &format!("i-{:08x}", i % 3),
            this_day(i as i64 % 7),
        ));
    }
    // Last period: 4 alerts.
    for d in 0..4 {
        v.push(rec(k, "healed", "i-00000000", this_day(0) - (d + 1) * DAY));
    }
    // Not alerts: a duplicate and an OK notice.
    v.push(rec(k, "duplicate", "i-00000000", this_day(1)));
    let mut ok = rec(k, "ignored", "i-00000000", this_day(1));
    ok.state = Some("OK".into());
    v.push(ok);
    // Outside both periods.
    v.push(rec(k, "healed", "i-00000000", this_day(0) - 30 * DAY));
    v.push(rec(k, "healed", "i-00000000", NOW));

    let r = build(&v);
    let x = key(&r, k);
    assert_eq!(x.this_period, 10);
    assert_eq!(x.last_period, 4);
    assert_eq!(x.change.delta, 6);
    assert_eq!(x.change.ratio, Some(1.5));
    assert_eq!(x.healed, 2);
    assert_eq!(x.failed, 2, "failed + timed-out");
    assert_eq!(
        x.escalated, 4,
        "failed, timed-out, budget-exhausted, unresolved"
    );
    assert_eq!(x.dry_run, 1);
    assert_eq!(x.no_runbook, 1);
    assert_eq!(x.runs, 4);
    assert_eq!(x.success_rate, Some(0.5));
    assert_eq!(x.outcomes.get("duplicate"), Some(&1));
    assert_eq!(x.outcomes.get("ignored"), Some(&1));
    assert_eq!(x.outcomes.get("precheck-failed"), Some(&1));
    assert_eq!(x.daily.iter().sum::<u64>(), 10);
    assert_eq!(x.daily_last_period, vec![0, 0, 0, 1, 1, 1, 1]);
    assert_eq!(r.data_quality.duplicates, 1);
    assert_eq!(r.data_quality.recovery_notices, 1);
    assert_eq!(r.data_quality.out_of_window, 2);
    assert_eq!(r.totals.alerts, 10);
    assert_eq!(r.totals.alerts_last_period, 4);
    assert_eq!(r.totals.healed, 2);
    assert_eq!(r.totals.auto_healed_share, Some(0.2));
    let top = &x.top_instances;
    assert_eq!(top[0].instance, "i-00000000");
    assert_eq!(top[0].alerts, 4);
    assert!(!top[0].approximate);
}

#[test]
fn minutes_per_page_is_configurable() {
    let v: Vec<_> = (0..4)
        .map(|i| rec("a:b", "healed", "", this_day(i)))
        .collect();
    let mut b = ReportBuilder::new(window_utc());
    v.iter().for_each(|r| b.add(r));
    let r = b.finish(ReportConfig {
        minutes_per_page: 20,
        ..ReportConfig::default()
    });
    assert_eq!(r.totals.human_pages_avoided, 4);
    assert_eq!(r.totals.on_call_minutes_saved, 80);
}

#[test]
fn time_to_heal_quantiles() {
    let v: Vec<_> = (1..=20)
        .map(|i| {
            let mut r = rec("web:oom", "failed", "", this_day(i % 7));
            r.outcome = "healed".into();
            r.finished_at_ms = r.received_at_ms + i * 1000;
            r
        })
        .collect();
    let r = build(&v);
    let t = key(&r, "web:oom").time_to_heal;
    assert_eq!(t.samples, 20);
    assert!(t.exact);
    assert_eq!(t.median_ms, Some(10_000));
    assert_eq!(t.p95_ms, Some(19_000));
}

#[test]
fn rule_write_runbook() {
    let mut v: Vec<_> = (0..3)
        .map(|i| rec("web:nginx_down", "no-runbook", "", this_day(i)))
        .collect();
    v.extend((0..2).map(|i| rec("web:rare", "no-runbook", "", this_day(i))));
    let r = build(&v);
    assert_eq!(rules_of(&r, "web:nginx_down"), vec!["write-runbook"]);
    assert!(rules_of(&r, "web:rare").is_empty());
    let rec = &r.recommendations[0];
    assert_eq!(rec.action, "write a runbook");
    assert!(rec.text.contains("rule write-runbook"), "{}", rec.text);
    assert_eq!(
        key(&r, "web:nginx_down").recommendations,
        vec!["write-runbook"]
    );
}

#[test]
fn rule_downgrade_to_warning() {
    let instances = [
        "i-00000001",
        "i-00000002",
        "i-00000003",
        "i-00000004",
        "i-00000005",
    ];
    let mut v: Vec<_> = instances
        .iter()
        .enumerate()
        .map(|(i, n)| rec("web:disk", "healed", n, this_day(i as i64)))
        .collect();
    // 4 heals: below the default of 5.
    v.extend((0..4).map(|i| rec("web:few", "healed", &format!("i-0000001{i}"), this_day(i))));
    // 19 healed + 1 failed = exactly 95 %.
    v.extend((0..19).map(|i| {
        rec(
            "web:ninety_five",
            "healed",
            &format!("i-{:08x}", 100 + i),
            this_day(i % 7),
        )
    }));
    v.push(rec("web:ninety_five", "failed", "i-000000ff", this_day(3)));
    // 18 healed + 2 failed = 90 %.
    v.extend((0..18).map(|i| {
        rec(
            "web:ninety",
            "healed",
            &format!("i-{:08x}", 200 + i),
            this_day(i % 7),
        )
    }));
    v.extend((0..2).map(|i| rec("web:ninety", "failed", "i-000001ff", this_day(i))));
    let r = build(&v);
    assert_eq!(rules_of(&r, "web:disk"), vec!["downgrade-to-warning"]);
    assert!(rules_of(&r, "web:few").is_empty());
    assert_eq!(
        rules_of(&r, "web:ninety_five"),
        vec!["downgrade-to-warning"]
    );
    assert!(rules_of(&r, "web:ninety").is_empty());
}

#[test]
fn rule_fix_runbook() {
    let mut v = vec![
        rec("db:lag", "healed", "i-00000001", this_day(0)),
        rec("db:lag", "failed", "i-00000002", this_day(1)),
        rec("db:lag", "timed-out", "i-00000003", this_day(2)),
    ];
    // Two runs only, both failed: too few runs.
    v.push(rec("db:two", "failed", "i-00000001", this_day(0)));
    v.push(rec("db:two", "failed", "i-00000002", this_day(1)));
    // 3 of 10 failed = exactly 30 %.
    v.extend((0..7).map(|i| {
        rec(
            "db:thirty",
            "healed",
            &format!("i-{:08x}", 10 + i),
            this_day(i % 7),
        )
    }));
    v.extend((0..3).map(|i| {
        rec(
            "db:thirty",
            "failed",
            &format!("i-{:08x}", 20 + i),
            this_day(i),
        )
    }));
    // 2 of 10 failed.
    v.extend((0..8).map(|i| {
        rec(
            "db:twenty",
            "healed",
            &format!("i-{:08x}", 30 + i),
            this_day(i % 7),
        )
    }));
    v.extend((0..2).map(|i| {
        rec(
            "db:twenty",
            "failed",
            &format!("i-{:08x}", 40 + i),
            this_day(i),
        )
    }));
    let r = build(&v);
    assert_eq!(rules_of(&r, "db:lag"), vec!["fix-runbook"]);
    assert!(rules_of(&r, "db:two").is_empty());
    assert_eq!(rules_of(&r, "db:thirty"), vec!["fix-runbook"]);
    assert!(rules_of(&r, "db:twenty").is_empty());
    assert!(r
        .recommendations
        .iter()
        .any(|x| x.text.contains("2 of 3 runs (67%)")));
}

#[test]
fn rule_permanent_fix() {
    let mut v: Vec<_> = (0..3)
        .map(|i| rec("app:leak", "healed", "i-0000000a", this_day(i)))
        .collect();
    v.push(rec("app:leak", "failed", "i-0000000a", this_day(4)));
    v.push(rec("app:leak", "healed", "i-0000000b", this_day(4)));
    // Three heals on three instances: nothing permanent.
    v.extend((0..3).map(|i| {
        rec(
            "app:spread",
            "healed",
            &format!("i-0000001{i}"),
            this_day(i),
        )
    }));
    let r = build(&v);
    assert_eq!(rules_of(&r, "app:leak"), vec!["permanent-fix"]);
    let p = r
        .recommendations
        .iter()
        .find(|x| x.rule == "permanent-fix")
        .expect("rule");
    assert_eq!(p.instances, vec!["i-0000000a"]);
    assert!(p.text.contains("i-0000000a ×3"), "{}", p.text);
    assert!(rules_of(&r, "app:spread").is_empty());
    let top = &key(&r, "app:leak").top_instances;
    assert_eq!(
        (top[0].instance.as_str(), top[0].alerts, top[0].healed),
        ("i-0000000a", 4, 3)
    );
}

#[test]
fn rule_fix_threshold_from_history_and_cloudwatch() {
    let mut v = Vec::new();
    for i in 0..3 {
        v.push(rec("web:cpu", "recovered", "i-00000001", this_day(i)));
        let mut ok = rec("web:cpu", "ignored", "i-00000001", this_day(i) + HOUR);
        ok.state = Some("OK".into());
        v.push(ok);
    }
    // 3 ALARM + 2 OK = 5 transitions: below 6.
    for i in 0..3 {
        v.push(rec("web:mem", "recovered", "i-00000001", this_day(i)));
        if i < 2 {
            let mut ok = rec("web:mem", "ignored", "i-00000001", this_day(i) + HOUR);
            ok.state = Some("OK".into());
            v.push(ok);
        }
    }
    // Many ALARMs without any OK notice: frequent, but not provably flapping.
    v.extend((0..8).map(|i| rec("web:noisy", "dry-run", "i-00000001", this_day(i % 7))));
    // One alert in history, flapping per CloudWatch alarm history (alarm name = ALERT part).
    v.push(rec("web:disk_io", "recovered", "i-00000001", this_day(2)));

    let mut b = ReportBuilder::new(window_utc());
    v.iter().for_each(|r| b.add(r));
    for i in 0..4 {
        b.add_alarm_history("disk_io", this_day(i) + 2 * HOUR, "ALARM");
        b.add_alarm_history("disk_io", this_day(i) + 3 * HOUR, "OK");
    }
    let r = b.finish(ReportConfig::default());
    assert_eq!(key(&r, "web:cpu").transitions, 6);
    assert_eq!(rules_of(&r, "web:cpu"), vec!["fix-threshold"]);
    assert_eq!(key(&r, "web:mem").transitions, 5);
    assert!(rules_of(&r, "web:mem").is_empty());
    assert_eq!(key(&r, "web:noisy").transitions, 1);
    assert!(rules_of(&r, "web:noisy").is_empty());
    let io = key(&r, "web:disk_io");
    assert!(io.seen.history && io.seen.cloudwatch);
    assert_eq!(io.transitions, 8);
    assert_eq!(
        io.this_period, 1,
        "history counts the alerts of a matched alarm"
    );
    assert_eq!(rules_of(&r, "web:disk_io"), vec!["fix-threshold"]);
    assert!(
        r.keys.iter().all(|k| k.key != "disk_io"),
        "matched alarms are not listed twice"
    );
}

#[test]
fn rule_route_or_delete() {
    let mut b = ReportBuilder::new(window_utc());
    b.add(&rec("web:disk_full", "healed", "i-00000001", this_day(1)));
    // Matched by exact key: not CloudWatch-only.
    b.add_alarm_history("web:disk_full", this_day(1), "ALARM");
    // Never reached selfheal.
    for i in 0..3 {
        b.add_alarm_history("legacy-cpu-high", this_day(i), "ALARM");
        b.add_alarm_history("legacy-cpu-high", this_day(i) + HOUR, "OK");
    }
    b.add_alarm_history("legacy-cpu-high", this_day(0) - 2 * DAY, "ALARM");
    b.add_alarm_history("batch:nightly", this_day(0) - 3 * DAY, "ALARM"); // last period only
    b.add_alarm_history("ignored-state", this_day(1), "INSUFFICIENT_DATA");
    let r = b.finish(ReportConfig::default());
    let legacy = key(&r, "legacy-cpu-high");
    assert!(!legacy.seen.history && legacy.seen.cloudwatch);
    assert_eq!(legacy.this_period, 3);
    assert_eq!(legacy.last_period, 1);
    assert_eq!(legacy.daily, vec![1, 1, 1, 0, 0, 0, 0]);
    assert_eq!(legacy.transitions, 6);
    assert_eq!(legacy.alert.as_deref(), Some("legacy-cpu-high"));
    assert_eq!(
        rules_of(&r, "legacy-cpu-high"),
        vec!["fix-threshold", "route-or-delete"]
    );
    let nightly = key(&r, "batch:nightly");
    assert_eq!(nightly.role.as_deref(), Some("batch"));
    assert!(
        rules_of(&r, "batch:nightly").is_empty(),
        "no ALARM this period"
    );
    assert!(rules_of(&r, "web:disk_full").is_empty());
    assert!(key(&r, "web:disk_full").seen.cloudwatch);
    assert!(r.keys.iter().all(|k| k.key != "ignored-state"));
    assert_eq!(r.totals.alerts, 4);
    assert_eq!(r.totals.via_selfheal, 1);
    assert_eq!(r.totals.cloudwatch_only, 3);
    assert_eq!(r.data_quality.alarm_history_items, 10);
}

#[test]
fn every_rule_fires_and_orders_by_rule() {
    let mut b = ReportBuilder::new(window_utc());
    for i in 0..3 {
        b.add(&rec("a:no_runbook", "no-runbook", "", this_day(i)));
        b.add(&rec(
            "b:failing",
            "failed",
            &format!("i-0000000{i}"),
            this_day(i),
        ));
        b.add(&rec("c:same_host", "healed", "i-0000000c", this_day(i)));
    }
    for i in 0..5 {
        b.add(&rec(
            "d:noise",
            "healed",
            &format!("i-0000001{i}"),
            this_day(i),
        ));
    }
    for i in 0..3 {
        b.add(&rec("e:flappy", "recovered", "", this_day(i)));
        let mut ok = rec("e:flappy", "ignored", "", this_day(i) + HOUR);
        ok.state = Some("OK".into());
        b.add(&ok);
    }
    b.add_alarm_history("f-orphan", this_day(2), "ALARM");
    let r = b.finish(ReportConfig::default());
    let rules: Vec<&str> = r.recommendations.iter().map(|x| x.rule.as_str()).collect();
    assert_eq!(rules, RULES.to_vec(), "{:#?}", r.recommendations);
}

#[test]
fn thresholds_are_configurable() {
    let v: Vec<_> = (0..2)
        .map(|i| rec("web:x", "no-runbook", "", this_day(i)))
        .collect();
    let mut b = ReportBuilder::new(window_utc());
    v.iter().for_each(|r| b.add(r));
    let r = b.finish(ReportConfig {
        thresholds: Thresholds {
            frequent_alerts: 2,
            ..Thresholds::default()
        },
        ..ReportConfig::default()
    });
    assert_eq!(rules_of(&r, "web:x"), vec!["write-runbook"]);
    assert_eq!(r.thresholds.frequent_alerts, 2);
}

fn utc(y: i16, m: i8, d: i8, h: i8, min: i8) -> i64 {
    jiff::civil::date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .expect("valid")
        .timestamp()
        .as_millisecond()
}

#[test]
fn week_boundaries_in_tokyo() {
    // Monday 2024-06-10 00:30 JST = 2024-06-09T15:30Z; complete days: Mon 06-03 .. Sun 06-09 JST.
    let now = utc(2024, 6, 9, 15, 30);
    let w = ReportWindow::new(now, "Asia/Tokyo", 7, WindowEnd::StartOfToday).expect("window");
    assert_eq!(
        w.this_period(),
        (utc(2024, 6, 2, 15, 0), utc(2024, 6, 9, 15, 0))
    );
    assert_eq!(w.last_period().0, utc(2024, 5, 26, 15, 0));
    let mut b = ReportBuilder::new(w.clone());
    // Sunday 06-02 23:59 JST: last period's last day.
    b.add(&rec("web:x", "healed", "", utc(2024, 6, 2, 14, 59)));
    // Monday 06-03 00:00 JST: this period's first day (still 06-02 in UTC).
    b.add(&rec("web:x", "healed", "", utc(2024, 6, 2, 15, 0)));
    // Sunday 06-09 23:59 JST: last day.
    b.add(&rec("web:x", "healed", "", utc(2024, 6, 9, 14, 59)));
    // Monday 06-10 00:00 JST: today, outside.
    b.add(&rec("web:x", "healed", "", utc(2024, 6, 9, 15, 0)));
    let r = b.finish(ReportConfig::default());
    assert_eq!(r.days.first().map(String::as_str), Some("2024-06-03"));
    assert_eq!(r.weekdays.first().map(String::as_str), Some("Mon"));
    assert_eq!(r.this_period.start, "2024-06-03T00:00:00+09:00");
    assert_eq!(r.this_period.end, "2024-06-10T00:00:00+09:00");
    let k = key(&r, "web:x");
    assert_eq!(k.daily, vec![1, 0, 0, 0, 0, 0, 1]);
    assert_eq!(k.daily_last_period, vec![0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(k.first_seen.as_deref(), Some("2024-06-02T23:59:00+09:00"));
    assert_eq!(r.data_quality.out_of_window, 1);
    // The UTC partitions to read cover the JST window: 05-26 (15:00Z) .. 06-09.
    let days = w.utc_days();
    assert_eq!(days.first().map(String::as_str), Some("2024-05-26"));
    assert_eq!(days.last().map(String::as_str), Some("2024-06-09"));
    assert_eq!(days.len(), 15);
}

#[test]
fn week_boundaries_across_dst_in_new_york() {
    // Spring forward on Sunday 2024-03-10 (23-hour day). Now: Wed 2024-03-13 12:00 EDT.
    let now = utc(2024, 3, 13, 16, 0);
    let w = ReportWindow::new(now, "America/New_York", 7, WindowEnd::StartOfToday).expect("window");
    let (start, end) = w.this_period();
    assert_eq!(start, utc(2024, 3, 6, 5, 0), "EST midnight");
    assert_eq!(end, utc(2024, 3, 13, 4, 0), "EDT midnight");
    assert_eq!(end - start, 7 * DAY - HOUR);
    let mut b = ReportBuilder::new(w);
    // 23:30 EDT on 03-10 (a fixed −5 h offset would put it on 03-10 22:30 too — same day)…
    b.add(&rec("web:x", "healed", "", utc(2024, 3, 11, 3, 30)));
    // …00:30 EDT on 03-11 (a fixed −5 h offset would wrongly say 03-10 23:30).
    b.add(&rec("web:x", "healed", "", utc(2024, 3, 11, 4, 30)));
    // 00:30 EST on 03-10, just after midnight before the change.
    b.add(&rec("web:x", "healed", "", utc(2024, 3, 10, 5, 30)));
    let r = b.finish(ReportConfig::default());
    assert_eq!(
        r.days,
        vec![
            "2024-03-06",
            "2024-03-07",
            "2024-03-08",
            "2024-03-09",
            "2024-03-10",
            "2024-03-11",
            "2024-03-12"
        ]
    );
    assert_eq!(key(&r, "web:x").daily, vec![0, 0, 0, 0, 2, 1, 0]);
    assert_eq!(r.this_period.start, "2024-03-06T00:00:00-05:00");
    assert_eq!(r.this_period.end, "2024-03-13T00:00:00-04:00");
}

#[test]
fn fall_back_day_has_25_hours() {
    // Fall back on Sunday 2024-11-03. Now: Monday 2024-11-04 09:00 EST, period of 1 day.
    let now = utc(2024, 11, 4, 14, 0);
    let w = ReportWindow::new(now, "America/New_York", 1, WindowEnd::StartOfToday).expect("window");
    let (start, end) = w.this_period();
    assert_eq!(end - start, 25 * HOUR);
    assert_eq!(
        w.day_index(utc(2024, 11, 4, 4, 59)),
        Some(1),
        "23:59 EST on 11-03"
    );
    assert_eq!(w.day_index(utc(2024, 11, 4, 5, 0)), None, "today");
}

#[test]
fn end_of_today_includes_today() {
    let w = ReportWindow::new(NOW, "UTC", 7, WindowEnd::EndOfToday).expect("window");
    assert_eq!(w.day_index(NOW), Some(13));
    let mut b = ReportBuilder::new(w);
    b.add(&rec("web:x", "healed", "", NOW - HOUR));
    let r = b.finish(ReportConfig::default());
    assert_eq!(r.days.last().map(String::as_str), Some("2024-06-12"));
    assert_eq!(key(&r, "web:x").daily[6], 1);
}

#[test]
fn unknown_time_zone_and_period() {
    assert!(matches!(
        ReportWindow::new(NOW, "Mars/Olympus", 7, WindowEnd::EndOfToday),
        Err(ReportError::UnknownTimeZone(_))
    ));
    assert!(matches!(
        ReportWindow::new(NOW, "UTC", 0, WindowEnd::EndOfToday),
        Err(ReportError::InvalidPeriod(_))
    ));
}

#[test]
fn records_with_missing_fields() {
    let parse = |s: &str| serde_json::from_str::<HistoryRecord>(s).expect("serde(default)");
    let in_window = this_day(3);
    let recs = [
        // Nothing at all: undated.
        parse("{}"),
        // Only a day (UTC partition) and an outcome: counted at noon UTC, key unknown.
        parse(r#"{"day": "2024-06-06", "outcome": "invalid"}"#),
        // An alert without key or role.
        parse(&format!(
            r#"{{"alert": "disk_full", "outcome": "unresolved", "received_at_ms": {in_window}}}"#
        )),
        // Role and alert but no key.
        parse(&format!(
            r#"{{"role": "web", "alert": "oom", "outcome": "healed", "finished_at_ms": {in_window}}}"#
        )),
        // Healed without a usable duration (finished before received).
        parse(&format!(
            r#"{{"key": "web:oom", "outcome": "healed", "received_at_ms": {in_window}, "finished_at_ms": 5}}"#
        )),
        // Unknown outcome string.
        parse(&format!(
            r#"{{"key": "web:new", "outcome": "exploded", "received_at_ms": {in_window}}}"#
        )),
        // Unparseable day and no timestamps.
        parse(r#"{"day": "yesterday", "key": "web:x"}"#),
    ];
    let r = build(&recs);
    assert_eq!(r.data_quality.history_records, 7);
    assert_eq!(r.data_quality.undated, 2);
    assert_eq!(r.data_quality.without_key, 3);
    assert_eq!(key(&r, UNKNOWN_KEY).this_period, 1);
    assert_eq!(key(&r, UNKNOWN_KEY).daily, vec![0, 1, 0, 0, 0, 0, 0]);
    assert_eq!(key(&r, "?:disk_full").escalated, 1);
    let oom = key(&r, "web:oom");
    assert_eq!(oom.healed, 2);
    assert_eq!(oom.time_to_heal.samples, 0);
    assert_eq!(oom.time_to_heal.median_ms, None);
    assert_eq!(key(&r, "web:new").outcomes.get("other"), Some(&1));
    assert_eq!(r.totals.alerts, 5);
}

#[test]
fn key_limit_folds_into_other_keys() {
    let w = window_utc();
    let mut b = ReportBuilder::with_limits(
        w,
        Limits {
            max_keys: 3,
            instance_slots: 4,
        },
    );
    for i in 0..10 {
        b.add(&rec(&format!("r:a{i}"), "healed", "", this_day(1)));
    }
    let r = b.finish(ReportConfig::default());
    assert_eq!(r.keys.len(), 4);
    assert_eq!(key(&r, OTHER_KEYS).this_period, 7);
    assert_eq!(r.data_quality.keys_overflowed, 7);
    assert_eq!(r.totals.alerts, 10);
}

#[test]
fn instance_summary_is_bounded_and_flags_approximation() {
    let mut b = ReportBuilder::with_limits(
        window_utc(),
        Limits {
            max_keys: 10,
            instance_slots: 4,
        },
    );
    for i in 0..100 {
        b.add(&rec(
            "web:x",
            "healed",
            &format!("i-{:08x}", i),
            this_day(i % 7),
        ));
        if i % 2 == 0 {
            b.add(&rec("web:x", "healed", "i-hot00000", this_day(i % 7)));
        }
    }
    let r = b.finish(ReportConfig::default());
    let k = key(&r, "web:x");
    assert_eq!(k.top_instances[0].instance, "i-hot00000");
    assert!(k.top_instances[0].approximate);
    assert!(k.top_instances.len() <= 4);
    assert_eq!(k.healed, 150);
}

#[test]
fn hostile_and_huge_names_are_clipped() {
    let long = format!("web:{}", "x".repeat(10_000));
    let r = build(&[rec(&long, "healed", "", this_day(1))]);
    assert!(r.keys[0].key.chars().count() <= 257);
}

#[test]
fn json_schema_is_stable() {
    let r = build(&[rec("web:disk_full", "healed", "i-00000001", this_day(1))]);
    let json = render_json(&r);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["schema_version"], 1);
    let top: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "schema_version",
        "generated_at",
        "time_zone",
        "period_days",
        "this_period",
        "last_period",
        "days",
        "weekdays",
        "totals",
        "keys",
        "recommendations",
        "thresholds",
        "report_url",
        "data_quality",
    ];
    want.sort_unstable();
    let mut got = top.clone();
    got.sort_unstable();
    assert_eq!(got, want);
    let key_fields: Vec<&str> = v["keys"][0]
        .as_object()
        .expect("key")
        .keys()
        .map(String::as_str)
        .collect();
    for f in [
        "key",
        "role",
        "alert",
        "runbook",
        "seen",
        "this_period",
        "last_period",
        "change",
        "healed",
        "failed",
        "escalated",
        "dry_run",
        "no_runbook",
        "runs",
        "success_rate",
        "time_to_heal",
        "top_instances",
        "first_seen",
        "last_seen",
        "daily",
        "daily_last_period",
        "transitions",
        "outcomes",
        "recommendations",
    ] {
        assert!(key_fields.contains(&f), "missing {f}");
    }
    for f in [
        "alerts",
        "auto_healed_share",
        "human_pages_avoided",
        "on_call_minutes_saved",
        "minutes_per_page",
    ] {
        assert!(v["totals"].get(f).is_some(), "missing totals.{f}");
    }
    let back: Report = serde_json::from_str(&json).expect("round trip");
    assert_eq!(back, r);
}

#[test]
fn synthetic_million_scale_smoke() {
    // Not the benchmark: a quick check that a large synthetic stream stays consistent.
    let w = window_utc();
    let (start, end) = w.span();
    let mut g = synthetic::SyntheticHistory::new(7, start, end, 200, 500);
    let mut b = ReportBuilder::new(w);
    for _ in 0..50_000 {
        b.add(g.next_record());
    }
    let r = b.finish(ReportConfig::default());
    let q = &r.data_quality;
    let alerts: u64 = r.keys.iter().map(|k| k.this_period + k.last_period).sum();
    assert_eq!(
        alerts + q.duplicates + q.recovery_notices + q.out_of_window + q.undated,
        50_000
    );
    assert!(r.keys.len() <= 200);
}

#[test]
fn approvals_are_counted_and_a_clean_record_suggests_enforce() {
    let approved = |i: i64, decision: &str, outcome: &str| HistoryRecord {
        decision: Some(decision.into()),
        approver: Some("U0ALICE (alice)".into()),
        ..rec("db:vacuum", outcome, "i-0123abcd", this_day(i % 7))
    };
    let mut records: Vec<HistoryRecord> = (0..5).map(|i| approved(i, "run", "healed")).collect();
    let r = build(&records);
    let k = key(&r, "db:vacuum");
    assert_eq!((k.approved, k.skipped), (5, 0));
    assert!(rules_of(&r, "db:vacuum")
        .iter()
        .any(|x| x == "promote-to-enforce"));
    // One Skip (or an expired press, which counts as neither) changes the advice.
    records.push(approved(5, "skip", "skipped"));
    records.push(approved(6, "run", "expired"));
    let r = build(&records);
    let k = key(&r, "db:vacuum");
    assert_eq!((k.approved, k.skipped), (5, 1));
    assert!(!rules_of(&r, "db:vacuum")
        .iter()
        .any(|x| x == "promote-to-enforce"));
}
