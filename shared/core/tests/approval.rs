//! `selfheal_core::approval`: Slack's documented signature vector, hand-made vectors, payload
//! parsing, button values, expiry, the allow list and the queue message.

use selfheal_core::approval::*;
use serde_json::{json, Value};

// Slack's published example ("Verifying requests from Slack"): a slash-command body signed with
// the documentation's placeholder secret.
const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TIMESTAMP: &str = "1531420618";
const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const DOC_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
const DOC_NOW_MS: i64 = 1_531_420_618_000;

fn verify(sig: &str, ts: &str, body: &str, now_ms: i64) -> Result<i64, ApprovalError> {
    verify_signature(
        DOC_SECRET.as_bytes(),
        Some(ts),
        Some(sig),
        body.as_bytes(),
        now_ms,
    )
}

#[test]
fn slack_documented_vector_verifies() {
    assert_eq!(
        sign(DOC_SECRET.as_bytes(), DOC_TIMESTAMP, DOC_BODY.as_bytes()),
        DOC_SIGNATURE
    );
    assert_eq!(
        verify(DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS),
        Ok(1_531_420_618)
    );
    // Upper-case hex is the same signature.
    let upper = format!("v0={}", DOC_SIGNATURE[3..].to_ascii_uppercase());
    assert!(verify(&upper, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS).is_ok());
}

#[test]
fn tampering_anything_breaks_the_signature() {
    let bad = |r: Result<i64, ApprovalError>| {
        assert_eq!(r, Err(ApprovalError::BadSignature));
    };
    bad(verify(
        DOC_SIGNATURE,
        DOC_TIMESTAMP,
        &DOC_BODY.replace("roadrunner", "coyote"),
        DOC_NOW_MS,
    ));
    bad(verify(DOC_SIGNATURE, "1531420619", DOC_BODY, DOC_NOW_MS));
    bad(verify_signature(
        b"another-secret",
        Some(DOC_TIMESTAMP),
        Some(DOC_SIGNATURE),
        DOC_BODY.as_bytes(),
        DOC_NOW_MS,
    ));
    let mut flipped = DOC_SIGNATURE.to_owned();
    flipped.replace_range(10..11, "0");
    assert_ne!(flipped, DOC_SIGNATURE);
    bad(verify(&flipped, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS));
    bad(verify(
        &DOC_SIGNATURE.replace("v0=", "v1="),
        DOC_TIMESTAMP,
        DOC_BODY,
        DOC_NOW_MS,
    ));
    bad(verify(
        &DOC_SIGNATURE[..DOC_SIGNATURE.len() - 2],
        DOC_TIMESTAMP,
        DOC_BODY,
        DOC_NOW_MS,
    ));
    bad(verify(
        &format!("{DOC_SIGNATURE}00"),
        DOC_TIMESTAMP,
        DOC_BODY,
        DOC_NOW_MS,
    ));
    bad(verify("v0=zz", DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS));
    bad(verify(
        &format!("v0={}", "g".repeat(64)),
        DOC_TIMESTAMP,
        DOC_BODY,
        DOC_NOW_MS,
    ));
    assert_eq!(ApprovalError::BadSignature.status(), 401);
}

#[test]
fn old_and_future_timestamps_are_rejected_at_five_minutes() {
    // Exactly 300 s either way is accepted; 301 s is not.
    assert!(verify(DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS + 300_999).is_ok());
    assert!(verify(DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS - 300_000).is_ok());
    let stale = verify(DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS + 301_000);
    assert_eq!(
        stale,
        Err(ApprovalError::StaleTimestamp { skew_seconds: 301 })
    );
    let future = verify(DOC_SIGNATURE, DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS - 301_000);
    assert_eq!(
        future,
        Err(ApprovalError::StaleTimestamp { skew_seconds: -301 })
    );
    assert_eq!(stale.expect_err("an error").status(), 401);
    // The age is checked before the signature: an old request with a wrong signature is stale.
    assert!(matches!(
        verify("v0=00", DOC_TIMESTAMP, DOC_BODY, DOC_NOW_MS + 3_600_000),
        Err(ApprovalError::StaleTimestamp { .. })
    ));
}

