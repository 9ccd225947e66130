//! `selfheal validate` from the outside: exit codes, output streams, locations, and the schema.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validate(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .arg("validate")
        .arg(path)
        .env_remove("SELFHEAL_FUNCTION_BUDGET_SECONDS")
        .output()
        .expect("selfheal runs")
}

#[test]
fn shipped_runbooks_are_valid() {
    let out = validate(&root().join("runbooks"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn default_path_is_runbooks_dir() {
    let out = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .arg("validate")
        .current_dir(root())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn problems_from_several_files_all_reported_on_stdout() {
    let dir = std::env::temp_dir().join(format!("selfheal-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("a.json"),
        "{\n  \"web:x\": {\"commands\": [\"ok\"]},\n  \"bad key\": {\"commands\": [\"x\"]}\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("b.json"),
        "{\n  \"web:x\": {\"commands\": [\"again\"], \"retries\": 3}\n}\n",
    )
    .expect("write");
    std::fs::write(dir.join("c.schema.json"), "not even json").expect("write");
    let out = validate(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = stdout.lines().collect();
    let a = dir.join("a.json").display().to_string();
    let b = dir.join("b.json").display().to_string();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{a}:3:3: invalid runbook key \"bad key\"")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{b}:2:3: duplicate key \"web:x\" (first defined at {a}:2:3)"
        )),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn warnings_go_to_stderr_and_do_not_fail() {
    let dir = std::env::temp_dir().join(format!("selfheal-warn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let f = dir.join("slow.json");
    std::fs::write(
        &f,
        r#"{"a:b": {"commands": ["x"], "timeout_seconds": 900}}"#,
    )
    .expect("write");
    let out = validate(&f);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1:29: warning:"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unreadable_path_and_usage_errors() {
    let out = validate(Path::new("/nonexistent/runbooks"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("/nonexistent/runbooks:1:1: cannot read")
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["validate", "a", "b"])
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
    let unknown = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["validate", "--bogus"])
        .output()
        .expect("runs");
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn committed_schema_matches_the_rust_model() {
    let committed = std::fs::read_to_string(root().join("runbooks/runbooks.schema.json"))
        .expect("schema committed");
    assert_eq!(
        committed,
        selfheal_core::runbook::schema_json(),
        "runbooks/runbooks.schema.json is stale: run `cargo run -q -p selfheal -- schema > runbooks/runbooks.schema.json`"
    );
}

#[test]
fn a_deeply_nested_file_is_an_error_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("selfheal-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let f = dir.join("deep.json");
    let deep = 100_000;
    std::fs::write(
        &f,
        format!("{}1{}", "{\"a\":".repeat(deep), "}".repeat(deep)),
    )
    .expect("write");
    let out = validate(&f);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout,
        format!("{}:1:321: nesting deeper than 64 levels\n", f.display())
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_element_that_cannot_stand_alone_is_reported() {
    let dir = std::env::temp_dir().join(format!("selfheal-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let f = dir.join("split.json");
    std::fs::write(
        &f,
        "{\"web:motd\": {\"commands\": [\n  \"cat > /etc/motd <<'EOF'\",\n  \"hello\",\n  \"EOF\"\n]}}\n",
    )
    .expect("write");
    let out = validate(&f);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout,
        format!(
            "{}:2:3: commands[0] starts a heredoc (<<'EOF') but no later line of it is \"EOF\"; an element is one unit: put the whole heredoc in one element\n",
            f.display()
        )
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_format_lists_every_problem_with_its_key_and_keeps_the_exit_codes() {
    let dir = std::env::temp_dir().join(format!("selfheal-validate-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("a.json"),
        "{\n  \"web:x\": {\"commands\": [\"ok\"], \"retries\": 3},\n  \"bad key\": {\"commands\": [\"x\"]}\n}\n",
    )
    .expect("write");
    let run = |path: &Path| {
        Command::new(env!("CARGO_BIN_EXE_selfheal"))
            .args(["validate", "--format", "json"])
            .arg(path)
            .env_remove("SELFHEAL_FUNCTION_BUDGET_SECONDS")
            .output()
            .expect("selfheal runs")
    };
    let out = run(&dir);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["valid"], false);
    let problems = v["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{v}");
    let unknown = &problems[0];
    assert_eq!(
        unknown["file"].as_str().map(|f| f.ends_with("a.json")),
        Some(true)
    );
    assert_eq!(unknown["line"], 2);
    assert_eq!(unknown["severity"], "error");
    assert_eq!(unknown["key"], "web:x");
    assert!(
        unknown["message"]
            .as_str()
            .is_some_and(|m| m.contains("retries")),
        "{unknown}"
    );
    assert!(unknown["col"].as_u64().is_some_and(|c| c > 1));
    assert_eq!(problems[1]["key"], "bad key");
    assert_eq!(problems[1]["line"], 3);
    // Valid: exit 0, the count, no problems.
    let ok = run(&root().join("runbooks"));
    assert_eq!(ok.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(v["valid"], true);
    assert!(v["runbooks"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(v["problems"], serde_json::json!([]));
    std::fs::remove_dir_all(&dir).ok();
}
