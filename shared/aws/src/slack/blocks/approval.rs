//! The Block Kit `actions` block of an approval request: the Run (primary, with a confirmation
//! dialog) and Skip buttons, both carrying the request's [`ButtonValue`]. The engine's
//! `awaiting-approval` announcement appends it; the replies to a press remove it again by its
//! [`ACTIONS_BLOCK_ID`] (`slack::replies`). What a press means is `selfheal_core::approval`.

use selfheal_core::approval::{ApprovalError, ButtonValue, ACTION_RUN, ACTION_SKIP};
use serde_json::{json, Value};

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