#[test]
fn missing_or_unreadable_headers_are_unsigned() {
    let body = DOC_BODY.as_bytes();
    for (ts, sig) in [
        (None, Some(DOC_SIGNATURE)),
        (Some(DOC_TIMESTAMP), None),
        (Some(""), Some(DOC_SIGNATURE)),
        (Some("soon"), Some(DOC_SIGNATURE)),
        (Some("-1531420618"), Some(DOC_SIGNATURE)),
        (Some("99999999999999999999"), Some(DOC_SIGNATURE)),
    ] {
        let r = verify_signature(DOC_SECRET.as_bytes(), ts, sig, body, DOC_NOW_MS);
        assert!(
            matches!(r, Err(ApprovalError::Unsigned(_))),
            "{ts:?} {sig:?}: {r:?}"
        );
        assert_eq!(r.expect_err("an error").status(), 401);
    }
}

#[test]
fn errors_carry_clear_statuses() {
    let cases = [
        (ApprovalError::Unsigned("x".into()), 401, false),
        (ApprovalError::BadSignature, 401, false),
        (
            ApprovalError::StaleTimestamp { skew_seconds: 400 },
            401,
            false,
        ),
        (
            ApprovalError::NotAllowed {
                user_id: "U1".into(),
                key: "a:b".into(),
            },
            403,
            true,
        ),
        (
            ApprovalError::NotApprovable { key: "a:b".into() },
            403,
            true,
        ),
        (ApprovalError::Expired { expired_at_ms: 1 }, 410, true),
        (ApprovalError::UnknownAction("x".into()), 400, true),
        (ApprovalError::Malformed("x".into()), 400, true),
    ];
    for (e, status, after) in cases {
        assert_eq!(e.status(), status, "{e}");
        assert_eq!(e.after_authentication(), after, "{e}");
        assert!(!e.code().is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Payloads

const T0: i64 = 1_700_000_000_000;

fn button() -> ButtonValue {
    ButtonValue::new(
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web:nginx_down|2023-11-14T22:13:20.000+0000|i-0123456789abcdef0",
        "web:nginx_down",
        T0,
        DEFAULT_TTL_MS,
    )
}

fn payload(action_id: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U123", "username": "alice", "name": "alice", "team_id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C1", "is_ephemeral": false},
        "channel": {"id": "C1", "name": "ops"},
        "message": {"ts": "1700000000.000100", "text": "Approval needed", "blocks": [
            {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "Approval needed"}},
            {"type": "actions", "block_id": "selfheal_approval", "elements": []}
        ]},
        "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "actions": [{"action_id": action_id, "block_id": "selfheal_approval", "type": "button",
                     "value": value, "action_ts": "1700000100.123456"}]
    })
}

fn form(p: &Value) -> Vec<u8> {
    let mut out = String::from("payload=");
    for b in p.to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.into_bytes()
}

fn value() -> String {
    button().encode().expect("encodes")
}

#[test]
fn a_run_press_is_parsed() {
    let p = parse_press(&form(&payload(ACTION_RUN, &value()))).expect("parses");
    assert_eq!(p.decision, Decision::Run);
    assert_eq!(p.button, button());
    assert_eq!(p.interaction.user_id, "U123");
    assert_eq!(p.interaction.user_name.as_deref(), Some("alice"));
    assert_eq!(p.interaction.channel_id.as_deref(), Some("C1"));
    assert_eq!(p.interaction.message_ts, "1700000000.000100");
    assert_eq!(
        p.interaction.action_ts.as_deref(),
        Some("1700000100.123456")
    );
    assert_eq!(
        p.interaction.response_url.as_deref(),
        Some("https://hooks.slack.com/actions/T1/1/abc")
    );
    assert_eq!(p.interaction.message_blocks.as_ref().map(Vec::len), Some(2));
    assert_eq!(p.press_id(), "U123@1700000100.123456");
    let skip = parse_press(&form(&payload(ACTION_SKIP, &value()))).expect("parses");
    assert_eq!(skip.decision, Decision::Skip);
}

