//! Handling one Run / Skip press from Slack (the `slack-approvals` function's request path):
//! the function receives Slack's interactivity payloads for runbooks in mode `approve` and puts
//! the decision on the alert queue, where the same engine resumes the `awaiting-approval` claim
//! with every guard. (The engine's side of approvals is `service::approvals`, a different thing.)
//!
//! [`handle`] is the whole request path, over four small traits so tests use fakes:
//! [`ApprovalStore`] (the idempotency record in DynamoDB), [`ApprovalQueue`] (SQS),
//! [`Directory`] (Slack user-group membership) and [`Responder`] (posts to the payload's
//! `response_url`). The pure checks live in [`selfheal_core::approval`]; the real adapters in
//! `selfheal_aws::approvals_store`.
//!
//! Order of checks, each answering a clear status and enqueueing nothing when it fails:
//! signature and age (401) → payload and action (400) → runbook still in mode `approve` (403) →
//! expiry (410) → allow list (403) → one conditional record per identity → send → 200.
//!
//! Slack ignores the body of the answer to a `block_actions` request, so the message is replaced
//! (buttons removed, "Approved by <@U…> — running" added) by posting the same reply to the
//! payload's `response_url`; the 200 answer carries it too. The signing secret and the raw
//! signature are never logged, and neither is `response_url` (it is a capability).
//!
//! What this module is not: a Slack renderer. The answer and the replies are a semantic
//! [`PressReply`] (refused, unavailable, decided, already decided, in progress); the Slack JSON
//! of each is built by `selfheal_aws::slack::replies`, so this crate stays free of Block Kit,
//! HTTP and AWS.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use selfheal_core::approval::{
    approval_message, check_expiry, parse_interaction, parse_press, verify_signature, AllowList,
    Approval, ApprovalError, ApprovalRecord, Decision, EpochMillis, GroupMembers, Press,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use selfheal_core::{claim_id, Mode, RunbookMap};
use serde_json::Value;

use crate::ports::PortError;

/// Why a port of the press handler failed. Its text is what the 503 answer and the log show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PressError {
    /// An AWS call failed (already classified transient or permanent).
    #[error(transparent)]
    Port(#[from] PortError),
    /// The stored approval record does not decode.
    #[error("the approval record cannot be read: {0}")]
    UnreadableRecord(String),
    /// The approval record does not encode as an item.
    #[error("the approval record cannot be written: {0}")]
    UnwritableRecord(String),
    /// The record existed at the insert but was gone at the read (a failed send freed it).
    #[error("the approval record changed while it was read; press again")]
    RecordChanged,
    /// Not a Slack user-group id (`S…`).
    #[error("{0:?} is not a Slack user-group id")]
    NotAGroup(String),
    /// A call to Slack's Web API failed; the text names the method, never the token.
    #[error("{0}")]
    Slack(String),
}

/// The Slack signing secret, as the handler reads it. Implemented by `selfheal_aws::slack::Secret`
/// (in `selfheal_aws::approvals_store`) and by `String` (tests).
pub trait SigningSecret: Send + Sync {
    /// The secret's bytes. Never log, format or store what this returns.
    fn signing_key(&self) -> &[u8];
}

impl SigningSecret for String {
    fn signing_key(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A record without `queued_at_ms` whose latest send attempt is older than this was interrupted
/// (crash or timeout between the record and the send): the next press sends it again.
pub const STALE_RECORD_MS: EpochMillis = 60_000;

// ---------------------------------------------------------------------------------------------
// Ports

/// What a conditional insert found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// This press is the decision.
    Won,
    /// A decision was recorded before.
    Exists(Box<ApprovalRecord>),
}

/// The approval records (`pk = approval#<identity>`, `sk = approval`).
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Writes `record` only if no record exists for its identity (`attribute_not_exists(pk)`),
    /// otherwise returns the stored one (consistent read).
    async fn insert(&self, record: &ApprovalRecord) -> Result<Inserted, PressError>;
    /// Marks the record of `press_id` as queued.
    async fn mark_queued(
        &self,
        identity: &str,
        press_id: &str,
        at_ms: EpochMillis,
    ) -> Result<(), PressError>;
    /// Deletes the record of `press_id` if it was not queued (the send failed: free the slot).
    async fn remove_unqueued(&self, identity: &str, press_id: &str) -> Result<(), PressError>;
    /// Takes over an interrupted record: sets `resent_at_ms = now` only if it is still unqueued
    /// and nobody else took it over since `stale` was read. `true` when this caller owns the send.
    async fn take_over(
        &self,
        stale: &ApprovalRecord,
        now_ms: EpochMillis,
    ) -> Result<bool, PressError>;
}

