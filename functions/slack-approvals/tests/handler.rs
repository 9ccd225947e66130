//! The request path over fakes: every refusal is a clear 4xx (or 503) with nothing enqueued,
//! and a press — clicked twice, replayed, or by two people at once — enqueues exactly one
//! approval.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use selfheal_core::approval::{
    parse_approval, sign, Approval, ApprovalRecord, Decision, ACTION_RUN, ACTION_SKIP,
    DEFAULT_TTL_MS,
};
use serde_json::{json, Value};
use slack_approvals::{handle, HttpRequest};

fn approvals(h: &Harness) -> Vec<Approval> {
    h.queue
        .bodies()
        .iter()
        .map(|b| parse_approval(b).expect("an approval").expect("valid"))
        .collect()
}

/// Nothing was enqueued or recorded.
fn assert_nothing_happened(h: &Harness) {
    assert!(
        h.queue.bodies().is_empty(),
        "enqueued: {:?}",
        h.queue.bodies()
    );
    assert!(
        h.store.get(IDENTITY).is_none(),
        "recorded: {:?}",
        h.store.get(IDENTITY)
    );
}

#[tokio::test]
async fn a_permitted_run_press_enqueues_one_approval_and_replaces_the_message() {
    let h = harness();
    let resp = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["replace_original"], true);
    assert_eq!(
        resp.body["text"],
        ":white_check_mark: Approved by <@U123> — running"
    );
    let blocks = resp.body["blocks"].as_array().expect("blocks");
    assert!(
        blocks.iter().all(|b| b["type"] != "actions"),
        "buttons removed: {blocks:?}"
    );

    let sent = approvals(&h);
    assert_eq!(sent.len(), 1);
    let a = &sent[0];
    assert_eq!(a.identity, IDENTITY);
    assert_eq!(a.key, "web:nginx_down");
    assert_eq!(a.decision, Decision::Run);
    assert_eq!(a.user_id, "U123");
    assert_eq!(a.user_name.as_deref(), Some("name-U123"));
    assert_eq!(a.allowed_by, "user");
    assert_eq!(a.action_ts.as_deref(), Some("1700000060.000001"));
    assert_eq!(a.channel_id.as_deref(), Some("C1"));
    assert_eq!(a.message_ts.as_deref(), Some(MESSAGE_TS));
    assert_eq!(a.requested_at_ms, T0);
    assert_eq!(a.expires_at_ms, T0 + DEFAULT_TTL_MS);
    assert_eq!(a.pressed_at_ms, NOW);

    let record = h.store.get(IDENTITY).expect("recorded");
    assert!(a.matches_record(&record));
    assert_eq!(record.queued_at_ms, Some(NOW));

    // The message is replaced through response_url (Slack ignores the answer's body for
    // block_actions).
    let posts = h.responder.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, RESPONSE_URL);
    assert_eq!(posts[0].1, resp.body);
}

#[tokio::test]
async fn skip_is_recorded_and_enqueued_too() {
    let h = harness();
    let resp = handle(
        &h.app,
        &press("U123", ACTION_SKIP, "web:nginx_down", "1700000060.000001"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body["text"],
        ":fast_forward: Skipped by <@U123> — nothing will run"
    );
    let sent = approvals(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].decision, Decision::Skip);
}

#[tokio::test]
async fn a_double_click_enqueues_once_and_the_second_hears_who_decided() {
    let h = harness();
    let first = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001"),
        NOW,
    )
    .await;
    let second = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1700000060.400000"),
        NOW + 400,
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(second.body["response_type"], "ephemeral");
    assert_eq!(
        second.body["text"],
        "Already approved by <@U123> — nothing more to do."
    );
    assert_eq!(h.queue.bodies().len(), 1);

    // A different person pressing Skip later does not change the decision.
    let third = handle(
        &h.app,
        &press("U900", ACTION_SKIP, "web:nginx_down", "1700000070.000000"),
        NOW + 10_000,
    )
    .await;
    assert_eq!(third.status, 200);
    assert_eq!(
        third.body["text"],
        "Already approved by <@U123> — nothing more to do."
    );
    assert_eq!(h.queue.bodies().len(), 1);
    assert_eq!(
        h.store.get(IDENTITY).map(|r| r.decision),
        Some(Decision::Run)
    );
}

