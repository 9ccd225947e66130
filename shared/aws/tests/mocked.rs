//! Adapter behaviour against mocked SDK clients (`aws-smithy-mocks`): the error paths and
//! quirks an emulator cannot produce. Retries are disabled so error paths answer at once.

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use selfheal_aws::{
    ChatbotSink, CloudWatchAlarms, DynamoStateStore, ParameterMode, SnsEscalator, SqsQueue,
    SsmExecutor, TaggingRoles,
};
use selfheal_core::{AlarmState, InstanceId};
use selfheal_service::ports::{
    Alarms, Announcement, AnnouncementKind, Chat, Claim, ClaimAttempt, ClaimState, CommandRequest,
    Escalator, Executor, GlobalMode, InvocationStatus, LiveAlarm, ModeSource, PortError, Sent,
    StateStore, Tags,
};

/// A mocked client of `$sdk` with retries off, answering `$rules` in order.
macro_rules! client {
    ($sdk:ident, [$($rule:expr),* $(,)?]) => {
        mock_client!($sdk, RuleMode::Sequential, [$($rule),*], |c| {
            c.retry_config($sdk::config::retry::RetryConfig::disabled())
        })
    };
}

fn instance() -> InstanceId {
    InstanceId::parse("i-0123456789abcdef0").expect("valid id")
}

fn request(comment: &str) -> CommandRequest {
    CommandRequest {
        instance: instance(),
        document: "AWS-RunShellScript".to_owned(),
        lines: vec!["set -e".to_owned(), "echo hi".to_owned()],
        execution_timeout_seconds: 120,
        comment: comment.to_owned(),
    }
}

// ---------------------------------------------------------------- SSM Run Command

mod ssm {
    use super::*;
    use aws_sdk_ssm::operation::get_command_invocation::{
        GetCommandInvocationError, GetCommandInvocationOutput,
    };
    use aws_sdk_ssm::operation::list_commands::ListCommandsOutput;
    use aws_sdk_ssm::operation::send_command::{SendCommandError, SendCommandOutput};
    use aws_sdk_ssm::primitives::DateTime;
    use aws_sdk_ssm::types::error::{InvalidInstanceId, InvocationDoesNotExist};
    use aws_sdk_ssm::types::{Command, CommandInvocationStatus};
    use aws_sdk_ssm::Client;

