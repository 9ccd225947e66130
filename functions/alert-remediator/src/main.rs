//! The alert-remediator Lambda: settings, runbooks, clients and the engine are built once here
//! ([`selfheal_aws::startup`], profile `Lambda`); each invocation calls
//! [`alert_remediator::handle`].

use alert_remediator::{bundled_runbooks, handle, Reply};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use selfheal_aws::startup::{engine_from_env, Profile, Started};
use selfheal_service::chat::SystemClock;
use selfheal_service::ports::Clock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let Started {
        settings,
        clients,
        engine,
    } = engine_from_env(Profile::Lambda {
        bundled: bundled_runbooks,
    })
    .await
    .map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(runbooks = engine.runbooks().len(), "alert-remediator ready");
    let budget_ms = i64::from(settings.function_budget_seconds) * 1000;
    let engine = &engine;
    // With SELFHEAL_QUEUE_URL, capacity waits come back after SELFHEAL_CAPACITY_RETRY_SECONDS
    // instead of the queue's visibility timeout.
    let queue = settings
        .queue_url
        .clone()
        .map(|url| selfheal_aws::SqsQueue::new(clients.sqs.clone(), url));
    let queue = &queue;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let now = SystemClock.now_ms();
            let deadline = i64::try_from(event.context.deadline).unwrap_or(0);
            match handle(engine, event.payload, deadline, now, budget_ms).await {
                Reply::Batch(resp, requeue) => {
                    if let Some(queue) = queue {
                        for r in &requeue {
                            queue
                                .apply(&r.message_id, &r.receipt_handle, r.disposition)
                                .await;
                        }
                    }
                    serde_json::to_value(resp).map_err(Error::from)
                }
                Reply::Direct(Ok(())) => Ok(serde_json::json!({"ok": true})),
                Reply::Direct(Err(e)) => Err(Error::from(e)),
            }
        },
    ))
    .await
}
