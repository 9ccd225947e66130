//! The operating commands end to end against moto: `silence add|list|remove` (and the instance
//! tag), `run KEY --instance ID [--dry-run]`, `needs-review list|clear` and `status`, with
//! `serve --once` showing what the engine does with each.

mod support;
use selfheal_aws::DynamoStateStore;
use selfheal_core::silence::SilenceRecord;
use std::process::Command;
use support::*;

const RUNBOOKS: &str = r#"{
  "api:nginx_down": {"precheck": ["true"], "commands": ["systemctl restart nginx"], "max_attempts": 2, "window_minutes": 60}
}"#;

struct World {
    _moto: Moto,
    url: String,
    c: selfheal_aws::AwsClients,
    topic: String,
    queue: String,
    table: String,
    runbooks: std::path::PathBuf,
    api: String,
}

async fn world(test: &str) -> Option<World> {
    let moto = start_moto(test)?;
    let url = moto.url.clone();
    let c = clients(&url).await;
    let table = unique("ops");
    create_table(&c, &table).await;
    let (topic, queue) = topic_and_queue(&c, &unique("ops")).await;
    selfheal_aws::local::put_parameter(&c, "/selfheal/mode", "enforce")
        .await
        .expect("mode");
    let api = run_instance(&url, &[("Role", "api")]);
    let runbooks = write_runbooks(&std::env::temp_dir().join(unique("ops-rb")), RUNBOOKS);
    Some(World {
        _moto: moto,
        url,
        c,
        topic,
        queue,
        table,
        runbooks,
        api,
    })
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl World {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SELFHEAL_TABLE", self.table.clone()),
            ("SELFHEAL_MODE_PARAM", "/selfheal/mode".into()),
            ("SELFHEAL_RUNBOOKS", self.runbooks.display().to_string()),
            ("SELFHEAL_ACCOUNT_ID", "123456789012".into()),
        ]
    }

    fn selfheal(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_selfheal"));
        cmd.args(args);
        for (k, v) in aws_env(&self.url) {
            cmd.env(k, v);
        }
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.env("USER", "alice");
        let out = cmd.output().expect("selfheal runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn alert(&self, instance: &str, time: &str) -> String {
        self.c
            .sns
            .publish()
            .topic_arn(&self.topic)
            .message(alarm_message("api:nginx_down", instance, "ALARM", time))
            .send()
            .await
            .expect("published");
        serve_once(&self.url, &self.queue, &self.env())
    }

    async fn commands(&self) -> usize {
        self.c
            .ssm
            .list_commands()
            .send()
            .await
            .expect("list")
            .commands()
            .len()
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn silences_of_every_scope_and_the_instance_tag() {
    let Some(w) = world("silences_of_every_scope_and_the_instance_tag").await else {
        return;
    };
    alarm(&w.c, "api:nginx_down", &w.api, "ALARM").await;

    // Usage errors are collected and shown together, exit 2, nothing stored.
    let bad = w.selfheal(&[
        "silence",
        "add",
        "--instance",
        "web-1",
        "--until",
        "2020-01-01T00:00:00Z",
        "--reason",
        " ",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    for needle in ["--instance", "not in the future", "--reason"] {
        assert!(bad.stderr.contains(needle), "{needle}: {}", bad.stderr);
    }
    let far = w.selfheal(&["silence", "add", "--all", "--for", "8d", "--reason", "x"]);
    assert_eq!(far.code, 2);
    assert!(far.stderr.contains("more than 7 days"), "{}", far.stderr);

    let instance_scope = format!("--instance={}", w.api);
    for (i, scope) in [
        vec!["--role", "api"],
        vec!["--key", "api:nginx_down"],
        vec![instance_scope.as_str()],
        vec!["--all"],
    ]
    .into_iter()
    .enumerate()
    {
        let mut args = vec!["silence", "add"];
        args.extend(scope.iter().copied());
        args.extend(["--for", "1h", "--reason", "kernel patching"]);
        let added = w.selfheal(&args);
        assert_eq!(added.code, 0, "{}", added.stderr);
        let id = added.stdout.trim().to_owned();
        assert!(id.starts_with("s-"), "{id}");
        let listed = json(&w.selfheal(&["silence", "list", "--format", "json"]).stdout);
        let found = &listed["silences"][0];
        assert_eq!(found["id"], id.as_str());
        assert_eq!(found["active"], true);
        assert_eq!(found["created_by"], "alice");

        let out = w.alert(&w.api, &format!("t-{i}")).await;
        assert!(out.contains(" silenced deleted"), "{scope:?}: {out}");
        assert_eq!(w.commands().await, 0, "{scope:?}: nothing ran");

        assert_eq!(w.selfheal(&["silence", "remove", &id]).code, 0);
        let again = w.selfheal(&["silence", "remove", &id]);
        assert_eq!(again.code, 1);
        assert!(
            again.stderr.contains("no silence has id"),
            "{}",
            again.stderr
        );
    }

    // An expired silence no longer applies (stored directly: the CLI refuses past times).
    let store = DynamoStateStore::new(w.c.dynamodb.clone(), w.table.clone());
    store
        .put_silence(&SilenceRecord {
            id: "s-old".into(),
            scope: "all".into(),
            until_ms: Some(1_000),
            window: None,
            tz: None,
            reason: "long ago".into(),
            created_by: "bob".into(),
            created_at_ms: 0,
        })
        .await
        .expect("stored");
    let out = w.alert(&w.api, "t-expired").await;
    assert!(out.contains(" healed deleted"), "{out}");
    assert_eq!(w.commands().await, 2);
    let listed = w.selfheal(&["silence", "list"]);
    assert!(listed.stdout.contains("no silences"), "{}", listed.stdout);
    let all = w.selfheal(&["silence", "list", "--all"]);
    assert!(
        all.stdout.contains("s-old") && all.stdout.contains("[ended]"),
        "{}",
        all.stdout
    );

    // The instance tag `selfheal:silence`.
    let tagged = run_instance(
        &w.url,
        &[
            ("Role", "api"),
            ("selfheal:silence", "2099-01-01T00:00:00Z"),
        ],
    );
    alarm(&w.c, "api:nginx_down:tagged", &tagged, "ALARM").await;
    w.c.sns
        .publish()
        .topic_arn(&w.topic)
        .message(alarm_message(
            "api:nginx_down:tagged",
            &tagged,
            "ALARM",
            "t-tag",
        ))
        .send()
        .await
        .expect("published");
    let out = serve_once(&w.url, &w.queue, &w.env());
    assert!(out.contains(" silenced deleted"), "{out}");
    assert_eq!(w.commands().await, 2, "nothing ran on the tagged instance");

    // A maintenance window that is open right now somewhere else in the world.
    let now = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Australia/Sydney").expect("tz"));
    let start = now.time().strftime("%H:%M").to_string();
    let end = (now.time() + jiff::SignedDuration::from_mins(30))
        .strftime("%H:%M")
        .to_string();
    let window = format!("daily {start}-{end}");
    let added = w.selfheal(&[
        "silence",
        "add",
        "--role",
        "api",
        "--window",
        &window,
        "--tz",
        "Australia/Sydney",
        "--reason",
        "nightly backup",
    ]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    let out = w.alert(&w.api, "t-window").await;
    assert!(out.contains(" silenced deleted"), "{window}: {out}");
    let status = json(&w.selfheal(&["status", "--format", "json"]).stdout);
    assert_eq!(status["mode"]["mode"], "enforce");
    assert_eq!(status["silences"].as_array().map(Vec::len), Some(1));
    assert!(status["recent"]
        .as_array()
        .is_some_and(|r| r.iter().any(|h| h["outcome"] == "silenced")));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_by_hand_needs_review_and_status() {
    let Some(w) = world("run_by_hand_needs_review_and_status").await else {
        return;
    };
    // Usage and lookup errors.
    let bad = w.selfheal(&["run", "nginx_down", "--instance", "web-1"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("ROLE:ALERT") && bad.stderr.contains("--instance"),
        "{}",
        bad.stderr
    );
    let unknown = w.selfheal(&["run", "api:nope", "--instance", &w.api]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no runbook matches"),
        "{}",
        unknown.stderr
    );
    let stranger = w.selfheal(&["run", "api:nginx_down", "--instance", "i-0123456789abcdef0"]);
    assert_eq!(stranger.code, 1);
    assert!(
        stranger.stdout.contains("unresolved"),
        "{}",
        stranger.stdout
    );

    // Dry run: announced and recorded, nothing sent.
    let dry = w.selfheal(&["run", "api:nginx_down", "--instance", &w.api, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(dry.stdout.contains("dry-run"), "{}", dry.stdout);
    assert_eq!(w.commands().await, 0);

    // Two real runs use the budget (max_attempts 2); the third is refused and listed for review.
    for _ in 0..2 {
        let run = w.selfheal(&["run", "api:nginx_down", "--instance", &w.api]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("healed"), "{}", run.stdout);
    }
    assert_eq!(w.commands().await, 4);
    let third = w.selfheal(&["run", "api:nginx_down", "--instance", &w.api]);
    assert_eq!(third.code, 1);
    assert!(
        third.stdout.contains("budget-exhausted"),
        "{}",
        third.stdout
    );
    assert_eq!(w.commands().await, 4);
    let review = json(
        &w.selfheal(&["needs-review", "list", "--format", "json"])
            .stdout,
    );
    assert_eq!(review["needs_review"][0]["key"], "api:nginx_down");
    assert_eq!(review["needs_review"][0]["instance"], w.api.as_str());
    let status = json(&w.selfheal(&["status", "--format", "json"]).stdout);
    assert_eq!(status["needs_review"].as_array().map(Vec::len), Some(1));
    let outcomes: Vec<&str> = status["recent"]
        .as_array()
        .map(|r| r.iter().filter_map(|h| h["outcome"].as_str()).collect())
        .unwrap_or_default();
    for o in ["healed", "budget-exhausted", "dry-run", "unresolved"] {
        assert!(outcomes.contains(&o), "{o} in {outcomes:?}");
    }
    let text = w.selfheal(&["status"]);
    assert!(
        text.stdout.contains("mode: enforce") && text.stdout.contains("needs review: 1"),
        "{}",
        text.stdout
    );

    // Clearing resets the budget; clearing twice is an error.
    let cleared = w.selfheal(&[
        "needs-review",
        "clear",
        "api:nginx_down",
        "--instance",
        &w.api,
    ]);
    assert_eq!(cleared.code, 0, "{}", cleared.stderr);
    let twice = w.selfheal(&[
        "needs-review",
        "clear",
        "api:nginx_down",
        "--instance",
        &w.api,
    ]);
    assert_eq!(twice.code, 1);
    assert!(
        twice.stderr.contains("not waiting for review"),
        "{}",
        twice.stderr
    );
    let run = w.selfheal(&["run", "api:nginx_down", "--instance", &w.api]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(w.commands().await, 6);

    // The kill switch applies to runs by hand too.
    selfheal_aws::local::put_parameter(&w.c, "/selfheal/mode", "off")
        .await
        .expect("mode");
    let killed = w.selfheal(&["run", "api:nginx_down", "--instance", &w.api]);
    assert_eq!(killed.code, 1);
    assert!(killed.stdout.contains("killed"), "{}", killed.stdout);
    assert_eq!(w.commands().await, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_set_turns_the_kill_switch_and_records_who_and_why() {
    let Some(w) = world("mode_set").await else {
        return;
    };
    let got = w.selfheal(&["mode", "get", "--format", "json"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(json(&got.stdout)["mode"], "enforce");
    // Off, with a reason: the engine stops before sending anything.
    let set = w.selfheal(&[
        "mode",
        "set",
        "off",
        "--reason",
        "bad deploy, stop all remediation",
    ]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    assert!(set.stdout.contains("enforce → off"), "{}", set.stdout);
    let stored =
        w.c.ssm
            .get_parameter()
            .name("/selfheal/mode")
            .send()
            .await
            .expect("parameter");
    assert_eq!(stored.parameter().and_then(|p| p.value()), Some("off"));
    let printed = w.alert(&w.api, "2026-12-03T01:00:00Z").await;
    assert!(printed.contains("killed"), "{printed}");
    assert_eq!(w.commands().await, 0, "nothing sent while off");
    // The change and who made it are recorded; `get` lists them newest first.
    let set = w.selfheal(&[
        "mode",
        "set",
        "enforce",
        "--reason",
        "rolled back",
        "--by",
        "bob",
    ]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let got = json(&w.selfheal(&["mode", "get", "--format", "json"]).stdout);
    assert_eq!(got["mode"], "enforce");
    let changes = got["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 2, "{got}");
    assert_eq!(changes[0]["by"], "bob");
    assert_eq!(changes[0]["previous"], "off");
    assert_eq!(changes[1]["by"], "alice");
    assert_eq!(changes[1]["reason"], "bad deploy, stop all remediation");
    // A mode outside the three, or no reason: usage errors, nothing written.
    assert_eq!(
        w.selfheal(&["mode", "set", "panic", "--reason", "x"]).code,
        2
    );
    assert_eq!(w.selfheal(&["mode", "set", "off"]).code, 2);
    assert_eq!(
        w.selfheal(&["mode", "set", "off", "--reason", "  "]).code,
        2
    );
    let got = json(&w.selfheal(&["mode", "get", "--format", "json"]).stdout);
    assert_eq!(got["mode"], "enforce");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_lists_outcomes_and_show_tells_one_remediation() {
    let Some(w) = world("history_show").await else {
        return;
    };
    alarm(&w.c, "api:nginx_down", &w.api, "ALARM").await;
    let printed = w.alert(&w.api, "2026-12-03T02:00:00Z").await;
    assert!(printed.contains("healed"), "{printed}");
    let out = w.selfheal(&["history", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = json(&out.stdout)["records"]
        .as_array()
        .cloned()
        .expect("records");
    assert_eq!(records.len(), 1, "{records:?}");
    let rec = &records[0];
    assert_eq!(rec["outcome"], "healed");
    assert_eq!(rec["key"], "api:nginx_down");
    assert_eq!(rec["instance"], w.api.as_str());
    let claim = rec["claim_id"].as_str().expect("claim id").to_owned();
    // Filters: a match, and a miss.
    let by_key = json(
        &w.selfheal(&[
            "history",
            "--key",
            "api:nginx_down",
            "--outcome",
            "healed",
            "--format",
            "json",
        ])
        .stdout,
    );
    assert_eq!(by_key["records"].as_array().map(Vec::len), Some(1));
    let miss = json(
        &w.selfheal(&["history", "--outcome", "failed", "--format", "json"])
            .stdout,
    );
    assert_eq!(miss["records"].as_array().map(Vec::len), Some(0));
    let text = w.selfheal(&["history", "--instance", &w.api]);
    assert!(
        text.stdout.contains(&claim) && text.stdout.contains("healed"),
        "{}",
        text.stdout
    );
    // show: the record with its commands (precheck and commands) and their console links.
    let shown = w.selfheal(&["show", &claim, "--format", "json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let v = json(&shown.stdout);
    assert_eq!(v["claim_id"], claim.as_str());
    let first = &v["records"][0];
    assert_eq!(first["outcome"], "healed");
    assert_eq!(
        first["command_ids"].as_array().map(Vec::len),
        Some(2),
        "{first}"
    );
    let text = w.selfheal(&["show", &claim]);
    assert!(text.stdout.contains("command"), "{}", text.stdout);
    // Unknown claim: exit 1; a bad --since: exit 2.
    assert_eq!(w.selfheal(&["show", "0000000000000000"]).code, 1);
    assert_eq!(w.selfheal(&["history", "--since", "forever"]).code, 2);
}
