//! The history fields the weekly reporter reads without runbooks — `owner`, `description`,
//! `mode`, `escalated`, `waited_ms` — filled by the engine on real flows over the fakes
//! (deterministic clock).

mod common;
use common::*;
use selfheal_core::approval::{approval_message, Approval, ApprovalRecord, Decision};
use selfheal_core::claim_id;
use selfheal_service::fakes::{CommandPlan, FakeWorld};
use selfheal_service::ports::{GlobalMode, HistoryRecord, StateStore};
use selfheal_service::{InboundRecord, Outcome};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn map() -> std::sync::Arc<selfheal_core::RunbookMap> {
    runbooks(
        r#"{
      "api:nginx_down": {"owner": "@web", "description": "Restart nginx", "precheck": ["! pgrep -x nginx"],
                          "commands": ["systemctl restart nginx"], "verify": ["systemctl is-active --quiet nginx"],
                          "max_attempts": 1},
      "api:dry": {"mode": "dry-run", "owner": "@dry", "description": "Would restart", "commands": ["echo would"]},
      "api:approve": {"mode": "approve", "owner": "@ops", "description": "Restart after a yes",
                      "precheck": ["true"], "commands": ["echo approved"], "approvers": ["U123"]},
      "web:restart": {"owner": "@app", "commands": ["systemctl restart app"]}
    }"#,
    )
}

async fn run(w: &FakeWorld, r: InboundRecord) -> Outcome {
    engine(w, map()).process_batch(vec![r], DEADLINE).await[0].outcome
}

async fn alarm(w: &FakeWorld, id: &str, name: &str, time: &str) -> Outcome {
    run(w, rec(id, cw_body(name, "ALARM", NGINX, time))).await
}

/// The one record with `outcome` (last write per sort key, as the table keeps it).
fn record(w: &FakeWorld, outcome: &str) -> HistoryRecord {
    let found: Vec<_> = w
        .store
        .history()
        .into_iter()
        .filter(|h| h.outcome == outcome)
        .collect();
    assert_eq!(found.len(), 1, "one {outcome} record: {found:#?}");
    found.into_iter().next().expect("one")
}

fn entry_fields(h: &HistoryRecord) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        h.owner.as_deref(),
        h.description.as_deref(),
        h.mode.as_deref(),
    )
}

fn approval(identity: &str, decision: Decision) -> Approval {
    Approval {
        version: 1,
        identity: identity.into(),
        key: "api:approve".into(),
        decision,
        user_id: "U123".into(),
        user_name: Some("alice".into()),
        allowed_by: "user".into(),
        action_ts: Some("1795403100.000001".into()),
        press_id: "U123@1".into(),
        channel_id: Some("C0123".into()),
        message_ts: Some("1795403000.000100".into()),
        requested_at_ms: T0,
        expires_at_ms: T0 + 1_800_000,
        pressed_at_ms: T0 + 60_000,
    }
}

/// An approve-mode alert up to its request; returns the alert identity.
async fn awaiting(w: &FakeWorld) -> String {
    assert_eq!(
        alarm(w, "m1", "api:approve", "t1").await,
        Outcome::AwaitingApproval
    );
    let h = record(w, "awaiting-approval");
    assert_eq!(
        entry_fields(&h),
        (Some("@ops"), Some("Restart after a yes"), Some("approve"))
    );
    assert_eq!(h.escalated, Some(false));
    assert_eq!(
        h.waited_ms, None,
        "the precheck for the approver is not acting"
    );
    h.identity
}

#[tokio::test]
async fn an_enforce_heal_records_its_entry_mode_and_a_short_wait() {
    let w = world();
    assert_eq!(
        alarm(&w, "m1", "api:nginx_down", "t1").await,
        Outcome::Healed
    );
    let h = record(&w, "healed");
    assert_eq!(
        entry_fields(&h),
        (Some("@web"), Some("Restart nginx"), Some("enforce"))
    );
    assert_eq!(h.escalated, Some(false));
    let waited = h.waited_ms.expect("commands ran");
    assert!((0..1_000).contains(&waited), "{waited}");
    // The wait ends with the first command sent.
    let first = &w.executor.sent()[0];
    let claim = w.store.claim_of(&h.identity).expect("claim");
    assert_eq!(claim.acting_since_ms, Some(first.at_ms));
    assert_eq!(waited, first.at_ms - claim.claimed_at_ms);
    assert!(w.escalations.all().is_empty());
}

