//! The report's data model. Serialized as the JSON format, `schema_version` 2 — see
//! `docs/report-schema.md`. Fields are only ever added within a schema version; a removal or
//! a change of meaning bumps [`SCHEMA_VERSION`] (2: `recommendations` became `decisions`, one
//! per key, and `human_pages_avoided` counts only alerts that ended without any human).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::history::EpochMillis;

pub use super::hours::WorkHours;

/// The JSON schema version this crate writes.
pub const SCHEMA_VERSION: u32 = 2;

/// Decision thresholds (all configurable; see the reporter's `SELFHEAL_REPORT_*`). The rules
/// and their precedence are in [`super::rules`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// `write-runbook`: at least this many `no-runbook` alerts this period.
    pub frequent_alerts: u64,
    /// `promote-to-enforce`: Run was pressed at least this many times this period and Skip
    /// never (runbooks in mode `approve`); 0 turns the approve half of the rule off.
    pub promote_min_approved: u64,
    /// `promote-to-enforce`: at least this many dry runs this period with no precheck failure
    /// (runbooks in mode `dry-run`); 0 turns the dry-run half off.
    pub promote_min_dry_runs: u64,
    /// `downgrade-to-warning`: healed at least this many times this period…
    pub downgrade_min_healed: u64,
    /// …with at least this success rate (0..=1).
    pub downgrade_min_success: f64,
    /// `fix-runbook`: at least this many attempts (healed + failed + timed-out +
    /// precheck-failed)…
    pub fix_runbook_min_runs: u64,
    /// …of which at least this share did not heal (0..=1).
    pub fix_runbook_failure_rate: f64,
    /// `permanent-fix-instance`: one instance alerted at least this many times this period.
    pub repeat_instance_heals: u64,
    /// `permanent-fix-fleet`: the alert recurred (≥ 2 alerts) on at least this many instances…
    pub fleet_min_instances: u64,
    /// …on at least this many days of the period (capped at the period's length).
    pub recurring_min_days: u64,
    /// `tune-or-retire-alarm`: at least this many state changes not explained by a fix (two
    /// per flap).
    pub flapping_transitions: u64,
    /// `route-elsewhere`: an alarm only in CloudWatch history that went to ALARM at least this
    /// many times this period.
    pub cloudwatch_only_min_alarms: u64,
    /// `route-elsewhere`: at least this many alerts selfheal could not place (`unresolved`) or
    /// whose approval request nobody answered (`expired`).
    pub route_min_unresolved: u64,
    /// Success rates over fewer attempts than this are not shown (`null`) nor used.
    pub min_rate_sample: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            frequent_alerts: 3,
            promote_min_approved: 5,
            promote_min_dry_runs: 5,
            downgrade_min_healed: 5,
            downgrade_min_success: 0.95,
            fix_runbook_min_runs: 3,
            fix_runbook_failure_rate: 0.30,
            repeat_instance_heals: 3,
            fleet_min_instances: 5,
            recurring_min_days: 4,
            flapping_transitions: 6,
            cloudwatch_only_min_alarms: 1,
            route_min_unresolved: 3,
            min_rate_sample: 3,
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
    /// Where the chart PNG can be fetched (shown in Slack), if anywhere.
    pub chart_url: Option<String>,
    /// Top instances listed per key.
    pub top_instances: usize,
    /// Working hours in the report's time zone; alerts outside them are "off hours".
    pub work_hours: WorkHours,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            minutes_per_page: 15,
            thresholds: Thresholds::default(),
            report_url: None,
            chart_url: None,
            top_instances: 5,
            work_hours: WorkHours::default(),
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

/// Quantiles of a duration.
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

/// The outcome columns: every alert falls in exactly one, so they add up to the alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeGroups {
    /// `healed`.
    pub healed: u64,
    /// `failed`, `timed-out`: the runbook ran and did not fix it.
    pub failed: u64,
    /// `precheck-failed`: the runbook's precheck said no.
    pub precheck_failed: u64,
    /// `budget-exhausted`, `unresolved`, `expired`: handed to a human without a run.
    pub needs_human: u64,
    /// `dry-run`.
    pub dry_run: u64,
    /// `recovered`, `silenced`, `killed`, `disabled`, `skipped`: deliberately not acted on.
    pub not_acted: u64,
    /// `no-runbook`.
    pub no_runbook: u64,
    /// `awaiting-approval`, `capacity-wait` and outcomes this version does not know: not
    /// finished when the report was made.
    pub in_progress: u64,
}

/// Names of [`OutcomeGroups`]' fields, in column (and chart) order.
pub const OUTCOME_GROUPS: [&str; 8] = [
    "healed",
    "failed",
    "precheck_failed",
    "needs_human",
    "dry_run",
    "not_acted",
    "no_runbook",
    "in_progress",
];

impl OutcomeGroups {
    /// The group of a final (or provisional) outcome string.
    pub fn group_of(outcome: &str) -> usize {
        match outcome {
            "healed" => 0,
            "failed" | "timed-out" => 1,
            "precheck-failed" => 2,
            "budget-exhausted" | "unresolved" | "expired" => 3,
            "dry-run" => 4,
            "recovered" | "silenced" | "killed" | "disabled" | "skipped" => 5,
            "no-runbook" => 6,
            _ => 7,
        }
    }