/// The alert queue.
#[async_trait]
pub trait ApprovalQueue: Send + Sync {
    async fn send(&self, body: &str) -> Result<(), PressError>;
}

/// Slack user-group membership (`usergroups.users.list`).
#[async_trait]
pub trait Directory: Send + Sync {
    /// The user ids in `group`.
    async fn members(&self, group: &str) -> Result<Vec<String>, PressError>;
}

/// Posts a reply to an interaction's `response_url` (rendered for Slack by the adapter). Best
/// effort: failures are logged.
#[async_trait]
pub trait Responder: Send + Sync {
    async fn respond(&self, response_url: &str, reply: &PressReply);
}

// ---------------------------------------------------------------------------------------------
// HTTP in and out

/// The request as the handler sees it: lower-case header names and the raw body bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Reads a Lambda function URL (payload format 2.0) event: `headers`, `body`,
    /// `isBase64Encoded`.
    pub fn from_function_url_event(event: &Value) -> Result<Self, EventError> {
        let headers = event
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let raw = event
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let body = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(EventError::BodyNotBase64)?
        } else {
            raw.as_bytes().to_vec()
        };
        Ok(Self { headers, body })
    }
}

/// Why a function URL event could not be read. Its text is the 400 answer's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// `isBase64Encoded` is true but the body does not decode.
    #[error("the body is not valid base64: {0}")]
    BodyNotBase64(base64::DecodeError),
}

/// What the handler answers, in its own terms; `selfheal_aws::slack::replies` renders it as the
/// HTTP answer and as the message posted to `response_url`.
#[derive(Debug, Clone, PartialEq)]
pub enum PressReply {
    /// The request was refused (signature, payload, runbook, expiry, allow list): the HTTP
    /// answer names the refusal; the presser (when authenticated) is told why, privately.
    Refused(ApprovalError),
    /// A dependency failed (DynamoDB, SQS, Slack's group API): nothing was run, press again.
    /// `reason` is for the HTTP answer and the log, not for the presser.
    Unavailable { reason: String },
    /// The decision stands (this press, or the first press whose send this one completed): the
    /// message is replaced, its buttons removed. `original_blocks`: the message as Slack sent it.
    Decided {
        decision: Decision,
        user_id: String,
        original_blocks: Option<Vec<Value>>,
    },
    /// Someone decided before: the presser hears who, privately.
    AlreadyDecided { decision: Decision, user_id: String },
    /// The same press is being recorded by another request: nothing more to do.
    InProgress,
}

impl PressReply {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Refused(e) => e.status(),
            Self::Unavailable { .. } => 503,
            Self::Decided { .. } | Self::AlreadyDecided { .. } | Self::InProgress => 200,
        }
    }
}

/// The answer: a status and the reply it carries (rendered for Slack by the adapter).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub reply: PressReply,
}

