//! Renderers of a [`Report`]: plain text, Markdown, JSON, Slack Block Kit, a self-contained
//! HTML page and its SVG chart. Every string that comes from data (key, alert, instance and
//! alarm names are untrusted) is escaped for its target.

mod html;
mod markdown;
mod slack;
mod svg;
mod text;

use std::str::FromStr;

pub use html::render_html;
pub use markdown::render_markdown;
pub use slack::{render_slack, SLACK_MAX_BLOCKS, SLACK_MAX_TEXT, SLACK_TOP_KEYS};
pub use svg::{
    render_heatmap_svg, render_keys_svg, render_summary_svg, render_svg, SvgOptions, CHART_TOP_KEYS,
};
pub use text::render_text;

use super::model::{
    Change, DataQuality, KeyReport, OutcomeGroups, Report, TimeToHeal, OUTCOME_GROUPS,
};

/// The output formats of `selfheal report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Html,
    Slack,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Ok(Self::Text),
            "markdown" | "md" => Ok(Self::Markdown),
            "json" => Ok(Self::Json),
            "html" => Ok(Self::Html),
            "slack" => Ok(Self::Slack),
            other => Err(format!(
                "unknown format {:?} (expected text, markdown, json, html or slack)",
                crate::alert::clip(other, 20)
            )),
        }
    }
}

/// Renders `report` in `format` (Slack: the Block Kit JSON payload).
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => render_text(report),
        Format::Markdown => render_markdown(report),
        Format::Json => render_json(report),
        Format::Html => render_html(report),
        Format::Slack => {
            serde_json::to_string_pretty(&render_slack(report)).unwrap_or_else(|_| "{}".into())
        }
    }
}

/// The JSON format (`schema_version` 2), pretty-printed, with a trailing newline.
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Human label of an outcome group (`OUTCOME_GROUPS` name).
pub fn group_label(name: &str) -> &'static str {
    match name {
        "healed" => "healed",
        "failed" => "failed",
        "precheck_failed" => "precheck failed",
        "needs_human" => "needs a human",
        "dry_run" => "dry-run",
        "not_acted" => "not acted on",
        "no_runbook" => "no runbook",
        "in_progress" => "in progress",
        _ => "other",
    }
}

/// `healed 80 · failed 5 · …`: the non-zero outcome columns (all of them when every one is 0).
pub fn groups_line(g: &OutcomeGroups) -> String {
    let parts: Vec<String> = OUTCOME_GROUPS
        .iter()
        .enumerate()
        .filter(|(i, _)| g.get(*i) > 0)
        .map(|(i, name)| format!("{} {}", group_label(name), g.get(i)))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// `2024-06-05 – 2024-06-11 (Europe/Berlin, 7 days)`, with `, today partial until 10:00`.
pub fn period_title(r: &Report) -> String {
    let first = r.days.first().map_or("", String::as_str);
    let last = r.days.last().map_or("", String::as_str);
    let partial = match &r.partial_day {
        Some(day) => format!(
            "; {} is partial, until {}",
            sanitize(day, 12),
            r.generated_at.get(11..16).unwrap_or("now")
        ),
        None => String::new(),
    };
    format!(
        "{first} – {last} ({}, {} days{partial})",
        sanitize(&r.time_zone, 64),
        r.period_days
    )
}

/// What `change` compares with: `last period`, or `the same span of last period` while today
/// is partial.
pub fn compared_label(r: &Report) -> &'static str {
    if r.partial_day.is_some() {
        "the same span of last period"
    } else {
        "last period"
    }
}

/// `71 last period`, `42 in the same span of last period`: the figure `change` compares with.
pub fn compared_figure(r: &Report, n: u64) -> String {
    match r.partial_day {
        Some(_) => format!("{n} in {}", compared_label(r)),
        None => format!("{n} {}", compared_label(r)),
    }
}

/// One line when CloudWatch alarm history was not read (shown at the top), else `None`.
pub fn alarm_history_note(r: &Report) -> Option<String> {
    if r.alarm_history.is_read() {
        return None;
    }
    let why = r
        .alarm_history
        .reason
        .as_deref()
        .unwrap_or("no reason given");
    Some(format!(
        "CloudWatch alarm history {}: {} — alarms that never reached selfheal are not counted",
        if r.alarm_history.status == "off" {
            "is off"
        } else {
            "was not read"
        },
        sanitize(why, 160)
    ))
}

