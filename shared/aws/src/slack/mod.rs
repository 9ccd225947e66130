//! Slack: Block Kit messages ([`blocks`]) and two [`Chat`] sinks — an incoming webhook
//! ([`SlackWebhookSink`]) and a bot token posting threads ([`SlackBotSink`]) — built from the
//! settings by [`chat_sinks`]; for the `slack-approvals` function, the user-group lookup
//! ([`directory`]) and the replies to a Run / Skip press ([`replies`]). All of them, and the
//! weekly report's webhook, share one HTTP client and one retrying call ([`delivery`]).
//!
//! Both sinks isolate their failures: a 429 waits for its `Retry-After` only within the
//! announcement's deadline, 5xx answers and timeouts are retried a bounded number of times, and
//! after that the failure is logged (never the URL or token), counted ([`SlackWebhookSink::failures`],
//! a `ChatFailures` CloudWatch embedded metric) and swallowed: the remediation goes on.
//! Secrets are held in [`Secret`], whose `Debug` and `Display` print `<redacted>`.
//!
//! The AWS Chatbot sink over SNS is [`crate::ChatbotSink`]; the wiring adds it.

pub mod blocks;
pub mod bot;
pub mod delivery;
pub mod directory;
pub mod replies;
pub mod sanitize;
pub mod webhook;

use std::sync::Arc;

use selfheal_service::ports::Chat;

pub use blocks::{render, render_start_update, SlackMessage};
pub use bot::SlackBotSink;
pub use delivery::{emf_line, http_client, DeliveryError, RetryPolicy, Secret, SlackOptions};
pub use directory::SlackDirectory;
pub use replies::{HttpResponder, SlackAnswer, SlackResponder};
pub use webhook::SlackWebhookSink;

/// Builds the Slack sinks the settings configure, with default timing ([`SlackOptions`]):
///
/// - a webhook sink when `SELFHEAL_SLACK_WEBHOOK_URL` is set, or else
///   `SELFHEAL_SLACK_WEBHOOK_PARAM` names an SSM SecureString holding the URL (read once, here);
/// - a bot sink when `SELFHEAL_SLACK_TOKEN_PARAM` names an SSM SecureString holding the token,
///   posting to `SELFHEAL_SLACK_CHANNEL` through `SELFHEAL_SLACK_API_URL`.
///
/// No sink is configured → an empty list. A configured secret that cannot be read is an error
/// (naming the parameter, never its value): the caller decides whether to run without chat.
pub async fn chat_sinks(
    settings: &crate::Settings,
    clients: &crate::AwsClients,
) -> Result<Vec<Arc<dyn Chat>>, String> {
    chat_sinks_with(settings, clients, SlackOptions::default()).await
}

/// [`chat_sinks`] with explicit timing.
pub async fn chat_sinks_with(
    settings: &crate::Settings,
    clients: &crate::AwsClients,
    options: SlackOptions,
) -> Result<Vec<Arc<dyn Chat>>, String> {
    let webhook_configured =
        settings.slack_webhook_url.is_some() || settings.slack_webhook_param.is_some();
    let bot_configured = settings.slack_token_param.is_some();
    if !webhook_configured && !bot_configured {
        return Ok(Vec::new());
    }
    let http = http_client()?;
    let mut sinks: Vec<Arc<dyn Chat>> = Vec::new();

    let webhook_url = match (&settings.slack_webhook_url, &settings.slack_webhook_param) {
        (Some(url), _) => Some(Secret::new(url.trim())),
        (None, Some(param)) => Some(read_secure_param(&clients.ssm, param).await?),
        (None, None) => None,
    };
    if let Some(url) = webhook_url {
        if !is_http_url(url.expose()) {
            return Err("the Slack webhook URL is not an http(s) URL (value not shown)".to_owned());
        }
        sinks.push(Arc::new(SlackWebhookSink::new(http.clone(), url, options)));
    }

    if let Some(param) = &settings.slack_token_param {
        let channel = settings.slack_channel.clone().ok_or_else(|| {
            "SELFHEAL_SLACK_TOKEN_PARAM is set but SELFHEAL_SLACK_CHANNEL is not".to_owned()
        })?;
        let token = read_secure_param(&clients.ssm, param).await?;
        sinks.push(Arc::new(SlackBotSink::new(
            http,
            settings.slack_api_url.clone(),
            token,
            channel,
            options,
        )));
    }
    Ok(sinks)
}

/// Reads an SSM SecureString (decrypted). Errors name the parameter, never the value.
pub async fn read_secure_param(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Secret, String> {
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            format!(
                "the Slack secret in SSM parameter {name:?} could not be read: {}",
                crate::error::port_error("ssm:GetParameter", &e)
            )
        })?;
    let value = out
        .parameter
        .and_then(|p| p.value)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("SSM parameter {name:?} holds no value"))?;
    Ok(Secret::new(value))
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}
