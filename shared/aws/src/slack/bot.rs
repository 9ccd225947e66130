//! [`SlackBotSink`]: the [`Chat`] port as a Slack app (bot token) posting to one channel.
//!
//! A start message is posted with `chat.postMessage` and its `ts` remembered per alert identity
//! (a bounded in-memory map). The result is posted in that thread (`thread_ts`; escalations are
//! also broadcast to the channel), and the start message is updated with `chat.update` so its
//! header shows the outcome. A result whose start this process did not post (another
//! invocation did) is posted unthreaded.
//!
//! The Web API answers `200 {"ok":false,"error":"…"}` on errors: `ratelimited`,
//! `internal_error`, `fatal_error`, `service_unavailable` and `request_timeout` are retried like
//! a 5xx; a refusal of the blocks is answered with a text-only retry; anything else is final.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use selfheal_service::ports::{Announcement, AnnouncementKind, Chat};
use serde_json::{json, Value};

use super::blocks::{needs_human, render, render_start_update, SlackMessage};
use super::delivery::{
    is_blocks_rejection, post, retry_after, safe_excerpt, DeliveryError, FailureCounter, Secret,
    SlackOptions, Verdict,
};

/// How many start messages are remembered for threading by default.
pub const DEFAULT_THREAD_CAPACITY: usize = 512;

/// Where a start message lives.
#[derive(Debug, Clone)]
struct Thread {
    channel: String,
    ts: String,
    start: Announcement,
}

/// Identity → start message, forgetting the oldest beyond `cap`.
#[derive(Debug)]
struct Threads {
    map: HashMap<String, Thread>,
    order: VecDeque<String>,
    cap: usize,
}

impl Threads {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    fn insert(&mut self, identity: &str, thread: Thread) {
        if self.map.insert(identity.to_owned(), thread).is_none() {
            self.order.push_back(identity.to_owned());
        }
        while self.map.len() > self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    fn get(&self, identity: &str) -> Option<Thread> {
        self.map.get(identity).cloned()
    }
}

/// Posts announcements with a bot token to one channel, threading results under their start.
pub struct SlackBotSink {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    channel: String,
    options: SlackOptions,
    failures: FailureCounter,
    threads: Mutex<Threads>,
}

impl fmt::Debug for SlackBotSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackBotSink")
            .field("api_url", &self.api_url)
            .field("token", &self.token)
            .field("channel", &self.channel)
            .field("options", &self.options)
            .field("failures", &self.failures.get())
            .finish_non_exhaustive()
    }
}

impl SlackBotSink {
    /// The `Sink` dimension of its `ChatFailures` metric.
    pub const NAME: &'static str = "slack-bot";

    /// `api_url`: the Web API base (`SELFHEAL_SLACK_API_URL`, default `https://slack.com/api`);
    /// `token`: the bot token; `channel`: a channel id or name (`SELFHEAL_SLACK_CHANNEL`).
    pub fn new(
        http: reqwest::Client,
        api_url: impl Into<String>,
        token: Secret,
        channel: impl Into<String>,
        options: SlackOptions,
    ) -> Self {
        Self {
            http,
            api_url: api_url.into().trim_end_matches('/').to_owned(),
            token,
            channel: channel.into(),
            options,
            failures: FailureCounter::default(),
            threads: Mutex::new(Threads::new(DEFAULT_THREAD_CAPACITY)),
        }
    }

    /// Remembers at most `capacity` start messages (at least 1).
    pub fn with_thread_capacity(self, capacity: usize) -> Self {
        Self {
            threads: Mutex::new(Threads::new(capacity)),
            ..self
        }
    }

    /// Deliveries that failed for good since this sink was built (posts and updates).
    pub fn failures(&self) -> u64 {
        self.failures.get()
    }

