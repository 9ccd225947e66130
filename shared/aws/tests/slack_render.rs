//! Block Kit rendering: snapshots of every kind of message (reviewers see them in pull
//! requests; `INSTA_UPDATE=always cargo test --workspace` rewrites them after a deliberate
//! change), and hostile alert text that must come out escaped, redacted and within Slack's limits.

use selfheal_aws::slack::blocks::{
    render, render_start_update, MAX_BLOCKS, MAX_FALLBACK_CHARS, MAX_FIELDS, MAX_FIELD_CHARS,
    MAX_HEADER_CHARS, MAX_SECTION_CHARS,
};
use selfheal_aws::slack::sanitize::TRUNCATED;
use selfheal_aws::slack::SlackMessage;
use selfheal_service::ports::{Announcement, AnnouncementKind};
use serde_json::Value;

const CMD1: &str = "0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a";
const CMD2: &str = "5e4c3b2a-9a8e-4c3b-1f2d-0b6c9a4e7d6f";

fn start() -> Announcement {
    Announcement {
        kind: AnnouncementKind::Start,
        identity: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web:disk_full|2026-11-23T10:00:00.000+0000|i-0123456789abcdef0".to_owned(),
        key: Some("web:disk_full".to_owned()),
        runbook: Some("*:disk_full".to_owned()),
        description: Some("Clean old files from /tmp when the root disk fills".to_owned()),
        owner: Some("@web-oncall".to_owned()),
        instance: Some("i-0123456789abcdef0".to_owned()),
        role: Some("web".to_owned()),
        region: Some("us-east-1".to_owned()),
        account: Some("123456789012".to_owned()),
        alarm_name: Some("web:disk_full".to_owned()),
        alarm_reason: Some(
            "Threshold Crossed: 1 out of the last 1 datapoints [91.2 (23/11/26 10:00:00)] was greater than the threshold (90.0)."
                .to_owned(),
        ),
        attempt: 1,
        max_attempts: 3,
        dry_run: false,
        outcome: None,
        detail: "starting".to_owned(),
        duration_ms: None,
        failed_phase: None,
        exit_code: None,
        output_tail: None,
        command_ids: vec![],
        commands: vec![
            "df -h /".to_owned(),
            "find /tmp -type f -mtime +2 -delete".to_owned(),
            "df -h /".to_owned(),
        ],
        approval: None,
        thread: None,
    }
}

fn result(outcome: &str, detail: &str) -> Announcement {
    Announcement {
        kind: AnnouncementKind::Result,
        outcome: Some(outcome.to_owned()),
        detail: detail.to_owned(),
        duration_ms: Some(12_345),
        commands: vec![],
        approval: None,
        thread: None,
        ..start()
    }
}

fn json(m: &SlackMessage) -> Value {
    let v = m.to_json();
    check_limits(&v);
    v
}

// ------------------------------------------------------------------ snapshots

#[test]
fn snapshot_start() {
    insta::assert_json_snapshot!("start", json(&render(&start())));
}

#[test]
fn snapshot_healed() {
    let mut a = result("healed", "every command exited 0 and verify passed");
    a.command_ids = vec![CMD1.to_owned(), CMD2.to_owned()];
    insta::assert_json_snapshot!("healed", json(&render(&a)));
}

#[test]
fn snapshot_failed_with_output_tail() {
    let mut a = result("failed", "commands: line 2 exited 1");
    a.owner = Some("<!subteam^S0123ABCD|@web-oncall>".to_owned());
    a.failed_phase = Some("commands".to_owned());
    a.exit_code = Some(1);
    a.duration_ms = Some(3_400);
    a.command_ids = vec![CMD1.to_owned()];
    a.output_tail = Some(
        "\u{1b}[32mFilesystem      Size  Used Avail Use% Mounted on\u{1b}[0m\n\
         /dev/nvme0n1p1   20G   19G  1.0G  95% /\n\
         connecting with password=hunter2 token=xoxb-1111-2222-abcdef\n\
         export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n\
         posting to https://hooks.slack.com/services/T000/B000/XXXXSECRET\n\
         find: '/tmp/locked': Permission denied"
            .to_owned(),
    );
    let v = json(&render(&a));
    let all = v.to_string();
    for secret in [
        "hunter2",
        "xoxb-1111",
        "AKIAIOSFODNN7EXAMPLE",
        "XXXXSECRET",
        "\\u001b",
    ] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    insta::assert_json_snapshot!("failed_with_output_tail", v);
}

