//! The generic alert any tool can publish:
//! `{"id"?, "role"?, "alert", "instance_id"|"instance_ids", "state"?}` (state defaults to ALARM).

use super::cloudwatch::{check_name, collect_instances};
use super::wire::Incoming;
use super::RecordMeta;
use crate::alert::{AlarmState, Alert, InvalidRecord, Source};

pub(super) fn from_generic(doc: Incoming, meta: &RecordMeta) -> Result<Alert, InvalidRecord> {
    let alert = doc.alert.unwrap_or_default();
    let mut partial = InvalidRecord {
        source: Some(Source::Generic),
        ..InvalidRecord::default()
    };
    if let Err(e) = check_name("alert", &alert) {
        partial.reason = e;
        return Err(partial);
    }
    partial.alert = Some(alert.clone());
    if let Some(role) = &doc.role {
        if let Err(e) = check_name("role", role) {
            partial.reason = e;
            return Err(partial);
        }
    }
    partial.role = doc.role.clone();
    let state = match doc.state.as_deref() {
        None => AlarmState::Alarm,
        Some(s) => AlarmState::parse(s).map_err(|e| InvalidRecord {
            reason: e,
            ..partial.clone()
        })?,
    };
    partial.state = Some(state);
    let raw = doc
        .instance_id
        .iter()
        .chain(doc.instance_ids.iter().flatten())
        .map(String::as_str);
    let instance_ids = collect_instances(raw, &mut partial)?;
    let own_id = match &doc.id {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            partial.reason = "id must be a non-empty string or a number".into();
            return Err(partial);
        }
    };
    let identity = match (own_id, &meta.sns_message_id, &meta.sqs_message_id) {
        (Some(id), _, _) => format!("generic|id|{id}"),
        (None, Some(sns), _) => format!("generic|sns|{sns}"),
        (None, None, Some(sqs)) => format!("generic|sqs|{sqs}"),
        (None, None, None) => format!("generic|none|{alert}"),
    };
    Ok(Alert {
        source: Source::Generic,
        alert,
        role: doc.role,
        state,
        instance_ids,
        identity,
        alarm_name: None,
        alarm_arn: None,
        reason: doc.summary.or(doc.description.clone()),
        description: doc.description,
        account: doc.account,
        region: doc.region,
        state_change_time: None,
        composite: false,
    })
}
