//! The engine's settings ([`Settings`]: state table, mode parameter, limits, chat and escalation
//! targets, the queue) and the SDK timeouts ([`crate::config::AwsTimeouts`]). Read by the
//! alert-remediator, `selfheal serve`/`run` and the other commands, and by the weekly-reporter for
//! the table and the Slack webhook.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::Reader;
use crate::config::AwsTimeouts;

/// Every problem found in the `SELFHEAL_*` environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", problems.join("; "))]
pub struct SettingsError {
    pub problems: Vec<String>,
}

/// The `SELFHEAL_*` settings (DESIGN §6). Empty variables count as unset.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// `SELFHEAL_TABLE`: the state table (required by the engine).
    pub table: Option<String>,
    /// `SELFHEAL_MODE_PARAM`: SSM parameter holding `enforce | dry-run | off`.
    pub mode_param: Option<String>,
    /// `SELFHEAL_ROLE_TAG` (default `Role`).
    pub role_tag: String,
    /// `SELFHEAL_MAX_PER_HOUR` (default 30, ≥ 1): fleet-wide starts per hour.
    pub max_per_hour: u32,
    /// `SELFHEAL_FUNCTION_BUDGET_SECONDS` (default 840, ≥ 1).
    pub function_budget_seconds: u32,
    /// `SELFHEAL_ESCALATION_TOPIC_ARN`.
    pub escalation_topic_arn: Option<String>,
    /// `SELFHEAL_CHAT_TOPIC_ARN` (AWS Chatbot custom notifications).
    pub chat_topic_arn: Option<String>,
    /// `SELFHEAL_SLACK_WEBHOOK_URL`: a secret; never logged (the `Debug` output redacts it).
    pub slack_webhook_url: Option<String>,
    /// `SELFHEAL_SLACK_WEBHOOK_PARAM`: SSM SecureString holding the webhook URL.
    pub slack_webhook_param: Option<String>,
    /// `SELFHEAL_SLACK_TOKEN_PARAM`: SSM SecureString holding a bot token.
    pub slack_token_param: Option<String>,
    /// `SELFHEAL_SLACK_CHANNEL`: channel for the bot token.
    pub slack_channel: Option<String>,
    /// `SELFHEAL_SLACK_API_URL` (default `https://slack.com/api`).
    pub slack_api_url: String,
    /// `SELFHEAL_HISTORY_TTL_DAYS` (default 90, ≥ 1).
    pub history_ttl_days: u32,
    /// `SELFHEAL_RUNBOOKS`: runbook file or directory.
    pub runbooks: Option<PathBuf>,
    /// `SELFHEAL_CAPACITY_RETRY_SECONDS` (default 60, 0–43200): a capacity wait comes back after
    /// this long instead of the queue's whole visibility timeout.
    pub capacity_retry_seconds: u32,
    /// `SELFHEAL_APPROVAL_TTL_MINUTES` (default 30, 1–10080): how long a Run/Skip request stays open.
    pub approval_ttl_minutes: u32,
    /// `SELFHEAL_QUEUE_URL`: the alert queue (the Lambda uses it to shorten capacity waits).
    pub queue_url: Option<String>,
    /// `SELFHEAL_MAX_RECEIVE_COUNT` (default 5, ≥ 1): the queue's redrive limit; a capacity wait
    /// escalates on the receive before it.
    pub max_receive_count: u32,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("table", &self.table)
            .field("mode_param", &self.mode_param)
            .field("role_tag", &self.role_tag)
            .field("max_per_hour", &self.max_per_hour)
            .field("function_budget_seconds", &self.function_budget_seconds)
            .field("escalation_topic_arn", &self.escalation_topic_arn)
            .field("chat_topic_arn", &self.chat_topic_arn)
            .field(
                "slack_webhook_url",
                &self.slack_webhook_url.as_ref().map(|_| "<redacted>"),
            )
            .field("slack_webhook_param", &self.slack_webhook_param)
            .field("slack_token_param", &self.slack_token_param)
            .field("slack_channel", &self.slack_channel)
            .field("slack_api_url", &self.slack_api_url)
            .field("history_ttl_days", &self.history_ttl_days)
            .field("runbooks", &self.runbooks)
            .field("capacity_retry_seconds", &self.capacity_retry_seconds)
            .field("approval_ttl_minutes", &self.approval_ttl_minutes)
            .field("queue_url", &self.queue_url)
            .field("max_receive_count", &self.max_receive_count)
            .finish()
    }
}