    pub fn get(&self, group: usize) -> u64 {
        self.as_array()[group.min(7)]
    }

    pub fn as_array(&self) -> [u64; 8] {
        [
            self.healed,
            self.failed,
            self.precheck_failed,
            self.needs_human,
            self.dry_run,
            self.not_acted,
            self.no_runbook,
            self.in_progress,
        ]
    }

    pub fn from_array(a: [u64; 8]) -> Self {
        Self {
            healed: a[0],
            failed: a[1],
            precheck_failed: a[2],
            needs_human: a[3],
            dry_run: a[4],
            not_acted: a[5],
            no_runbook: a[6],
            in_progress: a[7],
        }
    }

    pub fn total(&self) -> u64 {
        self.as_array().iter().sum()
    }

    pub fn add(&mut self, other: &Self) {
        let (a, b) = (self.as_array(), other.as_array());
        *self = Self::from_array(std::array::from_fn(|i| a[i] + b[i]));
    }
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
    /// The runbook entry's owner and description, as last recorded.
    pub owner: Option<String>,
    pub description: Option<String>,
    /// The mode the alerts were last handled in (`enforce`, `dry-run`, `approve`, `off`).
    pub mode: Option<String>,
    pub seen: Seen,
    /// Alerts this period (ALARM deliveries; duplicates and OK/INSUFFICIENT_DATA notices are
    /// not alerts). For a CloudWatch-only alarm: its transitions to ALARM.
    pub this_period: u64,
    pub last_period: u64,
    /// What `change` compares with: `last_period`, or, while today is partial, the alerts of
    /// the same span of the last period (its first days and today's hours so far).
    pub compared_with: u64,
    pub change: Change,
    /// The outcome columns; they add up to `this_period` (0 for CloudWatch-only keys).
    pub outcome_groups: OutcomeGroups,
    pub healed: u64,
    /// `failed` + `timed-out`: the runbook ran and did not fix it.
    pub failed: u64,
    /// Alerts a human was paged about (escalation topic).
    pub escalated: u64,
    pub dry_run: u64,
    pub no_runbook: u64,
    pub precheck_failed: u64,
    /// Remediations that ran: `healed` + `failed`.
    pub runs: u64,
    /// What the success rate is measured over: `healed + failed + precheck_failed`.
    pub attempts: u64,
    /// `healed / attempts`; `null` below `thresholds.min_rate_sample` attempts.
    pub success_rate: Option<f64>,
    /// Alerts that involved a person: escalated, or an approval request (Run/Skip).
    pub humans_involved: u64,
    /// Alerts healed with no person involved (no approval, no escalation).
    pub pages_avoided: u64,
    /// Receipt to healed result (healed alerts)…
    pub time_to_heal: TimeToHeal,
    /// …of which waiting for approval or capacity…
    pub time_waiting: TimeToHeal,
    /// …and of which the commands' own run.
    pub time_running: TimeToHeal,
    pub top_instances: Vec<InstanceCount>,
    /// Distinct instances that alerted this period (a lower bound when not `exact`).
    pub instances: u64,
    pub instances_exact: bool,
    /// First and last alert this period, RFC 3339.
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Alerts per local day of this period (aligned with [`Report::days`]).
    pub daily: Vec<u64>,
    /// Alerts per local day of the previous period.
    pub daily_last_period: Vec<u64>,
    /// Alerts per local hour of day (0..24) this period.
    pub hours: Vec<u64>,
    /// Alerts that cleared with no fix: ended `recovered`, or an OK notice followed on the same
    /// instance while nothing had run and no human had been paged. A heal followed by its OK is
    /// not a flap.
    pub flaps: u64,
    /// State changes not explained by a fix: `2 × flaps` (for a CloudWatch-only alarm, its
    /// ALARM→OK→ALARM alternations from CloudWatch alarm history).
    pub transitions: u64,
    /// Every outcome of this period's alerts → count (adds up to `this_period`).
    pub outcomes: BTreeMap<String, u64>,
    /// Mode `approve`: requests this period where a person pressed Run (in time)…
    #[serde(default)]
    pub approved: u64,
    /// …and where a person pressed Skip.
    #[serde(default)]
    pub skipped: u64,
    /// The decision for this key, if any (its id; the full text is in [`Report::decisions`]).
    pub decision: Option<String>,
}

/// The one decision for a key: the highest-precedence rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `permanent-fix-fleet`, `permanent-fix-instance`, `tune-or-retire-alarm`,
    /// `route-elsewhere`, `fix-runbook`, `write-runbook`, `promote-to-enforce`,
    /// `downgrade-to-warning`.
    pub decision: String,
    pub key: String,
    /// The action, short and imperative: "write a runbook".
    pub action: String,
    /// One line of evidence, with the rule's threshold.
    pub evidence: String,
    pub owner: Option<String>,
    pub mode: Option<String>,
    pub runbook: Option<String>,
    /// Pages per period this decision would remove (its rank).
    pub pages: u64,
    /// Instances concerned (`permanent-fix-*`), else empty.
    pub instances: Vec<String>,
    /// Rules that also matched but rank lower in precedence.
    pub superseded: Vec<String>,
}

