//! What a lost response looks like: the call took effect, its answer never came back.
//!
//! For the fakes, `fakes::LostResponses` makes the next call take effect and then lose its
//! answer in one of two shapes (`fakes::Loss`). For the real adapters, moto's fault layer
//! (`tests/moto/faults.py`) lets moto act and then answers HTTP 500 instead of moto's answer
//! (`"when": "after"`), and the product's SDK retries do the rest:
//!
//! * `Loss::Every` — every attempt's answer is lost (the fault applies to all
//!   `config::MAX_ATTEMPTS` attempts): the caller gets `PortError::Transient`, and the table holds
//!   what ONE successful call leaves (the retries met their own write and changed nothing).
//! * `Loss::RetriedOnce` — only the first answer is lost and the SDK's retry gets through: the
//!   caller gets the answer of the same call made again after its own effect. For the
//!   conditional writes that is NOT the answer the first call would have had: a claim comes back
//!   `Exists` with the caller's own claim (not `Won`), an update at the version it just wrote is
//!   `false` ("someone else won"), a note is not new (`false`), an attempt is counted twice.
//!
//! SendCommand is never retried by the SDK (DESIGN principle 6): its lost answer is always
//! `Transient`, exactly one command exists, and `find_by_comment` finds it.
//!
//! Each contract runs once per shape; the moto kit runs them one after another (fault rules are
//! global to the emulator).

use std::sync::Arc;

use async_trait::async_trait;
use selfheal_core::InstanceId;
use selfheal_service::fakes::{FakeClock, FakeExecutor, FakeStore, Loss, LostResponses};
use selfheal_service::ports::{
    Claim, ClaimAttempt, ClaimState, Clock, CommandRequest, Executor, HistoryRecord, PortError,
    Sent, StateStore,
};

use crate::harness::{self, Case};
use crate::store::DynamoWorld;

#[async_trait]
pub trait LossWorld: Send + Sync {
    fn store(&self) -> Arc<dyn StateStore>;
    fn executor(&self) -> Arc<dyn Executor>;
    /// The next `aws_op` call (the DynamoDB or SSM operation that carries the effect, e.g.
    /// `PutItem`; the fake: the next port call) takes effect and loses its answer as `loss`.
    async fn lose_next(&self, loss: Loss, aws_op: &str);
    /// Every later call answers normally again.
    async fn disarm(&self);
    async fn instance(&self) -> InstanceId;
    fn now_ms(&self) -> i64;
    async fn commands_with_comment(&self, comment: &str) -> usize;
    async fn history_day(&self, day: &str) -> Vec<HistoryRecord>;
}

#[async_trait]
pub trait LossKit: Send + Sync {
    async fn fresh(&self) -> Box<dyn LossWorld>;
}

pub type Kit = Arc<dyn LossKit>;

pub fn cases() -> Vec<Case<Kit>> {
    crate::cases![Kit;
        a_lost_claim_leaves_the_claim_written,
        a_lost_claim_update_leaves_the_update_written,
        a_lost_history_write_leaves_one_record,
        a_lost_close_is_committed_once,
        a_lost_admission_is_taken_once,
        a_lost_attempt_is_counted,
        a_lost_note_is_noted,
        a_lost_lease_is_held_once,
        a_lost_approval_open_and_close_take_effect,
        a_lost_send_leaves_one_command_found_by_its_comment,
    ]
}

const SHAPES: [Loss; 2] = [Loss::Every, Loss::RetriedOnce];

fn claim(identity: &str, owner: &str) -> Claim {
    Claim {
        identity: identity.to_owned(),
        state: ClaimState::Claimed,
        owner: owner.to_owned(),
        owner_until_ms: 1_700_000_060_000,
        claimed_at_ms: 1_700_000_000_000,
        version: 1,
        ..Default::default()
    }
}

fn transient<T: std::fmt::Debug>(r: &Result<T, PortError>) -> bool {
    matches!(r, Err(PortError::Transient(_)))
}

