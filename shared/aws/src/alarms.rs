//! [`CloudWatchAlarms`]: the [`Alarms`] port (the live re-check just before acting).

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::AlarmType;
use selfheal_core::AlarmState;
use selfheal_service::ports::{Alarms, PortError};

use crate::error::port_error;

/// Reads an alarm's live state with DescribeAlarms.
#[derive(Debug, Clone)]
pub struct CloudWatchAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchAlarms {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Alarms for CloudWatchAlarms {
    async fn live_state(&self, alarm_name: &str) -> Result<Option<AlarmState>, PortError> {
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
            .map(|a| a.state_value());
        let composite = out
            .composite_alarms()
            .iter()
            .filter(|a| a.alarm_name() == Some(alarm_name))
            .map(|a| a.state_value());
        let Some(state) = metric.chain(composite).next() else {
            return Ok(None);
        };
        let raw = state.map(|s| s.as_str()).unwrap_or("");
        AlarmState::parse(raw)
            .map(Some)
            .map_err(|e| PortError::Permanent(format!("cloudwatch:DescribeAlarms: {e}")))
    }
}
