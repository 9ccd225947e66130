//! Markdown rendering (GitHub-flavoured tables). Names are escaped so they cannot start
//! links, images, HTML or break the table.

use std::fmt::Write as _;

use super::text::{heal_times, period_title};
use super::{change_text, percent, sanitize, sparkline};
use crate::report::model::Report;

/// Escapes untrusted text for Markdown: ASCII punctuation that Markdown or HTML interprets is
/// backslash-escaped (`<`, `>` and `&` become entities), control characters become spaces.
pub fn escape_markdown(s: &str) -> String {
    let s = sanitize(s, 200);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' | '"' | '\'' | '=' | '$' | '@' | '%' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The report as Markdown.
pub fn render_markdown(r: &Report) -> String {
    let t = &r.totals;
    let e = escape_markdown;
    let mut s = String::new();
    let _ = writeln!(s, "# selfheal weekly report — {}", e(&period_title(r)));
    let _ = writeln!(s);
    let _ = writeln!(s, "Generated {}.", r.generated_at);
    let _ = writeln!(s);
    let _ = writeln!(s, "## Fleet");
    let _ = writeln!(s);
    let _ = writeln!(s, "| | this period | |");
    let _ = writeln!(s, "|---|---:|---|");
    let _ = writeln!(
        s,
        "| alerts | {} | {} vs {} last period; selfheal {}, CloudWatch only {} |",
        t.alerts,
        e(&change_text(&t.change)),
        t.alerts_last_period,
        t.via_selfheal,
        t.cloudwatch_only
    );
    let _ = writeln!(
        s,
        "| auto-healed | {} | {} of alerts |",
        t.healed,
        e(&percent(t.auto_healed_share))
    );
    let _ = writeln!(s, "| failed | {} | |", t.failed);
    let _ = writeln!(s, "| escalated | {} | |", t.escalated);
    let _ = writeln!(s, "| dry-run | {} | |", t.dry_run);
    let _ = writeln!(s, "| no runbook | {} | |", t.no_runbook);
    let _ = writeln!(
        s,
        "| human pages avoided | {} | ≈ {} on-call minutes saved ({} min per page) |",
        t.human_pages_avoided, t.on_call_minutes_saved, t.minutes_per_page
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "## Recommendations");
    let _ = writeln!(s);
    if r.recommendations.is_empty() {
        let _ = writeln!(s, "None this period.");
    }
    for rec in &r.recommendations {
        let _ = writeln!(s, "- **{}** `{}` — {}", e(&rec.key), rec.rule, e(&rec.text));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Alerts by ROLE:ALERT");
    let _ = writeln!(s);
    if r.keys.is_empty() {
        let _ = writeln!(s, "No alerts in this window.");
        return s;
    }
    let _ = writeln!(
        s,
        "| key | this | last | change | daily ({}) | healed | failed | escalated | dry-run | no runbook | success | heal p50 / p95 | top instances | first seen | last seen | rules |",
        r.weekdays.join(" ")
    );
    let _ = writeln!(
        s,
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---|"
    );
    for k in &r.keys {
        let key = if k.seen.history {
            e(&k.key)
        } else {
            format!("{} (CloudWatch only)", e(&k.key))
        };
        let top: Vec<String> = k
            .top_instances
            .iter()
            .map(|i| format!("{} ×{}", e(&i.instance), i.alerts))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            key,
            k.this_period,
            k.last_period,
            e(&change_text(&k.change)),
            sparkline(&k.daily),
            k.healed,
            k.failed,
            k.escalated,
            k.dry_run,
            k.no_runbook,
            e(&percent(k.success_rate)),
            heal_times(k),
            top.join(", "),
            k.first_seen.as_deref().unwrap_or("—"),
            k.last_seen.as_deref().unwrap_or("—"),
            k.recommendations.join(", ")
        );
    }
    for w in &r.data_quality.warnings {
        let _ = writeln!(s);
        let _ = writeln!(s, "> warning: {}", e(w));
    }
    s
}
