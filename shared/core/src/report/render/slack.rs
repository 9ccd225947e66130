//! The Slack Block Kit message: the decisions first, then the headline figures, the chart (a PNG
//! the reporter uploaded, when it could), the top keys with unicode sparklines of their daily
//! counts, and a link to the full report.
//!
//! Limits (Slack rejects the message otherwise): at most [`SLACK_MAX_BLOCKS`] blocks, at most
//! [`SLACK_MAX_TEXT`] characters per text object (2000 per field, 150 per header); longer text
//! is cut with a visible `… (truncated, see the full report)` marker. Data is escaped for
//! mrkdwn: `&`, `<`, `>` become entities (so `<!channel>`, `<@U…>` and `<url|text>` from an
//! alert name are inert) and names sit in code spans with backticks replaced.

use serde_json::{json, Value};

use super::{
    alarm_history_note, change_text, compared_label, groups_line, owner_mode, percent,
    period_title, sanitize, sparkline, success_text,
};
use crate::report::model::Report;

pub const SLACK_MAX_BLOCKS: usize = 50;
pub const SLACK_MAX_TEXT: usize = 3000;
pub const SLACK_TOP_KEYS: usize = 10;
/// Decisions listed in the message (the full report has all).
pub const SLACK_TOP_DECISIONS: usize = 8;
const MAX_FIELD: usize = 2000;
const MAX_HEADER: usize = 150;
const MARKER: &str = "… (truncated, see the full report)";

/// Escapes text for Slack mrkdwn (and plain text): `&`, `<`, `>` as entities, control
/// characters as spaces.
pub fn escape_slack(s: &str) -> String {
    crate::mrkdwn::escape(&sanitize(s, 400))
}

/// A name inside a code span: escaped, backticks replaced, clipped.
fn code(s: &str) -> String {
    format!("`{}`", escape_slack(&sanitize(s, 80)).replace('`', "ˋ"))
}

/// Cuts `s` to at most `max` characters, ending with [`MARKER`]; prefers a line break and never
/// cuts inside an entity.
pub fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(MARKER.chars().count() + 1);
    let mut cut: String = s.chars().take(keep).collect();
    if let Some(nl) = cut.rfind('\n') {
        if cut.len() - nl < 600 {
            cut.truncate(nl + 1);
        }
    }
    if let Some(amp) = cut.rfind('&') {
        if !cut[amp..].contains(';') {
            cut.truncate(amp);
        }
    }
    cut.push_str(MARKER);
    cut
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": fit(text, SLACK_MAX_TEXT)})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn field(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": fit(text, MAX_FIELD)})
}