#[test]
fn snapshot_timed_out() {
    let mut a = result(
        "timed-out",
        "commands: SSM ExecutionTimedOut after the runbook's 120 s",
    );
    a.region = Some("Asia Pacific (Tokyo)".to_owned());
    a.failed_phase = Some("commands".to_owned());
    a.command_ids = vec![CMD1.to_owned()];
    a.duration_ms = Some(125_000);
    let v = json(&render(&a));
    let all = v.to_string();
    assert!(all.contains("https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1#alarmsV2:alarm/web%3Adisk_full"), "{all}");
    assert!(all.contains("https://ap-northeast-1.console.aws.amazon.com/systems-manager/run-command/0b6c9a4e-1f2d-4c3b-9a8e-7d6f5e4c3b2a?region=ap-northeast-1"), "{all}");
    insta::assert_json_snapshot!("timed_out", v);
}

#[test]
fn snapshot_dry_run_start() {
    let mut a = start();
    a.dry_run = true;
    a.attempt = 0;
    a.detail = "dry-run: nothing runs".to_owned();
    let v = json(&render(&a));
    assert_eq!(
        v["blocks"][0]["text"]["text"],
        ":test_tube: DRY RUN — nothing was run"
    );
    assert!(v["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("DRY RUN — nothing was run")));
    insta::assert_json_snapshot!("dry_run_start", v);
}

#[test]
fn snapshot_dry_run_result() {
    let mut a = result(
        "dry-run",
        "dry-run: would run 3 command(s) of *:disk_full on i-0123456789abcdef0; nothing ran",
    );
    a.dry_run = true;
    a.attempt = 0;
    a.duration_ms = Some(40);
    insta::assert_json_snapshot!("dry_run_result", json(&render(&a)));
}

#[test]
fn snapshot_budget_exhausted_escalation() {
    let mut a = result(
        "budget-exhausted",
        "3 attempts on i-0123456789abcdef0 within 60 minutes already: needs review by a human",
    );
    a.attempt = 0;
    a.duration_ms = Some(80);
    let v = json(&render(&a));
    assert!(v["blocks"][1]["text"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("@web-oncall") && t.contains("Needs a human")));
    assert!(v["text"]
        .as_str()
        .is_some_and(|t| t.ends_with("— @web-oncall")));
    insta::assert_json_snapshot!("budget_exhausted", v);
}

#[test]
fn snapshot_unresolved() {
    let mut a = result(
        "unresolved",
        "instance i-0123456789abcdef0 is tagged Role=db, not web: nothing runs",
    );
    a.owner = None;
    a.attempt = 0;
    a.duration_ms = None;
    a.region = Some("Atlantis (Central)".to_owned());
    insta::assert_json_snapshot!("unresolved", json(&render(&a)));
}

#[test]
fn snapshot_capacity_wait() {
    let mut a = result(
        "capacity-wait",
        "role web already runs 1 remediation(s), its max_concurrent; the alert is about to reach the dead-letter queue",
    );
    a.owner = Some("U0123ABCD, @web-oncall".to_owned());
    a.duration_ms = Some(600_000);
    insta::assert_json_snapshot!("capacity_wait", json(&render(&a)));
}

#[test]
fn snapshot_awaiting_approval() {
    let mut a = start();
    a.outcome = Some("awaiting-approval".to_owned());
    a.detail = "precheck passed; waiting for a permitted person to press Run".to_owned();
    a.owner = Some("S0123ABCD".to_owned());
    insta::assert_json_snapshot!("awaiting_approval", json(&render(&a)));
}

#[test]
fn snapshot_start_updated_with_outcome() {
    let done = result("healed", "every command exited 0");
    let v = json(&render_start_update(&start(), &done));
    assert!(v["blocks"][0]["text"]["text"]
        .as_str()
        .is_some_and(|t| t.starts_with(":white_check_mark: Healed")));
    insta::assert_json_snapshot!("start_updated", v);
}

// ------------------------------------------------------------------ hostile input

/// Every text in the message, with the limit that applies to it.
fn texts(v: &Value) -> Vec<(String, usize)> {
    let mut out = vec![(
        v["text"].as_str().unwrap_or_default().to_owned(),
        MAX_FALLBACK_CHARS,
    )];
    for b in v["blocks"].as_array().into_iter().flatten() {
        match b["type"].as_str() {
            Some("header") => out.push((
                b["text"]["text"].as_str().unwrap_or_default().to_owned(),
                MAX_HEADER_CHARS,
            )),
            Some("section") => {
                if let Some(t) = b["text"]["text"].as_str() {
                    out.push((t.to_owned(), MAX_SECTION_CHARS));
                }
                let fields = b["fields"].as_array().cloned().unwrap_or_default();
                assert!(fields.len() <= MAX_FIELDS, "too many fields: {b}");
                for f in fields {
                    out.push((
                        f["text"].as_str().unwrap_or_default().to_owned(),
                        MAX_FIELD_CHARS,
                    ));
                }
            }
            Some("context") => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    out.push((
                        e["text"].as_str().unwrap_or_default().to_owned(),
                        MAX_SECTION_CHARS,
                    ));
                }
            }
            other => panic!("unexpected block type {other:?}"),
        }
    }
    out
}

