//! The one Slack HTTP client and call helper (`slack::delivery`) as the weekly report's webhook
//! poster, the approval function's user-group lookup (`slack::directory`) and its replies to
//! `response_url` (`slack::replies`), against `wiremock` on 127.0.0.1: retries and their
//! bounds, caching, errors that never carry the URL or the token. The announcement sinks over
//! the same helper are `slack_http.rs`.

use std::time::{Duration, Instant};

use selfheal_aws::report::{post_webhook, SLACK_ATTEMPTS};
use selfheal_aws::slack::replies::SlackResponder;
use selfheal_aws::slack::{http_client, HttpResponder, Secret, SlackDirectory};
use selfheal_service::press::{Directory, PressError};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const WEBHOOK_PATH: &str = "/services/T0000/B0000/WEBHOOKSECRETpart";
const TOKEN: &str = "xoxb-1234567890-TOKENSECRETpart";

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

#[tokio::test]
async fn the_report_webhook_retries_5xx_and_429_then_posts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let url = Secret::new(format!("{}{WEBHOOK_PATH}", server.uri()));
    let t0 = Instant::now();
    post_webhook(
        &http_client().expect("client"),
        &url,
        &json!({"text": "report"}),
    )
    .await
    .expect("posted on the third attempt");
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "honoured Retry-After"
    );
    let got = requests(&server).await;
    assert_eq!(got.len(), SLACK_ATTEMPTS as usize);
    let body: Value = serde_json::from_slice(&got[2].body).expect("json");
    assert_eq!(body, json!({"text": "report"}));
}

#[tokio::test]
async fn the_report_webhook_fails_the_run_without_leaking_the_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let url = Secret::new(format!("{}{WEBHOOK_PATH}", server.uri()));
    let http = http_client().expect("client");
    let err = post_webhook(&http, &url, &json!({"text": "x"}))
        .await
        .expect_err("fails");
    assert_eq!(requests(&server).await.len(), SLACK_ATTEMPTS as usize);
    assert!(err.contains("500"), "{err}");
    assert!(err.contains("gave up after 3 attempts"), "{err}");
    assert!(!err.contains("WEBHOOKSECRET"), "{err}");

    // A 4xx is final at once.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&server)
        .await;
    let url = Secret::new(format!("{}{WEBHOOK_PATH}", server.uri()));
    let err = post_webhook(&http, &url, &json!({"text": "x"}))
        .await
        .expect_err("fails");
    assert_eq!(requests(&server).await.len(), 1);
    assert!(err.contains("no_service"), "{err}");
}

#[tokio::test]
async fn group_members_are_read_once_and_cached() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/usergroups.users.list"))
        .and(query_param("usergroup", "S0777ABC"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "users": ["U1", "U2"]})),
        )
        .mount(&server)
        .await;
    let dir = SlackDirectory::new(
        http_client().expect("client"),
        format!("{}/api/", server.uri()),
        Secret::new(TOKEN),
    );
    assert_eq!(
        dir.members("S0777ABC").await.expect("members"),
        ["U1", "U2"]
    );
    assert_eq!(dir.members("S0777ABC").await.expect("cached"), ["U1", "U2"]);
    assert_eq!(
        requests(&server).await.len(),
        1,
        "the second read is cached"
    );
    assert!(matches!(
        dir.members("not-a-group").await,
        Err(PressError::NotAGroup(_))
    ));
}

#[tokio::test]
async fn group_lookup_errors_name_the_method_never_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "missing_scope"})),
        )
        .mount(&server)
        .await;
    let dir = SlackDirectory::new(
        http_client().expect("client"),
        server.uri(),
        Secret::new(TOKEN),
    );
    let err = dir.members("S0777ABC").await.expect_err("refused");
    assert_eq!(
        err.to_string(),
        "usergroups.users.list answered 200 OK: missing_scope"
    );
    assert!(!format!("{err:?}").contains("TOKENSECRET"));
}

#[tokio::test]
async fn replies_are_posted_only_under_the_prefix() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let responder = HttpResponder::new(http_client().expect("client"), server.uri());
    let message = json!({"replace_original": false, "response_type": "ephemeral", "text": "hi"});
    responder
        .respond(&format!("{}/actions/T1/1/abc", server.uri()), &message)
        .await;
    responder
        .respond("https://elsewhere.example.com/actions/T1/1/abc", &message)
        .await;
    let got = requests(&server).await;
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(body, message);
}

#[tokio::test]
async fn the_report_bot_poster_sends_the_message_to_its_channel_with_the_token() {
    use selfheal_aws::report::BotPoster;
    use selfheal_service::report::ReportPoster;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})))
        .mount(&server)
        .await;
    let poster = BotPoster::new(
        http_client().expect("client"),
        &format!("{}/api", server.uri()),
        Secret::new(TOKEN.to_owned()),
        "C0REPORTS",
    );
    poster
        .post(&json!({"text": "weekly report", "blocks": []}))
        .await
        .expect("posted");
    let got = requests(&server).await;
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(
        body,
        json!({"text": "weekly report", "blocks": [], "channel": "C0REPORTS"})
    );
}

#[tokio::test]
async fn the_report_bot_poster_fails_on_a_slack_error_without_the_token() {
    use selfheal_aws::report::BotPoster;
    use selfheal_service::report::ReportPoster;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "not_in_channel"})),
        )
        .mount(&server)
        .await;
    let poster = BotPoster::new(
        http_client().expect("client"),
        &server.uri(),
        Secret::new(TOKEN.to_owned()),
        "C0REPORTS",
    );
    let err = poster
        .post(&json!({"text": "weekly report"}))
        .await
        .expect_err("a Slack error fails the run");
    assert!(err.contains("not_in_channel"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!(requests(&server).await.len(), 1, "not retried");
}
