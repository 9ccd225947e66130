#![allow(dead_code)]
//! Test support: a real `moto_server` on a free 127.0.0.1 port (started and stopped by the test),
//! and AWS fixtures created through the SDK.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use selfheal_aws::AwsClients;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running moto server; killed on drop.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python with moto: `SELFHEAL_MOTO_PYTHON`, else the project's `.venv`.
fn moto_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SELFHEAL_MOTO_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = root().join(".venv/bin/python");
    venv.exists().then_some(venv)
}

/// Starts moto, or returns `None` (the test is skipped with a notice) when moto is not installed
/// and `SELFHEAL_REQUIRE_MOTO` is not set. The project's test command sets it.
pub fn start_moto(test: &str) -> Option<Moto> {
    let required = std::env::var_os("SELFHEAL_REQUIRE_MOTO").is_some();
    let Some(python) = moto_python() else {
        assert!(!required, "{test}: moto is required but .venv/bin/python is missing (run `make test`)");
        eprintln!("skipping {test}: moto is not installed (run `make test` to install it)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut child = Command::new(python)
        .arg(root().join("tests/moto/moto_launcher.py"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("moto says READY");
    assert!(line.starts_with("READY"), "moto did not start: {line}");
    Some(Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

pub const REGION: &str = "us-east-1";

pub async fn clients(url: &str) -> AwsClients {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await;
    AwsClients::from_sdk_config(config)
}

/// Environment for a child `selfheal` pointed at moto.
pub fn aws_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", url.to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

pub async fn create_table(c: &AwsClients, name: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build().expect("attr")
    };
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().expect("key");
    c.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("table created");
}

/// Topic → queue (non-raw delivery). Returns (topic arn, queue url).
pub async fn topic_and_queue(c: &AwsClients, name: &str) -> (String, String) {
    let topic = c.sns.create_topic().name(name).send().await.expect("topic").topic_arn.expect("arn");
    let url = c
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attrs")
        .attributes
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    c.sns.subscribe().topic_arn(&topic).protocol("sqs").endpoint(arn).send().await.expect("subscribed");
    (topic, url)
}

/// An EC2 instance with tags (moto's EC2 Query API, called directly: the EC2 SDK is not a
/// dependency of the product). Returns the instance id.
pub fn run_instance(url: &str, tags: &[(&str, &str)]) -> String {
    let mut body = String::from("Action=RunInstances&Version=2016-11-15&ImageId=ami-12c6146b&MinCount=1&MaxCount=1");
    if !tags.is_empty() {
        body.push_str("&TagSpecification.1.ResourceType=instance");
        for (i, (k, v)) in tags.iter().enumerate() {
            body.push_str(&format!("&TagSpecification.1.Tag.{n}.Key={k}&TagSpecification.1.Tag.{n}.Value={v}", n = i + 1));
        }
    }
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(hostport).expect("moto reachable");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    let start = response.find("<instanceId>").expect("an instance id") + "<instanceId>".len();
    let end = start + response[start..].find('<').expect("closing tag");
    response[start..end].to_owned()
}

/// A metric alarm named `name` on `instance`, forced into `state`.
pub async fn alarm(c: &AwsClients, name: &str, instance: &str, state: &str) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("CWAgent")
        .metric_name("procstat_lookup_pid_count")
        .dimensions(Dimension::builder().name("InstanceId").value(instance).build())
        .statistic(Statistic::Minimum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .send()
        .await
        .expect("alarm created");
    c.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(StateValue::from(state))
        .state_reason("test")
        .send()
        .await
        .expect("alarm state set");
}

/// A CloudWatch alarm notification (the `Message` SNS carries).
pub fn alarm_message(name: &str, instance: &str, state: &str, time: &str) -> String {
    serde_json::json!({
        "AlarmName": name,
        "AlarmDescription": null,
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": time,
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"),
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "procstat_lookup_pid_count", "Namespace": "CWAgent",
                    "Dimensions": [{"value": instance, "name": "InstanceId"}]}
    })
    .to_string()
}

pub fn write_runbooks(dir: &Path, json: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let f = dir.join("runbooks.json");
    std::fs::write(&f, json).expect("write");
    f
}

/// Runs `selfheal serve --queue-url URL --once` with the given environment; returns stdout.
pub fn serve_once(url: &str, queue: &str, env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_selfheal"));
    cmd.args(["serve", "--queue-url", queue, "--once"]);
    for (k, v) in aws_env(url) {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env_remove("SELFHEAL_MODE_PARAM");
    for (k, v) in env {
        if *k == "SELFHEAL_MODE_PARAM" {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().expect("selfheal serve runs");
    assert!(out.status.success(), "serve failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{n}")
}