fn check_limits(v: &Value) {
    let blocks = v["blocks"].as_array().map_or(0, Vec::len);
    assert!(blocks <= MAX_BLOCKS, "{blocks} blocks");
    for (t, max) in texts(v) {
        let n = t.chars().count();
        assert!(n <= max, "{n} > {max} chars: {t:.200}");
    }
}

/// Every `<…>` in a text must be one we made: a console link, a user-group or a user mention.
fn check_no_forged_markup(v: &Value) {
    for (t, _) in texts(v) {
        assert!(!t.contains('\u{1b}'), "ANSI escape left in {t:?}");
        assert!(
            !t.chars().any(|c| c.is_control() && c != '\n'),
            "control character left in {t:?}"
        );
        let lower = t.to_lowercase();
        for bare in ["@here", "@channel", "@everyone"] {
            assert!(!lower.contains(bare), "bare {bare} in {t:?}");
        }
        for (i, _) in t.match_indices('<') {
            let rest = &t[i..];
            let ok = rest.starts_with("<https://us-east-1.console.aws.amazon.com/")
                || rest.starts_with("<!subteam^S0123ABCD>")
                || rest.starts_with("<@U0123ABCD>");
            assert!(ok, "forged markup at {:?}", &rest[..rest.len().min(80)]);
            assert!(
                rest.contains('>'),
                "unclosed markup at {:?}",
                &rest[..rest.len().min(80)]
            );
        }
    }
}

fn hostile() -> Announcement {
    let big = format!(
        "{}\u{1b}[31m <!channel> @here <https://evil.example|click me> &amp; {}",
        "A".repeat(5_000),
        "B".repeat(5_000)
    );
    Announcement {
        kind: AnnouncementKind::Result,
        identity: "<!everyone>|\u{7}id".to_owned(),
        key: Some("web:<!channel>".to_owned()),
        runbook: Some("*:disk_full".to_owned()),
        description: Some(
            "desc <!here> @channel \u{1b}]8;;https://evil\u{7}link\u{1b}]8;;\u{7}".to_owned(),
        ),
        owner: Some("<!channel> @everyone S0123ABCD".to_owned()),
        instance: Some("i-0123456789abcdef0 <@U999>".to_owned()),
        role: Some("web\n*bold*\r\n<!here>".to_owned()),
        region: Some("us-east-1".to_owned()),
        account: Some("<https://evil|123>".to_owned()),
        alarm_name: Some("<!channel> @here <https://evil.example|click> \u{1b}[2J".to_owned()),
        alarm_reason: Some(big.clone()),
        attempt: 2,
        max_attempts: 3,
        dry_run: false,
        outcome: Some("failed".to_owned()),
        detail: big.clone(),
        duration_ms: Some(1),
        failed_phase: Some("commands<!here>".to_owned()),
        exit_code: Some(137),
        output_tail: Some(format!("{big}\n```\n<!channel>\n{}", "x\n".repeat(5_000))),
        command_ids: (0..400)
            .map(|i| format!("{i:08x}-1f2d-4c3b-9a8e-7d6f5e4c3b2a"))
            .chain(["abc|<!channel>".to_owned()])
            .collect(),
        commands: (0..500).map(|i| format!("echo {i} <!channel>")).collect(),
        approval: None,
        thread: None,
    }
}

