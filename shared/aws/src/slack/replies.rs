//! Slack replies to a Run / Skip press: the press handler (`selfheal_service::press`) answers
//! with a semantic [`PressReply`]; this file renders it as Slack JSON, both as the function
//! URL's HTTP answer ([`SlackAnswer`]) and as the message posted to the interaction's
//! `response_url` ([`response_url_message`], sent by [`HttpResponder`]).
//!
//! A decision replaces the original message (its buttons removed, a context line added); every
//! other reply is ephemeral (only the presser sees it). It decides nothing: which reply a press
//! gets is `service::press`. It holds no announcement rendering (`slack::blocks`).

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use selfheal_core::approval::EpochMillis;
use selfheal_core::approval::{ApprovalError, Decision};
use selfheal_service::press::{
    handle, App, EventError, HttpRequest, HttpResponse, PressReply, Responder, SigningSecret,
};
use serde_json::{json, Value};

use super::blocks::ACTIONS_BLOCK_ID;
use super::delivery::{post, RetryPolicy, Verdict};
use super::directory::SLACK_CALL_TIMEOUT;

/// What the presser sees when a dependency failed.
pub const UNAVAILABLE_TEXT: &str =
    ":warning: selfheal could not record this press right now — nothing was run. Please press again.";
/// What a second request of a press still being recorded hears.
pub const IN_PROGRESS_TEXT: &str = "This press is being recorded — nothing more to do.";

// ---------------------------------------------------------------------------------------------
// Texts

/// "Approved by <@U…> — running" / "Skipped by <@U…> — nothing will run".
pub fn decision_text(decision: Decision, user_id: &str) -> String {
    match decision {
        Decision::Run => format!(":white_check_mark: Approved by <@{user_id}> — running"),
        Decision::Skip => format!(":fast_forward: Skipped by <@{user_id}> — nothing will run"),
    }
}

/// The friendly answer to a later press: "Already approved by <@U…>".
pub fn already_decided_text(decision: Decision, user_id: &str) -> String {
    format!(
        "Already {} by <@{user_id}> — nothing more to do.",
        decision.past_tense()
    )
}

/// The ephemeral text explaining a refusal to the presser (only for authenticated requests).
pub fn refusal_text(err: &ApprovalError) -> String {
    match err {
        ApprovalError::NotAllowed { key, .. } => format!(
            ":no_entry: You are not allowed to approve `{key}`: ask one of the runbook's approvers."
        ),
        ApprovalError::NotApprovable { key } => {
            format!(":no_entry: `{key}` is no longer in mode approve: nothing to approve.")
        }
        ApprovalError::Expired { .. } => {
            ":alarm_clock: This approval request expired — nothing was run.".to_owned()
        }
        other => format!(
            ":warning: This request could not be handled ({}).",
            other.code()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

/// The message that replaces the original (`replace_original: true`): its blocks without the
/// approval buttons, plus a context line with `text`; only `text` when Slack sent no blocks.
pub fn replacement_message(original_blocks: Option<&[Value]>, text: &str) -> Value {
    let mut blocks: Vec<Value> = original_blocks
        .unwrap_or_default()
        .iter()
        .filter(|b| b.get("block_id").and_then(Value::as_str) != Some(ACTIONS_BLOCK_ID))
        .cloned()
        .collect();
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}));
    json!({
        "replace_original": true,
        "response_type": "in_channel",
        "text": text,
        "blocks": blocks,
    })
}

/// A message only the presser sees, leaving the original alone.
pub fn ephemeral_message(text: &str) -> Value {
    json!({
        "replace_original": false,
        "response_type": "ephemeral",
        "text": text,
    })
}

/// The message posted to `response_url` for `reply`.
pub fn response_url_message(reply: &PressReply) -> Value {
    match reply {
        PressReply::Refused(e) => ephemeral_message(&refusal_text(e)),
        PressReply::Unavailable { .. } => ephemeral_message(UNAVAILABLE_TEXT),
        PressReply::Decided {
            decision,
            user_id,
            original_blocks,
        } => replacement_message(
            original_blocks.as_deref(),
            &decision_text(*decision, user_id),
        ),
        PressReply::AlreadyDecided { decision, user_id } => {
            ephemeral_message(&already_decided_text(*decision, user_id))
        }
        PressReply::InProgress => ephemeral_message(IN_PROGRESS_TEXT),
    }
}