/// The claim was written although the caller was not told it won: the next `claim` (any owner)
/// is `Exists` with it. With the SDK's retry the caller itself already gets `Exists` with its
/// own claim.
async fn a_lost_claim_leaves_the_claim_written(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        let mine = claim("generic|id|lost-claim", "worker-1");
        w.lose_next(loss, "PutItem").await;
        let r = s.claim(&mine).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(
                r,
                Ok(ClaimAttempt::Exists(mine.clone())),
                "{loss:?}: the retry meets the caller's own claim"
            ),
        }
        assert_eq!(
            s.claim(&claim("generic|id|lost-claim", "worker-2")).await,
            Ok(ClaimAttempt::Exists(mine.clone())),
            "{loss:?}"
        );
        assert_eq!(
            s.load_claim("generic|id|lost-claim").await,
            Ok(Some(mine)),
            "{loss:?}"
        );
    }
}

/// The update landed; with the SDK's retry the caller is told `false` (its retry found the
/// version it had just written, as if someone else had won).
async fn a_lost_claim_update_leaves_the_update_written(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        let first = claim("generic|id|lost-update", "worker-1");
        s.claim(&first).await.expect("claimed");
        let mut next = first.clone();
        next.version = 2;
        next.state = ClaimState::Running;
        next.phase = Some("commands".to_owned());
        next.phase_sent_at_ms = Some(1_700_000_001_000);
        w.lose_next(loss, "PutItem").await;
        let r = s.update_claim(&next, 1).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(false), "{loss:?}"),
        }
        assert_eq!(
            s.load_claim("generic|id|lost-update").await,
            Ok(Some(next.clone())),
            "{loss:?}: the update is stored"
        );
        assert_eq!(s.update_claim(&next, 1).await, Ok(false), "{loss:?}");
        let mut after = next.clone();
        after.version = 3;
        assert_eq!(s.update_claim(&after, 2).await, Ok(true), "{loss:?}");
    }
}

async fn a_lost_history_write_leaves_one_record(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        let rec = HistoryRecord {
            day: "2024-01-02".to_owned(),
            sort: "00aa11bb22cc33dd".to_owned(),
            identity: "generic|id|h".to_owned(),
            outcome: "healed".to_owned(),
            reason: "verify passed".to_owned(),
            expires_at: 1_800_000_000,
            ..Default::default()
        };
        w.lose_next(loss, "PutItem").await;
        let r = s.put_history(&rec).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(()), "{loss:?}"),
        }
        assert_eq!(
            w.history_day("2024-01-02").await,
            vec![rec.clone()],
            "{loss:?}"
        );
        s.put_history(&rec).await.expect("written again");
        assert_eq!(w.history_day("2024-01-02").await, vec![rec], "{loss:?}");
    }
}

/// The close committed (record and done claim together). A retry after the lost answer finds
/// the claim's version moved and answers `false` — or, where the store honours the SDK's
/// idempotency token (DynamoDB), `true` — and writes nothing more: the caller reads the claim
/// back to tell.
async fn a_lost_close_is_committed_once(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        let first = claim("generic|id|lost-close", "worker-1");
        s.claim(&first).await.expect("claimed");
        let mut done = first.clone();
        done.version = 2;
        done.state = ClaimState::Done;
        done.outcome = Some("healed".to_owned());
        let rec = HistoryRecord {
            day: "2024-01-03".to_owned(),
            sort: "11aa11bb22cc33dd".to_owned(),
            identity: "generic|id|lost-close".to_owned(),
            outcome: "healed".to_owned(),
            reason: "verify passed".to_owned(),
            expires_at: 1_800_000_000,
            ..Default::default()
        };
        w.lose_next(loss, "TransactWriteItems").await;
        let r = s.close(&rec, &done, 1, None).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert!(matches!(r, Ok(false) | Ok(true)), "{loss:?}: {r:?}"),
        }
        assert_eq!(
            s.load_claim("generic|id|lost-close").await,
            Ok(Some(done.clone())),
            "{loss:?}: the claim is done"
        );
        assert_eq!(
            w.history_day("2024-01-03").await,
            vec![rec.clone()],
            "{loss:?}"
        );
        assert_eq!(
            s.close(&rec, &done, 1, None).await,
            Ok(false),
            "{loss:?}: not again"
        );
        assert_eq!(w.history_day("2024-01-03").await, vec![rec], "{loss:?}");
    }
}

