//! The daily chart: one bar per day stacked by outcome group, last period's same day behind it.

use std::fmt::Write as _;

use super::*;
use crate::report::model::*;

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

pub(super) fn daily_chart(r: &Report) -> Chart {
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
