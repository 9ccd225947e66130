//! [`SlackWebhookSink`]: the [`Chat`] port as a Slack incoming webhook.
//!
//! Incoming webhooks answer `200 ok`; errors come as 4xx with a short code in the body
//! (`invalid_payload`, `invalid_blocks`, `channel_not_found`, `no_service` …), throttling as
//! `429` with `Retry-After`. The URL is the secret: it is never logged, formatted or returned.

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use selfheal_service::ports::{Announcement, Chat};
use serde_json::Value;

use super::blocks::render;
use super::delivery::{
    is_blocks_rejection, post, retry_after, safe_excerpt, DeliveryError, FailureCounter, Secret,
    SlackOptions, Verdict,
};

/// Posts announcements to a Slack incoming webhook.
#[derive(Clone)]
pub struct SlackWebhookSink {
    http: reqwest::Client,
    url: Secret,
    options: SlackOptions,
    failures: FailureCounter,
}

impl fmt::Debug for SlackWebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackWebhookSink")
            .field("url", &self.url)
            .field("options", &self.options)
            .field("failures", &self.failures.get())
            .finish()
    }
}

impl SlackWebhookSink {
    /// The `Sink` dimension of its `ChatFailures` metric.
    pub const NAME: &'static str = "slack-webhook";

    /// `http`: the shared client ([`super::http_client`]); `url`: the webhook URL.
    pub fn new(http: reqwest::Client, url: Secret, options: SlackOptions) -> Self {
        Self {
            http,
            url,
            options,
            failures: FailureCounter::default(),
        }
    }

    /// Deliveries that failed for good since this sink was built.
    pub fn failures(&self) -> u64 {
        self.failures.get()
    }

    /// Posts one payload (`{"text", "blocks"}`), retrying within [`SlackOptions`]. When Slack
    /// refuses the blocks, the `text` alone is tried once more.
    pub async fn send(&self, payload: &Value) -> Result<(), DeliveryError> {
        let deadline = Instant::now() + self.options.max_total;
        match self.post(deadline, payload).await {
            Err(e) if e.blocks_rejected && payload.get("blocks").is_some() => {
                let text = payload.get("text").cloned().unwrap_or_default();
                self.post(deadline, &serde_json::json!({ "text": text }))
                    .await
                    .map_err(|again| {
                        DeliveryError::new(format!(
                            "{}; the text-only fallback failed too: {}",
                            e.message, again.message
                        ))
                    })
            }
            other => other,
        }
    }

    async fn post(&self, deadline: Instant, payload: &Value) -> Result<(), DeliveryError> {
        post(
            &self.http,
            &self.options.retry_policy(deadline),
            self.url.expose(),
            None,
            payload,
            judge_webhook,
        )
        .await
        .map(|_| ())
    }
}

fn judge_webhook(status: StatusCode, headers: &HeaderMap, body: &str) -> Verdict {
    let code = status.as_u16();
    if status.is_success() {
        Verdict::Done(body.to_owned())
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        Verdict::Retry {
            after: Some(retry_after(headers)),
            why: "HTTP 429 (rate limited)".to_owned(),
        }
    } else if status.is_server_error() {
        Verdict::Retry {
            after: None,
            why: format!("HTTP {code}"),
        }
    } else if status.is_redirection() {
        Verdict::fail(format!("HTTP {code}: redirected (not followed)"))
    } else {
        let excerpt = safe_excerpt(body);
        Verdict::Fail {
            blocks_rejected: is_blocks_rejection(&excerpt),
            why: format!("HTTP {code}: {excerpt}"),
        }
    }
}

#[async_trait]
impl Chat for SlackWebhookSink {
    async fn announce(&self, a: &Announcement) {
        let message = render(a);
        if let Err(e) = self.send(&message.to_json()).await {
            self.failures.record(Self::NAME);
            tracing::warn!(
                sink = Self::NAME,
                identity = %a.identity,
                error = %e,
                "slack webhook delivery failed; the remediation goes on"
            );
        }
    }
}
