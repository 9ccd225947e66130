//! CloudWatch alarm history through `aws-smithy-mocks` (moto answers 500 for
//! DescribeAlarmHistory): pagination, state parsing, the time filter, errors becoming a report
//! warning, and the join with selfheal's history.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmHistoryItem, HistoryItemType};
use aws_sdk_cloudwatch::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use selfheal_aws::report::CloudWatchAlarmHistory;
use selfheal_core::history::HistoryRecord;
use selfheal_core::report::{ReportWindow, WindowEnd};
use selfheal_service::ports::PortError;
use selfheal_service::report::{
    generate, AlarmHistorySource, AlarmStateUpdate, HistorySource, ReportSettings, Sources,
};

const HOUR: i64 = 3_600_000;
/// 2024-06-12T10:00:00Z.
const NOW: i64 = 1_718_186_400_000;

fn item(name: &str, at_ms: i64, old: &str, new: &str) -> AlarmHistoryItem {
    AlarmHistoryItem::builder()
        .alarm_name(name)
        .timestamp(DateTime::from_millis(at_ms))
        .history_item_type(HistoryItemType::StateUpdate)
        .history_summary(format!("Alarm updated from {old} to {new}"))
        .history_data(format!(
            r#"{{"version":"1.0","oldState":{{"stateValue":"{old}"}},"newState":{{"stateValue":"{new}"}}}}"#
        ))
        .build()
}

fn window() -> ReportWindow {
    ReportWindow::new(NOW, "UTC", 7, WindowEnd::StartOfToday).expect("window")
}

macro_rules! client {
    ([$($rule:expr),* $(,)?]) => {
        mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [$($rule),*], |c| {
            c.retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
        })
    };
}

#[tokio::test]
async fn pages_through_state_updates() {
    let (start, end) = window().span();
    let t = start + 8 * 24 * HOUR;
    let page1 = mock!(Client::describe_alarm_history)
        .match_requests(|r| {
            r.next_token().is_none()
                && r.history_item_type() == Some(&HistoryItemType::StateUpdate)
                && r.alarm_types().len() == 2
                && r.start_date().is_some()
                && r.end_date().is_some()
        })
        .then_output(move || {
            DescribeAlarmHistoryOutput::builder()
                .alarm_history_items(item("legacy-cpu", t, "OK", "ALARM"))
                .alarm_history_items(item("legacy-cpu", t + HOUR, "ALARM", "OK"))
                // Before the window: dropped.
                .alarm_history_items(item("legacy-cpu", start - HOUR, "OK", "ALARM"))
                .next_token("page-2")
                .build()
        });
    let page2 = mock!(Client::describe_alarm_history)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || {
            DescribeAlarmHistoryOutput::builder()
                .alarm_history_items(item("web:disk_full", t, "OK", "ALARM"))
                // No data and an unreadable summary: skipped.
                .alarm_history_items(
                    AlarmHistoryItem::builder()
                        .alarm_name("odd")
                        .timestamp(DateTime::from_millis(t))
                        .history_summary("something else")
                        .build(),
                )
                .build()
        });
    let source = CloudWatchAlarmHistory::new(client!([&page1, &page2]));
    let mut got: Vec<AlarmStateUpdate> = Vec::new();
    let n = source
        .state_updates(start, end, &mut |u| got.push(u))
        .await
        .expect("history");
    assert_eq!(n, 3);
    assert_eq!(page1.num_calls(), 1);
    assert_eq!(page2.num_calls(), 1);
    assert_eq!(
        got.iter()
            .map(|u| (u.alarm_name.as_str(), u.new_state.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("legacy-cpu", "ALARM"),
            ("legacy-cpu", "OK"),
            ("web:disk_full", "ALARM")
        ]
    );
    assert_eq!(got[0].timestamp_ms, t);
}

struct OneDay(Vec<HistoryRecord>);

#[async_trait]
impl HistorySource for OneDay {
    async fn history_day(&self, day: &str) -> Result<Vec<HistoryRecord>, PortError> {
        Ok(self.0.iter().filter(|r| r.day == day).cloned().collect())
    }
}

