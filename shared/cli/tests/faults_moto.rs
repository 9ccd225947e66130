//! Issue 16, defect 1, end to end: SendCommand is never repeated by the SDK, even when SSM
//! created the command and its answer was lost; the engine's claim → ListCommands-by-comment
//! recovery is the only retry, so every phase runs exactly once.
//!
//! moto runs behind the fault-injecting layer of `tests/moto/faults.py` (rules set through
//! `selfheal_aws::local::set_faults`, calls read back with `fault_calls`). Each test builds its own
//! world: a table, topic → queue with a 1 s visibility timeout, the mode parameter, two `api`
//! instances, a real alarm in ALARM on one of them, runbooks in a temp dir. `selfheal serve
//! --once` runs as a child process, round after round (claims are owned for 1 s), until the queue
//! is empty.
//!
//! `SELFHEAL_REQUIRE_MOTO=1 cargo test --workspace --features selfheal/failpoints --test faults_moto`

mod support;
use selfheal_aws::local::{fault_calls, set_faults, FaultCall};
use selfheal_aws::{AwsClients, DynamoStateStore};
use selfheal_core::claim_id;
use selfheal_core::history::HistoryRecord;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const MODE_PARAM: &str = "/selfheal/mode";
const ALARM: &str = "api:nginx_down";
const SEND: &str = "AmazonSSM.SendCommand";
const RUNBOOKS: &str = r#"{
  "api:nginx_down": {"precheck": ["true"], "commands": ["systemctl restart nginx"], "verify": ["true"]}
}"#;

struct World {
    _moto: Moto,
    url: String,
    c: AwsClients,
    topic: String,
    queue: String,
    table: String,
    runbooks: PathBuf,
    instance: String,
    other: String,
}

/// What one `serve --once` printed and how long it took.
struct Round {
    stdout: String,
    stderr: String,
    took: Duration,
}

async fn world(test: &str) -> Option<World> {
    let moto = start_moto(test)?;
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("faults");
    create_table(&c, &table).await;
    let (topic, queue, _dlq) = selfheal_aws::local::topic_and_queue(&c, &unique("faults"), 1)
        .await
        .expect("topic and queue");
    selfheal_aws::local::put_parameter(&c, MODE_PARAM, "enforce")
        .await
        .expect("mode parameter");
    let instance = run_instance(&url, &[("Role", "api")]);
    let other = run_instance(&url, &[("Role", "api")]);
    let runbooks = write_runbooks(&std::env::temp_dir().join(unique("faults-rb")), RUNBOOKS);
    Some(World {
        _moto: moto,
        url,
        c,
        topic,
        queue,
        table,
        runbooks,
        instance,
        other,
    })
}

impl World {
    /// A real alarm in ALARM on the instance, and its notification published to the topic.
    /// Returns the alert's claim identity.
    async fn alert(&self) -> String {
        let time = "2026-11-23T03:03:12.214+0000";
        alarm(&self.c, ALARM, &self.instance, "ALARM").await;
        self.c
            .sns
            .publish()
            .topic_arn(&self.topic)
            .message(alarm_message(ALARM, &self.instance, "ALARM", time))
            .send()
            .await
            .expect("published");
        format!(
            "alarm|arn:aws:cloudwatch:{REGION}:123456789012:alarm:{ALARM}|{time}|{}",
            self.instance
        )
    }

