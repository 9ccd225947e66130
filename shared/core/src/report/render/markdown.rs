//! Markdown rendering (GitHub-flavoured tables). Names are escaped so they cannot start
//! links, images, HTML or break the table.

use std::fmt::Write as _;

use super::{
    alarm_history_note, change_text, compared_figure, group_label, groups_line, heal_split,
    owner_mode, percent, period_title, sanitize, sparkline, success_text,
};
use crate::report::model::{Report, OUTCOME_GROUPS};

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

/// The report as Markdown: decisions first, then the headline, the keys and data quality.
pub fn render_markdown(r: &Report) -> String {
    let t = &r.totals;
    let e = escape_markdown;
    let mut s = String::new();
    let _ = writeln!(s, "# selfheal weekly report — {}", e(&period_title(r)));
    let _ = writeln!(s);
    let _ = writeln!(s, "Generated {}.", e(&r.generated_at));
    if let Some(note) = alarm_history_note(r) {
        let _ = writeln!(s);
        let _ = writeln!(s, "> **Note:** {}", e(&note));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Decisions this week ({})", r.decisions.len());
    let _ = writeln!(s);
    if r.decisions.is_empty() {
        let _ = writeln!(s, "None: nothing recurred, failed or paged often enough.");
    }
    for (i, d) in r.decisions.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. **{}** — {}  \n   `{}` · {} · removes ~{} pages per period  \n   {}{}",
            i + 1,
            e(&d.key),
            e(&d.action),
            d.decision,
            e(&owner_mode(d.owner.as_deref(), d.mode.as_deref())),
            d.pages,
            e(&d.evidence),
            if d.superseded.is_empty() {
                String::new()
            } else {
                format!(" (also matched: {})", d.superseded.join(", "))
            }
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Headline");
    let _ = writeln!(s);
    let _ = writeln!(s, "| | this period | |");
    let _ = writeln!(s, "|---|---:|---|");
    let _ = writeln!(
        s,
        "| alerts | {} | {} vs {}; selfheal {}, CloudWatch only {} |",
        t.alerts,
        e(&change_text(&t.change)),
        compared_figure(r, t.compared_with),
        t.via_selfheal,
        t.cloudwatch_only
    );
    let _ = writeln!(
        s,
        "| pages avoided | {} | healed with no person involved; ≈ {} on-call minutes ({} min per page) |",
        t.human_pages_avoided, t.on_call_minutes_saved, t.minutes_per_page
    );
    let _ = writeln!(
        s,
        "| needed a person | {} | escalated or asked to approve; {} escalated |",
        t.humans_involved, t.escalated
    );
    let _ = writeln!(
        s,
        "| off hours | {} | alerts outside {}: {} needed a person, {} healed alone |",
        t.off_hours.alerts,
        e(&t.off_hours.work_hours),
        t.off_hours.pages,
        t.off_hours.pages_avoided
    );
    let _ = writeln!(
        s,
        "| auto-healed | {} | {} of alerts |",
        t.healed,
        e(&percent(t.auto_healed_share))
    );
    for (i, name) in OUTCOME_GROUPS.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {} | |",
            group_label(name),
            t.outcome_groups.get(i)
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Alerts by ROLE:ALERT");
    let _ = writeln!(s);
    if r.keys.is_empty() {
        let _ = writeln!(s, "No alerts in this window.");
    } else {
        let _ = writeln!(
            s,
            "| key | owner · mode | alerts (change) | daily ({}) | outcomes | success | time to heal | decision |",
            e(&r.weekdays.join(" "))
        );
        let _ = writeln!(s, "|---|---|---:|---|---|---:|---|---|");
        for k in &r.keys {
            let key = if k.seen.history {
                e(&k.key)
            } else {
                format!("{} (CloudWatch only)", e(&k.key))
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} ({}) | {} | {} | {} | {} | {} |",
                key,
                e(&owner_mode(k.owner.as_deref(), k.mode.as_deref())),
                k.this_period,
                e(&change_text(&k.change)),
                sparkline(&k.daily),
                e(&groups_line(&k.outcome_groups)),
                e(&success_text(k)),
                e(&heal_split(k)),
                k.decision.as_deref().unwrap_or("—")
            );
        }
    }
    let q = &r.data_quality;
    let _ = writeln!(s);
    let _ = writeln!(s, "## Data quality");
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", super::data_quality_text(q));
    for w in &q.warnings {
        let _ = writeln!(s);
        let _ = writeln!(s, "> warning: {}", e(&sanitize(w, 300)));
    }
    s
}
