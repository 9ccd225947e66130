//! The fault matrix of the remediation engine: every guard and failure path, over fakes.

mod common;
use common::*;
use selfheal_core::AlarmState;
use selfheal_service::fakes::CommandPlan;
use selfheal_service::ports::{ClaimState, GlobalMode, InvocationStatus};
use selfheal_service::Outcome;
use std::sync::atomic::Ordering;

fn nginx_alarm(time: &str) -> String {
    cw_body("api:nginx_down", "ALARM", NGINX, time)
}

#[tokio::test]
async fn happy_path_runs_three_phases_on_exactly_one_instance() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
    assert!(!out[0].retry);
    let sent = w.executor.sent();
    assert_eq!(sent.len(), 3);
    for s in &sent {
        assert_eq!(s.request.instance.as_str(), NGINX);
        assert_eq!(s.request.document, "AWS-RunShellScript");
        assert_eq!(s.request.execution_timeout_seconds, 120);
    }
    assert_eq!(
        sent[1].request.lines[0],
        "command eval 'systemctl restart nginx'"
    );
    let hist = w.store.history();
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0].outcome, "healed");
    assert_eq!(hist[0].key.as_deref(), Some("api:nginx_down"));
    assert_eq!(hist[0].command_ids.len(), 3);
    assert_eq!(hist[0].attempt, 1);
    let chat = w.chat.all();
    assert_eq!(chat.len(), 2, "start and result");
    assert_eq!(chat[1].outcome.as_deref(), Some("healed"));
    assert_eq!(w.store.leases_held("api"), 0, "lease released");
}

#[tokio::test]
async fn same_message_twice_concurrently_sends_once() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|_| CommandPlan {
        running_polls: 3,
        ..CommandPlan::success()
    });
    let body = nginx_alarm("t1");
    let out = e
        .process_batch(vec![rec("m1", body.clone()), rec("m2", body)], DEADLINE)
        .await;
    assert_eq!(w.executor.sent_in_phase("commands").len(), 1);
    let outcomes: Vec<_> = out.iter().map(|r| r.outcome).collect();
    assert!(outcomes.contains(&Outcome::Healed), "{outcomes:?}");
    // The twin in the same batch waits for the first copy and is recorded as a duplicate at
    // once: it does not go back to the queue for a whole visibility timeout.
    let twin = out
        .iter()
        .find(|r| r.outcome != Outcome::Healed)
        .expect("one twin");
    assert_eq!(twin.outcome, Outcome::Duplicate);
    assert!(!twin.retry);
    let again = e
        .process_batch(vec![rec("m3", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(again[0].outcome, Outcome::Duplicate);
    assert!(!again[0].retry);
    assert_eq!(w.executor.sent_in_phase("commands").len(), 1);
}

#[tokio::test]
async fn raw_and_wrapped_copies_are_one_alert() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    let wrapped = nginx_alarm("t1");
    let v: serde_json::Value = serde_json::from_str(&wrapped).expect("json");
    let raw = v["Message"].as_str().expect("message").to_owned();
    e.process_batch(vec![rec("m1", wrapped)], DEADLINE).await;
    let out = e.process_batch(vec![rec("m2", raw)], DEADLINE).await;
    assert_eq!(out[0].outcome, Outcome::Duplicate);
    assert_eq!(w.executor.sent_in_phase("commands").len(), 1);
}

#[tokio::test]
async fn crash_after_send_then_redelivery_sends_no_second_command() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    // The save of the precheck's command id fails: as if the process died right after SendCommand.
    w.store.fail_command_id_saves.store(1, Ordering::SeqCst);
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert!(out[0].retry, "{:?}", out[0]);
    assert_eq!(w.executor.sent().len(), 1);
    // Redelivered after the owner's lease ran out.
    w.clock.advance(std::time::Duration::from_secs(61));
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
    assert_eq!(
        w.executor.sent_in_phase("precheck").len(),
        1,
        "found by its comment, not resent"
    );
    assert_eq!(w.executor.sent().len(), 3);
}

