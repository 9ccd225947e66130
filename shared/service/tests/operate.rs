//! Silences, maintenance windows, needs-review and Slack approvals, through the engine over fakes
//! (deterministic clock). The same rules are exercised against moto in the CLI's tests.

mod common;
use common::*;
use selfheal_core::approval::{approval_message, Approval, ApprovalRecord, Decision};
use selfheal_core::claim_id;
use selfheal_core::silence::{parse_time, SilenceRecord};
use selfheal_service::fakes::FakeWorld;
use selfheal_service::ports::{ClaimState, GlobalMode};
use selfheal_service::Outcome;
use std::time::Duration;

fn silence(id: &str, scope: &str, until_ms: i64) -> SilenceRecord {
    SilenceRecord {
        id: id.into(),
        scope: scope.into(),
        until_ms: Some(until_ms),
        window: None,
        tz: None,
        reason: "disk swap".into(),
        created_by: "alice".into(),
        created_at_ms: T0 - 1,
    }
}

async fn one(w: &FakeWorld, id: &str, body: String) -> Outcome {
    let e = engine(w, standard_runbooks());
    e.process_batch(vec![rec(id, body)], DEADLINE).await[0].outcome
}

#[tokio::test]
async fn every_scope_silences_and_runs_nothing() {
    for scope in [
        format!("instance:{NGINX}"),
        "role:api".to_owned(),
        "key:api:nginx_down".to_owned(),
        "all".to_owned(),
    ] {
        let w = world();
        w.store.add_silence(silence("s1", &scope, T0 + 3_600_000));
        let o = one(&w, "m1", cw_body("api:nginx_down", "ALARM", NGINX, "t1")).await;
        assert_eq!(o, Outcome::Silenced, "{scope}");
        assert!(w.executor.sent().is_empty(), "{scope}: nothing ran");
        let h = w.store.history();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].outcome, "silenced");
        assert!(h[0].reason.contains("alice"), "{}", h[0].reason);
        assert!(w.escalations.all().is_empty(), "a silence never pages");
    }
}

#[tokio::test]
async fn other_scopes_and_expired_silences_do_not_apply() {
    let w = world();
    w.store
        .add_silence(silence("s1", "role:web", T0 + 3_600_000));
    w.store
        .add_silence(silence("s2", "key:api:other", T0 + 3_600_000));
    w.store.add_silence(silence(
        "s3",
        "instance:i-0123456789abcdef0",
        T0 + 3_600_000,
    ));
    w.store.add_silence(silence("s4", "all", T0 - 1));
    let o = one(&w, "m1", cw_body("api:nginx_down", "ALARM", NGINX, "t1")).await;
    assert_eq!(o, Outcome::Healed);
    assert_eq!(w.executor.sent().len(), 3);
}

#[tokio::test]
async fn a_silence_is_announced_once_and_ends_on_time() {
    let w = world();
    w.store.add_silence(silence("s1", "role:api", T0 + 600_000));
    let e = engine(&w, standard_runbooks());
    for i in 0..5 {
        let body = cw_body("api:nginx_down", "ALARM", NGINX, &format!("t{i}"));
        let r = e
            .process_batch(vec![rec(&format!("m{i}"), body)], DEADLINE)
            .await;
        assert_eq!(r[0].outcome, Outcome::Silenced);
    }
    let silenced: Vec<_> = w
        .chat
        .all()
        .into_iter()
        .filter(|a| a.outcome.as_deref() == Some("silenced"))
        .collect();
    assert_eq!(silenced.len(), 1, "announced once, quietly");
    assert!(silenced[0].detail.contains("only recorded"));
    assert_eq!(w.store.history().len(), 5, "every alert recorded");
    // Past its end the same kind of alert runs again.
    w.clock.advance(Duration::from_secs(601));
    let body = cw_body("api:nginx_down", "ALARM", NGINX, "later");
    let r = e.process_batch(vec![rec("m9", body)], DEADLINE).await;
    assert_eq!(r[0].outcome, Outcome::Healed);
}

#[tokio::test]
async fn a_maintenance_window_in_tokyo_silences_its_role_only_inside() {
    // T0 is 2026-11-23T03:03:20Z, a Monday: 12:03 in Tokyo.
    let w = world();
    w.store.add_silence(SilenceRecord {
        id: "w1".into(),
        scope: "role:api".into(),
        until_ms: None,
        window: Some("mon 12:00-13:00".into()),
        tz: Some("Asia/Tokyo".into()),
        reason: "weekly patching".into(),
        created_by: "bob".into(),
        created_at_ms: T0 - 86_400_000,
    });
    let o = one(&w, "m1", cw_body("api:nginx_down", "ALARM", NGINX, "t1")).await;
    assert_eq!(o, Outcome::Silenced);
    assert!(w.store.history()[0].reason.contains("maintenance window"));
    w.clock.advance(Duration::from_secs(3600));
    let o = one(&w, "m2", cw_body("api:nginx_down", "ALARM", NGINX, "t2")).await;
    assert_eq!(o, Outcome::Healed, "13:03 in Tokyo: outside the window");
}

