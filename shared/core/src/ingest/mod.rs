//! Ingestion: any payload of DESIGN §3 in, one [`IngestedRecord`] per alert out.
//!
//! Payloads are read tolerantly (unknown fields are ignored). A record that cannot be read becomes
//! one [`InvalidRecord`] with a reason; it never aborts the records around it.

mod cloudwatch;
mod eventbridge;
mod generic;
mod wire;

use crate::alert::{Alert, InvalidRecord};
use wire::{Incoming, RecordIn};

/// Largest record body accepted (SQS's own maximum message size).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Transport facts about a record, known before its body is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordMeta {
    /// SQS message id (the last-resort claim key for generic alerts).
    pub sqs_message_id: Option<String>,
    /// SNS message id, when the alert came wrapped in an SNS envelope.
    pub sns_message_id: Option<String>,
}

/// One alert (or one unreadable record) and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedRecord {
    pub meta: RecordMeta,
    pub item: Result<Alert, InvalidRecord>,
}

/// Parses one SQS record body (an SNS envelope or a raw alert message).
pub fn parse_body(body: &str, sqs_message_id: Option<&str>) -> IngestedRecord {
    let meta = RecordMeta {
        sqs_message_id: sqs_message_id.map(str::to_owned),
        sns_message_id: None,
    };
    parse_message(body, meta, Depth::Body)
}

/// Parses a whole document: a Lambda SQS event, a direct SNS → Lambda event, an SNS envelope,
/// a JSON array of alerts, or a single alert in any shape. Returns the alerts in input order.
pub fn parse_document(text: &str) -> Vec<IngestedRecord> {
    if text.len() > MAX_BODY_BYTES * 64 {
        return vec![invalid(
            RecordMeta::default(),
            "document is larger than 16 MiB",
        )];
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<serde_json::Value>>(text) {
            Ok(items) => items
                .iter()
                .map(|v| parse_message(&v.to_string(), RecordMeta::default(), Depth::Body))
                .collect(),
            Err(e) => vec![invalid(
                RecordMeta::default(),
                format!("not valid JSON: {e}"),
            )],
        };
    }
    match serde_json::from_str::<Incoming>(text) {
        Ok(doc) => match doc.records {
            Some(records) => records.into_iter().map(parse_record).collect(),
            None => vec![from_incoming(doc, RecordMeta::default(), Depth::Body)],
        },
        Err(e) => vec![invalid(RecordMeta::default(), describe_json_error(&e))],
    }
}

fn parse_record(record: RecordIn) -> IngestedRecord {
    if let Some(sns) = record.sns {
        let meta = RecordMeta {
            sqs_message_id: None,
            sns_message_id: sns.message_id,
        };
        return match sns.message {
            Some(message) => parse_message(&message, meta, Depth::InEnvelope),
            None => invalid(meta, "SNS record has no Message"),
        };
    }
    match record.body {
        Some(body) => parse_body(&body, record.message_id.as_deref()),
        None => invalid(
            RecordMeta {
                sqs_message_id: record.message_id,
                sns_message_id: None,
            },
            "record has neither an SQS body nor an Sns message",
        ),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// A record body: may still be an SNS envelope.
    Body,
    /// The `Message` of an SNS envelope: must be the alert itself.
    InEnvelope,
}

fn parse_message(text: &str, meta: RecordMeta, depth: Depth) -> IngestedRecord {
    if text.len() > MAX_BODY_BYTES {
        return invalid(
            meta,
            format!(
                "message is {} bytes, larger than the {} byte limit",
                text.len(),
                MAX_BODY_BYTES
            ),
        );
    }
    match serde_json::from_str::<Incoming>(text) {
        Ok(doc) => from_incoming(doc, meta, depth),
        Err(e) => invalid(meta, describe_json_error(&e)),
    }
}

fn from_incoming(doc: Incoming, mut meta: RecordMeta, depth: Depth) -> IngestedRecord {
    if doc.records.is_some() {
        return invalid(meta, "a batch (Records) cannot be nested inside a record");
    }
    if doc.kind.as_deref() == Some("Notification") {
        if depth == Depth::InEnvelope {
            return invalid(meta, "an SNS envelope cannot be nested inside another");
        }
        meta.sns_message_id = doc.message_id;
        return match doc.message {
            Some(message) => parse_message(&message, meta, Depth::InEnvelope),
            None => invalid(meta, "SNS envelope has no Message"),
        };
    }
    let item = if doc.alarm_name.is_some() {
        cloudwatch::from_sns_alarm(doc)
    } else if doc.detail_type.as_deref() == Some("CloudWatch Alarm State Change") {
        eventbridge::from_event(doc)
    } else if doc.alarm_data.is_some() {
        eventbridge::from_alarm_action(doc)
    } else if doc.alert.is_some() {
        generic::from_generic(doc, &meta)
    } else {
        Err(InvalidRecord::new(
            "not a recognised alert: expected a CloudWatch alarm (AlarmName), an EventBridge \
             \"CloudWatch Alarm State Change\" event, a CloudWatch alarm action (alarmData), \
             or a generic alert with an \"alert\" field",
        ))
    };
    IngestedRecord { meta, item }
}

fn invalid(meta: RecordMeta, reason: impl Into<String>) -> IngestedRecord {
    IngestedRecord {
        meta,
        item: Err(InvalidRecord::new(reason)),
    }
}

fn describe_json_error(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        format!("not valid JSON: {e}")
    } else {
        format!("unreadable alert: {e}")
    }
}

/// Checks a role or alert name taken from an alert against the key grammar of DESIGN §2.
pub(crate) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Splits an alarm name of the form `ROLE:ALERT` (optionally `ROLE:ALERT:ANYTHING`, since
/// CloudWatch alarm names are unique per region and one alarm per instance needs a suffix); any
/// other name is the alert name alone.
pub(crate) fn split_alarm_name(name: &str) -> (Option<String>, String) {
    let mut parts = name.splitn(3, ':');
    if let (Some(role), Some(alert)) = (parts.next(), parts.next()) {
        if valid_name(role) && valid_name(alert) {
            return (Some(role.to_owned()), alert.to_owned());
        }
    }
    (None, name.to_owned())
}

#[cfg(test)]
mod tests;
