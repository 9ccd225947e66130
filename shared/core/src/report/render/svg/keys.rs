//! The top-keys chart: one horizontal bar per key stacked by outcome group, keys left out counted.

use std::fmt::Write as _;

use super::*;
use crate::report::model::*;

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
