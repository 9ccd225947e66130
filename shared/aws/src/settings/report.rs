//! The weekly report's `SELFHEAL_REPORT_*` settings
//! ([`selfheal_service::report::ReportSettings`]); the engine-wide ones it also needs (the table,
//! the Slack webhook) are [`super::engine`]'s.
//!
//! The struct (its defaults and the S3 keys and links built from it) stays in
//! `selfheal_service::report`, which uses it and cannot depend on this crate; it is read here,
//! through the shared [`Reader`], with every other setting. Each variable, its default and its
//! meaning: the table on [`ReportSettings`] and the registry ([`super::registry`]).

use selfheal_core::report::{parse_since, ReportWindow, WindowEnd, WorkHours, MAX_PERIOD_DAYS};

pub use selfheal_service::report::ReportSettings;

use super::Reader;

/// `SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT` when unset.
const DEFAULT_DOWNGRADE_MIN_SUCCESS_PCT: u32 = 95;
/// `SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT` when unset.
const DEFAULT_FIX_RUNBOOK_FAILURE_PCT: u32 = 30;

/// The report's settings from the process environment; every problem at once.
pub fn from_env() -> Result<ReportSettings, Vec<String>> {
    from_lookup(super::env)
}

/// The report's settings through `lookup` (tests pass a map); empty values count as unset, a
/// setting with a problem keeps its default, and every problem is returned at once.
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ReportSettings, Vec<String>> {
    let mut r = Reader::new(&lookup);
    let mut s = ReportSettings::default();

    if let Some(tz) = r.parsed_with(
        "SELFHEAL_REPORT_TZ",
        "an IANA time zone (such as Europe/Berlin or UTC)",
        |tz| {
            ReportWindow::new(0, tz, 1, WindowEnd::EndOfToday)
                .ok()
                .map(|_| tz.to_owned())
        },
    ) {
        s.time_zone = tz;
    }
    if let Some(w) = r.parsed::<WorkHours>(
        "SELFHEAL_REPORT_WORK_HOURS",
        "days and a time span such as \"mon-fri 08:00-19:00\"",
    ) {
        s.work_hours = w;
    }
    if let Some(days) = r.parsed_with(
        "SELFHEAL_REPORT_PERIOD",
        &format!("a number of days or weeks such as 7d, 14d or 2w (1 to {MAX_PERIOD_DAYS} days)"),
        |p| parse_since(p).ok(),
    ) {
        s.period_days = days;
    }
    s.minutes_per_page = r.number("SELFHEAL_REPORT_MINUTES_PER_PAGE", s.minutes_per_page, 0..);

    // Each threshold: its variable and the smallest value that makes sense (`t` holds the
    // defaults, kept when a variable is unset or wrong).
    let t = &mut s.thresholds;
    for (slot, name, min) in [
        (&mut t.frequent_alerts, "SELFHEAL_REPORT_FREQUENT_ALERTS", 1),
        (
            &mut t.promote_min_approved,
            "SELFHEAL_REPORT_PROMOTE_MIN_APPROVED",
            0,
        ),
        (
            &mut t.promote_min_dry_runs,
            "SELFHEAL_REPORT_PROMOTE_MIN_DRY_RUNS",
            0,
        ),
        (
            &mut t.fleet_min_instances,
            "SELFHEAL_REPORT_FLEET_MIN_INSTANCES",
            2,
        ),
        (
            &mut t.recurring_min_days,
            "SELFHEAL_REPORT_RECURRING_MIN_DAYS",
            1,
        ),
        (
            &mut t.route_min_unresolved,
            "SELFHEAL_REPORT_ROUTE_MIN_UNRESOLVED",
            1,
        ),
        (&mut t.min_rate_sample, "SELFHEAL_REPORT_MIN_RATE_SAMPLE", 1),
        (
            &mut t.downgrade_min_healed,
            "SELFHEAL_REPORT_DOWNGRADE_MIN_HEALED",
            1,
        ),
        (
            &mut t.fix_runbook_min_runs,
            "SELFHEAL_REPORT_FIX_RUNBOOK_MIN_RUNS",
            1,
        ),
        (
            &mut t.repeat_instance_heals,
            "SELFHEAL_REPORT_REPEAT_INSTANCE_HEALS",
            1,
        ),
        (
            &mut t.flapping_transitions,
            "SELFHEAL_REPORT_FLAPPING_TRANSITIONS",
            1,
        ),
        (
            &mut t.cloudwatch_only_min_alarms,
            "SELFHEAL_REPORT_CLOUDWATCH_ONLY_MIN_ALARMS",
            1,
        ),
    ] {
        *slot = r.number(name, *slot, min..);
    }
    // The two rates are set as whole percentages.
    let success = r.number(
        "SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT",
        DEFAULT_DOWNGRADE_MIN_SUCCESS_PCT,
        0..=100,
    );
    let failure = r.number(
        "SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT",
        DEFAULT_FIX_RUNBOOK_FAILURE_PCT,
        0..=100,
    );
    s.thresholds.downgrade_min_success = f64::from(success) / 100.0;
    s.thresholds.fix_runbook_failure_rate = f64::from(failure) / 100.0;

    s.alarm_history = r.flag("SELFHEAL_REPORT_ALARM_HISTORY", s.alarm_history);
    s.bucket = r.trimmed("SELFHEAL_REPORT_BUCKET");
    if let Some(p) = r.trimmed("SELFHEAL_REPORT_PREFIX") {
        s.prefix = p.trim_start_matches('/').to_owned();
    }
    s.url_base = r.optional_http_url("SELFHEAL_REPORT_URL_BASE");
    r.finish(s)
}