#[tokio::test]
async fn a_replayed_request_is_answered_as_a_duplicate_without_a_second_enqueue() {
    let h = harness();
    let req = press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001");
    let first = handle(&h.app, &req, NOW).await;
    let replay = handle(&h.app, &req, NOW + 2_000).await;
    assert_eq!(first.status, 200);
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["text"], first.body["text"], "the same answer");
    assert_eq!(h.queue.bodies().len(), 1, "nothing sent twice");
    // After five minutes the same request is refused outright.
    let late = handle(&h.app, &req, NOW + 301_000).await;
    assert_eq!(late.status, 401);
    assert_eq!(late.body["error"], "stale_timestamp");
    assert_eq!(h.queue.bodies().len(), 1);
}

#[tokio::test]
async fn two_people_at_once_enqueue_exactly_one_approval() {
    let h = harness();
    h.queue.delay_ms.store(50, Ordering::SeqCst);
    let a = press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001");
    let b = press("U900", ACTION_SKIP, "web:nginx_down", "1700000060.000002");
    let (ra, rb) = tokio::join!(handle(&h.app, &a, NOW), handle(&h.app, &b, NOW));
    assert_eq!((ra.status, rb.status), (200, 200));
    let sent = approvals(&h);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let winner = &sent[0];
    let record = h.store.get(IDENTITY).expect("recorded");
    assert!(winner.matches_record(&record));
    let texts = [
        ra.body["text"].as_str().unwrap_or(""),
        rb.body["text"].as_str().unwrap_or(""),
    ];
    assert_eq!(
        texts.iter().filter(|t| t.starts_with("Already")).count(),
        1,
        "the loser hears who decided: {texts:?}"
    );
}

#[tokio::test]
async fn a_bad_signature_is_401_and_touches_nothing() {
    let h = harness();
    let mut req = press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001");
    req.headers.insert(
        "x-slack-signature".into(),
        sign(b"not-the-secret", &(NOW / 1000).to_string(), &req.body),
    );
    let resp = handle(&h.app, &req, NOW).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body["error"], "bad_signature");
    assert_nothing_happened(&h);
    assert!(
        h.responder.posts().is_empty(),
        "an unauthenticated response_url is never used"
    );

    // A body changed after signing.
    let mut tampered = press("U123", ACTION_RUN, "web:nginx_down", "1700000060.000001");
    tampered.body = form(&payload(
        "U666",
        ACTION_RUN,
        &button_value("web:nginx_down"),
        "1700000060.000001",
    ));
    assert_eq!(handle(&h.app, &tampered, NOW).await.status, 401);
    assert_nothing_happened(&h);
}

#[tokio::test]
async fn an_old_or_unsigned_request_is_401() {
    let h = harness();
    let body = form(&payload(
        "U123",
        ACTION_RUN,
        &button_value("web:nginx_down"),
        "1",
    ));
    let old = signed(body.clone(), NOW / 1000 - 301);
    let resp = handle(&h.app, &old, NOW).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body["error"], "stale_timestamp");
    let unsigned = HttpRequest {
        headers: Default::default(),
        body,
    };
    let resp = handle(&h.app, &unsigned, NOW).await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.body["error"], "unsigned");
    assert_nothing_happened(&h);
    assert!(h.responder.posts().is_empty());
}

#[tokio::test]
async fn a_user_who_is_not_an_approver_is_403() {
    let h = harness();
    let resp = handle(
        &h.app,
        &press("U666", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.body["error"], "not_allowed");
    assert_nothing_happened(&h);
    // The presser is told why, privately.
    let posts = h.responder.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].1["response_type"], "ephemeral");
    assert!(posts[0].1["text"]
        .as_str()
        .unwrap_or("")
        .contains("not allowed"));
}