    #[tokio::test]
    async fn send_targets_exactly_one_instance() {
        let long_comment = format!("selfheal:{}", "c".repeat(200));
        let expected_comment: String = long_comment.chars().take(100).collect();
        let rule = mock!(Client::send_command)
            .match_requests(move |r| {
                let params = r.parameters().cloned().unwrap_or_default();
                r.instance_ids() == ["i-0123456789abcdef0"]
                    && r.targets().is_empty()
                    && r.document_name() == Some("AWS-RunShellScript")
                    && params.get("commands")
                        == Some(&vec!["set -e".to_owned(), "echo hi".to_owned()])
                    && params.get("executionTimeout") == Some(&vec!["120".to_owned()])
                    && r.timeout_seconds() == Some(60)
                    && r.comment() == Some(expected_comment.as_str())
            })
            .then_output(|| {
                SendCommandOutput::builder()
                    .command(Command::builder().command_id("cmd-1").build())
                    .build()
            });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&rule]));
        let sent = exec.send(&request(&long_comment)).await;
        assert_eq!(sent, Ok(Sent::CommandId("cmd-1".to_owned())));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn invalid_instance_is_not_an_error() {
        let rule = mock!(Client::send_command).then_error(|| {
            SendCommandError::InvalidInstanceId(
                InvalidInstanceId::builder()
                    .message("Instances not in a valid state")
                    .build(),
            )
        });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&rule]));
        match exec.send(&request("c")).await {
            Ok(Sent::InvalidInstance(msg)) => assert!(msg.contains("valid state"), "{msg}"),
            other => panic!("expected InvalidInstance, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn throttling_is_transient() {
        let rule = mock!(Client::send_command).then_error(|| {
            SendCommandError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&rule]));
        match exec.send(&request("c")).await {
            Err(PortError::Transient(msg)) => {
                assert!(
                    msg.contains("ssm:SendCommand") && msg.contains("ThrottlingException"),
                    "{msg}"
                )
            }
            other => panic!("expected Transient, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn server_error_is_transient_and_client_error_permanent() {
        let r503 = mock!(Client::send_command)
            .sequence()
            .http_status(503, None)
            .build();
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&r503]));
        assert!(matches!(
            exec.send(&request("c")).await,
            Err(PortError::Transient(_))
        ));

        let denied = mock!(Client::send_command).then_error(|| {
            SendCommandError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("no")
                    .build(),
            )
        });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&denied]));
        assert!(matches!(
            exec.send(&request("c")).await,
            Err(PortError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn invocation_not_yet_visible_is_running() {
        let rule = mock!(Client::get_command_invocation)
            .match_requests(|r| {
                r.command_id() == Some("cmd-1") && r.instance_id() == Some("i-0123456789abcdef0")
            })
            .then_error(|| {
                GetCommandInvocationError::InvocationDoesNotExist(
                    InvocationDoesNotExist::builder().build(),
                )
            });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&rule]));
        let inv = exec.poll("cmd-1", &instance()).await.expect("not an error");
        assert_eq!(inv.status, InvocationStatus::Running);
        assert_eq!(inv.exit_code, None);
    }

    #[tokio::test]
    async fn failed_invocation_keeps_exit_code_and_tails() {
        let big = format!("{}END", "é".repeat(5000));
        let rule = mock!(Client::get_command_invocation).then_output(move || {
            GetCommandInvocationOutput::builder()
                .status(CommandInvocationStatus::Failed)
                .response_code(1)
                .standard_output_content(big.clone())
                .standard_error_content("boom")
                .build()
        });
        let pending = mock!(Client::get_command_invocation).then_output(|| {
            GetCommandInvocationOutput::builder()
                .status(CommandInvocationStatus::InProgress)
                .response_code(-1)
                .build()
        });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&rule, &pending]));
        let inv = exec.poll("cmd-1", &instance()).await.expect("ok");
        assert_eq!(inv.status, InvocationStatus::Failed);
        assert_eq!(inv.exit_code, Some(1));
        assert!(
            inv.stdout.len() <= 4096 && inv.stdout.len() >= 4090,
            "{}",
            inv.stdout.len()
        );
        assert!(inv.stdout.ends_with("END"));
        assert_eq!(inv.stderr, "boom");

        let inv = exec.poll("cmd-1", &instance()).await.expect("ok");
        assert_eq!(inv.status, InvocationStatus::Running);
        assert_eq!(inv.exit_code, None);
    }

    #[tokio::test]
    async fn find_by_comment_filters_client_side_across_pages() {
        let since = 1_700_000_000_000_i64;
        let cmd = |id: &str, comment: &str, inst: &str, at: i64| {
            Command::builder()
                .command_id(id)
                .comment(comment)
                .instance_ids(inst)
                .requested_date_time(DateTime::from_millis(at))
                .build()
        };
        let page1 = mock!(Client::list_commands)
            .match_requests(|r| {
                r.instance_id() == Some("i-0123456789abcdef0") && r.next_token().is_none()
            })
            .then_output(move || {
                ListCommandsOutput::builder()
                    .commands(cmd(
                        "other-comment",
                        "claim-2",
                        "i-0123456789abcdef0",
                        since,
                    ))
                    .commands(cmd(
                        "other-instance",
                        "claim-1",
                        "i-0aaaaaaaaaaaaaaaa",
                        since,
                    ))
                    .commands(cmd(
                        "too-old",
                        "claim-1",
                        "i-0123456789abcdef0",
                        since - 60_000,
                    ))
                    .next_token("t1")
                    .build()
            });
        let page2 = mock!(Client::list_commands)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(move || {
                ListCommandsOutput::builder()
                    .commands(cmd(
                        "the-one",
                        "claim-1",
                        "i-0123456789abcdef0",
                        since - 2_000,
                    ))
                    .build()
            });
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&page1, &page2]));
        let found = exec.find_by_comment("claim-1", &instance(), since).await;
        assert_eq!(found, Ok(Some("the-one".to_owned())));

        let empty =
            mock!(Client::list_commands).then_output(|| ListCommandsOutput::builder().build());
        let exec = SsmExecutor::new(client!(aws_sdk_ssm, [&empty]));
        assert_eq!(
            exec.find_by_comment("claim-1", &instance(), since).await,
            Ok(None)
        );
    }
}

