//! End-to-end regressions of issue 16 against a real `moto_server`: one test per defect (2, 3, 4,
//! 5, 6, 8, 9) and the "same alert twice in one batch" item. Each test builds its own world (moto
//! on a free port, table, topic → queue, tagged instances, alarms, the mode parameter, runbooks in
//! a temp dir), runs `selfheal serve --once` as a child process and reads back what happened from
//! moto (ListCommands: the `selfheal <claim id> <phase>` comments) and from the table (a Scan,
//! so the tests do not depend on the store's Rust API).
//!
//! Defects 2 and 3 need the `failpoints` feature (a slow poll; a kill right after SendCommand):
//! `SELFHEAL_REQUIRE_MOTO=1 cargo test --workspace --features selfheal/failpoints --test regressions_moto`.
//! Defect 8 waits for a one-minute approval request to expire (about 65 s).

mod support;
use selfheal_aws::AwsClients;
use selfheal_core::claim_id;
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const MODE_PARAM: &str = "/selfheal/mode";

/// Three phases; a real alarm is created for every alert that has one.
const THREE_PHASES: &str = r#"{
  "api:nginx_down": {"precheck": ["true"], "commands": ["systemctl restart nginx"], "verify": ["true"]}
}"#;

// ---------------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------------

struct World {
    _moto: Moto,
    url: String,
    c: AwsClients,
    topic: String,
    queue: String,
    table: String,
    runbooks: PathBuf,
    workdir: PathBuf,
    /// Extra environment for every `selfheal` child (e.g. the escalation topic).
    env: Vec<(&'static str, String)>,
}

/// How one `selfheal` child ended.
struct Run {
    aborted: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The outcomes `serve` printed (`<message id> <outcome> <disposition>`).
    fn outcomes(&self) -> Vec<(String, String)> {
        self.stdout
            .lines()
            .filter_map(|l| {
                let parts: Vec<&str> = l.split(' ').collect();
                match parts.as_slice() {
                    [_, outcome, disposition] => {
                        Some(((*outcome).to_owned(), (*disposition).to_owned()))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    fn show(&self) -> String {
        format!(
            "exit {:?} aborted={}\n--- stdout\n{}--- stderr (tail)\n{}",
            self.code,
            self.aborted,
            self.stdout,
            tail(&self.stderr, 3000)
        )
    }
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut start = s.len() - n;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The `selfheal` binary: Cargo's, or `SELFHEAL_REGRESSION_BIN` (to run these tests against a
/// binary built from another commit, e.g. to show that they fail before a fix).
fn selfheal_bin() -> PathBuf {
    std::env::var_os("SELFHEAL_REGRESSION_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_selfheal")),
        PathBuf::from,
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

/// The claim identity of a CloudWatch alarm notification built by `alarm_message`.
fn identity(alarm: &str, time: &str, instance: &str) -> String {
    format!("alarm|arn:aws:cloudwatch:{REGION}:123456789012:alarm:{alarm}|{time}|{instance}")
}

fn failpoints_or_skip(test: &str) -> bool {
    if selfheal_service::failpoints::enabled() {
        return true;
    }
    eprintln!(
        "skipping {test}: failpoints are not compiled in (run with `--features selfheal/failpoints`)"
    );
    false
}

/// A world whose alert queue has `visibility_seconds` of visibility timeout.
async fn world(test: &str, runbooks: &str, visibility_seconds: u32) -> Option<World> {
    let moto = start_moto(test)?;
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("reg");
    create_table(&c, &table).await;
    let (topic, queue, _dlq) =
        selfheal_aws::local::topic_and_queue(&c, &unique("reg-alerts"), visibility_seconds)
            .await
            .expect("topic and queue");
    selfheal_aws::local::put_parameter(&c, MODE_PARAM, "enforce")
        .await
        .expect("mode parameter");
    let workdir = std::env::temp_dir().join(unique("reg"));
    let runbooks = write_runbooks(&workdir, runbooks);
    Some(World {
        _moto: moto,
        url,
        c,
        topic,
        queue,
        table,
        runbooks,
        workdir,
        env: Vec::new(),
    })
}

impl World {
    fn command(&self, args: &[&str], failpoints: Option<&str>) -> Command {
        let mut cmd = Command::new(selfheal_bin());
        cmd.args(args);
        cmd.current_dir(&self.workdir);
        for k in [
            "SELFHEAL_FAILPOINTS",
            "SELFHEAL_CHAT_TOPIC_ARN",
            "SELFHEAL_ESCALATION_TOPIC_ARN",
            "SELFHEAL_SLACK_WEBHOOK_URL",
            "SELFHEAL_SLACK_WEBHOOK_PARAM",
            "SELFHEAL_SLACK_TOKEN_PARAM",
            "SELFHEAL_SLACK_CHANNEL",
            "SELFHEAL_ROLE_TAG",
            "SELFHEAL_ACCOUNT_ID",
            "SELFHEAL_APPROVAL_TTL_MINUTES",
            "SELFHEAL_CLAIM_LEASE_SECONDS",
            "SELFHEAL_MAX_PER_HOUR",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in aws_env(&self.url) {
            cmd.env(k, v);
        }
        cmd.env("SELFHEAL_TABLE", &self.table)
            .env("SELFHEAL_MODE_PARAM", MODE_PARAM)
            .env("SELFHEAL_RUNBOOKS", &self.runbooks)
            .env("SELFHEAL_MAX_PER_HOUR", "1000")
            .env("USER", "regression-test")
            .env("RUST_LOG", "info");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(spec) = failpoints {
            cmd.env("SELFHEAL_FAILPOINTS", spec);
        }
        cmd
    }

    /// `selfheal ARGS` to completion (never asserts on the exit status).
    fn selfheal(&self, args: &[&str], failpoints: Option<&str>) -> Run {
        let out = self
            .command(args, failpoints)
            .output()
            .expect("selfheal runs");
        Run {
            aborted: out.status.signal() == Some(6),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `selfheal serve --queue-url Q --once`.
    fn serve(&self, failpoints: Option<&str>) -> Run {
        self.selfheal(&["serve", "--queue-url", &self.queue, "--once"], failpoints)
    }

    /// `serve --once` that must exit 0.
    fn serve_ok(&self) -> Run {
        let run = self.serve(None);
        assert!(run.code == Some(0), "serve failed: {}", run.show());
        run
    }

    /// `serve --once` started in the background (stdout and stderr captured).
    fn spawn_serve(&self, failpoints: Option<&str>) -> Child {
        self.command(&["serve", "--queue-url", &self.queue, "--once"], failpoints)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("selfheal serve starts")
    }

    /// `serve --once` until it processes something (the message may still be invisible after a
    /// kill: the queue's visibility timeout and the claim lease are 1 s in those tests).
    async fn serve_redelivery(&self) -> Run {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(600)).await;
            let run = self.serve_ok();
            if !run.outcomes().is_empty() {
                return run;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the message never came back: {}",
                run.show()
            );
        }
    }

    async fn publish(&self, message: &str) {
        self.c
            .sns
            .publish()
            .topic_arn(&self.topic)
            .message(message)
            .send()
            .await
            .expect("published");
    }

    async fn set_mode(&self, mode: &str) {
        selfheal_aws::local::put_parameter(&self.c, MODE_PARAM, mode)
            .await
            .expect("mode parameter");
    }

    /// Every SSM command moto recorded (ListCommands ignores Filters in moto: filter here).
    async fn commands(&self) -> Vec<aws_sdk_ssm::types::Command> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .c
                .ssm
                .list_commands()
                .set_next_token(token.clone())
                .send()
                .await
                .expect("ListCommands");
            all.extend(page.commands.unwrap_or_default());
            match page.next_token {
                Some(t) if !t.is_empty() && Some(&t) != token.as_ref() => token = Some(t),
                _ => break,
            }
        }
        all
    }

    /// The phase of every command sent for `identity`, in the order moto lists them, with the
    /// command ids.
    async fn phases_of(&self, identity: &str) -> Vec<(String, String)> {
        let prefix = format!("selfheal {} ", claim_id(identity));
        let mut v: Vec<(i64, String, String)> = self
            .commands()
            .await
            .into_iter()
            .filter_map(|c| {
                let comment = c.comment().unwrap_or_default();
                let phase = comment.strip_prefix(&prefix)?.to_owned();
                let at = c
                    .requested_date_time()
                    .map_or(0, |d| d.to_millis().unwrap_or(0));
                Some((at, phase, c.command_id().unwrap_or_default().to_owned()))
            })
            .collect();
        v.sort_by_key(|(at, _, _)| *at);
        v.into_iter().map(|(_, p, id)| (p, id)).collect()
    }

    /// Every item of the state table, as JSON.
    async fn scan(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .c
                .dynamodb
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("Scan");
            items.extend(page.items().iter().map(item_json));
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        items
    }

    /// Every history item (`pk` = `hist#<day>`).
    async fn history(&self) -> Vec<Value> {
        self.scan()
            .await
            .into_iter()
            .filter(|i| i["pk"].as_str().is_some_and(|p| p.starts_with("hist#")))
            .collect()
    }

    /// The final history record of `identity` (sort key = claim id); panics when absent.
    async fn final_record(&self, identity: &str) -> Value {
        let cid = claim_id(identity);
        let history = self.history().await;
        let finals: Vec<&Value> = history.iter().filter(|h| h["sk"] == cid.as_str()).collect();
        assert_eq!(
            finals.len(),
            1,
            "one final history record for {identity} (sk {cid}); history: {history:#?}"
        );
        finals[0].clone()
    }

    /// The claim item of `identity`, if any.
    async fn claim(&self, identity: &str) -> Option<Value> {
        let pk = format!("claim#{identity}");
        self.scan()
            .await
            .into_iter()
            .find(|i| i["pk"] == pk.as_str() && i["sk"] == "claim")
    }
}

fn item_json(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attr_json(v)))
            .collect(),
    )
}

fn attr_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => Value::String(s.clone()),
        A::N(n) => serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone())),
        A::Bool(b) => Value::Bool(*b),
        A::Null(_) => Value::Null,
        A::L(l) => Value::Array(l.iter().map(attr_json).collect()),
        A::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), attr_json(v))).collect()),
        A::Ss(s) => Value::Array(s.iter().cloned().map(Value::String).collect()),
        A::Ns(n) => Value::Array(
            n.iter()
                .map(|x| serde_json::from_str(x).unwrap_or(Value::Null))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn count_phase(phases: &[(String, String)], phase: &str) -> usize {
    phases.iter().filter(|(p, _)| p == phase).count()
}

fn ids_of(phases: &[(String, String)], phase: &str) -> Vec<String> {
    phases
        .iter()
        .filter(|(p, _)| p == phase)
        .map(|(_, id)| id.clone())
        .collect()
}

/// Replaces (or adds) a tag of an EC2 instance through moto's EC2 Query API (the EC2 SDK is not
/// a dependency).
fn create_tag(url: &str, instance: &str, key: &str, value: &str) {
    use std::io::{Read, Write};
    let body = format!(
        "Action=CreateTags&Version=2016-11-15&ResourceId.1={instance}&Tag.1.Key={key}&Tag.1.Value={value}"
    );
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(hostport).expect("moto");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("CreateTags sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("CreateTags answered");
    assert!(
        response.starts_with("HTTP/1.1 200") && response.contains("CreateTagsResponse"),
        "CreateTags: {response}"
    );
}

/// The value of tag `key` on `instance`, as the Resource Groups Tagging API answers it.
async fn tag_of(c: &AwsClients, instance: &str, key: &str) -> Option<String> {
    let suffix = format!(":instance/{instance}");
    let out = c
        .tagging
        .get_resources()
        .resource_type_filters("ec2:instance")
        .send()
        .await
        .expect("GetResources");
    out.resource_tag_mapping_list()
        .iter()
        .find(|m| m.resource_arn().is_some_and(|a| a.ends_with(&suffix)))
        .and_then(|m| {
            m.tags()
                .iter()
                .find(|t| t.key() == key)
                .map(|t| t.value().to_owned())
        })
}

// ---------------------------------------------------------------------------------------------
// Defect 2: the kill switch stops a remediation in flight
// ---------------------------------------------------------------------------------------------

/// Starts serve with a slow precheck poll, flips the mode to `flip_to` once moto shows the
/// precheck, and expects the remediation to end `expected` before `commands` is sent.
async fn kill_switch_in_flight(test: &str, flip_to: &str, expected: &str) {
    if !failpoints_or_skip(test) {
        return;
    }
    let Some(w) = world(test, THREE_PHASES, 30).await else {
        return;
    };
    let inst = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &inst, "ALARM").await;
    let time = "2026-11-23T03:03:12.214+0000";
    let id = identity("api:nginx_down", time, &inst);
    w.publish(&alarm_message("api:nginx_down", &inst, "ALARM", time))
        .await;

    // The first poll (the precheck's) sleeps 3 s before it asks SSM: time to flip the switch.
    let child = w.spawn_serve(Some("during-poll=1*sleep(3000)"));
    let started = Instant::now();
    loop {
        let phases = w.phases_of(&id).await;
        if count_phase(&phases, "precheck") > 0 {
            assert_eq!(
                phases.len(),
                1,
                "only the precheck is out when the switch flips: {phases:?}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the precheck was never sent"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    w.set_mode(flip_to).await;
    let flipped_after = started.elapsed();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("serve ends");
    let run = Run {
        aborted: out.status.signal() == Some(6),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(run.code, Some(0), "serve failed: {}", run.show());

    let phases = w.phases_of(&id).await;
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        sent,
        vec!["precheck"],
        "the mode went {flip_to} {flipped_after:?} after serve started, while the precheck ran; \
         nothing may be sent after that. serve said: {}",
        run.stdout
    );
    assert_eq!(
        run.outcomes(),
        vec![(expected.to_owned(), "deleted".to_owned())],
        "{}",
        run.show()
    );
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], expected, "{fin:#}");
    assert_eq!(
        str_list(&fin["command_ids"]),
        ids_of(&phases, "precheck"),
        "history lists the phase that ran: {fin:#}"
    );
    let names_commands = fin["failed_phase"] == "commands"
        || fin["reason"]
            .as_str()
            .is_some_and(|r| r.contains("commands"));
    assert!(
        names_commands,
        "history names the phase that was not sent: {fin:#}"
    );
    let claim = w.claim(&id).await.expect("a claim");
    assert_eq!(claim["state"], "done", "{claim:#}");
    assert_eq!(claim["outcome"], expected, "{claim:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn defect_2_kill_switch_off_during_the_precheck_stops_before_commands() {
    kill_switch_in_flight(
        "defect_2_kill_switch_off_during_the_precheck_stops_before_commands",
        "off",
        "killed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn defect_2_global_dry_run_during_the_precheck_stops_before_commands() {
    kill_switch_in_flight(
        "defect_2_global_dry_run_during_the_precheck_stops_before_commands",
        "dry-run",
        "dry-run",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Defect 3: a redelivered running remediation is resumed before any pre-claim check
// ---------------------------------------------------------------------------------------------

/// A world with a 1 s visibility timeout and 1 s claim lease, one `api` instance with a live
/// alarm, and a serve killed right after the `commands` SendCommand (the precheck is the first
/// send). Returns the world, the instance and the alert identity.
async fn crashed_after_commands_sent(test: &str) -> Option<(World, String, String)> {
    if !failpoints_or_skip(test) {
        return None;
    }
    let mut w = world(test, THREE_PHASES, 1).await?;
    w.env.push(("SELFHEAL_CLAIM_LEASE_SECONDS", "1".into()));
    let inst = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &inst, "ALARM").await;
    let time = "2026-11-23T04:04:04.000+0000";
    let id = identity("api:nginx_down", time, &inst);
    w.publish(&alarm_message("api:nginx_down", &inst, "ALARM", time))
        .await;
    let run = w.serve(Some("after-send=1*off->abort"));
    assert!(
        run.aborted,
        "serve dies right after the second SendCommand: {}",
        run.show()
    );
    let phases = w.phases_of(&id).await;
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(sent, vec!["precheck", "commands"], "before the redelivery");
    Some((w, inst, id))
}

#[tokio::test(flavor = "multi_thread")]
async fn defect_3_redelivery_under_a_new_silence_resumes_the_running_remediation() {
    let Some((w, _inst, id)) = crashed_after_commands_sent(
        "defect_3_redelivery_under_a_new_silence_resumes_the_running_remediation",
    )
    .await
    else {
        return;
    };
    let added = w.selfheal(
        &[
            "silence", "add", "--role", "api", "--for", "1h", "--reason", "patching",
        ],
        None,
    );
    assert_eq!(added.code, Some(0), "silence add: {}", added.show());

    let run = w.serve_redelivery().await;
    let phases = w.phases_of(&id).await;
    assert_eq!(
        count_phase(&phases, "commands"),
        1,
        "never a second commands phase: {phases:?}"
    );
    assert_eq!(
        run.outcomes(),
        vec![("healed".to_owned(), "deleted".to_owned())],
        "a silence that appears after the commands were sent does not abandon them: {}",
        run.show()
    );
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(sent, vec!["precheck", "commands", "verify"]);
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "healed", "{fin:#}");
    let mut recorded = str_list(&fin["command_ids"]);
    recorded.sort();
    let mut expected: Vec<String> = phases.iter().map(|(_, id)| id.clone()).collect();
    expected.sort();
    assert_eq!(recorded, expected, "history lists every command that ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn defect_3_redelivery_with_the_kill_switch_off_reads_the_commands_and_sends_no_verify() {
    let Some((w, _inst, id)) = crashed_after_commands_sent(
        "defect_3_redelivery_with_the_kill_switch_off_reads_the_commands_and_sends_no_verify",
    )
    .await
    else {
        return;
    };
    w.set_mode("off").await;

    let run = w.serve_redelivery().await;
    let phases = w.phases_of(&id).await;
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        sent,
        vec!["precheck", "commands"],
        "verify is never sent with the switch off; commands never twice"
    );
    assert_eq!(
        run.outcomes(),
        vec![("killed".to_owned(), "deleted".to_owned())],
        "{}",
        run.show()
    );
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "killed", "{fin:#}");
    let mut recorded = str_list(&fin["command_ids"]);
    recorded.sort();
    let mut ran: Vec<String> = phases.iter().map(|(_, id)| id.clone()).collect();
    ran.sort();
    assert_eq!(
        recorded, ran,
        "history lists the precheck and the commands that ran (it said: {:?})",
        fin["reason"]
    );
    let names_verify = fin["failed_phase"] == "verify"
        || fin["reason"].as_str().is_some_and(|r| r.contains("verify"));
    assert!(names_verify, "history names the phase not sent: {fin:#}");
    let claim = w.claim(&id).await.expect("a claim");
    assert_eq!(claim["state"], "done", "{claim:#}");
    assert_eq!(claim["outcome"], "killed", "{claim:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn defect_3_redelivery_after_the_role_tag_changed_resumes_with_the_claims_role() {
    let Some((w, inst, id)) = crashed_after_commands_sent(
        "defect_3_redelivery_after_the_role_tag_changed_resumes_with_the_claims_role",
    )
    .await
    else {
        return;
    };
    create_tag(&w.url, &inst, "Role", "web");
    assert_eq!(
        tag_of(&w.c, &inst, "Role").await.as_deref(),
        Some("web"),
        "the instance's role tag changed"
    );

    let run = w.serve_redelivery().await;
    let phases = w.phases_of(&id).await;
    assert_eq!(
        count_phase(&phases, "commands"),
        1,
        "never a second commands phase: {phases:?}"
    );
    assert_eq!(
        run.outcomes(),
        vec![("healed".to_owned(), "deleted".to_owned())],
        "the redelivery resumes with the role the claim was taken for: {}",
        run.show()
    );
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(sent, vec!["precheck", "commands", "verify"]);
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "healed", "{fin:#}");
    assert_eq!(fin["role"], "api", "{fin:#}");
    assert_eq!(str_list(&fin["command_ids"]).len(), 3, "{fin:#}");
}

// ---------------------------------------------------------------------------------------------
// Defect 4: later copies never overwrite the final history record
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn defect_4_a_later_copy_under_the_kill_switch_does_not_overwrite_healed() {
    let Some(w) = world(
        "defect_4_a_later_copy_under_the_kill_switch_does_not_overwrite_healed",
        THREE_PHASES,
        30,
    )
    .await
    else {
        return;
    };
    let inst = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &inst, "ALARM").await;
    let time = "2026-11-23T05:05:05.000+0000";
    let id = identity("api:nginx_down", time, &inst);
    let message = alarm_message("api:nginx_down", &inst, "ALARM", time);
    w.publish(&message).await;
    let first = w.serve_ok();
    assert_eq!(
        first.outcomes(),
        vec![("healed".to_owned(), "deleted".to_owned())],
        "{}",
        first.show()
    );

    w.set_mode("off").await;
    w.publish(&message).await;
    let second = w.serve_ok();
    assert_eq!(second.outcomes().len(), 1, "{}", second.show());

    let cid = claim_id(&id);
    let history = w.history().await;
    let fin = w.final_record(&id).await;
    assert_eq!(
        fin["outcome"], "healed",
        "the final record of {id} was overwritten by the second copy ({}); history: {history:#?}",
        second.stdout
    );
    assert_eq!(str_list(&fin["command_ids"]).len(), 3, "{fin:#}");
    let dups: Vec<&Value> = history
        .iter()
        .filter(|h| {
            h["sk"]
                .as_str()
                .is_some_and(|s| s.starts_with(&format!("{cid}#dup#")))
        })
        .collect();
    assert_eq!(
        dups.len(),
        1,
        "the second copy is recorded beside the final record: {history:#?}"
    );
    assert_eq!(dups[0]["outcome"], "duplicate", "{:#}", dups[0]);
    let claim = w.claim(&id).await.expect("a claim");
    assert_eq!(claim["outcome"], "healed", "{claim:#}");
    assert_eq!(
        w.commands().await.len(),
        3,
        "nothing ran for the second copy"
    );
}

// ---------------------------------------------------------------------------------------------
// Defect 5: the live alarm re-check is bound to the instance
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn defect_5_an_alarm_watching_a_does_not_heal_b() {
    let Some(w) = world(
        "defect_5_an_alarm_watching_a_does_not_heal_b",
        THREE_PHASES,
        30,
    )
    .await
    else {
        return;
    };
    let a = run_instance(&w.url, &[("Role", "api")]);
    let b = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &a, "ALARM").await;
    let time = "2026-11-23T06:06:06.000+0000";
    let id = identity("api:nginx_down", time, &b);
    w.publish(&alarm_message("api:nginx_down", &b, "ALARM", time))
        .await;
    let run = w.serve_ok();
    let commands = w.commands().await;
    assert!(
        commands.is_empty(),
        "alarm api:nginx_down watches {a}, the message names {b}: nothing may run, but SSM got {:?}",
        commands
            .iter()
            .map(|c| (c.comment().unwrap_or_default(), c.instance_ids()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        run.outcomes(),
        vec![("unresolved".to_owned(), "deleted".to_owned())],
        "{}",
        run.show()
    );
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "unresolved", "{fin:#}");
    let reason = fin["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&b) || reason.contains("watch"),
        "the reason says the alarm does not watch {b}: {reason:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Defect 6: the attempt budget holds per runbook entry, through wildcards
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn defect_6_a_wildcard_entry_with_one_attempt_heals_an_instance_once() {
    let Some(w) = world(
        "defect_6_a_wildcard_entry_with_one_attempt_heals_an_instance_once",
        r#"{"api:*": {"max_attempts": 1, "commands": ["true"]}}"#,
        30,
    )
    .await
    else {
        return;
    };
    let inst = run_instance(&w.url, &[("Role", "api")]);
    let tag = unique("d6");
    let mut outcomes = Vec::new();
    // One alert per run: no capacity wait between them, so only the budget can refuse.
    for n in 1..=5 {
        let alert = json!({"id": format!("{tag}-a{n}"), "role": "api", "alert": format!("a{n}"), "instance_id": inst});
        w.publish(&alert.to_string()).await;
        let run = w.serve_ok();
        let o = run.outcomes();
        assert_eq!(o.len(), 1, "{}", run.show());
        outcomes.push(o[0].0.clone());
    }
    let commands: Vec<String> = w
        .commands()
        .await
        .iter()
        .map(|c| c.comment().unwrap_or_default().to_owned())
        .filter(|c| c.ends_with(" commands"))
        .collect();
    assert_eq!(
        commands.len(),
        1,
        "api:* allows one attempt per instance, five alert names got {} commands (outcomes {outcomes:?})",
        commands.len()
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "healed").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "budget-exhausted").count(),
        4,
        "{outcomes:?}"
    );
    let finals = w
        .history()
        .await
        .into_iter()
        .filter(|h| h["outcome"] == "budget-exhausted")
        .count();
    assert_eq!(finals, 4, "four budget-exhausted history records");
}

// ---------------------------------------------------------------------------------------------
// Defect 7: one runbook element is one unit of shell (a heredoc included) and no failure hides
// ---------------------------------------------------------------------------------------------

/// The script SSM receives, as moto recorded it, is run in a real `sh`: the multi-line heredoc
/// element writes exactly its own lines, the failing element stops the script with its number,
/// and nothing after it runs. (Before the fix this runbook was refused — elements had to be one
/// line — and a heredoc split over elements got the wrapper's check lines written into it.)
#[tokio::test(flavor = "multi_thread")]
async fn defect_7_a_heredoc_element_runs_as_one_unit_and_a_failure_is_not_hidden() {
    let dir = std::env::temp_dir().join(unique("d7"));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = dir.join("out.txt");
    let runbooks = json!({
        "api:*": {"commands": [
            format!("cat > '{}' <<'EOF'\nline one\n  line two with $HOME and `backticks`\nEOF", out.display()),
            "test -s '/nonexistent/selfheal/d7'",
            format!("echo never >> '{}'", out.display()),
        ]}
    });
    let Some(w) = world(
        "defect_7_a_heredoc_element_runs_as_one_unit_and_a_failure_is_not_hidden",
        &runbooks.to_string(),
        30,
    )
    .await
    else {
        return;
    };
    let inst = run_instance(&w.url, &[("Role", "api")]);
    let alert =
        json!({"id": unique("d7"), "role": "api", "alert": "config_drift", "instance_id": inst});
    w.publish(&alert.to_string()).await;
    let run = w.serve_ok();
    assert_eq!(run.outcomes().len(), 1, "{}", run.show());
    let commands = w.commands().await;
    let phase = commands
        .iter()
        .find(|c| c.comment().unwrap_or_default().ends_with(" commands"))
        .expect("the commands phase reached SSM");
    let lines = phase
        .parameters()
        .and_then(|p| p.get("commands"))
        .cloned()
        .unwrap_or_default();
    // SSM joins the `commands` parameter with newlines into the script it runs.
    let script = lines.join("\n");
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(
        ran.status.code(),
        Some(1),
        "the failing element fails the script: {stderr}"
    );
    assert!(
        stderr.contains("selfheal: commands line 2 of 3 failed with exit 1"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&out).expect("the heredoc wrote its file");
    assert_eq!(
        written, "line one\n  line two with $HOME and `backticks`\n",
        "exactly the heredoc's lines, nothing of the wrapper, nothing after the failure"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Defect 8: an approval request nobody answers ends by itself
// ---------------------------------------------------------------------------------------------

/// SLOW: waits for a one-minute approval request to expire (about 65 s).
#[tokio::test(flavor = "multi_thread")]
async fn defect_8_an_unanswered_approval_request_expires_and_is_escalated() {
    let Some(mut w) = world(
        "defect_8_an_unanswered_approval_request_expires_and_is_escalated",
        r#"{
  "api:nginx_down": {"mode": "approve", "precheck": ["true"], "commands": ["systemctl restart nginx"],
                     "verify": ["true"], "approvers": ["U0ALICE"]}
}"#,
        30,
    )
    .await
    else {
        return;
    };
    let (esc_topic, esc_queue, _) =
        selfheal_aws::local::topic_and_queue(&w.c, &unique("reg-esc"), 30)
            .await
            .expect("escalation topic");
    w.env.push(("SELFHEAL_ESCALATION_TOPIC_ARN", esc_topic));
    w.env.push(("SELFHEAL_APPROVAL_TTL_MINUTES", "1".into()));
    let inst = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &inst, "ALARM").await;
    let time = "2026-11-23T08:08:08.000+0000";
    let id = identity("api:nginx_down", time, &inst);
    w.publish(&alarm_message("api:nginx_down", &inst, "ALARM", time))
        .await;
    let requested = Instant::now();
    let run = w.serve_ok();
    assert_eq!(
        run.outcomes(),
        vec![("awaiting-approval".to_owned(), "deleted".to_owned())],
        "{}",
        run.show()
    );
    // Nothing escalated yet (drain whatever the request itself published).
    let _ = drain(&w.c, &esc_queue).await;

    let wait = Duration::from_secs(63).saturating_sub(requested.elapsed());
    eprintln!("defect 8: waiting {wait:?} for the approval request to expire");
    tokio::time::sleep(wait).await;

    // An empty queue: the receive first finishes the expired requests.
    let run = w.serve_ok();
    let claim = w.claim(&id).await.expect("a claim");
    assert_eq!(
        (claim["state"].as_str(), claim["outcome"].as_str()),
        (Some("done"), Some("expired")),
        "a request nobody answered ends at expiry without a human (serve said {:?}): {claim:#}",
        run.stdout
    );
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "expired", "{fin:#}");
    let phases = w.phases_of(&id).await;
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(sent, vec!["precheck"], "nothing beyond the precheck ran");
    let escalations = drain(&w.c, &esc_queue).await;
    assert!(
        escalations.iter().any(|e| e["outcome"] == "expired"),
        "the expiry is escalated: {escalations:#?}"
    );
}

/// Every message on an SNS-subscribed queue, as the JSON of its `Message` (deleted after).
async fn drain(c: &AwsClients, queue: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let got = c
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive");
        let msgs = got.messages.unwrap_or_default();
        if msgs.is_empty() {
            return all;
        }
        for m in msgs {
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or_default()).unwrap_or(Value::Null);
            let inner = envelope["Message"]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(envelope);
            all.push(inner);
            if let Some(h) = m.receipt_handle() {
                let _ = c
                    .sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(h)
                    .send()
                    .await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Defect 9: an approval is bound to the claim's runbook key
// ---------------------------------------------------------------------------------------------

const SIGNING_SECRET: &str = "regression-signing-secret";
const CHANNEL: &str = "C0APPROVE";

#[derive(Default)]
struct Replies(std::sync::Mutex<Vec<Value>>);

#[async_trait::async_trait]
impl slack_approvals::Responder for Replies {
    async fn respond(&self, _url: &str, message: &Value) {
        if let Ok(mut v) = self.0.lock() {
            v.push(message.clone());
        }
    }
}

/// A `block_actions` click, form-encoded and signed like Slack does.
fn click(user: &str, value: &str, message_ts: &str) -> slack_approvals::HttpRequest {
    use selfheal_aws::slack::blocks::ACTIONS_BLOCK_ID;
    use selfheal_core::approval::sign;
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": user.to_lowercase()},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "message": {"ts": message_ts, "blocks": [{"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": []}]},
        "response_url": "https://hooks.slack.com/actions/T1/1/regression",
        "actions": [{"action_id": "selfheal_run", "block_id": ACTIONS_BLOCK_ID, "type": "button", "value": value, "action_ts": format!("{}.000200", now_ms() / 1000)}]
    });
    let mut body = String::from("payload=");
    for b in payload.to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            body.push(char::from(b));
        } else {
            body.push_str(&format!("%{b:02X}"));
        }
    }
    let ts = (now_ms() / 1000).to_string();
    let sig = sign(SIGNING_SECRET.as_bytes(), &ts, body.as_bytes());
    slack_approvals::HttpRequest {
        headers: [
            ("x-slack-request-timestamp".to_owned(), ts),
            ("x-slack-signature".to_owned(), sig),
        ]
        .into_iter()
        .collect(),
        body: body.into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn defect_9_an_approval_for_another_runbook_key_is_invalid() {
    const RUNBOOKS: &str = r#"{
  "api:nginx_down": {"mode": "approve", "precheck": ["true"], "commands": ["systemctl restart nginx"],
                     "verify": ["true"], "approvers": ["U0ALICE"]},
  "web:disk_full": {"mode": "approve", "commands": ["rm -rf /var/cache/web"], "approvers": ["U0MALLORY"]}
}"#;
    let Some(w) = world(
        "defect_9_an_approval_for_another_runbook_key_is_invalid",
        RUNBOOKS,
        30,
    )
    .await
    else {
        return;
    };
    let inst = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &inst, "ALARM").await;
    let time = "2026-11-23T09:09:09.000+0000";
    let id = identity("api:nginx_down", time, &inst);
    w.publish(&alarm_message("api:nginx_down", &inst, "ALARM", time))
        .await;
    let run = w.serve_ok();
    assert_eq!(
        run.outcomes(),
        vec![("awaiting-approval".to_owned(), "deleted".to_owned())],
        "{}",
        run.show()
    );
    let before = w.claim(&id).await.expect("a claim");
    assert_eq!(before["state"], "awaiting-approval", "{before:#}");

    // Mallory may approve web:disk_full, not api:nginx_down. A button value for this claim's
    // identity but carrying her key passes slack-approvals' allow-list check, which writes the
    // record and queues the approval: record and message agree with each other.
    let value = serde_json::to_string(&selfheal_core::approval::ButtonValue::new(
        &id,
        "web:disk_full",
        now_ms(),
        30 * 60 * 1000,
    ))
    .expect("button value");
    let map = selfheal_core::runbook::load(
        &[selfheal_core::runbook::RunbookSource {
            name: "r.json",
            text: RUNBOOKS,
        }],
        &selfheal_core::runbook::LoadOptions::default(),
    )
    .expect("runbooks")
    .0;
    let app = slack_approvals::App {
        signing_secret: selfheal_aws::slack::Secret::new(SIGNING_SECRET),
        runbooks: std::sync::Arc::new(map),
        default_group: None,
        ttl_ms: 30 * 60 * 1000,
        store: std::sync::Arc::new(slack_approvals::adapters::DynamoApprovalStore::new(
            w.c.dynamodb.clone(),
            w.table.clone(),
        )),
        queue: std::sync::Arc::new(slack_approvals::adapters::SqsApprovalQueue::new(
            w.c.sqs.clone(),
            w.queue.clone(),
        )),
        directory: None,
        responder: std::sync::Arc::new(Replies::default()),
    };
    let message_ts = format!("{}.000100", now_ms() / 1000);
    let pressed =
        slack_approvals::handle(&app, &click("U0MALLORY", &value, &message_ts), now_ms()).await;
    assert_eq!(
        pressed.status, 200,
        "slack-approvals accepts the press (it checks the button's key): {:?}",
        pressed.body
    );

    let run = w.serve_ok();
    let phases = w.phases_of(&id).await;
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        sent,
        vec!["precheck"],
        "an approval whose key (web:disk_full) is not the claim's (api:nginx_down) runs nothing; serve said: {}",
        run.stdout
    );
    assert_eq!(
        run.outcomes(),
        vec![("invalid".to_owned(), "deleted".to_owned())],
        "{}",
        run.show()
    );
    let after = w.claim(&id).await.expect("a claim");
    assert_eq!(after["state"], "awaiting-approval", "{after:#}");
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "awaiting-approval", "{fin:#}");
}

