//! The Slack sinks against a real local HTTP server standing in for Slack (`wiremock` on
//! 127.0.0.1): block content, threading, 429 with `Retry-After`, 5xx then success, a server
//! that never answers, `{"ok":false}`, refused blocks — and that neither the webhook URL nor the
//! bot token ever shows up in logs, `Debug` output or error strings.
//!
//! Nothing here reaches anything but 127.0.0.1.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use selfheal_aws::slack::{
    chat_sinks, chat_sinks_with, http_client, read_secure_param, Secret, SlackBotSink,
    SlackOptions, SlackWebhookSink,
};
use selfheal_aws::{AwsClients, Settings};
use selfheal_service::ports::{Announcement, AnnouncementKind, Chat};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const WEBHOOK_PATH: &str = "/services/T0000/B0000/WEBHOOKSECRETpart";
const TOKEN: &str = "xoxb-1234567890-TOKENSECRETpart";
const TS: &str = "1700000000.000100";

/// Short bounds so failure paths finish quickly.
fn fast() -> SlackOptions {
    SlackOptions {
        request_timeout: Duration::from_millis(300),
        max_total: Duration::from_millis(1500),
        max_retries: 3,
        backoff: Duration::from_millis(20),
    }
}

fn start() -> Announcement {
    Announcement {
        kind: AnnouncementKind::Start,
        identity: "alarm-1|2026-11-23T10:00:00Z|i-0123456789abcdef0".to_owned(),
        key: Some("web:disk_full".to_owned()),
        runbook: Some("*:disk_full".to_owned()),
        description: Some("Clean /tmp".to_owned()),
        owner: Some("@web-oncall".to_owned()),
        instance: Some("i-0123456789abcdef0".to_owned()),
        role: Some("web".to_owned()),
        region: Some("us-east-1".to_owned()),
        account: Some("123456789012".to_owned()),
        alarm_name: Some("web:disk_full".to_owned()),
        alarm_reason: Some("Threshold Crossed".to_owned()),
        attempt: 1,
        max_attempts: 3,
        dry_run: false,
        outcome: None,
        detail: "starting".to_owned(),
        duration_ms: None,
        failed_phase: None,
        exit_code: None,
        output_tail: None,
        command_ids: vec![],
        commands: vec!["df -h /".to_owned()],
        approval: None,
        thread: None,
    }
}

fn result(outcome: &str) -> Announcement {
    Announcement {
        kind: AnnouncementKind::Result,
        outcome: Some(outcome.to_owned()),
        detail: "every command exited 0".to_owned(),
        duration_ms: Some(2_000),
        command_ids: vec!["0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a".to_owned()],
        commands: vec![],
        approval: None,
        thread: None,
        ..start()
    }
}

fn webhook(server: &MockServer, options: SlackOptions) -> SlackWebhookSink {
    let http = http_client().expect("client");
    SlackWebhookSink::new(
        http,
        Secret::new(format!("{}{WEBHOOK_PATH}", server.uri())),
        options,
    )
}

fn bot(server: &MockServer, options: SlackOptions) -> SlackBotSink {
    let http = http_client().expect("client");
    SlackBotSink::new(
        http,
        format!("{}/api/", server.uri()),
        Secret::new(TOKEN),
        "#ops",
        options,
    )
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_default()
}

/// Announces within a hard bound; the port never fails outward and must not hang.
async fn announce_bounded(sink: &dyn Chat, a: &Announcement, bound: Duration) -> Duration {
    let t0 = Instant::now();
    tokio::time::timeout(bound, sink.announce(a))
        .await
        .expect("announce returned within its bound");
    t0.elapsed()
}

fn ok_post() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C0123", "ts": TS}))
}

// ------------------------------------------------------------------ webhook

