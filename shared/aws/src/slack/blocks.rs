//! Block Kit rendering of announcements (pure: no I/O, no clock).
//!
//! A message tells an on-call engineer at a glance *what* (runbook key and description),
//! *where* (instance, role, region, account), *why* (alarm name, reason, a console link), the
//! attempt and the mode (a dry run is unmistakable), and on a result the outcome, duration,
//! failing phase, exit code, a redacted output tail and links to the SSM commands. Escalations
//! and approvals mention the runbook's owner.
//!
//! Every alert-derived string goes through [`super::sanitize`]: control characters and ANSI
//! escapes removed, secrets redacted, `&<>` escaped, so an alert can neither ping `<!channel>`
//! nor forge a link. Slack's limits are respected with a visible `…[truncated]` marker:
//! ≤ [`MAX_BLOCKS`] blocks, ≤ [`MAX_SECTION_CHARS`] per section text, ≤ [`MAX_HEADER_CHARS`]
//! per header, ≤ [`MAX_FIELDS`] fields of ≤ [`MAX_FIELD_CHARS`] each.

use selfheal_service::ports::{Announcement, AnnouncementKind};
use serde::Serialize;
use serde_json::{json, Value};

use super::sanitize::{clean_code, clean_line, truncate, truncate_front, TRUNCATED};

/// Slack: at most 50 blocks per message.
pub const MAX_BLOCKS: usize = 50;
/// Slack: a section's text is at most 3000 characters.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Slack: a header's text is at most 150 characters.
pub const MAX_HEADER_CHARS: usize = 150;
/// Slack: at most 10 fields per section, each at most 2000 characters.
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_CHARS: usize = 2000;
/// Context elements: at most 10 per block; we keep each well under the text limit.
pub const MAX_CONTEXT_CHARS: usize = 2000;
/// The plain `text` fallback (notifications, screen readers, clients without blocks).
pub const MAX_FALLBACK_CHARS: usize = 3000;

/// Short single values (role, instance, account …) are clipped to this many characters.
const MAX_VALUE_CHARS: usize = 200;

/// A rendered message: the plain-text fallback and the blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlackMessage {
    pub text: String,
    pub blocks: Vec<Value>,
}

impl SlackMessage {
    /// `{"text": …, "blocks": […]}`: the body of a webhook post, and the message part of
    /// `chat.postMessage` / `chat.update`.
    pub fn to_json(&self) -> Value {
        json!({ "text": self.text, "blocks": self.blocks })
    }

    /// The fallback alone, for when Slack rejects the blocks (`invalid_blocks`, `msg_too_long`).
    pub fn text_only(&self) -> Value {
        json!({ "text": self.text })
    }
}

/// How an outcome looks in chat: emoji and a short label.
pub fn outcome_style(outcome: &str) -> (&'static str, String) {
    let (emoji, label) = match outcome {
        "healed" => (":white_check_mark:", "Healed"),
        "failed" => (":x:", "Failed"),
        "precheck-failed" => (":no_entry:", "Precheck failed — nothing was changed"),
        "recovered" => (":relieved:", "Recovered on its own — nothing was run"),
        "timed-out" => (":hourglass:", "Timed out"),
        "dry-run" => (":test_tube:", "Dry run — nothing was run"),
        "disabled" => (":no_entry_sign:", "Runbook disabled — nothing was run"),
        "ignored" => (":information_source:", "Ignored"),
        "no-runbook" => (":grey_question:", "No runbook"),
        "unresolved" => (":question:", "Unresolved — nothing was run"),
        "invalid" => (":warning:", "Invalid alert"),
        "duplicate" => (":repeat:", "Duplicate — already handled"),
        "budget-exhausted" => (
            ":rotating_light:",
            "Attempt budget exhausted — needs review",
        ),
        "capacity-wait" => (":hourglass_flowing_sand:", "Waiting for capacity"),
        "killed" => (":octagonal_sign:", "Killed — global mode is off"),
        "silenced" => (":mute:", "Silenced"),
        "awaiting-approval" => (":raised_hand:", "Approval needed"),
        "skipped" => (":fast_forward:", "Skipped by a person"),
        "expired" => (":alarm_clock:", "Approval expired — nothing was run"),
        "running" => (":arrows_counterclockwise:", "Still running"),
        "retry" => (":arrows_counterclockwise:", "Will be retried"),
        other => {
            return (
                ":grey_question:",
                truncate(&clean_line(other), MAX_VALUE_CHARS),
            )
        }
    };
    (emoji, label.to_owned())
}

