//! The summary: period title, daily chart and heatmap in one standalone SVG (the Slack PNG).

use std::fmt::Write as _;

use super::daily::daily_chart;
use super::heatmap::heatmap_chart;
use super::*;
use crate::report::model::*;
use crate::report::render::{change_text, period_title};

/// The period title, the daily chart and the heatmap in one standalone SVG, 960 px wide,
/// styled with presentation attributes only (rendered to PNG without a stylesheet).
pub fn render_summary_svg(r: &Report) -> String {
    let daily = daily_chart(r);
    let heat = heatmap_chart(r);
    let mut s = String::new();
    text(
        &mut s,
        "title",
        16.0,
        26.0,
        18.0,
        "start",
        INK,
        r#" font-weight="bold""#,
        "selfheal weekly report",
    );
    text(
        &mut s,
        "period",
        16.0,
        46.0,
        12.0,
        "start",
        MUTED,
        "",
        &esc(&period_title(r), 120),
    );
    let t = &r.totals;
    let headline = format!(
        "{} ({} vs {}) · {} healed with no person · {} needed a person · {} off hours",
        plural(t.alerts, "alert", "alerts"),
        change_text(&t.change),
        if r.partial_day.is_some() {
            "same span"
        } else {
            "last period"
        },
        t.human_pages_avoided,
        t.humans_involved,
        t.off_hours.alerts
    );
    text(
        &mut s, "headline", 16.0, 64.0, 12.0, "start", INK, "", &headline,
    );
    let y1 = 76.0;
    let _ = write!(
        s,
        r#"<line x1="16" y1="{y1}" x2="{}" y2="{y1}" stroke="{GRID}" stroke-width="1"/>"#,
        WIDTH - 16.0
    );
    let _ = write!(
        s,
        r#"<g class="daily" transform="translate(0,{y1})"{}>{}</g>"#,
        daily.attrs, daily.body
    );
    let y2 = y1 + daily.height;
    let _ = write!(
        s,
        r#"<g class="heatmap" transform="translate(0,{y2})"{}>{}</g>"#,
        heat.attrs, heat.body
    );
    let chart = Chart {
        body: s,
        height: y2 + heat.height,
        attrs: String::new(),
        title: format!("selfheal weekly report, {}", esc(&period_title(r), 120)),
    };
    document(&chart, "chart summary", true)
}
