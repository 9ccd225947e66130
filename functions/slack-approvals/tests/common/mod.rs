#![allow(dead_code)]
//! Test support: in-memory fakes of the function's ports, the runbooks, and signed Slack
//! requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use selfheal_aws::slack::blocks::ACTIONS_BLOCK_ID;
use selfheal_aws::slack::Secret;
use selfheal_core::approval::{sign, ApprovalRecord, ButtonValue, EpochMillis, DEFAULT_TTL_MS};
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::RunbookMap;
use selfheal_service::ports::PortError;
use serde_json::{json, Value};
use slack_approvals::{
    App, ApprovalQueue, ApprovalStore, Directory, HttpRequest, Inserted, PressError, Responder,
};

pub const SECRET: &str = "test-signing-secret-never-logged";
/// When the engine asked (and the Slack message was posted: `1700000000.000100`).
pub const T0: EpochMillis = 1_700_000_000_000;
pub const MESSAGE_TS: &str = "1700000000.000100";
/// A minute later: someone presses.
pub const NOW: EpochMillis = T0 + 60_000;
pub const IDENTITY: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web:nginx_down|2023-11-14T22:13:20.000+0000|i-0123456789abcdef0";
pub const RESPONSE_URL: &str = "https://hooks.slack.com/actions/T1/1/abc";

pub const RUNBOOKS: &str = r#"{
  "web:nginx_down": {"mode": "approve", "precheck": ["true"], "commands": ["systemctl restart nginx"], "approvers": ["U123", "S777"]},
  "web:disk_full": {"commands": ["echo enforce"]},
  "db:*": {"mode": "approve", "commands": ["echo db"]}
}"#;

pub fn runbooks() -> RunbookMap {
    let src = [RunbookSource {
        name: "test.json",
        text: RUNBOOKS,
    }];
    load(&src, &LoadOptions::default())
        .expect("valid runbooks")
        .0
}

#[derive(Default)]
pub struct MemStore {
    pub records: Mutex<HashMap<String, ApprovalRecord>>,
    pub fail: AtomicBool,
}

