//! The report's SVG charts: pure SVG strings, no script, no external reference, no font but the
//! generic `sans-serif`, styled with presentation attributes only (the Lambda renders them to
//! PNG with resvg, which knows no stylesheet). Every string that comes from the report is
//! sanitized and escaped.
//!
//! - [`render_svg`], the daily chart: one bar per day of this period stacked by outcome group
//!   (plus the alerts seen only in CloudWatch), last period's count of the same day slot drawn
//!   behind it as an outlined ghost bar, a y axis with gridlines and the day's total above the
//!   taller of the two.
//! - [`render_heatmap_svg`]: alerts by local weekday × hour of day, working hours outlined, the
//!   busiest cell named.
//! - [`render_keys_svg`]: one horizontal stacked bar per top key with a tick at last period's
//!   count; keys left out are counted below.
//! - [`render_summary_svg`]: the period title, the daily chart and the heatmap in one
//!   standalone document (the PNG sent to Slack).
//!
//! Charts are 960 px wide. Positions are computed so that no label overlaps another (text
//! widths are estimated at 0.62 × font size per character, a little wider than DejaVu Sans'
//! average) and nothing leaves the `viewBox`.
//!
//! Read-back hooks for tests and tools: segments are `<rect class="seg">` with `data-day` (or
//! `data-key`), `data-group` and `data-count`; ghosts `<rect class="ghost">`; heatmap cells
//! `<rect class="cell">` with `data-weekday`, `data-hour` and `data-count`; the daily and keys
//! charts carry `data-max` and `data-unit` (pixels per alert) on their root, and every bar's
//! height is `count × unit` rounded to two decimals.

use std::fmt::Write as _;

use super::{escape_html, group_label, sanitize};
use crate::report::model::OUTCOME_GROUPS;

mod daily;
mod heatmap;
mod keys;
mod summary;

pub use daily::render_svg;
pub use heatmap::render_heatmap_svg;
pub use keys::render_keys_svg;
pub use summary::render_summary_svg;

/// Keys charted by [`render_keys_svg`] by default.
pub const CHART_TOP_KEYS: usize = 10;

/// Chart options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvgOptions {
    /// Keys charted by [`render_keys_svg`] (the first `top_keys` of the report with alerts this
    /// period).
    pub top_keys: usize,
    /// Adds `xmlns` so the SVG stands alone as a file; inline in HTML it is not needed.
    pub standalone: bool,
}

impl Default for SvgOptions {
    fn default() -> Self {
        Self {
            top_keys: CHART_TOP_KEYS,
            standalone: true,
        }
    }
}

pub(super) const WIDTH: f64 = 960.0;
/// Estimated text width per character, in font sizes.
pub(super) const CHAR_W: f64 = 0.62;
pub(super) const INK: &str = "#111827";
pub(super) const MUTED: &str = "#4b5563";
pub(super) const GRID: &str = "#e5e7eb";

/// The series name of alerts seen only in CloudWatch alarm history (not in an outcome group).
pub const CLOUDWATCH_ONLY: &str = "cloudwatch_only";

/// Colours of the outcome groups, in [`OUTCOME_GROUPS`] order, then CloudWatch only. Distinct
/// in hue and lightness (green, red, orange, purple, blue, grey, yellow, slate, brown), so
/// neighbours stay apart under the common colour-vision deficiencies.
pub(super) const COLOURS: [&str; 9] = [
    "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#0277bd", "#9e9e9e", "#f9a825", "#546e7a",
    "#8d6e63",
];

/// Series names in stacking order (bottom first): the outcome groups, then CloudWatch only.
pub(super) fn series_name(i: usize) -> &'static str {
    OUTCOME_GROUPS.get(i).copied().unwrap_or(CLOUDWATCH_ONLY)
}

pub(super) fn series_label(i: usize) -> &'static str {
    if i < OUTCOME_GROUPS.len() {
        group_label(OUTCOME_GROUPS[i])
    } else {
        "CloudWatch only"
    }
}

