//! Where the report goes: a Slack incoming webhook and, optionally, S3 for the HTML page.
//! The webhook URL is a secret: it is never logged, and errors are built without it.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// A secret string whose `Debug`/`Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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

/// Where the HTML report is kept.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores `html` under `key`; returns a human description of the location.
    async fn put_html(&self, key: &str, html: String) -> Result<String, String>;
}

/// [`ReportStore`] in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3ReportStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3ReportStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl ReportStore for S3ReportStore {
    async fn put_html(&self, key: &str, html: String) -> Result<String, String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/html; charset=utf-8")
            .cache_control("no-cache")
            .body(aws_sdk_s3::primitives::ByteStream::from(html.into_bytes()))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "s3:PutObject failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
