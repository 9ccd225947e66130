//! Property tests of the pure core: ingestion never panics, and `decide` never hands out commands
//! it should not.

use proptest::prelude::*;
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::{decide, parse_body, parse_document, AlarmState, Alert, InstanceId, Source};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_a_record_body_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let body = String::from_utf8_lossy(&bytes);
        let r = parse_body(&body, Some("m"));
        if let Err(bad) = &r.item {
            prop_assert!(!bad.reason.is_empty());
        }
        let _ = parse_document(&body);
    }

    #[test]
    fn json_shaped_noise_never_panics(body in r#"\{("(AlarmName|Type|Message|alert|detail|alarmData|Records|instance_id|state|role|Trigger)":("[a-z:_-]{0,12}"|\[\]|\{\}|null|1),?){0,6}\}"#) {
        let r = parse_body(&body, None);
        if let Ok(a) = &r.item {
            prop_assert!(a.instance_ids.iter().all(|i| InstanceId::parse(i.as_str()).is_ok()));
        }
    }
}

fn map() -> selfheal_core::RunbookMap {
    load(
        &[RunbookSource {
            name: "p.json",
            text: r#"{"web:a":{"commands":["x"]},"web:*":{"commands":["y"],"mode":"dry-run"},"*:b":{"commands":["z"],"mode":"approve"},"db:c":{"commands":["w"],"mode":"off"}}"#,
        }],
        &LoadOptions::default(),
    )
    .expect("valid")
    .0
}

fn arb_alert() -> impl Strategy<Value = Alert> {
    let state = prop_oneof![
        Just(AlarmState::Alarm),
        Just(AlarmState::Ok),
        Just(AlarmState::InsufficientData)
    ];
    let role = prop_oneof![
        Just(None),
        Just(Some("web".to_owned())),
        Just(Some("db".to_owned())),
        Just(Some("x".to_owned()))
    ];
    let alert = prop_oneof![Just("a"), Just("b"), Just("c"), Just("zz")];
    let ids = proptest::collection::vec("i-[0-9a-f]{8}", 0..3);
    (state, role, alert, ids, any::<bool>()).prop_map(|(state, role, alert, ids, composite)| {
        let instance_ids: Vec<InstanceId> = ids
            .iter()
            .filter_map(|i| InstanceId::parse(i).ok())
            .collect();
        Alert {
            source: Source::Generic,
            alert: alert.to_owned(),
            role,
            state,
            instance_ids,
            identity: "p".into(),
            alarm_name: None,
            alarm_arn: None,
            reason: None,
            description: None,
            account: None,
            region: None,
            state_change_time: None,
            composite,
        }
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decide_hands_out_commands_only_when_safe(alert in arb_alert(), fallback in prop_oneof![Just(None), Just(Some("web")), Just(Some("db"))]) {
        let m = map();
        let d = decide(&alert, &m, fallback);
        if !d.commands().is_empty() {
            prop_assert_eq!(alert.state, AlarmState::Alarm);
            prop_assert_eq!(alert.instance_ids.len(), 1);
            prop_assert!(d.key.is_some());
            prop_assert!(d.runbook.is_some());
            let role = alert.role.as_deref().or(fallback).unwrap_or_default();
            prop_assert!(m.lookup(role, &alert.alert).is_some());
        }
        if d.key.is_none() {
            prop_assert!(d.runbook.is_none());
        }
        prop_assert!(!d.reason.is_empty());
    }
}
