//! Report renderers: the HTML page rendered in headless Chromium at 1280 px, Slack Block Kit limits under 500 keys, escaping of hostile names.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use selfheal_core::history::HistoryRecord;
use selfheal_core::report::render::{SLACK_MAX_BLOCKS, SLACK_MAX_TEXT, SLACK_TOP_KEYS};
use selfheal_core::report::*;
use serde_json::Value;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2024-06-12T10:00:00Z.
const NOW: i64 = 1_718_186_400_000;

fn window() -> ReportWindow {
    ReportWindow::new(NOW, "Europe/Berlin", 7, WindowEnd::StartOfToday).expect("window")
}

fn rec(key: &str, outcome: &str, instance: &str, at: i64) -> HistoryRecord {
    let (role, alert) = key.split_once(':').unwrap_or(("", key));
    HistoryRecord {
        key: Some(key.into()),
        role: Some(role.into()),
        alert: Some(alert.into()),
        instance: Some(instance.into()),
        state: Some("ALARM".into()),
        outcome: outcome.into(),
        received_at_ms: at,
        finished_at_ms: at + 90_000,
        ..Default::default()
    }
}

/// Known daily counts for three keys (this period, Berlin days).
const KNOWN: [(&str, [u64; 7]); 3] = [
    ("web:disk_full", [3, 0, 5, 1, 0, 2, 4]),
    ("db:replication_lag", [1, 1, 1, 1, 1, 1, 1]),
    ("cache:evictions", [0, 0, 0, 6, 0, 0, 0]),
];

fn known_report() -> Report {
    let w = window();
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for (key, daily) in KNOWN {
        for (d, n) in daily.iter().enumerate() {
            for i in 0..*n {
                let outcome = if i % 4 == 3 { "failed" } else { "healed" };
                b.add(&rec(
                    key,
                    outcome,
                    &format!("i-{:08x}", i),
                    start + d as i64 * DAY + 9 * HOUR + i as i64 * 60_000,
                ));
            }
        }
    }
    b.add_alarm_history("legacy <b>alarm</b>", start + 2 * DAY, "ALARM");
    b.finish(ReportConfig {
        report_url: Some("https://reports.example.com/selfheal/2024-06-12.html".into()),
        ..ReportConfig::default()
    })
}

const HOSTILE: &str = "web:<script>alert(1)</script>&<!channel><@U123>|`*bold*`<https://evil.example|click>\u{202e}\n# x";

fn hostile_report() -> Report {
    let w = window();
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for i in 0..3 {
        b.add(&rec(
            HOSTILE,
            "no-runbook",
            "i-<img src=x onerror=alert(1)>",
            start + i * DAY,
        ));
    }
    b.add_alarm_history("<!here> \"quoted\" 'alarm' & co", start + DAY, "ALARM");
    b.finish(ReportConfig {
        report_url: Some("https://x.example/r?a=1&b=<!channel>|pwn".into()),
        ..ReportConfig::default()
    })
}

#[test]
fn html_is_self_contained() {
    let r = known_report();
    let html = render_html(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script", "http://", "https://", "src=", "@import", "url(", "<link",
    ] {
        assert!(!lower.contains(banned), "HTML contains {banned}");
    }
    assert!(html.contains("web:disk_full"));
    assert!(html.contains("default-src 'none'"));
}

