//! The full report as one self-contained HTML page: inline CSS, inline SVG charts, no script,
//! no web fonts, no external URL (a Content-Security-Policy of `default-src 'none'` makes sure
//! nothing is fetched even if a future change slips one in).
//!
//! Built to be read at 1280 px: decisions first, then the headline cards, the charts (960 px
//! wide) and an eight-column table whose details sit behind a disclosure.

use std::fmt::Write as _;

use super::svg::{render_heatmap_svg, render_keys_svg, render_svg, SvgOptions};
use super::{
    alarm_history_note, change_text, compared_label, group_label, groups_line, heal_split,
    human_duration, owner_mode, percent, period_title, sanitize, sparkline, success_text,
};
use crate::report::model::{KeyReport, Report, OUTCOME_GROUPS};

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;padding:24px;max-width:1200px;color:#111827;background:#f9fafb;box-sizing:border-box}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#6b7280}.small{font-size:12px}
.note{background:#fffbeb;border:1px solid #f59e0b;border-radius:6px;padding:8px 12px;margin-top:12px}
.decisions{list-style:none;padding:0;margin:0;counter-reset:d}
.decisions li{background:#fff;border:1px solid #e5e7eb;border-left:4px solid #2563eb;border-radius:6px;padding:8px 12px;margin:6px 0;counter-increment:d}
.decisions li::before{content:counter(d) '. ';font-weight:600}
.decisions .act{font-weight:600}.decisions .ev{color:#374151;font-size:13px;margin-top:2px}
.badge{font-family:ui-monospace,monospace;font-size:12px;background:#eef2ff;border-radius:4px;padding:0 4px;white-space:nowrap}
.headline{margin-top:6px;font-size:15px}
.pages{float:right;font-size:13px;color:#1e40af}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;flex:1 1 150px}
.card .v{font-size:24px;font-weight:600}.card .l{color:#6b7280;font-size:13px}
.chart-box{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px;max-width:100%;overflow:hidden}
.chart-box svg{max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%;table-layout:fixed}
th,td{border:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.spark{font-family:ui-monospace,monospace;letter-spacing:1px;color:#2563eb;white-space:nowrap;overflow:hidden}
.id{font-family:ui-monospace,monospace;white-space:nowrap;overflow-wrap:normal}
.bar{display:flex;height:8px;border-radius:2px;overflow:hidden;margin-bottom:3px;background:#f3f4f6}
.bar span{display:block;height:8px}
summary{cursor:pointer;color:#2563eb}
details ul{margin:4px 0;padding-left:16px}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
.warn{color:#b45309}
";

/// Colours of the outcome groups: the SVG charts' palette.
use super::svg::COLOURS as GROUP_COLOURS;

fn e(s: &str) -> String {
    escape(&sanitize(s, 300))
}

fn escape(s: &str) -> String {
    super::escape_html(s)
}

/// The outcome columns of a key as one thin stacked bar.
fn outcome_bar(k: &KeyReport) -> String {
    let total = k.outcome_groups.total();
    if total == 0 {
        return String::new();
    }
    let mut s = String::from("<div class=\"bar\">");
    for (i, name) in OUTCOME_GROUPS.iter().enumerate() {
        let n = k.outcome_groups.get(i);
        if n > 0 {
            let _ = write!(
                s,
                "<span style=\"width:{:.1}%;background:{}\" title=\"{} {n}\"></span>",
                n as f64 * 100.0 / total as f64,
                GROUP_COLOURS[i],
                group_label(name)
            );
        }
    }
    s.push_str("</div>");
    s
}

fn key_row(s: &mut String, k: &KeyReport) {
    let source = if k.seen.history {
        String::new()
    } else {
        " <span class=\"muted\">(CloudWatch only)</span>".to_owned()
    };
    let who = if k.seen.history {
        format!(
            "<div class=\"muted small\">{}</div>",
            e(&owner_mode(k.owner.as_deref(), k.mode.as_deref()))
        )
    } else {
        String::new()
    };
    let description = k.description.as_deref().map_or(String::new(), |d| {
        format!("<div class=\"small\">{}</div>", e(d))
    });
    let outcomes = if k.seen.history {
        format!("{}{}", outcome_bar(k), e(&groups_line(&k.outcome_groups)))
    } else {
        format!(
            "only in CloudWatch: went to ALARM {} times, back to OK {} times",
            k.this_period, k.flaps
        )
    };
    let decision = k.decision.as_deref().map_or_else(
        || "<span class=\"muted\">—</span>".to_owned(),
        |d| format!("<span class=\"badge\">{}</span>", e(d)),
    );
    let mut details = String::from("<details><summary>details</summary><ul>");
    if let Some(rb) = &k.runbook {
        let _ = write!(
            details,
            "<li>runbook <span class=\"id\">{}</span></li>",
            e(rb)
        );
    }
    if !k.top_instances.is_empty() {
        let list: Vec<String> = k
            .top_instances
            .iter()
            .map(|i| {
                format!(
                    "<span class=\"id\">{}</span> ×{} (healed {})",
                    e(&i.instance),
                    i.alerts,
                    i.healed
                )
            })
            .collect();
        let _ = write!(
            details,
            "<li>{} instances{}; top: {}</li>",
            k.instances,
            if k.instances_exact { "" } else { " or more" },
            list.join(", ")
        );
    }
    if let (Some(f), Some(l)) = (&k.first_seen, &k.last_seen) {
        let _ = write!(details, "<li>first {} · last {}</li>", e(f), e(l));
    }
    if let (Some(p50), Some(p95)) = (k.time_to_heal.median_ms, k.time_to_heal.p95_ms) {
        let _ = write!(
            details,
            "<li>time to heal p50 {} · p95 {} ({} samples)</li>",
            human_duration(p50),
            human_duration(p95),
            k.time_to_heal.samples
        );
    }
    let _ = write!(
        details,
        "<li>escalated {} · needed a person {} · healed alone {} · flaps {}</li>",
        k.escalated, k.humans_involved, k.pages_avoided, k.flaps
    );
    if k.approved + k.skipped > 0 {
        let _ = write!(
            details,
            "<li>Run pressed {} · Skip pressed {}</li>",
            k.approved, k.skipped
        );
    }
    if !k.outcomes.is_empty() {
        let list: Vec<String> = k
            .outcomes
            .iter()
            .map(|(o, n)| format!("{} {n}", e(o)))
            .collect();
        let _ = write!(details, "<li>outcomes: {}</li>", list.join(", "));
    }
    details.push_str("</ul></details>");
    let _ = writeln!(
        s,
        "<tr><td><strong>{}</strong>{source}{who}{description}</td><td class=\"n\">{}<div class=\"muted small\">{}</div></td><td class=\"spark\" title=\"{}\">{}</td><td>{outcomes}</td><td class=\"n\">{}</td><td>{}</td><td>{decision}</td><td>{details}</td></tr>",
        e(&k.key),
        k.this_period,
        e(&change_text(&k.change)),
        e(&k.daily.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")),
        sparkline(&k.daily),
        e(&success_text(k)),
        e(&heal_split(k)),
    );
}

/// The report as a self-contained HTML page.
pub fn render_html(r: &Report) -> String {
    let t = &r.totals;
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        s,
        "<title>selfheal weekly report — {}</title>",
        e(&period_title(r))
    );
    let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(s, "<h1>selfheal weekly report</h1>");
    let _ = writeln!(
        s,
        "<div class=\"muted\">{} · generated {}</div>",
        e(&period_title(r)),
        e(&r.generated_at)
    );
    let compared = compared_label(r);
    let _ = writeln!(
        s,
        "<div class=\"headline\"><strong>{}</strong> alerts ({} vs {compared}) · <strong>{}</strong> healed with no person · <strong>{}</strong> needed a person · <strong>{}</strong> off hours</div>",
        t.alerts,
        e(&change_text(&t.change)),
        t.human_pages_avoided,
        t.humans_involved,
        t.off_hours.alerts
    );
    if let Some(note) = alarm_history_note(r) {
        let _ = writeln!(s, "<div class=\"note\">{}</div>", e(&note));
    }

    let _ = writeln!(s, "<h2>Decisions this week ({})</h2>", r.decisions.len());
    if r.decisions.is_empty() {
        s.push_str(
            "<p class=\"muted\">None: nothing recurred, failed or paged often enough.</p>\n",
        );
    } else {
        s.push_str("<ol class=\"decisions\">\n");
        for d in &r.decisions {
            let also = if d.superseded.is_empty() {
                String::new()
            } else {
                format!(
                    "<div class=\"muted small\">also matched: {}</div>",
                    e(&d.superseded.join(", "))
                )
            };
            let _ = writeln!(
                s,
                "<li><span class=\"pages\">~{} pages</span><strong>{}</strong> — <span class=\"act\">{}</span> <span class=\"badge\">{}</span><div class=\"muted small\">{}</div><div class=\"ev\">{}</div>{also}</li>",
                d.pages,
                e(&d.key),
                e(&d.action),
                e(&d.decision),
                e(&owner_mode(d.owner.as_deref(), d.mode.as_deref())),
                e(&d.evidence)
            );
        }
        s.push_str("</ol>\n");
    }

    s.push_str("<h2>Headline</h2>\n<div class=\"cards\">");
    let card = |s: &mut String, v: String, l: String| {
        let _ = write!(
            s,
            "<div class=\"card\"><div class=\"v\">{v}</div><div class=\"l\">{l}</div></div>"
        );
    };
    card(
        &mut s,
        t.alerts.to_string(),
        format!("alerts · {} vs {compared}", e(&change_text(&t.change))),
    );
    card(
        &mut s,
        t.human_pages_avoided.to_string(),
        format!(
            "pages avoided: healed with no person · ≈ {} on-call minutes",
            t.on_call_minutes_saved
        ),
    );
    card(
        &mut s,
        t.humans_involved.to_string(),
        format!("needed a person · {} escalated", t.escalated),
    );
    card(
        &mut s,
        t.off_hours.alerts.to_string(),
        format!(
            "off hours (outside {}) · {} needed a person",
            e(&t.off_hours.work_hours),
            t.off_hours.pages
        ),
    );
    card(
        &mut s,
        percent(t.auto_healed_share),
        format!("auto-healed · {} alerts", t.healed),
    );
    card(
        &mut s,
        if r.alarm_history.is_read() {
            t.cloudwatch_only.to_string()
        } else {
            "?".to_owned()
        },
        if r.alarm_history.is_read() {
            "alarms only in CloudWatch".to_owned()
        } else {
            "alarms only in CloudWatch: not read".to_owned()
        },
    );
    s.push_str("</div>\n");
    s.push_str("<div class=\"legend\" style=\"margin-top:10px\">");
    for (i, name) in OUTCOME_GROUPS.iter().enumerate() {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{} {}</span>",
            GROUP_COLOURS[i],
            group_label(name),
            t.outcome_groups.get(i)
        );
    }
    s.push_str("</div>\n");

    let inline = SvgOptions {
        standalone: false,
        ..SvgOptions::default()
    };
    s.push_str("<h2>Daily alerts by outcome (last period behind)</h2>\n<div class=\"chart-box\">");
    s.push_str(&render_svg(r, inline));
    s.push_str(
        "</div>\n<h2>When alerts fire (local hour × weekday)</h2>\n<div class=\"chart-box\">",
    );
    s.push_str(&render_heatmap_svg(r, inline));
    s.push_str("</div>\n<h2>Top keys</h2>\n<div class=\"chart-box\">");
    s.push_str(&render_keys_svg(r, inline));
    s.push_str("</div>\n");

    let _ = writeln!(s, "<h2>Alerts by ROLE:ALERT ({})</h2>", r.keys.len());
    if r.keys.is_empty() {
        s.push_str("<p class=\"muted\">No alerts in this window.</p>\n");
    } else {
        s.push_str("<table>\n<colgroup><col style=\"width:21%\"><col style=\"width:7%\"><col style=\"width:9%\"><col style=\"width:19%\"><col style=\"width:8%\"><col style=\"width:10%\"><col style=\"width:16%\"><col style=\"width:10%\"></colgroup>\n");
        s.push_str("<thead><tr><th>key</th><th>alerts</th><th>daily</th><th>outcomes</th><th>success</th><th>time to heal</th><th>decision</th><th>details</th></tr></thead>\n<tbody>\n");
        for k in &r.keys {
            key_row(&mut s, k);
        }
        s.push_str("</tbody>\n</table>\n");
    }

    let q = &r.data_quality;
    let _ = writeln!(
        s,
        "<h2>Data quality</h2>
<p class=\"muted\">{}</p>",
        e(&super::data_quality_text(q))
    );
    for w in &q.warnings {
        let _ = writeln!(s, "<p class=\"warn\">warning: {}</p>", e(w));
    }
    s.push_str("</body>\n</html>\n");
    s
}
