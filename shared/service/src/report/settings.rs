//! The reporter's `SELFHEAL_REPORT_*` settings (engine-wide ones such as `SELFHEAL_TABLE` and the
//! Slack webhook come from `selfheal_aws::Settings`).
//!
//! The struct lives here because the report flow uses it; the environment is read for it only
//! by `selfheal_aws::settings::report` (`from_env`, and `from_lookup` over a map in tests), with
//! every other `SELFHEAL_*` setting, on the shared parsers of `selfheal_aws::settings`, listed in
//! its registry and held to the README there.

use selfheal_core::report::{Thresholds, WorkHours};

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

    #[test]
    fn keys_and_the_link_under_url_base() {
        let s = ReportSettings {
            bucket: Some("b".into()),
            prefix: "r".into(),
            url_base: Some("https://reports.example.com/".into()),
            ..ReportSettings::default()
        };
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
    }

    #[test]
    fn console_link_without_url_base() {
        let s = ReportSettings {
            bucket: Some("my-bucket".into()),
            ..ReportSettings::default()
        };
        let key = s.object_key("2024-06-09");
        assert_eq!(
            s.report_url(&key, Some("eu-west-1")).as_deref(),
            Some("https://s3.console.aws.amazon.com/s3/object/my-bucket?prefix=selfheal/reports/selfheal-report-2024-06-09.html&region=eu-west-1")
        );
        assert_eq!(ReportSettings::default().report_url(&key, None), None);
    }
}
