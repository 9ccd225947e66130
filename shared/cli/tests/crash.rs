//! Crash safety for real (issue 10): `selfheal serve --once` against a local moto_server, killed
//! at randomised points on purpose — the `failpoints` feature makes a named point call
//! `std::process::abort()`, which is as abrupt as SIGKILL there (no destructors, no SQS delete) —
//! then restarted without failpoints until the queue drains. After every drain:
//!
//! - every alert has exactly one final recorded outcome (its claim id's history item), and every
//!   other history item is a duplicate delivery (`<claim id>#dup#<message id>`);
//! - no SSM command was sent twice for one alert phase (ListCommands, filtered client-side by the
//!   comment `selfheal <claim id> <phase>`), and a healed alert has exactly its three phases;
//! - no message is lost: after the drain every published message was processed and deleted, and
//!   nothing is left in the queue or its DLQ.
//!
//! Each round makes 1–3 killed runs — before each, fresh alerts are published (the previous
//! run's messages are still invisible), or the run waits out the lease so that it dies while
//! recovering what an earlier run left — then drains and checks. Kill points are chosen at random,
//! sometimes at a later hit of the point (`1*off->abort`).
//!
//! The seed is printed; rerun one with `SELFHEAL_CRASH_SEED=<seed>`. `SELFHEAL_CRASH_KILLS` sets
//! how many kills the default test makes (default 50). The soak (`--ignored`) makes 300.
//! Claims are owned for 1 s (`SELFHEAL_CLAIM_LEASE_SECONDS`) and the queue's visibility timeout is
//! 1 s, so a restarted process can take over after a short sleep.

mod support;
use selfheal_aws::{AwsClients, DynamoStateStore};
use selfheal_core::claim_id;
use selfheal_service::ports::ClaimState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

/// Budgets of 100 attempts per minute: a long soak heals hundreds of alerts on three instances.
const RUNBOOKS: &str = r#"{
  "api:app_down": {"precheck": ["true"], "commands": ["systemctl restart app"], "verify": ["true"],
                   "max_concurrent": 20, "max_attempts": 100, "window_minutes": 1},
  "api:dry": {"mode": "dry-run", "commands": ["echo would"], "max_attempts": 100, "window_minutes": 1},
  "api:blip": {"commands": ["echo never"], "max_concurrent": 20, "max_attempts": 100, "window_minutes": 1}
}"#;

/// Every kill point the engine defines (shared/service/src/failpoints.rs).
const POINTS: &[&str] = &[
    "before-claim",
    "after-claim",
    "before-send",
    "after-send",
    "during-poll",
    "before-history",
    "after-history",
    "after-finish",
];

/// Claim lease and queue visibility, in seconds; restarts sleep a little longer.
const LEASE_SECONDS: u64 = 1;
const PAUSE: Duration = Duration::from_millis(1_150);

/// A tiny seeded generator (xorshift64*): the test prints its seed so a run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Three phases, healed.
    Heal,
    /// Runbook in dry-run: claimed, nothing sent.
    Dry,
    /// Alarm already OK again: claimed, recovered, nothing sent.
    Blip,
    /// No runbook: recorded before any claim.
    NoRunbook,
}

impl Kind {
    fn alarm(self) -> &'static str {
        match self {
            Kind::Heal => "api:app_down",
            Kind::Dry => "api:dry",
            Kind::Blip => "api:blip",
            Kind::NoRunbook => "api:nothing_for_this",
        }
    }
    fn expected(self) -> &'static str {
        match self {
            Kind::Heal => "healed",
            Kind::Dry => "dry-run",
            Kind::Blip => "recovered",
            Kind::NoRunbook => "no-runbook",
        }
    }
}

struct Alert {
    kind: Kind,
    identity: String,
    /// Messages published for it (a duplicate delivery publishes the same alert twice).
    copies: usize,
}

struct World {
    _moto: Moto,
    url: String,
    c: AwsClients,
    topic: String,
    queue: String,
    dlq: String,
    table: String,
    runbooks: PathBuf,
    workdir: PathBuf,
    instances: Vec<String>,
}

async fn queue_arn(c: &AwsClients, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    c.sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn")
}

