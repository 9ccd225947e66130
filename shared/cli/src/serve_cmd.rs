//! `selfheal serve --queue-url URL [--once]`: the Lambda's engine over ReceiveMessage and
//! DeleteMessage, for local runs, demos and teams without Lambda. A record that must go back to
//! the queue (transient failure, capacity wait, still running) is simply not deleted (a capacity
//! wait is re-timed); [`SqsQueue::apply`] does it, as the Lambda's batch response does.

use crate::args::ServeArgs;
use selfheal_aws::sqs_queue::{Disposition, QueueMessage, SqsQueue};
use selfheal_aws::startup::{Profile, Started};
use selfheal_service::chat::SystemClock;
use selfheal_service::ports::Clock;
use selfheal_service::{Engine, InboundRecord};
use std::process::ExitCode;
use std::time::Duration;

pub fn run(args: &ServeArgs) -> ExitCode {
    crate::logging::init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("selfheal serve: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(serve(args))
}

async fn serve(args: &ServeArgs) -> ExitCode {
    let profile = Profile::Serve {
        queue_url: args.queue_url.clone(),
    };
    let Started {
        settings,
        clients,
        engine,
    } = match crate::context::engine("serve", profile).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let queue = SqsQueue::new(clients.sqs.clone(), args.queue_url.clone());
    let budget = Duration::from_secs(u64::from(settings.function_budget_seconds));
    loop {
        let wait = if args.once { 0 } else { 20 };
        let poll = tokio::select! {
            r = queue.receive(10, wait, None) => r,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("selfheal serve: stopping");
                return ExitCode::SUCCESS;
            }
        };
        match poll {
            Ok(messages) => process(&engine, &queue, messages, budget).await,
            Err(e) => {
                eprintln!("selfheal serve: receive failed: {e}");
                if args.once {
                    return ExitCode::from(1);
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        if args.once {
            return ExitCode::SUCCESS;
        }
    }
}

async fn process(engine: &Engine, queue: &SqsQueue, messages: Vec<QueueMessage>, budget: Duration) {
    if messages.is_empty() {
        // Nothing arrived: still end approval requests nobody answered (a batch does it first).
        let ended = engine.finish_expired_approvals().await;
        if ended > 0 {
            tracing::info!(ended, "ended expired approval requests");
        }
        return;
    }
    let records: Vec<InboundRecord> = messages
        .iter()
        .map(|m| InboundRecord {
            message_id: m.message_id.clone(),
            body: m.body.clone(),
            receive_count: m.receive_count,
        })
        .collect();
    let deadline = SystemClock.now_ms() + i64::try_from(budget.as_millis()).unwrap_or(840_000);
    let results = engine.process_batch(records, deadline).await;
    let batch: Vec<(&str, &str, Disposition)> = messages
        .iter()
        .zip(&results)
        .map(|(m, r)| {
            (
                m.message_id.as_str(),
                m.receipt_handle.as_str(),
                Disposition::of(r),
            )
        })
        .collect();
    let done = queue.apply_all(&batch).await;
    for ((m, r), disposition) in messages.iter().zip(&results).zip(done) {
        println!("{} {} {}", m.message_id, r.outcome, disposition);
    }
}
