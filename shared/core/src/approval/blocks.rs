//! What selfheal shows in Slack: the Block Kit actions block with the Run and Skip buttons, and
//! the replies that answer a press (replacing the message, or ephemeral to the presser).

use serde_json::{json, Value};

use super::{ApprovalError, ApprovalRecord, ButtonValue, Decision, ACTION_RUN, ACTION_SKIP};

/// `block_id` of the actions block holding both buttons (removed when the message is replaced).
pub const ACTIONS_BLOCK_ID: &str = "selfheal_approval";

/// The Block Kit `actions` block with the Run (primary, with a confirmation dialog) and Skip
/// buttons, both carrying `value`. The engine's announcement appends it to an
/// `awaiting-approval` message.
pub fn actions_block(value: &ButtonValue) -> Result<Value, ApprovalError> {
    let encoded = value.encode()?;
    let text = |t: &str| json!({"type": "plain_text", "text": t});
    Ok(json!({
        "type": "actions",
        "block_id": ACTIONS_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_RUN,
                "style": "primary",
                "text": text("Run"),
                "value": encoded,
                "confirm": {
                    "title": text("Run the runbook?"),
                    "text": {"type": "mrkdwn", "text": "selfheal will run the runbook's commands on this one instance. Every guard still applies (kill switch, live alarm, budget, capacity, tag check)."},
                    "confirm": text("Run"),
                    "deny": text("Cancel"),
                },
            },
            {
                "type": "button",
                "action_id": ACTION_SKIP,
                "text": text("Skip"),
                "value": encoded,
            },
        ],
    }))
}

// ---------------------------------------------------------------------------------------------
// Replies to Slack

/// "Approved by <@U…> — running" / "Skipped by <@U…> — nothing will run".
pub fn decision_text(decision: Decision, user_id: &str) -> String {
    match decision {
        Decision::Run => format!(":white_check_mark: Approved by <@{user_id}> — running"),
        Decision::Skip => format!(":fast_forward: Skipped by <@{user_id}> — nothing will run"),
    }
}

/// The friendly answer to a later press: "Already approved by <@U…>".
pub fn already_decided_text(record: &ApprovalRecord) -> String {
    format!(
        "Already {} by <@{}> — nothing more to do.",
        record.decision.past_tense(),
        record.user_id
    )
}

/// The message that replaces the original (`replace_original: true`): its blocks without the
/// approval buttons, plus a context line with `text`; only `text` when Slack sent no blocks.
pub fn replacement_message(original_blocks: Option<&[Value]>, text: &str) -> Value {
    let mut blocks: Vec<Value> = original_blocks
        .unwrap_or_default()
        .iter()
        .filter(|b| b.get("block_id").and_then(Value::as_str) != Some(ACTIONS_BLOCK_ID))
        .cloned()
        .collect();
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}));
    json!({
        "replace_original": true,
        "response_type": "in_channel",
        "text": text,
        "blocks": blocks,
    })
}

/// A message only the presser sees, leaving the original alone.
pub fn ephemeral_message(text: &str) -> Value {
    json!({
        "replace_original": false,
        "response_type": "ephemeral",
        "text": text,
    })
}

/// The ephemeral text explaining a refusal to the presser (only for authenticated requests).
pub fn refusal_text(err: &ApprovalError) -> String {
    match err {
        ApprovalError::NotAllowed { key, .. } => format!(
            ":no_entry: You are not allowed to approve `{key}`: ask one of the runbook's approvers."
        ),
        ApprovalError::NotApprovable { key } => {
            format!(":no_entry: `{key}` is no longer in mode approve: nothing to approve.")
        }
        ApprovalError::Expired { .. } => {
            ":alarm_clock: This approval request expired — nothing was run.".to_owned()
        }
        other => format!(
            ":warning: This request could not be handled ({}).",
            other.code()
        ),
    }
}
