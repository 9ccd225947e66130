//! Poison messages against the real state table (moto): an alert whose identity is longer than
//! DynamoDB allows for a key (2048 bytes for the partition key) must still end in one recorded
//! outcome instead of being retried until it lands in the dead-letter queue.

mod support;
use selfheal_aws::DynamoStateStore;
use support::*;

const RUNBOOKS: &str = r#"{"api:app_down": {"commands": ["systemctl restart app"]}}"#;

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
    )
    .unwrap_or(0)
}

/// Known bug (reported): the claim key is `claim#<identity>` and the identity embeds sender-chosen
/// text (CloudWatch `AlarmArn` + `StateChangeTime`, a generic alert's `id`) without a length
/// bound. DynamoDB refuses keys over 2048 bytes (ValidationException, a permanent error), and
/// `process_record` turns every port error into `Retry`, so the message is redelivered until it
/// lands in the DLQ with no recorded outcome. Nothing runs (fail closed), but the alert has no
/// outcome and each delivery costs a DynamoDB call.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "known bug: an identity over 2 KB is retried until the DLQ instead of being recorded"]
async fn an_identity_too_long_for_a_dynamodb_key_still_ends_in_one_outcome() {
    let test = "an_identity_too_long_for_a_dynamodb_key_still_ends_in_one_outcome";
    let Some(moto) = start_moto(test) else { return };
    let c = clients(&moto.url).await;
    let table = unique("poison");
    create_table(&c, &table).await;
    let (topic, queue) = topic_and_queue(&c, &unique("poison")).await;
    c.ssm
        .put_parameter()
        .name("/selfheal/mode")
        .value("enforce")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("mode");
    let api = run_instance(&moto.url, &[("Role", "api")]);
    alarm(&c, "api:app_down", &api, "ALARM").await;
    let runbooks = write_runbooks(&std::env::temp_dir().join(unique("poison")), RUNBOOKS);
    // A CloudWatch-shaped alert whose StateChangeTime (part of the identity) is 3 000 characters.
    let message = alarm_message("api:app_down", &api, "ALARM", &"9".repeat(3_000));
    c.sns
        .publish()
        .topic_arn(&topic)
        .message(message)
        .send()
        .await
        .expect("published");
    let env = vec![
        ("SELFHEAL_TABLE", table.clone()),
        ("SELFHEAL_MODE_PARAM", "/selfheal/mode".to_owned()),
        ("SELFHEAL_RUNBOOKS", runbooks.display().to_string()),
    ];
    let out = serve_once(&moto.url, &queue, &env);
    eprintln!("{out}");
    let store = DynamoStateStore::new(c.dynamodb.clone(), table.clone());
    let history = store
        .query_history_day(&selfheal_service::day_string(now_ms()))
        .await
        .expect("history");
    assert!(
        out.contains(" deleted"),
        "the message went back to the queue (it will reach the DLQ with no outcome): {out}"
    );
    assert_eq!(history.len(), 1, "{history:?}");
}
