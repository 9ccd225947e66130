//! The normalised alert every payload shape is turned into.

use crate::instance::InstanceId;

/// Where an alert came from (the `source` of `selfheal plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A CloudWatch alarm notification (SNS) or CloudWatch's Lambda alarm-action payload.
    Cloudwatch,
    /// An EventBridge "CloudWatch Alarm State Change" event.
    Eventbridge,
    /// The generic `{"alert", "instance_id", ...}` shape.
    Generic,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cloudwatch => "cloudwatch",
            Source::Eventbridge => "eventbridge",
            Source::Generic => "generic",
        }
    }
}

/// The alarm state carried by the alert. Only `Alarm` ever acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AlarmState {
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    /// Parses the CloudWatch spelling (case-insensitive, as generic senders vary).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.eq_ignore_ascii_case("ALARM") {
            Ok(Self::Alarm)
        } else if raw.eq_ignore_ascii_case("OK") {
            Ok(Self::Ok)
        } else if raw.eq_ignore_ascii_case("INSUFFICIENT_DATA") {
            Ok(Self::InsufficientData)
        } else {
            Err(format!(
                "unknown state {:?}: expected ALARM, OK or INSUFFICIENT_DATA",
                clip(raw, 64)
            ))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// One alert, whatever shape it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub source: Source,
    /// The ALERT half of `ROLE:ALERT`.
    pub alert: String,
    /// The role named by the alert itself (explicit `role` field or a `ROLE:ALERT` alarm name).
    /// `None` means it has to come from the instance's role tag.
    pub role: Option<String>,
    pub state: AlarmState,
    /// Every instance the alert names, deduplicated, in order of appearance.
    pub instance_ids: Vec<InstanceId>,
    /// The claim key of DESIGN principle 6: the same alarm transition always yields the same identity.
    pub identity: String,
    /// The CloudWatch alarm's name, when the alert is one (used for the live re-check).
    pub alarm_name: Option<String>,
    pub alarm_arn: Option<String>,
    /// Why the alarm fired (CloudWatch's state reason or the generic `summary`).
    pub reason: Option<String>,
    pub description: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// When the state changed, as the sender wrote it.
    pub state_change_time: Option<String>,
    /// A composite alarm never names an instance.
    pub composite: bool,
}

impl Alert {
    /// The alert's own `ROLE:ALERT`, given the role it resolved to.
    pub fn key_with(&self, role: Option<&str>) -> Option<String> {
        self.role
            .as_deref()
            .or(role)
            .map(|r| format!("{r}:{}", self.alert))
    }

    /// The single instance the alert names, if it names exactly one.
    pub fn single_instance(&self) -> Option<&InstanceId> {
        match self.instance_ids.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// A record that could not be turned into an [`Alert`]. Keeps whatever could be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvalidRecord {
    pub reason: String,
    pub source: Option<Source>,
    pub alert: Option<String>,
    pub role: Option<String>,
    pub state: Option<AlarmState>,
}

impl InvalidRecord {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            ..Self::default()
        }
    }
}

/// Shortens untrusted text for messages (keeps char boundaries).
pub fn clip(s: &str, max_chars: usize) -> String {
    let mut out: String = s.chars().take(max_chars).collect();
    if s.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}

/// A short, stable id for an alert identity (16 hex digits, FNV-1a 64). It goes into the SSM
/// command's `Comment` (at most 100 characters) so a retry can find a command it sent before.
pub fn claim_id(identity: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
