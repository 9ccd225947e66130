//! Metrics as CloudWatch Embedded Metric Format (EMF) lines: one JSON line per batch, written to
//! the log, which CloudWatch turns into metrics without any API call. Namespace `selfheal`,
//! dimension `Outcome` for per-outcome counts, plus batch totals.

use crate::engine::RecordResult;
use crate::outcome::Outcome;
use crate::ports::EpochMillis;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where EMF lines go (stdout in Lambda; stderr or nowhere for `selfheal serve`).
pub trait MetricsSink: Send + Sync {
    fn emit(&self, line: &str);
    /// `false` when lines are dropped anyway: the engine then does not build them.
    fn enabled(&self) -> bool {
        true
    }
}

/// Writes each line to stdout (Lambda: CloudWatch Logs parses EMF from it).
pub struct StdoutMetrics;

impl MetricsSink for StdoutMetrics {
    fn emit(&self, line: &str) {
        println!("{line}");
    }
}

/// Writes each line to stderr.
pub struct StderrMetrics;

impl MetricsSink for StderrMetrics {
    fn emit(&self, line: &str) {
        eprintln!("{line}");
    }
}

/// Keeps lines in memory (tests).
#[derive(Default)]
pub struct MemoryMetrics(pub std::sync::Mutex<Vec<String>>);

impl MetricsSink for MemoryMetrics {
    fn emit(&self, line: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(line.to_owned());
        }
    }
}

/// Discards everything.
pub struct NoMetrics;

impl MetricsSink for NoMetrics {
    fn emit(&self, _line: &str) {}
    fn enabled(&self) -> bool {
        false
    }
}

/// Where metric lines go: `stdout`, `stderr` or `off` (the setting `SELFHEAL_METRICS`, read by
/// `selfheal_aws::settings::process`; this crate never reads the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsChoice {
    Stdout,
    Stderr,
    Off,
}

impl std::str::FromStr for MetricsChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "stdout" => Ok(Self::Stdout),
            "stderr" => Ok(Self::Stderr),
            "off" => Ok(Self::Off),
            other => Err(format!("{other:?} is not stdout, stderr or off")),
        }
    }
}

/// The sink for `choice`.
pub fn sink(choice: MetricsChoice) -> Arc<dyn MetricsSink> {
    match choice {
        MetricsChoice::Stdout => Arc::new(StdoutMetrics),
        MetricsChoice::Stderr => Arc::new(StderrMetrics),
        MetricsChoice::Off => Arc::new(NoMetrics),
    }
}

/// EMF lines for one batch: one line per outcome seen (dimension `Outcome`, metric `Alerts`), and
/// one line of batch totals (`Records`, `Retries`, `Duplicates`, `CapacityWaits`).
pub fn batch_lines(results: &[RecordResult], now: EpochMillis) -> Vec<String> {
    let mut by_outcome: BTreeMap<&'static str, u64> = BTreeMap::new();
    for r in results {
        *by_outcome.entry(r.outcome.as_str()).or_default() += 1;
    }
    let mut lines: Vec<String> = by_outcome
        .iter()
        .map(|(outcome, n)| {
            serde_json::json!({
                "_aws": {
                    "Timestamp": now,
                    "CloudWatchMetrics": [{
                        "Namespace": "selfheal",
                        "Dimensions": [["Outcome"]],
                        "Metrics": [{"Name": "Alerts", "Unit": "Count"}]
                    }]
                },
                "Outcome": outcome,
                "Alerts": n,
            })
            .to_string()
        })
        .collect();
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    lines.push(
        serde_json::json!({
            "_aws": {
                "Timestamp": now,
                "CloudWatchMetrics": [{
                    "Namespace": "selfheal",
                    "Dimensions": [[]],
                    "Metrics": [
                        {"Name": "Records", "Unit": "Count"},
                        {"Name": "Retries", "Unit": "Count"},
                        {"Name": "Duplicates", "Unit": "Count"},
                        {"Name": "CapacityWaits", "Unit": "Count"},
                        {"Name": "Healed", "Unit": "Count"},
                        {"Name": "Escalations", "Unit": "Count"}
                    ]
                }]
            },
            "Records": results.len(),
            "Retries": results.iter().filter(|r| r.retry).count(),
            "Duplicates": count(Outcome::Duplicate),
            "CapacityWaits": count(Outcome::CapacityWait),
            "Healed": count(Outcome::Healed),
            "Escalations": results.iter().filter(|r| r.outcome.escalates()).count(),
        })
        .to_string(),
    );
    lines
}

/// One EMF line with the time a remediation took, by outcome (for time-to-heal percentiles).
pub fn duration_line(outcome: Outcome, duration_ms: i64, now: EpochMillis) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": now,
            "CloudWatchMetrics": [{
                "Namespace": "selfheal",
                "Dimensions": [["Outcome"]],
                "Metrics": [{"Name": "RemediationDuration", "Unit": "Milliseconds"}]
            }]
        },
        "Outcome": outcome.as_str(),
        "RemediationDuration": duration_ms,
    })
    .to_string()
}

/// One EMF line per failed SSM API call (`SsmFailures`, dimension `Operation`: `SendCommand`,
/// `GetCommandInvocation`, `ListCommands`), after the SDK's own retries.
pub fn ssm_failure_line(operation: &str, now: EpochMillis) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": now,
            "CloudWatchMetrics": [{
                "Namespace": "selfheal",
                "Dimensions": [["Operation"]],
                "Metrics": [{"Name": "SsmFailures", "Unit": "Count"}]
            }]
        },
        "Operation": operation,
        "SsmFailures": 1,
    })
    .to_string()
}
