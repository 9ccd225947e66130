//! SNS adapters: [`SnsEscalator`] (the [`Escalator`] port, pages a human through the escalation
//! topic) and [`ChatbotSink`] (the [`Chat`] port as AWS Chatbot / Amazon Q Developer custom
//! notifications on an SNS topic).
//!
//! Neither ever fails outward: a publish error is logged with `tracing::warn!` and swallowed.

use async_trait::async_trait;
use selfheal_service::ports::{Announcement, AnnouncementKind, Chat, Escalator};
use serde_json::json;

use crate::text::{clip_chars, prefix_chars};

/// SNS `Subject`: ASCII, no line breaks or control characters, under 100 characters.
pub const SUBJECT_MAX_CHARS: usize = 99;
/// Conservative limits for the Chatbot custom notification fields.
pub const CHAT_TITLE_MAX_CHARS: usize = 250;
pub const CHAT_DESCRIPTION_MAX_CHARS: usize = 8000;

/// Publishes escalations (the announcement as JSON) to the escalation topic.
#[derive(Debug, Clone)]
pub struct SnsEscalator {
    client: aws_sdk_sns::Client,
    topic_arn: Option<String>,
}

impl SnsEscalator {
    /// `topic_arn`: `SELFHEAL_ESCALATION_TOPIC_ARN`. With `None`, escalations are only logged
    /// (as warnings, so they are never silent).
    pub fn new(client: aws_sdk_sns::Client, topic_arn: Option<String>) -> Self {
        Self { client, topic_arn }
    }
}

/// `selfheal escalation: <key, alarm name or identity>`, made safe for SNS.
pub fn escalation_subject(a: &Announcement) -> String {
    let what = a
        .key
        .as_deref()
        .or(a.alarm_name.as_deref())
        .unwrap_or(a.identity.as_str());
    sns_subject(&format!("selfheal escalation: {what}"))
}

/// Replaces anything but printable ASCII with `?` and cuts to [`SUBJECT_MAX_CHARS`].
pub fn sns_subject(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    prefix_chars(cleaned.trim(), SUBJECT_MAX_CHARS).to_owned()
}

#[async_trait]
impl Escalator for SnsEscalator {
    async fn escalate(&self, a: &Announcement) {
        let subject = escalation_subject(a);
        let Some(topic) = &self.topic_arn else {
            tracing::warn!(%subject, identity = %a.identity, "escalation (no escalation topic configured)");
            return;
        };
        let body = match serde_json::to_string(&redacted(a)) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(error = %e, %subject, "escalation not serialisable");
                return;
            }
        };
        if let Err(e) = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(&subject)
            .message(body)
            .send()
            .await
        {
            let err = crate::error::port_error("sns:Publish", &e);
            tracing::warn!(error = %err, %subject, "escalation publish failed");
        }
    }
}

/// Posts announcements to an SNS topic subscribed by AWS Chatbot (custom notification format).
#[derive(Debug, Clone)]
pub struct ChatbotSink {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl ChatbotSink {
    /// `topic_arn`: `SELFHEAL_CHAT_TOPIC_ARN`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl Chat for ChatbotSink {
    async fn announce(&self, a: &Announcement) {
        let body = chatbot_message(a).to_string();
        if let Err(e) = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .send()
            .await
        {
            let err = crate::error::port_error("sns:Publish", &e);
            tracing::warn!(error = %err, identity = %a.identity, "chat publish failed");
        }
    }
}

/// The AWS Chatbot custom notification for `a`:
/// `{"version":"1.0","source":"custom","content":{"textType":"client-markdown","title","description"},"metadata":{…}}`.
pub fn chatbot_message(a: &Announcement) -> serde_json::Value {
    let title = clip_chars(&chat_title(a), CHAT_TITLE_MAX_CHARS);
    json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": clip_chars(&chat_description(a), CHAT_DESCRIPTION_MAX_CHARS),
        },
        "metadata": {
            // Start and result of one alert share a thread.
            "threadId": format!("selfheal-{:016x}", fnv1a64(a.identity.as_bytes())),
            "summary": title,
            "eventType": match a.kind {
                AnnouncementKind::Start => "selfheal-start",
                AnnouncementKind::Result => "selfheal-result",
            },
        }
    })
}

