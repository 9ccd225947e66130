//! Plain text (terminal) rendering. Names are stripped of control characters, so a hostile
//! alert name cannot send terminal escape sequences.
//!
//! Order: the decisions, then the headline, then one block per key, then data quality.

use std::fmt::Write as _;

use super::{
    alarm_history_note, change_text, compared_figure, groups_line, heal_split, owner_mode, percent,
    sanitize, sparkline, success_text,
};
use crate::report::model::{KeyReport, Report};

pub use super::period_title;

/// Heal time p50 / p95, or `—`.
pub(super) fn heal_times(k: &KeyReport) -> String {
    match (k.time_to_heal.median_ms, k.time_to_heal.p95_ms) {
        (Some(m), Some(p)) => format!(
            "{} / {}",
            super::human_duration(m),
            super::human_duration(p)
        ),
        _ => "—".to_owned(),
    }
}

/// The report as plain text.
pub fn render_text(r: &Report) -> String {
    let t = &r.totals;
    let mut s = String::new();
    let _ = writeln!(s, "selfheal weekly report — {}", period_title(r));
    let _ = writeln!(s, "generated {}", r.generated_at);
    if let Some(note) = alarm_history_note(r) {
        let _ = writeln!(s, "note: {note}");
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "Decisions this week ({})", r.decisions.len());
    if r.decisions.is_empty() {
        let _ = writeln!(s, "  none: nothing recurred, failed or paged often enough");
    }
    for (i, d) in r.decisions.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>2}. {} — {}",
            i + 1,
            sanitize(&d.key, 120),
            sanitize(&d.action, 300)
        );
        let _ = writeln!(
            s,
            "      [{}] {} · removes ~{} pages per period",
            d.decision,
            owner_mode(d.owner.as_deref(), d.mode.as_deref()),
            d.pages
        );
        let _ = writeln!(s, "      evidence: {}", sanitize(&d.evidence, 400));
        if !d.superseded.is_empty() {
            let _ = writeln!(s, "      also matched: {}", d.superseded.join(", "));
        }
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "Headline");
    let _ = writeln!(
        s,
        "  alerts                  {:>6}   {} vs {} (selfheal {}, CloudWatch only {})",
        t.alerts,
        change_text(&t.change),
        compared_figure(r, t.compared_with),
        t.via_selfheal,
        t.cloudwatch_only
    );
    let _ = writeln!(
        s,
        "  pages avoided           {:>6}   healed with no person involved; ≈ {} on-call minutes ({} per page)",
        t.human_pages_avoided, t.on_call_minutes_saved, t.minutes_per_page
    );
    let _ = writeln!(
        s,
        "  needed a person         {:>6}   paged (escalated) or asked to approve; {} escalated",
        t.humans_involved, t.escalated
    );
    let _ = writeln!(
        s,
        "  off hours               {:>6}   alerts outside {}: {} needed a person, {} healed alone",
        t.off_hours.alerts,
        sanitize(&t.off_hours.work_hours, 60),
        t.off_hours.pages,
        t.off_hours.pages_avoided
    );
    let _ = writeln!(
        s,
        "  auto-healed             {:>6}   {} of alerts",
        t.healed,
        percent(t.auto_healed_share)
    );
    let _ = writeln!(
        s,
        "  outcomes ({} selfheal alerts): {}",
        t.via_selfheal,
        groups_line(&t.outcome_groups)
    );
    let _ = writeln!(s);

    let _ = writeln!(s, "Alerts by ROLE:ALERT ({} keys)", r.keys.len());
    if r.keys.is_empty() {
        let _ = writeln!(s, "  no alerts in this window");
    }
    let days = r.weekdays.join(" ");
    for k in &r.keys {
        let _ = writeln!(s);
        let source = match (k.seen.history, k.seen.cloudwatch) {
            (false, true) => "  [CloudWatch only]",
            _ => "",
        };
        let _ = writeln!(
            s,
            "{}{}  {} this period, {} last ({})  {}",
            sanitize(&k.key, 120),
            source,
            k.this_period,
            k.last_period,
            change_text(&k.change),
            sparkline(&k.daily)
        );
        if k.seen.history {
            let _ = writeln!(
                s,
                "  {}{}",
                owner_mode(k.owner.as_deref(), k.mode.as_deref()),
                k.description
                    .as_deref()
                    .map_or(String::new(), |d| format!(" · {}", sanitize(d, 120)))
            );
            let _ = writeln!(s, "  outcomes: {}", groups_line(&k.outcome_groups));
            let _ = writeln!(
                s,
                "  success {} · time to heal p50 {} · p50/p95 {} · escalated {} · flaps {}",
                success_text(k),
                heal_split(k),
                heal_times(k),
                k.escalated,
                k.flaps
            );
        } else if k.flaps > 0 {
            let _ = writeln!(s, "  flapped {} times in CloudWatch", k.flaps);
        }
        let daily: Vec<String> = k.daily.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "  daily ({days}): {}", daily.join(" "));
        if let Some(rb) = &k.runbook {
            let _ = writeln!(s, "  runbook {}", sanitize(rb, 120));
        }
        if !k.top_instances.is_empty() {
            let list: Vec<String> = k
                .top_instances
                .iter()
                .map(|i| {
                    format!(
                        "{} ({}, healed {})",
                        sanitize(&i.instance, 40),
                        i.alerts,
                        i.healed
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "  instances: {} distinct; top {}",
                k.instances,
                list.join(", ")
            );
        }
        if let (Some(f), Some(l)) = (&k.first_seen, &k.last_seen) {
            let _ = writeln!(s, "  first {f}, last {l}");
        }
        if let Some(d) = &k.decision {
            let _ = writeln!(s, "  → decision: {d}");
        }
    }
    let q = &r.data_quality;
    let _ = writeln!(s);
    let _ = writeln!(s, "Data quality: {}", super::data_quality_text(q));
    for w in &q.warnings {
        let _ = writeln!(s, "warning: {}", sanitize(w, 300));
    }
    s
}
