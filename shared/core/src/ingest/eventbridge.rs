//! EventBridge "CloudWatch Alarm State Change" events and CloudWatch's Lambda alarm-action payload
//! (the same `detail` shape under `alarmData`).

use super::cloudwatch::{alarm_identity, collect_instances};
use super::split_alarm_name;
use super::wire::{AlarmDetail, Incoming};
use crate::alert::{AlarmState, Alert, InvalidRecord, Source};

pub(super) fn from_event(mut doc: Incoming) -> Result<Alert, InvalidRecord> {
    let detail = doc.detail.take();
    let arn = doc.resources.take().and_then(|r| r.into_iter().next());
    from_detail(
        Source::Eventbridge,
        detail,
        arn,
        doc.account.take(),
        doc.region.take(),
    )
}

pub(super) fn from_alarm_action(mut doc: Incoming) -> Result<Alert, InvalidRecord> {
    let detail = doc.alarm_data.take();
    from_detail(
        Source::Cloudwatch,
        detail,
        doc.alarm_arn.take(),
        doc.account_id.take().or(doc.account.take()),
        doc.region.take(),
    )
}

fn from_detail(
    source: Source,
    detail: Option<AlarmDetail>,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
) -> Result<Alert, InvalidRecord> {
    let mut partial = InvalidRecord {
        source: Some(source),
        ..InvalidRecord::default()
    };
    let Some(detail) = detail else {
        partial.reason = "alarm event has no detail".into();
        return Err(partial);
    };
    let alarm_name = match detail.alarm_name {
        Some(n) if !n.is_empty() && n.len() <= 255 => n,
        _ => {
            partial.reason = "alarm event has no alarmName (1 to 255 characters)".into();
            return Err(partial);
        }
    };
    let (role, alert) = split_alarm_name(&alarm_name);
    partial.alert = Some(alert.clone());
    partial.role = role.clone();
    let state_in = detail.state;
    let state = match state_in.as_ref().and_then(|s| s.value.as_deref()) {
        Some(v) => AlarmState::parse(v).map_err(|e| InvalidRecord {
            reason: e,
            ..partial.clone()
        })?,
        None => {
            partial.reason = "alarm event has no state.value".into();
            return Err(partial);
        }
    };
    partial.state = Some(state);
    let config = detail.configuration;
    let raw_ids: Vec<&str> = config
        .iter()
        .flat_map(|c| c.metrics.iter().flatten())
        .filter_map(|m| m.metric_stat.as_ref()?.metric.as_ref()?.dimensions.as_ref())
        .filter_map(|dims| dims.get("InstanceId"))
        .map(|v| v.as_str().unwrap_or("<not a string>"))
        .collect();
    let instance_ids = collect_instances(raw_ids, &mut partial)?;
    let composite = config.as_ref().is_some_and(|c| c.alarm_rule.is_some());
    let (reason, timestamp) = match state_in {
        Some(s) => (s.reason, s.timestamp),
        None => (None, None),
    };
    let identity = alarm_identity(
        arn.as_deref().unwrap_or(&alarm_name),
        timestamp.as_deref(),
        &instance_ids,
    );
    Ok(Alert {
        source,
        alert,
        role,
        state,
        instance_ids,
        identity,
        alarm_name: Some(alarm_name),
        alarm_arn: arn,
        reason,
        description: config.and_then(|c| c.description),
        account,
        region,
        state_change_time: timestamp,
        composite,
    })
}