pub const DEFAULT_ROLE_TAG: &str = "Role";
pub const DEFAULT_MAX_PER_HOUR: u32 = 30;
pub const DEFAULT_FUNCTION_BUDGET_SECONDS: u32 = 840;
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";
pub const DEFAULT_HISTORY_TTL_DAYS: u32 = 90;
pub const DEFAULT_CAPACITY_RETRY_SECONDS: u32 = 60;
pub const DEFAULT_APPROVAL_TTL_MINUTES: u32 = 30;
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;
/// Longest approval request (7 days).
pub const MAX_APPROVAL_TTL_MINUTES: u32 = 10_080;
/// Longest capacity wait (12 hours, SQS's longest visibility timeout).
pub const MAX_CAPACITY_RETRY_SECONDS: u32 = 43_200;

impl Settings {
    /// Reads the process environment. `require_table`: the engine needs `SELFHEAL_TABLE`;
    /// offline commands do not.
    pub fn from_env(require_table: bool) -> Result<Self, SettingsError> {
        Self::from_lookup(require_table, super::env)
    }

    /// Reads settings through `lookup` (tests pass a map instead of touching the environment).
    pub fn from_lookup(
        require_table: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let mut r = Reader::new(&lookup);
        let table = r.text("SELFHEAL_TABLE");
        if require_table && table.is_none() {
            r.problem("SELFHEAL_TABLE is required (the DynamoDB state table name)");
        }
        let max_per_hour = r.number("SELFHEAL_MAX_PER_HOUR", DEFAULT_MAX_PER_HOUR, 1..);
        let function_budget_seconds = r.number(
            "SELFHEAL_FUNCTION_BUDGET_SECONDS",
            DEFAULT_FUNCTION_BUDGET_SECONDS,
            1..,
        );
        let history_ttl_days = r.number("SELFHEAL_HISTORY_TTL_DAYS", DEFAULT_HISTORY_TTL_DAYS, 1..);
        let max_receive_count =
            r.number("SELFHEAL_MAX_RECEIVE_COUNT", DEFAULT_MAX_RECEIVE_COUNT, 1..);
        let approval_ttl_minutes = r.number(
            "SELFHEAL_APPROVAL_TTL_MINUTES",
            DEFAULT_APPROVAL_TTL_MINUTES,
            1..=MAX_APPROVAL_TTL_MINUTES,
        );
        let capacity_retry_seconds = r.number_of(
            "SELFHEAL_CAPACITY_RETRY_SECONDS",
            DEFAULT_CAPACITY_RETRY_SECONDS,
            0..=MAX_CAPACITY_RETRY_SECONDS,
            "seconds",
        );
        // The SDK timeouts are read where the clients are built (`AwsTimeouts::from_env`);
        // invalid values are reported here with the rest.
        timeouts(&mut r);

        let escalation_topic_arn = r.arn("SELFHEAL_ESCALATION_TOPIC_ARN");
        let chat_topic_arn = r.arn("SELFHEAL_CHAT_TOPIC_ARN");
        let slack_webhook_url = r.secret_http_url("SELFHEAL_SLACK_WEBHOOK_URL");
        let slack_api_url = r.http_url("SELFHEAL_SLACK_API_URL", DEFAULT_SLACK_API_URL);
        let slack_token_param = r.text("SELFHEAL_SLACK_TOKEN_PARAM");
        let slack_channel = r.text("SELFHEAL_SLACK_CHANNEL");
        if slack_token_param.is_some() && slack_channel.is_none() {
            r.problem("SELFHEAL_SLACK_TOKEN_PARAM is set but SELFHEAL_SLACK_CHANNEL is not");
        }

        let settings = Settings {
            table,
            mode_param: r.text("SELFHEAL_MODE_PARAM"),
            role_tag: r
                .text("SELFHEAL_ROLE_TAG")
                .unwrap_or_else(|| DEFAULT_ROLE_TAG.to_owned()),
            max_per_hour,
            function_budget_seconds,
            escalation_topic_arn,
            chat_topic_arn,
            slack_webhook_url,
            slack_webhook_param: r.text("SELFHEAL_SLACK_WEBHOOK_PARAM"),
            slack_token_param,
            slack_channel,
            slack_api_url,
            history_ttl_days,
            runbooks: r.text("SELFHEAL_RUNBOOKS").map(PathBuf::from),
            capacity_retry_seconds,
            approval_ttl_minutes,
            queue_url: r.text("SELFHEAL_QUEUE_URL"),
            max_receive_count,
        };
        r.finish(settings)
            .map_err(|problems| SettingsError { problems })
    }

    /// The history TTL in seconds.
    pub fn history_ttl_seconds(&self) -> i64 {
        i64::from(self.history_ttl_days) * 86_400
    }
}

/// The timeout variables: (name, default in ms).
pub const TIMEOUT_VARS: [(&str, u64); 4] = [
    ("SELFHEAL_AWS_CONNECT_TIMEOUT_MS", 3_000),
    ("SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS", 10_000),
    ("SELFHEAL_AWS_OPERATION_TIMEOUT_MS", 30_000),
    ("SELFHEAL_SSM_SEND_TIMEOUT_MS", 15_000),
];
/// Upper bound of every timeout variable (15 minutes, a Lambda's longest run).
pub const MAX_TIMEOUT_MS: u64 = 900_000;