/// The admission committed; a retry finds the claim's version moved (`ClaimChanged`) — or,
/// where the SDK's idempotency token is honoured, `Yes` — and takes nothing twice.
async fn a_lost_admission_is_taken_once(kit: Kit) {
    use selfheal_service::ports::{Admission, Admitted, BudgetTake};
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        let first = claim("generic|id|lost-admit", "worker-1");
        s.claim(&first).await.expect("claimed");
        let mut next = first.clone();
        next.version = 2;
        let a = Admission {
            budgets: vec![BudgetTake {
                key: "web:x#i-1".to_owned(),
                max: 2,
                window_start: 1_699_000_000_000,
                ttl_until: 1_800_000_000,
            }],
            role: "web".to_owned(),
            holder: "h1".to_owned(),
            max_concurrent: 1,
            lease_until: 1_700_003_600_000,
            fleet_max: 10,
            now: 1_700_000_000_000,
            claim: next.clone(),
            expected_version: 1,
        };
        w.lose_next(loss, "TransactWriteItems").await;
        let r = s.admit(&a).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert!(
                matches!(
                    r,
                    Ok(Admitted::ClaimChanged) | Ok(Admitted::Yes { attempt: 1 })
                ),
                "{loss:?}: {r:?}"
            ),
        }
        next.attempt = 1;
        assert_eq!(
            s.load_claim("generic|id|lost-admit").await,
            Ok(Some(next)),
            "{loss:?}: admitted once"
        );
        assert_eq!(
            s.take_attempt(
                "web:x#i-1",
                2,
                1_699_000_000_000,
                1_700_000_000_001,
                1_800_000_000
            )
            .await,
            Ok(Some(2)),
            "{loss:?}: one attempt counted before this one"
        );
        assert_eq!(
            s.acquire_lease("web", "h2", 1, 1_700_000_000_001, 1_700_000_100_000)
                .await,
            Ok(false),
            "{loss:?}: the lease is held"
        );
    }
}

/// The attempt was counted; the SDK's retry counts it a second time (the safe side).
async fn a_lost_attempt_is_counted(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        w.lose_next(loss, "PutItem").await;
        let r = s.take_attempt("web:disk#i-0123abcd", 3, 0, 1_000, 99).await;
        w.disarm().await;
        let next = match loss {
            Loss::Every => {
                assert!(transient(&r), "{loss:?}: {r:?}");
                2
            }
            Loss::RetriedOnce => {
                assert_eq!(r, Ok(Some(2)), "{loss:?}: counted twice");
                3
            }
        };
        assert_eq!(
            s.take_attempt("web:disk#i-0123abcd", 3, 0, 2_000, 99).await,
            Ok(Some(next)),
            "{loss:?}"
        );
    }
}

/// The note was written; with the SDK's retry the caller is told it was not new, so nobody
/// announces that stretch of silence.
async fn a_lost_note_is_noted(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        w.lose_next(loss, "PutItem").await;
        let r = s.note_once("s1#1700000000", 1_700_003_600_000).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(false), "{loss:?}"),
        }
        assert_eq!(
            s.note_once("s1#1700000000", 1_700_003_600_000).await,
            Ok(false),
            "{loss:?}"
        );
    }
}