#[tokio::test]
async fn the_instance_tag_silences_until_its_time() {
    let w = world();
    w.tags.silence(NGINX, "2026-11-23T04:00:00Z");
    let o = one(&w, "m1", cw_body("api:nginx_down", "ALARM", NGINX, "t1")).await;
    assert_eq!(o, Outcome::Silenced);
    assert!(w.store.history()[0].reason.contains("selfheal:silence"));
    w.tags.silence(NGINX, "not a time");
    let o = one(&w, "m2", cw_body("api:nginx_down", "ALARM", NGINX, "t2")).await;
    assert_eq!(
        o,
        Outcome::Silenced,
        "an unreadable tag silences: nothing runs on a guess"
    );
    w.tags.silence(NGINX, "2026-11-23T03:00:00Z");
    let o = one(&w, "m3", cw_body("api:nginx_down", "ALARM", NGINX, "t3")).await;
    assert_eq!(o, Outcome::Healed, "a tag in the past no longer applies");
    assert!(parse_time("2026-11-23T03:00:00Z").is_ok());
}

#[tokio::test]
async fn recoveries_are_recorded_not_silenced() {
    let w = world();
    w.store.add_silence(silence("s1", "all", T0 + 600_000));
    // An OK notification is only recorded (ignored), never "silenced".
    let o = one(&w, "m1", cw_body("api:nginx_down", "OK", NGINX, "t1")).await;
    assert_eq!(o, Outcome::Ignored);
}

#[tokio::test]
async fn budget_exhaustion_lists_the_alert_for_review() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    for i in 0..4 {
        let body = cw_body("api:nginx_down", "ALARM", NGINX, &format!("t{i}"));
        e.process_batch(vec![rec(&format!("m{i}"), body)], DEADLINE)
            .await;
    }
    let review = w.store.needs_review();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0].key, "api:nginx_down");
    assert_eq!(review[0].instance, NGINX);
    assert!(review[0].reason.contains("selfheal needs-review clear"));
}

// ---------------------------------------------------------------------------------------------
// Approvals

fn approval(identity: &str, decision: Decision, user: &str, press: &str) -> Approval {
    Approval {
        version: 1,
        identity: identity.into(),
        key: "api:approve".into(),
        decision,
        user_id: user.into(),
        user_name: Some("alice".into()),
        allowed_by: "user".into(),
        action_ts: Some("1795403100.000001".into()),
        press_id: format!("{user}@{press}"),
        channel_id: Some("C0123".into()),
        message_ts: Some("1795403000.000100".into()),
        requested_at_ms: T0,
        expires_at_ms: T0 + 1_800_000,
        pressed_at_ms: T0 + 60_000,
    }
}

/// Sends an approve-mode alert through; returns its identity (the claim awaits approval).
async fn awaiting(w: &FakeWorld) -> String {
    let o = one(w, "m1", cw_body("api:approve", "ALARM", NGINX, "t1")).await;
    assert_eq!(o, Outcome::AwaitingApproval);
    let h = w.store.history();
    let identity = h[0].identity.clone();
    let c = w.store.claim_of(&identity).expect("claim");
    assert_eq!(c.state, ClaimState::AwaitingApproval);
    assert!(c.body.is_some(), "the alert is kept for the resume");
    let asked = w
        .chat
        .all()
        .into_iter()
        .find(|a| a.outcome.as_deref() == Some("awaiting-approval"))
        .expect("asked in chat");
    let button = asked.approval.expect("Run / Skip buttons");
    assert_eq!(button.identity, identity);
    assert_eq!(button.key, "api:approve");
    assert_eq!(button.expires_at_ms, button.requested_at_ms + 1_800_000);
    assert_eq!(w.executor.sent_in_phase("commands").len(), 0);
    identity
}

fn precheck_and_commands(w: &FakeWorld) -> (usize, usize) {
    (
        w.executor.sent_in_phase("precheck").len(),
        w.executor.sent_in_phase("commands").len(),
    )
}

#[tokio::test]
async fn run_press_resumes_through_the_guards_once() {
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Run, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    w.clock.advance(Duration::from_secs(60));
    let e = engine(&w, standard_runbooks());
    // A double delivery of the same press, concurrently, and a replay later.
    let r = e
        .process_batch(
            vec![
                rec("a1", approval_message(&ap)),
                rec("a2", approval_message(&ap)),
            ],
            DEADLINE,
        )
        .await;
    let mut outcomes: Vec<Outcome> = r.iter().map(|r| r.outcome).collect();
    outcomes.sort_by_key(|o| o.as_str());
    assert!(
        outcomes == vec![Outcome::Duplicate, Outcome::Healed]
            || outcomes == vec![Outcome::Healed, Outcome::Retry],
        "one runs, the other is a duplicate or waits for it: {outcomes:?}"
    );
    let r = e
        .process_batch(vec![rec("a3", approval_message(&ap))], DEADLINE)
        .await;
    assert_eq!(r[0].outcome, Outcome::Duplicate);
    assert_eq!(
        precheck_and_commands(&w),
        (2, 1),
        "precheck again before acting, then the commands once"
    );
    let healed = w
        .store
        .history()
        .into_iter()
        .find(|h| h.outcome == "healed")
        .expect("healed");
    assert_eq!(healed.approver.as_deref(), Some("U123 (alice)"));
    assert_eq!(healed.decision.as_deref(), Some("run"));
    let result = w
        .chat
        .all()
        .into_iter()
        .find(|a| a.outcome.as_deref() == Some("healed"))
        .expect("result");
    let thread = result.thread.expect("answered in the request's thread");
    assert_eq!(
        (thread.channel.as_str(), thread.ts.as_str()),
        ("C0123", "1795403000.000100")
    );
    let c = w.store.claim_of(&identity).expect("claim");
    assert_eq!(c.state, ClaimState::Done);
    assert!(c.body.is_none(), "the kept alert is dropped once done");
}

