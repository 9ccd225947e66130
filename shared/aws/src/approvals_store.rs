//! The real ports of the Slack press handler (`selfheal_service::press`): DynamoDB approval
//! records (the same table as the state store), the SQS alert queue, Slack's user-group API and
//! replies to `response_url`. Errors name the operation, never a secret or a `response_url`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_core::approval::{is_group_id, record_pk, ApprovalRecord, EpochMillis, RECORD_SK};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use serde_json::Value;

use selfheal_service::press::{
    ApprovalQueue, ApprovalStore, Directory, Inserted, PressError, Responder, SigningSecret,
};

use crate::error::port_error;
use crate::slack::Secret;

/// Each call to Slack (group lookup, `response_url`) gives up after this long, so the answer
/// stays well within Slack's 3 seconds.
pub const SLACK_CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// Group membership is cached this long per warm container.
pub const GROUP_CACHE_TTL: Duration = Duration::from_secs(60);

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Approval records in the state table: `pk = approval#<identity>`, `sk = approval`, every
/// [`ApprovalRecord`] field, TTL `expires_at`.
#[derive(Debug, Clone)]
pub struct DynamoApprovalStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoApprovalStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(identity: &str) -> Item {
        HashMap::from([
            ("pk".to_owned(), s(&record_pk(identity))),
            ("sk".to_owned(), s(RECORD_SK)),
        ])
    }

    /// The stored record of `identity` (consistent read).
    pub async fn get(&self, identity: &str) -> Result<Option<ApprovalRecord>, PressError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(identity)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb:GetItem", &e))?;
        match out.item {
            None => Ok(None),
            Some(item) => from_item(item)
                .map(Some)
                .map_err(|e| PressError::UnreadableRecord(e.to_string())),
        }
    }
}

#[async_trait]
impl ApprovalStore for DynamoApprovalStore {
    async fn insert(&self, record: &ApprovalRecord) -> Result<Inserted, PressError> {
        let mut item: Item =
            to_item(record).map_err(|e| PressError::UnwritableRecord(e.to_string()))?;
        item.extend(Self::key(&record.identity));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(Inserted::Won),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                match self.get(&record.identity).await? {
                    Some(existing) => Ok(Inserted::Exists(Box::new(existing))),
                    // Deleted in between (a failed send freed it): let the user press again.
                    None => Err(PressError::RecordChanged),
                }
            }
            Err(e) => Err(port_error("dynamodb:PutItem", &e).into()),
        }
    }

    async fn mark_queued(
        &self,
        identity: &str,
        press_id: &str,
        at_ms: EpochMillis,
    ) -> Result<(), PressError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(identity)))
            .update_expression("SET queued_at_ms = :t")
            .condition_expression("press_id = :p")
            .expression_attribute_values(":t", n(at_ms))
            .expression_attribute_values(":p", s(press_id))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:UpdateItem", &e))?;
        Ok(())
    }

    async fn remove_unqueued(&self, identity: &str, press_id: &str) -> Result<(), PressError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(identity)))
            .condition_expression("press_id = :p AND attribute_not_exists(queued_at_ms)")
            .expression_attribute_values(":p", s(press_id))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(port_error("dynamodb:DeleteItem", &e).into()),
        }
    }

    async fn take_over(
        &self,
        stale: &ApprovalRecord,
        now_ms: EpochMillis,
    ) -> Result<bool, PressError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&stale.identity)))
            .update_expression("SET resent_at_ms = :now")
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":p", s(&stale.press_id));
        req = match stale.resent_at_ms {
            None => req.condition_expression(
                "press_id = :p AND attribute_not_exists(queued_at_ms) AND attribute_not_exists(resent_at_ms)",
            ),
            Some(old) => req
                .condition_expression(
                    "press_id = :p AND attribute_not_exists(queued_at_ms) AND resent_at_ms = :old",
                )
                .expression_attribute_values(":old", n(old)),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(port_error("dynamodb:UpdateItem", &e).into()),
        }
    }
}

/// The alert queue (a standard SQS queue).
#[derive(Debug, Clone)]
pub struct SqsApprovalQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsApprovalQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl ApprovalQueue for SqsApprovalQueue {
    /// Keeps the client's standard SDK retries (table in `selfheal_aws::config`): a second copy
    /// of one approval, sent after a lost answer, is a `duplicate` for the engine.
    async fn send(&self, body: &str) -> Result<(), PressError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| port_error("sqs:SendMessage", &e))?;
        Ok(())
    }
}

/// `usergroups.users.list` with a bot token (scope `usergroups:read`), cached for
/// [`GROUP_CACHE_TTL`].
pub struct SlackDirectory {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl SlackDirectory {
    pub fn new(http: reqwest::Client, api_url: impl Into<String>, token: Secret) -> Self {
        Self {
            http,
            api_url: api_url.into().trim_end_matches('/').to_owned(),
            token,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, group: &str) -> Option<Vec<String>> {
        let cache = self.cache.lock().ok()?;
        let (at, members) = cache.get(group)?;
        (at.elapsed() < GROUP_CACHE_TTL).then(|| members.clone())
    }
}

#[async_trait]
impl Directory for SlackDirectory {
    async fn members(&self, group: &str) -> Result<Vec<String>, PressError> {
        if let Some(m) = self.cached(group) {
            return Ok(m);
        }
        if !is_group_id(group) {
            return Err(PressError::NotAGroup(group.to_owned()));
        }
        // A group id is upper-case letters and digits: nothing to escape in the query.
        let resp = self
            .http
            .get(format!(
                "{}/usergroups.users.list?usergroup={group}",
                self.api_url
            ))
            .bearer_auth(self.token.expose())
            .timeout(SLACK_CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                PressError::Slack(format!("usergroups.users.list failed: {}", e.without_url()))
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|_| {
            PressError::Slack(format!(
                "usergroups.users.list answered {status} with no JSON"
            ))
        })?;
        if body.get("ok").and_then(Value::as_bool) != Some(true) {
            let err = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return Err(PressError::Slack(format!(
                "usergroups.users.list answered {status}: {err}"
            )));
        }
        let members: Vec<String> = body
            .get("users")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(group.to_owned(), (Instant::now(), members.clone()));
        }
        Ok(members)
    }
}

/// Posts replies to `response_url`s under one prefix (`https://hooks.slack.com/` by default);
/// other URLs are ignored. Failures are logged without the URL.
pub struct HttpResponder {
    http: reqwest::Client,
    prefix: String,
}

impl HttpResponder {
    pub fn new(http: reqwest::Client, prefix: impl Into<String>) -> Self {
        Self {
            http,
            prefix: prefix.into(),
        }
    }
}

#[async_trait]
impl Responder for HttpResponder {
    async fn respond(&self, response_url: &str, message: &Value) {
        if !response_url.starts_with(&self.prefix) {
            tracing::warn!("response_url is not under the configured prefix; no reply posted");
            return;
        }
        match self
            .http
            .post(response_url)
            .json(message)
            .timeout(SLACK_CALL_TIMEOUT)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(status = %r.status(), "posting to response_url was refused"),
            Err(e) => tracing::warn!(error = %e.without_url(), "posting to response_url failed"),
        }
    }
}

/// The handler reads the signing secret through this; the value stays redacted everywhere else.
impl SigningSecret for Secret {
    fn signing_key(&self) -> &[u8] {
        self.expose().as_bytes()
    }
}
