//! HTTP delivery to Slack with bounded retries, shared by the webhook and bot sinks.
//!
//! One POST is tried until it succeeds, fails permanently, runs out of retries, or would pass
//! the deadline: a 429 waits for its `Retry-After` (only if that ends before the deadline), 5xx
//! answers, timeouts and connection failures are retried with jittered exponential backoff
//! ([`crate::retry::Backoff`]) up to [`SlackOptions::max_retries`] times. The same [`post`] (and
//! [`http_client`]) serve the weekly report's webhook, the user-group lookup and `response_url`
//! replies, each with its own [`RetryPolicy`]. Nothing here formats a `reqwest::Error` (its text
//! carries the URL, which for a webhook is the secret): errors are described in our own words.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;

use crate::retry::{self, Backoff};

/// A secret (webhook URL, bot token). `Debug` and `Display` print `<redacted>`; the value is
/// reachable only through [`Secret::expose`]. Not serialisable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself. Never log, format or store what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Timing and retry bounds of a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlackOptions {
    /// Each HTTP request (connect, send, read the answer) gives up after this long.
    pub request_timeout: Duration,
    /// One announcement, every request and wait included, never takes longer than this.
    pub max_total: Duration,
    /// Retries after the first attempt (5xx, timeouts, connection failures, 429).
    pub max_retries: u32,
    /// The first backoff; it doubles with each retry.
    pub backoff: Duration,
}

impl Default for SlackOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            max_total: Duration::from_secs(10),
            max_retries: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// The HTTP client the Slack sinks share: no redirects (a webhook that redirects is not
/// followed), a connect timeout, rustls. Build it once per process.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("selfheal/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("the HTTP client could not be built: {}", describe(&e)))
}

/// What one answer means.
pub(crate) enum Verdict {
    /// Delivered; the answer's body.
    Done(String),
    /// Worth another try; `after` is the server's `Retry-After`.
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// Retrying will not help. `blocks_rejected`: Slack refused the blocks (`invalid_blocks`,
    /// `msg_too_long` …); the plain-text fallback may still go through.
    Fail { why: String, blocks_rejected: bool },
}

impl Verdict {
    pub fn fail(why: impl Into<String>) -> Self {
        Self::Fail {
            why: why.into(),
            blocks_rejected: false,
        }
    }
}

/// Slack error codes that mean "these blocks or this text were refused".
pub(crate) fn is_blocks_rejection(code: &str) -> bool {
    matches!(
        code,
        "invalid_blocks"
            | "invalid_blocks_format"
            | "too_many_blocks"
            | "msg_too_long"
            | "msg_blocks_too_long"
            | "invalid_attachments"
    )
}

/// Why a delivery failed, in words that never contain the URL or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    pub message: String,
    /// Slack refused the blocks (the text-only fallback may still be delivered).
    pub blocks_rejected: bool,
}

impl DeliveryError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            blocks_rejected: false,
        }
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeliveryError {}

/// A failure counter, also reported as a CloudWatch embedded-metric log line.
#[derive(Debug, Clone, Default)]
pub(crate) struct FailureCounter(Arc<AtomicU64>);

impl FailureCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one failed delivery and prints the `ChatFailures` metric (CloudWatch EMF) for
    /// `sink`.
    pub fn record(&self, sink: &str) {
        self.0.fetch_add(1, Ordering::Relaxed);
        println!("{}", emf_line(sink, now_ms()));
    }
}

/// The CloudWatch embedded-metric-format line for one chat failure of `sink`.
pub fn emf_line(sink: &str, timestamp_ms: u128) -> String {
    serde_json::json!({
        "_aws": {
            "CloudWatchMetrics": [{
                "Namespace": "selfheal",
                "Dimensions": [["Sink"]],
                "Metrics": [{ "Name": "ChatFailures", "Unit": "Count" }],
            }],
            "Timestamp": timestamp_ms,
        },
        "Sink": sink,
        "ChatFailures": 1,
    })
    .to_string()
}

fn now_ms() -> u128 {
    u128::try_from(selfheal_service::chat::SystemClock::now()).unwrap_or(0)
}

/// How one Slack call is retried: a [`Backoff`] between attempts, each request's timeout, the
/// longest `Retry-After` honoured, and an optional deadline for the whole call (a wait that
/// would pass it ends the call instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub backoff: Backoff,
    pub request_timeout: Duration,
    pub max_retry_after: Duration,
    pub deadline: Option<Instant>,
}

impl RetryPolicy {
    /// A single attempt that gives up after `timeout` (Slack interactivity: the answer must
    /// come within Slack's 3 seconds).
    pub fn single(timeout: Duration) -> Self {
        Self {
            backoff: Backoff::new(Duration::ZERO, Duration::ZERO, 1),
            request_timeout: timeout,
            max_retry_after: Duration::ZERO,
            deadline: Some(Instant::now() + timeout),
        }
    }
}

impl SlackOptions {
    /// The retry policy of one announcement that must end by `deadline`: [`Self::max_retries`]
    /// retries with jittered exponential backoff from [`Self::backoff`], a `Retry-After`
    /// honoured only within the deadline.
    pub fn retry_policy(&self, deadline: Instant) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff::new(
                self.backoff,
                self.max_total,
                self.max_retries.saturating_add(1),
            ),
            request_timeout: self.request_timeout,
            max_retry_after: self.max_total,
            deadline: Some(deadline),
        }
    }
}