async fn world(test: &str) -> Option<World> {
    if !selfheal_service::failpoints::enabled() {
        eprintln!(
            "skipping {test}: failpoints are not compiled in (run `cargo test --workspace --features selfheal/failpoints`)"
        );
        return None;
    }
    let moto = start_moto(test)?;
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("crash");
    create_table(&c, &table).await;
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = unique("crash-alerts");
    let topic = c
        .sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    let dlq = c
        .sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("dlq")
        .queue_url
        .expect("url");
    // A generous redrive limit: every kill costs the messages of its batch one receive.
    let redrive = serde_json::json!({"deadLetterTargetArn": queue_arn(&c, &dlq).await, "maxReceiveCount": "50"});
    let queue = c
        .sqs
        .create_queue()
        .queue_name(&name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            LEASE_SECONDS.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    c.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn(&c, &queue).await)
        .send()
        .await
        .expect("subscribed");
    c.ssm
        .put_parameter()
        .name("/selfheal/mode")
        .value("enforce")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("mode parameter");
    let instances: Vec<String> = (0..3)
        .map(|_| run_instance(&url, &[("Role", "api")]))
        .collect();
    for i in &instances {
        alarm(&c, &format!("api:app_down:{i}"), i, "ALARM").await;
        alarm(&c, &format!("api:dry:{i}"), i, "ALARM").await;
        alarm(&c, &format!("api:blip:{i}"), i, "OK").await;
    }
    let workdir = std::env::temp_dir().join(unique("crash"));
    let runbooks = write_runbooks(&workdir, RUNBOOKS);
    Some(World {
        _moto: moto,
        url,
        c,
        topic,
        queue,
        dlq,
        table,
        runbooks,
        workdir,
        instances,
    })
}

/// How one `serve --once` ended.
struct Run {
    killed_at: Option<String>,
    stdout: String,
    stderr: String,
}

