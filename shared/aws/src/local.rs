//! Local-emulator fixtures for `selfheal demo` and the end-to-end tests: a `moto_server` child
//! process on a free 127.0.0.1 port, and the resources a deployment would have (table, topic +
//! queue + DLQ, mode parameter, tagged instances, alarms). Never used by the Lambda.

use crate::AwsClients;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The region every local resource lives in.
pub const REGION: &str = "us-east-1";

/// A running moto server; killed when dropped.
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

/// For tests: the emulator to use and, when this call started it, the server (dropped = stopped).
/// `SELFHEAL_MOTO_URL` when set; else moto started with `SELFHEAL_MOTO_PYTHON` or
/// `<root>/.venv/bin/python` and `<root>/tests/moto/moto_launcher.py`. Without either it prints
/// a notice and answers `None` (the test passes without running), unless
/// `SELFHEAL_REQUIRE_MOTO` is set (the project's test command sets it): then it panics.
pub fn moto_for_test(test: &str, root: &Path) -> Option<(String, Option<Moto>)> {
    if let Some(url) = std::env::var("SELFHEAL_MOTO_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        return Some((url, None));
    }
    let required = std::env::var_os("SELFHEAL_REQUIRE_MOTO").is_some();
    let python = std::env::var_os("SELFHEAL_MOTO_PYTHON")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(root.join(".venv/bin/python")).filter(|p| p.exists()));
    let Some(python) = python else {
        assert!(
            !required,
            "{test}: moto is required but no Python with moto was found"
        );
        eprintln!(
            "skipping {test}: moto is not installed (set SELFHEAL_MOTO_PYTHON or run `make test`)"
        );
        return None;
    };
    let server = start_moto(&python, &root.join("tests/moto/moto_launcher.py"))
        .unwrap_or_else(|e| panic!("{test}: moto does not start: {e}"));
    Some((server.url.clone(), Some(server)))
}

/// Starts `python launcher PORT` (see `tests/moto/moto_launcher.py`) on a free port and waits for
/// its `READY` line. Tries three ports: another process may take a free port before moto binds it.
pub fn start_moto(python: &Path, launcher: &Path) -> Result<Moto, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match start_moto_once(python, launcher) {
            Ok(m) => return Ok(m),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn start_moto_once(python: &Path, launcher: &Path) -> Result<Moto, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))?;
    let mut child = Command::new(python)
        .arg(launcher)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start moto with {}: {e}", python.display()))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    if line.starts_with("READY") {
        Ok(moto)
    } else {
        Err(format!("moto did not start (said {line:?})"))
    }
}

/// Clients pointed at the emulator with dummy credentials (retries and timeouts as in production).
pub async fn clients(url: &str) -> AwsClients {
    // The same retries and timeouts as the product's clients.
    let config = crate::config::sdk_loader()
        .endpoint_url(url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await;
    AwsClients::from_sdk_config(config)
}

// ---------------------------------------------------------------------------------------------
// The fault-injecting layer in front of moto (tests/moto/faults.py; the exact JSON is documented
// there). Rules are JSON values so tests can write them with `serde_json::json!`.
// ---------------------------------------------------------------------------------------------

/// One AWS call the fault layer saw (`GET /_selfheal/calls`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct FaultCall {
    /// Arrival order, from 1.
    pub seq: u64,
    /// When the request arrived (epoch milliseconds).
    pub at_ms: i64,
    /// How long the layer took to answer (null while the call is still in flight).
    pub ms: Option<u64>,
    /// The SigV4 credential-scope service (`ssm`, `dynamodb`, `sqs`, …).
    pub service: Option<String>,
    /// `X-Amz-Target` (`AmazonSSM.SendCommand`), or the query protocol's `Action` (`Publish`).
    pub operation: String,
    /// The status the client was answered (null while in flight).
    pub status: Option<u16>,
    /// moto's own status; null when moto did not act (a fault answered before it).
    pub moto_status: Option<u16>,
    /// Index of the rule that applied.
    pub rule: Option<usize>,
    /// `before` or `after` (the rule's `when`).
    pub when: Option<String>,
    pub delay_ms: u64,
    /// `ok` or `error: …` when the rule had a side effect.
    pub side_effect: Option<String>,
    /// The request body (clipped), only from [`fault_calls_with_bodies`].
    #[serde(default)]
    pub body: Option<String>,
}

/// One request to the fault layer's control endpoint; returns (status, body).
async fn control(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let target = format!("{}{path}", url.trim_end_matches('/'));
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = client.request(method, &target);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_owned());
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("fault layer at {url}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| format!("fault layer: {e}"))?;
    Ok((status, text))
}