/// Outcomes that need a human: the owner is mentioned (escalations and approvals).
pub fn needs_human(outcome: Option<&str>) -> bool {
    matches!(
        outcome,
        Some(
            "budget-exhausted"
                | "failed"
                | "timed-out"
                | "unresolved"
                | "capacity-wait"
                | "awaiting-approval"
        )
    )
}

fn is_dry_run_message(a: &Announcement) -> bool {
    match a.kind {
        AnnouncementKind::Start => a.dry_run && a.outcome.is_none(),
        AnnouncementKind::Result => a.outcome.as_deref() == Some("dry-run"),
    }
}

const DRY_RUN_HEADER: &str = ":test_tube: DRY RUN — nothing was run";

/// Renders one announcement.
pub fn render(a: &Announcement) -> SlackMessage {
    let mut blocks = Vec::new();
    blocks.push(header(&header_text(a)));
    if let Some(b) = human_section(a) {
        blocks.push(b);
    }
    blocks.extend(body_blocks(a));
    if let Some(value) = &a.approval {
        match selfheal_core::approval::actions_block(value) {
            Ok(b) => blocks.push(b),
            Err(e) => tracing::warn!(error = %e, "the Run / Skip buttons cannot be rendered"),
        }
    }
    finish(fallback_text(a), blocks)
}

/// The start message as it should look once `result` is known (for `chat.update`): the header
/// carries the outcome's emoji and a line points to the thread.
pub fn render_start_update(start: &Announcement, result: &Announcement) -> SlackMessage {
    let outcome = result.outcome.as_deref().unwrap_or("finished");
    let (emoji, label) = outcome_style(outcome);
    let mut blocks = Vec::new();
    let head = if is_dry_run_message(start) {
        DRY_RUN_HEADER.to_owned()
    } else {
        format!("{emoji} {label}: {}", subject(start))
    };
    blocks.push(header(&head));
    blocks.push(context(&format!(
        "{emoji} *{label}* — details in the thread"
    )));
    blocks.extend(body_blocks(start));
    let text = truncate(
        &format!("{emoji} selfheal {label}: {}", subject(start)),
        MAX_FALLBACK_CHARS,
    );
    finish(text, blocks)
}

/// `KEY on INSTANCE`, cleaned (the key, else the alarm name, else "an alert").
fn subject(a: &Announcement) -> String {
    let what = a
        .key
        .as_deref()
        .or(a.alarm_name.as_deref())
        .map_or_else(|| "an alert".to_owned(), short);
    match &a.instance {
        Some(i) => format!("{what} on {}", short(i)),
        None => what,
    }
}

fn header_text(a: &Announcement) -> String {
    if is_dry_run_message(a) {
        return DRY_RUN_HEADER.to_owned();
    }
    match (a.kind, a.outcome.as_deref()) {
        (AnnouncementKind::Start, None) => {
            format!(":hammer_and_wrench: Remediating {}", subject(a))
        }
        (_, outcome) => {
            let (emoji, label) = outcome_style(outcome.unwrap_or("finished"));
            format!("{emoji} {label}: {}", subject(a))
        }
    }
}