fn chat_title(a: &Announcement) -> String {
    let what = a
        .key
        .as_deref()
        .or(a.alarm_name.as_deref())
        .unwrap_or("alert");
    let target = a
        .instance
        .as_deref()
        .map(|i| format!(" on {i}"))
        .unwrap_or_default();
    let head = match (a.kind, a.dry_run) {
        (AnnouncementKind::Start, true) => ":mag: selfheal dry-run".to_owned(),
        (AnnouncementKind::Start, false) => ":hammer_and_wrench: selfheal starting".to_owned(),
        (AnnouncementKind::Result, _) => {
            let outcome = a.outcome.as_deref().unwrap_or("finished");
            let icon = match outcome {
                "healed" => ":white_check_mark:",
                "recovered" | "dry-run" | "duplicate" | "ignored" => ":information_source:",
                _ => ":warning:",
            };
            format!("{icon} selfheal {outcome}")
        }
    };
    format!("{head}: {}{target}", one_line(what))
}

fn chat_description(a: &Announcement) -> String {
    let mut lines = Vec::new();
    if let Some(d) = &a.description {
        lines.push(one_line(d));
    }
    if !a.detail.is_empty() {
        lines.push(one_line(&a.detail));
    }
    let mut facts = Vec::new();
    if let Some(r) = &a.runbook {
        facts.push(format!("runbook `{}`", one_line(r)));
    }
    if let Some(r) = &a.role {
        facts.push(format!("role `{}`", one_line(r)));
    }
    if a.max_attempts > 0 {
        facts.push(format!("attempt {}/{}", a.attempt, a.max_attempts));
    }
    if let Some(ms) = a.duration_ms {
        facts.push(format!("{:.1} s", ms as f64 / 1000.0));
    }
    if let (Some(region), Some(account)) = (&a.region, &a.account) {
        facts.push(format!("{} / {}", one_line(account), one_line(region)));
    }
    if let Some(o) = &a.owner {
        facts.push(format!("owner {}", one_line(o)));
    }
    if !facts.is_empty() {
        lines.push(facts.join(" · "));
    }
    if let Some(reason) = &a.alarm_reason {
        lines.push(format!("*Alarm:* {}", one_line(reason)));
    }
    if let Some(phase) = &a.failed_phase {
        let code = a
            .exit_code
            .map(|c| format!(" (exit {c})"))
            .unwrap_or_default();
        lines.push(format!("*Failed phase:* {}{code}", one_line(phase)));
    }
    if !a.commands.is_empty() {
        let label = if a.dry_run {
            "*Would run:*"
        } else {
            "*Commands:*"
        };
        lines.push(format!(
            "{label}\n```\n{}\n```",
            fence_safe(&a.commands.join("\n"))
        ));
    }
    if let Some(tail) = a.output_tail.as_deref().filter(|t| !t.is_empty()) {
        lines.push(format!("*Output (tail):*\n```\n{}\n```", fence_safe(tail)));
    }
    if !a.command_ids.is_empty() {
        lines.push(format!("SSM command ids: {}", a.command_ids.join(", ")));
    }
    lines.join("\n")
}

