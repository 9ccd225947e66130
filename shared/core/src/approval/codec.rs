//! The [`Approval`] the function puts on the alert queue for the engine, and its codec
//! ([`approval_message`], [`parse_approval`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{is_user_id, AllowedBy, ApprovalRecord, Decision, EpochMillis, Press, FORMAT_VERSION};

/// The key of the queue message's single top-level field.
pub const MESSAGE_FIELD: &str = "selfheal_approval";

/// A decision put on the alert queue for the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The alert identity: the engine resumes `claim#<identity>`.
    pub identity: String,
    /// The alert's `ROLE:ALERT` key, as the button carried it (informational: the engine uses
    /// its own stored claim).
    pub key: String,
    pub decision: Decision,
    /// Who pressed (a Slack user id) and their handle.
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    /// How the user was allowed: `user` or `group:S…`.
    #[serde(default)]
    pub allowed_by: String,
    /// Slack's `action_ts` of the press.
    #[serde(default)]
    pub action_ts: Option<String>,
    /// Identifies the press ([`press_id`](super::press_id)); equals the stored
    /// [`ApprovalRecord::press_id`].
    pub press_id: String,
    /// Where the buttons were: results go in this message's thread.
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub message_ts: Option<String>,
    pub requested_at_ms: EpochMillis,
    /// The effective expiry ([`check_expiry`](super::check_expiry)); the press happened before it.
    pub expires_at_ms: EpochMillis,
    /// When the function accepted the press.
    pub pressed_at_ms: EpochMillis,
}

impl Approval {
    /// The approval for an accepted press.
    pub fn from_press(
        press: &Press,
        allowed_by: &AllowedBy,
        expires_at_ms: EpochMillis,
        now_ms: EpochMillis,
    ) -> Self {
        let i = &press.interaction;
        Self {
            version: FORMAT_VERSION,
            identity: press.button.identity.clone(),
            key: press.button.key.clone(),
            decision: press.decision,
            user_id: i.user_id.clone(),
            user_name: i.user_name.clone(),
            allowed_by: allowed_by.describe(),
            action_ts: i.action_ts.clone(),
            press_id: press.press_id(),
            channel_id: i.channel_id.clone(),
            message_ts: Some(i.message_ts.clone()),
            requested_at_ms: press.button.requested_at_ms,
            expires_at_ms,
            pressed_at_ms: now_ms,
        }
    }

    /// Whether this message agrees with the stored record (same identity, press, decision and
    /// user). The engine should resume only an approval that matches its record, because the
    /// queue is writable by more principals than the record is.
    pub fn matches_record(&self, record: &ApprovalRecord) -> bool {
        self.identity == record.identity
            && self.press_id == record.press_id
            && self.decision == record.decision
            && self.user_id == record.user_id
    }
}

/// The SQS body for `approval`: `{"selfheal_approval": {…}}`.
pub fn approval_message(approval: &Approval) -> String {
    json!({ MESSAGE_FIELD: approval }).to_string()
}

/// Recognises a queue body written by [`approval_message`]. `None`: the body is not an
/// approval (read it as an alert). `Some(Err)`: it is one but cannot be used (record it as
/// `invalid`; never run anything for it).
pub fn parse_approval(body: &str) -> Option<Result<Approval, String>> {
    let trimmed = body.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    let value: Value = serde_json::from_str(trimmed).ok()?;
    let inner = value.as_object()?.get(MESSAGE_FIELD)?;
    Some(read_approval(inner))
}

fn read_approval(inner: &Value) -> Result<Approval, String> {
    let version = inner.get("version").and_then(Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(format!(
            "approval message version {} is not supported (expected {FORMAT_VERSION})",
            inner
                .get("version")
                .map_or_else(|| "missing".to_owned(), Value::to_string)
        ));
    }
    let a: Approval =
        serde_json::from_value(inner.clone()).map_err(|e| format!("approval message: {e}"))?;
    if a.identity.is_empty() {
        return Err("approval message names no identity".to_owned());
    }
    if !is_user_id(&a.user_id) {
        return Err("approval message: user_id is not a Slack user id".to_owned());
    }
    if a.press_id.is_empty() {
        return Err("approval message has no press_id".to_owned());
    }
    if a.pressed_at_ms > a.expires_at_ms {
        return Err("approval message was pressed after it expired".to_owned());
    }
    Ok(a)
}
