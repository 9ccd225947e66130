#![allow(dead_code)]
//! Shared helpers for engine tests: alert bodies, runbooks, a wired engine over fakes.

use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::RunbookMap;
use selfheal_service::fakes::FakeWorld;
use selfheal_service::{Engine, EngineSettings, InboundRecord};
use std::sync::Arc;
use std::time::Duration;

pub const T0: i64 = 1_795_403_000_000;
pub const DEADLINE: i64 = T0 + 900_000_000;

pub fn runbooks(json: &str) -> Arc<RunbookMap> {
    Arc::new(
        load(
            &[RunbookSource {
                name: "t.json",
                text: json,
            }],
            &LoadOptions::default(),
        )
        .expect("valid runbooks")
        .0,
    )
}

pub fn standard_runbooks() -> Arc<RunbookMap> {
    runbooks(
        r#"{
      "api:nginx_down": {"owner": "@web", "precheck": ["! pgrep -x nginx"], "commands": ["systemctl restart nginx"],
                          "verify": ["systemctl is-active --quiet nginx"], "max_attempts": 3, "window_minutes": 60},
      "api:dry": {"mode": "dry-run", "commands": ["echo would"]},
      "api:off": {"mode": "off", "commands": ["echo never"]},
      "api:approve": {"mode": "approve", "precheck": ["true"], "commands": ["echo approved"], "approvers": ["U123"]},
      "web:*": {"commands": ["systemctl restart app"], "max_concurrent": 2, "max_attempts": 100}
    }"#,
    )
}

/// A CloudWatch alarm notification as SNS delivers it to SQS (non-raw).
pub fn cw_body(alarm: &str, state: &str, instance: &str, time: &str) -> String {
    let message = serde_json::json!({
        "AlarmName": alarm,
        "AlarmArn": format!("arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:{alarm}"),
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": time,
        "Region": "Asia Pacific (Tokyo)",
        "Trigger": {"Dimensions": [{"name": "InstanceId", "value": instance}]}
    });
    serde_json::json!({
        "Type": "Notification",
        "MessageId": format!("sns-{alarm}-{time}"),
        "Message": message.to_string()
    })
    .to_string()
}

pub fn rec(id: &str, body: String) -> InboundRecord {
    InboundRecord {
        message_id: id.to_owned(),
        body,
        receive_count: 1,
    }
}

pub fn world() -> FakeWorld {
    let w = FakeWorld::new(T0);
    w.tags.set("i-0c51f9f1213e63159", "api");
    w
}

pub fn settings() -> EngineSettings {
    EngineSettings {
        claim_lease: Duration::from_secs(60),
        poll_initial: Duration::from_millis(100),
        poll_max: Duration::from_secs(2),
        max_per_hour: 1_000_000,
        ..EngineSettings::default()
    }
}

pub fn engine(w: &FakeWorld, map: Arc<RunbookMap>) -> Engine {
    Engine::new(w.ports(), map, settings())
}

pub const NGINX: &str = "i-0c51f9f1213e63159";
