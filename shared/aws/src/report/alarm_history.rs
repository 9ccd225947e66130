//! [`AlarmHistorySource`] over CloudWatch (`DescribeAlarmHistory`, state updates), so the report
//! counts alarms that never reached selfheal; tests use `aws-smithy-mocks` (moto answers 500 for
//! this API).

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, HistoryItemType};
use aws_smithy_types::DateTime;
use selfheal_core::history::EpochMillis;
use selfheal_service::report::{AlarmHistorySource, AlarmStateUpdate};
/// [`AlarmHistorySource`] over the CloudWatch API (metric and composite alarms).
#[derive(Debug, Clone)]
pub struct CloudWatchAlarmHistory {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarmHistory {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

/// The new state of a `StateUpdate` item: `HistoryData.newState.stateValue`, else parsed from
/// the summary ("Alarm updated from OK to ALARM").
pub fn new_state_of(history_data: Option<&str>, summary: Option<&str>) -> Option<String> {
    if let Some(data) = history_data {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(data) {
            if let Some(s) = v
                .get("newState")
                .and_then(|n| n.get("stateValue"))
                .and_then(|s| s.as_str())
            {
                return Some(s.to_owned());
            }
        }
    }
    let summary = summary?;
    let (_, to) = summary.rsplit_once(" to ")?;
    let state = to.trim().trim_end_matches('.');
    matches!(state, "ALARM" | "OK" | "INSUFFICIENT_DATA").then(|| state.to_owned())
}

#[async_trait]
impl AlarmHistorySource for CloudWatchAlarmHistory {
    async fn state_updates(
        &self,
        start_ms: EpochMillis,
        end_ms: EpochMillis,
        sink: &mut (dyn FnMut(AlarmStateUpdate) + Send),
    ) -> Result<u64, String> {
        let mut pages = self
            .client
            .describe_alarm_history()
            .history_item_type(HistoryItemType::StateUpdate)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .start_date(DateTime::from_millis(start_ms))
            .end_date(DateTime::from_millis(end_ms))
            .max_records(100)
            .into_paginator()
            .send();
        let mut n = 0u64;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let code = aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&e)
                    .unwrap_or("unknown")
                    .to_owned();
                format!(
                    "cloudwatch:DescribeAlarmHistory failed ({code}): {}",
                    aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
                )
            })?;
            for item in page.alarm_history_items() {
                let (Some(name), Some(ts)) = (item.alarm_name(), item.timestamp()) else {
                    continue;
                };
                let Some(state) = new_state_of(item.history_data(), item.history_summary()) else {
                    continue;
                };
                let Ok(ms) = ts.to_millis() else { continue };
                if ms < start_ms || ms >= end_ms {
                    continue;
                }
                n += 1;
                sink(AlarmStateUpdate {
                    alarm_name: name.to_owned(),
                    timestamp_ms: ms,
                    new_state: state,
                });
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_new_state() {
        let data = r#"{"version":"1.0","oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM","stateReason":"x"}}"#;
        assert_eq!(new_state_of(Some(data), None).as_deref(), Some("ALARM"));
        assert_eq!(
            new_state_of(Some("not json"), Some("Alarm updated from ALARM to OK")).as_deref(),
            Some("OK")
        );
        assert_eq!(new_state_of(None, Some("Alarm updated")), None);
        assert_eq!(new_state_of(None, None), None);
    }
}
