//! The report's data model. Serialized as the JSON format, `schema_version` 1 — see
//! `docs/report-schema.md`. Fields are only ever added within a schema version; a removal or
//! a change of meaning bumps [`SCHEMA_VERSION`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::history::EpochMillis;

/// The JSON schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Recommendation thresholds (all configurable; see the reporter's `SELFHEAL_REPORT_*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// `write-runbook`: at least this many `no-runbook` alerts this period.
    pub frequent_alerts: u64,
    /// `promote-to-enforce`: Run was pressed at least this many times this period and Skip
    /// never (runbooks in mode `approve`).
    pub promote_min_approved: u64,
    /// `downgrade-to-warning`: healed at least this many times this period…
    pub downgrade_min_healed: u64,
    /// …with at least this success rate (0..=1).
    pub downgrade_min_success: f64,
    /// `fix-runbook`: at least this many runs (healed + failed + timed-out)…
    pub fix_runbook_min_runs: u64,
    /// …with at least this failure rate (0..=1).
    pub fix_runbook_failure_rate: f64,
    /// `permanent-fix`: the same instance healed at least this many times this period.
    pub repeat_instance_heals: u64,
    /// `fix-threshold`: at least this many ALARM↔OK transitions this period.
    pub flapping_transitions: u64,
    /// `route-or-delete`: an alarm only in CloudWatch history that went to ALARM at least this
    /// many times this period.
    pub cloudwatch_only_min_alarms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            frequent_alerts: 3,
            promote_min_approved: 5,
            downgrade_min_healed: 5,
            downgrade_min_success: 0.95,
            fix_runbook_min_runs: 3,
            fix_runbook_failure_rate: 0.30,
            repeat_instance_heals: 3,
            flapping_transitions: 6,
            cloudwatch_only_min_alarms: 1,
        }
    }
}

/// Settings applied when the report is finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportConfig {
    /// On-call minutes one human page costs (for "on-call minutes saved").
    pub minutes_per_page: u32,
    pub thresholds: Thresholds,
    /// Where the full report can be read (linked from Slack), if anywhere.
    pub report_url: Option<String>,
    /// Top instances listed per key.
    pub top_instances: usize,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            minutes_per_page: 15,
            thresholds: Thresholds::default(),
            report_url: None,
            top_instances: 5,
        }
    }
}

/// One period of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Inclusive start, RFC 3339 with the report time zone's offset.
    pub start: String,
    /// Exclusive end, RFC 3339.
    pub end: String,
    pub start_ms: EpochMillis,
    pub end_ms: EpochMillis,
}

/// Change from last period to this one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `this - last`.
    pub delta: i64,
    /// `delta / last` (e.g. 0.5 = +50 %); `null` when last period had none.
    pub ratio: Option<f64>,
}

impl Change {
    pub fn between(this: u64, last: u64) -> Self {
        let delta = this as i64 - last as i64;
        Self {
            delta,
            ratio: (last > 0).then(|| delta as f64 / last as f64),
        }
    }
}

/// Time from receipt to the healed result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeToHeal {
    pub median_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// Healed records with usable timestamps.
    pub samples: u64,
    /// `true` when computed from every sample (≤ 128), else from a log histogram (±2 %).
    pub exact: bool,
}

/// One instance's share of a key's alerts this period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCount {
    pub instance: String,
    pub alerts: u64,
    /// Healed results on this instance (a lower bound when `approximate`).
    pub healed: u64,
    /// The counts come from a bounded summary and may be overestimated (alerts) or
    /// underestimated (healed) by a little; `false` for up to 32 distinct instances per key.
    pub approximate: bool,
}

/// Where a key was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// In selfheal's history table.
    pub history: bool,
    /// In CloudWatch alarm history.
    pub cloudwatch: bool,
}