#[tokio::test]
async fn deadline_saves_state_and_redelivery_resumes_polling() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|r| {
        if r.comment.ends_with(" commands") {
            CommandPlan {
                running_polls: 50,
                ..CommandPlan::success()
            }
        } else {
            CommandPlan::success()
        }
    });
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], T0 + 20_000)
        .await;
    assert_eq!(out[0].outcome, Outcome::Running);
    assert!(out[0].retry);
    let claim = w.store.claim_of(
        &w.store
            .history()
            .first()
            .map_or(String::new(), |h| h.identity.clone()),
    );
    assert!(claim.is_none() || claim.as_ref().map(|c| c.state) != Some(ClaimState::Done));
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
    assert_eq!(
        w.executor.sent_in_phase("commands").len(),
        1,
        "resumed, not resent"
    );
}

#[tokio::test]
async fn precheck_exit_1_runs_no_commands() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|r| {
        if r.comment.ends_with(" precheck") {
            CommandPlan::exit(1)
        } else {
            CommandPlan::success()
        }
    });
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::PrecheckFailed);
    assert_eq!(w.executor.sent_in_phase("commands").len(), 0);
    assert_eq!(
        w.store.history()[0].failed_phase.as_deref(),
        Some("precheck")
    );
}

#[tokio::test]
async fn verify_failure_is_failed_and_escalates() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|r| {
        if r.comment.ends_with(" verify") {
            CommandPlan::exit(3)
        } else {
            CommandPlan::success()
        }
    });
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Failed);
    let h = &w.store.history()[0];
    assert_eq!(
        (h.failed_phase.as_deref(), h.exit_code),
        (Some("verify"), Some(3))
    );
    let esc = w.escalations.all();
    assert_eq!(esc.len(), 1);
    assert_eq!(esc[0].owner.as_deref(), Some("@web"));
}

#[tokio::test]
async fn command_timed_out() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|r| {
        if r.comment.ends_with(" commands") {
            CommandPlan::status(InvocationStatus::TimedOut)
        } else {
            CommandPlan::success()
        }
    });
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::TimedOut);
    assert_eq!(w.executor.sent_in_phase("verify").len(), 0);
}

#[tokio::test]
async fn unknown_or_unreadable_status_is_a_failure_never_success() {
    for status in [
        InvocationStatus::Unknown,
        InvocationStatus::Cancelled,
        InvocationStatus::Terminated,
    ] {
        let w = world();
        let e = engine(&w, standard_runbooks());
        w.executor.plan_with(move |r| {
            if r.comment.ends_with(" commands") {
                CommandPlan::status(status)
            } else {
                CommandPlan::success()
            }
        });
        let out = e
            .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
            .await;
        assert_eq!(out[0].outcome, Outcome::Failed, "{status:?}");
    }
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|_| CommandPlan {
        exit_code: Some(2),
        ..CommandPlan::success()
    });
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(
        out[0].outcome,
        Outcome::PrecheckFailed,
        "Success with a non-zero code is not success"
    );
}

#[tokio::test]
async fn undeliverable_and_unmanaged_are_unresolved() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor
        .unmanaged
        .lock()
        .expect("lock")
        .push(NGINX.into());
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Unresolved);
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor
        .plan_with(|_| CommandPlan::status(InvocationStatus::Undeliverable));
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Unresolved);
    assert_eq!(w.executor.sent().len(), 1);
}

#[tokio::test]
async fn throttling_then_success() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.fail_sends.store(1, Ordering::SeqCst);
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Retry);
    assert!(out[0].retry);
    w.clock.advance(std::time::Duration::from_secs(1));
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
    assert_eq!(w.executor.sent_in_phase("commands").len(), 1);
    // Poll errors are retried in place.
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.executor.fail_polls.store(2, Ordering::SeqCst);
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
}

#[tokio::test]
async fn state_store_down_runs_nothing_and_fails_the_record() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.store.down.store(true, Ordering::SeqCst);
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Retry);
    assert!(out[0].retry);
    assert!(w.executor.sent().is_empty());
}

