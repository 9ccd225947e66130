//! The Slack user-group directory (placeholder; filled in by the Slack work).
