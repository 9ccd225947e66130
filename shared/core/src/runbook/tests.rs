use super::*;

fn errors(name: &str, text: &str) -> Vec<String> {
    match load(&[RunbookSource { name, text }], &LoadOptions::default()) {
        Ok((_, warnings)) => panic!("accepted; warnings: {warnings:?}"),
        Err(d) => d
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect(),
    }
}

fn ok(text: &str) -> RunbookMap {
    load(
        &[RunbookSource {
            name: "r.json",
            text,
        }],
        &LoadOptions::default(),
    )
    .expect("valid")
    .0
}

#[test]
fn minimal_form_from_the_original_design() {
    let m = ok(
        r#"{ "SOME_ROLE:SOME_ALERT": { "commands": ["PROC_CHECK --ignore-check FOO", "service FOO restart", "service FOO status"] } }"#,
    );
    let e = m.get("SOME_ROLE:SOME_ALERT").expect("entry");
    assert_eq!(e.commands.len(), 3);
    assert_eq!(e.mode, Mode::Enforce);
    assert_eq!(e.timeout_seconds, 120);
    assert_eq!(
        (e.max_attempts, e.window_minutes, e.max_concurrent),
        (3, 60, 1)
    );
    assert_eq!(e.document, "AWS-RunShellScript");
}

#[test]
fn handout_runbooks_load() {
    let m = ok(include_str!("../../../../tests/fixtures/runbooks.json"));
    assert_eq!(m.len(), 3);
    assert_eq!(m.get("*:disk_full").expect("e").mode, Mode::DryRun);
}