/// Owner mention for escalations and approvals, right under the header.
fn human_section(a: &Announcement) -> Option<Value> {
    let outcome = a.outcome.as_deref();
    if !needs_human(outcome) {
        return None;
    }
    let who = a
        .owner
        .as_deref()
        .map(owner_mention)
        .filter(|m| !m.is_empty());
    let text = match (outcome, who) {
        (Some("awaiting-approval"), Some(who)) => {
            format!(":raised_hand: *Waiting for approval* — {who}, please review and press Run or Skip.")
        }
        (Some("awaiting-approval"), None) => {
            ":raised_hand: *Waiting for approval* by one of the runbook's approvers.".to_owned()
        }
        (_, Some(who)) => format!(":rotating_light: *Needs a human* — {who}, please take a look."),
        (_, None) => ":rotating_light: *Needs a human* (the runbook names no owner).".to_owned(),
    };
    // Not verbatim: the owner is from the reviewed runbook, and a bare `@handle` may link.
    Some(json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(&text, MAX_SECTION_CHARS) }
    }))
}

/// Formats the runbook's `owner` as a mention: a user-group id (`S…` or `<!subteam^S…>`) becomes
/// `<!subteam^S…>`, a user id (`U…`/`W…` or `<@U…>`) becomes `<@U…>`, anything else (e.g.
/// `@web-oncall`) is shown as escaped text. Several owners may be separated by commas or spaces.
pub fn owner_mention(owner: &str) -> String {
    let mut out = Vec::new();
    for part in owner
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .take(10)
    {
        out.push(one_owner(part));
    }
    truncate(&out.join(" "), 500)
}

fn one_owner(part: &str) -> String {
    let id_like = |s: &str, first: &[char]| {
        s.len() >= 8
            && s.len() <= 32
            && s.chars().any(|c| c.is_ascii_digit())
            && s.starts_with(first)
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let inner = part
        .strip_prefix("<!subteam^")
        .and_then(|r| r.strip_suffix('>'))
        .map(|r| r.split('|').next().unwrap_or(r));
    if let Some(id) = inner {
        if id_like(id, &['S']) {
            return format!("<!subteam^{id}>");
        }
    }
    let user = part
        .strip_prefix("<@")
        .and_then(|r| r.strip_suffix('>'))
        .map(|r| r.split('|').next().unwrap_or(r));
    if let Some(id) = user {
        if id_like(id, &['U', 'W']) {
            return format!("<@{id}>");
        }
    }
    if id_like(part, &['S']) {
        return format!("<!subteam^{part}>");
    }
    if id_like(part, &['U', 'W']) {
        return format!("<@{part}>");
    }
    short(part)
}

/// Everything below the header (shared by a message and its later update).
fn body_blocks(a: &Announcement) -> Vec<Value> {
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

fn header(text: &str) -> Value {
    json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": true }
    })
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(text, MAX_SECTION_CHARS), "verbatim": true }
    })
}

fn context(text: &str) -> Value {
    json!({
        "type": "context",
        "elements": [ { "type": "mrkdwn", "text": truncate(text, MAX_CONTEXT_CHARS), "verbatim": true } ]
    })
}

/// Applies the block-count limit (the last kept block says that some were left out).
fn finish(text: String, mut blocks: Vec<Value>) -> SlackMessage {
    if blocks.len() > MAX_BLOCKS {
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(context(&format!(
            "{TRUNCATED} (more details than Slack shows)"
        )));
    }
    SlackMessage {
        text: truncate(&text, MAX_FALLBACK_CHARS),
        blocks,
    }
}

