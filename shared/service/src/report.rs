//! The weekly alert-frequency report (issue 6) as a flow over small ports: history one UTC day
//! at a time ([`HistorySource`]), CloudWatch alarm state changes ([`AlarmHistorySource`]), where
//! the HTML page and chart go ([`ReportStore`]), the Slack post ([`ReportPoster`]) and the
//! chart's PNG renderer ([`ChartRenderer`], so no rasteriser is linked here). The AWS adapters
//! are in `selfheal_aws::report`; the aggregation itself is pure and lives in
//! `selfheal_core::report`.
//!
//! Flow: [`generate`] reads the window's UTC day partitions one by one and folds each day's
//! records into a [`ReportBuilder`] (a day is dropped before the next is read), then streams
//! CloudWatch state updates into it. [`run_weekly`] adds the chart, the HTML upload and the
//! Slack post.

mod settings;

use std::sync::Arc;

use async_trait::async_trait;
use selfheal_core::history::{EpochMillis, HistoryRecord};
use selfheal_core::report::{
    parse_since, render_html, render_slack, render_summary_svg, Report, ReportBuilder,
    ReportConfig, ReportError, ReportWindow, WindowEnd,
};
use serde::{Deserialize, Serialize};

use crate::ports::PortError;

pub use settings::{
    ReportSettings, DEFAULT_MINUTES_PER_PAGE, DEFAULT_PERIOD, DEFAULT_PREFIX, DEFAULT_TIME_ZONE,
};

/// History, one UTC day partition at a time.
#[async_trait]
pub trait HistorySource: Send + Sync {
    async fn history_day(&self, day: &str) -> Result<Vec<HistoryRecord>, PortError>;
}

/// One alarm state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmStateUpdate {
    pub alarm_name: String,
    pub timestamp_ms: EpochMillis,
    /// `ALARM`, `OK` or `INSUFFICIENT_DATA` (as CloudWatch spells it).
    pub new_state: String,
}

/// A source of alarm state changes. Updates are handed to `sink` page by page, never held.
#[async_trait]
pub trait AlarmHistorySource: Send + Sync {
    /// Every state update in `[start_ms, end_ms)`; returns how many were delivered. An error
    /// is a human sentence (never contains secrets).
    async fn state_updates(
        &self,
        start_ms: EpochMillis,
        end_ms: EpochMillis,
        sink: &mut (dyn FnMut(AlarmStateUpdate) + Send),
    ) -> Result<u64, String>;
}

/// Where the HTML report (and the chart's PNG) is kept.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores `html` under `key`; returns a human description of the location.
    async fn put_html(&self, key: &str, html: String) -> Result<String, String>;

    /// Stores the chart `png` under `key`; returns a URL Slack can fetch it from, or `None`
    /// when the store can make no such URL (the default: a store that keeps no images).
    async fn put_png(&self, key: &str, png: Vec<u8>) -> Result<Option<String>, String> {
        let _ = (key, png);
        Ok(None)
    }
}

/// Posts the report's Slack message (Block Kit JSON). An error is a human sentence that never
/// contains the webhook URL.
#[async_trait]
pub trait ReportPoster: Send + Sync {
    async fn post(&self, payload: &serde_json::Value) -> Result<(), String>;
}

/// Renders the chart's SVG as PNG bytes (the Lambda hands in its resvg renderer).
pub type ChartRenderer = fn(&str) -> Result<Vec<u8>, String>;

/// Why a report could not be made or delivered.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    /// Bad input from the user (`--since`): exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error("invalid configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    #[error("cannot read the history table: {0}")]
    History(String),
    #[error("cannot post to Slack: {0}")]
    Slack(String),
}

impl From<ReportError> for ReporterError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::InvalidPeriod(_) => ReporterError::Usage(e.to_string()),
            other => ReporterError::Config(vec![other.to_string()]),
        }
    }
}

/// The report's sources.
#[derive(Clone)]
pub struct Sources {
    pub history: Arc<dyn HistorySource>,
    /// `None` skips CloudWatch alarm history.
    pub alarms: Option<Arc<dyn AlarmHistorySource>>,
}

/// Reads the window's history and alarm history into a finished [`Report`].
///
/// History errors fail the report (a week with missing days would mislead); an alarm-history
/// error becomes a warning inside the report.
pub async fn generate(
    sources: &Sources,
    settings: &ReportSettings,
    window: ReportWindow,
    report_url: Option<String>,
) -> Result<Report, ReporterError> {
    let days = window.utc_days();
    let (start, end) = window.span();
    let mut builder = ReportBuilder::new(window.with_work_hours(settings.work_hours));
    for day in &days {
        let mut records = sources
            .history
            .history_day(day)
            .await
            .map_err(|e| ReporterError::History(format!("day {day}: {e}")))?;
        // Flaps are followed alarm by alarm in time order; a day comes back in key order.
        records.sort_by_key(|r| ReportBuilder::record_time(r).unwrap_or(0));
        for r in &records {
            builder.add(r);
        }
    }
    if let Some(alarms) = &sources.alarms {
        // Each update is folded in as its page arrives; nothing is buffered.
        let result = {
            let mut sink = |u: AlarmStateUpdate| {
                builder.add_alarm_history(&u.alarm_name, u.timestamp_ms, &u.new_state);
            };
            alarms.state_updates(start, end, &mut sink).await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "CloudWatch alarm history unavailable; the report omits it");
            builder.alarm_history_not_read(false, &e.to_string());
            builder.warn(format!("CloudWatch alarm history unavailable: {e}"));
        }
    } else {
        builder.alarm_history_not_read(true, "turned off (SELFHEAL_REPORT_ALARM_HISTORY=false)");
    }
    Ok(builder.finish(ReportConfig {
        minutes_per_page: settings.minutes_per_page,
        thresholds: settings.thresholds.clone(),
        report_url,
        ..ReportConfig::default()
    }))
}