// ---------------------------------------------------------------- Tagging

mod tagging {
    use super::*;
    use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
    use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag};
    use aws_sdk_resourcegroupstagging::Client;

    fn mapping(id: &str, tags: &[(&str, &str)]) -> ResourceTagMapping {
        let mut b = ResourceTagMapping::builder()
            .resource_arn(format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}"));
        for (k, v) in tags {
            b = b.tags(Tag::builder().key(*k).value(*v).build().expect("tag"));
        }
        b.build()
    }

    #[tokio::test]
    async fn another_instances_tags_are_ignored() {
        let rule = mock!(Client::get_resources)
            .match_requests(|r| {
                r.resource_arn_list()
                    == ["arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"]
                    && r.tag_filters().is_empty()
                    && r.resource_type_filters().is_empty()
            })
            .then_output(|| {
                GetResourcesOutput::builder()
                    .resource_tag_mapping_list(mapping("i-0aaaaaaaaaaaaaaaa", &[("Role", "db")]))
                    .build()
            });
        let tags = TaggingRoles::new(
            client!(aws_sdk_resourcegroupstagging, [&rule]),
            "Role",
            Some("123456789012".to_owned()),
            "us-east-1",
        );
        assert_eq!(tags.role_of(&instance()).await, Ok(None));
    }

    #[tokio::test]
    async fn the_right_instance_gives_its_role() {
        let rule = mock!(Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(mapping("i-0aaaaaaaaaaaaaaaa", &[("Role", "db")]))
                .resource_tag_mapping_list(mapping(
                    "i-0123456789abcdef0",
                    &[("Name", "x"), ("Role", "web")],
                ))
                .build()
        });
        let tags = TaggingRoles::new(
            client!(aws_sdk_resourcegroupstagging, [&rule]),
            "Role",
            Some("123456789012".to_owned()),
            "us-east-1",
        );
        assert_eq!(tags.role_of(&instance()).await, Ok(Some("web".to_owned())));
    }

    #[tokio::test]
    async fn unknown_account_scans_with_filters_and_pages() {
        let page1 = mock!(Client::get_resources)
            .match_requests(|r| {
                r.resource_arn_list().is_empty()
                    && r.resource_type_filters() == ["ec2:instance"]
                    && r.tag_filters().len() == 1
                    && r.tag_filters()[0].key() == Some("Service")
                    && r.pagination_token().is_none()
            })
            .then_output(|| {
                GetResourcesOutput::builder()
                    .resource_tag_mapping_list(mapping("i-0aaaaaaaaaaaaaaaa", &[("Service", "db")]))
                    .pagination_token("p2")
                    .build()
            });
        let page2 = mock!(Client::get_resources)
            .match_requests(|r| r.pagination_token() == Some("p2"))
            .then_output(|| {
                GetResourcesOutput::builder()
                    .resource_tag_mapping_list(mapping("i-0123456789abcdef0", &[("Service", "")]))
                    .build()
            });
        let tags = TaggingRoles::new(
            client!(aws_sdk_resourcegroupstagging, [&page1, &page2]),
            "Service",
            None,
            "us-east-1",
        );
        // Found on page 2, but an empty value counts as absent.
        assert_eq!(tags.role_of(&instance()).await, Ok(None));
        assert_eq!(page2.num_calls(), 1);
    }
}

// ---------------------------------------------------------------- DynamoDB

mod dynamo {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::Client;

    fn claim(owner: &str) -> Claim {
        Claim {
            identity: "alarm-x|2024-01-01T00:00:00Z|i-0123456789abcdef0".to_owned(),
            state: ClaimState::Claimed,
            owner: owner.to_owned(),
            owner_until_ms: 10,
            claimed_at_ms: 1_700_000_000_000,
            phase: None,
            command_id: None,
            phase_sent_at_ms: None,
            command_ids: vec![],
            attempt: 1,
            outcome: None,
            version: 1,
            body: None,
            body_message_id: None,
            ..Default::default()
        }
    }