/// Everything the report says about one `ROLE:ALERT` (or, for a CloudWatch-only alarm, its
/// alarm name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyReport {
    pub key: String,
    pub role: Option<String>,
    pub alert: Option<String>,
    /// The runbook map key that matched (last one seen), if any.
    pub runbook: Option<String>,
    pub seen: Seen,
    /// Alerts this period (ALARM deliveries; duplicates and OK/INSUFFICIENT_DATA notices are
    /// not alerts). For a CloudWatch-only alarm: its transitions to ALARM.
    pub this_period: u64,
    pub last_period: u64,
    pub change: Change,
    pub healed: u64,
    /// `failed` + `timed-out`: the runbook ran and did not fix it.
    pub failed: u64,
    /// Outcomes that page a human: `failed`, `timed-out`, `budget-exhausted`, `unresolved`.
    pub escalated: u64,
    pub dry_run: u64,
    pub no_runbook: u64,
    /// Remediations that ran: `healed` + `failed`.
    pub runs: u64,
    /// `healed / runs`; `null` without runs.
    pub success_rate: Option<f64>,
    pub time_to_heal: TimeToHeal,
    pub top_instances: Vec<InstanceCount>,
    /// First and last alert in the whole window (both periods), RFC 3339.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Alerts per local day of this period (aligned with [`Report::days`]).
    pub daily: Vec<u64>,
    /// Alerts per local day of the previous period.
    pub daily_last_period: Vec<u64>,
    /// ALARM↔OK transitions this period (see [`Report`]'s doc).
    pub transitions: u64,
    /// Every outcome recorded this period (including duplicates and recovery notices).
    pub outcomes: BTreeMap<String, u64>,
    /// Mode `approve`: requests this period where a person pressed Run (in time)…
    #[serde(default)]
    pub approved: u64,
    /// …and where a person pressed Skip.
    #[serde(default)]
    pub skipped: u64,
    /// Rule ids of this key's recommendations.
    pub recommendations: Vec<String>,
}

/// A suggested decision, with the rule that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable rule id: `write-runbook`, `downgrade-to-warning`, `fix-runbook`,
    /// `permanent-fix`, `fix-threshold`, `route-or-delete`.
    pub rule: String,
    pub key: String,
    /// The action, short: "write a runbook".
    pub action: String,
    /// One human sentence with the evidence and the rule's threshold.
    pub text: String,
    /// Instances concerned (`permanent-fix`), else empty.
    pub instances: Vec<String>,
}

/// Fleet totals for this period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Alerts this period: selfheal's plus CloudWatch-only alarms.
    pub alerts: u64,
    pub alerts_last_period: u64,
    pub change: Change,
    /// Alerts that reached selfheal.
    pub via_selfheal: u64,
    /// ALARM transitions of alarms seen only in CloudWatch history.
    pub cloudwatch_only: u64,
    pub healed: u64,
    pub failed: u64,
    pub escalated: u64,
    pub dry_run: u64,
    pub no_runbook: u64,
    /// `healed / alerts`; `null` without alerts.
    pub auto_healed_share: Option<f64>,
    /// Each healed alert is a page nobody had to answer.
    pub human_pages_avoided: u64,
    pub minutes_per_page: u32,
    /// `human_pages_avoided × minutes_per_page`.
    pub on_call_minutes_saved: u64,
    /// Keys with at least one alert in the window.
    pub keys: u64,
}

/// How the input looked (for trust in the numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataQuality {
    pub history_records: u64,
    pub alarm_history_items: u64,
    pub duplicates: u64,
    /// OK / INSUFFICIENT_DATA notices (outcome `ignored`).
    pub recovery_notices: u64,
    /// Records outside both periods (ignored).
    pub out_of_window: u64,
    /// Records with no usable timestamp nor day (ignored).
    pub undated: u64,
    /// Records without a key (grouped by `?:ALERT` or `(unknown)`).
    pub without_key: u64,
    /// Records folded into `(other keys)` after the key limit was reached.
    pub keys_overflowed: u64,
    /// Set when a source could not be read completely (e.g. CloudWatch alarm history).
    pub warnings: Vec<String>,
}

/// The weekly report.
///
/// A *transition* is an ALARM↔OK state change. CloudWatch notifies on changes, so each ALARM
/// alert and each OK notice is one; because states alternate, `a` ALARM and `o` OK events
/// imply `2·min(a, o) + (1 if a ≠ o)` alternations. The larger of the history's and CloudWatch
/// alarm history's counts is used (they may record the same changes). Alarms without OK actions
/// never look flapping from the history alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// `now`, RFC 3339 in the report's time zone.
    pub generated_at: String,
    pub time_zone: String,
    pub period_days: u32,
    pub this_period: Period,
    pub last_period: Period,
    /// Local dates (`YYYY-MM-DD`) of this period, oldest first; index of `daily`.
    pub days: Vec<String>,
    /// Short weekday names of `days`.
    pub weekdays: Vec<String>,
    pub totals: Totals,
    /// Every key with alerts in the window, most alerts this period first.
    pub keys: Vec<KeyReport>,
    pub recommendations: Vec<Recommendation>,
    pub thresholds: Thresholds,
    pub report_url: Option<String>,
    pub data_quality: DataQuality,
}