#[tokio::test]
async fn skip_expiry_forgery_and_kill_switch_run_nothing() {
    // Skip.
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Skip, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Skipped);
    assert_eq!(precheck_and_commands(&w), (1, 0));
    let skipped = w
        .store
        .history()
        .into_iter()
        .find(|h| h.outcome == "skipped")
        .expect("skipped");
    assert_eq!(skipped.decision.as_deref(), Some("skip"));

    // A press recorded after the request's expiry is refused as unusable (slack-approvals
    // answers such a press 410 and never queues it); nothing runs.
    let w = world();
    let identity = awaiting(&w).await;
    let mut ap = approval(&identity, Decision::Run, "U123", "1");
    ap.pressed_at_ms = ap.expires_at_ms + 1;
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Invalid);
    assert_eq!(precheck_and_commands(&w), (1, 0));

    // A press is judged by the time it was pressed: Run pressed in time but handled after the
    // expiry (a slow queue) still runs, once.
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Run, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    w.clock.advance(Duration::from_secs(31 * 60));
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Healed);
    assert_eq!(precheck_and_commands(&w), (2, 1));

    // Nobody answers: the next batch ends the request itself (expired, announced, escalated).
    let w = world();
    let identity = awaiting(&w).await;
    w.clock.advance(Duration::from_secs(31 * 60));
    let o = one(&w, "m9", cw_body("api:approve", "OK", NGINX, "t9")).await;
    assert_eq!(o, Outcome::Ignored);
    let claim = w.store.claim_of(&identity).expect("claim");
    assert_eq!(claim.state, ClaimState::Done);
    assert_eq!(claim.outcome.as_deref(), Some("expired"));
    let expired = w
        .store
        .history()
        .into_iter()
        .find(|h| h.identity == identity && h.sort == selfheal_core::claim_id(&identity))
        .expect("final record");
    assert_eq!(expired.outcome, "expired");
    assert!(
        w.escalations
            .all()
            .iter()
            .any(|a| a.outcome.as_deref() == Some("expired")),
        "a human is told"
    );
    assert_eq!(precheck_and_commands(&w), (1, 0));
    // A press arriving after that changes nothing.
    let ap = approval(&identity, Decision::Run, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Duplicate);
    assert_eq!(precheck_and_commands(&w), (1, 0));

    // Forged: a message on the queue with no matching record from slack-approvals.
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Run, "U999", "1");
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Invalid);
    let real = approval(&identity, Decision::Run, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&real));
    let o = one(&w, "a2", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Invalid, "the record says another user pressed");
    assert_eq!(precheck_and_commands(&w), (1, 0));
    assert_eq!(
        w.store.claim_of(&identity).map(|c| c.state),
        Some(ClaimState::AwaitingApproval),
        "a forged press leaves the request open"
    );

    // The kill switch still applies after Run.
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Run, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    w.mode.set(GlobalMode::Off);
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Killed);
    assert_eq!(precheck_and_commands(&w), (1, 0));

    // Malformed approval messages are invalid, not retried.
    let w = world();
    let o = one(
        &w,
        "a1",
        r#"{"selfheal_approval": {"version": 1}}"#.to_owned(),
    )
    .await;
    assert_eq!(o, Outcome::Invalid);
    assert!(claim_id("x").len() > 4);
}

#[tokio::test]
async fn an_approved_run_interrupted_by_capacity_resumes_on_redelivery() {
    use selfheal_service::ports::StateStore;
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Run, "U123", "1");
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    // Another remediation of role api holds the only lease.
    assert!(w
        .store
        .acquire_lease("api", "someone-else", 1, T0, T0 + 3_600_000)
        .await
        .expect("lease"));
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::CapacityWait);
    assert_eq!(precheck_and_commands(&w), (1, 0));
    w.store
        .release_lease("api", "someone-else")
        .await
        .expect("released");
    // The same approval message comes back from the queue: it resumes, runs once.
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Healed);
    assert_eq!(precheck_and_commands(&w), (2, 1));
    let o = one(&w, "a1", approval_message(&ap)).await;
    assert_eq!(o, Outcome::Duplicate, "done is done");
}
