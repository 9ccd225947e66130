//! `alert-remediator`: the Lambda function's handler, kept apart from `main` so tests (and the
//! benchmark) call it directly. Wiring only: the logic is the engine's (`selfheal-service`).
//!
//! Accepts a Lambda SQS event (answering with a partial batch response), a direct SNS → Lambda
//! event, or CloudWatch's Lambda alarm-action payload (DESIGN §3).

use aws_lambda_events::sqs::SqsBatchResponse;
use selfheal_aws::sqs_queue::Disposition;
use selfheal_service::{Engine, InboundRecord};

include!(concat!(env!("OUT_DIR"), "/runbooks.rs"));

/// What the function answers.
#[derive(Debug)]
pub enum Reply {
    /// For SQS: the ids that go back to the queue, and the receipt handles of those to offer
    /// again sooner than the queue's visibility timeout (capacity waits).
    Batch(SqsBatchResponse, Vec<Requeue>),
    /// For direct SNS / alarm-action invocations: `Err` makes Lambda retry the invocation.
    Direct(Result<(), String>),
}

/// A returned record to make visible again sooner ([`Disposition::ReturnAfter`]), applied by
/// `main` with [`selfheal_aws::SqsQueue::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requeue {
    pub message_id: String,
    pub receipt_handle: String,
    pub disposition: Disposition,
}

/// The time the engine may work until: the earlier of the invocation's deadline and
/// `now + budget` (`SELFHEAL_FUNCTION_BUDGET_SECONDS`, which leaves the function time to save
/// state before Lambda's own timeout). A deadline in the past (local emulators) counts as absent.
pub fn effective_deadline(deadline_ms: i64, now_ms: i64, budget_ms: i64) -> i64 {
    let budget = now_ms.saturating_add(budget_ms);
    if deadline_ms > now_ms {
        deadline_ms.min(budget)
    } else {
        budget
    }
}

/// The scheduled invocation (EventBridge Scheduler input `{"selfheal": "sweep"}`, or an
/// EventBridge "Scheduled Event"): it ends approval requests nobody answered, even when no
/// alert arrives.
pub fn is_sweep(event: &serde_json::Value) -> bool {
    event.get("selfheal").and_then(|v| v.as_str()) == Some("sweep")
        || event.get("detail-type").and_then(|v| v.as_str()) == Some("Scheduled Event")
}

/// Handles one invocation. `deadline_ms` is the invocation's deadline (epoch ms); see
/// [`effective_deadline`].
pub async fn handle(
    engine: &Engine,
    event: serde_json::Value,
    deadline_ms: i64,
    now_ms: i64,
    budget_ms: i64,
) -> Reply {
    if is_sweep(&event) {
        let ended = engine.finish_expired_approvals().await;
        tracing::info!(ended, "swept expired approval requests");
        return Reply::Direct(Ok(()));
    }
    let deadline = effective_deadline(deadline_ms, now_ms, budget_ms);
    let (records, is_sqs) = split(&event);
    let receipts = receipt_handles(&event);
    let results = engine.process_batch(records, deadline).await;
    if is_sqs {
        let mut resp = SqsBatchResponse::default();
        let mut requeue = Vec::new();
        for r in &results {
            let disposition = Disposition::of(r);
            if disposition.returns() {
                resp.add_failure(r.message_id.clone());
            }
            if let (Disposition::ReturnAfter(_), Some(handle)) =
                (disposition, receipts.get(&r.message_id))
            {
                requeue.push(Requeue {
                    message_id: r.message_id.clone(),
                    receipt_handle: handle.clone(),
                    disposition,
                });
            }
        }
        Reply::Batch(resp, requeue)
    } else if let Some(r) = results.iter().find(|r| r.retry) {
        Reply::Direct(Err(format!(
            "{} needs a retry ({})",
            r.message_id, r.outcome
        )))
    } else {
        Reply::Direct(Ok(()))
    }
}

/// SQS message id → receipt handle.
fn receipt_handles(event: &serde_json::Value) -> std::collections::HashMap<String, String> {
    event
        .get("Records")
        .and_then(|r| r.as_array())
        .map(|records| {
            records
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("messageId")?.as_str()?.to_owned(),
                        r.get("receiptHandle")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Turns any accepted event into engine records.
fn split(event: &serde_json::Value) -> (Vec<InboundRecord>, bool) {
    let Some(records) = event.get("Records").and_then(|r| r.as_array()) else {
        let id = ["alarmArn", "id"]
            .iter()
            .find_map(|k| event.get(*k).and_then(|v| v.as_str()))
            .unwrap_or("direct")
            .to_owned();
        return (
            vec![InboundRecord {
                message_id: id,
                body: event.to_string(),
                receive_count: 1,
            }],
            false,
        );
    };
    let is_sqs = records
        .iter()
        .all(|r| r.get("eventSource").and_then(|s| s.as_str()) == Some("aws:sqs"));
    let out = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if is_sqs {
                InboundRecord {
                    message_id: r
                        .get("messageId")
                        .and_then(|v| v.as_str())
                        .map_or_else(|| format!("record-{i}"), str::to_owned),
                    body: r
                        .get("body")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    receive_count: r
                        .pointer("/attributes/ApproximateReceiveCount")
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(1),
                }
            } else {
                let sns = r.get("Sns").cloned().unwrap_or(serde_json::Value::Null);
                InboundRecord {
                    message_id: sns
                        .get("MessageId")
                        .and_then(|v| v.as_str())
                        .map_or_else(|| format!("record-{i}"), str::to_owned),
                    body: sns.to_string(),
                    receive_count: 1,
                }
            }
        })
        .collect();
    (out, is_sqs)
}

#[cfg(test)]
mod tests {
    use super::{effective_deadline, is_sweep};

    const NOW: i64 = 1_800_000_000_000;
    const BUDGET: i64 = 840_000;

    #[test]
    fn the_budget_limits_a_real_invocation() {
        // Lambda gives 900 s: the engine stops at the 840 s budget, leaving time to save state.
        assert_eq!(effective_deadline(NOW + 900_000, NOW, BUDGET), NOW + BUDGET);
    }

    #[test]
    fn a_nearer_deadline_wins_over_the_budget() {
        assert_eq!(effective_deadline(NOW + 60_000, NOW, BUDGET), NOW + 60_000);
    }

    #[test]
    fn a_deadline_in_the_past_counts_as_absent() {
        // cargo-lambda's emulator gives a deadline that is not a real epoch time.
        assert_eq!(effective_deadline(5_000, NOW, BUDGET), NOW + BUDGET);
        assert_eq!(effective_deadline(NOW, NOW, BUDGET), NOW + BUDGET);
    }

    #[test]
    fn scheduled_events_are_sweeps() {
        assert!(is_sweep(&serde_json::json!({"selfheal": "sweep"})));
        assert!(is_sweep(&serde_json::json!({
            "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}
        })));
        assert!(!is_sweep(&serde_json::json!({"Records": []})));
        assert!(!is_sweep(&serde_json::json!({"selfheal": "other"})));
    }
}