/// Alerts and pages outside working hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffHours {
    /// `SELFHEAL_REPORT_WORK_HOURS` as read, e.g. `mon-fri 08:00-19:00`.
    pub work_hours: String,
    pub alerts: u64,
    /// Alerts that involved a person outside working hours (escalated or an approval request).
    pub pages: u64,
    /// Alerts healed with no person outside working hours.
    pub pages_avoided: u64,
}

/// Fleet totals for this period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Alerts this period: selfheal's plus CloudWatch-only alarms.
    pub alerts: u64,
    pub alerts_last_period: u64,
    /// What `change` compares with (see [`KeyReport::compared_with`]).
    pub compared_with: u64,
    pub change: Change,
    /// Alerts that reached selfheal.
    pub via_selfheal: u64,
    /// ALARM transitions of alarms seen only in CloudWatch history.
    pub cloudwatch_only: u64,
    /// Sum of the keys' outcome columns (adds up to `via_selfheal`).
    pub outcome_groups: OutcomeGroups,
    pub healed: u64,
    pub failed: u64,
    pub escalated: u64,
    pub dry_run: u64,
    pub no_runbook: u64,
    /// `healed / alerts`; `null` without alerts.
    pub auto_healed_share: Option<f64>,
    /// Alerts that ended healed without any human: no approval, no escalation.
    pub human_pages_avoided: u64,
    /// Alerts that involved a person (escalated or an approval request).
    pub humans_involved: u64,
    pub minutes_per_page: u32,
    /// `human_pages_avoided × minutes_per_page`.
    pub on_call_minutes_saved: u64,
    pub off_hours: OffHours,
    /// Keys with at least one alert in the window.
    pub keys: u64,
    /// Alerts per local day of this period…
    pub daily: Vec<u64>,
    /// …split by outcome group (`OUTCOME_GROUPS` order; CloudWatch-only alarms are not split)…
    pub daily_by_outcome: BTreeMap<String, Vec<u64>>,
    /// …and per local day of the last period.
    pub daily_last_period: Vec<u64>,
    /// Alerts this period by local weekday (rows, Monday first) and hour of day (columns).
    pub heatmap: Vec<Vec<u64>>,
}

/// Whether CloudWatch alarm history was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `read`, `not read` (it failed) or `off` (`SELFHEAL_REPORT_ALARM_HISTORY=false`).
    pub status: String,
    /// One line: why it was not read.
    pub reason: Option<String>,
}

impl SourceStatus {
    pub fn read() -> Self {
        Self {
            status: "read".to_owned(),
            reason: None,
        }
    }

    pub fn is_read(&self) -> bool {
        self.status == "read"
    }
}

/// How the input looked (for trust in the numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataQuality {
    pub history_records: u64,
    pub alarm_history_items: u64,
    /// Copies of an alert already recorded (outcome `duplicate`): not alerts.
    pub duplicates: u64,
    /// Messages that could not be read as an alert (outcome `invalid`): not alerts, no key.
    pub invalid: u64,
    /// OK / INSUFFICIENT_DATA notices (outcome `ignored`).
    pub recovery_notices: u64,
    /// Records outside both periods (ignored).
    pub out_of_window: u64,
    /// Records with no usable timestamp nor day (ignored).
    pub undated: u64,
    /// Records without a key (grouped by `ROLE:ALERT` or `?:ALERT` from their fields).
    pub without_key: u64,
    /// Records naming neither a key nor an alert (not counted as alerts).
    pub unnamed: u64,
    /// Records folded into `(other keys)` after the key limit was reached.
    pub keys_overflowed: u64,
    /// Alerts whose flaps could not be followed (instance limit reached).
    pub flaps_untracked: u64,
    /// Set when a source could not be read completely (e.g. CloudWatch alarm history).
    pub warnings: Vec<String>,
}

/// The weekly report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// `now`, RFC 3339 in the report's time zone.
    pub generated_at: String,
    pub time_zone: String,
    pub period_days: u32,
    pub this_period: Period,
    pub last_period: Period,
    /// The local date of today when this period includes it (it is partial: up to
    /// `generated_at`); `null` for complete days.
    pub partial_day: Option<String>,
    /// Local dates (`YYYY-MM-DD`) of this period, oldest first; index of `daily`.
    pub days: Vec<String>,
    /// Short weekday names of `days`.
    pub weekdays: Vec<String>,
    pub totals: Totals,
    /// The decisions, most pages removed first; at most one per key.
    pub decisions: Vec<Decision>,
    /// Every key with alerts in the window, most alerts this period first.
    pub keys: Vec<KeyReport>,
    pub thresholds: Thresholds,
    pub report_url: Option<String>,
    /// The daily chart and heatmap as a PNG Slack can fetch, when uploaded.
    pub chart_url: Option<String>,
    /// CloudWatch alarm history: read, not read (and why) or off.
    pub alarm_history: SourceStatus,
    pub data_quality: DataQuality,
}