#[tokio::test]
async fn a_failed_run_is_escalated() {
    let w = world();
    w.executor.plan_with(|r| {
        if r.comment.ends_with(" commands") {
            CommandPlan::exit(3)
        } else {
            CommandPlan::success()
        }
    });
    assert_eq!(
        alarm(&w, "m1", "api:nginx_down", "t1").await,
        Outcome::Failed
    );
    let h = record(&w, "failed");
    assert_eq!(h.escalated, Some(true));
    assert_eq!(
        entry_fields(&h),
        (Some("@web"), Some("Restart nginx"), Some("enforce"))
    );
    assert!(h.waited_ms.is_some());
    assert_eq!(
        w.escalations.all().len(),
        1,
        "the record says what happened"
    );
}

#[tokio::test]
async fn guards_that_page_are_escalated_and_those_that_do_not_are_not() {
    // Budget exhausted (max_attempts 1): a second alarm pages.
    let w = world();
    assert_eq!(
        alarm(&w, "m1", "api:nginx_down", "t1").await,
        Outcome::Healed
    );
    assert_eq!(
        alarm(&w, "m2", "api:nginx_down", "t2").await,
        Outcome::BudgetExhausted
    );
    let h = record(&w, "budget-exhausted");
    assert_eq!(h.escalated, Some(true));
    assert_eq!(h.mode.as_deref(), Some("enforce"));
    assert_eq!(h.waited_ms, None, "nothing ran");
    // A copy of the healed alert: a duplicate, not escalated.
    assert_eq!(
        alarm(&w, "m3", "api:nginx_down", "t1").await,
        Outcome::Duplicate
    );
    assert_eq!(record(&w, "duplicate").escalated, Some(false));
    assert_eq!(w.escalations.all().len(), 1);

    // The role tag disagrees with the alarm's role: unresolved, stopped before acting, paged.
    let w = world();
    assert_eq!(
        alarm(&w, "m1", "web:restart", "t1").await,
        Outcome::Unresolved
    );
    let h = record(&w, "unresolved");
    assert_eq!(h.escalated, Some(true));
    assert_eq!(entry_fields(&h), (Some("@app"), None, Some("enforce")));
    assert_eq!(w.escalations.all().len(), 1);
}

#[tokio::test]
async fn no_runbook_has_no_mode_and_is_not_escalated() {
    let w = world();
    assert_eq!(
        alarm(&w, "m1", "api:unknown", "t1").await,
        Outcome::NoRunbook
    );
    let h = record(&w, "no-runbook");
    assert_eq!(entry_fields(&h), (None, None, None));
    assert_eq!(h.escalated, Some(false));
    assert_eq!(h.waited_ms, None);
    // An unparseable record: invalid, no mode either.
    assert_eq!(
        run(&w, rec("m2", "not json".into())).await,
        Outcome::Invalid
    );
    let h = record(&w, "invalid");
    assert_eq!(entry_fields(&h), (None, None, None));
    assert_eq!(h.escalated, Some(false));
}

#[tokio::test]
async fn the_global_mode_is_recorded_when_it_forced_dry_run_or_off() {
    let w = world();
    w.mode.set(GlobalMode::DryRun);
    assert_eq!(
        alarm(&w, "m1", "api:nginx_down", "t1").await,
        Outcome::DryRun
    );
    let h = record(&w, "dry-run");
    assert_eq!(
        entry_fields(&h),
        (Some("@web"), Some("Restart nginx"), Some("dry-run"))
    );
    assert_eq!(h.escalated, Some(false));
    assert_eq!(h.waited_ms, None);

    let w = world();
    w.mode.set(GlobalMode::Off);
    assert_eq!(
        alarm(&w, "m1", "api:nginx_down", "t1").await,
        Outcome::Killed
    );
    let h = record(&w, "killed");
    assert_eq!(h.mode.as_deref(), Some("off"));
    assert_eq!(h.escalated, Some(false));

    // A runbook in dry-run: its own mode.
    let w = world();
    assert_eq!(alarm(&w, "m1", "api:dry", "t1").await, Outcome::DryRun);
    let h = record(&w, "dry-run");
    assert_eq!(
        entry_fields(&h),
        (Some("@dry"), Some("Would restart"), Some("dry-run"))
    );
}