fn fallback_text(a: &Announcement) -> String {
    let what = subject(a);
    let mut text = if is_dry_run_message(a) {
        match a.kind {
            AnnouncementKind::Start => {
                format!("DRY RUN — nothing was run: selfheal would remediate {what}")
            }
            AnnouncementKind::Result => format!("DRY RUN — nothing was run: {what}"),
        }
    } else {
        match (a.kind, a.outcome.as_deref()) {
            (AnnouncementKind::Start, None) => {
                let attempt = if a.attempt > 0 && a.max_attempts > 0 {
                    format!(" (attempt {} of {})", a.attempt, a.max_attempts)
                } else {
                    String::new()
                };
                format!("selfheal is remediating {what}{attempt}")
            }
            (_, outcome) => {
                let (emoji, label) = outcome_style(outcome.unwrap_or("finished"));
                let detail = if a.detail.trim().is_empty() {
                    String::new()
                } else {
                    format!(" — {}", truncate(&clean_line(&a.detail), 500))
                };
                format!("{emoji} selfheal {label}: {what}{detail}")
            }
        }
    };
    if needs_human(a.outcome.as_deref()) {
        if let Some(who) = a
            .owner
            .as_deref()
            .map(owner_mention)
            .filter(|m| !m.is_empty())
        {
            text.push_str(&format!(" — {who}"));
        }
    }
    text
}

/// A short single-line value, cleaned and clipped.
fn short(s: &str) -> String {
    truncate(&clean_line(s), MAX_VALUE_CHARS)
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

/// Region display names as CloudWatch alarm notifications carry them, and their codes.
const REGION_NAMES: &[(&str, &str)] = &[
    ("US East (N. Virginia)", "us-east-1"),
    ("US East (Ohio)", "us-east-2"),
    ("US West (N. California)", "us-west-1"),
    ("US West (Oregon)", "us-west-2"),
    ("Africa (Cape Town)", "af-south-1"),
    ("Asia Pacific (Hong Kong)", "ap-east-1"),
    ("Asia Pacific (Taipei)", "ap-east-2"),
    ("Asia Pacific (Hyderabad)", "ap-south-2"),
    ("Asia Pacific (Jakarta)", "ap-southeast-3"),
    ("Asia Pacific (Malaysia)", "ap-southeast-5"),
    ("Asia Pacific (Melbourne)", "ap-southeast-4"),
    ("Asia Pacific (Mumbai)", "ap-south-1"),
    ("Asia Pacific (New Zealand)", "ap-southeast-6"),
    ("Asia Pacific (Osaka)", "ap-northeast-3"),
    ("Asia Pacific (Seoul)", "ap-northeast-2"),
    ("Asia Pacific (Singapore)", "ap-southeast-1"),
    ("Asia Pacific (Sydney)", "ap-southeast-2"),
    ("Asia Pacific (Thailand)", "ap-southeast-7"),
    ("Asia Pacific (Tokyo)", "ap-northeast-1"),
    ("Canada (Central)", "ca-central-1"),
    ("Canada West (Calgary)", "ca-west-1"),
    ("Europe (Frankfurt)", "eu-central-1"),
    ("Europe (Ireland)", "eu-west-1"),
    ("Europe (London)", "eu-west-2"),
    ("Europe (Milan)", "eu-south-1"),
    ("Europe (Paris)", "eu-west-3"),
    ("Europe (Spain)", "eu-south-2"),
    ("Europe (Stockholm)", "eu-north-1"),
    ("Europe (Zurich)", "eu-central-2"),
    ("EU (Frankfurt)", "eu-central-1"),
    ("EU (Ireland)", "eu-west-1"),
    ("EU (London)", "eu-west-2"),
    ("EU (Milan)", "eu-south-1"),
    ("EU (Paris)", "eu-west-3"),
    ("EU (Stockholm)", "eu-north-1"),
    ("Israel (Tel Aviv)", "il-central-1"),
    ("Mexico (Central)", "mx-central-1"),
    ("Middle East (Bahrain)", "me-south-1"),
    ("Middle East (UAE)", "me-central-1"),
    ("South America (Sao Paulo)", "sa-east-1"),
    ("South America (São Paulo)", "sa-east-1"),
    ("AWS GovCloud (US-East)", "us-gov-east-1"),
    ("AWS GovCloud (US-West)", "us-gov-west-1"),
    ("AWS GovCloud (US)", "us-gov-west-1"),
    ("China (Beijing)", "cn-north-1"),
    ("China (Ningxia)", "cn-northwest-1"),
];

/// The region code for `region`: itself when it already is one (`us-east-1`), the code of a
/// known display name (`Asia Pacific (Tokyo)`), else `None` (then no console link is shown).
pub fn region_code(region: &str) -> Option<String> {
    let r = region.trim();
    if is_region_code(r) {
        return Some(r.to_owned());
    }
    REGION_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(r))
        .map(|(_, code)| (*code).to_owned())
}