#[test]
fn hostile_text_is_escaped_and_truncated() {
    for a in [
        hostile(),
        Announcement {
            kind: AnnouncementKind::Start,
            outcome: None,
            ..hostile()
        },
        Announcement {
            kind: AnnouncementKind::Start,
            dry_run: true,
            outcome: None,
            ..hostile()
        },
        Announcement {
            outcome: Some("budget-exhausted".to_owned()),
            ..hostile()
        },
    ] {
        let v = render(&a).to_json();
        check_limits(&v);
        check_no_forged_markup(&v);
        let all = v.to_string();
        assert!(
            all.contains("&lt;!channel&gt;"),
            "escaped text is still shown"
        );
        assert!(all.contains(TRUNCATED), "long text shows the marker");
        assert!(!all.contains("<https://evil"), "{all:.500}");
        assert!(
            all.contains("&lt;https://evil.example|click&gt;"),
            "shown, as text"
        );
    }
    let done = render_start_update(
        &Announcement {
            kind: AnnouncementKind::Start,
            outcome: None,
            ..hostile()
        },
        &hostile(),
    )
    .to_json();
    check_limits(&done);
    check_no_forged_markup(&done);
}

#[test]
fn output_tail_keeps_its_end_and_closes_the_code_block() {
    let mut a = result("failed", "commands: line 3 exited 2");
    a.output_tail = Some(format!("{}\nTHE LAST LINE", "noise line\n".repeat(2_000)));
    let v = render(&a).to_json();
    check_limits(&v);
    let tail = v["blocks"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .filter_map(|b| b["text"]["text"].as_str())
                .find(|t| t.starts_with("*Output*"))
        })
        .unwrap_or_default()
        .to_owned();
    assert!(tail.contains(&format!("```\n{TRUNCATED}\n")), "{tail:.200}");
    assert!(
        tail.ends_with("THE LAST LINE\n```"),
        "{}",
        &tail[tail.len() - 60..]
    );
    assert_eq!(tail.matches("```").count(), 2);
}

#[test]
fn many_blocks_are_capped() {
    // Whatever the input, a message never exceeds 50 blocks; with the layout used it stays
    // far below.
    let v = render(&hostile()).to_json();
    let n = v["blocks"].as_array().map_or(0, Vec::len);
    assert!(n <= 12, "{n}");
}

#[test]
fn header_is_at_most_150_chars() {
    let mut a = start();
    a.key = Some("k".repeat(400));
    let v = render(&a).to_json();
    let h = v["blocks"][0]["text"]["text"].as_str().unwrap_or_default();
    assert_eq!(h.chars().count(), MAX_HEADER_CHARS);
    assert!(h.ends_with(TRUNCATED));
}

// ---------------------------------------------------------------------------------------------
// Approval requests: the Run / Skip buttons and the replies to a press (moved from
// `selfheal_core::approval` with the renderers).

mod approval {
    use selfheal_aws::slack::blocks::{actions_block, ACTIONS_BLOCK_ID};
    use selfheal_aws::slack::replies::{
        already_decided_text, answer_body, decision_text, ephemeral_message, refusal_text,
        replacement_message, response_url_message, UNAVAILABLE_TEXT,
    };
    use selfheal_core::approval::{
        ApprovalError, ButtonValue, Decision, ACTION_RUN, ACTION_SKIP, DEFAULT_TTL_MS,
    };
    use selfheal_service::press::PressReply;
    use serde_json::{json, Value};

    const T0: i64 = 1_700_000_000_000;

    fn button() -> ButtonValue {
        ButtonValue::new(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web:nginx_down|2023-11-14T22:13:20.000+0000|i-0123456789abcdef0",
            "web:nginx_down",
            T0,
            DEFAULT_TTL_MS,
        )
    }

