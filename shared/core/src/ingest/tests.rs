use super::*;
use crate::alert::{AlarmState, Source};

const SQS_BATCH: &str = include_str!("../../../../tests/fixtures/sqs-batch.json");
const SNS_ENVELOPE: &str = include_str!("../../../../tests/fixtures/sns-envelope.json");
const CLOUDWATCH: &str = include_str!("../../../../tests/fixtures/cloudwatch-alarm.json");
const EVENTBRIDGE: &str = include_str!("../../../../tests/fixtures/eventbridge-alarm.json");
const GENERIC: &str = include_str!("../../../../tests/fixtures/generic-alert.json");

fn one(text: &str) -> Alert {
    let mut all = parse_document(text);
    assert_eq!(all.len(), 1);
    all.remove(0).item.expect("valid alert")
}

#[test]
fn sqs_batch_yields_four_records_in_order() {
    let recs = parse_document(SQS_BATCH);
    assert_eq!(recs.len(), 4);
    let a = recs[0].item.as_ref().expect("wrapped alarm");
    assert_eq!(a.source, Source::Cloudwatch);
    assert_eq!(a.role.as_deref(), Some("api"));
    assert_eq!(a.alert, "nginx_down");
    assert_eq!(a.instance_ids[0].as_str(), "i-0c51f9f1213e63159");
    assert_eq!(
        recs[0].meta.sns_message_id.as_deref(),
        Some("5d8a2f0e-8c51-5b7e-a3a4-2b1f0f6c9e11")
    );
    let raw = recs[1].item.as_ref().expect("raw alarm");
    assert_eq!(
        raw.identity, a.identity,
        "raw and wrapped copies share one identity"
    );
    assert_eq!(recs[2].item.as_ref().expect("ok").state, AlarmState::Ok);
    let bad = recs[3].item.as_ref().expect_err("not json");
    assert!(bad.reason.contains("not valid JSON"), "{}", bad.reason);
    assert_eq!(
        recs[3].meta.sqs_message_id.as_deref(),
        Some("0b5f3c2e-7a1d-4c1e-9f0a-000000000004")
    );
}

#[test]
fn envelope_and_bare_alarm_agree() {
    let a = one(SNS_ENVELOPE);
    let b = one(CLOUDWATCH);
    assert_eq!(a, b);
    assert_eq!(
        a.identity,
        "alarm|arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:api:nginx_down|2026-11-23T03:03:12.214+0000|i-0c51f9f1213e63159"
    );
    assert_eq!(a.alarm_name.as_deref(), Some("api:nginx_down"));
    assert!(!a.composite);
}

#[test]
fn eventbridge_event() {
    let a = one(EVENTBRIDGE);
    assert_eq!(a.source, Source::Eventbridge);
    assert_eq!(a.role, None);
    assert_eq!(a.alert, "disk_full");
    assert_eq!(a.instance_ids[0].as_str(), "i-0a9e3f1d2c3b4a596");
    assert_eq!(a.region.as_deref(), Some("ap-northeast-1"));
}

#[test]
fn generic_alert() {
    let a = one(GENERIC);
    assert_eq!(a.source, Source::Generic);
    assert_eq!(a.role.as_deref(), Some("batch"));
    assert_eq!(a.state, AlarmState::Alarm);
    assert_eq!(
        a.reason.as_deref(),
        Some("queue consumer made no progress for 15 minutes")
    );
}

#[test]
fn generic_identity_prefers_id_then_sns_then_sqs() {
    let with_id = parse_body(
        r#"{"id":"abc","alert":"x","instance_id":"i-0123abcd"}"#,
        Some("m1"),
    );
    assert_eq!(with_id.item.expect("ok").identity, "generic|id|abc");
    let wrapped = parse_body(
        r#"{"Type":"Notification","MessageId":"sns-1","Message":"{\"alert\":\"x\",\"instance_id\":\"i-0123abcd\"}"}"#,
        Some("m1"),
    );
    assert_eq!(wrapped.item.expect("ok").identity, "generic|sns|sns-1");
    let raw = parse_body(r#"{"alert":"x","instance_id":"i-0123abcd"}"#, Some("m1"));
    assert_eq!(raw.item.expect("ok").identity, "generic|sqs|m1");
}

#[test]
fn metric_math_alarm_reads_nested_dimensions() {
    let body = r#"{"AlarmName":"web:cpu_hot","NewStateValue":"ALARM","StateChangeTime":"t",
      "Trigger":{"Metrics":[{"Id":"e1","Expression":"m1*2"},
        {"Id":"m1","MetricStat":{"Metric":{"Dimensions":[{"value":"i-0123abcd","name":"InstanceId"}],"MetricName":"CPUUtilization","Namespace":"AWS/EC2"},"Period":60,"Stat":"Average"}}]}}"#;
    let a = parse_body(body, None).item.expect("ok");
    assert_eq!(a.instance_ids.len(), 1);
    assert!(!a.composite);
}

