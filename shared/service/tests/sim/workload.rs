//! What a run is made of, from its seed: the fleet, the runbook map, the alerts and their
//! deliveries, the world events, and how commands end.

use super::exec::lock;
use super::faults::Rates;
use super::rng::Rng;
use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::RunbookMap;
use selfheal_service::fakes::CommandPlan;
use selfheal_service::ports::{CommandRequest, EpochMillis, InvocationStatus};
use std::sync::{Arc, Mutex};

pub const INSTANCES: usize = 6;
pub const ROLES: [&str; 2] = ["api", "web"];
/// Alert names per role: exact keys, wildcard-only names, a runbook in mode dry-run (web) and
/// one in mode approve (api).
pub const NAMES: [[&str; 4]; 2] = [
    ["nginx_down", "disk_full", "queue_stuck", "db_slow"],
    ["app_down", "cpu_high", "dry", "mem_leak"],
];
/// The alert whose runbook is in mode `approve`, and who may approve it.
pub const APPROVE_NAME: &str = "db_slow";
pub const APPROVER: &str = "U0SIMOPS1";

pub fn instance(i: usize) -> String {
    format!("i-{:08x}", i + 1)
}

pub fn home_role(i: usize) -> &'static str {
    ROLES[i * ROLES.len() / INSTANCES]
}

pub fn role_index(role: &str) -> Option<usize> {
    ROLES.iter().position(|r| *r == role)
}

/// The CloudWatch alarm of `name` on instance `i` (one alarm per instance, as in AWS).
pub fn alarm_name(name: &str, i: usize) -> String {
    format!("{name}-{}", i + 1)
}

#[derive(Debug, Clone)]
pub struct Config {
    pub workers: usize,
    /// Per role (both entries of a role share it, so the role's limit is unambiguous).
    pub max_concurrent: [u32; 2],
    pub max_attempts_exact: u32,
    pub max_per_hour: u32,
    pub rates: Rates,
    pub fault_ms: EpochMillis,
    /// `SELFHEAL_FUNCTION_BUDGET_SECONDS`: the deadline given to the engine.
    pub budget_ms: EpochMillis,
    /// The function timeout: a batch still running then is killed.
    pub lambda_timeout_ms: EpochMillis,
    pub visibility_ms: EpochMillis,
    pub max_receive: u32,
    pub claim_lease_ms: EpochMillis,
    pub max_batch: usize,
}

impl Config {
    pub fn from_seed(rng: &mut Rng) -> Self {
        let busy = rng.chance(250);
        Self {
            workers: usize::try_from(rng.range(2, 4)).unwrap_or(2),
            max_concurrent: [
                u32::try_from(rng.range(1, 2)).unwrap_or(1),
                u32::try_from(rng.range(1, 2)).unwrap_or(1),
            ],
            max_attempts_exact: u32::try_from(rng.range(1, 3)).unwrap_or(2),
            max_per_hour: *rng.pick(&[4, 8, 30]),
            rates: Rates {
                fail_before: u32::try_from(rng.range(0, if busy { 60 } else { 30 })).unwrap_or(0),
                fail_after: u32::try_from(rng.range(0, if busy { 60 } else { 30 })).unwrap_or(0),
                delay: u32::try_from(rng.range(0, 30)).unwrap_or(0),
                crash: u32::try_from(rng.range(0, if busy { 20 } else { 8 })).unwrap_or(0),
            },
            fault_ms: 40 * 60_000,
            budget_ms: 270_000,
            lambda_timeout_ms: 300_000,
            visibility_ms: 1_800_000,
            max_receive: 5,
            claim_lease_ms: 330_000,
            max_batch: usize::try_from(rng.range(1, 5)).unwrap_or(1),
        }
    }
}