/// The HTTP answer's body for `reply`: a refusal or an outage as `{"ok": false, "error",
/// "message"}`, anything else as the same message [`response_url_message`] posts.
pub fn answer_body(reply: &PressReply) -> Value {
    match reply {
        PressReply::Refused(e) => {
            json!({"ok": false, "error": e.code(), "message": e.to_string()})
        }
        PressReply::Unavailable { reason } => {
            json!({"ok": false, "error": "unavailable", "message": reason})
        }
        other => response_url_message(other),
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP answer

/// The function URL's answer, rendered: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackAnswer {
    pub status: u16,
    pub body: Value,
}

impl SlackAnswer {
    /// The handler's answer as Slack receives it.
    pub fn from_response(response: &HttpResponse) -> Self {
        Self {
            status: response.status,
            body: answer_body(&response.reply),
        }
    }

    /// The 400 answer to a function URL event that cannot be read.
    pub fn malformed_event(e: &EventError) -> Self {
        Self {
            status: 400,
            body: json!({"ok": false, "error": "malformed", "message": e.to_string()}),
        }
    }

    /// The function URL response object.
    pub fn to_function_url(&self) -> Value {
        json!({
            "statusCode": self.status,
            "headers": {"content-type": "application/json"},
            "body": self.body.to_string(),
        })
    }
}

/// Handles one press ([`selfheal_service::press::handle`]) and renders its answer for Slack.
pub async fn answer_press<K: SigningSecret, R: Responder + ?Sized>(
    app: &App<K, R>,
    req: &HttpRequest,
    now_ms: EpochMillis,
) -> SlackAnswer {
    SlackAnswer::from_response(&handle(app, req, now_ms).await)
}

impl From<&HttpResponse> for SlackAnswer {
    fn from(response: &HttpResponse) -> Self {
        Self::from_response(response)
    }
}

// ---------------------------------------------------------------------------------------------
// Posting to response_url

/// Posts a rendered reply (Slack JSON) to a `response_url`. Best effort: failures are logged.
///
/// `dyn SlackResponder` is the press handler's [`Responder`]: each [`PressReply`] is rendered
/// with [`response_url_message`] first. Tests implement this to see exactly what Slack gets.
#[async_trait]
pub trait SlackResponder: Send + Sync {
    async fn respond(&self, response_url: &str, message: &Value);
}

#[async_trait]
impl Responder for dyn SlackResponder {
    async fn respond(&self, response_url: &str, reply: &PressReply) {
        SlackResponder::respond(self, response_url, &response_url_message(reply)).await;
    }
}

/// Posts replies to `response_url`s under one prefix (`https://hooks.slack.com/` by default);
/// other URLs are ignored. One attempt within [`SLACK_CALL_TIMEOUT`], through the shared Slack
/// client and POST helper; failures are logged without the URL.
pub struct HttpResponder {
    http: reqwest::Client,
    prefix: String,
}

impl HttpResponder {
    /// `http`: the shared client ([`super::http_client`]).
    pub fn new(http: reqwest::Client, prefix: impl Into<String>) -> Self {
        Self {
            http,
            prefix: prefix.into(),
        }
    }
}

fn judge_reply(status: StatusCode, _headers: &HeaderMap, body: &str) -> Verdict {
    if status.is_success() {
        Verdict::Done(body.to_owned())
    } else {
        Verdict::fail(format!("refused with HTTP {}", status.as_u16()))
    }
}

#[async_trait]
impl SlackResponder for HttpResponder {
    async fn respond(&self, response_url: &str, message: &Value) {
        if !response_url.starts_with(&self.prefix) {
            tracing::warn!("response_url is not under the configured prefix; no reply posted");
            return;
        }
        let policy = RetryPolicy::single(SLACK_CALL_TIMEOUT);
        if let Err(e) = post(
            &self.http,
            &policy,
            response_url,
            None,
            message,
            judge_reply,
        )
        .await
        {
            tracing::warn!(error = %e, "posting to response_url failed");
        }
    }
}

#[async_trait]
impl Responder for HttpResponder {
    async fn respond(&self, response_url: &str, reply: &PressReply) {
        SlackResponder::respond(self, response_url, &response_url_message(reply)).await;
    }
}
