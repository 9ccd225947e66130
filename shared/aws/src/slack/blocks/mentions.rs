//! The owner mention of announcements that need a human (escalations and approvals): the
//! section right under the header, and [`owner_mention`], which turns the runbook's `owner`
//! into Slack mentions or escaped text. Not the approval buttons (`approval.rs`).

use selfheal_service::ports::Announcement;
use serde_json::{json, Value};

use super::{needs_human, short, MAX_SECTION_CHARS};
use crate::slack::sanitize::truncate;

/// Owner mention for escalations and approvals, right under the header.
pub(super) fn human_section(a: &Announcement) -> Option<Value> {
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
