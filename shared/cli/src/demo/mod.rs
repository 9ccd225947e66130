//! `selfheal demo`: the whole pipeline on this machine, no AWS account needed. Starts moto and a
//! Slack stand-in on free 127.0.0.1 ports, creates what a deployment has, publishes real-format
//! alarms to SNS, runs `selfheal serve` over the queue, then shows chat, history and a summary.
//! Everything it starts is stopped when it ends, fails or is interrupted (Ctrl-C).

mod standin;
mod ui;

use selfheal_aws::local;
use selfheal_aws::{AwsClients, DynamoStateStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use ui::Ui;

pub fn run() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("selfheal demo: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async {
        tokio::select! {
            r = demo() => match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("\nselfheal demo failed: {e}");
                    ExitCode::from(1)
                }
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\ninterrupted: stopping moto, the Slack stand-in and serve");
                ExitCode::from(130)
            }
        }
    })
}

/// The project root: the current directory when it holds `runbooks/`, else the source checkout.
fn project_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("runbooks").is_dir() && cwd.join("tests/moto").is_dir() {
        return cwd;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python(root: &Path, ui: Ui) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("SELFHEAL_MOTO_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = root.join(".venv/bin/python");
    if !venv.exists() {
        ui.step("installing the local AWS emulator (moto) into .venv — once, about a minute");
        let status = std::process::Command::new("bash")
            .arg(root.join("scripts/ensure-venv.sh"))
            .status()
            .map_err(|e| format!("cannot run scripts/ensure-venv.sh: {e}"))?;
        if !status.success() {
            return Err("installing moto failed (see above)".into());
        }
    }
    Ok(venv)
}

struct Scenario {
    name: &'static str,
    message: String,
}

async fn demo() -> Result<(), String> {
    let ui = Ui::new();
    let started = Instant::now();
    let root = project_root();
    println!("selfheal demo — alerts in, safe first aid out, everything recorded\n");

    let python = python(&root, ui)?;
    ui.step("starting the AWS emulator");
    let moto = local::start_moto(&python, &root.join("tests/moto/moto_launcher.py"))?;
    ui.ok(&format!("moto on {}", moto.url));
    let (webhook, inbox) = standin::start(ui)
        .await
        .map_err(|e| format!("Slack stand-in: {e}"))?;
    ui.ok(&format!(
        "Slack stand-in on {}",
        webhook.trim_end_matches("/services/demo/webhook")
    ));

    ui.step("creating what a deployment has");
    let c = local::clients(&moto.url).await;
    let table = "selfheal-demo";
    local::create_table(&c, table).await?;
    let (topic, queue, _dlq) = local::topic_and_queue(&c, "selfheal-alerts", 2).await?;
    local::put_parameter(&c, "/selfheal/mode", "enforce").await?;
    let api = local::run_instance(&moto.url, &[("Role", "api"), ("Name", "api-1")])?;
    let web = local::run_instance(&moto.url, &[("Role", "web"), ("Name", "web-1")])?;
    local::alarm(&c, "api:nginx_down", &api, "ALARM").await?;
    local::alarm(&c, "disk_full", &web, "ALARM").await?;
    ui.ok(&format!(
        "table {table}, topic → queue (+ DLQ), mode parameter = enforce"
    ));
    ui.ok(&format!("instances {api} (Role=api) and {web} (Role=web), alarms api:nginx_down and disk_full in ALARM"));

    let nginx = local::alarm_message(
        "api:nginx_down",
        &api,
        "ALARM",
        "2026-11-23T03:03:12.214+0000",
    );
    let first = vec![
        Scenario {
            name: "api:nginx_down on api-1 (runbook with precheck and verify)",
            message: nginx.clone(),
        },
        Scenario {
            name: "disk_full on web-1 (role from the instance tag; runbook in dry-run)",
            message: local::alarm_message(
                "disk_full",
                &web,
                "ALARM",
                "2026-11-23T03:04:00.000+0000",
            ),
        },
        Scenario {
            name: "api:cpu_hot on api-1 (no runbook yet)",
            message: local::alarm_message(
                "api:cpu_hot",
                &api,
                "ALARM",
                "2026-11-23T03:05:00.000+0000",
            ),
        },
        Scenario {
            name: "api:nginx_down back to OK (a recovery, recorded for the report)",
            message: local::alarm_message(
                "api:nginx_down",
                &api,
                "OK",
                "2026-11-23T03:09:00.000+0000",
            ),
        },
        Scenario {
            name: "a message that is not JSON",
            message: "this is not json".into(),
        },
    ];
    publish(&c, &topic, &first, ui).await?;
    let env = serve_env(&moto.url, table, &root, &webhook);
    ui.step("running `selfheal serve` over the queue");
    let mut results = drain(&c, &queue, &env, ui).await?;

    ui.step("the same alarm arrives again (SNS and SQS deliver at least once)");
    publish(
        &c,
        &topic,
        &[Scenario {
            name: "api:nginx_down, second copy",
            message: nginx,
        }],
        ui,
    )
    .await?;
    results.extend(drain(&c, &queue, &env, ui).await?);

    show_history(&c, table, ui).await?;
    ui.heading("Report: `selfheal report --since 7d`");
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the selfheal binary: {e}"))?;
    let report = tokio::process::Command::new(&exe)
        .args(["report", "--since", "7d"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("SELFHEAL_SLACK_WEBHOOK_URL")
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run selfheal report: {e}"))?;
    if report.status.success() {
        print!("{}", String::from_utf8_lossy(&report.stdout));
    } else {
        println!(
            "  (report failed: {})",
            String::from_utf8_lossy(&report.stderr).trim()
        );
    }
    ui.heading(&format!(
        "Chat: {} message(s) reached the Slack stand-in",
        inbox.messages().len()
    ));
    for m in inbox.messages() {
        ui.info(&standin::summary(&m));
    }
    ui.heading("Summary");
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, outcome) in &results {
        match counts.iter_mut().find(|(o, _)| o == outcome) {
            Some(entry) => entry.1 += 1,
            None => counts.push((outcome.clone(), 1)),
        }
    }
    for (outcome, n) in &counts {
        println!("  {} {n}", ui.outcome(outcome));
    }
    println!(
        "\n{} alert deliveries handled, {} command(s) sent through SSM, in {:.1} s. Everything started here is now stopped.",
        results.len(),
        count_commands(&c).await,
        started.elapsed().as_secs_f64()
    );
    println!("Next: edit runbooks/*.json, run `selfheal validate`, and `selfheal plan --runbooks runbooks --event tests/fixtures/sqs-batch.json`.");
    drop(moto);
    Ok(())
}

async fn publish(
    c: &AwsClients,
    topic: &str,
    scenarios: &[Scenario],
    ui: Ui,
) -> Result<(), String> {
    ui.step("publishing alarms to the SNS topic");
    for s in scenarios {
        c.sns
            .publish()
            .topic_arn(topic)
            .message(&s.message)
            .send()
            .await
            .map_err(|e| format!("Publish: {e}"))?;
        ui.info(&format!("→ {}", s.name));
    }
    Ok(())
}

fn serve_env(url: &str, table: &str, root: &Path, webhook: &str) -> Vec<(&'static str, String)> {
    let mut env = local::aws_env(url);
    env.extend([
        ("SELFHEAL_TABLE", table.to_owned()),
        ("SELFHEAL_MODE_PARAM", "/selfheal/mode".to_owned()),
        (
            "SELFHEAL_RUNBOOKS",
            root.join("runbooks").display().to_string(),
        ),
        ("SELFHEAL_SLACK_WEBHOOK_URL", webhook.to_owned()),
        ("SELFHEAL_CLAIM_LEASE_SECONDS", "2".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ]);
    env
}

/// Runs `selfheal serve --once` until the queue is empty; returns (message id, outcome) pairs.
async fn drain(
    c: &AwsClients,
    queue: &str,
    env: &[(&'static str, String)],
    ui: Ui,
) -> Result<Vec<(String, String)>, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the selfheal binary: {e}"))?;
    let mut results = Vec::new();
    for _round in 0..15 {
        let out = tokio::process::Command::new(&exe)
            .args(["serve", "--queue-url", queue, "--once"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("SELFHEAL_MODE")
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| format!("cannot run selfheal serve: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "selfheal serve failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [id, outcome, disposition] = parts.as_slice() {
                ui.info(&format!(
                    "{} message {}… {disposition}",
                    ui.outcome(outcome),
                    id.chars().take(8).collect::<String>()
                ));
                if *disposition != "returned" {
                    results.push(((*id).to_owned(), (*outcome).to_owned()));
                }
            }
        }
        if queue_depth(c, queue).await == 0 {
            return Ok(results);
        }
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    }
    Err("the queue did not drain".into())
}

async fn queue_depth(c: &AwsClients, queue: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName;
    c.sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .ok()
        .and_then(|r| r.attributes)
        .map_or(0, |a| {
            a.values().map(|v| v.parse::<usize>().unwrap_or(0)).sum()
        })
}

async fn count_commands(c: &AwsClients) -> usize {
    c.ssm
        .list_commands()
        .send()
        .await
        .ok()
        .and_then(|r| r.commands)
        .map_or(0, |v| v.len())
}

async fn show_history(c: &AwsClients, table: &str, ui: Ui) -> Result<(), String> {
    let store = DynamoStateStore::new(c.dynamodb.clone(), table);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    let mut records = store
        .query_history_day(&selfheal_service::day_string(now))
        .await
        .map_err(|e| format!("reading history: {e}"))?;
    records.sort_by_key(|r| r.finished_at_ms);
    ui.heading(&format!(
        "History: {} item(s) in DynamoDB table {table}",
        records.len()
    ));
    for r in &records {
        println!(
            "  {} {:<22} {:<20} {}",
            ui.outcome(&r.outcome),
            r.key.as_deref().or(r.alert.as_deref()).unwrap_or("-"),
            r.instance.as_deref().unwrap_or("-"),
            r.reason.chars().take(70).collect::<String>()
        );
    }
    Ok(())
}
