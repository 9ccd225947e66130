//! Plain text (terminal) rendering. Names are stripped of control characters, so a hostile
//! alert name cannot send terminal escape sequences.

use std::fmt::Write as _;

use super::{change_text, human_duration, percent, sanitize, sparkline};
use crate::report::model::{KeyReport, Report};

pub(super) fn heal_times(k: &KeyReport) -> String {
    match (k.time_to_heal.median_ms, k.time_to_heal.p95_ms) {
        (Some(m), Some(p)) => format!("{} / {}", human_duration(m), human_duration(p)),
        _ => "—".to_owned(),
    }
}

pub(super) fn period_title(r: &Report) -> String {
    let first = r.days.first().map_or("", String::as_str);
    let last = r.days.last().map_or("", String::as_str);
    format!(
        "{first} – {last} ({}, {} days)",
        sanitize(&r.time_zone, 64),
        r.period_days
    )
}

/// The report as plain text.
pub fn render_text(r: &Report) -> String {
    let t = &r.totals;
    let mut s = String::new();
    let _ = writeln!(s, "selfheal weekly report — {}", period_title(r));
    let _ = writeln!(s, "generated {}", r.generated_at);
    let _ = writeln!(s);
    let _ = writeln!(s, "Fleet");
    let _ = writeln!(
        s,
        "  alerts               {:>6}   {} vs {} last period  (selfheal {}, CloudWatch only {})",
        t.alerts,
        change_text(&t.change),
        t.alerts_last_period,
        t.via_selfheal,
        t.cloudwatch_only
    );
    let _ = writeln!(
        s,
        "  auto-healed          {:>6}   {} of alerts",
        t.healed,
        percent(t.auto_healed_share)
    );
    let _ = writeln!(s, "  failed               {:>6}", t.failed);
    let _ = writeln!(s, "  escalated            {:>6}", t.escalated);
    let _ = writeln!(s, "  dry-run              {:>6}", t.dry_run);
    let _ = writeln!(s, "  no runbook           {:>6}", t.no_runbook);
    let _ = writeln!(
        s,
        "  human pages avoided  {:>6}   ≈ {} on-call minutes saved ({} min per page)",
        t.human_pages_avoided, t.on_call_minutes_saved, t.minutes_per_page
    );
    let _ = writeln!(s);

    let _ = writeln!(s, "Recommendations ({})", r.recommendations.len());
    if r.recommendations.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for (i, rec) in r.recommendations.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>2}. [{}] {}: {}",
            i + 1,
            rec.rule,
            sanitize(&rec.key, 120),
            sanitize(&rec.text, 400)
        );
    }
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
        let _ = writeln!(
            s,
            "  healed {} · failed {} · escalated {} · dry-run {} · no-runbook {} · success {} · time to heal p50/p95 {}",
            k.healed,
            k.failed,
            k.escalated,
            k.dry_run,
            k.no_runbook,
            percent(k.success_rate),
            heal_times(k)
        );
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
            let _ = writeln!(s, "  top instances: {}", list.join(", "));
        }
        if let (Some(f), Some(l)) = (&k.first_seen, &k.last_seen) {
            let _ = writeln!(s, "  first seen {f}, last seen {l}");
        }
        if k.transitions > 0 {
            let _ = writeln!(s, "  ALARM↔OK transitions: {}", k.transitions);
        }
        if !k.recommendations.is_empty() {
            let _ = writeln!(s, "  → {}", k.recommendations.join(", "));
        }
    }
    let q = &r.data_quality;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Data: {} history records, {} alarm-history items, {} duplicates, {} recovery notices, {} outside the window, {} undated, {} without key, {} over the key limit",
        q.history_records,
        q.alarm_history_items,
        q.duplicates,
        q.recovery_notices,
        q.out_of_window,
        q.undated,
        q.without_key,
        q.keys_overflowed
    );
    for w in &q.warnings {
        let _ = writeln!(s, "warning: {}", sanitize(w, 300));
    }
    s
}
