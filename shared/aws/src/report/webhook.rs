//! The report's Slack incoming-webhook poster ([`WebhookPoster`], the [`ReportPoster`] port).
//!
//! It posts through the same client ([`http_client`], re-exported from `slack::delivery`) and
//! the same retrying POST as the remediation announcements, with the report's own
//! [`report_retry_policy`]: [`SLACK_ATTEMPTS`] tries, 429 and 5xx (and transport failures)
//! retried with jittered backoff, `Retry-After` honoured up to [`MAX_RETRY_AFTER`], no
//! deadline. Unlike [`crate::slack::SlackWebhookSink`], which swallows failures so the
//! remediation goes on and falls back to text when Slack refuses the blocks, a failure here
//! fails the run (the scheduler retries). The webhook URL is a secret: it is never logged, and
//! errors are built without it.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use selfheal_service::report::ReportPoster;

use crate::retry::{self, Backoff};
use crate::slack::delivery::{post, RetryPolicy, Verdict};
use crate::slack::Secret;

pub use crate::slack::delivery::http_client;

/// Attempts per webhook post (429, 5xx and transport failures are retried).
pub const SLACK_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Each request gives up after this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The ceiling of the first backoff (it doubles for the next retry).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The report's rules for one post: [`SLACK_ATTEMPTS`] tries, jittered backoff from
/// [`FIRST_BACKOFF`], `Retry-After` up to [`MAX_RETRY_AFTER`], no overall deadline.
pub fn report_retry_policy() -> RetryPolicy {
    RetryPolicy {
        backoff: Backoff::new(FIRST_BACKOFF, MAX_RETRY_AFTER, SLACK_ATTEMPTS),
        request_timeout: REQUEST_TIMEOUT,
        max_retry_after: MAX_RETRY_AFTER,
        deadline: None,
    }
}

/// Posts `payload` to the webhook. Slack answers 200 `ok`; 429 carries `Retry-After`.
pub async fn post_webhook(
    http: &reqwest::Client,
    url: &Secret,
    payload: &serde_json::Value,
) -> Result<(), String> {
    post(
        http,
        &report_retry_policy(),
        url.expose(),
        None,
        payload,
        judge_report,
    )
    .await
    .map(|_| ())
    .map_err(|e| format!("Slack webhook {e}"))
}

/// Success is delivered; 429 and 5xx are retried (429 after its `Retry-After` when given);
/// anything else fails with the status and the start of the answer.
fn judge_report(status: StatusCode, headers: &HeaderMap, body: &str) -> Verdict {
    if status.is_success() {
        return Verdict::Done(body.to_owned());
    }
    let excerpt: String = body.chars().take(200).collect();
    let why = format!("answered {status}: {}", excerpt.trim());
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let after = retry::retry_after(
            headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()),
            MAX_RETRY_AFTER,
        );
        Verdict::Retry { after, why }
    } else {
        Verdict::fail(why)
    }
}

/// [`ReportPoster`] over a Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct WebhookPoster {
    http: reqwest::Client,
    url: Secret,
}

impl WebhookPoster {
    /// `http`: a client from [`http_client`]; `url`: the webhook URL.
    pub fn new(http: reqwest::Client, url: Secret) -> Self {
        Self { http, url }
    }
}

#[async_trait]
impl ReportPoster for WebhookPoster {
    async fn post(&self, payload: &serde_json::Value) -> Result<(), String> {
        post_webhook(&self.http, &self.url, payload).await
    }
}
