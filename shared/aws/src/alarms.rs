//! [`CloudWatchAlarms`]: the [`Alarms`] port (the live re-check just before acting).

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, MetricAlarm};
use selfheal_core::{AlarmState, InstanceId};
use selfheal_service::ports::{Alarms, LiveAlarm, PortError};

use crate::error::port_error;

/// Reads an alarm's live state and configuration with DescribeAlarms.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

/// Whether the metric alarm's own configuration names `instance`: the `InstanceId` dimension of
/// its metric, or of any metric its metric-math expression reads.
pub fn metric_alarm_watches(alarm: &MetricAlarm, instance: &str) -> bool {
    let names = |dims: &[Dimension]| {
        dims.iter()
            .any(|d| d.name() == Some("InstanceId") && d.value() == Some(instance))
    };
    names(alarm.dimensions())
        || alarm.metrics().iter().any(|q| {
            q.metric_stat()
                .and_then(|s| s.metric())
                .is_some_and(|m| names(m.dimensions()))
        })
}

#[async_trait]
impl Alarms for CloudWatchAlarms {
    async fn live_alarm(
        &self,
        alarm_name: &str,
        instance: &InstanceId,
    ) -> Result<Option<LiveAlarm>, PortError> {
        let out = self
            .client
            .describe_alarms()
            .alarm_names(alarm_name)
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .send()
            .await
            .map_err(|e| port_error("cloudwatch:DescribeAlarms", &e))?;
        let metric = out
            .metric_alarms()
            .iter()
            .filter(|a| a.alarm_name() == Some(alarm_name))
            .map(|a| (a.state_value(), metric_alarm_watches(a, instance.as_str())));
        // A composite alarm has no dimensions of its own: it never names the instance.
        let composite = out
            .composite_alarms()
            .iter()
            .filter(|a| a.alarm_name() == Some(alarm_name))
            .map(|a| (a.state_value(), false));
        let Some((state, watches_instance)) = metric.chain(composite).next() else {
            return Ok(None);
        };
        let raw = state.map(|s| s.as_str()).unwrap_or("");
        let state = AlarmState::parse(raw)
            .map_err(|e| PortError::Permanent(format!("cloudwatch:DescribeAlarms: {e}")))?;
        Ok(Some(LiveAlarm {
            state,
            watches_instance,
        }))
    }
}