#[tokio::test]
async fn webhook_posts_start_and_result_blocks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WEBHOOK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    sink.announce(&start()).await;
    let mut failed = result("failed");
    failed.failed_phase = Some("commands".to_owned());
    failed.exit_code = Some(3);
    failed.output_tail = Some("oops password=hunter2".to_owned());
    sink.announce(&failed).await;
    assert_eq!(sink.failures(), 0);

    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0]
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8")
    );
    let s = body(&reqs[0]);
    assert!(s["text"]
        .as_str()
        .is_some_and(|t| t.contains("web:disk_full")));
    assert_eq!(s["blocks"][0]["type"], "header");
    assert_eq!(
        s["blocks"][0]["text"]["text"],
        ":hammer_and_wrench: Remediating web:disk_full on i-0123456789abcdef0"
    );
    let all = s.to_string();
    for needle in [
        "*Instance*\\n`i-0123456789abcdef0`",
        "*Role*\\n`web`",
        "*Region*\\nus-east-1",
        "*Account*\\n123456789012",
        "*Attempt*\\n1 of 3",
        "alarmsV2:alarm/web%3Adisk_full",
        "df -h /",
    ] {
        assert!(all.contains(needle), "{needle} missing from {all}");
    }

    let r = body(&reqs[1]);
    assert_eq!(
        r["blocks"][0]["text"]["text"],
        ":x: Failed: web:disk_full on i-0123456789abcdef0"
    );
    let all = r.to_string();
    for needle in [
        "@web-oncall",
        "*Failed phase*\\n`commands`",
        "*Exit code*\\n`3`",
        "*Duration*\\n2.0 s",
        "password=[redacted]",
        "systems-manager/run-command/0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a?region=us-east-1",
    ] {
        assert!(all.contains(needle), "{needle} missing from {all}");
    }
    assert!(!all.contains("hunter2"));
}

#[tokio::test]
async fn webhook_honours_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    let took = announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_secs(1),
        "waited for Retry-After: {took:?}"
    );
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(requests(&server).await.len(), 2);
    assert_eq!(sink.failures(), 0);
}

#[tokio::test]
async fn webhook_never_waits_past_its_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    let took = announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_millis(500),
        "gave up at once: {took:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
    assert_eq!(sink.failures(), 1);
}

#[tokio::test]
async fn webhook_retries_5xx_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    announce_bounded(&sink, &result("healed"), Duration::from_secs(5)).await;
    assert_eq!(requests(&server).await.len(), 2);
    assert_eq!(sink.failures(), 0);
}

#[tokio::test]
async fn webhook_gives_up_after_bounded_5xx_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    announce_bounded(&sink, &result("healed"), Duration::from_secs(5)).await;
    assert_eq!(requests(&server).await.len(), 4, "first try + 3 retries");
    assert_eq!(sink.failures(), 1);
}

#[tokio::test]
async fn webhook_that_never_answers_times_out_within_the_bound() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    let took = announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert!(took <= Duration::from_millis(1500 + 300), "{took:?}");
    assert_eq!(sink.failures(), 1);
}

#[tokio::test]
async fn webhook_4xx_is_final_but_refused_blocks_fall_back_to_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("invalid_blocks"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let sink = webhook(&server, fast());
    sink.announce(&start()).await;
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    let fallback = body(&reqs[1]);
    assert!(fallback.get("blocks").is_none(), "{fallback}");
    assert!(fallback["text"]
        .as_str()
        .is_some_and(|t| t.contains("web:disk_full")));
    assert_eq!(sink.failures(), 0);

    let gone = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&gone)
        .await;
    let sink = webhook(&gone, fast());
    let err = sink
        .send(&json!({"text": "x"}))
        .await
        .expect_err("404 is final");
    assert_eq!(err.message, "HTTP 404: no_service");
    sink.announce(&start()).await;
    assert_eq!(requests(&gone).await.len(), 2, "no retries of a 4xx");
    assert_eq!(sink.failures(), 1);
}

// ------------------------------------------------------------------ bot

