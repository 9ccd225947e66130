//! Wire shapes: one struct reads every top-level payload in a single pass (fields of all shapes are
//! optional), so detection costs no second parse. Unknown fields are ignored.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
pub(super) struct Incoming {
    #[serde(rename = "Records")]
    pub records: Option<Vec<RecordIn>>,

    // SNS envelope
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    #[serde(rename = "Message")]
    pub message: Option<String>,
    #[serde(rename = "MessageId")]
    pub message_id: Option<String>,

    // CloudWatch alarm notification (SNS)
    #[serde(rename = "AlarmName")]
    pub alarm_name: Option<String>,
    #[serde(rename = "AlarmDescription")]
    pub alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: Option<String>,
    #[serde(rename = "NewStateValue")]
    pub new_state_value: Option<String>,
    #[serde(rename = "NewStateReason")]
    pub new_state_reason: Option<String>,
    #[serde(rename = "StateChangeTime")]
    pub state_change_time: Option<String>,
    #[serde(rename = "Region")]
    pub region_name: Option<String>,
    #[serde(rename = "AlarmArn")]
    pub alarm_arn_sns: Option<String>,
    #[serde(rename = "Trigger")]
    pub trigger: Option<Trigger>,
    #[serde(rename = "AlarmRule")]
    pub alarm_rule: Option<String>,

    // EventBridge event and alarm-action payload
    #[serde(rename = "detail-type")]
    pub detail_type: Option<String>,
    pub detail: Option<AlarmDetail>,
    #[serde(rename = "alarmData")]
    pub alarm_data: Option<AlarmDetail>,
    #[serde(rename = "alarmArn")]
    pub alarm_arn: Option<String>,
    pub account: Option<String>,
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub resources: Option<Vec<String>>,

    // generic alert
    pub id: Option<serde_json::Value>,
    pub role: Option<String>,
    pub alert: Option<String>,
    pub instance_id: Option<String>,
    pub instance_ids: Option<Vec<String>>,
    pub state: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RecordIn {
    #[serde(rename = "messageId")]
    pub message_id: Option<String>,
    pub body: Option<String>,
    #[serde(rename = "Sns")]
    pub sns: Option<SnsIn>,
}

#[derive(Deserialize)]
pub(super) struct SnsIn {
    #[serde(rename = "MessageId")]
    pub message_id: Option<String>,
    #[serde(rename = "Message")]
    pub message: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Trigger {
    #[serde(rename = "Dimensions")]
    pub dimensions: Option<Vec<Dimension>>,
    #[serde(rename = "Metrics")]
    pub metrics: Option<Vec<TriggerMetric>>,
}

#[derive(Deserialize)]
pub(super) struct Dimension {
    #[serde(alias = "Name")]
    pub name: Option<String>,
    #[serde(alias = "Value")]
    pub value: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct TriggerMetric {
    #[serde(rename = "MetricStat")]
    pub metric_stat: Option<TriggerMetricStat>,
}

#[derive(Deserialize)]
pub(super) struct TriggerMetricStat {
    #[serde(rename = "Metric")]
    pub metric: Option<TriggerMetricName>,
}

#[derive(Deserialize)]
pub(super) struct TriggerMetricName {
    #[serde(rename = "Dimensions")]
    pub dimensions: Option<Vec<Dimension>>,
}

#[derive(Deserialize)]
pub(super) struct AlarmDetail {
    #[serde(rename = "alarmName")]
    pub alarm_name: Option<String>,
    pub state: Option<StateIn>,
    pub configuration: Option<Configuration>,
}

#[derive(Deserialize)]
pub(super) struct StateIn {
    pub value: Option<String>,
    pub reason: Option<String>,
    pub timestamp: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Configuration {
    pub description: Option<String>,
    pub metrics: Option<Vec<ConfigMetric>>,
    #[serde(rename = "alarmRule")]
    pub alarm_rule: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ConfigMetric {
    #[serde(rename = "metricStat")]
    pub metric_stat: Option<ConfigMetricStat>,
}

#[derive(Deserialize)]
pub(super) struct ConfigMetricStat {
    pub metric: Option<ConfigMetricName>,
}

#[derive(Deserialize)]
pub(super) struct ConfigMetricName {
    pub dimensions: Option<BTreeMap<String, serde_json::Value>>,
}
