//! The sections under an announcement's header, shared by a message and its later update:
//! what (description, key, runbook, result), where (instance, role, region, account, attempt,
//! mode, and on a result its duration, failing phase and exit code), why (alarm link and
//! reason), the commands, the redacted output tail, and the SSM command links. Not the header,
//! the fallback text or the limits on the whole message (`mod.rs`).

use selfheal_service::ports::{Announcement, AnnouncementKind};
use serde_json::{json, Value};

use super::links::{alarm_url, command_url, is_command_id, region_code};
use super::{
    context, is_dry_run_message, section, short, MAX_FIELDS, MAX_FIELD_CHARS, MAX_SECTION_CHARS,
};
use crate::slack::sanitize::{clean_code, clean_line, truncate, truncate_front, TRUNCATED};

/// Everything below the header (shared by a message and its later update).
pub(super) fn body_blocks(a: &Announcement) -> Vec<Value> {
    let mut blocks = Vec::new();
    if let Some(b) = what_section(a) {
        blocks.push(b);
    }
    let fields = where_fields(a);
    if !fields.is_empty() {
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(b) = why_section(a) {
        blocks.push(b);
    }
    if let Some(b) = commands_section(a) {
        blocks.push(b);
    }
    if let Some(b) = output_section(a) {
        blocks.push(b);
    }
    if let Some(b) = ssm_section(a) {
        blocks.push(b);
    }
    let mut trailer = format!(
        "selfheal · identity `{}`",
        truncate(&clean_line(&a.identity), 300)
    );
    if is_dry_run_message(a) || (a.kind == AnnouncementKind::Start && a.dry_run) {
        trailer.push_str(" · :test_tube: dry-run mode: selfheal ran nothing on the instance");
    }
    blocks.push(context(&trailer));
    blocks
}

fn what_section(a: &Announcement) -> Option<Value> {
    let mut lines = Vec::new();
    if let Some(d) = a.description.as_deref().filter(|d| !d.trim().is_empty()) {
        lines.push(format!("*{}*", truncate(&clean_line(d), 500)));
    }
    let mut ids = Vec::new();
    if let Some(k) = &a.key {
        ids.push(format!("Alert `{}`", short(k)));
    }
    if let Some(r) = &a.runbook {
        ids.push(format!("runbook `{}`", short(r)));
    }
    if !ids.is_empty() {
        lines.push(ids.join(" · "));
    }
    let show_detail =
        !a.detail.trim().is_empty() && (a.kind == AnnouncementKind::Result || a.outcome.is_some());
    if show_detail {
        lines.push(format!("*Result:* {}", clean_line(&a.detail)));
    }
    (!lines.is_empty()).then(|| section(&lines.join("\n")))
}

fn where_fields(a: &Announcement) -> Vec<Value> {
    let mut fields: Vec<(String, String)> = Vec::new();
    if let Some(i) = &a.instance {
        fields.push(("Instance".into(), format!("`{}`", short(i))));
    }
    if let Some(r) = &a.role {
        fields.push(("Role".into(), format!("`{}`", short(r))));
    }
    if let Some(r) = &a.region {
        let shown = match region_code(r) {
            Some(code) if code != r.trim() => format!("{code} ({})", short(r)),
            _ => short(r),
        };
        fields.push(("Region".into(), shown));
    }
    if let Some(acc) = &a.account {
        fields.push(("Account".into(), short(acc)));
    }
    if a.outcome.as_deref() == Some("budget-exhausted") && a.max_attempts > 0 {
        fields.push((
            "Attempts".into(),
            format!("all {} used — needs review", a.max_attempts),
        ));
    } else if a.attempt > 0 && a.max_attempts > 0 {
        fields.push((
            "Attempt".into(),
            format!("{} of {}", a.attempt, a.max_attempts),
        ));
    } else if a.attempt > 0 {
        fields.push(("Attempt".into(), a.attempt.to_string()));
    }
    let mode = if a.dry_run {
        ":test_tube: *dry-run* (nothing runs)"
    } else {
        "enforce"
    };
    fields.push(("Mode".into(), mode.into()));
    if a.kind == AnnouncementKind::Result {
        if let Some(ms) = a.duration_ms {
            fields.push(("Duration".into(), duration(ms)));
        }
        if let Some(p) = &a.failed_phase {
            fields.push(("Failed phase".into(), format!("`{}`", short(p))));
        }
        if let Some(code) = a.exit_code {
            fields.push(("Exit code".into(), format!("`{code}`")));
        }
    }
    fields
        .into_iter()
        .take(MAX_FIELDS)
        .map(|(k, v)| {
            json!({
                "type": "mrkdwn",
                "text": truncate(&format!("*{k}*\n{v}"), MAX_FIELD_CHARS),
                "verbatim": true,
            })
        })
        .collect()
}

fn why_section(a: &Announcement) -> Option<Value> {
    let mut lines = Vec::new();
    if let Some(name) = &a.alarm_name {
        let shown = short(name);
        let link = a
            .region
            .as_deref()
            .and_then(region_code)
            .map(|code| alarm_url(&code, name));
        lines.push(match link {
            Some(url) => format!("*Alarm:* <{url}|{shown}>"),
            None => format!("*Alarm:* `{shown}`"),
        });
    }
    if let Some(reason) = a.alarm_reason.as_deref().filter(|r| !r.trim().is_empty()) {
        lines.push(format!("*Reason:* {}", clean_line(reason)));
    }
    (!lines.is_empty()).then(|| section(&lines.join("\n")))
}

fn commands_section(a: &Announcement) -> Option<Value> {
    if a.commands.is_empty() {
        return None;
    }
    let label = if a.dry_run {
        "*Would run* (dry-run — nothing was run):"
    } else if a.outcome.as_deref() == Some("awaiting-approval") {
        "*Runs after approval:*"
    } else {
        "*Runs:*"
    };
    let body = clean_code(&a.commands.join("\n"));
    Some(code_section(label, &body, false))
}

fn output_section(a: &Announcement) -> Option<Value> {
    let tail = a.output_tail.as_deref().filter(|t| !t.trim().is_empty())?;
    Some(code_section(
        "*Output* (last lines, secrets redacted):",
        &clean_code(tail),
        true,
    ))
}

/// A section with a label line and a code block that always closes, however long `body` is:
/// the body is cut first (from the front for tails), never the fences.
fn code_section(label: &str, body: &str, keep_end: bool) -> Value {
    let overhead = label.chars().count() + "\n```\n\n```".chars().count();
    let budget = MAX_SECTION_CHARS.saturating_sub(overhead);
    let body = if keep_end {
        truncate_front(body, budget)
    } else {
        truncate(body, budget)
    };
    section(&format!("{label}\n```\n{body}\n```"))
}

fn ssm_section(a: &Announcement) -> Option<Value> {
    if a.command_ids.is_empty() {
        return None;
    }
    let region = a.region.as_deref().and_then(region_code);
    let links: Vec<String> = a
        .command_ids
        .iter()
        .map(|id| match (&region, is_command_id(id)) {
            (Some(r), true) => format!("<{}|{id}>", command_url(r, id)),
            _ => format!("`{}`", short(id)),
        })
        .collect();
    let label = if links.len() == 1 {
        "*SSM command:*"
    } else {
        "*SSM commands:*"
    };
    // Whole links only: a cut inside `<url|id>` would leave broken markup.
    let mut text = label.to_owned();
    let budget = MAX_SECTION_CHARS - 40;
    for (i, link) in links.iter().enumerate() {
        let sep = if i == 0 { " " } else { " · " };
        if text.chars().count() + sep.len() + link.chars().count() > budget {
            text.push_str(&format!(" {TRUNCATED} ({} more)", links.len() - i));
            break;
        }
        text.push_str(sep);
        text.push_str(link);
    }
    Some(section(&text))
}

/// `850 ms`, `12.3 s`, `4 min 5 s`, `1 h 2 min`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}
