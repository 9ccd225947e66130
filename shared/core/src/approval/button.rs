//! The two buttons: [`Decision`] (Run or Skip, by `action_id`) and the [`ButtonValue`] both
//! carry.

use serde::{Deserialize, Serialize};

use super::{ApprovalError, EpochMillis, FORMAT_VERSION};

/// `action_id` of the Run button.
pub const ACTION_RUN: &str = "selfheal_run";
/// `action_id` of the Skip button.
pub const ACTION_SKIP: &str = "selfheal_skip";
/// Slack: a button's `value` is at most 2000 characters.
pub const MAX_BUTTON_VALUE_CHARS: usize = 2000;

/// Run or Skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Run,
    Skip,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Skip => "skip",
        }
    }

    /// The decision a button's `action_id` stands for.
    pub fn from_action_id(action_id: &str) -> Option<Self> {
        match action_id {
            ACTION_RUN => Some(Self::Run),
            ACTION_SKIP => Some(Self::Skip),
            _ => None,
        }
    }

    pub fn action_id(self) -> &'static str {
        match self {
            Self::Run => ACTION_RUN,
            Self::Skip => ACTION_SKIP,
        }
    }

    /// Past tense for people: "approved", "skipped".
    pub fn past_tense(self) -> &'static str {
        match self {
            Self::Run => "approved",
            Self::Skip => "skipped",
        }
    }
}

/// What both buttons carry, as compact JSON (`{"v":1,"id":…,"key":…,"req":…,"exp":…}`).
/// It names the claim and the runbook key; it is never enough to authorize a press.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonValue {
    /// [`FORMAT_VERSION`].
    #[serde(rename = "v")]
    pub version: u32,
    /// The alert identity (the claim key `claim#<identity>`).
    #[serde(rename = "id")]
    pub identity: String,
    /// The alert's own `ROLE:ALERT` key (the runbook is looked up by precedence).
    pub key: String,
    /// When the engine asked for approval.
    #[serde(rename = "req")]
    pub requested_at_ms: EpochMillis,
    /// When the request expires (the engine sets `requested_at_ms + TTL`).
    #[serde(rename = "exp")]
    pub expires_at_ms: EpochMillis,
}

impl ButtonValue {
    /// A value for a fresh request: expires `ttl_ms` after `requested_at_ms`.
    pub fn new(
        identity: &str,
        key: &str,
        requested_at_ms: EpochMillis,
        ttl_ms: EpochMillis,
    ) -> Self {
        Self {
            version: FORMAT_VERSION,
            identity: identity.to_owned(),
            key: key.to_owned(),
            requested_at_ms,
            expires_at_ms: requested_at_ms.saturating_add(ttl_ms),
        }
    }

    /// The button `value` string; an error when it would exceed Slack's 2000 characters.
    pub fn encode(&self) -> Result<String, ApprovalError> {
        let s = serde_json::to_string(self).map_err(|e| ApprovalError::Malformed(e.to_string()))?;
        if s.chars().count() > MAX_BUTTON_VALUE_CHARS {
            return Err(ApprovalError::Malformed(format!(
                "the button value would be {} characters (Slack allows {MAX_BUTTON_VALUE_CHARS})",
                s.chars().count()
            )));
        }
        Ok(s)
    }

    /// Reads a button `value`.
    pub fn decode(value: &str) -> Result<Self, ApprovalError> {
        let v: Self = serde_json::from_str(value).map_err(|e| {
            ApprovalError::Malformed(format!("the button value is not readable: {e}"))
        })?;
        if v.version != FORMAT_VERSION {
            return Err(ApprovalError::Malformed(format!(
                "the button value has version {} (expected {FORMAT_VERSION})",
                v.version
            )));
        }
        if v.identity.is_empty() {
            return Err(ApprovalError::Malformed(
                "the button value names no identity".to_owned(),
            ));
        }
        let Some((role, alert)) = v.key.split_once(':') else {
            return Err(ApprovalError::Malformed(format!(
                "the button value's key {:?} is not ROLE:ALERT",
                v.key
            )));
        };
        if !is_key_part(role) || !is_key_part(alert) {
            return Err(ApprovalError::Malformed(format!(
                "the button value's key {:?} is not ROLE:ALERT",
                v.key
            )));
        }
        Ok(v)
    }

    /// The key's role and alert (valid after [`ButtonValue::decode`]).
    pub fn role_and_alert(&self) -> (&str, &str) {
        self.key.split_once(':').unwrap_or((self.key.as_str(), ""))
    }
}

fn is_key_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}