#[tokio::test]
async fn mode_off_runs_nothing_and_dry_run_announces() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.mode.set(GlobalMode::Off);
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Killed);
    assert!(w.executor.sent().is_empty());
    w.mode.set(GlobalMode::DryRun);
    let out = e
        .process_batch(vec![rec("m2", nginx_alarm("t2"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::DryRun);
    assert!(w.executor.sent().is_empty());
    let chat = w.chat.all();
    assert!(chat.iter().all(|a| a.dry_run));
    assert_eq!(chat[0].commands, vec!["systemctl restart nginx".to_owned()]);
}

#[tokio::test]
async fn runbook_modes_dry_run_off_approve() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(
            vec![
                rec("a", cw_body("api:dry", "ALARM", NGINX, "t")),
                rec("b", cw_body("api:off", "ALARM", NGINX, "t")),
                rec("c", cw_body("api:approve", "ALARM", NGINX, "t")),
            ],
            DEADLINE,
        )
        .await;
    let o: Vec<_> = out.iter().map(|r| r.outcome).collect();
    assert_eq!(
        o,
        vec![
            Outcome::DryRun,
            Outcome::Disabled,
            Outcome::AwaitingApproval
        ]
    );
    let sent = w.executor.sent();
    assert_eq!(sent.len(), 1, "only the approve runbook's precheck ran");
    assert!(sent[0].request.comment.ends_with(" precheck"));
    // A redelivery of an alert awaiting approval never runs it.
    let out = e
        .process_batch(
            vec![rec("c2", cw_body("api:approve", "ALARM", NGINX, "t"))],
            DEADLINE,
        )
        .await;
    assert_eq!(out[0].outcome, Outcome::Duplicate);
    assert_eq!(w.executor.sent().len(), 1);
}

#[tokio::test]
async fn budget_exhausted_escalates_and_runs_nothing() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    for i in 0..3 {
        let out = e
            .process_batch(
                vec![rec(&format!("m{i}"), nginx_alarm(&format!("t{i}")))],
                DEADLINE,
            )
            .await;
        assert_eq!(out[0].outcome, Outcome::Healed);
    }
    let before = w.executor.sent().len();
    let out = e
        .process_batch(vec![rec("m9", nginx_alarm("t9"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::BudgetExhausted);
    assert_eq!(w.executor.sent().len(), before);
    assert_eq!(
        w.escalations
            .all()
            .last()
            .and_then(|a| a.outcome.clone())
            .as_deref(),
        Some("budget-exhausted")
    );
    // After the window the budget is back.
    w.clock.advance(std::time::Duration::from_secs(3601));
    let out = e
        .process_batch(vec![rec("m10", nginx_alarm("t10"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
}

#[tokio::test]
async fn a_full_role_waits_in_the_batch_when_a_place_frees_in_time() {
    let w = world();
    for i in 0..3 {
        w.tags.set(&format!("i-0000000{i}"), "web");
    }
    let e = engine(&w, standard_runbooks());
    w.executor.plan_with(|_| CommandPlan {
        running_polls: 5,
        ..CommandPlan::success()
    });
    let out = e.process_batch(web_batch(3), DEADLINE).await;
    // The third waited in-process for a place (the first two freed theirs within the
    // capacity retry time) instead of going back to the queue.
    assert!(
        out.iter().all(|r| r.outcome == Outcome::Healed && !r.retry),
        "{out:?}"
    );
    assert!(w.executor.max_in_flight() <= 2);
    assert_eq!(w.store.max_leases("web"), 2);
}

#[tokio::test]
async fn capacity_full_for_longer_than_the_retry_returns_the_message_and_loses_nothing() {
    let w = world();
    for i in 0..3 {
        w.tags.set(&format!("i-0000000{i}"), "web");
    }
    let e = engine(&w, standard_runbooks());
    // Each command runs about 45 s, longer than a record waits in-process (30 s here: at most
    // the capacity retry, 60 s, and half the claim lease, 60 s in these tests).
    w.executor.plan_with(|_| CommandPlan {
        running_polls: 25,
        ..CommandPlan::success()
    });
    let out = e.process_batch(web_batch(3), DEADLINE).await;
    let waits: Vec<_> = out
        .iter()
        .filter(|r| r.outcome == Outcome::CapacityWait)
        .collect();
    assert_eq!(waits.len(), 1, "{out:?}");
    assert!(waits[0].retry);
    assert!(w.executor.max_in_flight() <= 2);
    let again = e
        .process_batch(
            vec![rec(
                &waits[0].message_id,
                cw_body(
                    "web:slow",
                    "ALARM",
                    &format!("i-0000000{}", &waits[0].message_id[1..]),
                    "t",
                ),
            )],
            DEADLINE,
        )
        .await;
    assert_eq!(again[0].outcome, Outcome::Healed);
}

#[tokio::test]
async fn an_alarm_that_recovers_while_a_record_waits_for_its_role_runs_nothing() {
    use selfheal_service::ports::Clock;
    let w = world();
    for i in 0..3 {
        w.tags.set(&format!("i-0000000{i}"), "web");
    }
    let e = engine(&w, standard_runbooks());
    // The two admitted commands run about 15 s; the third record waits for a place.
    w.executor.plan_with(|_| CommandPlan {
        running_polls: 11,
        ..CommandPlan::success()
    });
    let (alarms, clock) = (w.alarms.clone(), w.clock.clone());
    let flip = tokio::spawn(async move {
        while clock.now_ms() < T0 + 5_000 {
            tokio::task::yield_now().await;
        }
        alarms.set("web:slow", Some(AlarmState::Ok));
    });
    let out = e.process_batch(web_batch(3), DEADLINE).await;
    flip.await.expect("flipped");
    let mut outcomes: Vec<_> = out.iter().map(|r| r.outcome).collect();
    outcomes.sort_by_key(|o| o.as_str());
    // Its live alarm answer was over 10 s old when a place freed: read again, OK → recovered.
    assert_eq!(
        outcomes,
        vec![Outcome::Healed, Outcome::Healed, Outcome::Recovered],
        "{out:?}"
    );
    assert_eq!(w.executor.sent().len(), 2);
}

fn web_batch(n: usize) -> Vec<selfheal_service::InboundRecord> {
    (0..n)
        .map(|i| {
            rec(
                &format!("m{i}"),
                cw_body("web:slow", "ALARM", &format!("i-0000000{i}"), "t"),
            )
        })
        .collect()
}

#[tokio::test]
async fn fleet_hourly_cap_is_capacity_wait() {
    let w = world();
    for i in 0..3 {
        w.tags.set(&format!("i-0000000{i}"), "web");
    }
    let mut s = settings();
    s.max_per_hour = 2;
    let e = selfheal_service::Engine::new(w.ports(), standard_runbooks(), s);
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let out = e
            .process_batch(
                vec![rec(
                    &format!("m{i}"),
                    cw_body("web:x", "ALARM", &format!("i-0000000{i}"), "t"),
                )],
                DEADLINE,
            )
            .await;
        outcomes.push(out[0].outcome);
    }
    assert_eq!(
        outcomes,
        vec![Outcome::Healed, Outcome::Healed, Outcome::CapacityWait]
    );
}

#[tokio::test]
async fn capacity_wait_near_redrive_limit_escalates() {
    let w = world();
    w.tags.set("i-00000001", "web");
    let mut s = settings();
    s.max_per_hour = 0;
    let e = selfheal_service::Engine::new(w.ports(), standard_runbooks(), s);
    let mut r = rec("m", cw_body("web:x", "ALARM", "i-00000001", "t"));
    r.receive_count = 4;
    let out = e.process_batch(vec![r], DEADLINE).await;
    assert_eq!(out[0].outcome, Outcome::CapacityWait);
    assert_eq!(w.escalations.all().len(), 1);
}

#[tokio::test]
async fn untagged_or_wrong_role_instance_runs_nothing() {
    let w = world();
    w.tags.set(NGINX, "db");
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Unresolved);
    let w = selfheal_service::fakes::FakeWorld::new(T0);
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Unresolved);
    assert!(w.executor.sent().is_empty());
}

#[tokio::test]
async fn role_from_tag_when_alarm_name_has_none() {
    let w = world();
    w.tags.set("i-0a9e3f1d2c3b4a596", "web");
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(
            vec![rec(
                "m1",
                cw_body("disk_full", "ALARM", "i-0a9e3f1d2c3b4a596", "t"),
            )],
            DEADLINE,
        )
        .await;
    assert_eq!(out[0].outcome, Outcome::Healed);
    assert_eq!(w.store.history()[0].key.as_deref(), Some("web:disk_full"));
    assert_eq!(w.store.history()[0].runbook.as_deref(), Some("web:*"));
}

#[tokio::test]
async fn transient_failures_among_good_records_fail_only_themselves() {
    let w = world();
    w.tags.set("i-00000001", "web");
    let e = engine(&w, standard_runbooks());
    w.executor.fail_sends.store(1, Ordering::SeqCst);
    let out = e
        .process_batch(
            vec![
                rec("bad", "not json".into()),
                rec("slow", cw_body("web:x", "ALARM", "i-00000001", "t")),
                rec("ok", cw_body("api:nginx_down", "OK", NGINX, "t2")),
            ],
            DEADLINE,
        )
        .await;
    let failed: Vec<_> = out
        .iter()
        .filter(|r| r.retry)
        .map(|r| r.message_id.as_str())
        .collect();
    assert_eq!(failed, vec!["slow"]);
    assert_eq!(out[0].outcome, Outcome::Invalid);
    assert_eq!(out[2].outcome, Outcome::Ignored);
}

#[tokio::test]
async fn unparseable_records_are_recorded_and_deleted() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(
            vec![
                rec("m1", "\u{0}garbage".into()),
                rec("m2", r#"{"alert":"x","instance_id":"i-BAD"}"#.into()),
            ],
            DEADLINE,
        )
        .await;
    assert!(out
        .iter()
        .all(|r| r.outcome == Outcome::Invalid && !r.retry));
    let h = w.store.history();
    assert_eq!(h.len(), 2);
    assert!(h
        .iter()
        .all(|r| r.outcome == "invalid" && !r.reason.is_empty()));
}

#[tokio::test]
async fn recovered_alarm_runs_nothing_and_missing_alarm_is_unresolved() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    w.alarms.set("api:nginx_down", Some(AlarmState::Ok));
    let out = e
        .process_batch(vec![rec("m1", nginx_alarm("t1"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Recovered);
    assert!(w.executor.sent().is_empty());
    w.alarms.set("api:nginx_down", None);
    let out = e
        .process_batch(vec![rec("m2", nginx_alarm("t2"))], DEADLINE)
        .await;
    assert_eq!(out[0].outcome, Outcome::Unresolved);
    assert!(w.executor.sent().is_empty());
    assert_eq!(w.store.leases_held("api"), 0);
}

#[tokio::test]
async fn every_alert_is_recorded_including_no_runbook_and_recoveries() {
    let w = world();
    let e = engine(&w, standard_runbooks());
    let out = e
        .process_batch(
            vec![
                rec("a", cw_body("api:unknown_alert", "ALARM", NGINX, "t")),
                rec("b", cw_body("api:nginx_down", "OK", NGINX, "t")),
                rec(
                    "c",
                    r#"{"role":"api","alert":"x","instance_ids":["i-00000001","i-00000002"]}"#
                        .into(),
                ),
            ],
            DEADLINE,
        )
        .await;
    let o: Vec<_> = out.iter().map(|r| r.outcome).collect();
    assert_eq!(
        o,
        vec![Outcome::NoRunbook, Outcome::Ignored, Outcome::Unresolved]
    );
    assert_eq!(w.store.history().len(), 3);
    assert!(w.executor.sent().is_empty());
}

#[tokio::test]
async fn alert_text_never_reaches_the_script() {
    let w = world();
    w.tags.set("i-00000001", "web");
    let e = engine(&w, standard_runbooks());
    let hostile = "$(reboot);`rm -rf /`|<!channel>";
    let body = serde_json::json!({"role": "web", "alert": "x", "instance_id": "i-00000001", "summary": hostile, "id": hostile}).to_string();
    let out = e.process_batch(vec![rec("m", body)], DEADLINE).await;
    assert_eq!(out[0].outcome, Outcome::Healed);
    for s in w.executor.sent() {
        assert!(s
            .request
            .lines
            .iter()
            .all(|l| !l.contains("reboot") && !l.contains("rm -rf")));
        assert!(!s.request.comment.contains("reboot"));
    }
}