/// The lease was taken once: the holder holds it (again: idempotent), nobody else fits.
async fn a_lost_lease_is_held_once(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        w.lose_next(loss, "PutItem").await;
        let r = s.acquire_lease("web", "h1", 1, 0, 60_000).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(true), "{loss:?}"),
        }
        assert_eq!(
            s.acquire_lease("web", "h2", 1, 1, 60_000).await,
            Ok(false),
            "{loss:?}"
        );
        assert_eq!(
            s.acquire_lease("web", "h1", 1, 2, 60_000).await,
            Ok(true),
            "{loss:?}"
        );
        w.lose_next(loss, "UpdateItem").await;
        let r = s.release_lease("web", "h1").await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(()), "{loss:?}"),
        }
        assert_eq!(
            s.acquire_lease("web", "h2", 1, 3, 60_000).await,
            Ok(true),
            "{loss:?}: released"
        );
    }
}

async fn a_lost_approval_open_and_close_take_effect(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let s = w.store();
        w.lose_next(loss, "PutItem").await;
        let r = s.open_approval("generic|id|ap", 1_000).await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(()), "{loss:?}"),
        }
        assert_eq!(
            s.expired_approvals(1_000).await,
            Ok(vec!["generic|id|ap".to_owned()]),
            "{loss:?}"
        );
        w.lose_next(loss, "DeleteItem").await;
        let r = s.close_approval("generic|id|ap").await;
        w.disarm().await;
        match loss {
            Loss::Every => assert!(transient(&r), "{loss:?}: {r:?}"),
            Loss::RetriedOnce => assert_eq!(r, Ok(()), "{loss:?}"),
        }
        assert_eq!(s.expired_approvals(1_000).await, Ok(vec![]), "{loss:?}");
    }
}

/// SendCommand took effect, its answer was lost: `Transient` in both shapes (never retried by
/// the SDK), one command exists, and `find_by_comment` finds it.
async fn a_lost_send_leaves_one_command_found_by_its_comment(kit: Kit) {
    for loss in SHAPES {
        let w = kit.fresh().await;
        let e = w.executor();
        let instance = w.instance().await;
        let since = w.now_ms();
        let comment = format!("selfheal {} commands", &harness::unique("s")[2..]);
        let req = CommandRequest {
            instance: instance.clone(),
            document: "AWS-RunShellScript".to_owned(),
            lines: vec!["echo contract".to_owned()],
            execution_timeout_seconds: 120,
            comment: comment.clone(),
        };
        w.lose_next(loss, "SendCommand").await;
        let r = e.send(&req).await;
        w.disarm().await;
        assert!(transient(&r), "{loss:?}: {r:?}");
        assert_eq!(w.commands_with_comment(&comment).await, 1, "{loss:?}");
        let found = e
            .find_by_comment(&comment, &instance, since)
            .await
            .expect("listed");
        assert!(found.is_some(), "{loss:?}: found by its comment");
        // The next send is a new command (SSM has no idempotency token).
        match e.send(&req).await {
            Ok(Sent::CommandId(id)) => assert_ne!(Some(id), found, "{loss:?}"),
            other => panic!("{loss:?}: {other:?}"),
        }
        assert_eq!(w.commands_with_comment(&comment).await, 2, "{loss:?}");
    }
}

// ---------------------------------------------------------------------------------------------

pub struct FakeKit;

struct FakeWorld {
    store: Arc<FakeStore>,
    lossy_store: Arc<LostResponses<FakeStore>>,
    clock: Arc<FakeClock>,
    exec: Arc<FakeExecutor>,
    lossy_exec: Arc<LostResponses<FakeExecutor>>,
}

#[async_trait]
impl LossKit for FakeKit {
    async fn fresh(&self) -> Box<dyn LossWorld> {
        let store = FakeStore::new();
        let clock = FakeClock::new(1_700_000_000_000);
        let exec = FakeExecutor::new(clock.clone());
        Box::new(FakeWorld {
            lossy_store: LostResponses::new(store.clone()),
            store,
            clock,
            lossy_exec: LostResponses::new(exec.clone()),
            exec,
        })
    }
}