/// Collapses line breaks so untrusted text cannot forge structure (and makes it safe, see
/// [`chat_safe`]).
fn one_line(s: &str) -> String {
    chat_safe(s)
        .split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps untrusted text inside a code block.
fn fence_safe(s: &str) -> String {
    chat_safe(s).replace("```", "'''")
}

/// Untrusted text for a chat client we do not control the rendering of (Slack, Teams, Chime
/// through AWS Chatbot): ANSI escapes and control characters removed, secrets redacted, and
/// mention or link markup (`<!channel>`, `<@U…>`, `<https://…|…>`, bare `@here`) defused with an
/// invisible word joiner, so the text still reads the same but cannot ping or forge a link.
pub fn chat_safe(s: &str) -> String {
    use crate::slack::sanitize::{defuse_mentions, redact, strip_control};
    defuse_mentions(&redact(&strip_control(s))).replace('<', "<\u{2060}")
}

/// The announcement with its free text made safe to forward (escalation topic → pager): control
/// characters stripped and secrets redacted in every text field.
pub fn redacted(a: &Announcement) -> Announcement {
    use crate::slack::sanitize::{redact, strip_control};
    let clean = |s: &str| redact(&strip_control(s));
    let opt = |s: &Option<String>| s.as_deref().map(clean);
    Announcement {
        identity: clean(&a.identity),
        description: opt(&a.description),
        alarm_name: opt(&a.alarm_name),
        alarm_reason: opt(&a.alarm_reason),
        detail: clean(&a.detail),
        output_tail: opt(&a.output_tail),
        commands: a.commands.iter().map(|c| clean(c)).collect(),
        approval: None,
        thread: None,
        ..a.clone()
    }
}

/// FNV-1a, 64 bit: a short stable thread id (not security relevant).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn announcement() -> Announcement {
        Announcement {
            kind: AnnouncementKind::Result,
            identity: "id-1".to_owned(),
            key: Some("web:disk_full".to_owned()),
            runbook: Some("*:disk_full".to_owned()),
            description: Some("clean tmp".to_owned()),
            owner: None,
            instance: Some("i-0123abcd".to_owned()),
            role: Some("web".to_owned()),
            region: Some("us-east-1".to_owned()),
            account: Some("123456789012".to_owned()),
            alarm_name: Some("web:disk_full".to_owned()),
            alarm_reason: Some("Threshold crossed\nsecond line".to_owned()),
            attempt: 3,
            max_attempts: 3,
            dry_run: false,
            outcome: Some("budget-exhausted".to_owned()),
            detail: "needs review".to_owned(),
            duration_ms: None,
            failed_phase: None,
            exit_code: None,
            output_tail: Some("x ``` y".to_owned()),
            command_ids: vec![],
            commands: vec![],
            approval: None,
            thread: None,
        }
    }

    #[test]
    fn subject_is_safe() {
        let mut a = announcement();
        assert_eq!(escalation_subject(&a), "selfheal escalation: web:disk_full");
        a.key = Some(format!("röle:{}\nx", "a".repeat(200)));
        let s = escalation_subject(&a);
        assert!(
            s.len() <= SUBJECT_MAX_CHARS && s.is_ascii() && !s.contains('\n'),
            "{s}"
        );
        assert!(s.starts_with("selfheal escalation: r?le:"));
        a.key = None;
        a.alarm_name = None;
        assert_eq!(escalation_subject(&a), "selfheal escalation: id-1");
    }

    #[test]
    fn chatbot_format() {
        let m = chatbot_message(&announcement());
        assert_eq!(m["version"], "1.0");
        assert_eq!(m["source"], "custom");
        assert_eq!(m["content"]["textType"], "client-markdown");
        let title = m["content"]["title"].as_str().unwrap_or_default();
        assert!(
            title.contains("budget-exhausted") && title.contains("i-0123abcd"),
            "{title}"
        );
        let d = m["content"]["description"].as_str().unwrap_or_default();
        assert!(d.contains("Threshold crossed second line"), "{d}");
        assert!(d.contains("attempt 3/3"), "{d}");
        assert!(d.contains("x ''' y"), "{d}");
        assert!(m["metadata"]["threadId"]
            .as_str()
            .is_some_and(|t| t.starts_with("selfheal-")));
    }

    #[test]
    fn chatbot_text_cannot_ping_leak_or_escape() {
        let mut a = announcement();
        a.alarm_reason = Some("\u{1b}[31m<!channel> @here <https://evil|click>".to_owned());
        a.output_tail =
            Some("password=hunter2 xoxb-1-2-abc https://hooks.slack.com/services/T/B/X".to_owned());
        a.description = Some("<@U0123ABCD> AKIAIOSFODNN7EXAMPLE".to_owned());
        let m = chatbot_message(&a).to_string();
        for bad in [
            "<!channel>",
            "<https://evil",
            "<@U0123",
            "@here",
            "\\u001b",
            "hunter2",
            "xoxb-1",
            "hooks.slack.com",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(!m.contains(bad), "{bad} in {m}");
        }
        assert!(m.contains("channel>"), "the text still reads the same: {m}");
        let r = redacted(&a);
        let json = serde_json::to_string(&r).unwrap_or_default();
        for bad in [
            "hunter2",
            "xoxb-1",
            "hooks.slack.com",
            "AKIAIOSFODNN7EXAMPLE",
            "\\u001b",
        ] {
            assert!(!json.contains(bad), "{bad} in {json}");
        }
        assert_eq!(r.key, a.key);
    }
}
