//! The SVG bar chart: daily alert counts of this period, one row of bars per top key (small
//! multiples on one shared scale). Pure SVG, no script, no fonts beyond the generic
//! `sans-serif`, no external references.
//!
//! Every bar is a `<rect class="bar">` with `data-key`, `data-day` and `data-count`; its height
//! is `count × unit` where `unit = BAR_AREA / max(count)` (two decimals), so tests and tools can
//! read the chart back.

use std::fmt::Write as _;

use super::{escape_html, sanitize};
use crate::report::model::Report;

/// Keys charted.
pub const CHART_TOP_KEYS: usize = 10;

const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 260.0;
const ROW_H: f64 = 64.0;
const BAR_AREA: f64 = 44.0;
const TOP: f64 = 28.0;
const AXIS_H: f64 = 28.0;

/// Chart options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvgOptions {
    /// Keys charted (the first `top_keys` of the report with alerts this period).
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

/// The chart as an SVG document.
pub fn render_svg(r: &Report, opts: SvgOptions) -> String {
    let keys: Vec<_> = r
        .keys
        .iter()
        .filter(|k| k.this_period > 0)
        .take(opts.top_keys)
        .collect();
    let n_days = r.days.len().max(1);
    let rows = keys.len().max(1);
    let height = TOP + rows as f64 * ROW_H + AXIS_H;
    let max = keys
        .iter()
        .flat_map(|k| k.daily.iter().copied())
        .max()
        .unwrap_or(0);
    let unit = if max == 0 { 0.0 } else { BAR_AREA / max as f64 };
    let slot = (WIDTH - LABEL_W - 16.0) / n_days as f64;
    let bar_w = (slot * 0.7).max(1.0);

    let mut s = String::new();
    let xmlns = if opts.standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    let _ = write!(
        s,
        r#"<svg{xmlns} class="chart" role="img" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12" data-max="{max}" data-unit="{unit:.4}">"#
    );
    let _ = write!(
        s,
        "<title>Daily alerts per key, {} – {}</title>",
        escape_html(r.days.first().map_or("", String::as_str)),
        escape_html(r.days.last().map_or("", String::as_str))
    );
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = write!(
        s,
        r##"<text x="8" y="18" font-weight="bold" fill="#111827">Daily alerts (max {max} per day)</text>"##
    );
    if keys.is_empty() {
        let _ = write!(
            s,
            r##"<text x="8" y="{}" fill="#6b7280">No alerts in this period.</text>"##,
            TOP + ROW_H / 2.0
        );
    }
    for (row, k) in keys.iter().enumerate() {
        let y0 = TOP + row as f64 * ROW_H;
        let base = y0 + BAR_AREA + 4.0;
        let label = escape_html(&sanitize(&k.key, 36));
        let _ = write!(
            s,
            r##"<g class="series" data-key="{}"><text x="8" y="{:.2}" fill="#111827">{label}</text><text x="8" y="{:.2}" fill="#6b7280">{} this period</text>"##,
            escape_html(&k.key),
            y0 + 20.0,
            y0 + 36.0,
            k.this_period
        );
        let _ = write!(
            s,
            r##"<line x1="{LABEL_W}" y1="{base:.2}" x2="{:.2}" y2="{base:.2}" stroke="#d1d5db"/>"##,
            WIDTH - 8.0
        );
        for (d, count) in k.daily.iter().enumerate() {
            let h = (*count as f64 * unit * 100.0).round() / 100.0;
            let x = LABEL_W + d as f64 * slot + (slot - bar_w) / 2.0;
            let day = r.days.get(d).map_or("", String::as_str);
            let _ = write!(
                s,
                r##"<rect class="bar" x="{x:.2}" y="{:.2}" width="{bar_w:.2}" height="{h:.2}" fill="#2563eb" data-key="{}" data-day="{}" data-count="{count}"><title>{}: {count} on {}</title></rect>"##,
                base - h,
                escape_html(&k.key),
                escape_html(day),
                label,
                escape_html(day)
            );
            if *count > 0 {
                let _ = write!(
                    s,
                    r##"<text x="{:.2}" y="{:.2}" font-size="10" text-anchor="middle" fill="#374151">{count}</text>"##,
                    x + bar_w / 2.0,
                    (base - h - 2.0).max(y0 + 8.0)
                );
            }
        }
        s.push_str("</g>");
    }
    let axis_y = TOP + rows as f64 * ROW_H + 16.0;
    // At most ~14 day labels, so long periods stay readable.
    let every = r.days.len().div_ceil(14).max(1);
    for d in (0..r.days.len()).step_by(every) {
        let x = LABEL_W + d as f64 * slot + slot / 2.0;
        let wd = r.weekdays.get(d).map_or("", String::as_str);
        let date = r.days[d].get(5..).unwrap_or("");
        let _ = write!(
            s,
            r##"<text class="day" x="{x:.2}" y="{axis_y:.2}" text-anchor="middle" fill="#4b5563">{} {}</text>"##,
            escape_html(wd),
            escape_html(date)
        );
    }
    s.push_str("</svg>");
    s
}