async fn mount_api(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ok_post())
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C0123", "ts": TS})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn bot_threads_the_result_and_updates_the_start() {
    let server = MockServer::start().await;
    mount_api(&server).await;
    let sink = bot(&server, fast());
    sink.announce(&start()).await;
    assert_eq!(sink.thread_ts(&start().identity).as_deref(), Some(TS));
    let mut failed = result("failed");
    failed.owner = Some("S0123ABCD".to_owned());
    sink.announce(&failed).await;
    assert_eq!(sink.failures(), 0);

    let reqs = requests(&server).await;
    let paths: Vec<&str> = reqs.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/api/chat.postMessage",
            "/api/chat.postMessage",
            "/api/chat.update"
        ]
    );
    for r in &reqs {
        assert_eq!(
            r.headers.get("authorization").and_then(|v| v.to_str().ok()),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    let s = body(&reqs[0]);
    assert_eq!(s["channel"], "#ops");
    assert!(s.get("thread_ts").is_none());
    assert_eq!(s["unfurl_links"], false);
    assert_eq!(s["blocks"][0]["type"], "header");

    let r = body(&reqs[1]);
    assert_eq!(
        r["thread_ts"], TS,
        "the result goes into the start's thread"
    );
    assert_eq!(
        r["reply_broadcast"], true,
        "escalations are broadcast to the channel"
    );
    assert!(r.to_string().contains("<!subteam^S0123ABCD>"));

    let u = body(&reqs[2]);
    assert_eq!(
        u["channel"], "C0123",
        "updates use the channel id Slack answered"
    );
    assert_eq!(u["ts"], TS);
    assert_eq!(
        u["blocks"][0]["text"]["text"],
        ":x: Failed: web:disk_full on i-0123456789abcdef0"
    );
    assert!(u.to_string().contains("details in the thread"));
}

#[tokio::test]
async fn bot_result_without_a_known_start_is_posted_unthreaded() {
    let server = MockServer::start().await;
    mount_api(&server).await;
    let sink = bot(&server, fast());
    sink.announce(&result("healed")).await;
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1, "no chat.update without a start message");
    let r = body(&reqs[0]);
    assert!(r.get("thread_ts").is_none());
    assert!(r.get("reply_broadcast").is_none());
    assert_eq!(sink.failures(), 0);
}

#[tokio::test]
async fn bot_handles_ok_false() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "channel_not_found"})),
        )
        .mount(&server)
        .await;
    let sink = bot(&server, fast());
    announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert_eq!(
        requests(&server).await.len(),
        1,
        "a permanent error is not retried"
    );
    assert_eq!(sink.failures(), 1);
    assert_eq!(sink.thread_ts(&start().identity), None);
}

#[tokio::test]
async fn bot_retries_retryable_slack_errors_and_falls_back_to_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "internal_error"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "invalid_blocks"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ok_post())
        .mount(&server)
        .await;
    let sink = bot(&server, fast());
    sink.announce(&start()).await;
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3);
    assert!(body(&reqs[1]).get("blocks").is_some());
    let fallback = body(&reqs[2]);
    assert!(fallback.get("blocks").is_none(), "{fallback}");
    assert_eq!(fallback["channel"], "#ops");
    assert_eq!(sink.failures(), 0);
    assert_eq!(sink.thread_ts(&start().identity).as_deref(), Some(TS));
}

#[tokio::test]
async fn bot_honours_retry_after_and_never_hangs() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_api(&server).await;
    let sink = bot(&server, fast());
    let took = announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!(sink.failures(), 0);
    assert_eq!(sink.thread_ts(&start().identity).as_deref(), Some(TS));

    let silent = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&silent)
        .await;
    let sink = bot(&silent, fast());
    let took = announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert!(took <= Duration::from_millis(1800), "{took:?}");
    assert_eq!(sink.failures(), 1);
}