// ---------------------------------------------------------------------------------------------
// The same alert twice in one batch
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn twin_in_one_batch_is_a_duplicate_at_once_and_the_queue_is_empty() {
    let Some(w) = world(
        "twin_in_one_batch_is_a_duplicate_at_once_and_the_queue_is_empty",
        THREE_PHASES,
        30,
    )
    .await
    else {
        return;
    };
    let inst = run_instance(&w.url, &[("Role", "api")]);
    alarm(&w.c, "api:nginx_down", &inst, "ALARM").await;
    let time = "2026-11-23T07:07:07.000+0000";
    let id = identity("api:nginx_down", time, &inst);
    let message = alarm_message("api:nginx_down", &inst, "ALARM", time);
    w.publish(&message).await;
    w.publish(&message).await;
    let run = w.serve_ok();
    let mut outcomes = run.outcomes();
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![
            ("duplicate".to_owned(), "deleted".to_owned()),
            ("healed".to_owned(), "deleted".to_owned())
        ],
        "{}",
        run.show()
    );
    assert_eq!(
        queue_depth(&w.c, &w.queue).await,
        0,
        "nothing goes back to the queue after one serve --once"
    );
    let phases = w.phases_of(&id).await;
    let sent: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(sent, vec!["precheck", "commands", "verify"]);
    let fin = w.final_record(&id).await;
    assert_eq!(fin["outcome"], "healed", "{fin:#}");
    let cid = claim_id(&id);
    let dups = w
        .history()
        .await
        .into_iter()
        .filter(|h| {
            h["sk"]
                .as_str()
                .is_some_and(|s| s.starts_with(&format!("{cid}#dup#")))
        })
        .count();
    assert_eq!(dups, 1, "the twin is recorded as a duplicate");
}
