//! Poll rounds: the commands of one batch that are still running are looked at with one
//! listing per round (ListCommands), and GetCommandInvocation is asked only for a command's
//! first poll and once the listing shows it finished. A listing never decides a phase, and a
//! failed listing costs nothing but the per-command polls it would have saved.

mod common;

use async_trait::async_trait;
use common::*;
use selfheal_core::InstanceId;
use selfheal_service::fakes::{CommandPlan, FakeExecutor, FakeWorld};
use selfheal_service::ports::{
    CommandRequest, EpochMillis, Executor, Invocation, InvocationStatus, PortError, Sent,
};
use selfheal_service::{Engine, Outcome};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const ALERTS: usize = 5;
const RUNNING_LOOKS: u32 = 6;

fn db_world() -> FakeWorld {
    let w = world();
    for i in 0..ALERTS {
        w.tags.set(&format!("i-0000000{i}"), "db");
    }
    w.executor.plan_with(|_| CommandPlan {
        running_polls: RUNNING_LOOKS,
        ..CommandPlan::success()
    });
    w
}

fn db_map() -> Arc<selfheal_core::RunbookMap> {
    runbooks(
        r#"{"db:*": {"commands": ["systemctl restart db"], "max_concurrent": 10, "max_attempts": 100}}"#,
    )
}

fn batch() -> Vec<selfheal_service::InboundRecord> {
    (0..ALERTS)
        .map(|i| {
            rec(
                &format!("m{i}"),
                cw_body("db:slow", "ALARM", &format!("i-0000000{i}"), "t"),
            )
        })
        .collect()
}

#[tokio::test]
async fn running_commands_are_listed_together_and_each_is_read_twice() {
    let w = db_world();
    let e = engine(&w, db_map());
    let out = e.process_batch(batch(), DEADLINE).await;
    assert!(out.iter().all(|r| r.outcome == Outcome::Healed), "{out:?}");
    let polls = w.executor.poll_calls.load(Ordering::SeqCst);
    let lists = w.executor.list_calls.load(Ordering::SeqCst);
    // One GetCommandInvocation right after the send, one once the listing shows it finished.
    assert_eq!(polls, 2 * ALERTS as u32);
    // Without rounds: ALERTS × (RUNNING_LOOKS + 1) GetCommandInvocation calls (35). The five
    // commands were sent one after the other (admissions queue in-process), so rounds do not
    // line up perfectly, but they are shared.
    assert!(lists >= 1, "the running commands were listed");
    assert!(
        polls + lists < ALERTS as u32 * (RUNNING_LOOKS + 1),
        "polls {polls} + listings {lists}"
    );
    // About one listing per round (6 when measured), not one per command per round (25).
    assert!(lists <= RUNNING_LOOKS + 2, "listings shared: {lists}");
}

/// An executor whose listing always fails (throttled), over the fake.
struct NoListing(Arc<FakeExecutor>);

#[async_trait]
impl Executor for NoListing {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        self.0.send(req).await
    }
    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        self.0.poll(command_id, instance).await
    }
    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        self.0.find_by_comment(comment, instance, since).await
    }
    async fn statuses(
        &self,
        _ids: &[String],
        _since: EpochMillis,
    ) -> Result<HashMap<String, InvocationStatus>, PortError> {
        Err(PortError::Transient("ThrottlingException".into()))
    }
}

#[tokio::test]
async fn a_failed_listing_falls_back_to_polling_each_command() {
    let w = db_world();
    let mut ports = w.ports();
    ports.executor = Arc::new(NoListing(w.executor.clone()));
    let e = Engine::new(ports, db_map(), settings());
    let out = e.process_batch(batch(), DEADLINE).await;
    assert!(out.iter().all(|r| r.outcome == Outcome::Healed), "{out:?}");
    assert_eq!(
        w.executor.poll_calls.load(Ordering::SeqCst),
        ALERTS as u32 * (RUNNING_LOOKS + 1)
    );
}

/// A listing that shows a command finished never ends its phase: the poll does, and a failed
/// command stays failed whatever the listing said.
#[tokio::test]
async fn a_listing_never_decides_the_phase() {
    let w = db_world();
    w.executor.plan_with(|_| CommandPlan {
        running_polls: 3,
        ..CommandPlan::exit(3)
    });
    let e = engine(&w, db_map());
    let out = e.process_batch(batch(), DEADLINE).await;
    assert!(out.iter().all(|r| r.outcome == Outcome::Failed), "{out:?}");
    assert_eq!(
        w.executor.poll_calls.load(Ordering::SeqCst),
        2 * ALERTS as u32
    );
}