#[tokio::test]
async fn unreachable_slack_is_a_counted_failure() {
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let http = http_client().expect("client");
    let sink = SlackWebhookSink::new(
        http,
        Secret::new(format!("http://127.0.0.1:{port}{WEBHOOK_PATH}")),
        fast(),
    );
    announce_bounded(&sink, &start(), Duration::from_secs(5)).await;
    assert_eq!(sink.failures(), 1);
}

// ------------------------------------------------------------------ chat_sinks

fn settings(vars: &[(&str, String)]) -> Settings {
    Settings::from_lookup(false, |k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .expect("valid settings")
}

/// Clients that never reach anything (no endpoint is ever called with them).
fn clients() -> AwsClients {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    AwsClients::from_sdk_config(sdk)
}

fn clients_with_ssm(ssm: aws_sdk_ssm::Client) -> AwsClients {
    AwsClients { ssm, ..clients() }
}

fn token_param_rule() -> aws_smithy_mocks::Rule {
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::types::{Parameter, ParameterType};
    mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| {
            r.name() == Some("/selfheal/slack-token") && r.with_decryption() == Some(true)
        })
        .then_output(|| {
            GetParameterOutput::builder()
                .parameter(
                    Parameter::builder()
                        .name("/selfheal/slack-token")
                        .r#type(ParameterType::SecureString)
                        .value(format!("{TOKEN}\n"))
                        .build(),
                )
                .build()
        })
}

#[tokio::test]
async fn chat_sinks_builds_what_is_configured() {
    let server = MockServer::start().await;
    mount_api(&server).await;
    Mock::given(method("POST"))
        .and(path(WEBHOOK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;

    let none = chat_sinks(&settings(&[]), &clients())
        .await
        .expect("nothing configured is fine");
    assert!(none.is_empty());

    let rule = token_param_rule();
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule]);
    let s = settings(&[
        (
            "SELFHEAL_SLACK_WEBHOOK_URL",
            format!("{}{WEBHOOK_PATH}", server.uri()),
        ),
        (
            "SELFHEAL_SLACK_TOKEN_PARAM",
            "/selfheal/slack-token".to_owned(),
        ),
        ("SELFHEAL_SLACK_CHANNEL", "C0123".to_owned()),
        ("SELFHEAL_SLACK_API_URL", format!("{}/api", server.uri())),
    ]);
    let sinks = chat_sinks_with(&s, &clients_with_ssm(ssm), fast())
        .await
        .expect("both sinks");
    assert_eq!(sinks.len(), 2);
    assert_eq!(rule.num_calls(), 1, "the token is read once, at start");
    for sink in &sinks {
        sink.announce(&start()).await;
    }
    let reqs = requests(&server).await;
    let mut paths: Vec<&str> = reqs.iter().map(|r| r.url.path()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/api/chat.postMessage", WEBHOOK_PATH]);
    let bot_req = reqs
        .iter()
        .find(|r| r.url.path() == "/api/chat.postMessage")
        .expect("bot post");
    assert_eq!(
        bot_req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the token is trimmed"
    );
}

#[tokio::test]
async fn chat_sinks_reads_the_webhook_from_ssm() {
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::types::Parameter;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WEBHOOK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let url = format!("{}{WEBHOOK_PATH}", server.uri());
    let rule = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| {
            r.name() == Some("/selfheal/webhook") && r.with_decryption() == Some(true)
        })
        .then_output(move || {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().value(url.clone()).build())
                .build()
        });
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule]);
    let s = settings(&[(
        "SELFHEAL_SLACK_WEBHOOK_PARAM",
        "/selfheal/webhook".to_owned(),
    )]);
    let sinks = chat_sinks_with(&s, &clients_with_ssm(ssm), fast())
        .await
        .expect("webhook sink");
    assert_eq!(sinks.len(), 1);
    sinks[0].announce(&start()).await;
    assert_eq!(requests(&server).await.len(), 1);
}

// ------------------------------------------------------------------ secrets

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in ["WEBHOOKSECRETpart", "TOKENSECRETpart", WEBHOOK_PATH] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into {what}: {text}"
        );
    }
}

