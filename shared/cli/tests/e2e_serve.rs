//! End to end against a local `moto_server`: SNS → SQS → `selfheal serve --once` → SSM on exactly
//! the one instance, history recorded, message deleted. Every resource is created by the test.

mod support;
use selfheal_aws::DynamoStateStore;
use support::*;

const RUNBOOKS: &str = r#"{
  "api:nginx_down": {"precheck": ["! pgrep -x nginx"], "commands": ["systemctl restart nginx"], "verify": ["systemctl is-active --quiet nginx"]},
  "web:*": {"mode": "dry-run", "commands": ["echo dry"]}
}"#;

struct World {
    _moto: Moto,
    url: String,
    c: selfheal_aws::AwsClients,
    topic: String,
    queue: String,
    table: String,
    param: String,
    runbooks: std::path::PathBuf,
    nginx: String,
    other: String,
}

async fn world(test: &str) -> Option<World> {
    let moto = start_moto(test)?;
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("selfheal");
    create_table(&c, &table).await;
    let (topic, queue) = topic_and_queue(&c, &unique("alerts")).await;
    let param = "/selfheal/mode".to_owned();
    c.ssm
        .put_parameter()
        .name(&param)
        .value("enforce")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("param");
    let nginx = run_instance(&url, &[("Role", "api")]);
    let other = run_instance(&url, &[("Role", "api")]);
    let runbooks = write_runbooks(&std::env::temp_dir().join(unique("rb")), RUNBOOKS);
    Some(World {
        _moto: moto,
        url,
        c,
        topic,
        queue,
        table,
        param,
        runbooks,
        nginx,
        other,
    })
}