/// The HTTP method of a Slack call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// A GET without a body (Web API reads such as `usergroups.users.list`).
    Get,
    /// A POST of a JSON body.
    Post,
}

/// One POST of `body` to `url` (a secret for webhooks), with an optional bearer `token`, retried
/// as `policy` says (see the module documentation). `judge` reads each answer.
pub(crate) async fn post(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    url: &str,
    token: Option<&Secret>,
    body: &Value,
    judge: impl Fn(StatusCode, &HeaderMap, &str) -> Verdict,
) -> Result<String, DeliveryError> {
    call(http, policy, Method::Post, url, token, Some(body), judge).await
}

/// One Slack call: `method` to `url` with an optional bearer `token` and JSON `body`, retried
/// as `policy` says. `judge` reads each answer; its `Done` text is returned.
pub(crate) async fn call(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    method: Method,
    url: &str,
    token: Option<&Secret>,
    body: Option<&Value>,
    judge: impl Fn(StatusCode, &HeaderMap, &str) -> Verdict,
) -> Result<String, DeliveryError> {
    let mut headers = HeaderMap::new();
    if body.is_some() {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| DeliveryError::new("the bot token is not a valid header value"))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let payload = body
        .map(serde_json::to_vec)
        .transpose()
        .map_err(|_| DeliveryError::new("the message could not be serialised"))?;

    let mut attempt = 1u32;
    loop {
        let timeout = match policy.deadline {
            None => policy.request_timeout,
            Some(deadline) => {
                let Some(left) = deadline
                    .checked_duration_since(Instant::now())
                    .filter(|d| !d.is_zero())
                else {
                    return Err(DeliveryError::new("gave up: no time left"));
                };
                policy.request_timeout.min(left)
            }
        };
        let request = match method {
            Method::Get => http.get(url),
            Method::Post => http.post(url),
        };
        let request = match &payload {
            Some(p) => request.body(p.clone()),
            None => request,
        };
        let answer = request
            .headers(headers.clone())
            .timeout(timeout)
            .send()
            .await;
        let verdict = match answer {
            Err(e) => Verdict::Retry {
                after: None,
                why: describe(&e),
            },
            Ok(resp) => {
                let status = resp.status();
                let resp_headers = resp.headers().clone();
                match resp.text().await {
                    Ok(text) => judge(status, &resp_headers, &text),
                    Err(e) => Verdict::Retry {
                        after: None,
                        why: format!(
                            "HTTP {}: answer unreadable ({})",
                            status.as_u16(),
                            describe(&e)
                        ),
                    },
                }
            }
        };
        let (after, why) = match verdict {
            Verdict::Done(body) => return Ok(body),
            Verdict::Fail {
                why,
                blocks_rejected,
            } => {
                return Err(DeliveryError {
                    message: why,
                    blocks_rejected,
                })
            }
            Verdict::Retry { after, why } => (after, why),
        };
        if !policy.backoff.allows_retry_after(attempt) {
            return Err(DeliveryError::new(if attempt == 1 {
                why
            } else {
                format!("{why}; gave up after {attempt} attempts")
            }));
        }
        let wait = after.map_or_else(
            || policy.backoff.delay(attempt),
            |a| a.min(policy.max_retry_after),
        );
        if policy
            .deadline
            .is_some_and(|deadline| Instant::now() + wait >= deadline)
        {
            return Err(DeliveryError::new(format!(
                "{why}; gave up: waiting {} ms would pass the deadline",
                wait.as_millis()
            )));
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, why = %why, "slack: retrying");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// `Retry-After` in seconds (Slack sends whole seconds); 1 s when absent or unreadable.
pub(crate) fn retry_after(headers: &HeaderMap) -> Duration {
    retry::retry_after(
        headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()),
        Duration::MAX,
    )
    .unwrap_or(Duration::from_secs(1))
}

/// A safe excerpt of an error answer: Slack's error codes (`invalid_blocks`, `channel_not_found`)
/// are shown; anything else (which could echo anything) is not.
pub(crate) fn safe_excerpt(body: &str) -> String {
    let b = body.trim();
    if !b.is_empty()
        && b.len() <= 60
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c == b'_' || c.is_ascii_digit())
    {
        b.to_owned()
    } else {
        "no error code".to_owned()
    }
}

/// Describes a transport error without its URL.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirected (not followed)"
    } else if e.is_body() || e.is_decode() {
        "answer unreadable"
    } else if e.is_builder() {
        "request could not be built"
    } else if e.is_request() {
        "request failed"
    } else {
        "HTTP error"
    };
    what.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("xoxb-very-secret");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "xoxb-very-secret");
    }

    #[test]
    fn emf_shape() {
        let v: Value = serde_json::from_str(&emf_line("slack-webhook", 42)).expect("json");
        assert_eq!(v["_aws"]["Timestamp"], 42);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "selfheal");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Sink"
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "ChatFailures"
        );
        assert_eq!(v["Sink"], "slack-webhook");
        assert_eq!(v["ChatFailures"], 1);
    }

    #[test]
    fn excerpts_are_safe() {
        assert_eq!(safe_excerpt("invalid_blocks"), "invalid_blocks");
        assert_eq!(safe_excerpt(" channel_not_found\n"), "channel_not_found");
        assert_eq!(safe_excerpt("https://hooks.slack.com/x"), "no error code");
        assert_eq!(safe_excerpt(""), "no error code");
        assert_eq!(safe_excerpt(&"a".repeat(200)), "no error code");
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_secs(1));
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Duration::from_secs(3));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), Duration::from_secs(1));
    }
}
