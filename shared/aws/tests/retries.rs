//! Issue 16, defect 1: the SDK never repeats SendCommand, and every other SSM call keeps its
//! retries; every call is bounded by its timeouts.
//!
//! Mocked clients (`aws-smithy-mocks`) are built with the product's retry configuration
//! (`config::standard_retries`, only the backoff shortened so the tests do not sleep for seconds).
//! The timeout tests use real clients against a local TCP listener that accepts requests and
//! never answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
use aws_sdk_ssm::operation::send_command::SendCommandOutput;
use aws_sdk_ssm::types::{Command, CommandInvocationStatus};
use aws_sdk_ssm::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use selfheal_aws::config::{standard_retries, AwsTimeouts, MAX_ATTEMPTS};
use selfheal_aws::SsmExecutor;
use selfheal_core::InstanceId;
use selfheal_service::ports::{CommandRequest, Executor, InvocationStatus, PortError, Sent};
use tokio::io::AsyncReadExt;

const INTERNAL_ERROR: &str = r#"{"__type":"InternalServerError","message":"injected"}"#;

fn instance() -> InstanceId {
    InstanceId::parse("i-0123456789abcdef0").expect("valid id")
}

fn request() -> CommandRequest {
    CommandRequest {
        instance: instance(),
        document: "AWS-RunShellScript".to_owned(),
        lines: vec!["true".to_owned()],
        execution_timeout_seconds: 120,
        comment: "selfheal abc precheck".to_owned(),
    }
}

/// The product's retries with a 1 ms backoff.
fn quick_retries() -> aws_sdk_ssm::config::retry::RetryConfig {
    standard_retries().with_initial_backoff(Duration::from_millis(1))
}

#[tokio::test]
async fn send_command_answering_500_is_attempted_exactly_once() {
    // If the SDK retried, the second attempt would succeed and hide the duplicate.
    let rule = mock!(Client::send_command)
        .sequence()
        .http_status(500, Some(INTERNAL_ERROR.to_owned()))
        .output(|| {
            SendCommandOutput::builder()
                .command(Command::builder().command_id("cmd-2").build())
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], |c| c
        .retry_config(quick_retries()));
    let exec = SsmExecutor::new(client);
    let sent = exec.send(&request()).await;
    assert!(
        matches!(&sent, Err(PortError::Transient(m)) if m.contains("ssm:SendCommand") && m.contains("HTTP 500")),
        "{sent:?}"
    );
    assert_eq!(rule.num_calls(), 1, "SendCommand must never be retried");
}

#[tokio::test]
async fn send_command_throttled_is_attempted_exactly_once() {
    let rule = mock!(Client::send_command)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
        .output(|| {
            SendCommandOutput::builder()
                .command(Command::builder().command_id("cmd-2").build())
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], |c| c
        .retry_config(quick_retries()));
    let sent = SsmExecutor::new(client).send(&request()).await;
    assert!(matches!(sent, Err(PortError::Transient(_))), "{sent:?}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn send_command_that_succeeds_returns_its_id() {
    let rule = mock!(Client::send_command).then_output(|| {
        SendCommandOutput::builder()
            .command(Command::builder().command_id("cmd-1").build())
            .build()
    });
    let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], |c| c
        .retry_config(quick_retries()));
    let sent = SsmExecutor::new(client).send(&request()).await;
    assert_eq!(sent, Ok(Sent::CommandId("cmd-1".to_owned())));
}

#[tokio::test]
async fn get_command_invocation_answering_500_is_retried() {
    let rule = mock!(Client::get_command_invocation)
        .sequence()
        .http_status(500, Some(INTERNAL_ERROR.to_owned()))
        .times(usize::try_from(MAX_ATTEMPTS - 1).unwrap_or(3))
        .output(|| {
            GetCommandInvocationOutput::builder()
                .status(CommandInvocationStatus::Success)
                .response_code(0)
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], |c| c
        .retry_config(quick_retries()));
    let inv = SsmExecutor::new(client)
        .poll("cmd-1", &instance())
        .await
        .expect("the last attempt succeeds");
    assert_eq!(inv.status, InvocationStatus::Success);
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize, "reads are retried");
}

#[tokio::test]
async fn list_commands_answering_500_is_retried() {
    use aws_sdk_ssm::operation::list_commands::ListCommandsOutput;
    let rule = mock!(Client::list_commands)
        .sequence()
        .http_status(500, Some(INTERNAL_ERROR.to_owned()))
        .output(|| ListCommandsOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&rule], |c| c
        .retry_config(quick_retries()));
    let found = SsmExecutor::new(client)
        .find_by_comment("selfheal abc precheck", &instance(), 0)
        .await;
    assert_eq!(found, Ok(None));
    assert_eq!(rule.num_calls(), 2);
}

