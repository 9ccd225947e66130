//! The reporter end to end against moto (history table, S3) and a local Slack stand-in.
//! Uses `SELFHEAL_MOTO_URL` when set, else starts moto (`selfheal_aws::local::moto_for_test`;
//! required under `make test`). CloudWatch alarm history is off here (moto answers 500 for it; see
//! `tests/alarm_history.rs`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use selfheal_aws::report::{aws_sources, http_client, S3ReportStore, Secret, WebhookPoster};
use selfheal_aws::{AwsClients, DynamoStateStore};
use selfheal_core::history::HistoryRecord;
use selfheal_service::ports::StateStore;
use selfheal_service::report::{
    run_weekly, ReportPoster, ReportSettings, ReportStore, RunInput, Targets,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const DAY: i64 = 86_400_000;

/// The emulator (started here unless `SELFHEAL_MOTO_URL` names one) and its server, if started.
fn moto_url(test: &str) -> Option<(String, Option<selfheal_aws::local::Moto>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    selfheal_aws::local::moto_for_test(test, &root)
}

fn default_aws_env() {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
}

/// A one-shot HTTP server on 127.0.0.1 that answers `200 ok` and hands over each request body.
async fn slack_stand_in() -> (String, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head_end, len) = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (i + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
            let _ = tx.send((head, body)).await;
        }
    });
    (format!("http://{addr}/services/T000/B000/secret"), rx)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn record(key: &str, outcome: &str, instance: &str, at: i64, n: usize) -> HistoryRecord {
    let (role, alert) = key.split_once(':').expect("ROLE:ALERT");
    HistoryRecord {
        day: selfheal_core::calendar::day_string(at),
        sort: format!("{key}#{n}"),
        identity: format!("id-{key}-{n}"),
        key: Some(key.into()),
        runbook: (outcome != "no-runbook").then(|| key.into()),
        role: Some(role.into()),
        alert: Some(alert.into()),
        instance: Some(instance.into()),
        source: Some("cloudwatch".into()),
        state: Some("ALARM".into()),
        outcome: outcome.into(),
        received_at_ms: at,
        finished_at_ms: at + 45_000,
        expires_at: at / 1000 + 90 * 86_400,
        ..Default::default()
    }
}

#[tokio::test]
async fn weekly_report_against_moto_and_a_slack_stand_in() {
    let Some((url, _moto)) = moto_url("weekly_report_against_moto_and_a_slack_stand_in") else {
        println!("SKIPPED weekly_report_against_moto_and_a_slack_stand_in: moto is not installed");
        return;
    };
    default_aws_env();
    let clients = AwsClients::with_endpoint(&url).await;
    let suffix = now_ms();
    let table = format!("selfheal-report-e2e-{suffix}");
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");

    // History: yesterday and the day before (UTC, complete days of this period).
    let now = now_ms();
    let yesterday_noon = now.div_euclid(DAY) * DAY - DAY / 2;
    let store = DynamoStateStore::new(clients.dynamodb.clone(), &table);
    let mut records = Vec::new();
    for i in 0..6 {
        records.push(record(
            "web:disk_full",
            "healed",
            "i-0123456789abcdef0",
            yesterday_noon - (i % 2) * DAY + i * 1000,
            i as usize,
        ));
    }
    for i in 0..3 {
        records.push(record(
            "db:<!channel>",
            "no-runbook",
            "i-0fedcba9876543210",
            yesterday_noon - i * 60_000,
            100 + i as usize,
        ));
    }
    // Last period: one alert.
    records.push(record(
        "web:disk_full",
        "healed",
        "i-0123456789abcdef0",
        yesterday_noon - 8 * DAY,
        200,
    ));
    for r in &records {
        store.put_history(r).await.expect("put history");
    }

    // S3 for the HTML page.
    let bucket = format!("selfheal-report-e2e-{suffix}");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&clients.sdk_config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");

    let (webhook, mut posts) = slack_stand_in().await;
    let settings = ReportSettings {
        alarm_history: false,
        bucket: Some(bucket.clone()),
        url_base: Some("https://reports.example.com".into()),
        ..ReportSettings::default()
    };
    let sources = aws_sources(&clients, &table, &settings);
    let targets = Targets {
        slack: Some(Arc::new(WebhookPoster::new(
            http_client().expect("http client"),
            Secret::new(webhook),
        )) as Arc<dyn ReportPoster>),
        store: Some(Arc::new(S3ReportStore::new(s3.clone(), &bucket)) as Arc<dyn ReportStore>),
        chart: Some(weekly_reporter::png::chart_png),
        region: clients.region(),
    };
    let summary = run_weekly(&sources, &settings, &targets, &RunInput::default(), now)
        .await
        .expect("weekly run");
    assert_eq!(summary.slack, "posted");
    assert_eq!(summary.alerts, 9, "{summary:?}");
    assert_eq!(summary.keys, 2);
    assert!(summary.decisions >= 1, "{summary:?}");
    assert!(summary.chart, "the chart PNG was uploaded: {summary:?}");
    let html_loc = summary.html.clone().expect("uploaded");
    assert!(html_loc.starts_with(&format!("s3://{bucket}/selfheal/reports/selfheal-report-")));

    let (head, body) = tokio::time::timeout(std::time::Duration::from_secs(10), posts.recv())
        .await
        .expect("Slack got a post in time")
        .expect("a post");
    assert!(
        head.starts_with("POST /services/T000/B000/secret"),
        "{head}"
    );
    let payload: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50);
    assert!(body.contains("web:disk_full"));
    assert!(body.contains("&lt;!channel&gt;"));
    assert!(!body.contains("<!channel>"));
    assert!(
        body.contains("<https://reports.example.com/selfheal/reports/selfheal-report-"),
        "{body}"
    );

    let key = html_loc
        .trim_start_matches(&format!("s3://{bucket}/"))
        .to_owned();
    let obj = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect("get html");
    assert_eq!(obj.content_type(), Some("text/html; charset=utf-8"));
    let html = obj.body.collect().await.expect("body").into_bytes();

    // The chart beside it, shown in Slack through a presigned URL (no public base here).
    let image = blocks
        .iter()
        .find(|b| b["type"] == "image")
        .expect("an image block");
    let image_url = image["image_url"].as_str().expect("image_url");
    assert!(image_url.contains(".png?"), "{image_url}");
    assert!(
        image_url.contains("X-Amz-Signature="),
        "presigned: {image_url}"
    );
    let png = reqwest::get(image_url)
        .await
        .expect("fetch chart")
        .bytes()
        .await
        .expect("chart bytes");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        png.len() > 10_000,
        "a real chart, not a blank: {} bytes",
        png.len()
    );
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains("<svg"));
    assert!(html.contains("web:disk_full"));
    assert!(!html.contains("<!channel>"));
}
