//! The AWS Chatbot custom-notification message and the escalation message, published to real
//! (moto) SNS topics and read back from SQS queues subscribed to them.

mod support;
use selfheal_aws::{ChatbotSink, SnsEscalator, SqsQueue};
use selfheal_service::ports::{Announcement, AnnouncementKind, Chat, Escalator};
use support::*;

fn announcement() -> Announcement {
    Announcement {
        kind: AnnouncementKind::Result,
        identity: "alarm|arn|t|i-0123abcd".into(),
        key: Some("api:nginx_down".into()),
        runbook: Some("api:nginx_down".into()),
        description: Some("nginx stopped answering".into()),
        owner: Some("@web-oncall".into()),
        instance: Some("i-0123abcd".into()),
        role: Some("api".into()),
        region: Some("us-east-1".into()),
        account: Some("123456789012".into()),
        alarm_name: Some("api:nginx_down".into()),
        alarm_reason: Some("<!channel> Threshold Crossed".into()),
        attempt: 1,
        max_attempts: 3,
        dry_run: false,
        outcome: Some("failed".into()),
        detail: "verify exited 3".into(),
        duration_ms: Some(4200),
        failed_phase: Some("verify".into()),
        exit_code: Some(3),
        output_tail: Some("token=xoxb-123-456-secret".into()),
        command_ids: vec!["cmd-1".into()],
        commands: vec![],
        approval: None,
        thread: None,
    }
}

/// The SNS envelope's `Message` of the single message on `queue`.
async fn read_one(c: &selfheal_aws::AwsClients, queue: &str) -> serde_json::Value {
    let q = SqsQueue::new(c.sqs.clone(), queue);
    let msgs = q.receive(10, 1, None).await.expect("receive");
    assert_eq!(msgs.len(), 1, "exactly one message");
    let envelope: serde_json::Value = serde_json::from_str(&msgs[0].body).expect("SNS envelope");
    serde_json::from_str(envelope["Message"].as_str().expect("Message")).expect("JSON message")
}

#[tokio::test(flavor = "multi_thread")]
async fn chatbot_and_escalation_messages_through_sns() {
    let Some(moto) = start_moto("chatbot_and_escalation_messages_through_sns") else {
        return;
    };
    let c = clients(&moto.url).await;
    let (chat_topic, chat_queue) = topic_and_queue(&c, &unique("chat")).await;
    let (esc_topic, esc_queue) = topic_and_queue(&c, &unique("esc")).await;

    ChatbotSink::new(c.sns.clone(), chat_topic)
        .announce(&announcement())
        .await;
    let m = read_one(&c, &chat_queue).await;
    assert_eq!(m["version"], "1.0");
    assert_eq!(m["source"], "custom");
    let text = format!("{}{}", m["content"]["title"], m["content"]["description"]);
    assert!(text.contains("api:nginx_down"), "{text}");
    assert!(!text.contains("<!channel>"), "mentions are defused: {text}");
    assert!(
        !text.contains("xoxb-123-456-secret"),
        "secrets redacted: {text}"
    );

    SnsEscalator::new(c.sns.clone(), Some(esc_topic))
        .escalate(&announcement())
        .await;
    let e = read_one(&c, &esc_queue).await;
    assert_eq!(e["outcome"], "failed");
    assert_eq!(e["owner"], "@web-oncall");
    assert!(!e.to_string().contains("xoxb-123-456-secret"));
}
