//! Human approval from Slack (runbook `mode: "approve"`): pure building blocks shared by the
//! `slack-approvals` function (which receives the button press) and the engine (which resumes
//! the claim that is `awaiting-approval`).
//!
//! The flow:
//!
//! 1. The engine runs the precheck, records `awaiting-approval` and announces the alert with the
//!    two buttons of [`actions_block`]: **Run** (`action_id` [`ACTION_RUN`]) and **Skip**
//!    ([`ACTION_SKIP`]). Both carry the same [`ButtonValue`] (identity, key, requested and expiry
//!    time) as compact JSON.
//! 2. Slack posts a `block_actions` payload to the function URL. The function checks, in order:
//!    the request signature and its age ([`verify_signature`], 401), the payload
//!    ([`parse_press`], 400), the runbook (403 when no runbook in mode `approve` matches the key),
//!    the expiry ([`check_expiry`], 410), and the user ([`AllowList::check`], 403). The button
//!    value is never trusted alone: its expiry is capped by the Slack message's own timestamp
//!    plus the TTL, and the approvers come from the reviewed runbook, not from the button.
//! 3. The press is recorded once ([`ApprovalRecord`] at `pk = approval#<identity>`,
//!    `sk = approval`, conditional put) and then the [`Approval`] is sent to the alert queue as
//!    [`approval_message`]; the engine recognises it with [`parse_approval`].
//!
//! Nothing here reads a clock: every time is an argument (epoch milliseconds, or seconds where
//! Slack speaks seconds).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Milliseconds since the Unix epoch.
pub type EpochMillis = i64;

/// The header carrying Slack's signature (`v0=<hex>`); header names are case-insensitive.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The header carrying the request time (epoch seconds) that the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The only signature version Slack uses.
pub const SIGNATURE_VERSION: &str = "v0";
/// Requests whose timestamp is further than this from now are rejected (replay protection).
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;
/// How long an approval request stays open by default.
pub const DEFAULT_TTL_MS: EpochMillis = 30 * 60 * 1000;
/// `action_id` of the Run button.
pub const ACTION_RUN: &str = "selfheal_run";
/// `action_id` of the Skip button.
pub const ACTION_SKIP: &str = "selfheal_skip";
/// `block_id` of the actions block holding both buttons (removed when the message is replaced).
pub const ACTIONS_BLOCK_ID: &str = "selfheal_approval";
/// Version of [`ButtonValue`] and of the queue message.
pub const FORMAT_VERSION: u32 = 1;
/// Slack: a button's `value` is at most 2000 characters.
pub const MAX_BUTTON_VALUE_CHARS: usize = 2000;
/// The key of the queue message's single top-level field.
pub const MESSAGE_FIELD: &str = "selfheal_approval";
/// Sort key of the approval record; its partition key is [`record_pk`].
pub const RECORD_SK: &str = "approval";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

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

// ---------------------------------------------------------------------------------------------
// Signature

/// Slack's signature of `body` sent at `timestamp`: `v0=` + hex(HMAC-SHA256(secret,
/// `v0:<timestamp>:<body>`)). For tests and local stand-ins; the function uses
/// [`verify_signature`].
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let Some(mac) = base_mac(secret, timestamp, body) else {
        // Unreachable (HMAC takes keys of any length); a bare prefix never verifies.
        return format!("{SIGNATURE_VERSION}=");
    };
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(3 + digest.len() * 2);
    out.push_str(SIGNATURE_VERSION);
    out.push('=');
    for b in digest.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The MAC over `v0:<timestamp>:<body>`. `None` only if the key were refused, which HMAC never
/// does (it takes keys of any length).
fn base_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(SIGNATURE_VERSION.as_bytes());
    mac.update(b":");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