fn history() -> OneDay {
    let at = NOW - 2 * 24 * HOUR; // 2024-06-10T10:00Z
    OneDay(vec![HistoryRecord {
        day: "2024-06-10".into(),
        key: Some("web:disk_full".into()),
        role: Some("web".into()),
        alert: Some("disk_full".into()),
        instance: Some("i-0123456789abcdef0".into()),
        state: Some("ALARM".into()),
        outcome: "healed".into(),
        received_at_ms: at,
        finished_at_ms: at + 30_000,
        ..Default::default()
    }])
}

#[tokio::test]
async fn alarm_history_joins_the_report() {
    let t = NOW - 3 * 24 * HOUR;
    let rule = mock!(Client::describe_alarm_history).then_output(move || {
        DescribeAlarmHistoryOutput::builder()
            .alarm_history_items(item("legacy-cpu", t, "OK", "ALARM"))
            .alarm_history_items(item("web:disk_full", t, "OK", "ALARM"))
            .build()
    });
    let sources = Sources {
        history: Arc::new(history()),
        alarms: Some(Arc::new(CloudWatchAlarmHistory::new(client!([&rule])))),
    };
    let report = generate(&sources, &ReportSettings::default(), window(), None)
        .await
        .expect("report");
    let keys: Vec<&str> = report.keys.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(keys, vec!["legacy-cpu", "web:disk_full"]);
    assert!(report.keys[1].seen.cloudwatch && report.keys[1].seen.history);
    assert!(report
        .decisions
        .iter()
        .any(|d| d.decision == "route-elsewhere" && d.key == "legacy-cpu"));
    assert!(report.data_quality.warnings.is_empty());
    assert!(report.alarm_history.is_read());
}

#[tokio::test]
async fn alarm_history_errors_become_a_warning() {
    let rule = mock!(Client::describe_alarm_history).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).expect("status"),
            aws_smithy_types::body::SdkBody::from("<ErrorResponse><Error><Code>InternalFailure</Code><Message>boom</Message></Error></ErrorResponse>"),
        )
    });
    let sources = Sources {
        history: Arc::new(history()),
        alarms: Some(Arc::new(CloudWatchAlarmHistory::new(client!([&rule])))),
    };
    let report = generate(&sources, &ReportSettings::default(), window(), None)
        .await
        .expect("the report survives");
    assert_eq!(report.totals.alerts, 1);
    assert_eq!(report.data_quality.warnings.len(), 1);
    assert!(report.data_quality.warnings[0].contains("CloudWatch alarm history unavailable"));
    // Said at the top, as one short line, not only as a raw error at the bottom.
    assert_eq!(report.alarm_history.status, "not read");
    let reason = report.alarm_history.reason.as_deref().expect("reason");
    assert!(
        !reason.contains('\n') && reason.chars().count() <= 161,
        "{reason}"
    );
    let text = selfheal_core::report::render_text(&report);
    assert!(
        text.lines()
            .take(4)
            .any(|l| l.contains("alarm history was not read")),
        "{text}"
    );
}

#[tokio::test]
async fn alarm_history_turned_off_is_said_and_not_counted_as_zero() {
    let sources = Sources {
        history: Arc::new(history()),
        alarms: None,
    };
    let report = generate(&sources, &ReportSettings::default(), window(), None)
        .await
        .expect("report");
    assert_eq!(report.alarm_history.status, "off");
    let html = selfheal_core::report::render_html(&report);
    assert!(
        html.contains("alarms only in CloudWatch: not read"),
        "no misleading 0"
    );
}

struct Broken;

#[async_trait]
impl HistorySource for Broken {
    async fn history_day(&self, _day: &str) -> Result<Vec<HistoryRecord>, PortError> {
        Err(PortError::Transient("table unreachable".into()))
    }
}

#[tokio::test]
async fn history_errors_fail_the_report() {
    let sources = Sources {
        history: Arc::new(Broken),
        alarms: None,
    };
    let err = generate(&sources, &ReportSettings::default(), window(), None)
        .await
        .expect_err("fails");
    assert!(err.to_string().contains("table unreachable"), "{err}");
}