/// Sanitized and escaped report text.
pub(super) fn esc(s: &str, max: usize) -> String {
    escape_html(&sanitize(s, max))
}

pub(super) fn text_w(s: &str, font_size: f64) -> f64 {
    s.chars().count() as f64 * CHAR_W * font_size
}

pub(super) fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A chart's content and height, to be wrapped in a document or placed in the summary.
pub(super) struct Chart {
    pub(super) body: String,
    pub(super) height: f64,
    /// Extra attributes of the chart's root (`data-max`, `data-unit`).
    pub(super) attrs: String,
    pub(super) title: String,
}

/// `<text>` with an explicit size, anchor and fill; `content` is already escaped.
#[allow(clippy::too_many_arguments)]
pub(super) fn text(
    s: &mut String,
    class: &str,
    x: f64,
    y: f64,
    size: f64,
    anchor: &str,
    fill: &str,
    extra: &str,
    content: &str,
) {
    let _ = write!(
        s,
        r#"<text class="{class}" x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>{content}</text>"#
    );
}

pub(super) fn document(chart: &Chart, class: &str, standalone: bool) -> String {
    let xmlns = if standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    let h = chart.height.ceil();
    let mut s = String::with_capacity(chart.body.len() + 400);
    let _ = write!(
        s,
        r##"<svg{xmlns} class="{class}" role="img" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}" font-family="sans-serif" font-size="12"{}><title>{}</title><rect x="0" y="0" width="{WIDTH}" height="{h}" fill="#ffffff"/>"##,
        chart.attrs, chart.title
    );
    s.push_str(&chart.body);
    s.push_str("</svg>");
    s
}

/// One legend entry.
pub(super) enum Mark {
    /// A filled square of a series' colour.
    Series(usize),
    /// The outlined ghost bar.
    Ghost,
    /// The last-period tick.
    Tick,
}

/// Lays out legend entries left to right from `(x0, y)`, wrapping before `max_x`; returns the
/// baseline of the last row.
pub(super) fn legend(s: &mut String, marks: &[(Mark, String)], x0: f64, y: f64, max_x: f64) -> f64 {
    const SIZE: f64 = 11.0;
    const ROW: f64 = 18.0;
    let (mut x, mut y) = (x0, y);
    for (mark, label) in marks {
        let w = 14.0 + text_w(label, SIZE);
        if x > x0 && x + w > max_x {
            x = x0;
            y += ROW;
        }
        let sy = y - 9.0;
        match mark {
            Mark::Series(i) => {
                let _ = write!(
                    s,
                    r#"<g class="legend" data-group="{}"><rect x="{x:.2}" y="{sy:.2}" width="10" height="10" fill="{}"/>"#,
                    series_name(*i),
                    COLOURS[*i]
                );
            }
            Mark::Ghost => {
                let _ = write!(
                    s,
                    r##"<g class="legend-ghost"><rect x="{x:.2}" y="{sy:.2}" width="10" height="10" fill="#f3f4f6" stroke="#6b7280" stroke-dasharray="2 1.5"/>"##
                );
            }
            Mark::Tick => {
                let _ = write!(
                    s,
                    r#"<g class="legend-last"><line x1="{:.2}" y1="{sy:.2}" x2="{:.2}" y2="{:.2}" stroke="{INK}" stroke-width="2"/>"#,
                    x + 5.0,
                    x + 5.0,
                    sy + 10.0
                );
            }
        }
        text(
            s,
            "legend-label",
            x + 14.0,
            y,
            SIZE,
            "start",
            INK,
            "",
            &escape_html(label),
        );
        s.push_str("</g>");
        x += w + 16.0;
    }
    y
}

/// A gridline step from 1, 2, 5 × 10ⁿ giving at most five lines above zero.
pub(super) fn nice_step(max: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = m * p;
            if max / step <= 5 {
                return step;
            }
        }
        p = p.saturating_mul(10);
    }
}