    /// `selfheal serve --queue-url Q --once` (must exit 0).
    fn serve(&self, env: &[(&str, &str)]) -> Round {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_selfheal"));
        cmd.args(["serve", "--queue-url", &self.queue, "--once"]);
        for k in [
            "SELFHEAL_FAILPOINTS",
            "SELFHEAL_CHAT_TOPIC_ARN",
            "SELFHEAL_ESCALATION_TOPIC_ARN",
            "SELFHEAL_SLACK_WEBHOOK_URL",
            "SELFHEAL_SLACK_WEBHOOK_PARAM",
            "SELFHEAL_SLACK_TOKEN_PARAM",
            "SELFHEAL_SLACK_CHANNEL",
            "SELFHEAL_AWS_CONNECT_TIMEOUT_MS",
            "SELFHEAL_AWS_ATTEMPT_TIMEOUT_MS",
            "SELFHEAL_AWS_OPERATION_TIMEOUT_MS",
            "SELFHEAL_SSM_SEND_TIMEOUT_MS",
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
            .env("SELFHEAL_CLAIM_LEASE_SECONDS", "1")
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().expect("selfheal serve runs");
        let round = Round {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took: started.elapsed(),
        };
        assert!(
            out.status.success(),
            "serve failed ({:?}):\n{}\n{}",
            out.status,
            round.stdout,
            tail(&round.stderr)
        );
        round
    }

    /// `serve --once` rounds until the queue is empty (at most 30); returns every round.
    async fn drain(&self, env: &[(&str, &str)]) -> Vec<Round> {
        let mut rounds = Vec::new();
        for _ in 0..30 {
            rounds.push(self.serve(env));
            if queue_depth(&self.c, &self.queue).await == 0 {
                return rounds;
            }
            // The message comes back after the 1 s visibility timeout, the claim after 1 s.
            tokio::time::sleep(Duration::from_millis(1_100)).await;
        }
        panic!("the queue never drained:\n{}", show(&rounds));
    }

    /// Every SSM command moto recorded (its ListCommands ignores filters: all of them).
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

    /// (phase, command id) of every command sent for `identity`, oldest first.
    async fn phases_of(&self, identity: &str) -> Vec<(String, String)> {
        let prefix = format!("selfheal {} ", claim_id(identity));
        let mut v: Vec<(i64, String, String)> = self
            .commands()
            .await
            .into_iter()
            .filter_map(|c| {
                let phase = c.comment().unwrap_or_default().strip_prefix(&prefix)?;
                let at = c
                    .requested_date_time()
                    .map_or(0, |d| d.to_millis().unwrap_or(0));
                Some((
                    at,
                    phase.to_owned(),
                    c.command_id().unwrap_or_default().to_owned(),
                ))
            })
            .collect();
        v.sort_by_key(|(at, _, _)| *at);
        v.into_iter().map(|(_, p, id)| (p, id)).collect()
    }

    /// History records of the days around now.
    async fn history(&self) -> Vec<HistoryRecord> {
        let store = DynamoStateStore::new(self.c.dynamodb.clone(), self.table.clone());
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0),
        )
        .unwrap_or(0);
        let mut days = vec![
            selfheal_service::day_string(now - 120_000),
            selfheal_service::day_string(now),
        ];
        days.dedup();
        let mut all = Vec::new();
        for day in days {
            all.extend(store.query_history_day(&day).await.expect("history"));
        }
        all
    }

    async fn sends(&self) -> Vec<FaultCall> {
        fault_calls(&self.url)
            .await
            .expect("calls")
            .into_iter()
            .filter(|c| c.operation == SEND)
            .collect()
    }

    /// Exactly one command per phase, each on exactly the alert's instance, and one final
    /// `healed` record naming exactly those commands. Returns the command ids.
    async fn assert_healed_once(&self, identity: &str, rounds: &[Round]) -> Vec<String> {
        let phases = self.phases_of(identity).await;
        let names: Vec<&str> = phases.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            ["precheck", "commands", "verify"],
            "exactly one command per phase: {phases:?}\n{}",
            show(rounds)
        );
        let all = self.commands().await;
        assert_eq!(all.len(), 3, "no other command anywhere: {all:#?}");
        for cmd in &all {
            assert_eq!(
                cmd.instance_ids(),
                std::slice::from_ref(&self.instance),
                "exactly that instance, never {}",
                self.other
            );
            assert!(cmd.targets().is_empty(), "never Targets");
        }
        let ids: Vec<String> = phases.into_iter().map(|(_, id)| id).collect();

        let cid = claim_id(identity);
        let history = self.history().await;
        let finals: Vec<&HistoryRecord> = history.iter().filter(|h| h.sort == cid).collect();
        assert_eq!(finals.len(), 1, "one final record: {history:#?}");
        let h = finals[0];
        assert_eq!(h.outcome, "healed", "{h:#?}\n{}", show(rounds));
        assert_eq!(
            h.command_ids, ids,
            "the record names exactly those commands"
        );
        assert_eq!(h.instance.as_deref(), Some(self.instance.as_str()));
        ids
    }
}

