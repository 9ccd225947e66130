//! The Slack Block Kit message: fleet totals, the top keys with unicode sparklines of their
//! daily counts, the recommendations and a link to the full report.
//!
//! Limits (Slack rejects the message otherwise): at most [`SLACK_MAX_BLOCKS`] blocks, at most
//! [`SLACK_MAX_TEXT`] characters per text object (2000 per field, 150 per header); longer text
//! is cut with a visible `… (truncated, see the full report)` marker. Data is escaped for
//! mrkdwn: `&`, `<`, `>` become entities (so `<!channel>`, `<@U…>` and `<url|text>` from an
//! alert name are inert) and names sit in code spans with backticks replaced.

use serde_json::{json, Value};

use super::text::{heal_times, period_title};
use super::{change_text, percent, sanitize, sparkline};
use crate::report::model::Report;

pub const SLACK_MAX_BLOCKS: usize = 50;
pub const SLACK_MAX_TEXT: usize = 3000;
pub const SLACK_TOP_KEYS: usize = 10;
const MAX_FIELD: usize = 2000;
const MAX_HEADER: usize = 150;
const MARKER: &str = "… (truncated, see the full report)";

/// Escapes text for Slack mrkdwn (and plain text): `&`, `<`, `>` as entities, control
/// characters as spaces.
pub fn escape_slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in sanitize(s, 400).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
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
    blocks.push(json!({"type": "section", "fields": [
        field(&format!("*Alerts*\n{} ({} vs last period)", t.alerts, escape_slack(&change_text(&t.change)))),
        field(&format!("*Auto-healed*\n{} ({})", t.healed, percent(t.auto_healed_share))),
        field(&format!("*Escalated*\n{}", t.escalated)),
        field(&format!("*Pages avoided*\n{} ≈ {} on-call minutes", t.human_pages_avoided, t.on_call_minutes_saved)),
        field(&format!("*No runbook*\n{}", t.no_runbook)),
        field(&format!("*Only in CloudWatch*\n{}", t.cloudwatch_only)),
    ]}));
    blocks.push(json!({"type": "divider"}));

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
            r.keys.iter().filter(|k| k.this_period > 0).count(),
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
                "\nhealed {} · failed {} · escalated {} · no runbook {} · success {} · heal p50/p95 {}",
                k.healed,
                k.failed,
                k.escalated,
                k.no_runbook,
                percent(k.success_rate),
                escape_slack(&heal_times(k))
            ));
            if let Some(inst) = k.top_instances.first() {
                line.push_str(&format!(" · top {} ×{}", code(&inst.instance), inst.alerts));
            }
        } else {
            line.push_str("\nseen only in CloudWatch alarm history");
        }
        let actions: Vec<&str> = r
            .recommendations
            .iter()
            .filter(|rec| rec.key == k.key)
            .map(|rec| rec.action.as_str())
            .collect();
        if !actions.is_empty() {
            line.push_str(&format!("\n→ {}", escape_slack(&actions.join("; "))));
        }
        blocks.push(section(&line));
    }
    blocks.push(json!({"type": "divider"}));

    if !r.recommendations.is_empty() {
        let mut text = format!("*Recommendations ({})*", r.recommendations.len());
        for (n, rec) in r.recommendations.iter().enumerate() {
            let line = format!(
                "\n• {} — {} _({})_",
                code(&rec.key),
                escape_slack(&rec.action),
                escape_slack(&rec.rule)
            );
            if text.chars().count() + line.chars().count() + 60 > SLACK_MAX_TEXT {
                text.push_str(&format!(
                    "\n… and {} more (truncated, see the full report)",
                    r.recommendations.len() - n
                ));
                break;
            }
            text.push_str(&line);
        }
        blocks.push(section(&text));
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
        "selfheal weekly report: {} alerts, {} auto-healed ({}), {} recommendations",
        t.alerts,
        t.healed,
        percent(t.auto_healed_share),
        r.recommendations.len()
    );
    json!({"text": fallback, "blocks": blocks})
}