fn is_region_code(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 5
        && parts[0].len() >= 2
        && parts[0].len() <= 4
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|d| !d.is_empty() && d.len() <= 2 && d.chars().all(|c| c.is_ascii_digit()))
}

/// The console host for a region (China and GovCloud have their own partitions).
fn console_host(code: &str) -> String {
    if code.starts_with("cn-") {
        format!("{code}.console.amazonaws.cn")
    } else if code.starts_with("us-gov-") {
        format!("{code}.console.amazonaws-us-gov.com")
    } else {
        format!("{code}.console.aws.amazon.com")
    }
}

/// The CloudWatch console page of an alarm.
pub fn alarm_url(region_code: &str, alarm_name: &str) -> String {
    format!(
        "https://{}/cloudwatch/home?region={region_code}#alarmsV2:alarm/{}",
        console_host(region_code),
        url_encode(alarm_name)
    )
}

/// The Systems Manager console page of a Run Command command.
pub fn command_url(region_code: &str, command_id: &str) -> String {
    format!(
        "https://{}/systems-manager/run-command/{}?region={region_code}",
        console_host(region_code),
        url_encode(command_id)
    )
}

/// SSM command ids are UUIDs; anything else is shown, never linked.
fn is_command_id(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Percent-encodes everything but RFC 3986 unreserved characters (like `encodeURIComponent`,
/// and stricter), so the result cannot break out of a `<url|label>` link.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(region_code("us-east-1").as_deref(), Some("us-east-1"));
        assert_eq!(
            region_code("us-gov-west-1").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(
            region_code("Asia Pacific (Tokyo)").as_deref(),
            Some("ap-northeast-1")
        );
        assert_eq!(
            region_code("us east (n. virginia)").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(region_code("Atlantis (Central)"), None);
        assert_eq!(region_code("us-east-1a"), None);
        assert_eq!(region_code("x"), None);
        assert_eq!(region_code("https://evil|x"), None);
    }

    #[test]
    fn links() {
        assert_eq!(
            alarm_url("us-east-1", "web:disk full/1"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/web%3Adisk%20full%2F1"
        );
        assert_eq!(
            command_url("eu-west-1", "0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a"),
            "https://eu-west-1.console.aws.amazon.com/systems-manager/run-command/0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a?region=eu-west-1"
        );
        assert!(
            alarm_url("cn-north-1", "a").starts_with("https://cn-north-1.console.amazonaws.cn/")
        );
        assert_eq!(url_encode("a|b>c"), "a%7Cb%3Ec");
    }

    #[test]
    fn owners() {
        assert_eq!(owner_mention("@web-oncall"), "@web-oncall");
        assert_eq!(owner_mention("S0123ABC"), "<!subteam^S0123ABC>");
        assert_eq!(
            owner_mention("<!subteam^S0123ABC|@web>"),
            "<!subteam^S0123ABC>"
        );
        assert_eq!(owner_mention("<@U0123ABC>, @ops"), "<@U0123ABC> @ops");
        assert_eq!(owner_mention("<!channel>"), "&lt;!channel&gt;");
        assert_eq!(owner_mention("@here"), "@\u{2060}here");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 5 s");
        assert_eq!(duration(3_720_000), "1 h 2 min");
        assert_eq!(duration(-5), "0 ms");
    }
}
