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

use super::{change_text, escape_html, group_label, period_title, sanitize};
use crate::report::model::{Report, WorkHours, OUTCOME_GROUPS};

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

const WIDTH: f64 = 960.0;
/// Estimated text width per character, in font sizes.
const CHAR_W: f64 = 0.62;
const INK: &str = "#111827";
const MUTED: &str = "#4b5563";
const GRID: &str = "#e5e7eb";

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
fn series_name(i: usize) -> &'static str {
    OUTCOME_GROUPS.get(i).copied().unwrap_or(CLOUDWATCH_ONLY)
}

fn series_label(i: usize) -> &'static str {
    if i < OUTCOME_GROUPS.len() {
        group_label(OUTCOME_GROUPS[i])
    } else {
        "CloudWatch only"
    }
}

/// Sanitized and escaped report text.
fn esc(s: &str, max: usize) -> String {
    escape_html(&sanitize(s, max))
}

fn text_w(s: &str, font_size: f64) -> f64 {
    s.chars().count() as f64 * CHAR_W * font_size
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A chart's content and height, to be wrapped in a document or placed in the summary.
struct Chart {
    body: String,
    height: f64,
    /// Extra attributes of the chart's root (`data-max`, `data-unit`).
    attrs: String,
    title: String,
}

/// `<text>` with an explicit size, anchor and fill; `content` is already escaped.
#[allow(clippy::too_many_arguments)]
fn text(
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

fn document(chart: &Chart, class: &str, standalone: bool) -> String {
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
enum Mark {
    /// A filled square of a series' colour.
    Series(usize),
    /// The outlined ghost bar.
    Ghost,
    /// The last-period tick.
    Tick,
}

/// Lays out legend entries left to right from `(x0, y)`, wrapping before `max_x`; returns the
/// baseline of the last row.
fn legend(s: &mut String, marks: &[(Mark, String)], x0: f64, y: f64, max_x: f64) -> f64 {
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
fn nice_step(max: u64) -> u64 {
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

// ---------------------------------------------------------------------------------------------
// The daily chart
// ---------------------------------------------------------------------------------------------

const PLOT_LEFT: f64 = 56.0;
/// Room to the right of the last bar: half a day label.
const PLOT_RIGHT: f64 = WIDTH - 40.0;
const PLOT_H: f64 = 220.0;

/// Per day of this period: the series counts (outcome groups, then CloudWatch only).
fn daily_series(r: &Report) -> Vec<[u64; 9]> {
    (0..r.days.len())
        .map(|d| {
            let mut c = [0u64; 9];
            for (i, name) in OUTCOME_GROUPS.iter().enumerate() {
                c[i] = r
                    .totals
                    .daily_by_outcome
                    .get(*name)
                    .and_then(|v| v.get(d))
                    .copied()
                    .unwrap_or(0);
            }
            let grouped: u64 = c[..8].iter().sum();
            let all = r.totals.daily.get(d).copied().unwrap_or(0);
            c[8] = all.saturating_sub(grouped);
            c
        })
        .collect()
}

/// `Mon 06-10` of day `d`.
fn day_label(r: &Report, d: usize) -> String {
    let wd = r.weekdays.get(d).map_or("", String::as_str);
    let date = r.days.get(d).map_or("", String::as_str);
    format!(
        "{} {}",
        sanitize(wd, 3),
        sanitize(date.get(5..).unwrap_or(date), 5)
    )
}

fn daily_chart(r: &Report) -> Chart {
    let n = r.days.len();
    let series = daily_series(r);
    let totals: Vec<u64> = series.iter().map(|c| c.iter().sum()).collect();
    let last: Vec<u64> = (0..n)
        .map(|d| r.totals.daily_last_period.get(d).copied().unwrap_or(0))
        .collect();
    let this_sum: u64 = totals.iter().sum();
    let last_sum: u64 = last.iter().sum();
    let max = totals.iter().chain(&last).copied().max().unwrap_or(0);
    let unit = if max == 0 { 0.0 } else { PLOT_H / max as f64 };
    let title = format!(
        "Alerts per day by outcome, {} – {}",
        esc(r.days.first().map_or("", String::as_str), 12),
        esc(r.days.last().map_or("", String::as_str), 12)
    );

    let mut s = String::new();
    text(
        &mut s,
        "title",
        16.0,
        22.0,
        15.0,
        "start",
        INK,
        r#" font-weight="bold""#,
        "Alerts per day, by outcome",
    );
    let same = if r.period_days.is_multiple_of(7) {
        " (same weekday)"
    } else {
        ""
    };
    text(
        &mut s,
        "subtitle",
        16.0,
        40.0,
        11.0,
        "start",
        MUTED,
        "",
        &format!(
            "{} this period · {} last period{same}, drawn behind",
            plural(this_sum, "alert", "alerts"),
            last_sum
        ),
    );

    if this_sum == 0 {
        text(
            &mut s,
            "empty",
            WIDTH / 2.0,
            84.0,
            14.0,
            "middle",
            MUTED,
            "",
            "No alerts in this period.",
        );
        return Chart {
            body: s,
            height: 112.0,
            attrs: format!(r#" data-max="{max}" data-unit="{unit:.4}""#),
            title,
        };
    }

    // Legend: the series that occur, then the ghost.
    let mut marks: Vec<(Mark, String)> = (0..9)
        .filter(|i| series.iter().any(|c| c[*i] > 0))
        .map(|i| (Mark::Series(i), series_label(i).to_owned()))
        .collect();
    if last_sum > 0 {
        marks.push((Mark::Ghost, format!("last period{same}")));
    }
    let legend_y = legend(&mut s, &marks, 16.0, 62.0, WIDTH - 16.0);

    // Room above the tallest bar for its total.
    let top = legend_y + 24.0;
    let base = top + PLOT_H;
    let slot = (PLOT_RIGHT - PLOT_LEFT) / n as f64;
    let bar_w = (slot * 0.6).clamp(1.0, 48.0);
    let ghost_w = (slot * 0.84).min(bar_w + 16.0).max(bar_w);

    // Gridlines and y labels.
    let step = nice_step(max);
    let mut v = 0;
    while v <= max {
        let y = base - v as f64 * unit;
        let _ = write!(
            s,
            r#"<line class="grid" x1="{PLOT_LEFT}" y1="{y:.2}" x2="{PLOT_RIGHT}" y2="{y:.2}" stroke="{GRID}" stroke-width="1"/>"#
        );
        text(
            &mut s,
            "ylabel",
            PLOT_LEFT - 8.0,
            y + 3.5,
            10.0,
            "end",
            MUTED,
            "",
            &v.to_string(),
        );
        v += step;
    }

    for d in 0..n {
        let cx = PLOT_LEFT + (d as f64 + 0.5) * slot;
        let day = esc(&r.days[d], 12);
        let label = escape_html(&day_label(r, d));
        let partial = r.partial_day.as_deref() == Some(r.days[d].as_str());
        let note = if partial { " (partial)" } else { "" };

        let gh = r2(last[d] as f64 * unit);
        let _ = write!(
            s,
            r##"<rect class="ghost" data-day="{day}" data-count="{}" x="{:.2}" y="{:.2}" width="{ghost_w:.2}" height="{gh:.2}" fill="#f3f4f6" stroke="#6b7280" stroke-width="1" stroke-dasharray="3 2"><title>{label}: {} in the same slot of last period</title></rect>"##,
            last[d],
            cx - ghost_w / 2.0,
            base - gh,
            plural(last[d], "alert", "alerts"),
        );

        let mut y = base;
        for (i, count) in series[d].iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let h = r2(*count as f64 * unit);
            y -= h;
            let _ = write!(
                s,
                r##"<rect class="seg" data-day="{day}" data-group="{}" data-count="{count}" x="{:.2}" y="{y:.2}" width="{bar_w:.2}" height="{h:.2}" fill="{}" stroke="#ffffff" stroke-width="0.5"><title>{label}{note}: {} {count} of {}</title></rect>"##,
                series_name(i),
                cx - bar_w / 2.0,
                COLOURS[i],
                series_label(i),
                totals[d],
            );
        }

        // The total, above the taller of the stack and the ghost, when it fits in the slot.
        let total = totals[d].to_string();
        if totals[d] > 0 && text_w(&total, 10.0) + 2.0 <= slot {
            let tallest = (base - y).max(gh);
            text(
                &mut s,
                "total",
                cx,
                base - tallest - 4.0,
                10.0,
                "middle",
                INK,
                &format!(r#" data-day="{day}" data-count="{}""#, totals[d]),
                &total,
            );
        }
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{PLOT_LEFT}" y1="{base:.2}" x2="{PLOT_RIGHT}" y2="{base:.2}" stroke="{MUTED}" stroke-width="1"/>"#
    );

    // Day labels: every k-th day, counted back from the last one (so a partial today is
    // labelled), at most 14 and never closer than their own width.
    let label_w = (0..n)
        .map(|d| text_w(&day_label(r, d), 11.0))
        .fold(0.0, f64::max);
    let k = n
        .div_ceil(14)
        .max(((label_w + 10.0) / slot).ceil() as usize)
        .max(1);
    let mut labelled: Vec<usize> = (0..n).rev().step_by(k).collect();
    labelled.reverse();
    for d in labelled {
        let cx = PLOT_LEFT + (d as f64 + 0.5) * slot;
        let day = esc(&r.days[d], 12);
        text(
            &mut s,
            "day",
            cx,
            base + 16.0,
            11.0,
            "middle",
            MUTED,
            &format!(r#" data-day="{day}""#),
            &escape_html(&day_label(r, d)),
        );
        if r.partial_day.as_deref() == Some(r.days[d].as_str()) {
            text(
                &mut s,
                "day-note",
                cx,
                base + 30.0,
                10.0,
                "middle",
                MUTED,
                &format!(r#" data-day="{day}""#),
                "(partial)",
            );
        }
    }

    Chart {
        body: s,
        height: base + 40.0,
        attrs: format!(r#" data-max="{max}" data-unit="{unit:.4}""#),
        title,
    }
}

/// The daily chart (fleet): one bar per day of this period stacked by outcome group, last
/// period's same day slot behind it as an outlined ghost bar.
pub fn render_svg(r: &Report, opts: SvgOptions) -> String {
    document(&daily_chart(r), "chart daily", opts.standalone)
}

// ---------------------------------------------------------------------------------------------
// The heatmap
// ---------------------------------------------------------------------------------------------

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const HEAT_LEFT: f64 = 56.0;
const HEAT_RIGHT: f64 = WIDTH - 16.0;
const CELL_H: f64 = 26.0;

/// Shade of a cell: near white for 0, dark blue for `max`; any non-zero count is visibly
/// darker than 0. Returns the fill and whether text on it should be white.
fn shade(count: u64, max: u64) -> (String, bool) {
    let t = if count == 0 || max == 0 {
        0.0
    } else {
        0.18 + 0.82 * (count as f64 / max as f64)
    };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    (
        format!(
            "#{:02x}{:02x}{:02x}",
            lerp(247.0, 8.0),
            lerp(250.0, 48.0),
            lerp(252.0, 107.0)
        ),
        t >= 0.55,
    )
}

fn hour_span(h: usize) -> String {
    format!("{h:02}:00–{h:02}:59")
}

fn heatmap_chart(r: &Report) -> Chart {
    let cell = |wd: usize, h: usize| -> u64 {
        r.totals
            .heatmap
            .get(wd)
            .and_then(|row| row.get(h))
            .copied()
            .unwrap_or(0)
    };
    let mut max = 0;
    let mut busiest = (0, 0);
    for wd in 0..7 {
        for h in 0..24 {
            if cell(wd, h) > max {
                max = cell(wd, h);
                busiest = (wd, h);
            }
        }
    }
    let tz = esc(&r.time_zone, 48);
    let title = format!("Alerts by weekday and hour of day ({tz})");
    let mut s = String::new();
    text(
        &mut s,
        "title",
        16.0,
        22.0,
        15.0,
        "start",
        INK,
        r#" font-weight="bold""#,
        &format!("Alerts by weekday and hour of day ({tz})"),
    );
    if max == 0 {
        text(
            &mut s,
            "empty",
            WIDTH / 2.0,
            66.0,
            14.0,
            "middle",
            MUTED,
            "",
            "No alerts in this period.",
        );
        return Chart {
            body: s,
            height: 92.0,
            attrs: r#" data-max="0""#.to_owned(),
            title,
        };
    }

    let top = 40.0;
    let cw = (HEAT_RIGHT - HEAT_LEFT) / 24.0;
    let x_of = |h: usize| HEAT_LEFT + h as f64 * cw;
    let y_of = |wd: usize| top + wd as f64 * CELL_H;
    for (wd, name) in WEEKDAYS.iter().enumerate() {
        text(
            &mut s,
            "weekday",
            HEAT_LEFT - 8.0,
            y_of(wd) + CELL_H / 2.0 + 4.0,
            11.0,
            "end",
            MUTED,
            "",
            name,
        );
        for h in 0..24 {
            let n = cell(wd, h);
            let (fill, light) = shade(n, max);
            let (x, y) = (x_of(h), y_of(wd));
            let _ = write!(
                s,
                r#"<rect class="cell" data-weekday="{name}" data-hour="{h}" data-count="{n}" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{fill}"><title>{name} {}: {}</title></rect>"#,
                x + 1.0,
                y + 1.0,
                cw - 2.0,
                CELL_H - 2.0,
                hour_span(h),
                plural(n, "alert", "alerts")
            );
            // The count, in cells of at least a quarter of the maximum, when it fits.
            let label = n.to_string();
            if n > 0 && n * 4 >= max && text_w(&label, 11.0) + 6.0 <= cw {
                text(
                    &mut s,
                    "cell-count",
                    x + cw / 2.0,
                    y + CELL_H / 2.0 + 4.0,
                    11.0,
                    "middle",
                    if light { "#ffffff" } else { INK },
                    "",
                    &label,
                );
            }
        }
    }

    // Working hours, outlined: the edges between a cell inside and one outside (or the border).
    if let Ok(work) = r.totals.off_hours.work_hours.parse::<WorkHours>() {
        let inside = |wd: usize, h: usize| work.contains(wd, (h * 60 + 30) as u16);
        let mut d = String::new();
        for wd in 0..7 {
            for h in 0..24 {
                if !inside(wd, h) {
                    continue;
                }
                let (x0, y0, x1, y1) = (x_of(h), y_of(wd), x_of(h + 1), y_of(wd + 1));
                if wd == 0 || !inside(wd - 1, h) {
                    let _ = write!(d, "M{x0:.2} {y0:.2}H{x1:.2}");
                }
                if wd == 6 || !inside(wd + 1, h) {
                    let _ = write!(d, "M{x0:.2} {y1:.2}H{x1:.2}");
                }
                if h == 0 || !inside(wd, h - 1) {
                    let _ = write!(d, "M{x0:.2} {y0:.2}V{y1:.2}");
                }
                if h == 23 || !inside(wd, h + 1) {
                    let _ = write!(d, "M{x1:.2} {y0:.2}V{y1:.2}");
                }
            }
        }
        if !d.is_empty() {
            let _ = write!(
                s,
                r##"<path class="work-hours" d="{d}" fill="none" stroke="#f59e0b" stroke-width="2" stroke-dasharray="5 3"/>"##
            );
        }
    }

    // Hour labels under the grid, as often as they fit.
    let bottom = y_of(7);
    let every = ((text_w("00", 10.0) + 6.0) / cw).ceil().max(1.0) as usize;
    for h in (0..24).step_by(every) {
        text(
            &mut s,
            "hour",
            x_of(h) + cw / 2.0,
            bottom + 14.0,
            10.0,
            "middle",
            MUTED,
            "",
            &format!("{h:02}"),
        );
    }

    // Caption: the busiest cell, and the off-hours count; the colour scale on the right.
    let (bw, bh) = busiest;
    let caption_y = bottom + 36.0;
    text(
        &mut s,
        "caption",
        HEAT_LEFT,
        caption_y,
        12.0,
        "start",
        INK,
        &format!(
            r#" data-weekday="{}" data-hour="{bh}" data-count="{max}""#,
            WEEKDAYS[bw]
        ),
        &format!(
            "busiest: {} {}, {}",
            WEEKDAYS[bw],
            hour_span(bh),
            plural(max, "alert", "alerts")
        ),
    );
    let oh = &r.totals.off_hours;
    let note = format!(
        "dashed outline: working hours ({}); {} outside them",
        sanitize(&oh.work_hours, 40),
        plural(oh.alerts, "alert", "alerts")
    );
    text(
        &mut s,
        "caption-note",
        HEAT_LEFT,
        caption_y + 18.0,
        11.0,
        "start",
        MUTED,
        "",
        &escape_html(&note),
    );
    // Scale: "0 ▢▢▢▢▢ max", right-aligned.
    let max_s = max.to_string();
    let sw = 14.0;
    let right = HEAT_RIGHT - text_w(&max_s, 10.0) - 4.0;
    let left = right - 5.0 * sw;
    text(
        &mut s,
        "scale",
        left - 4.0,
        caption_y,
        10.0,
        "end",
        MUTED,
        "",
        "0",
    );
    for i in 0..5u64 {
        let (fill, _) = shade(i * max / 4, max);
        let _ = write!(
            s,
            r##"<rect class="scale" x="{:.2}" y="{:.2}" width="{sw}" height="10" fill="{fill}" stroke="#d1d5db" stroke-width="0.5"/>"##,
            left + i as f64 * sw,
            caption_y - 9.0
        );
    }
    text(
        &mut s,
        "scale",
        right + 4.0,
        caption_y,
        10.0,
        "start",
        MUTED,
        "",
        &max_s,
    );

    Chart {
        body: s,
        height: caption_y + 30.0,
        attrs: format!(r#" data-max="{max}""#),
        title,
    }
}

/// Alerts of this period by local weekday (rows, Monday first) and hour of day (columns).
pub fn render_heatmap_svg(r: &Report, opts: SvgOptions) -> String {
    document(&heatmap_chart(r), "chart heatmap", opts.standalone)
}

// ---------------------------------------------------------------------------------------------
// Top keys
// ---------------------------------------------------------------------------------------------

const KEY_CHARS: usize = 40;
const BAR_X: f64 = 328.0;
/// Room right of the longest bar for its count.
const VALUE_W: f64 = 72.0;
const KEY_ROW: f64 = 26.0;
const KEY_BAR_H: f64 = 14.0;

/// `s` in at most `max` characters: its head and tail around a `…`.
fn clip_middle(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(1);
    let tail = keep / 3;
    let head = keep - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// A key name in at most `max` characters, clipped in the middle of its role and of its alert
/// separately: keys often differ only at the end of either (`web-1:disk`, `web-2:disk`).
fn clip_key(key: &str, max: usize) -> String {
    let Some((role, alert)) = key.split_once(':') else {
        return clip_middle(key, max);
    };
    let budget = max.saturating_sub(1);
    let (r, a) = (role.chars().count(), alert.chars().count());
    let (rb, ab) = if r + a <= budget {
        (r, a)
    } else if r <= budget / 2 {
        (r, budget - r)
    } else if a <= budget - budget / 2 {
        (budget - a, a)
    } else {
        (budget / 2, budget - budget / 2)
    };
    format!("{}:{}", clip_middle(role, rb), clip_middle(alert, ab))
}

/// One horizontal bar per top key, stacked by outcome group, with a tick at last period's
/// count; keys left out are counted below.
pub fn render_keys_svg(r: &Report, opts: SvgOptions) -> String {
    let active: Vec<_> = r.keys.iter().filter(|k| k.this_period > 0).collect();
    let shown = &active[..opts.top_keys.min(active.len())];
    let dropped = &active[shown.len()..];
    let split = |k: &crate::report::model::KeyReport| -> [u64; 9] {
        let g = k.outcome_groups.as_array();
        let mut c = [0u64; 9];
        c[..8].copy_from_slice(&g);
        c[8] = k.this_period.saturating_sub(g.iter().sum());
        c
    };
    let max = shown
        .iter()
        .map(|k| k.this_period.max(split(k).iter().sum()).max(k.last_period))
        .max()
        .unwrap_or(0);
    let bar_max = WIDTH - 16.0 - VALUE_W - BAR_X;
    let unit = if max == 0 { 0.0 } else { bar_max / max as f64 };

    let mut s = String::new();
    text(
        &mut s,
        "title",
        16.0,
        22.0,
        15.0,
        "start",
        INK,
        r#" font-weight="bold""#,
        "Top keys this period, by outcome",
    );
    let title = "Top keys this period, by outcome".to_owned();
    if shown.is_empty() {
        text(
            &mut s,
            "empty",
            WIDTH / 2.0,
            62.0,
            14.0,
            "middle",
            MUTED,
            "",
            "No alerts in this period.",
        );
        let chart = Chart {
            body: s,
            height: 88.0,
            attrs: r#" data-max="0" data-unit="0.0000""#.to_owned(),
            title,
        };
        return document(&chart, "chart keys", opts.standalone);
    }

    let mut marks: Vec<(Mark, String)> = (0..9)
        .filter(|i| shown.iter().any(|k| split(k)[*i] > 0))
        .map(|i| (Mark::Series(i), series_label(i).to_owned()))
        .collect();
    if shown.iter().any(|k| k.last_period > 0) {
        marks.push((Mark::Tick, "last period".to_owned()));
    }
    let legend_y = legend(&mut s, &marks, 16.0, 44.0, WIDTH - 16.0);

    let mut y = legend_y + 14.0;
    for k in shown {
        let key = esc(&k.key, 200);
        let name = escape_html(&clip_key(&sanitize(&k.key, 1000), KEY_CHARS));
        let _ = write!(
            s,
            r#"<g class="series" data-key="{key}"><title>{key}: {} this period, {} last period</title>"#,
            k.this_period, k.last_period
        );
        text(
            &mut s,
            "key",
            16.0,
            y + KEY_BAR_H - 3.0,
            12.0,
            "start",
            INK,
            "",
            &name,
        );
        let mut x = BAR_X;
        for (i, count) in split(k).iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let w = r2(*count as f64 * unit);
            let _ = write!(
                s,
                r##"<rect class="seg" data-key="{key}" data-group="{}" data-count="{count}" x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{KEY_BAR_H}" fill="{}" stroke="#ffffff" stroke-width="0.5"><title>{}: {count}</title></rect>"##,
                series_name(i),
                COLOURS[i],
                series_label(i),
            );
            x += w;
        }
        // The count right after the bar, or after the tick when the tick would cut through it.
        let value = k.this_period.to_string();
        let mut end = x;
        if k.last_period > 0 {
            let lx = BAR_X + r2(k.last_period as f64 * unit);
            let _ = write!(
                s,
                r#"<line class="last" data-count="{}" x1="{lx:.2}" y1="{:.2}" x2="{lx:.2}" y2="{:.2}" stroke="{INK}" stroke-width="2"><title>last period: {}</title></line>"#,
                k.last_period,
                y - 3.0,
                y + KEY_BAR_H + 3.0,
                k.last_period
            );
            if lx + 1.0 >= x && lx - 1.0 <= x + 6.0 + text_w(&value, 11.0) + 2.0 {
                end = lx + 1.0;
            }
        }
        text(
            &mut s,
            "count",
            end + 6.0,
            y + KEY_BAR_H - 3.0,
            11.0,
            "start",
            INK,
            "",
            &value,
        );
        s.push_str("</g>");
        y += KEY_ROW;
    }
    let mut height = y + 4.0;
    if !dropped.is_empty() {
        let alerts: u64 = dropped.iter().map(|k| k.this_period).sum();
        text(
            &mut s,
            "more",
            16.0,
            y + 10.0,
            11.0,
            "start",
            MUTED,
            &format!(r#" data-keys="{}" data-alerts="{alerts}""#, dropped.len()),
            &format!(
                "+ {} more {} with {} not shown",
                dropped.len(),
                if dropped.len() == 1 { "key" } else { "keys" },
                plural(alerts, "alert", "alerts")
            ),
        );
        height = y + 24.0;
    }
    let chart = Chart {
        body: s,
        height,
        attrs: format!(r#" data-max="{max}" data-unit="{unit:.4}""#),
        title,
    };
    document(&chart, "chart keys", opts.standalone)
}

// ---------------------------------------------------------------------------------------------
// Summary (the PNG for Slack)
// ---------------------------------------------------------------------------------------------

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