#[test]
fn precedence_exact_role_alert_catchall() {
    let m = ok(
        r#"{"web:a":{"commands":["1"]},"web:*":{"commands":["2"]},"*:a":{"commands":["3"]},"*:*":{"commands":["4"]}}"#,
    );
    assert_eq!(m.lookup("web", "a").map(|x| x.0), Some("web:a"));
    assert_eq!(m.lookup("web", "b").map(|x| x.0), Some("web:*"));
    assert_eq!(m.lookup("db", "a").map(|x| x.0), Some("*:a"));
    assert_eq!(m.lookup("db", "b").map(|x| x.0), Some("*:*"));
    let only_exact = ok(r#"{"web:a":{"commands":["1"]}}"#);
    assert_eq!(
        only_exact.lookup("Web", "a"),
        None,
        "keys are case-sensitive"
    );
}

#[test]
fn schema_key_allowed() {
    let m = ok(r#"{"$schema":"./runbooks.schema.json","a:b":{"commands":["x"]}}"#);
    assert_eq!(m.len(), 1);
}

#[test]
fn malformed_json_points_at_the_error() {
    assert_eq!(
        errors("f.json", "{\n  \"a:b\": {\"commands\": [\"x\"]},\n}"),
        vec!["f.json:2:29: invalid JSON: Trailing commas are not allowed"]
    );
    let e = errors("f.json", "{\"a:b\": ");
    assert!(e[0].starts_with("f.json:1:"), "{e:?}");
}

#[test]
fn duplicate_keys_are_errors_not_last_wins() {
    let text = "{\n  \"a:b\": {\"commands\": [\"x\"]},\n  \"a:b\": {\"commands\": [\"y\"]}\n}";
    assert_eq!(
        errors("f.json", text),
        vec!["f.json:3:3: duplicate key \"a:b\" (first defined at f.json:2:3)"]
    );
}

#[test]
fn duplicate_keys_across_files() {
    let a = RunbookSource {
        name: "a.json",
        text: "{\"x:y\": {\"commands\": [\"1\"]}}",
    };
    let b = RunbookSource {
        name: "b.json",
        text: "{\n \"x:y\": {\"commands\": [\"2\"]}}",
    };
    let d = load(&[a, b], &LoadOptions::default()).expect_err("dup");
    assert_eq!(
        d[0].to_string(),
        "b.json:2:2: duplicate key \"x:y\" (first defined at a.json:1:2)"
    );
}

#[test]
fn duplicate_field_in_entry() {
    let text = r#"{"a:b": {"commands": ["x"], "commands": ["y"]}}"#;
    assert_eq!(
        errors("f", text),
        vec!["f:1:29: duplicate field \"commands\" in runbook \"a:b\""]
    );
}

#[test]
fn unknown_field_points_at_the_field() {
    let text = "{\n  \"a:b\": {\n    \"commands\": [\"x\"],\n    \"comands\": [\"y\"]\n  }\n}";
    let e = errors("f", text);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("f:4:5: unknown field \"comands\" in runbook \"a:b\""),
        "{e:?}"
    );
}

#[test]
fn missing_commands_points_at_the_key() {
    let text = "{\n  \"a:b\": {\"description\": \"d\"}\n}";
    assert_eq!(
        errors("f", text),
        vec!["f:2:3: runbook \"a:b\" is missing the required field \"commands\""]
    );
}

#[test]
fn empty_commands_and_empty_strings() {
    let text = "{\"a:b\": {\"commands\": []},\n\"c:d\": {\"commands\": [\"ok\", \"  \"], \"owner\": \"\"}}";
    assert_eq!(
        errors("f", text),
        vec![
            "f:1:22: \"commands\" must list at least one command",
            "f:2:28: commands[1] must not be empty",
            "f:2:44: \"owner\" must not be empty",
        ]
    );
}

#[test]
fn carriage_return_or_nul_rejected() {
    let e = errors(
        "f",
        r#"{"a:b": {"commands": ["echo a\r\nreboot", "x\u0000"]}}"#,
    );
    assert_eq!(
        e,
        vec![
            "f:1:23: commands[0] must not contain a carriage return or NUL (an element may span lines with \\n only)",
            "f:1:43: commands[1] must not contain a carriage return or NUL (an element may span lines with \\n only)",
        ]
    );
}

#[test]
fn an_element_may_span_lines_as_one_unit() {
    let m = ok(
        r#"{"a:b": {"commands": ["cat > /etc/app.conf <<'EOF'\nport = 8080\nname = '$x'\nEOF", "if true; then\n  echo yes\nfi"]}}"#,
    );
    assert_eq!(
        m.get("a:b").expect("entry").commands,
        vec![
            "cat > /etc/app.conf <<'EOF'\nport = 8080\nname = '$x'\nEOF".to_owned(),
            "if true; then\n  echo yes\nfi".to_owned(),
        ]
    );
}

/// Each element of every phase must run on its own: no heredoc left open, no trailing `|`,
/// `||`, `&&` or `\`. Errors point at the element's string.
#[test]
fn elements_that_cannot_stand_alone() {
    let text = "{\n  \"a:b\": {\n    \"precheck\": [\"cat <<EOF >/tmp/x\\nbody\"],\n    \"commands\": [\"ok\", \"echo a |\", \"cat <<EOF |\\nbody\\nEOF\", \"echo b \\\\  \"],\n    \"verify\": [\"true &&\", \"cat <<-'END'\\n\\t\\tEND\", \"x ||\"]\n  }\n}";
    let join = "so it cannot run on its own; an element is one unit: join the continuation into the same element";
    assert_eq!(
        errors("f", text),
        vec![
            "f:3:18: precheck[0] starts a heredoc (<<EOF) but no later line of it is \"EOF\"; an element is one unit: put the whole heredoc in one element".to_owned(),
            format!("f:4:24: commands[1] ends with \"|\", {join}"),
            format!("f:4:36: commands[2] ends with \"|\", {join}"),
            format!("f:4:62: commands[3] ends with a line-continuing backslash, {join}"),
            format!("f:5:16: verify[0] ends with \"&&\", {join}"),
            format!("f:5:52: verify[2] ends with \"||\", {join}"),
        ]
    );
}

/// The split heredoc of issue 16: each part alone is rejected, the joined element is accepted.
#[test]
fn a_heredoc_split_over_elements_is_rejected() {
    let split =
        "{\"a:b\": {\"commands\": [\n  \"cat > /etc/motd <<'EOF'\",\n  \"hello\",\n  \"EOF\"\n]}}";
    assert_eq!(
        errors("f", split),
        vec!["f:2:3: commands[0] starts a heredoc (<<'EOF') but no later line of it is \"EOF\"; an element is one unit: put the whole heredoc in one element"]
    );
    for (word, close) in [
        ("EOF", "EOF"),
        ("'EOF'", "EOF"),
        ("\\\"EOF\\\"", "EOF"),
        ("-EOF", "\\t\\tEOF"),
    ] {
        let joined =
            format!(r#"{{"a:b": {{"commands": ["cat > /etc/motd <<{word}\nhello\n{close}"]}}}}"#);
        ok(&joined);
        let open =
            format!(r#"{{"a:b": {{"commands": ["cat > /etc/motd <<{word}\nhello\n {close}"]}}}}"#);
        assert_eq!(errors("f", &open).len(), 1, "{open}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = 100_000;
    let arrays = format!("{}{}", "[".repeat(deep), "]".repeat(deep));
    let objects = format!("{}1{}", "{\"a\":".repeat(deep), "}".repeat(deep));
    let unclosed = format!("{{\"a:b\": {}", "{\"x\": [".repeat(deep));
    // A small stack: the check must not recurse, and the parser must never see the deep text.
    let (arrays, objects, unclosed) = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            (
                errors("f", &arrays),
                errors("g", &objects),
                errors("h", &unclosed),
            )
        })
        .expect("spawn")
        .join()
        .expect("no stack overflow");
    assert_eq!(arrays, vec!["f:1:65: nesting deeper than 64 levels"]);
    assert_eq!(objects, vec!["g:1:321: nesting deeper than 64 levels"]);
    assert_eq!(unclosed, vec!["h:1:232: nesting deeper than 64 levels"]);
}

#[test]
fn nesting_up_to_the_limit_and_brackets_in_strings_are_fine() {
    let at_limit = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert_eq!(
        errors("f", &at_limit),
        vec!["f:1:1: expected a JSON object mapping \"ROLE:ALERT\" keys to runbooks"]
    );
    let in_string = format!(
        r#"{{"a:b": {{"description": "{}\"{{", "commands": ["echo '{}'"]}}}}"#,
        "[{".repeat(1000),
        "[".repeat(1000)
    );
    ok(&in_string);
}

#[test]
fn bad_keys() {
    let text = "{\"nocolon\": {\"commands\": [\"x\"]},\n \"a b:c\": {\"commands\": [\"x\"]},\n \"a:b:c\": {\"commands\": [\"x\"]},\n \" a:b\": {\"commands\": [\"x\"]}, \"**:x\": {\"commands\": [\"x\"]}}";
    let e = errors("f", text);
    assert_eq!(e.len(), 5, "{e:?}");
    assert!(e[0].starts_with("f:1:2: invalid runbook key \"nocolon\""));
    assert!(e[1].starts_with("f:2:2: invalid runbook key \"a b:c\""));
    assert!(e[2].starts_with("f:3:2: invalid runbook key \"a:b:c\""));
    assert!(e[3].starts_with("f:4:2: invalid runbook key \" a:b\""));
}

#[test]
fn numbers_out_of_range_or_not_whole() {
    let text = r#"{"a:b": {"commands": ["x"], "timeout_seconds": 0, "max_attempts": -1, "window_minutes": 1.5, "max_concurrent": 1001}}"#;
    let e = errors("f", text);
    assert_eq!(
        e,
        vec![
            "f:1:48: \"timeout_seconds\" must be between 1 and 172800, got 0",
            "f:1:67: \"max_attempts\" must be between 1 and 100, got -1",
            "f:1:89: \"window_minutes\" must be a whole number between 1 and 10080, got 1.5",
            "f:1:112: \"max_concurrent\" must be between 1 and 1000, got 1001",
        ]
    );
    let e = errors(
        "f",
        r#"{"a:b": {"commands": ["x"], "timeout_seconds": 172801}}"#,
    );
    assert_eq!(e.len(), 1);
    ok(r#"{"a:b": {"commands": ["x"], "timeout_seconds": 172800}}"#);
}

#[test]
fn wrong_types_and_modes() {
    let text = r#"{"a:b": {"commands": "x", "mode": "yolo", "verify": [1], "document": "a b"}, "c:d": []}"#;
    let e = errors("f", text);
    assert_eq!(
        e,
        vec![
            "f:1:22: \"commands\" must be an array of strings",
            "f:1:35: \"mode\" must be one of enforce, dry-run, approve, off; got \"yolo\"",
            "f:1:54: verify[0] must be a string",
            "f:1:70: \"document\" \"a b\" is not an SSM document name (3-128 of A-Z a-z 0-9 _ . -) or document ARN",
            "f:1:85: runbook \"c:d\" must be an object with at least \"commands\"",
        ]
    );
}

#[test]
fn columns_count_characters() {
    let e = errors(
        "f",
        "{\"a:b\": {\"description\": \"é日本\", \"x\": 1, \"commands\": [\"y\"]}}",
    );
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("f:1:32: unknown field \"x\""), "{e:?}");
}

#[test]
fn every_problem_reported_at_once() {
    let text = "{\"a\": {\"commands\": [\"x\"]},\n\"b:c\": {},\n\"d:e\": {\"commands\": [\"\"], \"mode\": 3}}";
    assert_eq!(errors("f", text).len(), 4);
}

#[test]
fn root_must_be_an_object() {
    assert_eq!(
        errors("f", "  [1]"),
        vec!["f:1:3: expected a JSON object mapping \"ROLE:ALERT\" keys to runbooks"]
    );
    assert_eq!(
        errors("f", ""),
        vec!["f:1:1: file is empty: expected a JSON object of runbooks"]
    );
}

#[test]
fn budget_warning_does_not_fail() {
    let text = r#"{"a:b": {"precheck": ["p"], "commands": ["x"], "verify": ["v"], "timeout_seconds": 600}}"#;
    let (_, warnings) = load(
        &[RunbookSource { name: "f", text }],
        &LoadOptions::default(),
    )
    .expect("valid");
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0]
            .to_string()
            .starts_with("f:1:65: warning: runbook \"a:b\" may run 1800 s"),
        "{}",
        warnings[0]
    );
}

#[test]
fn validator_and_serde_agree_on_accepted_entries() {
    let text = include_str!("../../../../tests/fixtures/runbooks.json");
    let m = ok(text);
    let via_serde: std::collections::BTreeMap<String, RunbookEntry> =
        serde_json::from_str(text).expect("serde");
    for (k, v) in via_serde {
        assert_eq!(m.get(&k), Some(&v), "{k}");
    }
}
