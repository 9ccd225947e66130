//! Configuration: the SDK clients (built once per process) and the `SELFHEAL_*` settings.
//!
//! [`AwsClients::from_env`] loads one [`SdkConfig`] with the standard retry mode ([`MAX_ATTEMPTS`]
//! attempts, with the SDK's jittered backoff) and the timeouts of [`AwsTimeouts`]; the SDK itself
//! honours `AWS_REGION`, credentials and `AWS_ENDPOINT_URL` (a local emulator).
//! [`Settings::from_env`] reads every `SELFHEAL_*` variable in one place and reports every problem
//! at once.
//!
//! # Retries and timeouts per call
//!
//! DESIGN principle 6: calls that create are never retried by the SDK when a duplicate would do
//! harm; the engine's own recovery (claim → find the command by its comment) is the only retry.
//! Every call has a connect, an attempt and an operation timeout, so no call can hang a Lambda to
//! its deadline.
//!
//! | call | SDK retries | timeouts | why |
//! |---|---|---|---|
//! | ssm:SendCommand | **none** (1 attempt, per call in [`crate::SsmExecutor`]) | attempt = operation = `send_command` (15 s) | no client token: a retry after a lost answer (5xx, reset, timeout) runs the commands twice. The claim's `phase_sent_at_ms` + ListCommands by comment is the only retry |
//! | ssm:GetCommandInvocation, ssm:ListCommands, ssm:GetParameter, dynamodb:GetItem/Query/Scan, tagging:GetResources, cloudwatch:DescribeAlarms/DescribeAlarmHistory, sqs:GetQueueAttributes | standard | default | reads |
//! | sqs:ReceiveMessage (`serve`) | standard | attempt and operation + the long-poll wait ([`AwsTimeouts::long_poll`]) | a lost answer only hides messages until their visibility passes |
//! | dynamodb:PutItem/UpdateItem/DeleteItem with a condition (claim, budget, lease, fleet cap, approval record) | standard | default | a retry of a write that did land fails its condition and the store reads the item back (a claim that is our own continues). Counters may count one attempt twice: the safe side |
//! | dynamodb:PutItem without a condition (history, silence, needs-review), sqs:DeleteMessage, sqs:ChangeMessageVisibility, s3:PutObject (report) | standard | default | idempotent: same key, same content |
//! | sqs:SendMessage (slack-approvals → alert queue) | standard | default | a second copy of one approval is a `duplicate` for the engine (one conditional claim update; ARCHITECTURE invariant 10) |
//! | sns:Publish (escalation, AWS Chatbot) | standard | default | a duplicate page or chat line is noise, a lost escalation is worse; chat never blocks a remediation for longer than the operation timeout |
//!
//! Default timeouts (each settable in milliseconds, mainly for tests that delay answers on
//! purpose; invalid values are reported by [`Settings::from_env`] and replaced by the default):
//! connect 3 s (`SELFHEAL_AWS_CONNECT_TIMEOUT_MS`), attempt 10 s
//! (`SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS`), operation 30 s (`SELFHEAL_AWS_OPERATION_TIMEOUT_MS`),
//! SendCommand 15 s (`SELFHEAL_SSM_SEND_TIMEOUT_MS`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

/// Attempts per AWS call, the first one included (SDK standard retry mode, jittered backoff).
pub const MAX_ATTEMPTS: u32 = 4;

/// The retry configuration of every client: standard mode, [`MAX_ATTEMPTS`] attempts.
pub fn standard_retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// The retry configuration of calls that must never be repeated by the SDK (SendCommand).
pub fn no_retries() -> RetryConfig {
    RetryConfig::disabled()
}

/// The timeouts of SDK calls. See the table at the top of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsTimeouts {
    /// Establishing a connection (`SELFHEAL_AWS_CONNECT_TIMEOUT_MS`, default 3 s).
    pub connect: Duration,
    /// One attempt, answer included (`SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS`, default 10 s).
    pub attempt: Duration,
    /// A whole call, retries and backoff included (`SELFHEAL_AWS_OPERATION_TIMEOUT_MS`, default 30 s).
    pub operation: Duration,
    /// SendCommand's only attempt (`SELFHEAL_SSM_SEND_TIMEOUT_MS`, default 15 s).
    pub send_command: Duration,
}

/// The timeout variables: (name, default in ms).
const TIMEOUT_VARS: [(&str, u64); 4] = [
    ("SELFHEAL_AWS_CONNECT_TIMEOUT_MS", 3_000),
    ("SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS", 10_000),
    ("SELFHEAL_AWS_OPERATION_TIMEOUT_MS", 30_000),
    ("SELFHEAL_SSM_SEND_TIMEOUT_MS", 15_000),
];
/// Upper bound of every timeout variable (15 minutes, a Lambda's longest run).
const MAX_TIMEOUT_MS: u64 = 900_000;