#[test]
fn unknown_actions_and_malformed_payloads_are_400() {
    let unknown = parse_press(&form(&payload("delete_everything", &value())));
    assert_eq!(
        unknown,
        Err(ApprovalError::UnknownAction("delete_everything".into()))
    );
    assert_eq!(unknown.expect_err("an error").status(), 400);

    let mut no_actions = payload(ACTION_RUN, &value());
    no_actions["actions"] = json!([]);
    let mut view = payload(ACTION_RUN, &value());
    view["type"] = json!("view_submission");
    let mut bad_user = payload(ACTION_RUN, &value());
    bad_user["user"]["id"] = json!("<!channel>");
    let mut no_user = payload(ACTION_RUN, &value());
    if let Some(o) = no_user.as_object_mut() {
        o.remove("user");
    }
    let mut no_container = payload(ACTION_RUN, &value());
    if let Some(o) = no_container.as_object_mut() {
        o.remove("container");
    }
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"payload=".to_vec(),
        b"payload=%7Bnot-json".to_vec(),
        b"token=abc&text=hi".to_vec(),
        b"{\"type\":\"block_actions\"}".to_vec(),
        form(&json!([1, 2])),
        form(&no_actions),
        form(&view),
        form(&bad_user),
        form(&no_user),
        form(&no_container),
        form(&payload(ACTION_RUN, "not json")),
        form(&payload(ACTION_RUN, "")),
        form(&payload(
            ACTION_RUN,
            r#"{"v":2,"id":"x","key":"a:b","req":1,"exp":2}"#,
        )),
        form(&payload(
            ACTION_RUN,
            r#"{"v":1,"id":"","key":"a:b","req":1,"exp":2}"#,
        )),
        form(&payload(
            ACTION_RUN,
            r#"{"v":1,"id":"x","key":"ab","req":1,"exp":2}"#,
        )),
        form(&payload(
            ACTION_RUN,
            r#"{"v":1,"id":"x","key":"a:b c","req":1,"exp":2}"#,
        )),
        form(&payload(ACTION_RUN, r#"{"v":1,"id":"x","key":"a:b"}"#)),
    ];
    for body in bodies {
        let r = parse_press(&body);
        assert!(
            matches!(r, Err(ApprovalError::Malformed(_))),
            "{}: {r:?}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(r.expect_err("an error").status(), 400);
    }
}

#[test]
fn button_values_round_trip_and_respect_slacks_limit() {
    let b = button();
    let s = b.encode().expect("encodes");
    assert!(s.starts_with(r#"{"v":1,"id":"#), "{s}");
    assert_eq!(ButtonValue::decode(&s), Ok(b.clone()));
    assert_eq!(b.expires_at_ms, T0 + 30 * 60_000);
    assert_eq!(b.role_and_alert(), ("web", "nginx_down"));
    let long = ButtonValue::new(&"x".repeat(2000), "a:b", T0, DEFAULT_TTL_MS);
    assert!(matches!(long.encode(), Err(ApprovalError::Malformed(_))));
}

#[test]
fn expiry_is_the_earlier_of_the_button_and_the_message_time() {
    let press = parse_press(&form(&payload(ACTION_RUN, &value()))).expect("parses");
    let posted = 1_700_000_000_000; // message_ts 1700000000.000100 → ms (sub-ms dropped)
    assert_eq!(slack_ts_ms("1700000000.000100"), Some(posted));
    assert_eq!(slack_ts_ms("1700000000.5"), Some(posted + 500));
    assert_eq!(slack_ts_ms("1700000000"), Some(posted));
    assert_eq!(slack_ts_ms("x.1"), None);
    assert_eq!(slack_ts_ms("1.x"), None);
    let exp = T0 + DEFAULT_TTL_MS;
    assert_eq!(check_expiry(&press, DEFAULT_TTL_MS, exp), Ok(exp));
    assert_eq!(
        check_expiry(&press, DEFAULT_TTL_MS, exp + 1),
        Err(ApprovalError::Expired { expired_at_ms: exp })
    );
    assert_eq!(ApprovalError::Expired { expired_at_ms: exp }.status(), 410);

    // A value claiming a far expiry gains nothing: the message's time + TTL caps it.
    let mut forged = button();
    forged.expires_at_ms = T0 + 365 * 86_400_000;
    let press =
        parse_press(&form(&payload(ACTION_RUN, &forged.encode().expect("enc")))).expect("parses");
    assert!(matches!(
        check_expiry(&press, DEFAULT_TTL_MS, posted + DEFAULT_TTL_MS + 1),
        Err(ApprovalError::Expired { .. })
    ));
    // A shorter TTL in the function wins over the engine's.
    assert!(check_expiry(&press, 60_000, posted + 61_000).is_err());
}

#[test]
fn allow_list_users_groups_and_default_group() {
    let approvers = vec!["U123".to_owned(), "S777".to_owned()];
    let members: GroupMembers = [
        ("S777".to_owned(), vec!["U900".to_owned()]),
        ("S999".to_owned(), vec!["U555".to_owned()]),
    ]
    .into_iter()
    .collect();
    let allow = AllowList::new(&approvers, Some("S999"));
    assert_eq!(allow.groups(), vec!["S777", "S999"]);
    assert!(allow.lists_user("U123"));
    assert!(!allow.lists_user("S777"), "a group id is not a user");
    assert_eq!(allow.check("U123", "web:x", &members), Ok(AllowedBy::User));
    assert_eq!(
        allow.check("U900", "web:x", &members),
        Ok(AllowedBy::Group("S777".into()))
    );
    assert_eq!(
        allow.check("U555", "web:x", &members),
        Ok(AllowedBy::Group("S999".into()))
    );
    assert_eq!(AllowedBy::Group("S999".into()).describe(), "group:S999");
    let denied = allow.check("U666", "web:x", &members);
    assert_eq!(
        denied,
        Err(ApprovalError::NotAllowed {
            user_id: "U666".into(),
            key: "web:x".into()
        })
    );
    assert_eq!(denied.expect_err("an error").status(), 403);
    // A group missing from the lookup allows nobody; no approvers and no group allow nobody.
    assert!(allow.check("U900", "web:x", &GroupMembers::new()).is_err());
    assert!(AllowList::new(&[], None)
        .check("U123", "web:x", &members)
        .is_err());
    assert!(AllowList::new(&[], None).groups().is_empty());
}

#[test]
fn queue_message_round_trips_and_is_recognised() {
    let press = parse_press(&form(&payload(ACTION_RUN, &value()))).expect("parses");
    let a = Approval::from_press(&press, &AllowedBy::User, T0 + DEFAULT_TTL_MS, T0 + 100_000);
    let body = approval_message(&a);
    let v: Value = serde_json::from_str(&body).expect("json");
    let inner = &v["selfheal_approval"];
    assert_eq!(inner["version"], 1);
    assert_eq!(inner["decision"], "run");
    assert_eq!(inner["user_id"], "U123");
    assert_eq!(inner["user_name"], "alice");
    assert_eq!(inner["action_ts"], "1700000100.123456");
    assert_eq!(inner["allowed_by"], "user");
    assert_eq!(inner["channel_id"], "C1");
    assert_eq!(inner["message_ts"], "1700000000.000100");
    assert_eq!(inner["requested_at_ms"], T0);
    assert_eq!(inner["expires_at_ms"], T0 + DEFAULT_TTL_MS);
    assert_eq!(inner["pressed_at_ms"], T0 + 100_000);
    assert_eq!(parse_approval(&body), Some(Ok(a.clone())));

    let record = ApprovalRecord::from_approval(&a);
    assert!(a.matches_record(&record));
    assert_eq!(record.to_approval(), a);
    assert_eq!(record.queued_at_ms, None);
    assert_eq!(
        record.expires_at,
        (T0 + 100_000) / 1000 + RECORD_TTL_SECONDS
    );
    assert_eq!(record_pk("id-1"), "approval#id-1");
    let mut other = record.clone();
    other.press_id = "U123@other".into();
    assert!(!a.matches_record(&other));
    // Unset options are not written (DynamoDB conditions test their absence).
    let rv = serde_json::to_value(&record).expect("json");
    assert!(rv.get("queued_at_ms").is_none() && rv.get("resent_at_ms").is_none());
}

#[test]
fn parse_approval_tells_alerts_from_approvals() {
    // Not approvals: alerts of every shape, and garbage.
    for body in [
        "",
        "not json",
        "[1,2]",
        r#"{"AlarmName":"web:nginx_down","NewStateValue":"ALARM"}"#,
        r#"{"Type":"Notification","Message":"{\"selfheal_approval\":{}}"}"#,
        r#"{"alert":"x","instance_id":"i-0123456789abcdef0"}"#,
    ] {
        assert_eq!(parse_approval(body), None, "{body}");
    }
    // Approvals that cannot be used.
    let good = || {
        json!({"version": 1, "identity": "id", "key": "a:b", "decision": "run", "user_id": "U1X",
               "press_id": "U1X@1.2", "requested_at_ms": 1, "expires_at_ms": 10, "pressed_at_ms": 5})
    };
    assert!(matches!(
        parse_approval(&json!({"selfheal_approval": good()}).to_string()),
        Some(Ok(_))
    ));
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut v = good();
        f(&mut v);
        json!({"selfheal_approval": v}).to_string()
    };
    for body in [
        json!({"selfheal_approval": "yes"}).to_string(),
        mutate(&|v| v["version"] = json!(2)),
        mutate(&|v| v["decision"] = json!("maybe")),
        mutate(&|v| v["identity"] = json!("")),
        mutate(&|v| v["user_id"] = json!("<!here>")),
        mutate(&|v| v["press_id"] = json!("")),
        mutate(&|v| v["pressed_at_ms"] = json!(11)),
        mutate(&|v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("identity");
            }
        }),
    ] {
        assert!(matches!(parse_approval(&body), Some(Err(_))), "{body}");
    }
}
