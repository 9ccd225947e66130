//! `selfheal report` (shared/cli/src/report_cmd.rs and the CLI's arguments, shared/cli/src/args.rs,
//! compiled here as modules so it is tested before it is wired into the CLI): argument parsing,
//! usage errors, and — when moto is available (`SELFHEAL_MOTO_URL`, or started here) — a JSON
//! report read from a moto history table.

// The other commands' arguments are not used here.
#[allow(dead_code)]
#[path = "../../../shared/cli/src/args.rs"]
mod args;
#[path = "../../../shared/cli/src/report_cmd.rs"]
mod report_cmd;

use args::{ReportArgs, ReportFormat};
use clap::Parser;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

#[test]
fn parses_arguments() {
    let d = Cli::try_parse_from(["report"]).expect("defaults").args;
    assert_eq!(d.since, "7d");
    assert_eq!(d.format, ReportFormat::Text);
    assert_eq!(d.output, None);
    assert!(!d.complete_days);
    assert!(
        Cli::try_parse_from(["report", "--complete-days"])
            .expect("valid")
            .args
            .complete_days
    );
    let a = Cli::try_parse_from([
        "report", "--since", "2w", "--format", "markdown", "--output", "r.md",
    ])
    .expect("valid")
    .args;
    assert_eq!(a.since, "2w");
    assert_eq!(a.format, ReportFormat::Markdown);
    assert_eq!(a.output.as_deref(), Some(std::path::Path::new("r.md")));
    for f in ["json", "html", "text"] {
        assert!(
            Cli::try_parse_from(["report", "--format", f]).is_ok(),
            "{f}"
        );
    }
    assert!(Cli::try_parse_from(["report", "--format", "pdf"]).is_err());
}

#[tokio::test]
async fn bad_since_is_a_usage_error() {
    let args = Cli::try_parse_from(["report", "--since", "1y"])
        .expect("parses")
        .args;
    let code = report_cmd::run(&args).await;
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::from(2))
    );
}

#[tokio::test]
async fn json_report_from_moto() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some((url, _moto)) = selfheal_aws::local::moto_for_test("json_report_from_moto", &root)
    else {
        println!("SKIPPED json_report_from_moto: moto is not installed");
        return;
    };
    use selfheal_core::history::HistoryRecord;
    use selfheal_service::ports::StateStore;

    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let table = format!("selfheal-report-cli-{now}");
    let clients = selfheal_aws::AwsClients::with_endpoint(&url).await;
    selfheal_aws::local::create_table(&clients, &table)
        .await
        .expect("create table");
    let store = selfheal_aws::DynamoStateStore::new(clients.dynamodb.clone(), &table);
    // Today (UTC) is inside `selfheal report`'s period: it ends at the end of today.
    let day = selfheal_service::day_string(now);
    for i in 0..4 {
        store
            .put_history(&HistoryRecord {
                day: day.clone(),
                sort: format!("s{i}"),
                key: Some("web:disk_full".into()),
                role: Some("web".into()),
                alert: Some("disk_full".into()),
                instance: Some("i-0123456789abcdef0".into()),
                state: Some("ALARM".into()),
                outcome: "healed".into(),
                received_at_ms: now - 1000 * (i + 1),
                finished_at_ms: now,
                ..Default::default()
            })
            .await
            .expect("put");
    }
    std::env::set_var("AWS_ENDPOINT_URL", &url);
    std::env::set_var("SELFHEAL_TABLE", &table);
    std::env::set_var("SELFHEAL_REPORT_ALARM_HISTORY", "false");
    let out = std::env::temp_dir().join(format!("selfheal-report-cli-{now}.json"));
    let args = Cli::try_parse_from([
        "report",
        "--format",
        "json",
        "--output",
        out.to_str().expect("utf-8"),
    ])
    .expect("parses")
    .args;
    let code = report_cmd::run(&args).await;
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::SUCCESS)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("JSON");
    let _ = std::fs::remove_file(&out);
    assert_eq!(json["schema_version"], 2);
    assert_eq!(
        json["partial_day"],
        day.as_str(),
        "today is included and marked partial"
    );
    assert_eq!(json["alarm_history"]["status"], "off");
    assert_eq!(json["keys"][0]["key"], "web:disk_full");
    assert_eq!(json["keys"][0]["this_period"], 4);
    assert_eq!(json["keys"][0]["top_instances"][0]["healed"], 4);
    // One record naming the same instance 4 times: a permanent fix on it.
    assert_eq!(json["decisions"][0]["decision"], "permanent-fix-instance");

    // `--complete-days`: the scheduled view ends at the start of today.
    let args = Cli::try_parse_from([
        "report",
        "--format",
        "json",
        "--complete-days",
        "--output",
        out.to_str().expect("utf-8"),
    ])
    .expect("parses")
    .args;
    let code = report_cmd::run(&args).await;
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::SUCCESS)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("JSON");
    let _ = std::fs::remove_file(&out);
    assert_eq!(json["partial_day"], serde_json::Value::Null);
    assert_eq!(
        json["totals"]["alerts"], 0,
        "today's alerts are not in whole days"
    );
}