#[test]
fn html_escapes_hostile_names() {
    let r = hostile_report();
    let html = render_html(&r);
    assert!(!html.contains("<script>alert(1)"), "script injected");
    assert!(!html.contains("<img"), "img injected");
    assert!(!html.contains("<!channel>"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&lt;!channel&gt;"));
    assert!(!html.contains('\u{202e}'), "bidi override kept");
    assert!(!html.to_ascii_lowercase().contains("<script"));
    // The inline SVG also parses as XML when lifted out of the page.
    let start = html.find("<svg").expect("svg");
    let end = html.find("</svg>").expect("svg end") + "</svg>".len();
    roxmltree::Document::parse(&html[start..end]).expect("inline SVG is well-formed");
}

/// Every `"text": "…"` string in the payload, with the type of its object (or `-`).
fn texts(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(t)) = m.get("text") {
                let kind = m.get("type").and_then(Value::as_str).unwrap_or("-");
                out.push((kind.to_owned(), t.clone()));
            }
            m.values().for_each(|x| texts(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        _ => {}
    }
}

fn check_slack_limits(payload: &Value) {
    let blocks = payload["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty());
    assert!(blocks.len() <= SLACK_MAX_BLOCKS, "{} blocks", blocks.len());
    for b in blocks {
        let kind = b["type"].as_str().expect("block type");
        assert!(
            ["header", "section", "divider", "context", "image"].contains(&kind),
            "{kind}"
        );
        if kind == "image" {
            // Slack: image_url ≤ 3000 characters, alt_text ≤ 2000 and required.
            let url = b["image_url"].as_str().expect("image_url");
            assert!(url.starts_with("https://") || url.starts_with("http://"));
            assert!(url.chars().count() <= 3000);
            let alt = b["alt_text"].as_str().expect("alt_text");
            assert!(!alt.is_empty() && alt.chars().count() <= 2000);
        }
        if kind == "header" {
            assert!(b["text"]["text"].as_str().expect("header").chars().count() <= 150);
        }
        if let Some(fields) = b.get("fields").and_then(Value::as_array) {
            assert!(fields.len() <= 10);
            for f in fields {
                assert!(f["text"].as_str().expect("field").chars().count() <= 2000);
            }
        }
    }
    let mut all = Vec::new();
    texts(payload, &mut all);
    for (_, t) in &all {
        assert!(
            t.chars().count() <= SLACK_MAX_TEXT,
            "text of {} chars",
            t.chars().count()
        );
    }
}

#[test]
fn slack_respects_limits_with_500_keys() {
    let w = window();
    let (start, _) = w.this_period();
    let mut b = ReportBuilder::new(w);
    for k in 0..500 {
        // Long names, every key with several recommendations.
        let key = format!("role{k}:{}", "very_long_alert_name_".repeat(8));
        for i in 0..(3 + k % 5) {
            b.add(&rec(
                &key,
                "no-runbook",
                "i-00000001",
                start + (i as i64 % 7) * DAY,
            ));
        }
        for i in 0..3 {
            b.add(&rec(&key, "healed", "i-00000002", start + i * DAY));
        }
        b.add_alarm_history(&format!("cw-only-{k}"), start + DAY, "ALARM");
    }
    let r = b.finish(ReportConfig {
        report_url: Some("https://reports.example.com/x.html".into()),
        ..ReportConfig::default()
    });
    assert_eq!(r.keys.len(), 1000);
    assert!(r.decisions.len() >= 1000);
    let payload = render_slack(&r);
    check_slack_limits(&payload);
    let blocks = payload["blocks"].as_array().expect("blocks");
    let sparks = blocks
        .iter()
        .filter(|b| {
            b["text"]["text"]
                .as_str()
                .is_some_and(|t| t.chars().any(|c| ('▁'..='█').contains(&c)))
        })
        .count();
    assert_eq!(sparks, SLACK_TOP_KEYS, "top 10 keys with sparklines");
    let body = payload.to_string();
    assert!(
        body.contains(&format!(
            "(8 of {}, most pages removed first)",
            r.decisions.len()
        )),
        "the message says how many decisions it leaves to the full report"
    );
    assert!(
        body.contains("+ 990 more keys with"),
        "keys left out are mentioned"
    );
    assert!(body.contains("<https://reports.example.com/x.html|Full report>"));
}

#[test]
fn slack_sparklines_follow_daily_counts() {
    let r = known_report();
    let payload = render_slack(&r);
    check_slack_limits(&payload);
    let body = payload.to_string();
    // web:disk_full daily [3,0,5,1,0,2,4] scaled to its max 5 (level = ⌈7·v/max⌉, ▁ for 0).
    assert!(body.contains("`▆▁█▃▁▄▇`"), "{body}");
    assert!(body.contains("`███████`"), "{body}");
}

#[test]
fn slack_escapes_hostile_names() {
    let r = hostile_report();
    let payload = render_slack(&r);
    check_slack_limits(&payload);
    let mut all = Vec::new();
    texts(&payload, &mut all);
    let joined: String = all
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for bad in [
        "<!channel>",
        "<!here>",
        "<@U123>",
        "<script>",
        "<https://evil.example|click>",
        "<img",
    ] {
        assert!(!joined.contains(bad), "{bad} survived:\n{joined}");
    }
    assert!(joined.contains("&lt;!channel&gt;"));
    assert!(!joined.contains('\u{202e}'));
    // The only live link is the report URL, made inert where it could break out.
    assert!(
        joined.contains("<https://x.example/r?a=1&amp;b=%3C!channel%3E%7Cpwn|Full report>"),
        "{joined}"
    );
    assert_eq!(joined.matches('<').count(), 1, "{joined}");
}

#[test]
fn markdown_and_text_escape_hostile_names() {
    let r = hostile_report();
    let md = render_markdown(&r);
    assert!(!md.contains("<script>"));
    assert!(!md.contains("<!channel>"));
    assert!(md.contains("\\|"), "pipes escaped");
    for line in md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("script"))
    {
        // The table row has exactly the table's cells: 8 columns → 9 unescaped pipes.
        let unescaped = line
            .match_indices('|')
            .filter(|(i, _)| *i == 0 || &line[i - 1..*i] != "\\")
            .count();
        assert_eq!(unescaped, 9, "{line}");
    }
    let text = render_text(&r);
    assert!(!text.contains('\u{202e}'));
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters in text output"
    );
}

#[test]
fn renders_all_formats() {
    let r = known_report();
    let text = render(&r, Format::Text);
    assert!(text.contains("web:disk_full"));
    assert!(text.contains("Decisions this week"));
    let decisions_at = text.find("Decisions this week").expect("decisions");
    let keys_at = text.find("Alerts by ROLE:ALERT").expect("keys");
    assert!(decisions_at < keys_at, "decisions come first");
    let md = render(&r, Format::Markdown);
    assert!(md.starts_with("# selfheal weekly report"));
    let json: Value = serde_json::from_str(&render(&r, Format::Json)).expect("json");
    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["keys"][0]["key"], "web:disk_full");
    assert_eq!(
        json["keys"][0]["daily"],
        serde_json::json!([3, 0, 5, 1, 0, 2, 4])
    );
}