async fn control_ok(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<String, String> {
    // The control endpoint is idempotent; a loaded test machine has seen it answer a 5xx once,
    // so try again a few times before failing the test.
    let mut last = String::new();
    for attempt in 0..4u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(250 * attempt)).await;
        }
        match control(url, method, path, body).await {
            Ok((200, text)) => return Ok(text),
            Ok((status, text)) if status >= 500 => {
                last = format!("{method} {path} answered {status}: {text}");
            }
            Ok((status, text)) => return Err(format!("{method} {path} answered {status}: {text}")),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Replaces the fault rules (`rules`: a JSON array of rules, see tests/moto/faults.py) and
/// resets their counters.
pub async fn set_faults(url: &str, rules: &serde_json::Value) -> Result<(), String> {
    control_ok(url, "POST", "/_selfheal/faults", Some(&rules.to_string())).await?;
    Ok(())
}

/// Removes every fault rule: moto answers unchanged again.
pub async fn clear_faults(url: &str) -> Result<(), String> {
    control_ok(url, "DELETE", "/_selfheal/faults", None).await?;
    Ok(())
}

/// The current rules with their `matched` and `applied` counters.
pub async fn fault_rules(url: &str) -> Result<serde_json::Value, String> {
    let text = control_ok(url, "GET", "/_selfheal/faults", None).await?;
    serde_json::from_str(&text).map_err(|e| format!("fault rules: {e}"))
}

/// Every AWS call the layer saw, oldest first.
pub async fn fault_calls(url: &str) -> Result<Vec<FaultCall>, String> {
    let text = control_ok(url, "GET", "/_selfheal/calls", None).await?;
    serde_json::from_str(&text).map_err(|e| format!("fault calls: {e}"))
}

/// Like [`fault_calls`], with each request body (clipped to 4096 characters).
pub async fn fault_calls_with_bodies(url: &str) -> Result<Vec<FaultCall>, String> {
    let text = control_ok(url, "GET", "/_selfheal/calls?bodies=1", None).await?;
    serde_json::from_str(&text).map_err(|e| format!("fault calls: {e}"))
}

/// Forgets the calls seen so far.
pub async fn clear_fault_calls(url: &str) -> Result<(), String> {
    control_ok(url, "DELETE", "/_selfheal/calls", None).await?;
    Ok(())
}

/// Environment for a child `selfheal` process pointed at the emulator.
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

/// The state table with exactly the key schema of DESIGN §6.
pub async fn create_table(c: &AwsClients, name: &str) -> Result<(), String> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| e.to_string())
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| e.to_string())
    };
    c.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| format!("CreateTable: {e}"))?;
    Ok(())
}

/// A queue's ARN.
async fn queue_arn(c: &AwsClients, url: &str) -> Result<String, String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    c.sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("GetQueueAttributes: {e}"))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| "queue has no ARN".to_owned())
}

/// The alert path of a deployment: topic → queue (non-raw delivery, `visibility_seconds`) with a
/// DLQ after 5 receives. Returns (topic ARN, queue URL, DLQ URL).
pub async fn topic_and_queue(
    c: &AwsClients,
    name: &str,
    visibility_seconds: u32,
) -> Result<(String, String, String), String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let topic = c
        .sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| format!("CreateTopic: {e}"))?
        .topic_arn
        .ok_or("no topic ARN")?;
    let dlq = c
        .sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .map_err(|e| format!("CreateQueue: {e}"))?
        .queue_url
        .ok_or("no DLQ URL")?;
    let redrive = serde_json::json!({"deadLetterTargetArn": queue_arn(c, &dlq).await?, "maxReceiveCount": "5"});
    let url = c
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_seconds.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| format!("CreateQueue: {e}"))?
        .queue_url
        .ok_or("no queue URL")?;
    c.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn(c, &url).await?)
        .send()
        .await
        .map_err(|e| format!("Subscribe: {e}"))?;
    Ok((topic, url, dlq))
}

/// Sets a plain String parameter (e.g. the mode parameter).
pub async fn put_parameter(c: &AwsClients, name: &str, value: &str) -> Result<(), String> {
    c.ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| format!("PutParameter: {e}"))?;
    Ok(())
}

/// An EC2 instance with tags, created through the emulator's EC2 Query API directly (the EC2 SDK
/// is not a dependency of the product). Returns the instance id.
pub fn run_instance(url: &str, tags: &[(&str, &str)]) -> Result<String, String> {
    let mut body = String::from(
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-12c6146b&MinCount=1&MaxCount=1",
    );
    if !tags.is_empty() {
        body.push_str("&TagSpecification.1.ResourceType=instance");
        for (i, (k, v)) in tags.iter().enumerate() {
            body.push_str(&format!(
                "&TagSpecification.1.Tag.{n}.Key={k}&TagSpecification.1.Tag.{n}.Value={v}",
                n = i + 1
            ));
        }
    }
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream =
        std::net::TcpStream::connect(hostport).map_err(|e| format!("emulator: {e}"))?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("emulator: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("emulator: {e}"))?;
    let start = response
        .find("<instanceId>")
        .ok_or("RunInstances returned no instance")?
        + "<instanceId>".len();
    let end = start
        + response[start..]
            .find('<')
            .ok_or("malformed RunInstances reply")?;
    Ok(response[start..end].to_owned())
}

/// A metric alarm named `name` on `instance`, forced into `state` (`ALARM`, `OK`, …).
pub async fn alarm(c: &AwsClients, name: &str, instance: &str, state: &str) -> Result<(), String> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("CWAgent")
        .metric_name("procstat_lookup_pid_count")
        .dimensions(
            Dimension::builder()
                .name("InstanceId")
                .value(instance)
                .build(),
        )
        .statistic(Statistic::Minimum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .send()
        .await
        .map_err(|e| format!("PutMetricAlarm: {e}"))?;
    c.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(StateValue::from(state))
        .state_reason("set by selfheal's local fixtures")
        .send()
        .await
        .map_err(|e| format!("SetAlarmState: {e}"))?;
    Ok(())
}

/// A CloudWatch alarm notification exactly as SNS carries it.
pub fn alarm_message(name: &str, instance: &str, state: &str, time: &str) -> String {
    serde_json::json!({
        "AlarmName": name,
        "AlarmDescription": null,
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 2 out of the last 2 datapoints were less than the threshold (1.0).",
        "StateChangeTime": time,
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"),
        "OldStateValue": if state == "ALARM" { "OK" } else { "ALARM" },
        "Trigger": {"MetricName": "procstat_lookup_pid_count", "Namespace": "CWAgent",
                    "Dimensions": [{"value": instance, "name": "InstanceId"}]}
    })
    .to_string()
}
