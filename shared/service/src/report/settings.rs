//! The reporter's `SELFHEAL_REPORT_*` settings (engine-wide ones such as `SELFHEAL_TABLE` and the
//! Slack webhook come from `selfheal_aws::Settings`). Empty variables count as unset; every
//! problem is reported at once.
//!
//! The struct lives here because the report flow uses it; the environment is read for it by
//! `selfheal_aws::settings::report` (with every other `SELFHEAL_*` setting, listed in its
//! registry and held to the README there). [`ReportSettings::from_lookup`] is the pure parse
//! over a lookup that loader calls; its messages have the same shape as the other loaders'
//! (`NAME="value" is not a whole number ≥ 1`).

use selfheal_core::report::{parse_since, ReportWindow, Thresholds, WindowEnd, WorkHours};

/// Report settings with their defaults:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `SELFHEAL_REPORT_TZ` | `UTC` | IANA time zone of the report's days and weeks |
/// | `SELFHEAL_REPORT_PERIOD` | `7d` | period of the scheduled report (`Nd` or `Nw`, ≤ 92 days); the previous period of the same length is the comparison |
/// | `SELFHEAL_REPORT_MINUTES_PER_PAGE` | `15` | on-call minutes one page costs |
/// | `SELFHEAL_REPORT_WORK_HOURS` | `mon-fri 08:00-19:00` | working hours in the report's time zone; alerts outside are "off hours" |
/// | `SELFHEAL_REPORT_FREQUENT_ALERTS` | `3` | `write-runbook`: no-runbook alerts per period |
/// | `SELFHEAL_REPORT_PROMOTE_MIN_APPROVED` | `5` | `promote-to-enforce`: Run presses (0 = off) |
/// | `SELFHEAL_REPORT_PROMOTE_MIN_DRY_RUNS` | `5` | `promote-to-enforce`: dry runs (0 = off) |
/// | `SELFHEAL_REPORT_DOWNGRADE_MIN_HEALED` | `5` | `downgrade-to-warning`: heals per period… |
/// | `SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT` | `95` | …at this success rate (%) |
/// | `SELFHEAL_REPORT_FIX_RUNBOOK_MIN_RUNS` | `3` | `fix-runbook`: attempts per period… |
/// | `SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT` | `30` | …not healed at this rate (%) |
/// | `SELFHEAL_REPORT_REPEAT_INSTANCE_HEALS` | `3` | `permanent-fix-instance`: alerts on one instance |
/// | `SELFHEAL_REPORT_FLEET_MIN_INSTANCES` | `5` | `permanent-fix-fleet`: distinct instances… |
/// | `SELFHEAL_REPORT_RECURRING_MIN_DAYS` | `4` | …on this many days of the period |
/// | `SELFHEAL_REPORT_FLAPPING_TRANSITIONS` | `6` | `tune-or-retire-alarm`: unexplained state changes (2 per flap) |
/// | `SELFHEAL_REPORT_CLOUDWATCH_ONLY_MIN_ALARMS` | `1` | `route-elsewhere`: ALARMs of an alarm selfheal never saw |
/// | `SELFHEAL_REPORT_ROUTE_MIN_UNRESOLVED` | `3` | `route-elsewhere`: unresolved or expired alerts |
/// | `SELFHEAL_REPORT_MIN_RATE_SAMPLE` | `3` | success rates over fewer attempts are not shown |
/// | `SELFHEAL_REPORT_ALARM_HISTORY` | `true` | read CloudWatch `DescribeAlarmHistory` (`false` to skip) |
/// | `SELFHEAL_REPORT_BUCKET` | unset | S3 bucket for the HTML report (not uploaded when unset) |
/// | `SELFHEAL_REPORT_PREFIX` | `selfheal/reports/` | key prefix in the bucket |
/// | `SELFHEAL_REPORT_URL_BASE` | unset | URL the bucket's objects are served under (linked from Slack); without it Slack links the S3 console |
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    pub time_zone: String,
    pub period_days: u32,
    pub minutes_per_page: u32,
    pub work_hours: WorkHours,
    pub thresholds: Thresholds,
    pub alarm_history: bool,
    pub bucket: Option<String>,
    pub prefix: String,
    pub url_base: Option<String>,
}

