//! The alert-remediator Lambda: clients, settings and runbooks are built once here; each
//! invocation calls [`alert_remediator::handle`].

use alert_remediator::{bundled_runbooks, handle, Reply};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use selfheal_aws::wiring::{build_engine, WiringOptions};
use selfheal_aws::{AwsClients, Settings};
use selfheal_core::runbook::LoadOptions;
use selfheal_service::chat::SystemClock;
use selfheal_service::ports::{Clock, GlobalMode};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(true).map_err(|e| Error::from(e.to_string()))?;
    let options = LoadOptions {
        function_budget_seconds: u64::from(settings.function_budget_seconds),
    };
    let runbooks = match &settings.runbooks {
        Some(path) => selfheal_service::runbook_files::load_runbooks(path, &options)
            .map(|(m, _)| m)
            .map_err(|d| {
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })?,
        None => bundled_runbooks(&options)?,
    };
    let clients = AwsClients::from_env().await;
    let chat = selfheal_aws::slack::chat_sinks(&settings, &clients).await?;
    let owner = format!(
        "lambda/{}",
        std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "local".into())
    );
    let engine = build_engine(
        &settings,
        &clients,
        Arc::new(runbooks),
        WiringOptions {
            unconfigured_mode: GlobalMode::DryRun,
            account_id: None,
            owner,
            chat,
            force_dry_run: false,
        },
    )?
    .with_metrics(selfheal_service::metrics::sink_from_env("stdout"));
    // The kill switch is read before the first alert; the other services' connections open in
    // the background, so init is not held up by them and the first alert rarely waits for one.
    let (warm_settings, warm_clients) = (settings.clone(), clients.clone());
    tokio::spawn(async move {
        let account = std::env::var("SELFHEAL_ACCOUNT_ID").ok();
        selfheal_aws::wiring::warm_connections(&warm_settings, &warm_clients, account.as_deref())
            .await;
    });
    engine.warm_up().await;
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
                            let secs = i32::try_from(r.after.as_secs()).unwrap_or(43_200);
                            if let Err(e) = queue.change_visibility(&r.receipt_handle, secs).await {
                                tracing::warn!(error = %e, "could not shorten a capacity wait; the queue's visibility timeout applies");
                            }
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