/// The SDK timeouts through `r` (an invalid value is reported and replaced by its default).
pub fn timeouts(r: &mut Reader<'_>) -> AwsTimeouts {
    let [connect, attempt, operation, send_command]: [Duration; 4] =
        TIMEOUT_VARS.map(|(name, default)| r.millis(name, default, 1..=MAX_TIMEOUT_MS));
    AwsTimeouts {
        connect,
        attempt,
        operation,
        send_command,
    }
}

/// The SDK timeouts through `lookup`, with a problem for every invalid value.
pub fn timeouts_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (AwsTimeouts, Vec<String>) {
    let mut r = Reader::new(&lookup);
    let t = timeouts(&mut r);
    (t, r.into_problems())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(require_table: bool, vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(require_table, |k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let s = load(false, &[]).expect("defaults are valid");
        assert_eq!(s.table, None);
        assert_eq!(s.role_tag, "Role");
        assert_eq!(s.max_per_hour, 30);
        assert_eq!(s.function_budget_seconds, 840);
        assert_eq!(s.history_ttl_days, 90);
        assert_eq!(s.slack_api_url, "https://slack.com/api");
        assert_eq!(s.mode_param, None);
    }

    #[test]
    fn reads_values() {
        let s = load(
            true,
            &[
                ("SELFHEAL_TABLE", "t"),
                ("SELFHEAL_MODE_PARAM", "/selfheal/mode"),
                ("SELFHEAL_ROLE_TAG", "Service"),
                ("SELFHEAL_MAX_PER_HOUR", "5"),
                ("SELFHEAL_RUNBOOKS", "rb"),
                ("SELFHEAL_SLACK_API_URL", "http://127.0.0.1:9/api"),
            ],
        )
        .expect("valid");
        assert_eq!(s.table.as_deref(), Some("t"));
        assert_eq!(s.role_tag, "Service");
        assert_eq!(s.max_per_hour, 5);
        assert_eq!(s.runbooks, Some(PathBuf::from("rb")));
        assert_eq!(s.slack_api_url, "http://127.0.0.1:9/api");
    }

    #[test]
    fn collects_every_problem() {
        let err = load(
            true,
            &[
                ("SELFHEAL_MAX_PER_HOUR", "0"),
                ("SELFHEAL_FUNCTION_BUDGET_SECONDS", "lots"),
                ("SELFHEAL_HISTORY_TTL_DAYS", "-1"),
                ("SELFHEAL_SLACK_WEBHOOK_URL", "hooks.slack.com/secret-part"),
                ("SELFHEAL_SLACK_TOKEN_PARAM", "/t"),
                ("SELFHEAL_CHAT_TOPIC_ARN", "topic"),
            ],
        )
        .expect_err("invalid");
        let text = err.to_string();
        assert_eq!(err.problems.len(), 7, "{text}");
        assert!(text.contains("SELFHEAL_TABLE"));
        assert!(text.contains("SELFHEAL_MAX_PER_HOUR=\"0\""));
        assert!(text.contains("SELFHEAL_FUNCTION_BUDGET_SECONDS=\"lots\""));
        assert!(text.contains("SELFHEAL_HISTORY_TTL_DAYS=\"-1\""));
        assert!(text.contains("SELFHEAL_SLACK_CHANNEL"));
        assert!(text.contains("SELFHEAL_CHAT_TOPIC_ARN"));
        assert!(!text.contains("secret-part"), "secret leaked: {text}");
    }

    #[test]
    fn debug_redacts_the_webhook() {
        let s = load(
            false,
            &[("SELFHEAL_SLACK_WEBHOOK_URL", "https://hooks.example/SECRET")],
        )
        .expect("valid");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn invalid_sdk_timeouts_are_reported() {
        let err = load(
            false,
            &[
                ("SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS", "10s"),
                ("SELFHEAL_SSM_SEND_TIMEOUT_MS", "0"),
                ("SELFHEAL_AWS_CONNECT_TIMEOUT_MS", "2000"),
            ],
        )
        .expect_err("invalid");
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].contains("SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS=\"10s\""));
        assert!(err.problems[1].contains("SELFHEAL_SSM_SEND_TIMEOUT_MS=\"0\""));
    }

    #[test]
    fn empty_means_unset() {
        let s = load(
            false,
            &[("SELFHEAL_ROLE_TAG", ""), ("SELFHEAL_MAX_PER_HOUR", "")],
        )
        .expect("valid");
        assert_eq!(s.role_tag, "Role");
        assert_eq!(s.max_per_hour, 30);
    }
}
