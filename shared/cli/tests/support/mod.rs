#![allow(dead_code)]
//! Test support: a real `moto_server` on a free 127.0.0.1 port (started and stopped by the test),
//! and AWS fixtures created through the SDK.

use selfheal_aws::AwsClients;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[allow(unused_imports)]
pub use selfheal_aws::local::{aws_env, Moto, REGION};

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
        assert!(
            !required,
            "{test}: moto is required but .venv/bin/python is missing (run `make test`)"
        );
        eprintln!("skipping {test}: moto is not installed (run `make test` to install it)");
        return None;
    };
    Some(
        selfheal_aws::local::start_moto(&python, &root().join("tests/moto/moto_launcher.py"))
            .expect("moto starts"),
    )
}

pub async fn clients(url: &str) -> AwsClients {
    selfheal_aws::local::clients(url).await
}

pub async fn create_table(c: &AwsClients, name: &str) {
    selfheal_aws::local::create_table(c, name)
        .await
        .expect("table created");
}

/// Topic → queue (non-raw delivery, 30 s visibility, DLQ). Returns (topic arn, queue url).
pub async fn topic_and_queue(c: &AwsClients, name: &str) -> (String, String) {
    let (topic, queue, _dlq) = selfheal_aws::local::topic_and_queue(c, name, 30)
        .await
        .expect("topic and queue");
    (topic, queue)
}

/// An EC2 instance with tags; returns its id.
pub fn run_instance(url: &str, tags: &[(&str, &str)]) -> String {
    selfheal_aws::local::run_instance(url, tags).expect("instance created")
}

/// A metric alarm named `name` on `instance`, forced into `state`.
pub async fn alarm(c: &AwsClients, name: &str, instance: &str, state: &str) {
    selfheal_aws::local::alarm(c, name, instance, state)
        .await
        .expect("alarm");
}

/// A CloudWatch alarm notification (the `Message` SNS carries).
pub fn alarm_message(name: &str, instance: &str, state: &str, time: &str) -> String {
    selfheal_aws::local::alarm_message(name, instance, state, time)
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
    // `DEBUG_SERVE_STDERR=FILE` appends every run's log (warnings name why a record went back
    // to the queue) to FILE: the way to see why a storm test's record ended `retry`.
    if let Ok(f) = std::env::var("DEBUG_SERVE_STDERR") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
        {
            let _ = file.write_all(&out.stderr);
        }
    }
    assert!(
        out.status.success(),
        "serve failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{n}")
}

/// Messages in the queue, visible or in flight.
pub async fn queue_depth(c: &AwsClients, url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    attrs
        .values()
        .map(|v| v.parse::<usize>().unwrap_or(0))
        .sum()
}