fn tail(s: &str) -> &str {
    let n = 4000;
    if s.len() <= n {
        return s;
    }
    let mut start = s.len() - n;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn show(rounds: &[Round]) -> String {
    rounds
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "--- round {} ({:?})\n{}--- stderr (tail)\n{}",
                i + 1,
                r.took,
                r.stdout,
                tail(&r.stderr)
            )
        })
        .collect()
}

/// SendCommand's answer is lost twice (a 500 after moto created the command: the precheck's and
/// the verify's). Before the fix the SDK sent both again: five commands ran, three were recorded.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_send_command_answer_is_never_sent_again() {
    let Some(w) = world("a_lost_send_command_answer_is_never_sent_again").await else {
        return;
    };
    set_faults(
        &w.url,
        &json!([
            {"operation": SEND, "when": "after", "status": 500, "times": 1},
            {"operation": SEND, "body_contains": " verify\"", "when": "after", "status": 500, "times": 1}
        ]),
    )
    .await
    .expect("fault rules");
    let identity = w.alert().await;

    let rounds = w.drain(&[]).await;

    // One SendCommand request per phase attempt: the SDK never sent one again.
    let sends = w.sends().await;
    let statuses: Vec<Option<u16>> = sends.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [Some(500), Some(200), Some(500)],
        "one request per phase, the lost ones included: {sends:#?}\n{}",
        show(&rounds)
    );
    assert!(
        sends.iter().all(|c| c.moto_status == Some(200)),
        "moto created every command: {sends:#?}"
    );
    assert_eq!(sends[0].rule, Some(0));
    assert_eq!(sends[2].rule, Some(1));
    w.assert_healed_once(&identity, &rounds).await;

    // The two lost answers returned the record to the queue; the third delivery healed it.
    let outcomes: Vec<&str> = rounds
        .iter()
        .flat_map(|r| r.stdout.lines())
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest))
        .collect();
    assert_eq!(
        outcomes.last().copied(),
        Some("healed deleted"),
        "{}",
        show(&rounds)
    );
    assert!(
        outcomes.iter().filter(|o| o.ends_with(" returned")).count() >= 2,
        "{}",
        show(&rounds)
    );
}

/// SendCommand's answer comes 8 s after moto created the command; SendCommand's only attempt
/// gives up after 1 s (`SELFHEAL_SSM_SEND_TIMEOUT_MS`). The round ends in time (before the fix
/// there was no timeout: the call hung for the whole delay), nothing is sent again, and the
/// next delivery finds the command by its comment.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_command_slower_than_its_timeout_is_never_sent_again() {
    let Some(w) = world("a_send_command_slower_than_its_timeout_is_never_sent_again").await else {
        return;
    };
    let delay_ms: u64 = 8_000;
    set_faults(
        &w.url,
        &json!([{"operation": SEND, "when": "after", "delay_ms": delay_ms, "times": 1}]),
    )
    .await
    .expect("fault rules");
    let identity = w.alert().await;

    let env = [("SELFHEAL_SSM_SEND_TIMEOUT_MS", "1000")];
    let rounds = w.drain(&env).await;

    assert!(
        rounds[0].took < Duration::from_millis(delay_ms - 2_000),
        "the first round waited for the slow answer instead of timing out: {:?}\n{}",
        rounds[0].took,
        show(&rounds)
    );
    assert!(
        rounds[0].stdout.contains(" returned"),
        "the timed-out send returns the record to the queue: {}",
        show(&rounds)
    );
    let sends = w.sends().await;
    assert_eq!(
        sends.len(),
        3,
        "one SendCommand per phase: {sends:#?}\n{}",
        show(&rounds)
    );
    assert_eq!(sends[0].delay_ms, delay_ms);
    w.assert_healed_once(&identity, &rounds).await;
}
