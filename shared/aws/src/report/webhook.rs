//! The report's Slack incoming-webhook poster ([`WebhookPoster`], the [`ReportPoster`] port).
//!
//! It is not [`crate::slack::SlackWebhookSink`]: that sink serves remediation announcements,
//! bounds a whole announcement by a deadline and falls back to text when Slack refuses the
//! blocks. The report keeps its own rules: [`SLACK_ATTEMPTS`] tries, 429 and 5xx retried,
//! `Retry-After` honoured up to [`MAX_RETRY_AFTER`], and a failure fails the run (the scheduler
//! retries). The webhook URL is a secret: it is never logged, and errors are built without it.

use std::time::Duration;

use async_trait::async_trait;
use selfheal_service::report::ReportPoster;

use crate::slack::Secret;

/// Attempts per webhook post (429 and 5xx are retried).
pub const SLACK_ATTEMPTS: u32 = 3;
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// An HTTP client for Slack: rustls, timeouts, no redirects (a webhook never redirects).
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", e.without_url()))
}

/// Posts `payload` to the webhook. Slack answers 200 `ok`; 429 carries `Retry-After`.
pub async fn post_webhook(
    http: &reqwest::Client,
    url: &Secret,
    payload: &serde_json::Value,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=SLACK_ATTEMPTS {
        match http.post(url.expose()).json(payload).send().await {
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() {
                    return Ok(());
                }
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body: String = resp
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect();
                last = format!("Slack webhook answered {status}: {}", body.trim());
                let retryable = status.as_u16() == 429 || status.is_server_error();
                if !retryable {
                    return Err(last);
                }
                if attempt < SLACK_ATTEMPTS {
                    let wait = retry_after
                        .unwrap_or(Duration::from_millis(500 * u64::from(attempt)))
                        .min(MAX_RETRY_AFTER);
                    tokio::time::sleep(wait).await;
                }
            }
            Err(e) => {
                last = format!("Slack webhook unreachable: {}", e.without_url());
                if attempt < SLACK_ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
            }
        }
    }
    Err(last)
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
