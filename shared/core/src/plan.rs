//! The offline plan of `selfheal plan`: one [`PlanItem`] per alert, in input order.

use crate::alert::{AlarmState, Source};
use crate::decide::{decide, Action};
use crate::ingest::IngestedRecord;
use crate::runbook::RunbookMap;
use serde::Serialize;

/// One element of `{"alerts": [...]}` (DESIGN §6; the field names are a contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    pub source: Option<Source>,
    pub alert: Option<String>,
    pub role: Option<String>,
    pub key: Option<String>,
    pub runbook: Option<String>,
    pub state: Option<AlarmState>,
    pub instance_ids: Vec<String>,
    pub action: Action,
    pub reason: String,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub alerts: Vec<PlanItem>,
}

/// Plans every record. `role` stands in for the instance-tag lookup.
pub fn plan(records: &[IngestedRecord], map: &RunbookMap, role: Option<&str>) -> Plan {
    let alerts = records
        .iter()
        .map(|r| match &r.item {
            Ok(alert) => {
                let d = decide(alert, map, role);
                PlanItem {
                    source: Some(alert.source),
                    alert: Some(alert.alert.clone()),
                    role: d.role.clone(),
                    key: d.key.clone(),
                    runbook: d.runbook_key().map(str::to_owned),
                    state: Some(alert.state),
                    instance_ids: alert.instance_ids.iter().map(|i| i.to_string()).collect(),
                    action: d.action,
                    reason: d.reason.clone(),
                    commands: d.commands().to_vec(),
                }
            }
            Err(bad) => {
                let role = bad.role.clone();
                let key = match (&role, &bad.alert) {
                    (Some(r), Some(a)) => Some(format!("{r}:{a}")),
                    _ => None,
                };
                let runbook = match (&role, &bad.alert) {
                    (Some(r), Some(a)) => map.lookup(r, a).map(|(k, _)| k.to_owned()),
                    _ => None,
                };
                PlanItem {
                    source: bad.source,
                    alert: bad.alert.clone(),
                    role,
                    key,
                    runbook,
                    state: bad.state,
                    instance_ids: Vec::new(),
                    action: Action::Invalid,
                    reason: bad.reason.clone(),
                    commands: Vec::new(),
                }
            }
        })
        .collect();
    Plan { alerts }
}

/// The plan as text for people.
pub fn render_text(plan: &Plan) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, item) in plan.alerts.iter().enumerate() {
        let what = item
            .key
            .clone()
            .or_else(|| item.alert.clone())
            .unwrap_or_else(|| "(unreadable)".into());
        let on = if item.instance_ids.is_empty() {
            "no instance".to_owned()
        } else {
            item.instance_ids.join(", ")
        };
        let _ = writeln!(
            out,
            "{}. {} on {} [{}{}]",
            i + 1,
            what,
            on,
            item.source.map_or("?", Source::as_str),
            item.state
                .map_or(String::new(), |s| format!(", {}", s.as_str()))
        );
        let _ = writeln!(out, "   action:  {}", item.action.as_str());
        if let Some(rb) = &item.runbook {
            let _ = writeln!(out, "   runbook: {rb}");
        }
        let _ = writeln!(out, "   reason:  {}", item.reason);
        for c in &item.commands {
            let _ = writeln!(out, "   $ {c}");
        }
    }
    let _ = writeln!(out, "{} alert(s)", plan.alerts.len());
    out
}