impl From<PressReply> for HttpResponse {
    fn from(reply: PressReply) -> Self {
        Self {
            status: reply.status(),
            reply,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The handler

/// Everything [`handle`] needs, built once per process.
///
/// `K` is the signing secret's type (`selfheal_aws::slack::Secret` in the function); `R` the
/// responder's (the function uses `selfheal_aws::slack::replies::SlackResponder`, which takes
/// the rendered Slack JSON).
pub struct App<K, R: ?Sized = dyn Responder> {
    pub signing_secret: K,
    pub runbooks: Arc<RunbookMap>,
    /// A user group whose members may approve every runbook in mode `approve`.
    pub default_group: Option<String>,
    /// How long an approval request stays open (default 30 minutes).
    pub ttl_ms: EpochMillis,
    pub store: Arc<dyn ApprovalStore>,
    pub queue: Arc<dyn ApprovalQueue>,
    /// `None`: no Slack token configured, so group membership cannot be checked (groups then
    /// allow nobody; users listed by id still may approve).
    pub directory: Option<Arc<dyn Directory>>,
    pub responder: Arc<R>,
}

/// Why an authenticated, well-formed request was not accepted.
enum Refusal {
    Client(ApprovalError),
    /// A dependency failed (DynamoDB, SQS, Slack's group API): press again.
    Unavailable(String),
}

impl Refusal {
    fn unavailable(e: PressError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<ApprovalError> for Refusal {
    fn from(e: ApprovalError) -> Self {
        Self::Client(e)
    }
}

/// Handles one request from Slack at `now_ms`.
pub async fn handle<K: SigningSecret, R: Responder + ?Sized>(
    app: &App<K, R>,
    req: &HttpRequest,
    now_ms: EpochMillis,
) -> HttpResponse {
    if let Err(e) = verify_signature(
        app.signing_secret.signing_key(),
        req.header(TIMESTAMP_HEADER),
        req.header(SIGNATURE_HEADER),
        &req.body,
        now_ms,
    ) {
        tracing::warn!(code = e.code(), reason = %e, "refused a request that is not validly signed by Slack");
        return PressReply::Refused(e).into();
    }
    let press = match parse_press(&req.body) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(code = e.code(), reason = %e, "refused a signed request");
            let reply = PressReply::Refused(e);
            if let Ok(i) = parse_interaction(&req.body) {
                respond(app, i.response_url.as_deref(), &reply).await;
            }
            return reply.into();
        }
    };
    let claim = claim_id(&press.button.identity);
    match decide(app, &press, now_ms).await {
        Ok((reply, outcome)) => {
            tracing::info!(
                claim = %claim,
                key = %press.button.key,
                user = %press.interaction.user_id,
                decision = press.decision.as_str(),
                outcome,
                "approval press handled"
            );
            respond(app, press.interaction.response_url.as_deref(), &reply).await;
            reply.into()
        }
        Err(Refusal::Client(e)) => {
            tracing::warn!(
                claim = %claim,
                key = %press.button.key,
                user = %press.interaction.user_id,
                code = e.code(),
                reason = %e,
                "approval press refused"
            );
            let reply = PressReply::Refused(e);
            respond(app, press.interaction.response_url.as_deref(), &reply).await;
            reply.into()
        }
        Err(Refusal::Unavailable(why)) => {
            tracing::error!(claim = %claim, key = %press.button.key, reason = %why, "approval press could not be handled");
            let reply = PressReply::Unavailable { reason: why };
            respond(app, press.interaction.response_url.as_deref(), &reply).await;
            reply.into()
        }
    }
}

async fn respond<K, R: Responder + ?Sized>(app: &App<K, R>, url: Option<&str>, reply: &PressReply) {
    if let Some(url) = url {
        app.responder.respond(url, reply).await;
    }
}

/// The checks after authentication, the record and the send. Returns the reply and a word for
/// the log (`queued`, `duplicate`, `already-decided`, `in-progress`, `resent`).
async fn decide<K, R: ?Sized>(
    app: &App<K, R>,
    press: &Press,
    now_ms: EpochMillis,
) -> Result<(PressReply, &'static str), Refusal> {
    let (role, alert) = press.button.role_and_alert();
    let entry = match app.runbooks.lookup(role, alert) {
        Some((_, entry)) if entry.mode == Mode::Approve => entry,
        _ => {
            return Err(ApprovalError::NotApprovable {
                key: press.button.key.clone(),
            }
            .into())
        }
    };
    let expires_at_ms = check_expiry(press, app.ttl_ms, now_ms)?;
    let allow = AllowList::new(&entry.approvers, app.default_group.as_deref());
    let user = press.interaction.user_id.as_str();
    let members = if allow.lists_user(user) {
        GroupMembers::new()
    } else {
        group_members(app, &allow, user).await?
    };
    let allowed_by = allow.check(user, &press.button.key, &members)?;

    let approval = Approval::from_press(press, &allowed_by, expires_at_ms, now_ms);
    let record = ApprovalRecord::from_approval(&approval);
    let decided = |record: &ApprovalRecord| PressReply::Decided {
        decision: record.decision,
        user_id: record.user_id.clone(),
        original_blocks: press.interaction.message_blocks.clone(),
    };
    let already_decided = |record: &ApprovalRecord| PressReply::AlreadyDecided {
        decision: record.decision,
        user_id: record.user_id.clone(),
    };
    match app
        .store
        .insert(&record)
        .await
        .map_err(Refusal::unavailable)?
    {
        Inserted::Won => {
            if let Err(e) = send(app, &approval, now_ms).await {
                if let Err(e2) = app
                    .store
                    .remove_unqueued(&record.identity, &record.press_id)
                    .await
                {
                    tracing::error!(reason = %e2, "could not free the approval record after a failed send; the next press after the stale delay takes it over");
                }
                return Err(Refusal::unavailable(e));
            }
            Ok((decided(&record), "queued"))
        }
        Inserted::Exists(existing) => {
            let same_press = existing.press_id == record.press_id;
            if existing.queued_at_ms.is_none()
                && now_ms - existing.last_attempt_ms() > STALE_RECORD_MS
            {
                if app
                    .store
                    .take_over(&existing, now_ms)
                    .await
                    .map_err(Refusal::unavailable)?
                {
                    // The first press's decision stands; this press only completes its send.
                    send(app, &existing.to_approval(), now_ms)
                        .await
                        .map_err(Refusal::unavailable)?;
                    return Ok((decided(&existing), "resent"));
                }
                return Ok((already_decided(&existing), "already-decided"));
            }
            if same_press && existing.queued_at_ms.is_some() {
                // A retry or replay of the press that won: same answer, nothing sent again.
                return Ok((decided(&existing), "duplicate"));
            }
            if same_press {
                return Ok((PressReply::InProgress, "in-progress"));
            }
            Ok((already_decided(&existing), "already-decided"))
        }
    }
}

/// Sends the approval and marks its record as queued. A failure to mark is only logged: the
/// message is on the queue and the engine deduplicates approvals by the claim's state.
async fn send<K, R: ?Sized>(
    app: &App<K, R>,
    approval: &Approval,
    now_ms: EpochMillis,
) -> Result<(), PressError> {
    app.queue.send(&approval_message(approval)).await?;
    if let Err(e) = app
        .store
        .mark_queued(&approval.identity, &approval.press_id, now_ms)
        .await
    {
        tracing::warn!(reason = %e, "approval queued but its record could not be marked queued");
    }
    Ok(())
}

/// Looks up the allowed groups one by one, stopping at the first that has the user.
async fn group_members<K, R: ?Sized>(
    app: &App<K, R>,
    allow: &AllowList<'_>,
    user: &str,
) -> Result<GroupMembers, Refusal> {
    let mut members = GroupMembers::new();
    let groups = allow.groups();
    if groups.is_empty() {
        return Ok(members);
    }
    let Some(directory) = &app.directory else {
        tracing::warn!("approver groups are configured but no Slack token is: group membership cannot be checked, so groups allow nobody");
        return Ok(members);
    };
    for g in groups {
        let list = directory
            .members(g)
            .await
            .map_err(|e| Refusal::Unavailable(format!("Slack user group {g}: {e}")))?;
        let found = list.iter().any(|u| u == user);
        members.insert(g.to_owned(), list);
        if found {
            break;
        }
    }
    Ok(members)
}