impl World {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SELFHEAL_TABLE", self.table.clone()),
            ("SELFHEAL_MODE_PARAM", self.param.clone()),
            ("SELFHEAL_RUNBOOKS", self.runbooks.display().to_string()),
        ]
    }
    async fn publish(&self, message: String) {
        self.c
            .sns
            .publish()
            .topic_arn(&self.topic)
            .message(message)
            .send()
            .await
            .expect("published");
    }
    async fn commands(&self) -> Vec<aws_sdk_ssm::types::Command> {
        self.c
            .ssm
            .list_commands()
            .send()
            .await
            .expect("list")
            .commands
            .unwrap_or_default()
    }
    async fn queue_depth(&self) -> usize {
        let attrs = self
            .c
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            )
            .send()
            .await
            .expect("attrs")
            .attributes
            .unwrap_or_default();
        attrs
            .values()
            .map(|v| v.parse::<usize>().unwrap_or(0))
            .sum()
    }
    async fn history(&self) -> Vec<selfheal_core::history::HistoryRecord> {
        let store = DynamoStateStore::new(self.c.dynamodb.clone(), self.table.clone());
        let today = selfheal_service::day_string(
            i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0),
            )
            .unwrap_or(0),
        );
        store.query_history_day(&today).await.expect("history")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_through_sns_and_sqs_heals_exactly_one_instance() {
    let Some(w) = world("alarm_through_sns_and_sqs_heals_exactly_one_instance").await else {
        return;
    };
    alarm(&w.c, "api:nginx_down", &w.nginx, "ALARM").await;
    w.publish(alarm_message(
        "api:nginx_down",
        &w.nginx,
        "ALARM",
        "2026-11-23T03:03:12.214+0000",
    ))
    .await;
    let out = serve_once(&w.url, &w.queue, &w.env());
    assert!(out.contains(" healed deleted"), "{out}");

    let commands = w.commands().await;
    assert_eq!(commands.len(), 3, "precheck, commands, verify");
    for cmd in &commands {
        assert_eq!(
            cmd.instance_ids(),
            std::slice::from_ref(&w.nginx),
            "exactly that instance"
        );
        assert!(cmd.targets().is_empty(), "never Targets");
        assert_eq!(cmd.document_name(), Some("AWS-RunShellScript"));
        let id = cmd.command_id().unwrap_or_default();
        let on =
            w.c.ssm
                .get_command_invocation()
                .command_id(id)
                .instance_id(&w.nginx)
                .send()
                .await
                .expect("invocation on that instance");
        assert_eq!(on.status_details(), Some("Success"));
        let elsewhere =
            w.c.ssm
                .get_command_invocation()
                .command_id(id)
                .instance_id(&w.other)
                .send()
                .await;
        assert!(elsewhere.is_err(), "no invocation on {}", w.other);
    }
    let restart = commands
        .iter()
        .find(|c| c.comment().unwrap_or_default().ends_with(" commands"))
        .expect("the commands phase");
    let lines = restart
        .parameters()
        .and_then(|p| p.get("commands"))
        .cloned()
        .unwrap_or_default();
    // Each runbook element runs as one unit through `command eval` (script.rs).
    assert_eq!(
        lines.first().map(String::as_str),
        Some("command eval 'systemctl restart nginx'")
    );
    assert_eq!(
        restart
            .parameters()
            .and_then(|p| p.get("executionTimeout"))
            .cloned(),
        Some(vec!["120".to_owned()])
    );

    let history = w.history().await;
    assert_eq!(history.len(), 1, "{history:?}");
    let h = &history[0];
    assert_eq!(h.outcome, "healed");
    assert_eq!(h.key.as_deref(), Some("api:nginx_down"));
    assert_eq!(h.instance.as_deref(), Some(w.nginx.as_str()));
    assert_eq!(h.command_ids.len(), 3);
    assert!(h.expires_at > 0);
    assert_eq!(w.queue_depth().await, 0, "the message is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn recovered_duplicate_no_runbook_bad_message_and_kill_switch() {
    let Some(w) = world("recovered_duplicate_no_runbook_bad_message_and_kill_switch").await else {
        return;
    };
    // A blip: the alarm is OK again by the time selfheal acts.
    alarm(&w.c, "api:nginx_down", &w.nginx, "OK").await;
    w.publish(alarm_message("api:nginx_down", &w.nginx, "ALARM", "t-blip"))
        .await;
    w.publish(alarm_message("api:unknown", &w.nginx, "ALARM", "t-x"))
        .await;
    w.publish("this is not json".to_owned()).await;
    let out = serve_once(&w.url, &w.queue, &w.env());
    assert!(out.contains(" recovered deleted"), "{out}");
    assert!(out.contains(" no-runbook deleted"), "{out}");
    assert!(out.contains(" invalid deleted"), "{out}");
    assert!(w.commands().await.is_empty());

    // Heal once, then the same transition again is a duplicate.
    alarm(&w.c, "api:nginx_down", &w.nginx, "ALARM").await;
    let msg = alarm_message("api:nginx_down", &w.nginx, "ALARM", "t-real");
    w.publish(msg.clone()).await;
    serve_once(&w.url, &w.queue, &w.env());
    w.publish(msg).await;
    let out = serve_once(&w.url, &w.queue, &w.env());
    assert!(out.contains(" duplicate deleted"), "{out}");
    assert_eq!(w.commands().await.len(), 3);

    // Kill switch.
    w.c.ssm
        .put_parameter()
        .name(&w.param)
        .value("off")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("param");
    w.publish(alarm_message("api:nginx_down", &w.nginx, "ALARM", "t-off"))
        .await;
    let out = serve_once(&w.url, &w.queue, &w.env());
    assert!(out.contains(" killed deleted"), "{out}");
    assert_eq!(
        w.commands().await.len(),
        3,
        "nothing ran with the kill switch off"
    );
    let outcomes: Vec<String> = w.history().await.into_iter().map(|h| h.outcome).collect();
    for o in [
        "recovered",
        "no-runbook",
        "invalid",
        "healed",
        "duplicate",
        "killed",
    ] {
        assert!(
            outcomes.iter().any(|x| x == o),
            "{o} missing from {outcomes:?}"
        );
    }
    assert_eq!(w.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_role_tag_and_missing_alarm_run_nothing() {
    let Some(w) = world("wrong_role_tag_and_missing_alarm_run_nothing").await else {
        return;
    };
    let db = run_instance(&w.url, &[("Role", "db")]);
    let untagged = run_instance(&w.url, &[]);
    alarm(&w.c, "api:nginx_down", &db, "ALARM").await;
    w.publish(alarm_message("api:nginx_down", &db, "ALARM", "t1"))
        .await;
    w.publish(alarm_message("api:nginx_down", &untagged, "ALARM", "t2"))
        .await;
    // An alarm that exists in the message but not in CloudWatch.
    w.publish(alarm_message(
        "api:nginx_down:gone",
        &w.nginx,
        "ALARM",
        "t3",
    ))
    .await;
    let out = serve_once(&w.url, &w.queue, &w.env());
    assert_eq!(out.matches(" unresolved deleted").count(), 3, "{out}");
    assert!(w.commands().await.is_empty());
}
