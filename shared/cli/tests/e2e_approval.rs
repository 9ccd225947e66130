//! Human approval end to end against moto and a local Slack Web API stand-in: an alarm for a
//! runbook in mode `approve` → `selfheal serve` runs the precheck and posts the Run / Skip buttons
//! → a signed click reaches the `slack-approvals` handler (real DynamoDB record, real SQS send) →
//! `serve` runs the commands exactly once → the result lands in the request's thread.

mod support;
use async_trait::async_trait;
use selfheal_aws::slack::blocks::ACTIONS_BLOCK_ID;
use selfheal_aws::DynamoStateStore;
use selfheal_core::approval::sign;
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use serde_json::{json, Value};
use slack_approvals::adapters::{DynamoApprovalStore, SqsApprovalQueue};
use slack_approvals::{handle, App, HttpRequest, Responder};
use std::sync::{Arc, Mutex};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const RUNBOOKS: &str = r#"{
  "api:nginx_down": {"mode": "approve", "precheck": ["! pgrep -x nginx"], "commands": ["systemctl restart nginx"],
                     "verify": ["systemctl is-active --quiet nginx"], "approvers": ["U0ALICE"]}
}"#;
const SECRET: &str = "e2e-signing-secret";
const CHANNEL: &str = "C0APPROVE";

/// Slack Web API calls the stand-in received: (method, JSON body, its answer).
#[derive(Clone, Default)]
struct SlackCalls(Arc<Mutex<Vec<(String, Value, Value)>>>);

