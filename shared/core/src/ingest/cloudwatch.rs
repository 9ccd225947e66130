//! CloudWatch alarm notifications as SNS delivers them: metric, metric-math and composite alarms.

use super::wire::Incoming;
use super::{split_alarm_name, valid_name};
use crate::alert::{clip, AlarmState, Alert, InvalidRecord, Source};
use crate::instance::InstanceId;

pub(super) fn from_sns_alarm(doc: Incoming) -> Result<Alert, InvalidRecord> {
    let alarm_name = doc.alarm_name.unwrap_or_default();
    let (role, alert) = split_alarm_name(&alarm_name);
    let mut partial = InvalidRecord {
        reason: String::new(),
        source: Some(Source::Cloudwatch),
        alert: Some(alert.clone()),
        role: role.clone(),
        state: None,
    };
    if alarm_name.is_empty() || alarm_name.len() > 255 {
        partial.reason = "AlarmName must be 1 to 255 characters".into();
        partial.alert = None;
        return Err(partial);
    }
    let state = match doc.new_state_value.as_deref().map(AlarmState::parse) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            return Err(InvalidRecord {
                reason: e,
                ..partial
            })
        }
        None => {
            partial.reason = "CloudWatch alarm has no NewStateValue".into();
            return Err(partial);
        }
    };
    partial.state = Some(state);

    let mut raw_ids: Vec<&str> = Vec::new();
    if let Some(trigger) = &doc.trigger {
        let direct = trigger.dimensions.iter().flatten();
        let from_math = trigger
            .metrics
            .iter()
            .flatten()
            .filter_map(|m| m.metric_stat.as_ref()?.metric.as_ref()?.dimensions.as_ref())
            .flatten();
        for d in direct.chain(from_math) {
            if d.name.as_deref() == Some("InstanceId") {
                if let Some(v) = d.value.as_deref() {
                    raw_ids.push(v);
                }
            }
        }
    }
    let instance_ids = collect_instances(raw_ids, &mut partial)?;
    let composite = doc.alarm_rule.is_some() || doc.trigger.is_none();
    let identity_name = doc.alarm_arn_sns.as_deref().unwrap_or(&alarm_name);
    let identity = alarm_identity(
        identity_name,
        doc.state_change_time.as_deref(),
        &instance_ids,
    );
    Ok(Alert {
        source: Source::Cloudwatch,
        alert,
        role,
        state,
        instance_ids,
        identity,
        alarm_arn: doc.alarm_arn_sns,
        alarm_name: Some(alarm_name),
        reason: doc.new_state_reason,
        description: doc.alarm_description,
        account: doc.aws_account_id,
        region: doc.region_name,
        state_change_time: doc.state_change_time,
        composite,
    })
}

/// Validates and deduplicates instance ids; the first bad one makes the record invalid.
pub(super) fn collect_instances<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    partial: &mut InvalidRecord,
) -> Result<Vec<InstanceId>, InvalidRecord> {
    let mut out: Vec<InstanceId> = Vec::new();
    for r in raw {
        match InstanceId::parse(r) {
            Ok(id) => {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            Err(reason) => {
                partial.reason = reason;
                return Err(std::mem::take(partial));
            }
        }
    }
    Ok(out)
}

/// The claim identity of one alarm transition (shared by SNS, EventBridge and alarm-action copies).
pub(super) fn alarm_identity(alarm: &str, time: Option<&str>, ids: &[InstanceId]) -> String {
    let instances: Vec<&str> = ids.iter().map(InstanceId::as_str).collect();
    format!(
        "alarm|{}|{}|{}",
        alarm,
        time.unwrap_or("-"),
        instances.join(",")
    )
}

/// Checks a role or alert value taken from a generic alert.
pub(super) fn check_name(what: &str, value: &str) -> Result<(), String> {
    if valid_name(value) {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} is not valid: use 1 to 255 of A-Z a-z 0-9 _ . -",
            clip(value, 64)
        ))
    }
}