/// `p50 1m 05s` of a duration summary, `—` without samples.
pub fn median_text(t: &TimeToHeal) -> String {
    t.median_ms.map_or_else(|| "—".to_owned(), human_duration)
}

/// Time to heal, split: `1m 30s (wait 40s + run 50s)`, or `—`.
pub fn heal_split(k: &KeyReport) -> String {
    match k.time_to_heal.median_ms {
        None => "—".to_owned(),
        Some(total) => {
            let wait = k.time_waiting.median_ms.unwrap_or(0);
            if wait == 0 {
                format!(
                    "{} (run {})",
                    human_duration(total),
                    median_text(&k.time_running)
                )
            } else {
                format!(
                    "{} (wait {} + run {})",
                    human_duration(total),
                    median_text(&k.time_waiting),
                    median_text(&k.time_running)
                )
            }
        }
    }
}

/// Success rate with its sample: `89% of 9`, or `— (2 attempts)` below the minimum sample.
pub fn success_text(k: &KeyReport) -> String {
    match k.success_rate {
        Some(r) => format!("{:.0}% of {}", r * 100.0, k.attempts),
        None if k.attempts > 0 => format!(
            "— ({} {})",
            k.attempts,
            if k.attempts == 1 {
                "attempt"
            } else {
                "attempts"
            }
        ),
        None => "—".to_owned(),
    }
}

/// `owner team-web · mode enforce`; `no runbook entry` when neither is known.
pub fn owner_mode(owner: Option<&str>, mode: Option<&str>) -> String {
    if owner.is_none() && mode.is_none() {
        return "no runbook entry".to_owned();
    }
    format!(
        "owner {} · mode {}",
        sanitize(owner.unwrap_or("unknown"), 80),
        sanitize(mode.unwrap_or("unknown"), 20)
    )
}

/// The data-quality sentence every format shows: what was read, and what is not an alert.
pub fn data_quality_text(q: &DataQuality) -> String {
    format!(
        "{} history records, {} alarm-history items. Not alerts: {} duplicates, {} invalid messages, {} recovery notices, {} unnamed. Ignored: {} outside the window, {} undated. {} without key, {} over the key limit.",
        q.history_records,
        q.alarm_history_items,
        q.duplicates,
        q.invalid,
        q.recovery_notices,
        q.unnamed,
        q.out_of_window,
        q.undated,
        q.without_key,
        q.keys_overflowed
    )
}

/// `1h 02m`, `3m 05s`, `12s`, `850 ms`.
pub fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    if s < 60 {
        return format!("{s}s");
    }
    if s < 3600 {
        return format!("{}m {:02}s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{}h {:02}m", s / 3600, (s % 3600) / 60);
    }
    format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600)
}

/// `—` for `None`, else a whole percentage.
pub fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// `+4 (+50%)`, `-2 (-20%)`, `+3 (new)`, `0`.
pub fn change_text(c: &Change) -> String {
    match (c.delta, c.ratio) {
        (0, _) => "±0".to_owned(),
        (d, Some(r)) => format!("{d:+} ({:+.0}%)", r * 100.0),
        (d, None) => format!("{d:+} (new)"),
    }
}

/// Unicode bar sparkline: `▁` for zero, `▂`..`█` scaled to the largest value.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|v| {
            if *v == 0 || max == 0 {
                BARS[0]
            } else {
                let level = ((*v as f64 / max as f64) * 7.0).ceil() as usize;
                BARS[level.clamp(1, 7)]
            }
        })
        .collect()
}

/// Replaces control characters (newlines, tabs, escapes, bidi overrides) with spaces and
/// clips to `max` characters (with `…`): names are untrusted.
pub fn sanitize(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() || is_bidi(c) { ' ' } else { c });
    }
    out
}

/// Bidirectional-text controls (they can make a name display as something else).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Escapes text and attribute values for HTML and XML (SVG); control and bidi characters
/// become spaces.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c.is_control() && c != '\n' && c != '\t') || is_bidi(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(human_duration(850), "850 ms");
        assert_eq!(human_duration(65_000), "1m 05s");
        assert_eq!(human_duration(3_720_000), "1h 02m");
        assert_eq!(sparkline(&[0, 1, 2, 4]), "▁▃▅█");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
        assert_eq!(change_text(&Change::between(6, 4)), "+2 (+50%)");
        assert_eq!(change_text(&Change::between(3, 0)), "+3 (new)");
        assert_eq!(
            escape_html("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
        assert_eq!(sanitize("a\nb\u{202e}c", 10), "a b c");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
    }
}