    fn ccf() -> PutItemError {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .build(),
        )
    }

    #[tokio::test]
    async fn lost_claim_returns_the_existing_one() {
        let put = mock!(Client::put_item)
            .match_requests(|r| {
                r.condition_expression() == Some("attribute_not_exists(#pk)")
                    && r.item().and_then(|i| i.get("pk"))
                        == Some(&AttributeValue::S(
                            "claim#alarm-x|2024-01-01T00:00:00Z|i-0123456789abcdef0".to_owned(),
                        ))
            })
            .then_error(ccf);
        let get = mock!(Client::get_item)
            .match_requests(|r| r.consistent_read() == Some(true))
            .then_output(|| {
                let mut item =
                    serde_dynamo::aws_sdk_dynamodb_1::to_item(claim("first")).expect("encodes");
                item.insert("pk".to_owned(), AttributeValue::S("claim#…".to_owned()));
                item.insert("sk".to_owned(), AttributeValue::S("claim".to_owned()));
                GetItemOutput::builder().set_item(Some(item)).build()
            });
        let store = DynamoStateStore::new(client!(aws_sdk_dynamodb, [&put, &get]), "t");
        match store.claim(&claim("second")).await {
            Ok(ClaimAttempt::Exists(c)) => assert_eq!(c.owner, "first"),
            other => panic!("expected Exists, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn stale_update_is_false_not_error() {
        let put = mock!(Client::put_item)
            .match_requests(|r| {
                r.condition_expression() == Some("#version = :expected")
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":expected"))
                        == Some(&AttributeValue::N("1".to_owned()))
            })
            .then_error(ccf);
        let store = DynamoStateStore::new(client!(aws_sdk_dynamodb, [&put]), "t");
        let mut c = claim("me");
        c.version = 2;
        assert_eq!(store.update_claim(&c, 1).await, Ok(false));
    }

    #[tokio::test]
    async fn exhausted_budget_writes_nothing() {
        let get = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item("pk", AttributeValue::S("budget#k".to_owned()))
                .item(
                    "attempts",
                    AttributeValue::L(vec![
                        AttributeValue::N("50".to_owned()), // outside the window
                        AttributeValue::N("150".to_owned()),
                        AttributeValue::N("160".to_owned()),
                    ]),
                )
                .item("version", AttributeValue::N("7".to_owned()))
                .build()
        });
        let store = DynamoStateStore::new(client!(aws_sdk_dynamodb, [&get]), "t");
        assert_eq!(store.take_attempt("k", 2, 100, 200, 9).await, Ok(None));

        // One slot left: written with the version condition.
        let get = mock!(Client::get_item).then_output(|| {
            GetItemOutput::builder()
                .item(
                    "attempts",
                    AttributeValue::L(vec![AttributeValue::N("150".to_owned())]),
                )
                .item("version", AttributeValue::N("7".to_owned()))
                .build()
        });
        let put = mock!(Client::put_item)
            .match_requests(|r| {
                let values = r.expression_attribute_values().cloned().unwrap_or_default();
                let item = r.item().cloned().unwrap_or_default();
                values.get(":v") == Some(&AttributeValue::N("7".to_owned()))
                    && item.get("version") == Some(&AttributeValue::N("8".to_owned()))
                    && item.get("expires_at") == Some(&AttributeValue::N("9".to_owned()))
            })
            .then_output(|| PutItemOutput::builder().build());
        let store = DynamoStateStore::new(client!(aws_sdk_dynamodb, [&get, &put]), "t");
        assert_eq!(store.take_attempt("k", 3, 100, 200, 9).await, Ok(Some(2)));
    }

    #[tokio::test]
    async fn throttled_table_is_transient() {
        let get = mock!(Client::get_item).then_error(|| {
            aws_sdk_dynamodb::operation::get_item::GetItemError::generic(
                ErrorMetadata::builder()
                    .code("ProvisionedThroughputExceededException")
                    .build(),
            )
        });
        let store = DynamoStateStore::new(client!(aws_sdk_dynamodb, [&get]), "t");
        assert!(matches!(
            store.acquire_lease("web", "h", 1, 0, 10).await,
            Err(PortError::Transient(_))
        ));
    }
}

// ---------------------------------------------------------------- CloudWatch