impl World {
    fn serve(&self, failpoints: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_selfheal"));
        cmd.args(["serve", "--queue-url", &self.queue, "--once"]);
        // Cores of the aborted processes (if enabled at all) land in the scratch directory.
        cmd.current_dir(&self.workdir);
        for k in [
            "SELFHEAL_FAILPOINTS",
            "SELFHEAL_CHAT_TOPIC_ARN",
            "SELFHEAL_ESCALATION_TOPIC_ARN",
            "SELFHEAL_SLACK_WEBHOOK_URL",
            "SELFHEAL_SLACK_WEBHOOK_PARAM",
            "SELFHEAL_SLACK_TOKEN_PARAM",
            "SELFHEAL_ROLE_TAG",
            "SELFHEAL_ACCOUNT_ID",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in aws_env(&self.url) {
            cmd.env(k, v);
        }
        cmd.env("SELFHEAL_TABLE", &self.table)
            .env("SELFHEAL_MODE_PARAM", "/selfheal/mode")
            .env("SELFHEAL_RUNBOOKS", &self.runbooks)
            .env("SELFHEAL_CLAIM_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("SELFHEAL_MAX_PER_HOUR", "100000")
            .env("RUST_LOG", "warn");
        if let Some(spec) = failpoints {
            cmd.env("SELFHEAL_FAILPOINTS", spec);
        }
        let out = cmd.output().expect("selfheal serve runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let killed_at = if out.status.signal() == Some(6) {
            let point = stderr
                .lines()
                .find_map(|l| {
                    l.strip_prefix("failpoint ")
                        .and_then(|r| r.strip_suffix(": abort"))
                })
                .unwrap_or("?")
                .to_owned();
            Some(point)
        } else {
            assert!(
                out.status.success(),
                "serve failed ({:?}): {stderr}",
                out.status
            );
            None
        };
        Run {
            killed_at,
            stdout,
            stderr,
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

    async fn depth(&self, url: &str) -> usize {
        use aws_sdk_sqs::types::QueueAttributeName;
        let attrs = self
            .c
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("attributes")
            .attributes
            .unwrap_or_default();
        attrs
            .values()
            .map(|v| v.parse::<usize>().unwrap_or(0))
            .sum()
    }

    async fn visible(&self, url: &str) -> usize {
        use aws_sdk_sqs::types::QueueAttributeName;
        self.c
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .expect("attributes")
            .attributes
            .and_then(|a| {
                a.get(&QueueAttributeName::ApproximateNumberOfMessages)
                    .cloned()
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Every SSM command (moto ignores ListCommands' Filters: filter client-side).
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

    async fn history(
        &self,
        days: &BTreeMap<String, ()>,
    ) -> Vec<selfheal_core::history::HistoryRecord> {
        let store = DynamoStateStore::new(self.c.dynamodb.clone(), self.table.clone());
        let mut all = Vec::new();
        for day in days.keys() {
            all.extend(store.query_history_day(day).await.expect("history"));
        }
        all
    }
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
    )
    .unwrap_or(0)
}

/// The claim identity of a CloudWatch alarm notification (see `selfheal_core::ingest`).
fn identity(alarm: &str, time: &str, instance: &str) -> String {
    format!("alarm|arn:aws:cloudwatch:{REGION}:123456789012:alarm:{alarm}|{time}|{instance}")
}

/// Tally of one campaign, printed at the end.
#[derive(Default)]
struct Tally {
    kills: usize,
    misses: usize,
    by_point: BTreeMap<String, usize>,
    restarts: usize,
    published: usize,
    deleted: HashSet<String>,
    serving: Duration,
    checking: Duration,
    /// Every run's printed lines (`run N [failpoints]: MESSAGE_ID OUTCOME DISPOSITION`), shown
    /// when a check fails.
    log: Vec<String>,
}

async fn campaign(test: &str, kills_wanted: usize) {
    let Some(w) = world(test).await else { return };
    let seed = std::env::var("SELFHEAL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| u64::try_from(now_ms()).unwrap_or(1) | 1);
    eprintln!(
        "{test}: seed {seed} (rerun with SELFHEAL_CRASH_SEED={seed}), {kills_wanted} kills wanted"
    );
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut days = BTreeMap::new();
    days.insert(selfheal_service::day_string(now_ms()), ());
    let mut alerts: Vec<Alert> = Vec::new();
    let mut t = Tally::default();
    let mut round = 0usize;
    while t.kills < kills_wanted {
        round += 1;
        assert!(
            round <= kills_wanted * 4,
            "too many rounds without reaching a kill point: {} kills, {} misses",
            t.kills,
            t.misses
        );
        // 1–3 killed runs, then a drain. Before each killed run either fresh alerts are published
        // (the messages the previous killed run took are still invisible, so no pause is needed),
        // or — one time in four, not first — the run waits for the lease and visibility to pass
        // so that it dies while *recovering* what an earlier run left behind.
        let kills_this_round = 1 + rng.below(3);
        for k in 0..kills_this_round {
            if k > 0 && rng.below(4) == 0 {
                std::thread::sleep(PAUSE);
            } else {
                publish_some(&w, &mut rng, &mut alerts, &mut t, round, k).await;
            }
            let point = POINTS[rng.below(POINTS.len())];
            let skip = [0, 0, 0, 0, 1, 2][rng.below(6)];
            let spec = format!("{point}={skip}*off->abort");
            let t0 = Instant::now();
            let run = w.serve(Some(&spec));
            t.serving += t0.elapsed();
            record_deletions(&run.stdout, &mut t);
            match run.killed_at {
                Some(at) => {
                    t.kills += 1;
                    *t.by_point.entry(at).or_default() += 1;
                }
                None => t.misses += 1,
            }
        }
        // Restart without failpoints until nothing is left: past the lease and the visibility
        // timeout when nothing is visible, at once when messages are waiting.
        let mut tries = 0;
        loop {
            if w.visible(&w.queue).await == 0 {
                std::thread::sleep(PAUSE);
            }
            let t0 = Instant::now();
            let run = w.serve(None);
            t.serving += t0.elapsed();
            t.restarts += 1;
            record_deletions(&run.stdout, &mut t);
            if w.depth(&w.queue).await == 0 {
                break;
            }
            tries += 1;
            assert!(
                tries < 20,
                "round {round}: the queue does not drain; last run:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
        days.insert(selfheal_service::day_string(now_ms()), ());
        let t0 = Instant::now();
        check(&w, &alerts, &days, &t, round).await;
        t.checking += t0.elapsed();
    }
    // At the end, every claim of a claimed alert is done.
    let store = DynamoStateStore::new(w.c.dynamodb.clone(), w.table.clone());
    for a in alerts.iter().filter(|a| a.kind != Kind::NoRunbook) {
        let claim = store
            .get_claim(&a.identity)
            .await
            .expect("claim read")
            .expect("a claim exists");
        assert_eq!(claim.state, ClaimState::Done, "{}: {claim:?}", a.identity);
    }
    eprintln!(
        "{test}: {} kills ({} runs reached no kill point) over {round} rounds, {} clean restarts, {} alerts / {} messages, {:.1} s ({:.1} s in serve, {:.1} s checking); kills by point: {:?}",
        t.kills,
        t.misses,
        t.restarts,
        alerts.len(),
        t.published,
        started.elapsed().as_secs_f64(),
        t.serving.as_secs_f64(),
        t.checking.as_secs_f64(),
        t.by_point
    );
    assert!(
        t.by_point.len() >= 6,
        "too few distinct kill points reached: {:?}",
        t.by_point
    );
}

/// Publishes 1–3 fresh alerts, mostly remediations; now and then one is delivered twice.
async fn publish_some(
    w: &World,
    rng: &mut Rng,
    alerts: &mut Vec<Alert>,
    t: &mut Tally,
    round: usize,
    batch: usize,
) {
    let fresh = 1 + rng.below(3);
    for j in 0..fresh {
        let kind = match rng.below(10) {
            0 => Kind::Dry,
            1 => Kind::Blip,
            2 => Kind::NoRunbook,
            _ => Kind::Heal,
        };
        let instance = w.instances[rng.below(w.instances.len())].clone();
        let time = format!(
            "2026-11-23T{batch:02}:{j:02}:{:02}.{round:04}+0000",
            rng.below(60)
        );
        // Each instance has its own alarm (`ROLE:ALERT:instance`): the live re-check only
        // accepts an alarm whose configuration names the instance.
        let name = format!("{}:{instance}", kind.alarm());
        let message = alarm_message(&name, &instance, "ALARM", &time);
        let copies = if rng.below(8) == 0 { 2 } else { 1 };
        for _ in 0..copies {
            w.publish(&message).await;
        }
        t.published += copies;
        alerts.push(Alert {
            kind,
            identity: identity(&name, &time, &instance),
            copies,
        });
    }
}

fn record_deletions(stdout: &str, t: &mut Tally) {
    let run = t.kills + t.misses + t.restarts;
    for line in stdout.lines() {
        t.log.push(format!("run {run}: {line}"));
        let parts: Vec<&str> = line.split(' ').collect();
        if let [id, _, "deleted"] = parts.as_slice() {
            t.deleted.insert((*id).to_owned());
        }
    }
}

async fn check(w: &World, alerts: &[Alert], days: &BTreeMap<String, ()>, t: &Tally, round: usize) {
    // No message lost: all processed and deleted; nothing left in the queue or the DLQ.
    let left = w.depth(&w.queue).await + w.depth(&w.dlq).await;
    assert_eq!(
        left, 0,
        "round {round}: {left} messages still queued after the drain"
    );
    assert_eq!(
        t.deleted.len(),
        t.published,
        "round {round}: {} messages deleted, {} published",
        t.deleted.len(),
        t.published
    );

    // Exactly one final outcome per alert; everything else is a duplicate delivery.
    let history = w.history(days).await;
    let mut by_sort: HashMap<&str, Vec<&selfheal_core::history::HistoryRecord>> = HashMap::new();
    for h in &history {
        by_sort.entry(h.sort.as_str()).or_default().push(h);
    }
    let mut expected_sorts = HashSet::new();
    for a in alerts {
        let cid = claim_id(&a.identity);
        let finals = by_sort.get(cid.as_str()).cloned().unwrap_or_default();
        if finals.len() != 1 {
            let related: Vec<String> = history
                .iter()
                .filter(|h| h.sort.starts_with(cid.as_str()))
                .map(|h| format!("{} = {} ({})", h.sort, h.outcome, h.reason))
                .collect();
            let store = DynamoStateStore::new(w.c.dynamodb.clone(), w.table.clone());
            let claim = store.get_claim(&a.identity).await;
            eprintln!(
                "round {round}: {} has {} final records\n  claim: {claim:?}\n  records: {related:#?}\n  runs:\n{}",
                a.identity,
                finals.len(),
                t.log.join("\n")
            );
        }
        assert_eq!(
            finals.len(),
            1,
            "round {round}: alert {} ({:?}) has {} final records: {finals:?}",
            a.identity,
            a.kind,
            finals.len()
        );
        assert_eq!(
            finals[0].outcome,
            a.kind.expected(),
            "round {round}: {} ended {:?}",
            a.identity,
            finals[0]
        );
        assert_eq!(finals[0].identity, a.identity);
        expected_sorts.insert(cid);
    }
    for h in &history {
        if expected_sorts.contains(&h.sort) {
            continue;
        }
        let (cid, _msg) = h
            .sort
            .split_once("#dup#")
            .unwrap_or_else(|| panic!("round {round}: stray history item {h:?}"));
        assert!(
            expected_sorts.contains(cid),
            "round {round}: duplicate of an unknown alert: {h:?}"
        );
        assert_eq!(h.outcome, "duplicate", "round {round}: {h:?}");
    }
    // Duplicates only where a copy was published twice or a run died after the claim was done.
    let dups = history.iter().filter(|h| h.outcome == "duplicate").count();
    assert!(dups <= t.published, "round {round}: {dups} duplicates");

    // No SSM command twice for one alert phase; a healed alert has exactly its three phases.
    let commands = w.commands().await;
    let mut per_comment: HashMap<String, Vec<String>> = HashMap::new();
    for c in &commands {
        let comment = c.comment().unwrap_or_default().to_owned();
        assert!(
            comment.starts_with("selfheal "),
            "round {round}: unexpected command {comment:?}"
        );
        per_comment
            .entry(comment)
            .or_default()
            .push(c.command_id().unwrap_or_default().to_owned());
    }
    for (comment, ids) in &per_comment {
        assert_eq!(
            ids.len(),
            1,
            "round {round}: {comment:?} was sent {} times: {ids:?}",
            ids.len()
        );
    }
    for a in alerts {
        let cid = claim_id(&a.identity);
        let phases: Vec<&str> = ["precheck", "commands", "verify"]
            .into_iter()
            .filter(|p| per_comment.contains_key(&format!("selfheal {cid} {p}")))
            .collect();
        let expect: &[&str] = if a.kind == Kind::Heal {
            &["precheck", "commands", "verify"]
        } else {
            &[]
        };
        assert_eq!(
            phases, expect,
            "round {round}: {} ({:?})",
            a.identity, a.kind
        );
        if a.kind == Kind::Heal {
            let fin = by_sort
                .get(cid.as_str())
                .and_then(|v| v.first())
                .expect("final record");
            let mut recorded = fin.command_ids.clone();
            recorded.sort();
            let mut sent: Vec<String> = phases
                .iter()
                .flat_map(|p| per_comment[&format!("selfheal {cid} {p}")].clone())
                .collect();
            sent.sort();
            assert_eq!(
                recorded, sent,
                "round {round}: history lists other command ids than were sent"
            );
        }
    }
    let healed = alerts.iter().filter(|a| a.kind == Kind::Heal).count();
    assert_eq!(
        commands.len(),
        healed * 3,
        "round {round}: {} commands for {healed} healed alerts",
        commands.len()
    );
    assert_eq!(alerts.iter().map(|a| a.copies).sum::<usize>(), t.published);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_at_random_points_loses_nothing_and_runs_nothing_twice() {
    let kills = std::env::var("SELFHEAL_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    campaign(
        "serve_killed_at_random_points_loses_nothing_and_runs_nothing_twice",
        kills,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "soak: 300 kills, several minutes (cargo test --features selfheal/failpoints --test crash -- --ignored)"]
async fn soak_serve_killed_300_times() {
    campaign("soak_serve_killed_300_times", 300).await;
}
