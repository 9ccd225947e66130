//! Data-driven `selfheal plan` tests: every folder under `tests/plan/` holds `event.json`, an
//! optional `args` line, optional `runbooks.json` (default: `tests/fixtures/runbooks.json`) and the
//! `expected.json` output. `SELFHEAL_BLESS=1 cargo test` rewrites the expectations.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn plan_cases() {
    let cases_dir = root().join("tests/plan");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .expect("tests/plan exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected the plan cases, found {}",
        cases.len()
    );
    let bless = std::env::var_os("SELFHEAL_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let runbooks = if case.join("runbooks.json").exists() {
            case.join("runbooks.json")
        } else {
            root().join("tests/fixtures/runbooks.json")
        };
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let out = Command::new(env!("CARGO_BIN_EXE_selfheal"))
            .arg("plan")
            .arg("--runbooks")
            .arg(&runbooks)
            .arg("--event")
            .arg(case.join("event.json"))
            .args(["--format", "json"])
            .args(extra.split_whitespace())
            .output()
            .expect("selfheal runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let actual: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("plan prints JSON");
        let expected_path = case.join("expected.json");
        if bless {
            let mut text = serde_json::to_string_pretty(&actual).expect("json");
            text.push('\n');
            std::fs::write(&expected_path, text).expect("write expected");
            continue;
        }
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| panic!("{} missing", expected_path.display())),
        )
        .expect("expected.json is JSON");
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- actual\n{}",
                case.display(),
                serde_json::to_string_pretty(&expected).unwrap_or_default(),
                serde_json::to_string_pretty(&actual).unwrap_or_default()
            ));
        }
        // Every element has exactly the contract's fields.
        for a in actual["alerts"].as_array().expect("alerts array") {
            let mut keys: Vec<&str> = a
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "action",
                    "alert",
                    "commands",
                    "instance_ids",
                    "key",
                    "reason",
                    "role",
                    "runbook",
                    "source",
                    "state"
                ],
                "{}",
                case.display()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_handout_batch_plans_remediate_remediate_ignore_invalid() {
    let out = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["plan", "--format", "json", "--runbooks"])
        .arg(root().join("tests/fixtures/runbooks.json"))
        .arg("--event")
        .arg(root().join("tests/fixtures/sqs-batch.json"))
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let actions: Vec<&str> = v["alerts"]
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["remediate", "remediate", "ignore", "invalid"]);
    let invalid = &v["alerts"][3];
    for field in ["source", "alert", "role", "key", "runbook", "state"] {
        assert!(invalid[field].is_null(), "{field}");
    }
    assert_eq!(invalid["instance_ids"], serde_json::json!([]));
    assert_eq!(invalid["commands"], serde_json::json!([]));
}

#[test]
fn plan_text_format_and_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_selfheal");
    let rb = root().join("tests/fixtures/runbooks.json");
    let ev = root().join("tests/fixtures/sqs-batch.json");
    let text = Command::new(bin)
        .arg("plan")
        .arg("--runbooks")
        .arg(&rb)
        .arg("--event")
        .arg(&ev)
        .output()
        .expect("runs");
    assert_eq!(text.status.code(), Some(0));
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(
        s.contains("action:  remediate") && s.contains("4 alert(s)"),
        "{s}"
    );
    let missing = Command::new(bin)
        .arg("plan")
        .arg("--runbooks")
        .arg(&rb)
        .args(["--event", "/nonexistent/event.json"])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(1));
    let bad_rb = Command::new(bin)
        .args(["plan", "--runbooks", "/nonexistent", "--event"])
        .arg(&ev)
        .output()
        .expect("runs");
    assert_eq!(bad_rb.status.code(), Some(1));
    let usage = Command::new(bin)
        .args(["plan", "--event"])
        .arg(&ev)
        .output()
        .expect("runs");
    assert_eq!(
        usage.status.code(),
        Some(2),
        "missing --runbooks is a usage error"
    );
    let fmt = Command::new(bin)
        .arg("plan")
        .arg("--runbooks")
        .arg(&rb)
        .arg("--event")
        .arg(&ev)
        .args(["--format", "yaml"])
        .output()
        .expect("runs");
    assert_eq!(fmt.status.code(), Some(2));
}

#[test]
fn an_event_on_standard_input_plans_like_the_same_file() {
    use std::io::Write;
    let from_file = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["plan", "--format", "json", "--runbooks"])
        .arg(root().join("tests/fixtures/runbooks.json"))
        .arg("--event")
        .arg(root().join("tests/fixtures/sqs-batch.json"))
        .output()
        .expect("runs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["plan", "--format", "json", "--runbooks"])
        .arg(root().join("tests/fixtures/runbooks.json"))
        .args(["--event", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let event = std::fs::read(root().join("tests/fixtures/sqs-batch.json")).expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&event)
        .expect("written");
    let from_stdin = child.wait_with_output().expect("ends");
    assert_eq!(from_stdin.status.code(), Some(0));
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let v: serde_json::Value = serde_json::from_slice(&from_stdin.stdout).expect("json");
    assert_eq!(v["alerts"].as_array().map(Vec::len), Some(4));
}