/// The runbook map of a run. Windows are a week, longer than any run, so a budget is a plain
/// count over the whole run.
pub fn runbooks(cfg: &Config) -> Arc<RunbookMap> {
    let [api, web] = cfg.max_concurrent;
    let exact = cfg.max_attempts_exact;
    let text = format!(
        r#"{{
  "api:nginx_down": {{"precheck": ["! pgrep -x nginx"], "commands": ["systemctl restart nginx"], "timeout_seconds": 600,
      "verify": ["systemctl is-active --quiet nginx"], "max_attempts": {exact}, "window_minutes": 10080, "max_concurrent": {api}}},
  "api:*": {{"commands": ["systemctl restart app"], "verify": ["true"], "max_attempts": 1, "window_minutes": 10080, "max_concurrent": {api}}},
  "web:app_down": {{"precheck": ["true"], "commands": ["systemctl restart app"], "max_attempts": {exact}, "window_minutes": 10080, "max_concurrent": {web}}},
  "web:*": {{"precheck": ["true"], "commands": ["systemctl restart web"], "verify": ["true"], "max_attempts": 1, "window_minutes": 10080, "max_concurrent": {web}}},
  "web:dry": {{"mode": "dry-run", "precheck": ["true"], "commands": ["echo would"], "max_concurrent": {web}}},
  "api:db_slow": {{"mode": "approve", "precheck": ["pg_isready"], "commands": ["systemctl restart pgbouncer"], "verify": ["true"],
      "approvers": ["{APPROVER}"], "max_attempts": {exact}, "window_minutes": 10080, "max_concurrent": {api}}}
}}"#
    );
    Arc::new(
        load(
            &[RunbookSource {
                name: "sim.json",
                text: &text,
            }],
            &LoadOptions::default(),
        )
        .expect("the simulation's runbooks are valid")
        .0,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{"id", "role"?, "alert", "instance_id"}`, raw.
    GenericId,
    /// A generic alert without `id` in an SNS envelope (identity: the SNS message id).
    GenericSns,
    /// A CloudWatch alarm notification in an SNS envelope (copies: SNS redelivery, raw form).
    CloudWatch,
    /// A CloudWatch notification naming the alarm of another instance: must never act.
    Forged,
    /// A recovery notification (`OK`): recorded, nothing runs.
    Recovery,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub at: EpochMillis,
    pub message_id: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct AlertSpec {
    pub kind: Kind,
    pub instance: usize,
    /// The role the alert names (generic with `role`), else `None` (role from the tag).
    pub role_field: Option<&'static str>,
    pub name: &'static str,
    pub alarm: Option<String>,
    pub identity: String,
    pub deliveries: Vec<Delivery>,
}

impl AlertSpec {
    pub fn short(&self) -> String {
        format!(
            "{:?} {} on {}{}",
            self.kind,
            self.alarm.as_deref().unwrap_or(self.name),
            instance(self.instance),
            self.role_field
                .map(|r| format!(" (role {r})"))
                .unwrap_or_default()
        )
    }
}

fn cw_message(alarm: &str, state: &str, inst: &str, time: &str) -> serde_json::Value {
    serde_json::json!({
        "AlarmName": alarm,
        "AlarmArn": format!("arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:{alarm}"),
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": time,
        "Region": "Asia Pacific (Tokyo)",
        "Trigger": {"Dimensions": [{"name": "InstanceId", "value": inst}]}
    })
}

fn envelope(sns_id: &str, message: &serde_json::Value) -> String {
    serde_json::json!({
        "Type": "Notification",
        "MessageId": sns_id,
        "Message": message.to_string()
    })
    .to_string()
}

/// Alerts of one run: 10–30 alarm transitions, each delivered 1–3 times (republished with a new
/// message id, an SQS duplicate with the same message id, an SNS redelivery, a raw copy).
pub fn alerts(rng: &mut Rng, start: EpochMillis, fault_ms: EpochMillis) -> Vec<AlertSpec> {
    let n = rng.range(10, 30);
    let mut out = Vec::new();
    for k in 0..n {
        let inst = rng.index(INSTANCES);
        let ri = role_index(home_role(inst)).unwrap_or(0);
        let name = *rng.pick(&NAMES[ri]);
        let kind = match rng.below(100) {
            0..=34 => Kind::GenericId,
            35..=49 => Kind::GenericSns,
            50..=84 => Kind::CloudWatch,
            85..=92 => Kind::Forged,
            _ => Kind::Recovery,
        };
        let role_field = match kind {
            Kind::GenericId | Kind::GenericSns if rng.chance(600) => Some(ROLES[ri]),
            _ => None,
        };
        let at = start + rng.range(0, fault_ms * 4 / 5);
        let time = format!(
            "2026-11-23T03:{:02}:{:02}.{k:03}+0000",
            k % 60,
            rng.below(60)
        );
        let mut forms: Vec<String> = Vec::new();
        let mut alarm = None;
        match kind {
            Kind::GenericId | Kind::GenericSns => {
                let mut doc = serde_json::json!({"alert": name, "instance_id": instance(inst)});
                if let Some(r) = role_field {
                    doc["role"] = r.into();
                }
                if kind == Kind::GenericId {
                    doc["id"] = format!("g{k}").into();
                    forms.push(doc.to_string());
                } else {
                    forms.push(envelope(&format!("sns-g{k}"), &doc));
                }
            }
            Kind::CloudWatch | Kind::Forged | Kind::Recovery => {
                let name_inst = if kind == Kind::Forged {
                    // The alarm of a neighbour (same role when possible), naming this instance.
                    let other = (inst + 1) % INSTANCES;
                    if home_role(other) == home_role(inst) {
                        other
                    } else {
                        (inst + INSTANCES - 1) % INSTANCES
                    }
                } else {
                    inst
                };
                let a = alarm_name(name, name_inst);
                let state = if kind == Kind::Recovery {
                    "OK"
                } else {
                    "ALARM"
                };
                let msg = cw_message(&a, state, &instance(inst), &time);
                forms.push(envelope(&format!("sns-cw{k}"), &msg));
                forms.push(msg.to_string());
                alarm = Some(a);
            }
        }
        let copies = match rng.below(10) {
            0..=4 => 1,
            5..=8 => 2,
            _ => 3,
        };
        let mut deliveries = Vec::new();
        for c in 0..copies {
            let delay = if c == 0 {
                0
            } else {
                match rng.below(10) {
                    0..=6 => rng.range(0, 5_000),
                    7..=8 => rng.range(5_000, 300_000),
                    _ => rng.range(300_000, 1_800_000),
                }
            };
            let same_id = c > 0 && rng.chance(250);
            let message_id = if same_id {
                format!("m{k}-0")
            } else {
                format!("m{k}-{c}")
            };
            let body = if same_id {
                forms[0].clone()
            } else if c > 0 && forms.len() > 1 && rng.chance(400) {
                forms[1].clone()
            } else {
                forms[0].clone()
            };
            deliveries.push(Delivery {
                at: at + delay,
                message_id,
                body,
            });
        }
        out.push(AlertSpec {
            kind,
            instance: inst,
            role_field,
            name,
            alarm,
            identity: String::new(),
            deliveries,
        });
    }
    out
}

/// How commands end: a profile the world events change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanProfile {
    Healthy,
    Flaky,
    Slow,
    Stuck,
}

pub struct Planner {
    pub profile: PlanProfile,
    pub rng: Rng,
}

/// How one command ends, and after how long (SSM ends a command at its execution timeout).
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: CommandPlan,
    pub duration_ms: EpochMillis,
}

pub fn plan(p: &Arc<Mutex<Planner>>, req: &CommandRequest) -> Planned {
    let mut g = lock(p);
    let profile = g.profile;
    let rng = &mut g.rng;
    let roll = rng.below(100);
    let (plan, duration_ms) = match profile {
        PlanProfile::Healthy => match roll {
            0..=84 => (CommandPlan::success(), rng.range(200, 3_000)),
            85..=89 => (CommandPlan::exit(1), rng.range(200, 3_000)),
            _ => (CommandPlan::success(), rng.range(3_000, 30_000)),
        },
        PlanProfile::Flaky => match roll {
            0..=59 => (CommandPlan::success(), rng.range(200, 3_000)),
            60..=84 => (CommandPlan::exit(1), rng.range(200, 3_000)),
            85..=92 => (
                CommandPlan::status(InvocationStatus::TimedOut),
                rng.range(1_000, 10_000),
            ),
            _ => (CommandPlan::success(), rng.range(3_000, 30_000)),
        },
        PlanProfile::Slow => match roll {
            0..=79 => (CommandPlan::success(), rng.range(5_000, 90_000)),
            _ => (CommandPlan::exit(1), rng.range(5_000, 90_000)),
        },
        PlanProfile::Stuck => match roll {
            0..=49 => (CommandPlan::success(), rng.range(1_000, 10_000)),
            _ => (CommandPlan::success(), rng.range(60_000, 900_000)),
        },
    };
    let timeout = i64::from(req.execution_timeout_seconds) * 1000;
    if duration_ms > timeout {
        return Planned {
            plan: CommandPlan::status(InvocationStatus::TimedOut),
            duration_ms: timeout,
        };
    }
    Planned { plan, duration_ms }
}

pub fn pick_profile(rng: &mut Rng) -> PlanProfile {
    match rng.below(10) {
        0..=4 => PlanProfile::Healthy,
        5..=6 => PlanProfile::Flaky,
        7..=8 => PlanProfile::Slow,
        _ => PlanProfile::Stuck,
    }
}

#[derive(Debug, Clone, Copy)]
pub enum WorldEvent {
    Mode,
    Silence,
    Tag,
    Alarm,
    Plan,
}

/// Times and kinds of the world events during the faulty part (details are drawn when they
/// happen).
pub fn world_events(
    rng: &mut Rng,
    start: EpochMillis,
    fault_ms: EpochMillis,
) -> Vec<(EpochMillis, WorldEvent)> {
    let n = rng.range(0, 8);
    let mut v: Vec<(EpochMillis, WorldEvent)> = (0..n)
        .map(|_| {
            let kind = match rng.below(100) {
                0..=29 => WorldEvent::Mode,
                30..=49 => WorldEvent::Silence,
                50..=64 => WorldEvent::Tag,
                65..=84 => WorldEvent::Alarm,
                _ => WorldEvent::Plan,
            };
            (start + rng.range(0, fault_ms), kind)
        })
        .collect();
    v.sort_by_key(|(t, _)| *t);
    v
}
