//! The two-week fixture of `shared/core/tests/fixtures/report/` through the reporter's real
//! path: [`generate`] reads it day partition by day partition (each day in the table's key
//! order, not time order) and must reach the same decisions as the core test; the chart renders
//! to a PNG Slack can show. `SELFHEAL_REPORT_DOCS=DIR` also writes `chart.png` there (how
//! `docs/report-chart.png` is made).

use std::sync::Arc;

use async_trait::async_trait;
use selfheal_core::history::HistoryRecord;
use selfheal_core::report::{render_summary_svg, ReportWindow, WindowEnd};
use selfheal_service::ports::PortError;
use selfheal_service::report::{generate, HistorySource, ReportSettings, Sources};
use weekly_reporter::png;

/// Monday 2026-11-30 07:00 Europe/Berlin.
const NOW: i64 = 1_796_018_400_000;

struct Fixture(Vec<HistoryRecord>);

#[async_trait]
impl HistorySource for Fixture {
    async fn history_day(&self, day: &str) -> Result<Vec<HistoryRecord>, PortError> {
        // DynamoDB answers a day partition in sort-key order.
        let mut v: Vec<HistoryRecord> = self.0.iter().filter(|r| r.day == day).cloned().collect();
        v.sort_by(|a, b| a.sort.cmp(&b.sort));
        Ok(v)
    }
}

fn fixture() -> Fixture {
    Fixture(
        include_str!("../../../shared/core/tests/fixtures/report/two_weeks.jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).expect("record"))
            .collect(),
    )
}

#[tokio::test]
async fn the_two_week_fixture_through_generate() {
    let settings = ReportSettings {
        time_zone: "Europe/Berlin".into(),
        alarm_history: false,
        ..ReportSettings::default()
    };
    let sources = Sources {
        history: Arc::new(fixture()),
        alarms: None,
    };
    let window =
        ReportWindow::new(NOW, "Europe/Berlin", 7, WindowEnd::StartOfToday).expect("window");
    let report = generate(&sources, &settings, window, None)
        .await
        .expect("report");
    let want: serde_json::Value = serde_json::from_str(include_str!(
        "../../../shared/core/tests/fixtures/report/two_weeks.expected.json"
    ))
    .expect("expected");
    // Without alarm history the CloudWatch-only alarm is missing; every other decision is the
    // same, in the same order.
    let want: Vec<(String, String)> = want["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter(|d| d[0] != "legacy-mem-high")
        .map(|d| {
            (
                d[0].as_str().expect("key").to_owned(),
                d[1].as_str().expect("decision").to_owned(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = report
        .decisions
        .iter()
        .map(|d| (d.key.clone(), d.decision.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(report.alarm_history.status, "off");

    let png = png::svg_to_png(&render_summary_svg(&report), png::PNG_SCALE).expect("png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    if let Some(dir) = std::env::var_os("SELFHEAL_REPORT_DOCS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("chart.png"), &png).expect("write");
    }
}
