//! [`CloudWatchAlarms`]: the [`Alarms`] port (the live re-check just before acting).

use std::collections::HashMap;

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

/// DescribeAlarms takes at most this many alarm names.
const NAMES_PER_CALL: usize = 100;

impl CloudWatchAlarms {
    /// The metric and composite alarms named `names` (≤ [`NAMES_PER_CALL`]), every page.
    async fn describe(&self, names: &[String]) -> Result<Described, PortError> {
        let mut found = Described::default();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| port_error("cloudwatch:DescribeAlarms", &e))?;
            found.metric.extend(out.metric_alarms().iter().cloned());
            found.composite.extend(
                out.composite_alarms()
                    .iter()
                    .filter_map(|a| Some((a.alarm_name()?.to_owned(), a.state_value().cloned()))),
            );
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(t) if token.as_deref() != Some(t) => token = Some(t.to_owned()),
                _ => return Ok(found),
            }
        }
    }
}

/// What DescribeAlarms returned: metric alarms whole, composite alarms by name and state.
#[derive(Default)]
struct Described {
    metric: Vec<MetricAlarm>,
    composite: Vec<(String, Option<aws_sdk_cloudwatch::types::StateValue>)>,
}

impl Described {
    /// The live state of `name` and whether it watches `instance`; `None` when no alarm has that
    /// name. A composite alarm has no dimensions of its own: it never names the instance.
    fn live(&self, name: &str, instance: &InstanceId) -> Result<Option<LiveAlarm>, PortError> {
        let metric = self
            .metric
            .iter()
            .filter(|a| a.alarm_name() == Some(name))
            .map(|a| (a.state_value(), metric_alarm_watches(a, instance.as_str())));
        let composite = self
            .composite
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, state)| (state.as_ref(), false));
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

#[async_trait]
impl Alarms for CloudWatchAlarms {
    async fn live_alarm(
        &self,
        alarm_name: &str,
        instance: &InstanceId,
    ) -> Result<Option<LiveAlarm>, PortError> {
        self.describe(&[alarm_name.to_owned()])
            .await?
            .live(alarm_name, instance)
    }

    /// One DescribeAlarms per 100 distinct alarm names.
    async fn live_alarms(
        &self,
        pairs: &[(String, InstanceId)],
    ) -> Result<HashMap<(String, InstanceId), Option<LiveAlarm>>, PortError> {
        let mut names: Vec<String> = pairs.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        names.dedup();
        let mut described = Described::default();
        for chunk in names.chunks(NAMES_PER_CALL) {
            let d = self.describe(chunk).await?;
            described.metric.extend(d.metric);
            described.composite.extend(d.composite);
        }
        let mut out = HashMap::new();
        for (name, instance) in pairs {
            out.insert(
                (name.clone(), instance.clone()),
                described.live(name, instance)?,
            );
        }
        Ok(out)
    }
}