#[test]
fn composite_alarm_has_no_instance() {
    let body = r#"{"AlarmName":"api:site_down","NewStateValue":"ALARM","AlarmRule":"ALARM(a) AND ALARM(b)","AlarmDescription":null}"#;
    let a = parse_body(body, None).item.expect("ok");
    assert!(a.composite);
    assert!(a.instance_ids.is_empty());
}

#[test]
fn direct_sns_lambda_event() {
    let doc = serde_json::json!({"Records":[{"EventSource":"aws:sns","Sns":{"MessageId":"m-9","Message": CLOUDWATCH}}]});
    let recs = parse_document(&doc.to_string());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].meta.sns_message_id.as_deref(), Some("m-9"));
    assert_eq!(recs[0].item.as_ref().expect("ok").alert, "nginx_down");
}

#[test]
fn lambda_alarm_action_payload() {
    let body = r#"{"source":"aws.cloudwatch","alarmArn":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:db:replica_lag","accountId":"111122223333","time":"2026-11-23T03:00:00.000+0000","region":"us-east-1",
      "alarmData":{"alarmName":"db:replica_lag","state":{"value":"ALARM","reason":"r","timestamp":"2026-11-23T03:00:00.000+0000"},
      "configuration":{"metrics":[{"id":"m","metricStat":{"metric":{"namespace":"x","name":"y","dimensions":{"InstanceId":"i-0123abcd"}}}}]}}}"#;
    let a = parse_body(body, None).item.expect("ok");
    assert_eq!(a.source, Source::Cloudwatch);
    assert_eq!(a.role.as_deref(), Some("db"));
    assert_eq!(a.account.as_deref(), Some("111122223333"));
    assert_eq!(a.instance_ids[0].as_str(), "i-0123abcd");
}

#[test]
fn bad_instance_id_is_invalid_but_keeps_what_was_read() {
    let r = parse_body(
        r#"{"role":"web","alert":"x","instance_id":"i-0123abcd; rm -rf /"}"#,
        None,
    );
    let bad = r.item.expect_err("invalid");
    assert!(bad.reason.contains("instance id"), "{}", bad.reason);
    assert_eq!(bad.role.as_deref(), Some("web"));
    assert_eq!(bad.alert.as_deref(), Some("x"));
    assert_eq!(bad.source, Some(Source::Generic));
}

#[test]
fn hostile_bodies_are_invalid_not_panics() {
    let deep = "[".repeat(10_000);
    let huge = format!("{{\"alert\":\"{}\"}}", "a".repeat(300 * 1024));
    for body in [
        "",
        "null",
        "[]",
        "42",
        "{}",
        deep.as_str(),
        huge.as_str(),
        r#"{"alert":"x","alert":"y"}"#,
        r#"{"alert":"bad name; reboot"}"#,
        r#"{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}"#,
        r#"{"AlarmName":"","NewStateValue":"ALARM"}"#,
        r#"{"AlarmName":"a:b","NewStateValue":"PANIC"}"#,
    ] {
        let r = parse_body(body, Some("m"));
        assert!(r.item.is_err(), "{body:.60} accepted");
    }
}

#[test]
fn alarm_names_may_carry_a_per_instance_suffix() {
    assert_eq!(
        split_alarm_name("api:nginx_down"),
        (Some("api".into()), "nginx_down".into())
    );
    assert_eq!(
        split_alarm_name("api:nginx_down:i-0123abcd"),
        (Some("api".into()), "nginx_down".into())
    );
    assert_eq!(split_alarm_name("disk_full"), (None, "disk_full".into()));
    assert_eq!(split_alarm_name("my alarm:x"), (None, "my alarm:x".into()));
    assert_eq!(split_alarm_name(":x"), (None, ":x".into()));
}
