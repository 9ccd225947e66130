//! The contract suite: the in-memory fakes (`selfheal_service::fakes`) must behave like the
//! real adapters, because the fault matrix and the deterministic simulation prove the engine's
//! invariants over the fakes (ARCHITECTURE.md, "Invariants"). Each contract is written once, as
//! an async function over a port and a small "kit" that sets up the world (an instance with
//! tags, an alarm, a parameter) and looks into it (raw items, listed commands); it runs against
//! the fake and against the real adapter on moto with the same assertions. A fake that passes
//! where AWS would not is a defect of the fake.
//!
//! | port | fake | real adapter | contracts |
//! |---|---|---|---|
//! | `StateStore` | `FakeStore` | `DynamoStateStore` | `contract/store.rs` |
//! | `Executor` | `FakeExecutor` | `SsmExecutor` | `contract/executor.rs` |
//! | `Tags`, `Alarms`, `ModeSource` | `FakeTags`, `FakeAlarms`, `FakeMode` | `TaggingRoles`, `CloudWatchAlarms`, `ParameterMode` | `contract/instances.rs` |
//! | lost responses (store, executor) | `LostResponses` over the fakes | the adapters behind moto's fault layer | `contract/lost.rs` |
//!
//! Where moto cannot model AWS, the kit says so and stands in for the service with the fault
//! layer (an instance SSM does not manage: SendCommand answers `InvalidInstanceId`). What no
//! fake models (DynamoDB TTL deletion) is documented on the fake and checked only on DynamoDB.
//!
//! Each test function below runs one port's contracts on one implementation (a moto per test
//! function, `SELFHEAL_MOTO_URL` to reuse one), and reports every failed contract by name.

#[path = "contract/harness.rs"]
mod harness;

#[path = "contract/executor.rs"]
mod executor;
#[path = "contract/instances.rs"]
mod instances;
#[path = "contract/lost.rs"]
mod lost;
#[path = "contract/store.rs"]
mod store;

use std::sync::Arc;

use selfheal_service::fakes::{FakeAlarms, FakeMode};
use selfheal_service::ports::GlobalMode;

#[tokio::test]
async fn state_store_fake() {
    let kit: store::Kit = Arc::new(store::FakeKit);
    harness::run("FakeStore", kit, store::cases(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_store_dynamodb() {
    let Some((url, _moto)) = harness::moto("state_store_dynamodb") else {
        return;
    };
    let kit: store::Kit = Arc::new(store::DynamoKit {
        clients: harness::clients(&url).await,
    });
    harness::run("DynamoStateStore", kit, store::cases(), false).await;
}

#[tokio::test]
async fn executor_fake() {
    let kit: executor::Kit = Arc::new(executor::FakeKit::new());
    harness::run("FakeExecutor", kit, executor::cases(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executor_ssm() {
    let Some((url, _moto)) = harness::moto("executor_ssm") else {
        return;
    };
    let kit: executor::Kit = Arc::new(executor::SsmKit::new(&url).await);
    harness::run("SsmExecutor", kit, executor::cases(), false).await;
}

#[tokio::test]
async fn tags_fake() {
    let kit: instances::TagKitRef = Arc::new(instances::FakeTagKit::new());
    harness::run("FakeTags", kit, instances::tag_cases(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_tagging_api() {
    let Some((url, _moto)) = harness::moto("tags_tagging_api") else {
        return;
    };
    let clients = harness::clients(&url).await;
    for (name, account) in [
        ("TaggingRoles (by ARN)", Some("123456789012")),
        ("TaggingRoles (scan)", None),
    ] {
        let kit: instances::TagKitRef =
            Arc::new(instances::TaggingKit::new(&url, &clients, account));
        let known = if account.is_none() {
            vec![instances::SCAN_MISSES_SILENCE_WITHOUT_ROLE]
        } else {
            vec![]
        };
        harness::run_known(name, kit, instances::tag_cases(), false, &known).await;
    }
}

#[tokio::test]
async fn alarms_fake() {
    let kit: instances::AlarmKitRef =
        Arc::new(instances::FakeAlarmKit(Arc::new(FakeAlarms::default())));
    harness::run("FakeAlarms", kit, instances::alarm_cases(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_cloudwatch() {
    let Some((url, _moto)) = harness::moto("alarms_cloudwatch") else {
        return;
    };
    let kit: instances::AlarmKitRef = Arc::new(instances::CloudWatchKit::new(
        &url,
        harness::clients(&url).await,
    ));
    harness::run("CloudWatchAlarms", kit, instances::alarm_cases(), false).await;
}

#[tokio::test]
async fn mode_fake() {
    let kit: instances::ModeKitRef =
        Arc::new(instances::FakeModeKit(FakeMode::new(GlobalMode::Enforce)));
    harness::run("FakeMode", kit, instances::mode_cases(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_parameter() {
    let Some((url, _moto)) = harness::moto("mode_parameter") else {
        return;
    };
    let clients = harness::clients(&url).await;
    let kit: instances::ModeKitRef = Arc::new(instances::ParameterKit::new(&clients));
    harness::run("ParameterMode", kit, instances::mode_cases(), true).await;
}

#[tokio::test]
async fn lost_responses_fake() {
    let kit: lost::Kit = Arc::new(lost::FakeKit);
    harness::run("LostResponses<fakes>", kit, lost::cases(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_moto() {
    let Some((url, _moto)) = harness::moto("lost_responses_moto") else {
        return;
    };
    let kit: lost::Kit = Arc::new(lost::MotoKit {
        clients: harness::clients(&url).await,
        url,
    });
    harness::run("adapters behind faults", kit, lost::cases(), true).await;
}