impl Default for AwsTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(TIMEOUT_VARS[0].1),
            attempt: Duration::from_millis(TIMEOUT_VARS[1].1),
            operation: Duration::from_millis(TIMEOUT_VARS[2].1),
            send_command: Duration::from_millis(TIMEOUT_VARS[3].1),
        }
    }
}

impl AwsTimeouts {
    /// From the process environment; a missing or invalid value is the default.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok()).0
    }

    /// From `lookup`, with a problem for every invalid value (which is replaced by its default).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut values = [0u64; 4];
        for (slot, (name, default)) in values.iter_mut().zip(TIMEOUT_VARS) {
            *slot = match lookup(name).filter(|v| !v.trim().is_empty()) {
                None => default,
                Some(raw) => match raw.trim().parse::<u64>() {
                    Ok(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => ms,
                    _ => {
                        problems.push(format!(
                            "{name}={:?} is not a number of milliseconds from 1 to {MAX_TIMEOUT_MS}",
                            crate::text::clip_chars(&raw, 40)
                        ));
                        default
                    }
                },
            };
        }
        let timeouts = Self {
            connect: Duration::from_millis(values[0]),
            attempt: Duration::from_millis(values[1]),
            operation: Duration::from_millis(values[2]),
            send_command: Duration::from_millis(values[3]),
        };
        (timeouts, problems)
    }

    /// The client-wide timeouts: connect, attempt and operation.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// SendCommand's: one attempt, so the attempt and the operation end together.
    pub fn send_command_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.send_command)
            .operation_timeout(self.send_command)
            .build()
    }

    /// A long poll of `wait` (SQS ReceiveMessage): the server holds the answer that long.
    pub fn long_poll(&self, wait: Duration) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt + wait)
            .operation_timeout(self.operation + wait)
            .build()
    }
}

/// Every SDK client selfheal uses, built once from one [`SdkConfig`].
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sdk_config: SdkConfig,
    pub ssm: aws_sdk_ssm::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
}

impl AwsClients {
    /// Loads the SDK configuration from the environment (region, credentials,
    /// `AWS_ENDPOINT_URL`) and builds every client.
    pub async fn from_env() -> Self {
        Self::from_sdk_config(load_sdk_config(None).await)
    }

    /// Like [`AwsClients::from_env`] but with an explicit endpoint (tests against a local
    /// emulator set it here rather than through the process environment).
    pub async fn with_endpoint(endpoint_url: &str) -> Self {
        Self::from_sdk_config(load_sdk_config(Some(endpoint_url)).await)
    }

    pub fn from_sdk_config(sdk_config: SdkConfig) -> Self {
        Self {
            ssm: aws_sdk_ssm::Client::new(&sdk_config),
            sqs: aws_sdk_sqs::Client::new(&sdk_config),
            sns: aws_sdk_sns::Client::new(&sdk_config),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk_config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk_config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(&sdk_config),
            sdk_config,
        }
    }

    /// The configured region, if any.
    pub fn region(&self) -> Option<String> {
        self.sdk_config.region().map(|r| r.as_ref().to_owned())
    }
}

/// The loader every SDK configuration starts from: latest behaviour version,
/// [`standard_retries`] and the [`AwsTimeouts`] of the environment.
pub fn sdk_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(standard_retries())
        .timeout_config(AwsTimeouts::from_env().timeout_config())
}

/// The shared SDK configuration ([`sdk_loader`]), optionally with an explicit endpoint URL.
pub async fn load_sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    let mut loader = sdk_loader();
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

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

