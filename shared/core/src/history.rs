//! The history record: one per alert (delivery) outcome, as stored in the state table and read by
//! the weekly report. Pure data; the layout in DynamoDB is `pk = "hist#<day>"`, `sk = <sort>`.

use serde::{Deserialize, Serialize};

pub use crate::calendar::EpochMillis;

/// A history record: one per alert delivery's final (or provisional) outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryRecord {
    /// Day partition, `YYYY-MM-DD` (UTC), so a week is seven cheap queries.
    pub day: String,
    /// Sort key: unique per alert identity within the day.
    pub sort: String,
    pub identity: String,
    pub key: Option<String>,
    pub runbook: Option<String>,
    pub role: Option<String>,
    pub alert: Option<String>,
    pub instance: Option<String>,
    pub source: Option<String>,
    pub state: Option<String>,
    pub outcome: String,
    pub reason: String,
    pub attempt: u32,
    pub received_at_ms: EpochMillis,
    pub finished_at_ms: EpochMillis,
    pub command_ids: Vec<String>,
    pub failed_phase: Option<String>,
    pub exit_code: Option<i32>,
    pub output_tail: Option<String>,
    pub expires_at: i64,
    /// For runbooks in mode `approve`: who pressed Run or Skip (Slack user id, and name if known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// `run` or `skip`, with `approver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The runbook entry's `owner` and `description` (the reporter has no runbooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The mode the alert was handled in: `enforce`, `dry-run`, `approve` (or `off` for the
    /// global kill switch); `None` when no runbook entry applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// A human was paged about this alert (escalation topic). `None` on records written before
    /// the field existed: the reporter then derives it from the outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalated: Option<bool>,
    /// Time between receipt and the first command spent waiting for a person (approval) or for
    /// capacity, in milliseconds. `None` when nothing ran or on older records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<i64>,
}