// ------------------------------------------------------------------ timeouts, over real HTTP

/// A server that reads requests and never answers; counts the SSM operations it was sent.
struct Silent {
    port: u16,
    sends: Arc<AtomicUsize>,
    polls: Arc<AtomicUsize>,
}

async fn silent_server() -> Silent {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let sends = Arc::new(AtomicUsize::new(0));
    let polls = Arc::new(AtomicUsize::new(0));
    let (s, p) = (sends.clone(), polls.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (s, p) = (s.clone(), p.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // Hold the connection open, answering nothing, until the client gives up.
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = &text[..end];
                        if head.contains("amazonssm.sendcommand") {
                            s.fetch_add(1, Ordering::SeqCst);
                        } else if head.contains("amazonssm.getcommandinvocation") {
                            p.fetch_add(1, Ordering::SeqCst);
                        }
                        seen.clear();
                    }
                }
            });
        }
    });
    Silent { port, sends, polls }
}

async fn real_client(port: u16, timeouts: AwsTimeouts) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(quick_retries())
        .timeout_config(timeouts.timeout_config())
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    Client::new(&config)
}

fn short_timeouts() -> AwsTimeouts {
    AwsTimeouts {
        connect: Duration::from_millis(500),
        attempt: Duration::from_millis(300),
        operation: Duration::from_millis(2_000),
        send_command: Duration::from_millis(400),
    }
}

#[tokio::test]
async fn a_send_command_that_never_answers_times_out_once() {
    let server = silent_server().await;
    let t = short_timeouts();
    let exec = SsmExecutor::with_timeouts(real_client(server.port, t).await, t);
    let started = Instant::now();
    let sent = exec.send(&request()).await;
    let took = started.elapsed();
    assert!(
        matches!(&sent, Err(PortError::Transient(m)) if m.contains("timed out")),
        "{sent:?}"
    );
    assert!(
        took >= t.send_command && took < Duration::from_millis(1_500),
        "bounded by the SendCommand timeout: {took:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        server.sends.load(Ordering::SeqCst),
        1,
        "one attempt, no retry"
    );
}

#[tokio::test]
async fn a_poll_that_never_answers_is_retried_within_the_operation_timeout() {
    let server = silent_server().await;
    let t = short_timeouts();
    let exec = SsmExecutor::with_timeouts(real_client(server.port, t).await, t);
    let started = Instant::now();
    let polled = exec.poll("cmd-1", &instance()).await;
    let took = started.elapsed();
    assert!(matches!(polled, Err(PortError::Transient(_))), "{polled:?}");
    assert!(
        took < t.operation + Duration::from_millis(500),
        "bounded by the operation timeout: {took:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let polls = server.polls.load(Ordering::SeqCst);
    assert!(
        (2..=MAX_ATTEMPTS as usize).contains(&polls),
        "attempt timeouts are retried: {polls} attempts"
    );
}

#[test]
fn timeouts_default_and_from_the_environment() {
    let (d, problems) = AwsTimeouts::from_lookup(|_| None);
    assert!(problems.is_empty());
    assert_eq!(d, AwsTimeouts::default());
    assert_eq!(d.connect, Duration::from_secs(3));
    assert_eq!(d.attempt, Duration::from_secs(10));
    assert_eq!(d.operation, Duration::from_secs(30));
    assert_eq!(d.send_command, Duration::from_secs(15));
    let c = d.timeout_config();
    assert_eq!(c.connect_timeout(), Some(Duration::from_secs(3)));
    assert_eq!(c.operation_attempt_timeout(), Some(Duration::from_secs(10)));
    assert_eq!(c.operation_timeout(), Some(Duration::from_secs(30)));
    let s = d.send_command_config();
    assert_eq!(s.operation_attempt_timeout(), Some(Duration::from_secs(15)));
    assert_eq!(s.operation_timeout(), Some(Duration::from_secs(15)));
    let lp = d.long_poll(Duration::from_secs(20));
    assert_eq!(
        lp.operation_attempt_timeout(),
        Some(Duration::from_secs(30))
    );

    let (t, problems) = AwsTimeouts::from_lookup(|name| match name {
        "SELFHEAL_SSM_SEND_TIMEOUT_MS" => Some("1500".to_owned()),
        "SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS" => Some("soon".to_owned()),
        "SELFHEAL_AWS_OPERATION_TIMEOUT_MS" => Some("0".to_owned()),
        _ => None,
    });
    assert_eq!(t.send_command, Duration::from_millis(1500));
    assert_eq!(t.attempt, Duration::from_secs(10), "invalid: the default");
    assert_eq!(t.operation, Duration::from_secs(30), "invalid: the default");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS"));
}
