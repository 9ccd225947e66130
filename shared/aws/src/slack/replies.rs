//! Slack replies to a Run/Skip press (placeholder; filled in by the Slack work).