    /// The `ts` of the remembered start message of `identity`, if any.
    pub fn thread_ts(&self, identity: &str) -> Option<String> {
        self.lock().get(identity).map(|t| t.ts)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Threads> {
        // A poisoned map only loses threading; never panic over it.
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls Web API `method` with `body`; the parsed answer when `ok` is true.
    async fn call(
        &self,
        deadline: Instant,
        method: &str,
        body: &Value,
    ) -> Result<Value, DeliveryError> {
        let url = format!("{}/{method}", self.api_url);
        let text = post(
            &self.http,
            &self.options.retry_policy(deadline),
            &url,
            Some(&self.token),
            body,
            judge_api,
        )
        .await
        .map_err(|e| DeliveryError {
            message: format!("{method}: {}", e.message),
            ..e
        })?;
        serde_json::from_str(&text)
            .map_err(|_| DeliveryError::new(format!("{method}: the answer is not JSON")))
    }

    /// Calls `method` with `message` merged into `extra`; when Slack refuses the blocks, tries
    /// the text alone once.
    async fn call_message(
        &self,
        deadline: Instant,
        method: &str,
        message: &SlackMessage,
        extra: Value,
    ) -> Result<Value, DeliveryError> {
        let with = |m: Value| {
            let mut body = extra.clone();
            if let (Some(b), Value::Object(m)) = (body.as_object_mut(), m) {
                b.extend(m);
            }
            body
        };
        match self.call(deadline, method, &with(message.to_json())).await {
            Err(e) if e.blocks_rejected => {
                let mut text_only = with(message.text_only());
                if method == "chat.update" {
                    // An update without blocks keeps the old ones; clear them.
                    text_only["blocks"] = json!([]);
                }
                self.call(deadline, method, &text_only)
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

    fn failed(&self, a: &Announcement, method: &str, e: &DeliveryError) {
        self.failures.record(Self::NAME);
        tracing::warn!(
            sink = Self::NAME,
            method,
            identity = %a.identity,
            error = %e,
            "slack delivery failed; the remediation goes on"
        );
    }
}

pub(crate) fn judge_api(status: StatusCode, headers: &HeaderMap, body: &str) -> Verdict {
    let code = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Verdict::Retry {
            after: Some(retry_after(headers)),
            why: "HTTP 429 (rate limited)".to_owned(),
        };
    }
    if status.is_server_error() {
        return Verdict::Retry {
            after: None,
            why: format!("HTTP {code}"),
        };
    }
    if !status.is_success() {
        let excerpt = safe_excerpt(body);
        return Verdict::Fail {
            blocks_rejected: is_blocks_rejection(&excerpt),
            why: format!("HTTP {code}: {excerpt}"),
        };
    }
    let Ok(answer) = serde_json::from_str::<Value>(body) else {
        return Verdict::fail(format!("HTTP {code}: the answer is not JSON"));
    };
    if answer.get("ok").and_then(Value::as_bool) == Some(true) {
        return Verdict::Done(body.to_owned());
    }
    let error = safe_excerpt(answer.get("error").and_then(Value::as_str).unwrap_or(""));
    match error.as_str() {
        "ratelimited" | "rate_limited" => Verdict::Retry {
            after: Some(retry_after(headers)),
            why: format!("slack error {error}"),
        },
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            Verdict::Retry {
                after: None,
                why: format!("slack error {error}"),
            }
        }
        _ => Verdict::Fail {
            blocks_rejected: is_blocks_rejection(&error),
            why: format!("slack error {error}"),
        },
    }
}

#[async_trait]
impl Chat for SlackBotSink {
    async fn announce(&self, a: &Announcement) {
        let deadline = Instant::now() + self.options.max_total;
        let message = render(a);
        let base = json!({
            "channel": self.channel,
            "unfurl_links": false,
            "unfurl_media": false,
        });
        match a.kind {
            AnnouncementKind::Start => {
                let mut base = base;
                if let Some(t) = &a.thread {
                    // A run after Run was pressed: it belongs under the approval request.
                    base["channel"] = json!(t.channel);
                    base["thread_ts"] = json!(t.ts);
                }
                // Results of approved runs (and of requests with buttons, which the approvals
                // function rewrites) go under the request via `a.thread`, not a remembered start.
                let remember = a.thread.is_none() && a.approval.is_none();
                match self
                    .call_message(deadline, "chat.postMessage", &message, base)
                    .await
                {
                    Ok(_) if !remember => {}
                    Ok(answer) => {
                        let ts = answer.get("ts").and_then(Value::as_str);
                        let channel = answer
                            .get("channel")
                            .and_then(Value::as_str)
                            .unwrap_or(&self.channel);
                        if let Some(ts) = ts {
                            self.lock().insert(
                                &a.identity,
                                Thread {
                                    channel: channel.to_owned(),
                                    ts: ts.to_owned(),
                                    start: a.clone(),
                                },
                            );
                        }
                    }
                    Err(e) => self.failed(a, "chat.postMessage", &e),
                }
            }
            AnnouncementKind::Result => {
                let thread = self.lock().get(&a.identity);
                let mut body = base;
                if thread.is_none() {
                    // The approval request's message, posted by another invocation.
                    if let Some(t) = &a.thread {
                        body["channel"] = json!(t.channel);
                        body["thread_ts"] = json!(t.ts);
                        body["reply_broadcast"] = json!(needs_human(a.outcome.as_deref()));
                    }
                }
                if let Some(t) = &thread {
                    body["thread_ts"] = json!(t.ts);
                    if needs_human(a.outcome.as_deref()) {
                        body["reply_broadcast"] = json!(true);
                    }
                }
                if let Err(e) = self
                    .call_message(deadline, "chat.postMessage", &message, body)
                    .await
                {
                    self.failed(a, "chat.postMessage", &e);
                }
                if let Some(t) = thread {
                    let update = render_start_update(&t.start, a);
                    let target = json!({ "channel": t.channel, "ts": t.ts });
                    if let Err(e) = self
                        .call_message(deadline, "chat.update", &update, target)
                        .await
                    {
                        self.failed(a, "chat.update", &e);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(ts: &str) -> Thread {
        Thread {
            channel: "C1".into(),
            ts: ts.into(),
            start: Announcement {
                kind: AnnouncementKind::Start,
                identity: ts.into(),
                key: None,
                runbook: None,
                description: None,
                owner: None,
                instance: None,
                role: None,
                region: None,
                account: None,
                alarm_name: None,
                alarm_reason: None,
                attempt: 0,
                max_attempts: 0,
                dry_run: false,
                outcome: None,
                detail: String::new(),
                duration_ms: None,
                failed_phase: None,
                exit_code: None,
                output_tail: None,
                command_ids: vec![],
                commands: vec![],
                approval: None,
                thread: None,
            },
        }
    }

    #[test]
    fn thread_map_is_bounded() {
        let mut t = Threads::new(2);
        t.insert("a", thread("1"));
        t.insert("b", thread("2"));
        t.insert("a", thread("3"));
        assert_eq!(t.get("a").map(|t| t.ts).as_deref(), Some("3"));
        t.insert("c", thread("4"));
        assert_eq!(t.map.len(), 2);
        assert!(
            t.get("a").is_none(),
            "the oldest identity is forgotten first"
        );
        assert!(t.get("b").is_some() && t.get("c").is_some());
    }

    #[test]
    fn api_answers() {
        let h = HeaderMap::new();
        assert!(matches!(
            judge_api(StatusCode::OK, &h, r#"{"ok":true,"ts":"1.2"}"#),
            Verdict::Done(_)
        ));
        assert!(matches!(
            judge_api(
                StatusCode::OK,
                &h,
                r#"{"ok":false,"error":"internal_error"}"#
            ),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            judge_api(
                StatusCode::OK,
                &h,
                r#"{"ok":false,"error":"invalid_blocks"}"#
            ),
            Verdict::Fail {
                blocks_rejected: true,
                ..
            }
        ));
        match judge_api(
            StatusCode::OK,
            &h,
            r#"{"ok":false,"error":"channel_not_found"}"#,
        ) {
            Verdict::Fail {
                why,
                blocks_rejected,
            } => {
                assert_eq!(why, "slack error channel_not_found");
                assert!(!blocks_rejected);
            }
            _ => panic!("channel_not_found is final"),
        }
        assert!(matches!(
            judge_api(StatusCode::OK, &h, "not json"),
            Verdict::Fail { .. }
        ));
        assert!(matches!(
            judge_api(StatusCode::BAD_GATEWAY, &h, ""),
            Verdict::Retry { after: None, .. }
        ));
    }
}
