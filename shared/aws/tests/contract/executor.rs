//! The `Executor` contracts: `FakeExecutor` and `SsmExecutor` (on moto) must answer alike.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use selfheal_core::InstanceId;
use selfheal_service::fakes::{FakeClock, FakeExecutor};
use selfheal_service::ports::{
    Clock, CommandRequest, Executor, Invocation, InvocationStatus, Sent,
};

use crate::harness::{self, Case};

#[async_trait]
pub trait ExecKit: Send + Sync {
    fn executor(&self) -> Arc<dyn Executor>;
    /// A new instance that SSM manages.
    async fn managed_instance(&self) -> InstanceId;
    /// An instance SSM does not manage (SendCommand answers `InvalidInstanceId`).
    fn unmanaged_instance(&self) -> InstanceId;
    fn now_ms(&self) -> i64;
    /// Lets time pass (the fake's clock, or the wall clock).
    async fn sleep(&self, d: Duration);
    /// How many commands SSM holds with exactly this comment, on any instance.
    async fn commands_with_comment(&self, comment: &str) -> usize;
}

pub type Kit = Arc<dyn ExecKit>;

pub fn cases() -> Vec<Case<Kit>> {
    crate::cases![Kit;
        a_sent_command_is_found_by_exact_comment_instance_and_time,
        the_newest_command_with_a_comment_is_found,
        a_long_comment_is_found_by_what_ssm_keeps,
        a_sent_command_is_polled_to_its_end,
        a_listing_shows_what_a_poll_shows,
        an_unmanaged_instance_is_invalid_instance_and_nothing_is_sent,
    ]
}

