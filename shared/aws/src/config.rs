//! Configuration: the SDK clients (built once per process) and the `SELFHEAL_*` settings.
//!
//! [`AwsClients::from_env`] loads one [`SdkConfig`] with the standard retry mode ([`MAX_ATTEMPTS`]
//! attempts, with the SDK's jittered backoff) and the timeouts of [`AwsTimeouts`]; the SDK itself
//! honours `AWS_REGION`, credentials and `AWS_ENDPOINT_URL` (a local emulator).
//! The `SELFHEAL_*` settings are read in [`crate::settings`] ([`Settings`] and [`SettingsError`]
//! are re-exported here for existing callers).
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

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

use crate::settings::engine::TIMEOUT_VARS;
// The engine's settings are read in `crate::settings::engine`; these names stay for callers.
pub use crate::settings::engine::{
    Settings, SettingsError, DEFAULT_APPROVAL_TTL_MINUTES, DEFAULT_CAPACITY_RETRY_SECONDS,
    DEFAULT_FUNCTION_BUDGET_SECONDS, DEFAULT_HISTORY_TTL_DAYS, DEFAULT_MAX_PER_HOUR,
    DEFAULT_ROLE_TAG, DEFAULT_SLACK_API_URL,
};

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
        Self::from_lookup(crate::settings::env).0
    }

    /// From `lookup`, with a problem for every invalid value (which is replaced by its default).
    /// The reading is [`crate::settings::engine::timeouts`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        crate::settings::engine::timeouts_from_lookup(lookup)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
