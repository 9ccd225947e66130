//! The heatmap: alerts by local weekday × hour of day, working hours outlined.

use std::fmt::Write as _;

use super::*;
use crate::report::model::*;

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

pub(super) fn heatmap_chart(r: &Report) -> Chart {
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