/// The engine's settings the report needs (`SELFHEAL_TABLE` required, the Slack webhook) and the
/// report's own, through `lookup`, with the problems of both in one [`super::SettingsError`].
pub fn with_engine_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(super::Settings, ReportSettings), super::SettingsError> {
    let mut problems = super::Problems::default();
    let base = super::Settings::from_lookup(true, &lookup)
        .map_err(|e| problems.extend(e.problems))
        .ok();
    let report = from_lookup(&lookup).map_err(|p| problems.extend(p)).ok();
    match (base, report) {
        (Some(base), Some(report)) => Ok((base, report)),
        _ => Err(super::SettingsError {
            problems: problems.into_vec(),
        }),
    }
}

/// [`with_engine_from_lookup`] over the process environment.
pub fn with_engine_from_env() -> Result<(super::Settings, ReportSettings), super::SettingsError> {
    with_engine_from_lookup(super::env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<ReportSettings, Vec<String>> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s, ReportSettings::default());
        assert_eq!(s.time_zone, "UTC");
        assert_eq!(s.period_days, 7);
        assert_eq!(s.minutes_per_page, 15);
        assert_eq!(s.thresholds.downgrade_min_success, 0.95);
        assert_eq!(s.thresholds.fix_runbook_failure_rate, 0.30);
        assert!(s.alarm_history);
        // Empty counts as unset.
        assert_eq!(
            load(&[("SELFHEAL_REPORT_TZ", ""), ("SELFHEAL_REPORT_PREFIX", " ")]),
            Ok(ReportSettings::default())
        );
    }

    #[test]
    fn reads_values() {
        let s = load(&[
            ("SELFHEAL_REPORT_TZ", "Asia/Tokyo"),
            ("SELFHEAL_REPORT_PERIOD", "2w"),
            ("SELFHEAL_REPORT_MINUTES_PER_PAGE", "20"),
            ("SELFHEAL_REPORT_WORK_HOURS", "mon-sat 09:00-18:00"),
            ("SELFHEAL_REPORT_FLEET_MIN_INSTANCES", "8"),
            ("SELFHEAL_REPORT_FREQUENT_ALERTS", "10"),
            ("SELFHEAL_REPORT_PROMOTE_MIN_APPROVED", "0"),
            ("SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT", "90"),
            ("SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT", "100"),
            ("SELFHEAL_REPORT_ALARM_HISTORY", "false"),
            ("SELFHEAL_REPORT_BUCKET", "b"),
            ("SELFHEAL_REPORT_PREFIX", "/r"),
            ("SELFHEAL_REPORT_URL_BASE", "https://reports.example.com/"),
        ])
        .expect("valid");
        assert_eq!(s.time_zone, "Asia/Tokyo");
        assert_eq!(s.period_days, 14);
        assert_eq!(s.minutes_per_page, 20);
        assert_eq!(s.work_hours.to_string(), "mon-sat 09:00-18:00");
        assert_eq!(s.thresholds.fleet_min_instances, 8);
        assert_eq!(s.thresholds.frequent_alerts, 10);
        assert_eq!(s.thresholds.promote_min_approved, 0);
        assert_eq!(s.thresholds.downgrade_min_success, 0.9);
        assert_eq!(s.thresholds.fix_runbook_failure_rate, 1.0);
        assert!(!s.alarm_history);
        assert_eq!(s.bucket.as_deref(), Some("b"));
        assert_eq!(s.prefix, "r");
        assert_eq!(s.url_base.as_deref(), Some("https://reports.example.com/"));
        assert_eq!(
            s.report_url(&s.object_key("2024-06-09"), None).as_deref(),
            Some("https://reports.example.com/r/selfheal-report-2024-06-09.html")
        );
    }

    #[test]
    fn every_problem_at_once_in_the_shared_shape() {
        let err = load(&[
            ("SELFHEAL_REPORT_TZ", "Nowhere/City"),
            ("SELFHEAL_REPORT_PERIOD", "1y"),
            ("SELFHEAL_REPORT_FREQUENT_ALERTS", "0"),
            ("SELFHEAL_REPORT_FLEET_MIN_INSTANCES", "1"),
            ("SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT", "130"),
            ("SELFHEAL_REPORT_ALARM_HISTORY", "maybe"),
            ("SELFHEAL_REPORT_URL_BASE", "ftp://x"),
            ("SELFHEAL_REPORT_WORK_HOURS", "weekdays"),
        ])
        .expect_err("invalid");
        assert_eq!(
            err,
            vec![
                "SELFHEAL_REPORT_TZ=\"Nowhere/City\" is not an IANA time zone (such as Europe/Berlin or UTC)",
                "SELFHEAL_REPORT_WORK_HOURS=\"weekdays\" is not days and a time span such as \"mon-fri 08:00-19:00\"",
                "SELFHEAL_REPORT_PERIOD=\"1y\" is not a number of days or weeks such as 7d, 14d or 2w (1 to 92 days)",
                "SELFHEAL_REPORT_FREQUENT_ALERTS=\"0\" is not a whole number ≥ 1",
                "SELFHEAL_REPORT_FLEET_MIN_INSTANCES=\"1\" is not a whole number ≥ 2",
                "SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT=\"130\" is not a whole number from 0 to 100",
                "SELFHEAL_REPORT_ALARM_HISTORY=\"maybe\" is not true or false",
                "SELFHEAL_REPORT_URL_BASE=\"ftp://x\" is not an http(s) URL",
            ]
        );
    }
}