/// Verifies a request from Slack. `timestamp` and `signature` are the raw header values (absent
/// → 401), `body` the raw body exactly as received, `now_ms` the current time. The timestamp's
/// age is checked first (|now − timestamp| ≤ [`MAX_CLOCK_SKEW_SECONDS`]), then the signature, in
/// constant time. Returns the request timestamp in seconds.
pub fn verify_signature(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_ms: EpochMillis,
) -> Result<i64, ApprovalError> {
    let timestamp = timestamp
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApprovalError::Unsigned(format!("no {TIMESTAMP_HEADER} header")))?;
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApprovalError::Unsigned(format!("no {SIGNATURE_HEADER} header")))?;
    if timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApprovalError::Unsigned(format!(
            "{TIMESTAMP_HEADER} is not a number of seconds"
        )));
    }
    let ts: i64 = timestamp.parse().map_err(|_| {
        ApprovalError::Unsigned(format!("{TIMESTAMP_HEADER} is not a number of seconds"))
    })?;
    let skew = now_ms.div_euclid(1000) - ts;
    if skew.abs() > MAX_CLOCK_SKEW_SECONDS {
        return Err(ApprovalError::StaleTimestamp { skew_seconds: skew });
    }
    let hex = signature
        .strip_prefix(SIGNATURE_VERSION)
        .and_then(|s| s.strip_prefix('='))
        .ok_or(ApprovalError::BadSignature)?;
    let expected = decode_hex(hex).ok_or(ApprovalError::BadSignature)?;
    base_mac(secret, timestamp, body)
        .ok_or(ApprovalError::BadSignature)?
        .verify_slice(&expected)
        .map_err(|_| ApprovalError::BadSignature)?;
    Ok(ts)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Buttons

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

/// The Block Kit `actions` block with the Run (primary, with a confirmation dialog) and Skip
/// buttons, both carrying `value`. The engine's announcement appends it to an
/// `awaiting-approval` message.
pub fn actions_block(value: &ButtonValue) -> Result<Value, ApprovalError> {
    let encoded = value.encode()?;
    let text = |t: &str| json!({"type": "plain_text", "text": t});
    Ok(json!({
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_RUN,
                "style": "primary",
                "text": text("Run"),
                "value": encoded,
                "confirm": {
                    "title": text("Run the runbook?"),
                    "text": {"type": "mrkdwn", "text": "selfheal will run the runbook's commands on this one instance. Every guard still applies (kill switch, live alarm, budget, capacity, tag check)."},
                    "confirm": text("Run"),
                    "deny": text("Cancel"),
                },
            },
            {
                "type": "button",
                "action_id": ACTION_SKIP,
                "text": text("Skip"),
                "value": encoded,
            },
        ],
    }))
}

// ---------------------------------------------------------------------------------------------
// The interactivity payload

/// The parts of a `block_actions` payload the function uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub user_id: String,
    /// `user.username`, else `user.name`.
    pub user_name: Option<String>,
    pub team_id: Option<String>,
    pub action_id: String,
    pub value: String,
    /// `actions[0].action_ts`: Slack's time of this press (unique per press).
    pub action_ts: Option<String>,
    /// `container.message_ts`: the Slack message holding the buttons (its post time).
    pub message_ts: String,
    /// `channel.id`, else `container.channel_id`.
    pub channel_id: Option<String>,
    pub response_url: Option<String>,
    /// The original message's blocks, when Slack sent them.
    pub message_blocks: Option<Vec<Value>>,
}

