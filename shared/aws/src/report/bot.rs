//! The report's Slack bot poster ([`BotPoster`], the [`ReportPoster`] port): the same message
//! a webhook gets, sent with `chat.postMessage` to the configured channel, for installs that
//! have a bot token and no incoming webhook (before, such an install silently sent no report).
//!
//! Same client, retry policy and failure rules as [`super::webhook`]; Slack's `{"ok": false}`
//! answers are judged as the announcements' bot sink judges them (rate limits and Slack's own
//! failures retried, anything else fails the run). The token is a secret: never logged.

use async_trait::async_trait;
use selfheal_service::report::ReportPoster;

use super::webhook::report_retry_policy;
use crate::slack::bot::judge_api;
use crate::slack::delivery::post;
use crate::slack::Secret;

/// [`ReportPoster`] over the Slack Web API with a bot token.
#[derive(Debug, Clone)]
pub struct BotPoster {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    channel: String,
}

impl BotPoster {
    /// `api_url`: the Web API base (`SELFHEAL_SLACK_API_URL`); `channel`: where the report goes
    /// (`SELFHEAL_SLACK_CHANNEL`).
    pub fn new(http: reqwest::Client, api_url: &str, token: Secret, channel: &str) -> Self {
        Self {
            http,
            api_url: api_url.trim_end_matches('/').to_owned(),
            token,
            channel: channel.to_owned(),
        }
    }
}

#[async_trait]
impl ReportPoster for BotPoster {
    async fn post(&self, payload: &serde_json::Value) -> Result<(), String> {
        let mut message = payload.clone();
        if let Some(fields) = message.as_object_mut() {
            fields.insert("channel".to_owned(), self.channel.clone().into());
        }
        post(
            &self.http,
            &report_retry_policy(),
            &format!("{}/chat.postMessage", self.api_url),
            Some(&self.token),
            &message,
            judge_api,
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("Slack chat.postMessage {e}"))
    }
}
