//! The full report as one self-contained HTML page: inline CSS, the inline SVG chart, no
//! script, no web fonts, no external URL (a Content-Security-Policy of `default-src 'none'`
//! makes sure nothing is fetched even if a future change slips one in).

use std::fmt::Write as _;

use super::svg::{render_svg, SvgOptions};
use super::text::{heal_times, period_title};
use super::{change_text, escape_html, percent, sanitize, sparkline};
use crate::report::model::Report;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#111827;background:#f9fafb}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#6b7280}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;min-width:150px}
.card .v{font-size:24px;font-weight:600}.card .l{color:#6b7280;font-size:13px}
.chart-box{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px;overflow-x:auto}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}
th,td{border:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.spark{font-family:monospace;letter-spacing:1px;color:#2563eb}
.rule{font-family:monospace;background:#eef2ff;border-radius:4px;padding:0 4px}
li{margin:4px 0}.warn{color:#b45309}
";

fn e(s: &str) -> String {
    escape_html(&sanitize(s, 300))
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

    s.push_str("<div class=\"cards\">");
    let card = |s: &mut String, v: String, l: String| {
        let _ = write!(
            s,
            "<div class=\"card\"><div class=\"v\">{v}</div><div class=\"l\">{l}</div></div>"
        );
    };
    card(
        &mut s,
        t.alerts.to_string(),
        format!("alerts · {} vs last period", e(&change_text(&t.change))),
    );
    card(
        &mut s,
        t.healed.to_string(),
        format!("auto-healed · {}", e(&percent(t.auto_healed_share))),
    );
    card(
        &mut s,
        t.escalated.to_string(),
        "escalated to a human".to_owned(),
    );
    card(
        &mut s,
        t.human_pages_avoided.to_string(),
        "human pages avoided".to_owned(),
    );
    card(
        &mut s,
        t.on_call_minutes_saved.to_string(),
        format!("on-call minutes saved ({} per page)", t.minutes_per_page),
    );
    card(
        &mut s,
        t.cloudwatch_only.to_string(),
        "alarms only in CloudWatch".to_owned(),
    );
    s.push_str("</div>\n");

    s.push_str("<h2>Daily alerts, top keys</h2>\n<div class=\"chart-box\">");
    s.push_str(&render_svg(
        r,
        SvgOptions {
            standalone: false,
            ..SvgOptions::default()
        },
    ));
    s.push_str("</div>\n");

    let _ = writeln!(s, "<h2>Recommendations ({})</h2>", r.recommendations.len());
    if r.recommendations.is_empty() {
        s.push_str("<p class=\"muted\">None this period.</p>\n");
    } else {
        s.push_str("<ol>\n");
        for rec in &r.recommendations {
            let _ = writeln!(
                s,
                "<li><strong>{}</strong> — {} <span class=\"rule\">{}</span><br><span class=\"muted\">{}</span></li>",
                e(&rec.key),
                e(&rec.action),
                e(&rec.rule),
                e(&rec.text)
            );
        }
        s.push_str("</ol>\n");
    }

    let _ = writeln!(s, "<h2>Alerts by ROLE:ALERT ({})</h2>", r.keys.len());
    if r.keys.is_empty() {
        s.push_str("<p class=\"muted\">No alerts in this window.</p>\n");
    } else {
        s.push_str("<table>\n<thead><tr><th>key</th><th>this</th><th>last</th><th>change</th><th>daily</th><th>healed</th><th>failed</th><th>escalated</th><th>dry-run</th><th>no runbook</th><th>success</th><th>heal p50 / p95</th><th>top instances</th><th>first seen</th><th>last seen</th><th>rules</th></tr></thead>\n<tbody>\n");
        for k in &r.keys {
            let top: Vec<String> = k
                .top_instances
                .iter()
                .map(|i| format!("{} ×{} (healed {})", e(&i.instance), i.alerts, i.healed))
                .collect();
            let key = if k.seen.history {
                e(&k.key)
            } else {
                format!(
                    "{} <span class=\"muted\">(CloudWatch only)</span>",
                    e(&k.key)
                )
            };
            let _ = writeln!(
                s,
                "<tr><td>{key}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"spark\" title=\"{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                k.this_period,
                k.last_period,
                e(&change_text(&k.change)),
                e(&k.daily.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")),
                sparkline(&k.daily),
                k.healed,
                k.failed,
                k.escalated,
                k.dry_run,
                k.no_runbook,
                e(&percent(k.success_rate)),
                e(&heal_times(k)),
                top.join("<br>"),
                e(k.first_seen.as_deref().unwrap_or("—")),
                e(k.last_seen.as_deref().unwrap_or("—")),
                e(&k.recommendations.join(", "))
            );
        }
        s.push_str("</tbody>\n</table>\n");
    }

    let q = &r.data_quality;
    let _ = writeln!(
        s,
        "<h2>Data</h2>\n<p class=\"muted\">{} history records, {} alarm-history items, {} duplicates, {} recovery notices, {} outside the window, {} undated, {} without key, {} over the key limit.</p>",
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
        let _ = writeln!(s, "<p class=\"warn\">warning: {}</p>", e(w));
    }
    s.push_str("</body>\n</html>\n");
    s
}