    fn original_blocks() -> Vec<Value> {
        vec![
            json!({"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "Approval needed"}}),
            json!({"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": []}),
        ]
    }

    #[test]
    fn both_buttons_carry_the_value() {
        let b = button();
        let s = b.encode().expect("encodes");
        let block = actions_block(&b).expect("block");
        assert_eq!(block["type"], "actions");
        assert_eq!(block["block_id"], ACTIONS_BLOCK_ID);
        assert_eq!(ACTIONS_BLOCK_ID, "selfheal_approval");
        assert_eq!(block["elements"][0]["action_id"], ACTION_RUN);
        assert_eq!(block["elements"][0]["style"], "primary");
        assert!(block["elements"][0]["confirm"].is_object());
        assert_eq!(block["elements"][1]["action_id"], ACTION_SKIP);
        assert_eq!(block["elements"][0]["value"], Value::String(s.clone()));
        assert_eq!(block["elements"][1]["value"], Value::String(s));
    }

    #[test]
    fn replies_replace_the_buttons_and_name_the_person() {
        assert_eq!(
            decision_text(Decision::Run, "U1"),
            ":white_check_mark: Approved by <@U1> — running"
        );
        assert_eq!(
            decision_text(Decision::Skip, "U1"),
            ":fast_forward: Skipped by <@U1> — nothing will run"
        );
        let blocks = original_blocks();
        let m = replacement_message(Some(&blocks), "Approved by <@U123> — running");
        assert_eq!(m["replace_original"], true);
        assert_eq!(m["text"], "Approved by <@U123> — running");
        let kept = m["blocks"].as_array().expect("blocks");
        assert_eq!(kept.len(), 2, "header kept, buttons removed, context added");
        assert_eq!(kept[0]["type"], "header");
        assert_eq!(kept[1]["type"], "context");
        assert!(replacement_message(None, "t")["blocks"]
            .as_array()
            .is_some_and(|b| b.len() == 1));

        assert_eq!(
            already_decided_text(Decision::Run, "U123"),
            "Already approved by <@U123> — nothing more to do."
        );
        let e = ephemeral_message("x");
        assert_eq!(e["response_type"], "ephemeral");
        assert_eq!(e["replace_original"], false);
        assert!(refusal_text(&ApprovalError::Expired { expired_at_ms: 1 }).contains("expired"));
    }

    #[test]
    fn each_press_reply_renders_as_before() {
        let decided = PressReply::Decided {
            decision: Decision::Run,
            user_id: "U123".into(),
            original_blocks: Some(original_blocks()),
        };
        assert_eq!(
            response_url_message(&decided),
            json!({
                "replace_original": true,
                "response_type": "in_channel",
                "text": ":white_check_mark: Approved by <@U123> — running",
                "blocks": [
                    {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "Approval needed"}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": ":white_check_mark: Approved by <@U123> — running"}]}
                ],
            })
        );
        assert_eq!(answer_body(&decided), response_url_message(&decided));

        let refused = PressReply::Refused(ApprovalError::NotAllowed {
            user_id: "U666".into(),
            key: "web:nginx_down".into(),
        });
        assert_eq!(
            answer_body(&refused),
            json!({"ok": false, "error": "not_allowed", "message": "user U666 may not approve web:nginx_down"})
        );
        assert_eq!(
            response_url_message(&refused),
            json!({"replace_original": false, "response_type": "ephemeral",
                   "text": ":no_entry: You are not allowed to approve `web:nginx_down`: ask one of the runbook's approvers."})
        );

        let down = PressReply::Unavailable {
            reason: "sqs:SendMessage throttled".into(),
        };
        assert_eq!(
            answer_body(&down),
            json!({"ok": false, "error": "unavailable", "message": "sqs:SendMessage throttled"})
        );
        assert_eq!(response_url_message(&down)["text"], UNAVAILABLE_TEXT);

        assert_eq!(
            response_url_message(&PressReply::InProgress),
            json!({"replace_original": false, "response_type": "ephemeral",
                   "text": "This press is being recorded — nothing more to do."})
        );
        let already = PressReply::AlreadyDecided {
            decision: Decision::Skip,
            user_id: "U9".into(),
        };
        assert_eq!(
            answer_body(&already)["text"],
            "Already skipped by <@U9> — nothing more to do."
        );
    }
}
