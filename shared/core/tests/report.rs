//! Weekly report aggregation on generated history with known answers: outcome columns that add
//! up, pages avoided, flaps, success-rate samples, waiting vs running, partial days, off hours,
//! week boundaries in non-UTC zones (including a DST change), records with missing fields,
//! bounded memory. The decision rules are in `report_decisions.rs` (data-driven cases).

use selfheal_core::history::HistoryRecord;
use selfheal_core::report::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2024-06-12T10:00:00Z (Wednesday).
const NOW: i64 = 1_718_186_400_000;

fn window_utc() -> ReportWindow {
    ReportWindow::new(NOW, "UTC", 7, WindowEnd::StartOfToday).expect("window")
}

/// This period (UTC window) is 2024-06-05..=2024-06-11 (Wed..Tue); `day` 0..7 picks a day of it
/// at 10:00.
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

fn ok(key: &str, instance: &str, at: i64) -> HistoryRecord {
    HistoryRecord {
        state: Some("OK".into()),
        ..rec(key, "ignored", instance, at)
    }
}

fn build(records: &[HistoryRecord]) -> Report {
    build_in(window_utc(), records)
}

fn build_in(w: ReportWindow, records: &[HistoryRecord]) -> Report {
    let mut b = ReportBuilder::new(w);
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

#[test]
fn empty_window() {
    let r = build(&[]);
    assert_eq!(r.schema_version, 2);
    assert!(r.keys.is_empty());
    assert!(r.decisions.is_empty());
    assert_eq!(r.totals.alerts, 0);
    assert_eq!(r.totals.auto_healed_share, None);
    assert_eq!(r.totals.on_call_minutes_saved, 0);
    assert_eq!(r.days.len(), 7);
    assert_eq!(r.days[0], "2024-06-05");
    assert_eq!(r.days[6], "2024-06-11");
    assert_eq!(r.weekdays[0], "Wed");
    assert_eq!(r.this_period.start, "2024-06-05T00:00:00Z");
    assert_eq!(r.last_period.start, "2024-05-29T00:00:00Z");
    assert_eq!(r.partial_day, None);
    assert_eq!(r.totals.heatmap.len(), 7);
    assert!(r.totals.heatmap.iter().all(|row| row.len() == 24));
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
    assert_eq!(k.attempts, 1);
    assert_eq!(k.success_rate, None, "one attempt is below the sample");
    assert_eq!(k.time_to_heal.median_ms, Some(60_000));
    assert_eq!(k.time_to_heal.p95_ms, Some(60_000));
    assert_eq!(k.daily, vec![0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(k.first_seen.as_deref(), Some("2024-06-07T10:00:00Z"));
    assert_eq!(k.last_seen, k.first_seen);
    assert_eq!(k.top_instances.len(), 1);
    assert_eq!(k.top_instances[0].instance, "i-0123456789abcdef0");
    assert_eq!(k.top_instances[0].healed, 1);
    assert_eq!(k.transitions, 0, "one alarm without an OK is no transition");
    assert_eq!(r.totals.alerts, 1);
    assert_eq!(r.totals.human_pages_avoided, 1);
    assert_eq!(r.totals.on_call_minutes_saved, 15);
    assert_eq!(r.totals.auto_healed_share, Some(1.0));
    assert!(r.decisions.is_empty());
}

/// Every outcome of DESIGN §4 once: each alert falls in exactly one column, and the columns
/// add up; duplicates, invalid and unnamed records are data quality, not alerts or keys.
#[test]
fn outcome_columns_add_up_and_data_quality_is_separate() {
    let k = "db:replication_lag";
    let finals = [
        "healed",
        "failed",
        "precheck-failed",
        "recovered",
        "timed-out",
        "dry-run",
        "disabled",
        "no-runbook",
        "unresolved",
        "budget-exhausted",
        "capacity-wait",
        "killed",
        "silenced",
        "awaiting-approval",
        "skipped",
        "expired",
        "exploded",
    ];
    let mut v: Vec<HistoryRecord> = finals
        .iter()
        .enumerate()
        .map(|(i, o)| rec(k, o, &format!("i-{:08x}", i), this_day(i as i64 % 7)))
        .collect();
    v.push(rec(k, "duplicate", "i-00000000", this_day(1)));
    v.push(rec(k, "invalid", "", this_day(1)));
    v.push(HistoryRecord {
        key: None,
        role: None,
        alert: None,
        ..rec("x", "no-runbook", "", this_day(2))
    });
    v.push(ok(k, "i-00000001", this_day(1)));
    let r = build(&v);
    let x = key(&r, k);
    assert_eq!(x.this_period, finals.len() as u64);
    assert_eq!(x.outcome_groups.total(), x.this_period);
    assert_eq!(x.outcomes.values().sum::<u64>(), x.this_period);
    let g = x.outcome_groups;
    assert_eq!(
        (g.healed, g.failed, g.precheck_failed, g.needs_human),
        (1, 2, 1, 3)
    );
    assert_eq!(
        (g.dry_run, g.not_acted, g.no_runbook, g.in_progress),
        (1, 5, 1, 3)
    );
    assert_eq!(
        x.escalated, 5,
        "failed, timed-out, unresolved, budget-exhausted, expired"
    );
    assert_eq!(r.keys.len(), 1, "no (unknown) key: {:?}", r.keys);
    let q = &r.data_quality;
    assert_eq!(
        (q.duplicates, q.invalid, q.unnamed, q.recovery_notices),
        (1, 1, 1, 1)
    );
    assert_eq!(r.totals.outcome_groups.total(), r.totals.via_selfheal);
    assert_eq!(r.totals.alerts, finals.len() as u64);
}

#[test]
fn pages_avoided_counts_only_alerts_no_person_touched() {
    let k = "db:vacuum";
    let run = |i: i64| HistoryRecord {
        decision: Some("run".into()),
        approver: Some("U0ALICE (alice)".into()),
        mode: Some("approve".into()),
        waited_ms: Some(10 * 60_000),
        finished_at_ms: this_day(i) + 11 * 60_000,
        ..rec(k, "healed", &format!("i-{i:08x}"), this_day(i))
    };
    let escalated_heal = HistoryRecord {
        escalated: Some(true),
        ..rec("web:oom", "healed", "i-0000000a", this_day(1))
    };
    let v = vec![
        run(0),
        run(1),
        rec("web:oom", "healed", "i-0000000b", this_day(2)),
        rec("web:oom", "healed", "i-0000000c", this_day(3)),
        escalated_heal,
        rec("web:oom", "failed", "i-0000000d", this_day(4)),
    ];
    let r = build(&v);
    assert_eq!(r.totals.healed, 5);
    assert_eq!(
        r.totals.human_pages_avoided, 2,
        "only the two heals nobody touched"
    );
    assert_eq!(r.totals.humans_involved, 4);
    assert_eq!(r.totals.on_call_minutes_saved, 30);
    let vac = key(&r, k);
    assert_eq!(
        (vac.approved, vac.pages_avoided, vac.humans_involved),
        (2, 0, 2)
    );
    // Time to heal splits the wait for the press from the run.
    assert_eq!(vac.time_to_heal.median_ms, Some(11 * 60_000));
    assert_eq!(vac.time_waiting.median_ms, Some(10 * 60_000));
    assert_eq!(vac.time_running.median_ms, Some(60_000));
}

#[test]
fn a_heal_followed_by_its_ok_is_not_a_flap() {
    let k = "web:nginx_down";
    let mut v = Vec::new();
    for d in 0..7 {
        for (n, inst) in ["i-00000001", "i-00000002", "i-00000003"]
            .iter()
            .enumerate()
        {
            let at = this_day(d) + n as i64 * HOUR;
            v.push(rec(k, "healed", inst, at));
            v.push(ok(k, inst, at + 5 * 60_000));
        }
    }
    let r = build(&v);
    let x = key(&r, k);
    assert_eq!(x.this_period, 21);
    assert_eq!((x.flaps, x.transitions), (0, 0));

    // An alarm that clears with nothing run is a flap; `recovered` is one without an OK; an
    // alarm with no OK at all is none.
    let f = "web:cpu_high";
    let v = vec![
        rec(f, "no-runbook", "i-00000001", this_day(0)),
        ok(f, "i-00000001", this_day(0) + 60_000),
        rec(f, "silenced", "i-00000001", this_day(1)),
        ok(f, "i-00000001", this_day(1) + 60_000),
        rec(f, "recovered", "i-00000002", this_day(2)),
        ok(f, "i-00000002", this_day(2) + 60_000),
        rec(f, "dry-run", "i-00000003", this_day(3)),
        rec(f, "healed", "i-00000004", this_day(4)),
        ok(f, "i-00000004", this_day(4) + 60_000),
    ];
    let r = build(&v);
    let x = key(&r, f);
    assert_eq!((x.flaps, x.transitions), (3, 6));
}

#[test]
fn success_rate_needs_a_sample_and_counts_precheck_failures() {
    let k = "db:disk";
    let mut v: Vec<_> = (0..8)
        .map(|i| rec(k, "precheck-failed", &format!("i-{i:08x}"), this_day(i % 7)))
        .collect();
    v.push(rec(k, "healed", "i-0000000f", this_day(3)));
    let r = build(&v);
    let x = key(&r, k);
    assert_eq!((x.attempts, x.runs, x.healed), (9, 1, 1));
    let rate = x.success_rate.expect("sample of 9");
    assert!((rate - 1.0 / 9.0).abs() < 1e-9, "{rate}");
    let two = build(&v[7..]);
    assert_eq!(key(&two, k).success_rate, None, "2 attempts < 3");
}

#[test]
fn first_and_last_seen_stay_inside_the_period() {
    let k = "web:x";
    let v = vec![
        rec(k, "healed", "i-00000001", this_day(0) - 3 * DAY),
        rec(k, "healed", "i-00000001", this_day(2)),
        rec(k, "healed", "i-00000001", this_day(4)),
    ];
    let r = build(&v);
    let x = key(&r, k);
    assert_eq!(x.first_seen.as_deref(), Some("2024-06-07T10:00:00Z"));
    assert_eq!(x.last_seen.as_deref(), Some("2024-06-09T10:00:00Z"));
    assert_eq!(x.last_period, 1);
}

#[test]
fn a_partial_today_is_compared_with_the_same_span_of_last_period() {
    // NOW is Wednesday 10:00 UTC; the period is Thu..Wed with Wednesday partial.
    let w = ReportWindow::new(NOW, "UTC", 7, WindowEnd::EndOfToday).expect("window");
    let (ts, _) = w.this_period();
    let (ls, _) = w.last_period();
    let k = "web:x";
    let v = vec![
        // Last period: one alert on its first day, two on its last day (one at 09:00, before
        // the same time of day as now; one at 15:00, after it).
        rec(k, "healed", "i-1", ls + 12 * HOUR),
        rec(k, "healed", "i-1", ls + 6 * DAY + 9 * HOUR),
        rec(k, "healed", "i-1", ls + 6 * DAY + 15 * HOUR),
        // This period: two alerts.
        rec(k, "healed", "i-1", ts + 12 * HOUR),
        rec(k, "healed", "i-1", ts + 6 * DAY + 9 * HOUR),
    ];
    let r = build_in(w, &v);
    assert_eq!(r.partial_day.as_deref(), Some("2024-06-12"));
    let x = key(&r, k);
    assert_eq!((x.this_period, x.last_period, x.compared_with), (2, 3, 2));
    assert_eq!(x.change.delta, 0);
    assert_eq!(r.totals.compared_with, 2);
    for f in [Format::Text, Format::Markdown, Format::Html] {
        assert!(render(&r, f).contains("partial"), "{f:?}");
    }
    let slack = render(&r, Format::Slack);
    assert!(slack.contains("partial"));
}

#[test]
fn off_hours_and_heatmap_use_local_time() {
    // Europe/Berlin is UTC+2 in June. 2024-06-05 is a Wednesday.
    let w = ReportWindow::new(NOW, "Europe/Berlin", 7, WindowEnd::StartOfToday).expect("window");
    let (ts, _) = w.this_period();
    let k = "web:nginx_down";
    let mut v = Vec::new();
    // 02:10 local on five days: off hours, all healed alone.
    for d in 0..5 {
        v.push(rec(
            k,
            "healed",
            "i-0badc0de",
            ts + d * DAY + 2 * HOUR + 10 * 60_000,
        ));
    }
    // 10:00 local Wednesday: working hours, escalated.
    v.push(rec(k, "failed", "i-0badc0de", ts + 10 * HOUR));
    // Saturday 12:00 local (day 3 is Saturday): off hours, escalated.
    v.push(rec(k, "unresolved", "i-0badc0de", ts + 3 * DAY + 12 * HOUR));
    let r = build_in(w, &v);
    let t = &r.totals;
    assert_eq!(t.off_hours.work_hours, "mon-fri 08:00-19:00");
    assert_eq!(
        (
            t.off_hours.alerts,
            t.off_hours.pages,
            t.off_hours.pages_avoided
        ),
        (6, 1, 5)
    );
    // Wednesday is row 2, hour 2.
    assert_eq!(t.heatmap[2][2], 1);
    let at_two: u64 = t.heatmap.iter().map(|row| row[2]).sum();
    assert_eq!(at_two, 5);
    assert_eq!(t.heatmap[5][12], 1, "Saturday noon");
    assert_eq!(key(&r, k).hours[2], 5);
}

#[test]
fn owner_mode_and_description_come_from_the_records() {
    let mut a = rec("web:disk", "healed", "i-1", this_day(0));
    a.owner = Some("team-old".into());
    a.mode = Some("dry-run".into());
    let mut b = rec("web:disk", "healed", "i-1", this_day(1));
    b.owner = Some("team-web".into());
    b.mode = Some("enforce".into());
    b.description = Some("Free disk space".into());
    // The kill switch's `off` is not the runbook's mode.
    let mut c = rec("web:disk", "killed", "i-1", this_day(2));
    c.mode = Some("off".into());
    let r = build(&[a, b, c]);
    let k = key(&r, "web:disk");
    assert_eq!(k.owner.as_deref(), Some("team-web"));
    assert_eq!(k.mode.as_deref(), Some("enforce"));
    assert_eq!(k.description.as_deref(), Some("Free disk space"));
}

#[test]
fn alarm_history_not_read_is_said_at_the_top() {
    let mut b = ReportBuilder::new(window_utc());
    b.add(&rec("web:x", "healed", "i-1", this_day(1)));
    b.alarm_history_not_read(
        false,
        "service error: AccessDenied: User: arn:aws:sts::123:assumed-role/x is not authorized\nrequest id: abc",
    );
    let r = b.finish(ReportConfig::default());
    assert_eq!(r.alarm_history.status, "not read");
    let reason = r.alarm_history.reason.as_deref().expect("reason");
    assert!(
        !reason.contains('\n') && reason.chars().count() <= 161,
        "{reason}"
    );
    let text = render(&r, Format::Text);
    let first_lines: Vec<&str> = text.lines().take(4).collect();
    assert!(
        first_lines
            .iter()
            .any(|l| l.contains("alarm history was not read")),
        "{first_lines:?}"
    );
    let html = render(&r, Format::Html);
    assert!(html.contains("alarms only in CloudWatch: not read"));
    let good = build(&[rec("web:x", "healed", "i-1", this_day(1))]);
    assert!(good.alarm_history.is_read());
    assert!(!render(&good, Format::Text).contains("alarm history"));
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
    assert_eq!(key(&r, "web:oom").time_waiting.median_ms, Some(0));
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
    assert_eq!(
        k.first_seen.as_deref(),
        Some("2024-06-03T00:00:00+09:00"),
        "this period only"
    );
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
        // Only a day (UTC partition) and an outcome: invalid, data quality only.
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
        // Neither key nor alert: unnamed.
        parse(&format!(
            r#"{{"outcome": "no-runbook", "received_at_ms": {in_window}}}"#
        )),
    ];
    let r = build(&recs);
    let q = &r.data_quality;
    assert_eq!(q.history_records, 8);
    assert_eq!(q.undated, 2);
    assert_eq!((q.invalid, q.unnamed), (1, 1));
    assert_eq!(q.without_key, 3);
    assert!(r.keys.iter().all(|k| k.key != UNKNOWN_KEY));
    assert_eq!(key(&r, "?:disk_full").escalated, 1);
    let oom = key(&r, "web:oom");
    assert_eq!(oom.healed, 2);
    assert_eq!(oom.time_to_heal.samples, 0);
    assert_eq!(oom.time_to_heal.median_ms, None);
    assert_eq!(key(&r, "web:new").outcomes.get("other"), Some(&1));
    assert_eq!(key(&r, "web:new").outcome_groups.in_progress, 1);
    assert_eq!(r.totals.alerts, 4);
}

#[test]
fn key_limit_folds_into_other_keys() {
    let w = window_utc();
    let mut b = ReportBuilder::with_limits(
        w,
        Limits {
            max_keys: 3,
            instance_slots: 4,
            ..Limits::default()
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
            max_instances: 50,
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
    assert!(!k.instances_exact);
    assert!(r.data_quality.flaps_untracked > 0);
}

#[test]
fn hostile_and_huge_names_are_clipped() {
    let long = format!("web:{}", "x".repeat(10_000));
    let r = build(&[rec(&long, "healed", "", this_day(1))]);
    assert!(r.keys[0].key.chars().count() <= 257);
}

#[test]
fn json_schema_v2_is_stable() {
    let r = build(&[rec("web:disk_full", "healed", "i-00000001", this_day(1))]);
    let json = render_json(&r);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["schema_version"], 2);
    let mut got: Vec<&str> = v
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
        "partial_day",
        "days",
        "weekdays",
        "totals",
        "decisions",
        "keys",
        "thresholds",
        "report_url",
        "chart_url",
        "alarm_history",
        "data_quality",
    ];
    want.sort_unstable();
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
        "owner",
        "description",
        "mode",
        "seen",
        "this_period",
        "last_period",
        "compared_with",
        "change",
        "outcome_groups",
        "healed",
        "failed",
        "escalated",
        "dry_run",
        "no_runbook",
        "precheck_failed",
        "runs",
        "attempts",
        "success_rate",
        "humans_involved",
        "pages_avoided",
        "time_to_heal",
        "time_waiting",
        "time_running",
        "top_instances",
        "instances",
        "first_seen",
        "last_seen",
        "daily",
        "daily_last_period",
        "hours",
        "flaps",
        "transitions",
        "outcomes",
        "approved",
        "skipped",
        "decision",
    ] {
        assert!(key_fields.contains(&f), "missing {f}");
    }
    for f in [
        "alerts",
        "compared_with",
        "outcome_groups",
        "auto_healed_share",
        "human_pages_avoided",
        "humans_involved",
        "on_call_minutes_saved",
        "minutes_per_page",
        "off_hours",
        "daily",
        "daily_by_outcome",
        "daily_last_period",
        "heatmap",
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
        alerts
            + q.duplicates
            + q.invalid
            + q.unnamed
            + q.recovery_notices
            + q.out_of_window
            + q.undated,
        50_000
    );
    assert!(r.keys.len() <= 200);
    for k in &r.keys {
        assert_eq!(k.outcome_groups.total(), k.this_period, "{}", k.key);
    }
}