#[tokio::test]
async fn secrets_never_reach_logs_debug_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::info!("capture works");

    let server = MockServer::start().await;
    // Every path: success, 429 past the deadline, 5xx exhaustion, a 4xx that echoes the
    // request path, ok:false, refused blocks, a non-JSON answer, and silence.
    let answers = [
        ResponseTemplate::new(200).set_body_string("ok"),
        ResponseTemplate::new(429).insert_header("Retry-After", "60"),
        ResponseTemplate::new(500).set_body_string(format!("boom at {WEBHOOK_PATH}")),
        ResponseTemplate::new(404).set_body_string(format!("no such hook {WEBHOOK_PATH} {TOKEN}")),
        ResponseTemplate::new(200)
            .set_body_json(json!({"ok": false, "error": format!("bad {TOKEN}")})),
        ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "invalid_auth"})),
        ResponseTemplate::new(400).set_body_string("invalid_blocks"),
        ResponseTemplate::new(200).set_body_string(format!("<html>{WEBHOOK_PATH}</html>")),
        ResponseTemplate::new(302)
            .insert_header("Location", format!("http://127.0.0.1:9{WEBHOOK_PATH}")),
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
        ok_post(),
    ];
    let mut errors = Vec::new();
    for answer in answers {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let hook = webhook(&server, fast());
        let bot = bot(&server, fast());
        assert_clean("Debug", &format!("{hook:?} {bot:?}"));
        hook.announce(&start()).await;
        hook.announce(&result("failed")).await;
        bot.announce(&start()).await;
        bot.announce(&result("timed-out")).await;
        if let Err(e) = hook.send(&json!({"text": "x", "blocks": []})).await {
            errors.push(format!("{e} {e:?}"));
        }
        assert_clean("Debug after use", &format!("{hook:?} {bot:?}"));
    }
    assert!(!errors.is_empty(), "failure paths were exercised");
    for e in &errors {
        assert_clean("an error", e);
    }

    // Settings and start-up errors.
    let bad = Settings::from_lookup(false, |k| {
        (k == "SELFHEAL_SLACK_WEBHOOK_URL").then(|| format!("ftp://x{WEBHOOK_PATH}"))
    });
    let e = bad.expect_err("not http");
    assert_clean("a settings error", &e.to_string());
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::Parameter;
    let missing = mock!(aws_sdk_ssm::Client::get_parameter)
        .then_error(|| GetParameterError::ParameterNotFound(ParameterNotFound::builder().build()));
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&missing], |c| {
        c.retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled())
    });
    let e = read_secure_param(&ssm, "/selfheal/webhook")
        .await
        .expect_err("missing parameter");
    assert!(e.contains("/selfheal/webhook"), "{e}");
    let wrong = mock!(aws_sdk_ssm::Client::get_parameter).then_output(|| {
        GetParameterOutput::builder()
            .parameter(
                Parameter::builder()
                    .value(format!("ftp://x{WEBHOOK_PATH}"))
                    .build(),
            )
            .build()
    });
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&wrong]);
    let s = settings(&[(
        "SELFHEAL_SLACK_WEBHOOK_PARAM",
        "/selfheal/webhook".to_owned(),
    )]);
    let e = chat_sinks(&s, &clients_with_ssm(ssm))
        .await
        .err()
        .expect("not an http URL");
    assert_clean("a chat_sinks error", &e);
    let secret = read_secure_param(
        &mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&token_param_rule()]),
        "/selfheal/slack-token",
    )
    .await
    .expect("token");
    assert_clean("a Secret's Debug/Display", &format!("{secret:?} {secret}"));

    let captured = logs.text();
    assert!(captured.contains("capture works"));
    assert!(
        captured.contains("slack webhook delivery failed"),
        "failures were logged"
    );
    assert!(
        captured.contains("slack delivery failed"),
        "bot failures were logged"
    );
    assert_clean("the logs", &captured);
}