mod alarms {
    use super::*;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
    use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};
    use aws_sdk_cloudwatch::Client;

    #[tokio::test]
    async fn missing_alarm_is_none() {
        let rule = mock!(Client::describe_alarms)
            .match_requests(|r| {
                r.alarm_names() == ["web:disk_full"]
                    && r.alarm_types() == [AlarmType::MetricAlarm, AlarmType::CompositeAlarm]
            })
            .then_output(|| DescribeAlarmsOutput::builder().build());
        let alarms = CloudWatchAlarms::new(client!(aws_sdk_cloudwatch, [&rule]));
        let i = InstanceId::parse("i-0123456789abcdef0").expect("id");
        assert_eq!(alarms.live_alarm("web:disk_full", &i).await, Ok(None));
    }

    #[tokio::test]
    async fn metric_and_composite_states() {
        let metric = mock!(Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("a")
                        .state_value(StateValue::Alarm)
                        .dimensions(
                            aws_sdk_cloudwatch::types::Dimension::builder()
                                .name("InstanceId")
                                .value("i-0123456789abcdef0")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let metric_again = mock!(Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("a")
                        .state_value(StateValue::Alarm)
                        .dimensions(
                            aws_sdk_cloudwatch::types::Dimension::builder()
                                .name("InstanceId")
                                .value("i-0123456789abcdef0")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let composite = mock!(Client::describe_alarms).then_output(|| {
            DescribeAlarmsOutput::builder()
                .composite_alarms(
                    CompositeAlarm::builder()
                        .alarm_name("b")
                        .state_value(StateValue::Ok)
                        .build(),
                )
                .build()
        });
        let alarms = CloudWatchAlarms::new(client!(
            aws_sdk_cloudwatch,
            [&metric, &metric_again, &composite]
        ));
        let i = InstanceId::parse("i-0123456789abcdef0").expect("id");
        let other = InstanceId::parse("i-0fedcba9876543210").expect("id");
        let live = |state, watches_instance| {
            Ok(Some(LiveAlarm {
                state,
                watches_instance,
            }))
        };
        assert_eq!(
            alarms.live_alarm("a", &i).await,
            live(AlarmState::Alarm, true)
        );
        // The same alarm asked about another instance: it does not watch that one.
        assert_eq!(
            alarms.live_alarm("a", &other).await,
            live(AlarmState::Alarm, false)
        );
        // A composite alarm names no instance of its own.
        assert_eq!(
            alarms.live_alarm("b", &i).await,
            live(AlarmState::Ok, false)
        );
    }
}

// ---------------------------------------------------------------- Kill switch

mod mode {
    use super::*;
    use aws_sdk_ssm::operation::get_parameter::{GetParameterError, GetParameterOutput};
    use aws_sdk_ssm::types::error::ParameterNotFound;
    use aws_sdk_ssm::types::{Parameter, ParameterType};
    use aws_sdk_ssm::Client;

    #[tokio::test]
    async fn missing_parameter_means_dry_run() {
        let rule = mock!(Client::get_parameter).then_error(|| {
            GetParameterError::ParameterNotFound(ParameterNotFound::builder().build())
        });
        let mode = ParameterMode::new(client!(aws_sdk_ssm, [&rule]), "/selfheal/mode");
        assert_eq!(mode.mode().await, GlobalMode::DryRun);
    }

    #[tokio::test]
    async fn unknown_value_means_dry_run() {
        let rule = mock!(Client::get_parameter).then_output(|| {
            GetParameterOutput::builder()
                .parameter(
                    Parameter::builder()
                        .r#type(ParameterType::String)
                        .value("enforced")
                        .build(),
                )
                .build()
        });
        let mode = ParameterMode::new(client!(aws_sdk_ssm, [&rule]), "/selfheal/mode");
        assert_eq!(mode.mode().await, GlobalMode::DryRun);
    }

    #[tokio::test]
    async fn value_is_cached() {
        let rule = mock!(Client::get_parameter)
            .match_requests(|r| {
                r.name() == Some("/selfheal/mode") && r.with_decryption() == Some(false)
            })
            .then_output(|| {
                GetParameterOutput::builder()
                    .parameter(
                        Parameter::builder()
                            .r#type(ParameterType::String)
                            .value("off")
                            .build(),
                    )
                    .build()
            });
        let mode = ParameterMode::new(client!(aws_sdk_ssm, [&rule]), "/selfheal/mode");
        assert_eq!(mode.mode().await, GlobalMode::Off);
        assert_eq!(mode.mode().await, GlobalMode::Off);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn fixed_mode() {
        assert_eq!(
            ParameterMode::fixed(GlobalMode::Enforce).mode().await,
            GlobalMode::Enforce
        );
    }
}

// ---------------------------------------------------------------- SNS and SQS

fn announcement() -> Announcement {
    Announcement {
        kind: AnnouncementKind::Result,
        identity: "id-1".to_owned(),
        key: Some("web:disk_full".to_owned()),
        runbook: None,
        description: None,
        owner: None,
        instance: Some("i-0123456789abcdef0".to_owned()),
        role: Some("web".to_owned()),
        region: None,
        account: None,
        alarm_name: None,
        alarm_reason: None,
        attempt: 3,
        max_attempts: 3,
        dry_run: false,
        outcome: Some("budget-exhausted".to_owned()),
        detail: "needs review".to_owned(),
        duration_ms: None,
        failed_phase: None,
        exit_code: None,
        output_tail: None,
        command_ids: vec![],
        commands: vec![],
        approval: None,
        thread: None,
    }
}

mod sns {
    use super::*;
    use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
    use aws_sdk_sns::Client;

    #[tokio::test]
    async fn escalation_publishes_json_with_a_safe_subject() {
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let body: serde_json::Value =
                    serde_json::from_str(r.message().unwrap_or("")).unwrap_or_default();
                r.topic_arn() == Some("arn:aws:sns:us-east-1:123456789012:esc")
                    && r.subject() == Some("selfheal escalation: web:disk_full")
                    && body["identity"] == "id-1"
                    && body["kind"] == "result"
            })
            .then_output(|| PublishOutput::builder().message_id("m").build());
        let esc = SnsEscalator::new(
            client!(aws_sdk_sns, [&rule]),
            Some("arn:aws:sns:us-east-1:123456789012:esc".to_owned()),
        );
        esc.escalate(&announcement()).await;
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn publish_failures_are_swallowed() {
        let rule = mock!(Client::publish).then_error(|| {
            PublishError::generic(ErrorMetadata::builder().code("AuthorizationError").build())
        });
        let chat = ChatbotSink::new(
            client!(aws_sdk_sns, [&rule]),
            "arn:aws:sns:us-east-1:1:chat",
        );
        chat.announce(&announcement()).await; // must not panic or fail
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn chatbot_custom_notification() {
        let rule = mock!(Client::publish)
            .match_requests(|r| {
                let body: serde_json::Value =
                    serde_json::from_str(r.message().unwrap_or("")).unwrap_or_default();
                body["version"] == "1.0"
                    && body["source"] == "custom"
                    && body["content"]["textType"] == "client-markdown"
                    && body["content"]["title"]
                        .as_str()
                        .is_some_and(|t| t.contains("web:disk_full"))
                    && body["content"]["description"].is_string()
            })
            .then_output(|| PublishOutput::builder().message_id("m").build());
        let chat = ChatbotSink::new(
            client!(aws_sdk_sns, [&rule]),
            "arn:aws:sns:us-east-1:1:chat",
        );
        chat.announce(&announcement()).await;
        assert_eq!(rule.num_calls(), 1);
    }
}

mod sqs {
    use super::*;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
    use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
    use aws_sdk_sqs::Client;

    #[tokio::test]
    async fn receive_reads_the_receive_count() {
        let rule = mock!(Client::receive_message)
            .match_requests(|r| {
                r.message_system_attribute_names() == [MessageSystemAttributeName::All]
                    && r.max_number_of_messages() == Some(10)
                    && r.wait_time_seconds() == Some(0)
                    && r.visibility_timeout() == Some(30)
            })
            .then_output(|| {
                ReceiveMessageOutput::builder()
                    .messages(
                        Message::builder()
                            .message_id("m1")
                            .receipt_handle("rh1")
                            .body("{}")
                            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "4")
                            .build(),
                    )
                    .build()
            });
        let q = SqsQueue::new(
            client!(aws_sdk_sqs, [&rule]),
            "https://sqs.us-east-1.amazonaws.com/1/q",
        );
        let msgs = q.receive(10, 0, Some(30)).await.expect("received");
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].message_id, "m1");
        assert_eq!(msgs[0].receipt_handle, "rh1");
        assert_eq!(msgs[0].receive_count, 4);
    }
}