impl Settings {
    /// Reads the process environment. `require_table`: the engine needs `SELFHEAL_TABLE`;
    /// offline commands do not.
    pub fn from_env(require_table: bool) -> Result<Self, SettingsError> {
        Self::from_lookup(require_table, |name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (tests pass a map instead of touching the environment).
    pub fn from_lookup(
        require_table: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let mut problems = Vec::new();

        let table = get("SELFHEAL_TABLE");
        if require_table && table.is_none() {
            problems.push("SELFHEAL_TABLE is required (the DynamoDB state table name)".to_owned());
        }
        let mut number = |name: &str, default: u32| -> u32 {
            match get(name) {
                None => default,
                Some(raw) => match raw.parse::<u32>() {
                    Ok(n) if n >= 1 => n,
                    _ => {
                        problems.push(format!(
                            "{name}={:?} is not a whole number ≥ 1",
                            crate::text::clip_chars(&raw, 40)
                        ));
                        default
                    }
                },
            }
        };
        let max_per_hour = number("SELFHEAL_MAX_PER_HOUR", DEFAULT_MAX_PER_HOUR);
        let function_budget_seconds = number(
            "SELFHEAL_FUNCTION_BUDGET_SECONDS",
            DEFAULT_FUNCTION_BUDGET_SECONDS,
        );
        let history_ttl_days = number("SELFHEAL_HISTORY_TTL_DAYS", DEFAULT_HISTORY_TTL_DAYS);
        let max_receive_count = number("SELFHEAL_MAX_RECEIVE_COUNT", 5);
        let approval_ttl_minutes = number(
            "SELFHEAL_APPROVAL_TTL_MINUTES",
            DEFAULT_APPROVAL_TTL_MINUTES,
        );
        if approval_ttl_minutes > 10_080 {
            problems.push(format!(
                "SELFHEAL_APPROVAL_TTL_MINUTES={approval_ttl_minutes} is more than 10080 (7 days)"
            ));
        }
        let capacity_retry_seconds = match get("SELFHEAL_CAPACITY_RETRY_SECONDS") {
            None => DEFAULT_CAPACITY_RETRY_SECONDS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n <= 43_200 => n,
                _ => {
                    problems.push(format!(
                        "SELFHEAL_CAPACITY_RETRY_SECONDS={:?} is not a number of seconds from 0 to 43200",
                        crate::text::clip_chars(&v, 40)
                    ));
                    DEFAULT_CAPACITY_RETRY_SECONDS
                }
            },
        };

        // The SDK timeouts are read where the clients are built (`AwsTimeouts::from_env`);
        // invalid values are reported here with the rest.
        problems.extend(AwsTimeouts::from_lookup(get).1);

        let mut arn = |name: &str| -> Option<String> {
            let v = get(name)?;
            if !v.starts_with("arn:") {
                problems.push(format!(
                    "{name}={:?} is not an ARN (expected arn:…)",
                    crate::text::clip_chars(&v, 80)
                ));
            }
            Some(v)
        };
        let escalation_topic_arn = arn("SELFHEAL_ESCALATION_TOPIC_ARN");
        let chat_topic_arn = arn("SELFHEAL_CHAT_TOPIC_ARN");

        let slack_webhook_url = get("SELFHEAL_SLACK_WEBHOOK_URL");
        if let Some(url) = &slack_webhook_url {
            if !is_http_url(url) {
                // Never echo the value: it is a secret.
                problems.push(
                    "SELFHEAL_SLACK_WEBHOOK_URL is not an http(s) URL (value not shown)".to_owned(),
                );
            }
        }
        let slack_api_url =
            get("SELFHEAL_SLACK_API_URL").unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned());
        if !is_http_url(&slack_api_url) {
            problems.push(format!(
                "SELFHEAL_SLACK_API_URL={:?} is not an http(s) URL",
                crate::text::clip_chars(&slack_api_url, 80)
            ));
        }
        let slack_token_param = get("SELFHEAL_SLACK_TOKEN_PARAM");
        let slack_channel = get("SELFHEAL_SLACK_CHANNEL");
        if slack_token_param.is_some() && slack_channel.is_none() {
            problems.push(
                "SELFHEAL_SLACK_TOKEN_PARAM is set but SELFHEAL_SLACK_CHANNEL is not".to_owned(),
            );
        }

        let settings = Settings {
            table,
            mode_param: get("SELFHEAL_MODE_PARAM"),
            role_tag: get("SELFHEAL_ROLE_TAG").unwrap_or_else(|| DEFAULT_ROLE_TAG.to_owned()),
            max_per_hour,
            function_budget_seconds,
            escalation_topic_arn,
            chat_topic_arn,
            slack_webhook_url,
            slack_webhook_param: get("SELFHEAL_SLACK_WEBHOOK_PARAM"),
            slack_token_param,
            slack_channel,
            slack_api_url,
            history_ttl_days,
            runbooks: get("SELFHEAL_RUNBOOKS").map(PathBuf::from),
            capacity_retry_seconds,
            approval_ttl_minutes,
            queue_url: get("SELFHEAL_QUEUE_URL"),
            max_receive_count,
        };
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsError { problems })
        }
    }

    /// The history TTL in seconds.
    pub fn history_ttl_seconds(&self) -> i64 {
        i64::from(self.history_ttl_days) * 86_400
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
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
    fn send_command_is_never_retried_and_reads_are() {
        assert_eq!(no_retries().max_attempts(), 1);
        assert_eq!(standard_retries().max_attempts(), MAX_ATTEMPTS);
        let t = AwsTimeouts::default();
        assert_eq!(
            t.send_command_config().operation_timeout(),
            t.send_command_config().operation_attempt_timeout(),
            "one attempt: it ends with the operation"
        );
        assert!(t.attempt < t.operation);
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