/// Reads the `application/x-www-form-urlencoded` body Slack posts: a `payload` field holding a
/// `block_actions` JSON object with at least one action.
pub fn parse_interaction(body: &[u8]) -> Result<Interaction, ApprovalError> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApprovalError::Malformed("the body has no payload field".to_owned()))?;
    let p: Value = serde_json::from_str(&payload)
        .map_err(|e| ApprovalError::Malformed(format!("the payload is not JSON: {e}")))?;
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "block_actions" {
        return Err(ApprovalError::Malformed(format!(
            "payload type {kind:?} is not block_actions"
        )));
    }
    let text = |ptr: &str| p.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
    let user_id = text("/user/id")
        .ok_or_else(|| ApprovalError::Malformed("the payload has no user.id".to_owned()))?;
    if !is_user_id(&user_id) {
        return Err(ApprovalError::Malformed(
            "user.id is not a Slack user id (U…/W…)".to_owned(),
        ));
    }
    let action = p
        .pointer("/actions/0")
        .ok_or_else(|| ApprovalError::Malformed("the payload has no actions".to_owned()))?;
    let action_id = action
        .get("action_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApprovalError::Malformed("actions[0] has no action_id".to_owned()))?
        .to_owned();
    let value = action
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let message_ts = text("/container/message_ts").ok_or_else(|| {
        ApprovalError::Malformed(
            "the payload has no container.message_ts (not a message button)".to_owned(),
        )
    })?;
    Ok(Interaction {
        user_name: text("/user/username").or_else(|| text("/user/name")),
        team_id: text("/team/id").or_else(|| text("/user/team_id")),
        action_ts: action
            .get("action_ts")
            .and_then(Value::as_str)
            .map(str::to_owned),
        channel_id: text("/channel/id").or_else(|| text("/container/channel_id")),
        response_url: text("/response_url"),
        message_blocks: p
            .pointer("/message/blocks")
            .and_then(Value::as_array)
            .cloned(),
        user_id,
        action_id,
        value,
        message_ts,
    })
}

/// A Slack user id: `U…` or `W…`, upper-case letters and digits.
pub fn is_user_id(s: &str) -> bool {
    slack_id(s, &['U', 'W'])
}

/// A Slack user-group id: `S…`.
pub fn is_group_id(s: &str) -> bool {
    slack_id(s, &['S'])
}

fn slack_id(s: &str, first: &[char]) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && (3..=32).contains(&s.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// One button press: the interaction, the decision and the decoded button value.
#[derive(Debug, Clone, PartialEq)]
pub struct Press {
    pub decision: Decision,
    pub button: ButtonValue,
    pub interaction: Interaction,
}

impl Press {
    /// Identifies this press: the same Slack delivery (a retry or a replay) gives the same id,
    /// two clicks give two ids.
    pub fn press_id(&self) -> String {
        press_id(
            &self.interaction.user_id,
            self.interaction
                .action_ts
                .as_deref()
                .unwrap_or(&self.interaction.message_ts),
        )
    }
}

/// `<user_id>@<action_ts>`.
pub fn press_id(user_id: &str, action_ts: &str) -> String {
    format!("{user_id}@{action_ts}")
}

/// [`parse_interaction`], then the action id (only [`ACTION_RUN`] and [`ACTION_SKIP`]) and the
/// button value.
pub fn parse_press(body: &[u8]) -> Result<Press, ApprovalError> {
    let interaction = parse_interaction(body)?;
    let decision = Decision::from_action_id(&interaction.action_id)
        .ok_or_else(|| ApprovalError::UnknownAction(interaction.action_id.clone()))?;
    let button = ButtonValue::decode(&interaction.value)?;
    Ok(Press {
        decision,
        button,
        interaction,
    })
}

// ---------------------------------------------------------------------------------------------
// Expiry

/// A Slack `ts` (`"1531420618.000200"`, seconds) in epoch milliseconds.
pub fn slack_ts_ms(ts: &str) -> Option<EpochMillis> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    if secs.is_empty() || secs.len() > 12 || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    Some(secs.parse::<i64>().ok()? * 1000 + millis)
}

