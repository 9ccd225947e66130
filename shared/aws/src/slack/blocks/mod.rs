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
//!
//! Files, by concern (every public item is re-exported here, so `slack::blocks::X` works
//! whichever file holds `X`):
//!
//! - `mod.rs`: the limits, [`SlackMessage`], outcome styles, [`render`] and
//!   [`render_start_update`] (header, fallback text, the block-count limit);
//! - `body.rs`: the sections under the header (what, where, why, commands, output, SSM links);
//! - `mentions.rs`: the owner mention of escalations and approvals;
//! - `links.rs`: region codes and console links;
//! - `approval.rs`: the Run / Skip [`actions_block`] of an approval request;
//! - `tests.rs`: unit tests (snapshots are in `shared/aws/tests/slack_render.rs`).
//!
//! What it is not: the replies to a Run / Skip press (`slack::replies`) or any delivery.

mod approval;
mod body;
pub mod links;
mod mentions;
#[cfg(test)]
mod tests;

use selfheal_service::ports::{Announcement, AnnouncementKind};
use serde::Serialize;
use serde_json::{json, Value};

use super::sanitize::{clean_line, truncate, TRUNCATED};

pub use approval::{actions_block, ACTIONS_BLOCK_ID};
pub use body::duration;
pub use links::{alarm_url, command_url, region_code, url_encode};
pub use mentions::owner_mention;

use body::body_blocks;
use mentions::human_section;

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

pub(super) fn is_dry_run_message(a: &Announcement) -> bool {
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
        match actions_block(value) {
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

pub(super) fn header(text: &str) -> Value {
    json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(text, MAX_HEADER_CHARS), "emoji": true }
    })
}

pub(super) fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate(text, MAX_SECTION_CHARS), "verbatim": true }
    })
}

pub(super) fn context(text: &str) -> Value {
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
pub(super) fn short(s: &str) -> String {
    truncate(&clean_line(s), MAX_VALUE_CHARS)
}