// ---- headless Chromium ----

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if !p.is_empty() {
                    return Some(PathBuf::from(p));
                }
            }
        }
    }
    None
}

fn fresh_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "selfheal-report-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn distinct_colours(png_path: &Path) -> usize {
    let file = std::fs::File::open(png_path).expect("png exists");
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let mut colours = HashSet::new();
    for px in bytes.chunks_exact(channels) {
        colours.insert(px.to_vec());
        if colours.len() > 64 {
            break;
        }
    }
    colours.len()
}

#[test]
fn html_renders_in_headless_chromium() {
    let required = std::env::var("SELFHEAL_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
    let Some(browser) = chromium() else {
        assert!(
            !required,
            "SELFHEAL_REQUIRE_CHROMIUM=1 but chromium is not installed"
        );
        println!("SKIPPED html_renders_in_headless_chromium: chromium not found (apt-get install -y chromium)");
        return;
    };
    let dir = fresh_dir("chromium");
    let html_path = dir.join("report.html");
    let png_path = dir.join("report.png");
    let profile = dir.join("profile");
    std::fs::write(&html_path, render_html(&known_report())).expect("write html");
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg("--window-size=1280,800")
        .arg(format!("file://{}", html_path.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 120 s");
            }
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    assert!(png_path.exists(), "chromium wrote no screenshot");
    let colours = distinct_colours(&png_path);
    assert!(colours > 1, "the screenshot is blank ({colours} colour)");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slack_shows_the_chart_only_from_an_http_url() {
    let mut r = known_report();
    let images = |p: &Value| {
        p["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .filter(|b| b["type"] == "image")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(images(&render_slack(&r)).is_empty(), "no chart uploaded");
    r.chart_url = Some(
        "https://bucket.s3.amazonaws.com/r/selfheal-report-2024-06-11.png?X-Amz-Signature=abc"
            .into(),
    );
    let payload = render_slack(&r);
    check_slack_limits(&payload);
    let img = images(&payload);
    assert_eq!(img.len(), 1);
    assert_eq!(
        img[0]["image_url"],
        "https://bucket.s3.amazonaws.com/r/selfheal-report-2024-06-11.png?X-Amz-Signature=abc"
    );
    assert!(img[0]["alt_text"].as_str().is_some_and(|t| !t.is_empty()));
    // Decisions come before the chart and the keys.
    let blocks = payload["blocks"].as_array().expect("blocks");
    let pos = |pred: &dyn Fn(&Value) -> bool| blocks.iter().position(pred).expect("block");
    let decisions = pos(&|b| {
        b["text"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("*Decisions this week"))
    });
    let image = pos(&|b| b["type"] == "image");
    assert!(decisions < image);
    r.chart_url = Some("javascript:alert(1)".into());
    assert!(images(&render_slack(&r)).is_empty());
}