/// When `press` expires: the button's `exp`, but never later than the Slack message's own
/// post time (`container.message_ts`, set by Slack) plus `ttl_ms` — so a value that claims a
/// later expiry gains nothing. Errors with 410 once `now_ms` is past it.
pub fn check_expiry(
    press: &Press,
    ttl_ms: EpochMillis,
    now_ms: EpochMillis,
) -> Result<EpochMillis, ApprovalError> {
    let posted = slack_ts_ms(&press.interaction.message_ts).ok_or_else(|| {
        ApprovalError::Malformed("container.message_ts is not a Slack timestamp".to_owned())
    })?;
    let expires = press
        .button
        .expires_at_ms
        .min(posted.saturating_add(ttl_ms));
    if now_ms > expires {
        return Err(ApprovalError::Expired {
            expired_at_ms: expires,
        });
    }
    Ok(expires)
}

// ---------------------------------------------------------------------------------------------
// Allow list

/// Who may press: the runbook's `approvers` (user ids and user-group ids) and, when configured,
/// one default user group. Neither → nobody (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowList<'a> {
    pub approvers: &'a [String],
    pub default_group: Option<&'a str>,
}

/// Why a user was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedBy {
    /// Listed by user id in the runbook's approvers.
    User,
    /// A member of this user group.
    Group(String),
}

impl AllowedBy {
    /// `user` or `group:S…`, as recorded.
    pub fn describe(&self) -> String {
        match self {
            Self::User => "user".to_owned(),
            Self::Group(g) => format!("group:{g}"),
        }
    }
}

/// Precomputed user-group membership: group id → member user ids. A group that is missing is
/// treated as having no members (fail closed).
pub type GroupMembers = BTreeMap<String, Vec<String>>;

impl<'a> AllowList<'a> {
    pub fn new(approvers: &'a [String], default_group: Option<&'a str>) -> Self {
        Self {
            approvers,
            default_group,
        }
    }

    /// Whether `user_id` is listed by id (no group lookup needed).
    pub fn lists_user(&self, user_id: &str) -> bool {
        is_user_id(user_id) && self.approvers.iter().any(|a| a == user_id)
    }

    /// The user groups whose members may press, in order, without duplicates.
    pub fn groups(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        let listed = self.approvers.iter().map(String::as_str);
        for g in listed.chain(self.default_group) {
            if is_group_id(g) && !out.contains(&g) {
                out.push(g);
            }
        }
        out
    }

    /// Allows `user_id` when listed, or a member of one of [`AllowList::groups`] in `members`;
    /// otherwise 403 naming `key`.
    pub fn check(
        &self,
        user_id: &str,
        key: &str,
        members: &GroupMembers,
    ) -> Result<AllowedBy, ApprovalError> {
        if self.lists_user(user_id) {
            return Ok(AllowedBy::User);
        }
        if is_user_id(user_id) {
            for g in self.groups() {
                if members
                    .get(g)
                    .is_some_and(|m| m.iter().any(|u| u == user_id))
                {
                    return Ok(AllowedBy::Group(g.to_owned()));
                }
            }
        }
        Err(ApprovalError::NotAllowed {
            user_id: user_id.to_owned(),
            key: key.to_owned(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The queue message and the record

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
    /// Identifies the press ([`press_id`]); equals the stored [`ApprovalRecord::press_id`].
    pub press_id: String,
    /// Where the buttons were: results go in this message's thread.
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub message_ts: Option<String>,
    pub requested_at_ms: EpochMillis,
    /// The effective expiry ([`check_expiry`]); the press happened before it.
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

// ---------------------------------------------------------------------------------------------
// Replies to Slack

/// "Approved by <@U…> — running" / "Skipped by <@U…> — nothing will run".
pub fn decision_text(decision: Decision, user_id: &str) -> String {
    match decision {
        Decision::Run => format!(":white_check_mark: Approved by <@{user_id}> — running"),
        Decision::Skip => format!(":fast_forward: Skipped by <@{user_id}> — nothing will run"),
    }
}

/// The friendly answer to a later press: "Already approved by <@U…>".
pub fn already_decided_text(record: &ApprovalRecord) -> String {
    format!(
        "Already {} by <@{}> — nothing more to do.",
        record.decision.past_tense(),
        record.user_id
    )
}

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