#[tokio::test]
async fn an_approved_run_records_the_wait_for_the_press() {
    const N: u64 = 120_000;
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Run);
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    w.clock.advance(Duration::from_millis(N));
    assert_eq!(
        run(&w, rec("a1", approval_message(&ap))).await,
        Outcome::Healed
    );
    let h = record(&w, "healed");
    assert_eq!(
        entry_fields(&h),
        (Some("@ops"), Some("Restart after a yes"), Some("approve"))
    );
    assert_eq!(h.escalated, Some(false));
    let waited = h.waited_ms.expect("commands ran");
    assert!(waited >= N as i64, "{waited}");
    assert!(waited >= ap.pressed_at_ms - T0);
    assert_eq!(h.approver.as_deref(), Some("U123 (alice)"));
    // Replayed: the press changes nothing, and the duplicate says so.
    assert_eq!(
        run(&w, rec("a2", approval_message(&ap))).await,
        Outcome::Duplicate
    );
    let d = record(&w, "duplicate");
    assert_eq!(d.mode.as_deref(), Some("approve"));
    assert_eq!(d.owner.as_deref(), Some("@ops"), "from the claim's runbook");
    assert_eq!(d.escalated, Some(false));
}

#[tokio::test]
async fn skipped_and_expired_requests() {
    let w = world();
    let identity = awaiting(&w).await;
    let ap = approval(&identity, Decision::Skip);
    w.store.put_approval(ApprovalRecord::from_approval(&ap));
    assert_eq!(
        run(&w, rec("a1", approval_message(&ap))).await,
        Outcome::Skipped
    );
    let h = record(&w, "skipped");
    assert_eq!(h.mode.as_deref(), Some("approve"));
    assert_eq!((h.escalated, h.waited_ms), (Some(false), None));

    // Nobody answers: the sweep ends it, pages a human, and the record says so.
    let w = world();
    let identity = awaiting(&w).await;
    w.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(engine(&w, map()).finish_expired_approvals().await, 1);
    let h = record(&w, "expired");
    assert_eq!(h.sort, claim_id(&identity));
    assert_eq!(
        entry_fields(&h),
        (Some("@ops"), Some("Restart after a yes"), Some("approve"))
    );
    assert_eq!((h.escalated, h.waited_ms), (Some(true), None));
    assert_eq!(w.escalations.all().len(), 1);
}

#[tokio::test]
async fn a_capacity_wait_counts_and_pages_near_the_redrive_limit() {
    let w = world();
    assert!(w
        .store
        .acquire_lease("api", "someone-else", 1, T0, T0 + 3_600_000)
        .await
        .expect("lease"));
    let body = cw_body("api:nginx_down", "ALARM", NGINX, "t1");
    assert_eq!(
        run(&w, rec("m1", body.clone())).await,
        Outcome::CapacityWait
    );
    let h = record(&w, "capacity-wait");
    assert_eq!((h.escalated, h.waited_ms), (Some(false), None));
    assert_eq!(h.mode.as_deref(), Some("enforce"));
    // Redelivered as the redrive limit nears (receive count 4 of 5): a human is paged.
    w.clock.advance(Duration::from_secs(90));
    let near = InboundRecord {
        receive_count: 4,
        ..rec("m1", body.clone())
    };
    assert_eq!(run(&w, near).await, Outcome::CapacityWait);
    assert_eq!(record(&w, "capacity-wait").escalated, Some(true));
    assert_eq!(w.escalations.all().len(), 1);
    // Capacity frees: it runs, and the wait is on its record.
    w.store
        .release_lease("api", "someone-else")
        .await
        .expect("released");
    w.clock.advance(Duration::from_secs(30));
    assert_eq!(run(&w, rec("m1", body)).await, Outcome::Healed);
    let h = record(&w, "healed");
    assert!(h.waited_ms.expect("ran") >= 120_000, "{h:?}");
    assert_eq!(h.escalated, Some(false), "the final outcome did not page");
}

#[tokio::test]
async fn a_resumed_run_keeps_the_time_it_began_acting() {
    let w = world();
    // The save of the precheck's command id fails: as if the process died right after sending.
    w.store.fail_command_id_saves.store(1, Ordering::SeqCst);
    let body = cw_body("api:nginx_down", "ALARM", NGINX, "t1");
    let first = engine(&w, map())
        .process_batch(vec![rec("m1", body.clone())], DEADLINE)
        .await;
    assert!(first[0].retry, "{:?}", first[0]);
    let sent_at = w.executor.sent()[0].at_ms;
    w.clock.advance(Duration::from_secs(61));
    assert_eq!(run(&w, rec("m1", body)).await, Outcome::Healed);
    let h = record(&w, "healed");
    assert_eq!(h.waited_ms, Some(sent_at - T0), "not the redelivery's time");
}
