//! [`SqsQueue`]: receive, delete and re-time messages of the alert queue (`selfheal serve`), and
//! [`Disposition`]: the one mapping from a processed record to what the queue does with it, used
//! by `serve` ([`SqsQueue::apply`]) and by the Lambda (partial batch response plus
//! `ChangeMessageVisibility` for capacity waits).

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use selfheal_service::ports::PortError;
use selfheal_service::RecordResult;
use std::time::Duration;

use crate::error::port_error;

/// DeleteMessageBatch takes at most this many entries.
const DELETES_PER_CALL: usize = 10;

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ApproximateReceiveCount` (1 on the first delivery; 1 when SQS did not say).
    pub receive_count: u32,
}

/// What becomes of one processed record in its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done (whatever the outcome): delete the message.
    Delete,
    /// Back to the queue; offered again when its visibility timeout ends.
    Return,
    /// Back to the queue, offered again after this long (`ChangeMessageVisibility`, capacity
    /// waits) instead of the visibility timeout.
    ReturnAfter(Duration),
}

impl Disposition {
    /// The disposition of an engine result.
    pub fn of(result: &RecordResult) -> Self {
        match (result.retry, result.retry_after) {
            (false, _) => Self::Delete,
            (true, None) => Self::Return,
            (true, Some(after)) => Self::ReturnAfter(after),
        }
    }

    /// True when the message goes back to the queue (in a Lambda: a batch item failure).
    pub fn returns(self) -> bool {
        !matches!(self, Self::Delete)
    }
}

/// `ChangeMessageVisibility` seconds for a wait (at most SQS's 12 hours).
fn visibility_seconds(after: Duration) -> i32 {
    i32::try_from(after.as_secs()).unwrap_or(43_200)
}

/// One SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Receives up to `max` (1..=10) messages, long-polling `wait_seconds` (0..=20);
    /// `visibility` overrides the queue's visibility timeout for these messages. The attempt and
    /// operation timeouts are lengthened by the wait (SQS holds the answer that long).
    pub async fn receive(
        &self,
        max: i32,
        wait_seconds: i32,
        visibility: Option<i32>,
    ) -> Result<Vec<QueueMessage>, PortError> {
        let wait = wait_seconds.clamp(0, 20);
        let timeouts = crate::config::AwsTimeouts::from_env().long_poll(
            std::time::Duration::from_secs(u64::from(wait.unsigned_abs())),
        );
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait)
            .set_visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .customize()
            .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(timeouts))
            .send()
            .await
            .map_err(|e| port_error("sqs:ReceiveMessage", &e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Some(QueueMessage {
                    message_id: m.message_id()?.to_owned(),
                    receipt_handle: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count,
                })
            })
            .collect())
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| port_error("sqs:DeleteMessage", &e))?;
        Ok(())
    }

    /// Applies `disposition` to one received message and names what was done: `deleted`,
    /// `returned` (left for the queue, re-timed for a [`Disposition::ReturnAfter`]) or
    /// `delete-failed`. Failures are logged, not returned: a message not deleted is seen again and
    /// deduplicated; a wait not shortened lasts the queue's visibility timeout.
    pub async fn apply(
        &self,
        message_id: &str,
        receipt_handle: &str,
        disposition: Disposition,
    ) -> &'static str {
        match disposition {
            Disposition::Delete => match self.delete(receipt_handle).await {
                Ok(()) => "deleted",
                Err(e) => {
                    tracing::warn!(message_id, error = %e, "delete failed; the message will be seen again and deduplicated");
                    "delete-failed"
                }
            },
            Disposition::Return => "returned",
            Disposition::ReturnAfter(after) => {
                if let Err(e) = self
                    .change_visibility(receipt_handle, visibility_seconds(after))
                    .await
                {
                    tracing::warn!(message_id, error = %e, "could not shorten the wait; the queue's visibility timeout applies");
                }
                "returned"
            }
        }
    }

    /// [`Self::apply`] for a whole batch, deleting with `DeleteMessageBatch` (up to 10 entries
    /// a call) instead of one `DeleteMessage` each; names what was done to each message, in
    /// order. An entry the batch call refused, or a batch call that failed, is `delete-failed`
    /// (logged): the message is seen again and deduplicated.
    pub async fn apply_all(&self, batch: &[(&str, &str, Disposition)]) -> Vec<&'static str> {
        let mut done = vec!["returned"; batch.len()];
        let deletes: Vec<usize> = (0..batch.len())
            .filter(|&i| batch[i].2 == Disposition::Delete)
            .collect();
        for chunk in deletes.chunks(DELETES_PER_CALL) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .filter_map(|&i| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(batch[i].1)
                        .build()
                        .ok()
                })
                .collect();
            let res = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match res {
                Ok(out) => {
                    for &i in chunk {
                        done[i] = "deleted";
                    }
                    for f in out.failed() {
                        if let Some(i) = f.id().parse::<usize>().ok().filter(|i| *i < batch.len()) {
                            tracing::warn!(
                                message_id = batch[i].0,
                                code = f.code(),
                                "delete failed; the message will be seen again and deduplicated"
                            );
                            done[i] = "delete-failed";
                        }
                    }
                }
                Err(e) => {
                    let e = port_error("sqs:DeleteMessageBatch", &e);
                    for &i in chunk {
                        tracing::warn!(message_id = batch[i].0, error = %e, "delete failed; the message will be seen again and deduplicated");
                        done[i] = "delete-failed";
                    }
                }
            }
        }
        for (i, (message_id, receipt_handle, disposition)) in batch.iter().enumerate() {
            if let Disposition::ReturnAfter(_) = disposition {
                done[i] = self.apply(message_id, receipt_handle, *disposition).await;
            }
        }
        done
    }

    /// Makes the message visible again after `seconds` (0 = now).
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), PortError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.clamp(0, 43_200))
            .send()
            .await
            .map_err(|e| port_error("sqs:ChangeMessageVisibility", &e))?;
        Ok(())
    }
}

/// The 12-digit account id in a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`,
/// or an emulator's `http://host:port/<account>/<name>`).
pub fn account_from_queue_url(url: &str) -> Option<String> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // host, account, name
    match segments.as_slice() {
        [_host, .., account, _name]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some((*account).to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{account_from_queue_url, visibility_seconds, Disposition};
    use selfheal_service::{Outcome, RecordResult};
    use std::time::Duration;

    fn result(retry: bool, retry_after: Option<Duration>) -> RecordResult {
        RecordResult {
            message_id: "m".into(),
            outcome: Outcome::Healed,
            retry,
            retry_after,
        }
    }

    #[test]
    fn dispositions() {
        assert_eq!(Disposition::of(&result(false, None)), Disposition::Delete);
        // A wait on a record that is done anyway does not bring it back.
        assert_eq!(
            Disposition::of(&result(false, Some(Duration::from_secs(5)))),
            Disposition::Delete
        );
        assert_eq!(Disposition::of(&result(true, None)), Disposition::Return);
        assert_eq!(
            Disposition::of(&result(true, Some(Duration::from_secs(30)))),
            Disposition::ReturnAfter(Duration::from_secs(30))
        );
        assert!(!Disposition::Delete.returns());
        assert!(Disposition::Return.returns());
        assert!(Disposition::ReturnAfter(Duration::ZERO).returns());
        assert_eq!(visibility_seconds(Duration::from_secs(30)), 30);
        assert_eq!(visibility_seconds(Duration::from_secs(u64::MAX)), 43_200);
    }

    #[test]
    fn account_from_urls() {
        assert_eq!(
            account_from_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/alerts")
                .as_deref(),
            Some("123456789012")
        );
        assert_eq!(
            account_from_queue_url("http://127.0.0.1:5055/123456789012/alerts").as_deref(),
            Some("123456789012")
        );
        assert_eq!(
            account_from_queue_url("https://sqs.us-east-1.amazonaws.com/alerts"),
            None
        );
        assert_eq!(account_from_queue_url("https://x/12345/alerts"), None);
        assert_eq!(account_from_queue_url("alerts"), None);
    }
}
