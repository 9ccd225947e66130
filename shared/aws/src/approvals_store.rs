//! The AWS ports of the Slack press handler (`selfheal_service::press`): DynamoDB approval
//! records (the same table as the state store) and the SQS alert queue. Errors name the
//! operation, never a secret.
//!
//! Not the Slack ports: the user-group lookup is `slack::directory` ([`SlackDirectory`]) and the
//! replies to `response_url` are `slack::replies` ([`HttpResponder`]); both are re-exported here
//! under their old names.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_core::approval::{record_pk, ApprovalRecord, EpochMillis, RECORD_SK};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use selfheal_service::press::{ApprovalQueue, ApprovalStore, Inserted, PressError, SigningSecret};

use crate::error::port_error;
use crate::slack::Secret;

pub use crate::slack::directory::{SlackDirectory, GROUP_CACHE_TTL, SLACK_CALL_TIMEOUT};
pub use crate::slack::replies::HttpResponder;

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

/// The handler reads the signing secret through this; the value stays redacted everywhere else.
impl SigningSecret for Secret {
    fn signing_key(&self) -> &[u8] {
        self.expose().as_bytes()
    }
}