impl SlackCalls {
    fn all(&self) -> Vec<(String, Value, Value)> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// A Slack Web API stand-in on 127.0.0.1: `chat.postMessage` answers a fresh `ts` (now), every
/// other method `{"ok": true}`.
async fn slack_standin() -> (String, SlackCalls) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/api", listener.local_addr().expect("addr"));
    let calls = SlackCalls::default();
    let keep = calls.clone();
    tokio::spawn(async move {
        let mut n = 0u32;
        while let Ok((stream, _)) = listener.accept().await {
            let (read, mut write) = stream.into_split();
            let mut reader = BufReader::new(read);
            loop {
                let mut request_line = String::new();
                if matches!(reader.read_line(&mut request_line).await, Ok(0) | Err(_)) {
                    break;
                }
                let method = request_line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if matches!(reader.read_line(&mut line).await, Ok(0) | Err(_)) {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).await.is_err() {
                    break;
                }
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                n += 1;
                let answer = if method == "chat.postMessage" {
                    json!({"ok": true, "channel": CHANNEL, "ts": format!("{}.{:06}", now_ms() / 1000, n)})
                } else {
                    json!({"ok": true})
                };
                if let Ok(mut v) = keep.0.lock() {
                    v.push((method, body, answer.clone()));
                }
                let text = answer.to_string();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                    text.len()
                );
                if write.write_all(reply.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    });
    (url, calls)
}

#[derive(Default)]
struct Replies(Mutex<Vec<Value>>);

#[async_trait]
impl Responder for Replies {
    async fn respond(&self, _url: &str, message: &Value) {
        if let Ok(mut v) = self.0.lock() {
            v.push(message.clone());
        }
    }
}

/// A `block_actions` click, form-encoded and signed like Slack does.
fn click(
    user: &str,
    action_id: &str,
    value: &str,
    message_ts: &str,
    action_ts: &str,
) -> HttpRequest {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": user.to_lowercase()},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "message": {"ts": message_ts, "blocks": [{"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": []}]},
        "response_url": "https://hooks.slack.com/actions/T1/1/e2e",
        "actions": [{"action_id": action_id, "block_id": ACTIONS_BLOCK_ID, "type": "button", "value": value, "action_ts": action_ts}]
    });
    let mut body = String::from("payload=");
    for b in payload.to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            body.push(char::from(b));
        } else {
            body.push_str(&format!("%{b:02X}"));
        }
    }
    let ts = (now_ms() / 1000).to_string();
    let sig = sign(SECRET.as_bytes(), &ts, body.as_bytes());
    HttpRequest {
        headers: [
            ("x-slack-request-timestamp".to_owned(), ts),
            ("x-slack-signature".to_owned(), sig),
        ]
        .into_iter()
        .collect(),
        body: body.into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_to_buttons_to_signed_click_to_one_run_in_the_thread() {
    let Some(moto) = start_moto("alarm_to_buttons_to_signed_click_to_one_run_in_the_thread") else {
        return;
    };
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("approve");
    create_table(&c, &table).await;
    let (topic, queue) = topic_and_queue(&c, &unique("approve")).await;
    selfheal_aws::local::put_parameter(&c, "/selfheal/mode", "enforce")
        .await
        .expect("mode");
    c.ssm
        .put_parameter()
        .name("/selfheal/slack-token")
        .value("xoxb-e2e-token")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("token");
    let instance = run_instance(&url, &[("Role", "api")]);
    let _other = run_instance(&url, &[("Role", "api")]);
    let runbooks = write_runbooks(&std::env::temp_dir().join(unique("approve-rb")), RUNBOOKS);
    let (slack_url, slack) = slack_standin().await;
    let env: Vec<(&'static str, String)> = vec![
        ("SELFHEAL_TABLE", table.clone()),
        ("SELFHEAL_MODE_PARAM", "/selfheal/mode".into()),
        ("SELFHEAL_RUNBOOKS", runbooks.display().to_string()),
        ("SELFHEAL_SLACK_TOKEN_PARAM", "/selfheal/slack-token".into()),
        ("SELFHEAL_SLACK_CHANNEL", CHANNEL.into()),
        ("SELFHEAL_SLACK_API_URL", slack_url.clone()),
    ];
    let commands = || async {
        c.ssm
            .list_commands()
            .send()
            .await
            .expect("list")
            .commands()
            .to_vec()
    };

    // 1. The alarm: precheck only, then the request with buttons.
    alarm(&c, "api:nginx_down", &instance, "ALARM").await;
    c.sns
        .publish()
        .topic_arn(&topic)
        .message(alarm_message(
            "api:nginx_down",
            &instance,
            "ALARM",
            "2026-11-23T03:03:12.214+0000",
        ))
        .send()
        .await
        .expect("published");
    let out = serve_once(&url, &queue, &env);
    assert!(out.contains(" awaiting-approval deleted"), "{out}");
    let sent = commands().await;
    assert_eq!(sent.len(), 1, "only the precheck ran");
    assert!(sent[0].comment().unwrap_or_default().ends_with(" precheck"));
    let (_, request, answer) = slack
        .all()
        .into_iter()
        .filter(|(m, _, _)| m == "chat.postMessage")
        .find(|(_, b, _)| {
            b["blocks"]
                .as_array()
                .is_some_and(|bl| bl.iter().any(|x| x["block_id"] == ACTIONS_BLOCK_ID))
        })
        .expect("a message with the Run / Skip buttons");
    let message_ts = answer["ts"].as_str().expect("ts").to_owned();
    let actions = request["blocks"]
        .as_array()
        .and_then(|bl| bl.iter().find(|x| x["block_id"] == ACTIONS_BLOCK_ID))
        .cloned()
        .expect("actions block");
    let value = actions["elements"][0]["value"]
        .as_str()
        .expect("button value")
        .to_owned();
    let ids: Vec<&str> = actions["elements"]
        .as_array()
        .map(|e| e.iter().filter_map(|b| b["action_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec!["selfheal_run", "selfheal_skip"]);

    // 2. A forged approval put straight on the queue runs nothing.
    let forged = json!({"selfheal_approval": {
        "version": 1, "identity": serde_json::from_str::<Value>(&value).expect("value")["id"], "key": "api:nginx_down",
        "decision": "run", "user_id": "U0MALLORY", "press_id": "U0MALLORY@1.1",
        "requested_at_ms": now_ms(), "expires_at_ms": now_ms() + 60_000, "pressed_at_ms": now_ms()
    }});
    c.sqs
        .send_message()
        .queue_url(&queue)
        .message_body(forged.to_string())
        .send()
        .await
        .expect("sent");
    let out = serve_once(&url, &queue, &env);
    assert!(out.contains(" invalid deleted"), "{out}");
    assert_eq!(commands().await.len(), 1);

    // 3. The approvals function: a stranger is refused, Alice's click is recorded and queued
    //    once (a double click changes nothing).
    let map = load(
        &[RunbookSource {
            name: "r.json",
            text: RUNBOOKS,
        }],
        &LoadOptions::default(),
    )
    .expect("runbooks")
    .0;
    let replies = Arc::new(Replies::default());
    let app = App {
        signing_secret: selfheal_aws::slack::Secret::new(SECRET),
        runbooks: Arc::new(map),
        default_group: None,
        ttl_ms: 30 * 60 * 1000,
        store: Arc::new(DynamoApprovalStore::new(c.dynamodb.clone(), table.clone())),
        queue: Arc::new(SqsApprovalQueue::new(c.sqs.clone(), queue.clone())),
        directory: None,
        responder: replies.clone(),
    };
    let stranger = handle(
        &app,
        &click("U0BOB", "selfheal_run", &value, &message_ts, "1.000001"),
        now_ms(),
    )
    .await;
    assert_eq!(stranger.status, 403, "{:?}", stranger.body);
    let bad_sig = {
        let mut r = click("U0ALICE", "selfheal_run", &value, &message_ts, "1.000002");
        r.headers.insert("x-slack-signature".into(), "v0=00".into());
        handle(&app, &r, now_ms()).await
    };
    assert_eq!(bad_sig.status, 401);
    let ok = handle(
        &app,
        &click("U0ALICE", "selfheal_run", &value, &message_ts, "1.000003"),
        now_ms(),
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let again = handle(
        &app,
        &click("U0ALICE", "selfheal_run", &value, &message_ts, "1.000004"),
        now_ms(),
    )
    .await;
    assert_eq!(again.status, 200);
    assert!(
        again.body.to_string().contains("lready"),
        "{:?}",
        again.body
    );

    // 4. The engine resumes: precheck again, then the commands and verify, exactly once.
    let out = serve_once(&url, &queue, &env);
    assert!(out.contains(" healed deleted"), "{out}");
    assert_eq!(out.lines().count(), 1, "one approval on the queue: {out}");
    let sent = commands().await;
    let phases: Vec<String> = sent
        .iter()
        .map(|c| {
            c.comment()
                .unwrap_or_default()
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        phases.iter().filter(|p| *p == "commands").count(),
        1,
        "{phases:?}"
    );
    assert_eq!(
        sent.len(),
        4,
        "precheck, precheck again, commands, verify: {phases:?}"
    );
    assert!(sent
        .iter()
        .all(|c| c.instance_ids() == std::slice::from_ref(&instance)));
    let out = serve_once(&url, &queue, &env);
    assert!(out.trim().is_empty(), "nothing left: {out}");

    // 5. The result is in the request's thread, and history names the approver.
    let (_, result, _) = slack
        .all()
        .into_iter()
        .filter(|(m, _, _)| m == "chat.postMessage")
        .find(|(_, b, _)| b["thread_ts"].is_string() && b["text"].to_string().contains("Healed"))
        .unwrap_or_else(|| {
            for (m, b, _) in slack.all() {
                eprintln!("{m}: thread_ts={} text={}", b["thread_ts"], b["text"]);
            }
            panic!("the result in a thread")
        });
    assert_eq!(result["channel"], CHANNEL);
    assert_eq!(
        result["thread_ts"],
        message_ts.as_str(),
        "under the request"
    );
    let store = DynamoStateStore::new(c.dynamodb.clone(), table.clone());
    let today = selfheal_service::day_string(now_ms());
    let history = store.query_history_day(&today).await.expect("history");
    let healed = history
        .iter()
        .find(|h| h.outcome == "healed")
        .expect("healed");
    assert_eq!(healed.approver.as_deref(), Some("U0ALICE (u0alice)"));
    assert_eq!(healed.decision.as_deref(), Some("run"));
    assert!(history
        .iter()
        .any(|h| h.outcome == "invalid" && h.reason.contains("does not match")));
}
