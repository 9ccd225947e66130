//! The stored decision: [`ApprovalRecord`] and its key layout
//! (`pk = approval#<identity>`, `sk = approval`).

use serde::{Deserialize, Serialize};

use super::{Approval, Decision, EpochMillis, FORMAT_VERSION};

/// Sort key of the approval record; its partition key is [`record_pk`].
pub const RECORD_SK: &str = "approval";

/// The partition key of the approval record of `identity`.
pub fn record_pk(identity: &str) -> String {
    format!("approval#{identity}")
}

/// The stored decision for one identity (`pk = approval#<identity>`, `sk = approval`): written
/// once with `attribute_not_exists(pk)`, so exactly one press wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub identity: String,
    pub key: String,
    pub decision: Decision,
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub allowed_by: String,
    pub press_id: String,
    #[serde(default)]
    pub action_ts: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub message_ts: Option<String>,
    pub requested_at_ms: EpochMillis,
    pub expires_at_ms: EpochMillis,
    pub pressed_at_ms: EpochMillis,
    /// Set once the approval is on the queue. A record without it whose latest send attempt
    /// (`resent_at_ms`, else `pressed_at_ms`) is older than a minute was interrupted between the
    /// record and the send; the next press takes it over and sends *this* decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at_ms: Option<EpochMillis>,
    /// When a later press took an interrupted record over to send it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resent_at_ms: Option<EpochMillis>,
    /// DynamoDB TTL (epoch seconds).
    pub expires_at: i64,
}

/// How long an approval record is kept.
pub const RECORD_TTL_SECONDS: i64 = 30 * 86_400;

impl ApprovalRecord {
    /// The record of an accepted approval (not queued yet).
    pub fn from_approval(a: &Approval) -> Self {
        Self {
            identity: a.identity.clone(),
            key: a.key.clone(),
            decision: a.decision,
            user_id: a.user_id.clone(),
            user_name: a.user_name.clone(),
            allowed_by: a.allowed_by.clone(),
            press_id: a.press_id.clone(),
            action_ts: a.action_ts.clone(),
            channel_id: a.channel_id.clone(),
            message_ts: a.message_ts.clone(),
            requested_at_ms: a.requested_at_ms,
            expires_at_ms: a.expires_at_ms,
            pressed_at_ms: a.pressed_at_ms,
            queued_at_ms: None,
            resent_at_ms: None,
            expires_at: a.pressed_at_ms.div_euclid(1000) + RECORD_TTL_SECONDS,
        }
    }

    /// The time of the latest attempt to send this record's approval.
    pub fn last_attempt_ms(&self) -> EpochMillis {
        self.resent_at_ms
            .unwrap_or(self.pressed_at_ms)
            .max(self.pressed_at_ms)
    }

    /// The approval message this record stands for (used when a retry re-sends it).
    pub fn to_approval(&self) -> Approval {
        Approval {
            version: FORMAT_VERSION,
            identity: self.identity.clone(),
            key: self.key.clone(),
            decision: self.decision,
            user_id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            allowed_by: self.allowed_by.clone(),
            action_ts: self.action_ts.clone(),
            press_id: self.press_id.clone(),
            channel_id: self.channel_id.clone(),
            message_ts: self.message_ts.clone(),
            requested_at_ms: self.requested_at_ms,
            expires_at_ms: self.expires_at_ms,
            pressed_at_ms: self.pressed_at_ms,
        }
    }
}