#[tokio::test]
async fn group_members_and_the_default_group_may_approve() {
    let h = harness();
    // U900 is in S777, listed in the runbook's approvers.
    let resp = handle(
        &h.app,
        &press("U900", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(approvals(&h)[0].allowed_by, "group:S777");

    // db:* lists no approvers: only the default group S999 (U555) may press.
    let h = harness();
    let resp = handle(
        &h.app,
        &press("U123", ACTION_RUN, "db:replication_lag", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 403);
    let resp = handle(
        &h.app,
        &press("U555", ACTION_RUN, "db:replication_lag", "2"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(approvals(&h)[0].allowed_by, "group:S999");
    assert_eq!(approvals(&h)[0].key, "db:replication_lag");

    // A user listed by id needs no group lookup.
    let h = harness();
    handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(h.directory.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn group_lookups_fail_closed() {
    // Slack's group API is down: 503, press again; nothing recorded.
    let h = harness();
    h.directory.fail.store(true, Ordering::SeqCst);
    let resp = handle(
        &h.app,
        &press("U900", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 503);
    assert_nothing_happened(&h);

    // No token configured: groups allow nobody (users listed by id still may).
    let mut h = harness();
    h.app.directory = None;
    let resp = handle(
        &h.app,
        &press("U900", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 403);
    assert_nothing_happened(&h);
    let resp = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "2"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn an_expired_request_is_410() {
    let h = harness();
    let late = T0 + DEFAULT_TTL_MS + 1;
    let req = signed(
        form(&payload(
            "U123",
            ACTION_RUN,
            &button_value("web:nginx_down"),
            "1",
        )),
        late / 1000,
    );
    let resp = handle(&h.app, &req, late).await;
    assert_eq!(resp.status, 410);
    assert_eq!(resp.body["error"], "expired");
    assert_nothing_happened(&h);

    // A button value claiming a later expiry is capped by the message's own time.
    let mut forged: Value = serde_json::from_str(&button_value("web:nginx_down")).expect("json");
    forged["exp"] = json!(T0 + 86_400_000);
    let req = signed(
        form(&payload("U123", ACTION_RUN, &forged.to_string(), "1")),
        late / 1000,
    );
    assert_eq!(handle(&h.app, &req, late).await.status, 410);
    assert_nothing_happened(&h);

    // A shorter TTL configured in the function wins.
    let mut h = harness();
    h.app.ttl_ms = 30_000;
    assert_eq!(
        handle(
            &h.app,
            &press("U123", ACTION_RUN, "web:nginx_down", "1"),
            NOW
        )
        .await
        .status,
        410
    );
    assert_nothing_happened(&h);
}

#[tokio::test]
async fn an_unknown_action_is_400() {
    let h = harness();
    let resp = handle(
        &h.app,
        &press("U123", "selfheal_run_everything", "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.body["error"], "unknown_action");
    assert_nothing_happened(&h);
}

#[tokio::test]
async fn a_malformed_payload_is_400() {
    let h = harness();
    let mut view = payload("U123", ACTION_RUN, &button_value("web:nginx_down"), "1");
    view["type"] = json!("view_submission");
    for body in [
        b"payload=%7Bbroken".to_vec(),
        b"command=%2Fselfheal&text=run".to_vec(),
        Vec::new(),
        form(&view),
        form(&payload("U123", ACTION_RUN, "run it please", "1")),
        form(&payload(
            "U123",
            ACTION_RUN,
            r#"{"v":1,"id":"x","key":"no-colon","req":1,"exp":2}"#,
            "1",
        )),
    ] {
        let resp = handle(&h.app, &signed(body.clone(), NOW / 1000), NOW).await;
        assert_eq!(resp.status, 400, "{}", String::from_utf8_lossy(&body));
        assert_eq!(resp.body["error"], "malformed");
    }
    assert!(h.queue.bodies().is_empty());
    assert!(h.store.records.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_key_without_an_approve_runbook_is_403() {
    let h = harness();
    for key in ["web:disk_full", "cache:evictions"] {
        let resp = handle(&h.app, &press("U123", ACTION_RUN, key, "1"), NOW).await;
        assert_eq!(resp.status, 403, "{key}");
        assert_eq!(resp.body["error"], "not_approvable");
    }
    assert!(h.queue.bodies().is_empty());
    assert!(h.store.records.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_failed_send_frees_the_record_so_the_next_press_works() {
    let h = harness();
    h.queue.fail.store(true, Ordering::SeqCst);
    let resp = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 503);
    assert_nothing_happened(&h);
    let posts = h.responder.posts();
    assert!(posts[0].1["text"]
        .as_str()
        .unwrap_or("")
        .contains("press again"));

    h.queue.fail.store(false, Ordering::SeqCst);
    let resp = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "2"),
        NOW + 5_000,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(h.queue.bodies().len(), 1);

    // The state table unreachable: 503, nothing sent.
    let h = harness();
    h.store.fail.store(true, Ordering::SeqCst);
    let resp = handle(
        &h.app,
        &press("U123", ACTION_RUN, "web:nginx_down", "1"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 503);
    assert!(h.queue.bodies().is_empty());
}

fn interrupted_record(pressed_at_ms: i64) -> ApprovalRecord {
    let req = press("U123", ACTION_RUN, "web:nginx_down", "1700000000.5");
    let press = selfheal_core::approval::parse_press(&req.body).expect("press");
    let a = Approval::from_press(
        &press,
        &selfheal_core::approval::AllowedBy::User,
        T0 + DEFAULT_TTL_MS,
        pressed_at_ms,
    );
    ApprovalRecord::from_approval(&a)
}

#[tokio::test]
async fn an_interrupted_record_is_completed_by_the_next_press_with_the_first_decision() {
    // A press recorded a minute and a half ago but never sent (the function died in between).
    let h = harness();
    let stale = interrupted_record(NOW - 90_000);
    h.store
        .records
        .lock()
        .expect("lock")
        .insert(IDENTITY.to_owned(), stale.clone());
    let resp = handle(
        &h.app,
        &press("U900", ACTION_SKIP, "web:nginx_down", "9"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body["text"],
        ":white_check_mark: Approved by <@U123> — running"
    );
    let sent = approvals(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].user_id, "U123",
        "the first press's decision is sent"
    );
    assert!(sent[0].matches_record(&stale));
    assert!(h
        .store
        .get(IDENTITY)
        .is_some_and(|r| r.queued_at_ms.is_some()));

    // A fresh unqueued record (another press in flight) is left alone.
    let h = harness();
    h.store
        .records
        .lock()
        .expect("lock")
        .insert(IDENTITY.to_owned(), interrupted_record(NOW - 1_000));
    let resp = handle(
        &h.app,
        &press("U900", ACTION_SKIP, "web:nginx_down", "9"),
        NOW,
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body["text"],
        "Already approved by <@U123> — nothing more to do."
    );
    assert!(h.queue.bodies().is_empty());
}

#[tokio::test]
async fn function_url_events_are_read_plain_or_base64() {
    use base64::Engine as _;
    let req = press("U123", ACTION_RUN, "web:nginx_down", "1");
    let headers: serde_json::Map<String, Value> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), Value::String(v.clone())))
        .collect();
    let plain = json!({
        "version": "2.0", "rawPath": "/", "headers": headers,
        "requestContext": {"http": {"method": "POST"}},
        "body": String::from_utf8(req.body.clone()).expect("utf8"), "isBase64Encoded": false
    });
    let mut encoded = plain.clone();
    encoded["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&req.body));
    encoded["isBase64Encoded"] = json!(true);
    for event in [plain, encoded] {
        let parsed = HttpRequest::from_function_url_event(&event).expect("reads");
        assert_eq!(parsed, req);
        let h = harness();
        let resp = handle(&h.app, &parsed, NOW).await;
        assert_eq!(resp.status, 200);
        let out = resp.to_function_url();
        assert_eq!(out["statusCode"], 200);
        assert_eq!(out["headers"]["content-type"], "application/json");
        let body: Value =
            serde_json::from_str(out["body"].as_str().expect("string")).expect("json");
        assert_eq!(body["replace_original"], true);
    }
    let bad = json!({"body": "%%%", "isBase64Encoded": true});
    assert!(HttpRequest::from_function_url_event(&bad).is_err());
}

#[tokio::test]
async fn no_answer_leaks_the_secret_or_the_signature() {
    let h = harness();
    let mut req = press("U666", ACTION_RUN, "web:nginx_down", "1");
    let sig = req.headers["x-slack-signature"].clone();
    for (status, r) in [
        (403, req.clone()),
        (401, {
            req.headers.insert(
                "x-slack-signature".into(),
                "v0=".to_owned() + &"0".repeat(64),
            );
            req.clone()
        }),
    ] {
        let resp = handle(&h.app, &r, NOW).await;
        assert_eq!(resp.status, status);
        let text = resp.to_function_url().to_string();
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&sig[3..]), "{text}");
    }
}
