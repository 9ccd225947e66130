//! [`ApprovalError`]: every reason a press is refused, with the HTTP status the function answers.

use super::signature::MAX_CLOCK_SKEW_SECONDS;
use super::EpochMillis;

/// Why a request was refused, each with the HTTP status the function answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// `X-Slack-Signature` or `X-Slack-Request-Timestamp` is missing or not readable.
    #[error("the request is not signed: {0}")]
    Unsigned(String),
    /// The signature does not match the body and timestamp.
    #[error("the request signature does not match")]
    BadSignature,
    /// The request is older (or newer) than [`MAX_CLOCK_SKEW_SECONDS`]: stale or replayed.
    #[error("the request timestamp is {skew_seconds} s away from now (at most {MAX_CLOCK_SKEW_SECONDS} s allowed): stale or replayed")]
    StaleTimestamp { skew_seconds: i64 },
    /// The user is neither listed in the runbook's approvers nor a member of an allowed group.
    #[error("user {user_id} may not approve {key}")]
    NotAllowed { user_id: String, key: String },
    /// No runbook in mode `approve` matches the key any more: nobody can approve it.
    #[error("no runbook in mode \"approve\" matches {key}: there is nothing to approve")]
    NotApprovable { key: String },
    /// The approval request expired.
    #[error("the approval request expired at {expired_at_ms} (epoch ms)")]
    Expired { expired_at_ms: EpochMillis },
    /// A well-formed press of a button this function does not know.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// The body, payload or button value cannot be read.
    #[error("malformed request: {0}")]
    Malformed(String),
}

impl ApprovalError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unsigned(_) | Self::BadSignature | Self::StaleTimestamp { .. } => 401,
            Self::NotAllowed { .. } | Self::NotApprovable { .. } => 403,
            Self::Expired { .. } => 410,
            Self::UnknownAction(_) | Self::Malformed(_) => 400,
        }
    }

    /// A short machine-readable code for logs and response bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsigned(_) => "unsigned",
            Self::BadSignature => "bad_signature",
            Self::StaleTimestamp { .. } => "stale_timestamp",
            Self::NotAllowed { .. } => "not_allowed",
            Self::NotApprovable { .. } => "not_approvable",
            Self::Expired { .. } => "expired",
            Self::UnknownAction(_) => "unknown_action",
            Self::Malformed(_) => "malformed",
        }
    }

    /// Whether the request was authenticated before this error was found (only then may the
    /// function answer through the payload's `response_url`).
    pub fn after_authentication(&self) -> bool {
        self.status() != 401
    }
}