/// A link in Slack's `<url|label>` syntax with the URL made inert where it could break out.
fn link(url: &str, label: &str) -> String {
    let url: String = sanitize(url, 2000)
        .chars()
        .map(|c| match c {
            '|' => "%7C".to_owned(),
            '<' => "%3C".to_owned(),
            '>' => "%3E".to_owned(),
            ' ' => "%20".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let url = url.replace('&', "&amp;");
    format!("<{url}|{}>", escape_slack(label))
}

/// The Block Kit payload (`{"text", "blocks"}`) for an incoming webhook.
pub fn render_slack(r: &Report) -> Value {
    let t = &r.totals;
    let mut blocks: Vec<Value> = Vec::new();
    let header: String = sanitize("selfheal weekly report", MAX_HEADER);
    blocks.push(
        json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": false}}),
    );
    blocks.push(json!({"type": "context", "elements": [mrkdwn(&escape_slack(&period_title(r)))]}));
    if let Some(note) = alarm_history_note(r) {
        blocks.push(json!({"type": "context", "elements": [mrkdwn(&format!(":warning: {}", escape_slack(&note)))]}));
    }

    if r.decisions.is_empty() {
        blocks.push(section(
            "*Decisions this week:* none — nothing recurred, failed or paged often enough.",
        ));
    } else {
        let shown = r.decisions.len().min(SLACK_TOP_DECISIONS);
        let mut text = format!(
            "*Decisions this week* ({} of {}, most pages removed first)",
            shown,
            r.decisions.len()
        );
        for (n, d) in r.decisions.iter().take(shown).enumerate() {
            let line = format!(
                "\n*{}.* {} — {}\n      _{}_ · {} · ~{} pages",
                n + 1,
                code(&d.key),
                escape_slack(&d.action),
                escape_slack(&d.evidence),
                escape_slack(&owner_mode(d.owner.as_deref(), d.mode.as_deref())),
                d.pages
            );
            if text.chars().count() + line.chars().count() + 60 > SLACK_MAX_TEXT {
                text.push_str(&format!(
                    "\n… and {} more (truncated, see the full report)",
                    r.decisions.len() - n
                ));
                break;
            }
            text.push_str(&line);
        }
        blocks.push(section(&text));
    }

    let compared = compared_label(r);
    blocks.push(json!({"type": "section", "fields": [
        field(&format!("*Alerts*\n{} ({} vs {compared})", t.alerts, escape_slack(&change_text(&t.change)))),
        field(&format!("*Pages avoided*\n{} healed with no person · ≈ {} on-call minutes", t.human_pages_avoided, t.on_call_minutes_saved)),
        field(&format!("*Needed a person*\n{} ({} escalated)", t.humans_involved, t.escalated)),
        field(&format!("*Off hours*\n{} alerts, {} needed a person", t.off_hours.alerts, t.off_hours.pages)),
        field(&format!("*Auto-healed*\n{} ({})", t.healed, percent(t.auto_healed_share))),
        field(&format!("*Only in CloudWatch*\n{}", t.cloudwatch_only)),
    ]}));
    blocks.push(section(&format!(
        "*Outcomes* of {} selfheal alerts: {}",
        t.via_selfheal,
        escape_slack(&groups_line(&t.outcome_groups))
    )));
    if let Some(url) = r
        .chart_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        blocks.push(json!({
            "type": "image",
            "image_url": sanitize(url, 2900),
            "alt_text": "Daily alerts by outcome with last period behind, and alerts by hour of day and weekday",
        }));
    }
    blocks.push(json!({"type": "divider"}));

    let active = r.keys.iter().filter(|k| k.this_period > 0).count();
    let top: Vec<_> = r
        .keys
        .iter()
        .filter(|k| k.this_period > 0)
        .take(SLACK_TOP_KEYS)
        .collect();
    if top.is_empty() {
        blocks.push(section("*No alerts this period.*"));
    } else {
        blocks.push(section(&format!(
            "*Top {} of {} keys* (daily, {} → {})",
            top.len(),
            active,
            escape_slack(r.weekdays.first().map_or("", String::as_str)),
            escape_slack(r.weekdays.last().map_or("", String::as_str))
        )));
    }
    for (i, k) in top.iter().enumerate() {
        let mut line = format!(
            "*{}.* {} `{}` *{}* ({})",
            i + 1,
            code(&k.key),
            sparkline(&k.daily),
            k.this_period,
            escape_slack(&change_text(&k.change))
        );
        if k.seen.history {
            line.push_str(&format!(
                "\n{} · success {}",
                escape_slack(&groups_line(&k.outcome_groups)),
                escape_slack(&success_text(k)),
            ));
            if let Some(inst) = k.top_instances.first() {
                line.push_str(&format!(" · top {} ×{}", code(&inst.instance), inst.alerts));
            }
        } else {
            line.push_str("\nseen only in CloudWatch alarm history");
        }
        if let Some(d) = &k.decision {
            line.push_str(&format!("\n→ {}", escape_slack(d)));
        }
        blocks.push(section(&line));
    }
    if active > top.len() {
        let rest: u64 = r
            .keys
            .iter()
            .filter(|k| k.this_period > 0)
            .skip(top.len())
            .map(|k| k.this_period)
            .sum();
        blocks.push(json!({"type": "context", "elements": [mrkdwn(&format!(
            "+ {} more keys with {} alerts in the full report",
            active - top.len(),
            rest
        ))]}));
    }

    let footer = match r.report_url.as_deref() {
        Some(url) if !url.is_empty() => format!(
            "{} · {}",
            link(url, "Full report"),
            "every key, chart and rule"
        ),
        _ => "Full report: `selfheal report --format html`".to_owned(),
    };
    blocks.push(json!({"type": "context", "elements": [mrkdwn(&footer)]}));

    if blocks.len() > SLACK_MAX_BLOCKS {
        blocks.truncate(SLACK_MAX_BLOCKS - 1);
        blocks.push(section(MARKER));
    }
    let fallback = format!(
        "selfheal weekly report: {} decisions, {} alerts, {} healed with no person ({} on-call minutes)",
        r.decisions.len(),
        t.alerts,
        t.human_pages_avoided,
        t.on_call_minutes_saved
    );
    json!({"text": fallback, "blocks": blocks})
}