/// What one scheduled run did (the Lambda's response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub period_start: String,
    pub period_end: String,
    pub alerts: u64,
    pub keys: usize,
    pub decisions: usize,
    /// `s3://bucket/key` when uploaded.
    pub html: Option<String>,
    /// The chart PNG was uploaded and Slack was given a URL to show it.
    #[serde(default)]
    pub chart: bool,
    /// `posted`, `not configured`, or `skipped`.
    pub slack: String,
    pub warnings: Vec<String>,
}

/// The scheduled run's optional input (EventBridge Scheduler delivers the target's `Input`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInput {
    /// Overrides `SELFHEAL_REPORT_PERIOD` (`7d`, `2w`).
    pub since: Option<String>,
    /// `false` builds and uploads the report but does not post to Slack.
    pub post_to_slack: Option<bool>,
}

/// Delivery targets of a scheduled run.
#[derive(Clone, Default)]
pub struct Targets {
    /// The Slack post; `None`: not configured.
    pub slack: Option<Arc<dyn ReportPoster>>,
    pub store: Option<Arc<dyn ReportStore>>,
    /// Renders the chart for Slack (only used with a `store`); `None`: no image.
    pub chart: Option<ChartRenderer>,
    /// The AWS region (for the S3 console link).
    pub region: Option<String>,
}

/// The scheduled report: complete local days ending at the start of today, the chart as PNG and
/// the HTML page to the store (when configured), the Block Kit message to Slack (when
/// configured). A failed upload drops the link or the image and is reported as a warning; a
/// failed Slack post fails the run (the scheduler retries).
pub async fn run_weekly(
    sources: &Sources,
    settings: &ReportSettings,
    targets: &Targets,
    input: &RunInput,
    now_ms: EpochMillis,
) -> Result<RunSummary, ReporterError> {
    let days = match &input.since {
        Some(s) => parse_since(s).map_err(|e| ReporterError::Usage(e.to_string()))?,
        None => settings.period_days,
    };
    let window = ReportWindow::new(now_ms, &settings.time_zone, days, WindowEnd::StartOfToday)?;
    let last_day = window
        .this_period_dates()
        .last()
        .cloned()
        .unwrap_or_default();
    let key = settings.object_key(&last_day);
    let planned_url = targets
        .store
        .as_ref()
        .and_then(|_| settings.report_url(&key, targets.region.as_deref()));
    let mut report = generate(sources, settings, window, planned_url).await?;
    let mut warnings = Vec::new();

    // The chart as PNG for Slack (rendered here: no browser in Lambda). Failing to render or
    // upload it only drops the image.
    if let (Some(store), Some(chart)) = (&targets.store, targets.chart) {
        let png_key = settings.chart_key(&last_day);
        match chart(&render_summary_svg(&report)) {
            Ok(bytes) => match store.put_png(&png_key, bytes).await {
                Ok(url) => report.chart_url = url,
                Err(e) => {
                    tracing::warn!(error = %e, "chart upload failed; Slack gets no image");
                    warnings.push(format!("chart upload failed: {e}"));
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "chart rendering failed; Slack gets no image");
                warnings.push(format!("chart rendering failed: {e}"));
            }
        }
    }

    let mut html_location = None;
    if let Some(store) = &targets.store {
        match store.put_html(&key, render_html(&report)).await {
            Ok(loc) => {
                tracing::info!(location = %loc, "report uploaded");
                html_location = Some(loc);
            }
            Err(e) => {
                tracing::warn!(error = %e, "report upload failed; Slack gets no link");
                warnings.push(format!("HTML upload failed: {e}"));
                report.report_url = None;
            }
        }
    }

    let slack = match (&targets.slack, input.post_to_slack) {
        (_, Some(false)) => "skipped".to_owned(),
        (None, _) => "not configured".to_owned(),
        (Some(poster), _) => {
            poster
                .post(&render_slack(&report))
                .await
                .map_err(ReporterError::Slack)?;
            tracing::info!("report posted to Slack");
            "posted".to_owned()
        }
    };
    warnings.extend(report.data_quality.warnings.iter().cloned());
    Ok(RunSummary {
        period_start: report.this_period.start.clone(),
        period_end: report.this_period.end.clone(),
        alerts: report.totals.alerts,
        keys: report.keys.len(),
        decisions: report.decisions.len(),
        html: html_location,
        chart: report.chart_url.is_some(),
        slack,
        warnings,
    })
}