#[async_trait]
impl LossWorld for FakeWorld {
    fn store(&self) -> Arc<dyn StateStore> {
        self.lossy_store.clone()
    }
    fn executor(&self) -> Arc<dyn Executor> {
        self.lossy_exec.clone()
    }
    async fn lose_next(&self, loss: Loss, aws_op: &str) {
        if aws_op == "SendCommand" {
            self.lossy_exec.lose_next(loss);
        } else {
            self.lossy_store.lose_next(loss);
        }
    }
    async fn disarm(&self) {}
    async fn instance(&self) -> InstanceId {
        InstanceId::parse("i-0123abcd").expect("valid id")
    }
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
    async fn commands_with_comment(&self, comment: &str) -> usize {
        self.exec
            .sent()
            .iter()
            .filter(|s| s.request.comment == comment)
            .count()
    }
    async fn history_day(&self, day: &str) -> Vec<HistoryRecord> {
        self.store.history_day(day)
    }
}

/// The real adapters on moto behind its fault layer.
pub struct MotoKit {
    pub url: String,
    pub clients: selfheal_aws::AwsClients,
}

struct MotoWorld {
    url: String,
    dynamo: DynamoWorld,
    ssm: aws_sdk_ssm::Client,
    exec: Arc<selfheal_aws::SsmExecutor>,
}

#[async_trait]
impl LossKit for MotoKit {
    async fn fresh(&self) -> Box<dyn LossWorld> {
        Box::new(MotoWorld {
            url: self.url.clone(),
            dynamo: DynamoWorld::create(&self.clients).await,
            ssm: self.clients.ssm.clone(),
            exec: Arc::new(selfheal_aws::SsmExecutor::new(self.clients.ssm.clone())),
        })
    }
}

#[async_trait]
impl LossWorld for MotoWorld {
    fn store(&self) -> Arc<dyn StateStore> {
        self.dynamo.store.clone()
    }
    fn executor(&self) -> Arc<dyn Executor> {
        self.exec.clone()
    }
    async fn lose_next(&self, loss: Loss, aws_op: &str) {
        let (operation, body_contains) = if aws_op == "SendCommand" {
            ("AmazonSSM.SendCommand".to_owned(), "selfheal ".to_owned())
        } else {
            (
                format!("DynamoDB_20120810.{aws_op}"),
                self.dynamo.table.clone(),
            )
        };
        let times = match loss {
            Loss::Every => selfheal_aws::config::MAX_ATTEMPTS,
            Loss::RetriedOnce => 1,
        };
        selfheal_aws::local::set_faults(
            &self.url,
            &serde_json::json!([{
                "operation": operation,
                "body_contains": body_contains,
                "when": "after",
                "status": 500,
                "times": times,
            }]),
        )
        .await
        .expect("fault rule set");
    }
    async fn disarm(&self) {
        let rules = selfheal_aws::local::fault_rules(&self.url)
            .await
            .expect("rules read");
        selfheal_aws::local::clear_faults(&self.url)
            .await
            .expect("faults cleared");
        // The rule must have applied (else the contract tested nothing).
        let applied = rules
            .as_array()
            .or_else(|| rules.get("rules").and_then(|r| r.as_array()))
            .and_then(|r| r.first())
            .and_then(|r| r.get("applied"))
            .and_then(serde_json::Value::as_u64);
        assert!(
            applied.is_some_and(|n| n >= 1),
            "the fault rule never applied: {rules}"
        );
    }
    async fn instance(&self) -> InstanceId {
        let url = self.url.clone();
        let id = tokio::task::spawn_blocking(move || {
            selfheal_aws::local::run_instance(&url, &[("Name", "lost")])
        })
        .await
        .expect("joined")
        .expect("instance");
        InstanceId::parse(&id).expect("valid id")
    }
    fn now_ms(&self) -> i64 {
        harness::wall_ms()
    }
    async fn commands_with_comment(&self, comment: &str) -> usize {
        let out = self.ssm.list_commands().send().await.expect("ListCommands");
        out.commands()
            .iter()
            .filter(|c| c.comment() == Some(comment))
            .count()
    }
    async fn history_day(&self, day: &str) -> Vec<HistoryRecord> {
        self.dynamo
            .store
            .query_history_day(day)
            .await
            .expect("query")
    }
}
