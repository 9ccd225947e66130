//! Reading Slack's `block_actions` payload: the [`Interaction`], Slack user and user-group ids,
//! and the decoded [`Press`].

use serde_json::Value;

use super::{ApprovalError, ButtonValue, Decision};

/// The parts of a `block_actions` payload the function uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    pub user_id: String,
    /// `user.username`, else `user.name`.
    pub user_name: Option<String>,
    pub team_id: Option<String>,
    pub action_id: String,
    pub value: String,
    /// `actions[0].action_ts`: Slack's time of this press (unique per press).
    pub action_ts: Option<String>,
    /// `container.message_ts`: the Slack message holding the buttons (its post time).
    pub message_ts: String,
    /// `channel.id`, else `container.channel_id`.
    pub channel_id: Option<String>,
    pub response_url: Option<String>,
    /// The original message's blocks, when Slack sent them.
    pub message_blocks: Option<Vec<Value>>,
}

/// Reads the `application/x-www-form-urlencoded` body Slack posts: a `payload` field holding a
/// `block_actions` JSON object with at least one action.
pub fn parse_interaction(body: &[u8]) -> Result<Interaction, ApprovalError> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApprovalError::Malformed("the body has no payload field".to_owned()))?;
    let p: Value = serde_json::from_str(&payload)
        .map_err(|e| ApprovalError::Malformed(format!("the payload is not JSON: {e}")))?;
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "block_actions" {
        return Err(ApprovalError::Malformed(format!(
            "payload type {kind:?} is not block_actions"
        )));
    }
    let text = |ptr: &str| p.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
    let user_id = text("/user/id")
        .ok_or_else(|| ApprovalError::Malformed("the payload has no user.id".to_owned()))?;
    if !is_user_id(&user_id) {
        return Err(ApprovalError::Malformed(
            "user.id is not a Slack user id (U…/W…)".to_owned(),
        ));
    }
    let action = p
        .pointer("/actions/0")
        .ok_or_else(|| ApprovalError::Malformed("the payload has no actions".to_owned()))?;
    let action_id = action
        .get("action_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApprovalError::Malformed("actions[0] has no action_id".to_owned()))?
        .to_owned();
    let value = action
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let message_ts = text("/container/message_ts").ok_or_else(|| {
        ApprovalError::Malformed(
            "the payload has no container.message_ts (not a message button)".to_owned(),
        )
    })?;
    Ok(Interaction {
        user_name: text("/user/username").or_else(|| text("/user/name")),
        team_id: text("/team/id").or_else(|| text("/user/team_id")),
        action_ts: action
            .get("action_ts")
            .and_then(Value::as_str)
            .map(str::to_owned),
        channel_id: text("/channel/id").or_else(|| text("/container/channel_id")),
        response_url: text("/response_url"),
        message_blocks: p
            .pointer("/message/blocks")
            .and_then(Value::as_array)
            .cloned(),
        user_id,
        action_id,
        value,
        message_ts,
    })
}

/// A Slack user id: `U…` or `W…`, upper-case letters and digits.
pub fn is_user_id(s: &str) -> bool {
    slack_id(s, &['U', 'W'])
}

/// A Slack user-group id: `S…`.
pub fn is_group_id(s: &str) -> bool {
    slack_id(s, &['S'])
}

fn slack_id(s: &str, first: &[char]) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && (3..=32).contains(&s.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// One button press: the interaction, the decision and the decoded button value.
#[derive(Debug, Clone, PartialEq)]
pub struct Press {
    pub decision: Decision,
    pub button: ButtonValue,
    pub interaction: Interaction,
}

impl Press {
    /// Identifies this press: the same Slack delivery (a retry or a replay) gives the same id,
    /// two clicks give two ids.
    pub fn press_id(&self) -> String {
        press_id(
            &self.interaction.user_id,
            self.interaction
                .action_ts
                .as_deref()
                .unwrap_or(&self.interaction.message_ts),
        )
    }
}

/// `<user_id>@<action_ts>`.
pub fn press_id(user_id: &str, action_ts: &str) -> String {
    format!("{user_id}@{action_ts}")
}

/// [`parse_interaction`], then the action id (only [`ACTION_RUN`](super::ACTION_RUN) and
/// [`ACTION_SKIP`](super::ACTION_SKIP)) and the button value.
pub fn parse_press(body: &[u8]) -> Result<Press, ApprovalError> {
    let interaction = parse_interaction(body)?;
    let decision = Decision::from_action_id(&interaction.action_id)
        .ok_or_else(|| ApprovalError::UnknownAction(interaction.action_id.clone()))?;
    let button = ButtonValue::decode(&interaction.value)?;
    Ok(Press {
        decision,
        button,
        interaction,
    })
}