impl MemStore {
    pub fn get(&self, identity: &str) -> Option<ApprovalRecord> {
        self.records.lock().expect("lock").get(identity).cloned()
    }
    fn check(&self) -> Result<(), PressError> {
        if self.fail.load(Ordering::SeqCst) {
            Err(PortError::Transient("DynamoDB is unreachable".to_owned()).into())
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ApprovalStore for MemStore {
    async fn insert(&self, record: &ApprovalRecord) -> Result<Inserted, PressError> {
        self.check()?;
        let mut m = self.records.lock().expect("lock");
        match m.get(&record.identity) {
            Some(existing) => Ok(Inserted::Exists(Box::new(existing.clone()))),
            None => {
                m.insert(record.identity.clone(), record.clone());
                Ok(Inserted::Won)
            }
        }
    }
    async fn mark_queued(
        &self,
        identity: &str,
        press_id: &str,
        at_ms: EpochMillis,
    ) -> Result<(), PressError> {
        self.check()?;
        let mut m = self.records.lock().expect("lock");
        match m.get_mut(identity) {
            Some(r) if r.press_id == press_id => {
                r.queued_at_ms = Some(at_ms);
                Ok(())
            }
            _ => Err(PortError::Permanent("conditional check failed".to_owned()).into()),
        }
    }
    async fn remove_unqueued(&self, identity: &str, press_id: &str) -> Result<(), PressError> {
        self.check()?;
        let mut m = self.records.lock().expect("lock");
        if m.get(identity)
            .is_some_and(|r| r.press_id == press_id && r.queued_at_ms.is_none())
        {
            m.remove(identity);
        }
        Ok(())
    }
    async fn take_over(
        &self,
        stale: &ApprovalRecord,
        now_ms: EpochMillis,
    ) -> Result<bool, PressError> {
        self.check()?;
        let mut m = self.records.lock().expect("lock");
        match m.get_mut(&stale.identity) {
            Some(r)
                if r.press_id == stale.press_id
                    && r.queued_at_ms.is_none()
                    && r.resent_at_ms == stale.resent_at_ms =>
            {
                r.resent_at_ms = Some(now_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[derive(Default)]
pub struct VecQueue {
    pub sent: Mutex<Vec<String>>,
    pub fail: AtomicBool,
    /// Each send takes this long (to make concurrent presses overlap).
    pub delay_ms: AtomicUsize,
}

impl VecQueue {
    pub fn bodies(&self) -> Vec<String> {
        self.sent.lock().expect("lock").clone()
    }
}

#[async_trait]
impl ApprovalQueue for VecQueue {
    async fn send(&self, body: &str) -> Result<(), PressError> {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(PortError::Transient("sqs:SendMessage throttled".to_owned()).into());
        }
        self.sent.lock().expect("lock").push(body.to_owned());
        Ok(())
    }
}

#[derive(Default)]
pub struct MapDirectory {
    pub groups: HashMap<String, Vec<String>>,
    pub fail: AtomicBool,
    pub calls: AtomicUsize,
}

#[async_trait]
impl Directory for MapDirectory {
    async fn members(&self, group: &str) -> Result<Vec<String>, PressError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(PressError::Slack(
                "usergroups.users.list answered 500".to_owned(),
            ));
        }
        Ok(self.groups.get(group).cloned().unwrap_or_default())
    }
}

#[derive(Default)]
pub struct RecResponder {
    pub posts: Mutex<Vec<(String, Value)>>,
}

impl RecResponder {
    pub fn posts(&self) -> Vec<(String, Value)> {
        self.posts.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Responder for RecResponder {
    async fn respond(&self, response_url: &str, message: &Value) {
        self.posts
            .lock()
            .expect("lock")
            .push((response_url.to_owned(), message.clone()));
    }
}

pub struct Harness {
    pub app: App,
    pub store: Arc<MemStore>,
    pub queue: Arc<VecQueue>,
    pub directory: Arc<MapDirectory>,
    pub responder: Arc<RecResponder>,
}

/// An app over fakes; group `S777` has `U900`, the default group `S999` has `U555`.
pub fn harness() -> Harness {
    let store = Arc::new(MemStore::default());
    let queue = Arc::new(VecQueue::default());
    let directory = Arc::new(MapDirectory {
        groups: HashMap::from([
            ("S777".to_owned(), vec!["U900".to_owned()]),
            ("S999".to_owned(), vec!["U555".to_owned()]),
        ]),
        ..MapDirectory::default()
    });
    let responder = Arc::new(RecResponder::default());
    let app = App {
        signing_secret: Secret::new(SECRET),
        runbooks: Arc::new(runbooks()),
        default_group: Some("S999".to_owned()),
        ttl_ms: DEFAULT_TTL_MS,
        store: store.clone(),
        queue: queue.clone(),
        directory: Some(directory.clone()),
        responder: responder.clone(),
    };
    Harness {
        app,
        store,
        queue,
        directory,
        responder,
    }
}

pub fn button_value(key: &str) -> String {
    ButtonValue::new(IDENTITY, key, T0, DEFAULT_TTL_MS)
        .encode()
        .expect("encodes")
}

/// A `block_actions` payload as Slack sends it.
pub fn payload(user: &str, action_id: &str, value: &str, action_ts: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": format!("name-{user}"), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": MESSAGE_TS, "channel_id": "C1", "is_ephemeral": false},
        "trigger_id": "1.2.3",
        "channel": {"id": "C1", "name": "ops"},
        "message": {"ts": MESSAGE_TS, "text": "Approval needed", "blocks": [
            {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "Approval needed: web:nginx_down"}},
            {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": []}
        ]},
        "response_url": RESPONSE_URL,
        "actions": [{"action_id": action_id, "block_id": ACTIONS_BLOCK_ID, "type": "button",
                     "value": value, "action_ts": action_ts}]
    })
}

/// `payload=<urlencoded JSON>`.
pub fn form(p: &Value) -> Vec<u8> {
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

/// A request signed with [`SECRET`] at `ts_seconds`.
pub fn signed(body: Vec<u8>, ts_seconds: i64) -> HttpRequest {
    let ts = ts_seconds.to_string();
    let sig = sign(SECRET.as_bytes(), &ts, &body);
    HttpRequest {
        headers: [
            ("x-slack-request-timestamp".to_owned(), ts),
            ("x-slack-signature".to_owned(), sig),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ]
        .into_iter()
        .collect(),
        body,
    }
}

/// A signed press, sent "now".
pub fn press(user: &str, action_id: &str, key: &str, action_ts: &str) -> HttpRequest {
    signed(
        form(&payload(user, action_id, &button_value(key), action_ts)),
        NOW / 1000,
    )
}
