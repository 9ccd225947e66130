//! End to end against moto: the real DynamoDB record store and SQS queue adapters. A signed
//! click puts exactly one approval on the queue; a double click, a replay and a second person
//! still leave exactly one; a refused click leaves none.
//!
//! Uses `SELFHEAL_MOTO_URL` when set, else starts moto with `SELFHEAL_MOTO_PYTHON` or the
//! project's `.venv/bin/python` (and `tests/moto/moto_launcher.py`). Without either it prints a
//! notice and passes, unless `SELFHEAL_REQUIRE_MOTO` is set.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use selfheal_aws::local::{clients, create_table, Moto};
use selfheal_aws::slack::Secret;
use selfheal_core::approval::{
    parse_approval, Approval, Decision, ACTION_RUN, ACTION_SKIP, DEFAULT_TTL_MS,
};
use slack_approvals::adapters::{DynamoApprovalStore, SqsApprovalQueue};
use slack_approvals::{handle, App};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The emulator's URL, and the server when this test started one.
fn moto(test: &str) -> Option<(String, Option<Moto>)> {
    selfheal_aws::local::moto_for_test(test, &root())
}

async fn receive_all(c: &selfheal_aws::AwsClients, queue_url: &str) -> Vec<Approval> {
    let mut out = Vec::new();
    for _ in 0..3 {
        let got = c
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("ReceiveMessage");
        for m in got.messages() {
            let body = m.body().unwrap_or_default();
            out.push(parse_approval(body).expect("an approval").expect("valid"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_click_enqueues_once_against_moto() {
    let Some((url, _server)) = moto("signed_click_enqueues_once_against_moto") else {
        return;
    };
    let c = clients(&url).await;
    let table = "selfheal-approvals-e2e";
    create_table(&c, table).await.expect("table");
    let queue_url = c
        .sqs
        .create_queue()
        .queue_name("selfheal-approvals-e2e")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue url");

    let store = Arc::new(DynamoApprovalStore::new(c.dynamodb.clone(), table));
    let responder = Arc::new(RecResponder::default());
    let app = App {
        signing_secret: Secret::new(SECRET),
        runbooks: Arc::new(runbooks()),
        default_group: None,
        ttl_ms: DEFAULT_TTL_MS,
        store: store.clone(),
        queue: Arc::new(SqsApprovalQueue::new(c.sqs.clone(), queue_url.clone())),
        directory: None,
        responder: responder.clone(),
    };

    // A refused click (not an approver) leaves nothing behind.
    let refused = handle(
        &app,
        &press("U666", ACTION_RUN, "web:nginx_down", "1700000060.000000"),
        NOW,
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(store.get(IDENTITY).await.expect("GetItem").is_none());

    // The signed click.
    let click = press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001");
    let first = handle(&app, &click, NOW).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body["text"],
        ":white_check_mark: Approved by <@U123> — running"
    );

    // Double click, replay of the same request, and someone else's Skip.
    let double = handle(
        &app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1700000060.300000"),
        NOW + 300,
    )
    .await;
    let replay = handle(&app, &click, NOW + 1_000).await;
    let other = handle(
        &app,
        &press("U123", ACTION_SKIP, "web:nginx_down", "1700000065.000000"),
        NOW + 5_000,
    )
    .await;
    for r in [&double, &replay, &other] {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(
        double.body["text"],
        "Already approved by <@U123> — nothing more to do."
    );
    assert_eq!(replay.body["text"], first.body["text"]);

    let sent = receive_all(&c, &queue_url).await;
    assert_eq!(sent.len(), 1, "exactly one approval on the queue: {sent:?}");
    assert_eq!(sent[0].decision, Decision::Run);
    assert_eq!(sent[0].identity, IDENTITY);
    let record = store
        .get(IDENTITY)
        .await
        .expect("GetItem")
        .expect("recorded");
    assert!(sent[0].matches_record(&record));
    assert_eq!(record.queued_at_ms, Some(NOW));
    assert!(record.expires_at > NOW / 1000);
}