/// `statuses(ids, since)` (a poll round's listing) shows a command sent since then with the
/// status its own poll ends with; a command sent before `since` (minus the skew) or an id
/// never sent is not listed.
async fn a_listing_shows_what_a_poll_shows(kit: Kit) {
    let a = kit.managed_instance().await;
    let before = kit.now_ms();
    let comment = format!("selfheal {} commands", &harness::unique("l")[2..]);
    let id = send(&kit, &request(&a, &comment)).await;
    let ended = poll_to_end(&kit, &id, &a).await;
    let e = kit.executor();
    let ids = vec![
        id.clone(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
    ];
    let listed = e.statuses(&ids, before).await.expect("listed");
    assert_eq!(listed.get(&id), Some(&ended.status), "{listed:?}");
    assert_eq!(
        listed.len(),
        1,
        "an id never sent is not listed: {listed:?}"
    );
    let later = e
        .statuses(&ids, kit.now_ms() + 3_600_000)
        .await
        .expect("listed");
    assert!(later.is_empty(), "sent before `since`: {later:?}");
}

fn request(instance: &InstanceId, comment: &str) -> CommandRequest {
    CommandRequest {
        instance: instance.clone(),
        document: "AWS-RunShellScript".to_owned(),
        lines: vec!["echo contract".to_owned()],
        execution_timeout_seconds: 120,
        comment: comment.to_owned(),
    }
}

async fn send(kit: &Kit, req: &CommandRequest) -> String {
    match kit.executor().send(req).await {
        Ok(Sent::CommandId(id)) => id,
        other => panic!("send: {other:?}"),
    }
}

/// Polls until the invocation is no longer `Running` (at most ~10 s of the kit's time).
async fn poll_to_end(kit: &Kit, id: &str, instance: &InstanceId) -> Invocation {
    for _ in 0..50 {
        let inv = kit.executor().poll(id, instance).await.expect("polled");
        if inv.status != InvocationStatus::Running {
            return inv;
        }
        kit.sleep(Duration::from_millis(200)).await;
    }
    panic!("{id} still running");
}

/// `find_by_comment(comment, instance, since)` finds a command only with the exact comment,
/// only on that instance, and only if it was requested at or after `since` (minus a 5 s clock
/// skew allowance).
async fn a_sent_command_is_found_by_exact_comment_instance_and_time(kit: Kit) {
    let a = kit.managed_instance().await;
    let b = kit.managed_instance().await;
    let before = kit.now_ms();
    let comment = format!("selfheal {} commands", &harness::unique("c")[2..]);
    let id = send(&kit, &request(&a, &comment)).await;
    let e = kit.executor();
    assert_eq!(
        e.find_by_comment(&comment, &a, before - 60_000).await,
        Ok(Some(id.clone()))
    );
    assert_eq!(
        e.find_by_comment(&comment, &a, before).await,
        Ok(Some(id.clone()))
    );
    assert_eq!(
        e.find_by_comment(&comment, &a, before + 1_000).await,
        Ok(Some(id.clone())),
        "within the clock-skew allowance"
    );
    assert_eq!(e.find_by_comment(&comment, &b, before).await, Ok(None));
    let prefix = &comment[..comment.len() - 1];
    assert_eq!(e.find_by_comment(prefix, &a, before).await, Ok(None));
    assert_eq!(
        e.find_by_comment(&format!("{comment} precheck"), &a, before)
            .await,
        Ok(None)
    );
    assert_eq!(
        e.find_by_comment(&comment, &a, before + 60_000).await,
        Ok(None)
    );
    assert_eq!(
        e.find_by_comment(&comment, &a, before + 3_600_000).await,
        Ok(None)
    );
    assert_eq!(kit.commands_with_comment(&comment).await, 1);
}

/// Two commands with one comment (there should never be two; if there are) → the newer.
async fn the_newest_command_with_a_comment_is_found(kit: Kit) {
    let a = kit.managed_instance().await;
    let before = kit.now_ms();
    let comment = format!("selfheal {} verify", &harness::unique("n")[2..]);
    let first = send(&kit, &request(&a, &comment)).await;
    kit.sleep(Duration::from_millis(1_100)).await;
    let second = send(&kit, &request(&a, &comment)).await;
    assert_ne!(first, second);
    assert_eq!(
        kit.executor().find_by_comment(&comment, &a, before).await,
        Ok(Some(second))
    );
}

/// SSM keeps the first 100 characters of a comment; the full comment still finds the command.
async fn a_long_comment_is_found_by_what_ssm_keeps(kit: Kit) {
    let a = kit.managed_instance().await;
    let before = kit.now_ms();
    let comment = format!("selfheal {} {}", harness::unique("l"), "p".repeat(120));
    let id = send(&kit, &request(&a, &comment)).await;
    assert_eq!(
        kit.executor().find_by_comment(&comment, &a, before).await,
        Ok(Some(id))
    );
}

/// A just-sent command is `Running` (not yet visible) until it ends; moto ends every command in
/// `Success` with exit code 0, the fake as planned (success by default). Polling it on an
/// instance it was not sent to is "not visible" (`InvocationDoesNotExist`), never an error.
async fn a_sent_command_is_polled_to_its_end(kit: Kit) {
    let a = kit.managed_instance().await;
    let b = kit.managed_instance().await;
    let comment = format!("selfheal {} precheck", &harness::unique("p")[2..]);
    let id = send(&kit, &request(&a, &comment)).await;
    let end = poll_to_end(&kit, &id, &a).await;
    assert_eq!(end.status, InvocationStatus::Success, "{end:?}");
    assert_eq!(end.exit_code, Some(0), "{end:?}");
    let elsewhere = kit.executor().poll(&id, &b).await;
    assert_eq!(
        elsewhere.map(|i| i.status),
        Ok(InvocationStatus::Running),
        "an instance the command was not sent to"
    );
}

/// SendCommand to an instance SSM does not manage answers `InvalidInstanceId`: the adapter
/// says `Sent::InvalidInstance`, and no command exists.
///
/// moto accepts SendCommand for any instance id (it does not check that the instance exists or
/// runs an agent), so on moto the fault layer answers for SSM, with the error SSM sends (HTTP
/// 400, `{"__type": "InvalidInstanceId"}`) to any SendCommand naming the unmanaged instance.
async fn an_unmanaged_instance_is_invalid_instance_and_nothing_is_sent(kit: Kit) {
    let gone = kit.unmanaged_instance();
    let before = kit.now_ms();
    let comment = format!("selfheal {} commands", &harness::unique("u")[2..]);
    let r = kit.executor().send(&request(&gone, &comment)).await;
    assert!(matches!(r, Ok(Sent::InvalidInstance(_))), "{r:?}");
    assert_eq!(
        kit.executor()
            .find_by_comment(&comment, &gone, before)
            .await,
        Ok(None)
    );
    assert_eq!(kit.commands_with_comment(&comment).await, 0);
}

// ---------------------------------------------------------------------------------------------

/// An instance id no implementation knows.
pub const UNMANAGED: &str = "i-0badc0de0badc0de0";

pub struct FakeKit {
    pub clock: Arc<FakeClock>,
    pub exec: Arc<FakeExecutor>,
    next: std::sync::atomic::AtomicU32,
}

impl FakeKit {
    pub fn new() -> Self {
        let clock = FakeClock::new(1_700_000_000_000);
        let exec = FakeExecutor::new(clock.clone());
        exec.unmanaged
            .lock()
            .expect("not poisoned")
            .push(UNMANAGED.to_owned());
        Self {
            clock,
            exec,
            next: std::sync::atomic::AtomicU32::new(1),
        }
    }
}

#[async_trait]
impl ExecKit for FakeKit {
    fn executor(&self) -> Arc<dyn Executor> {
        self.exec.clone()
    }
    async fn managed_instance(&self) -> InstanceId {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InstanceId::parse(&format!("i-{n:017x}")).expect("valid id")
    }
    fn unmanaged_instance(&self) -> InstanceId {
        InstanceId::parse(UNMANAGED).expect("valid id")
    }
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
    async fn sleep(&self, d: Duration) {
        self.clock.sleep(d).await;
    }
    async fn commands_with_comment(&self, comment: &str) -> usize {
        self.exec
            .sent()
            .iter()
            .filter(|s| s.request.comment == comment)
            .count()
    }
}

pub struct SsmKit {
    pub url: String,
    pub ssm: aws_sdk_ssm::Client,
    pub exec: Arc<selfheal_aws::SsmExecutor>,
}

impl SsmKit {
    pub async fn new(url: &str) -> Self {
        let clients = harness::clients(url).await;
        let ssm = clients.ssm.clone();
        // moto cannot model an unmanaged instance: answer for it as SSM does.
        selfheal_aws::local::set_faults(
            url,
            &serde_json::json!([{
                "operation": "AmazonSSM.SendCommand",
                "body_contains": UNMANAGED,
                "when": "before",
                "status": 400,
                "error_code": "InvalidInstanceId",
                "message": "Instances [[i-0badc0de0badc0de0]] not in a valid state for account 123456789012"
            }]),
        )
        .await
        .expect("fault rule set");
        Self {
            url: url.to_owned(),
            exec: Arc::new(selfheal_aws::SsmExecutor::new(ssm.clone())),
            ssm,
        }
    }
}

#[async_trait]
impl ExecKit for SsmKit {
    fn executor(&self) -> Arc<dyn Executor> {
        self.exec.clone()
    }
    async fn managed_instance(&self) -> InstanceId {
        let url = self.url.clone();
        let id = tokio::task::spawn_blocking(move || {
            selfheal_aws::local::run_instance(&url, &[("Name", "contract")])
        })
        .await
        .expect("joined")
        .expect("instance");
        InstanceId::parse(&id).expect("valid id")
    }
    fn unmanaged_instance(&self) -> InstanceId {
        InstanceId::parse(UNMANAGED).expect("valid id")
    }
    fn now_ms(&self) -> i64 {
        harness::wall_ms()
    }
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
    async fn commands_with_comment(&self, comment: &str) -> usize {
        // Every command (moto ignores Filters and pages everything at once).
        let out = self.ssm.list_commands().send().await.expect("ListCommands");
        out.commands()
            .iter()
            .filter(|c| c.comment() == Some(selfheal_aws::ssm_executor::ssm_comment(comment)))
            .count()
    }
}