pub const DEFAULT_TIME_ZONE: &str = "UTC";
pub const DEFAULT_PERIOD: &str = "7d";
pub const DEFAULT_MINUTES_PER_PAGE: u32 = 15;
pub const DEFAULT_PREFIX: &str = "selfheal/reports/";

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
            period_days: 7,
            minutes_per_page: DEFAULT_MINUTES_PER_PAGE,
            work_hours: WorkHours::default(),
            thresholds: Thresholds::default(),
            alarm_history: true,
            bucket: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            url_base: None,
        }
    }
}

impl ReportSettings {
    /// Reads the process environment. Kept for `selfheal_aws::report::report_from_env`; new
    /// callers use `selfheal_aws::settings::report::from_env`, which reads the environment with
    /// every other setting.
    pub fn from_env() -> Result<Self, Vec<String>> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut s = Self::default();

        if let Some(tz) = get("SELFHEAL_REPORT_TZ") {
            match ReportWindow::new(0, &tz, 1, WindowEnd::EndOfToday) {
                Ok(_) => s.time_zone = tz,
                Err(e) => problems.push(format!("SELFHEAL_REPORT_TZ: {e}")),
            }
        }
        if let Some(w) = get("SELFHEAL_REPORT_WORK_HOURS") {
            match w.parse::<WorkHours>() {
                Ok(w) => s.work_hours = w,
                Err(e) => problems.push(format!("SELFHEAL_REPORT_WORK_HOURS: {e}")),
            }
        }
        if let Some(p) = get("SELFHEAL_REPORT_PERIOD") {
            match parse_since(&p) {
                Ok(d) => s.period_days = d,
                Err(e) => problems.push(format!("SELFHEAL_REPORT_PERIOD: {e}")),
            }
        }
        let mut whole = |name: &str, default: u64, min: u64| -> u64 {
            match get(name) {
                None => default,
                Some(raw) => match raw.parse::<u64>() {
                    Ok(n) if n >= min => n,
                    _ => {
                        problems.push(format!(
                            "{name}={:?} is not a whole number ≥ {min}",
                            selfheal_core::alert::clip(&raw, 40)
                        ));
                        default
                    }
                },
            }
        };
        s.minutes_per_page = u32::try_from(whole(
            "SELFHEAL_REPORT_MINUTES_PER_PAGE",
            u64::from(DEFAULT_MINUTES_PER_PAGE),
            0,
        ))
        .unwrap_or(DEFAULT_MINUTES_PER_PAGE);
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
            *slot = whole(name, *slot, min);
        }
        let success = whole("SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT", 95, 0);
        let failure = whole("SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT", 30, 0);
        for (name, v) in [
            ("SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT", success),
            ("SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT", failure),
        ] {
            if v > 100 {
                problems.push(format!("{name}={v} is not a percentage (0..=100)"));
            }
        }
        s.thresholds.downgrade_min_success = success.min(100) as f64 / 100.0;
        s.thresholds.fix_runbook_failure_rate = failure.min(100) as f64 / 100.0;

        if let Some(raw) = get("SELFHEAL_REPORT_ALARM_HISTORY") {
            match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => s.alarm_history = true,
                "0" | "false" | "no" | "off" => s.alarm_history = false,
                _ => problems.push(format!(
                    "SELFHEAL_REPORT_ALARM_HISTORY={:?} is not true or false",
                    selfheal_core::alert::clip(&raw, 20)
                )),
            }
        }
        s.bucket = get("SELFHEAL_REPORT_BUCKET");
        if let Some(p) = get("SELFHEAL_REPORT_PREFIX") {
            s.prefix = p.trim_start_matches('/').to_owned();
        }
        s.url_base = get("SELFHEAL_REPORT_URL_BASE");
        if let Some(u) = &s.url_base {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                problems.push(format!(
                    "SELFHEAL_REPORT_URL_BASE={:?} is not an http(s) URL",
                    selfheal_core::alert::clip(u, 80)
                ));
            }
        }
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(problems)
        }
    }

    /// The S3 key of the report whose period ends with local date `last_day`.
    pub fn object_key(&self, last_day: &str) -> String {
        let mut p = self.prefix.clone();
        if !p.is_empty() && !p.ends_with('/') {
            p.push('/');
        }
        format!("{p}selfheal-report-{last_day}.html")
    }

    /// The S3 key of the chart PNG beside the report of `last_day`.
    pub fn chart_key(&self, last_day: &str) -> String {
        let html = self.object_key(last_day);
        format!("{}.png", html.trim_end_matches(".html"))
    }

    /// The link to an uploaded report: under `url_base` if set, else the S3 console.
    pub fn report_url(&self, key: &str, region: Option<&str>) -> Option<String> {
        let bucket = self.bucket.as_deref()?;
        Some(match &self.url_base {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), key),
            None => {
                let region = region.map(|r| format!("&region={r}")).unwrap_or_default();
                format!("https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={key}{region}")
            }
        })
    }
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
        ReportSettings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s, ReportSettings::default());
        assert_eq!(s.time_zone, "UTC");
        assert_eq!(s.minutes_per_page, 15);
        assert_eq!(s.thresholds.downgrade_min_success, 0.95);
        assert_eq!(s.thresholds.fix_runbook_failure_rate, 0.30);
        assert!(s.alarm_history);
    }

    #[test]
    fn reads_values_and_collects_problems() {
        let s = load(&[
            ("SELFHEAL_REPORT_TZ", "Asia/Tokyo"),
            ("SELFHEAL_REPORT_PERIOD", "2w"),
            ("SELFHEAL_REPORT_MINUTES_PER_PAGE", "20"),
            ("SELFHEAL_REPORT_WORK_HOURS", "mon-sat 09:00-18:00"),
            ("SELFHEAL_REPORT_FLEET_MIN_INSTANCES", "8"),
            ("SELFHEAL_REPORT_FREQUENT_ALERTS", "10"),
            ("SELFHEAL_REPORT_DOWNGRADE_MIN_SUCCESS_PCT", "90"),
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
        assert_eq!(s.thresholds.downgrade_min_success, 0.9);
        assert!(!s.alarm_history);
        let key = s.object_key("2024-06-09");
        assert_eq!(key, "r/selfheal-report-2024-06-09.html");
        assert_eq!(
            s.chart_key("2024-06-09"),
            "r/selfheal-report-2024-06-09.png"
        );
        assert_eq!(
            s.report_url(&key, None).as_deref(),
            Some("https://reports.example.com/r/selfheal-report-2024-06-09.html")
        );

        let err = load(&[
            ("SELFHEAL_REPORT_TZ", "Nowhere/City"),
            ("SELFHEAL_REPORT_PERIOD", "1y"),
            ("SELFHEAL_REPORT_FREQUENT_ALERTS", "0"),
            ("SELFHEAL_REPORT_FIX_RUNBOOK_FAILURE_PCT", "130"),
            ("SELFHEAL_REPORT_ALARM_HISTORY", "maybe"),
            ("SELFHEAL_REPORT_URL_BASE", "ftp://x"),
            ("SELFHEAL_REPORT_WORK_HOURS", "weekdays"),
        ])
        .expect_err("invalid");
        assert_eq!(err.len(), 7, "{err:?}");
    }

    #[test]
    fn console_link_without_url_base() {
        let s = load(&[("SELFHEAL_REPORT_BUCKET", "my-bucket")]).expect("valid");
        let key = s.object_key("2024-06-09");
        assert_eq!(
            s.report_url(&key, Some("eu-west-1")).as_deref(),
            Some("https://s3.console.aws.amazon.com/s3/object/my-bucket?prefix=selfheal/reports/selfheal-report-2024-06-09.html&region=eu-west-1")
        );
        assert_eq!(load(&[]).expect("valid").report_url(&key, None), None);
    }
}
