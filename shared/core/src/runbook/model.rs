//! The runbook model. Entries are built only by [`super::load`], which validates them first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_TIMEOUT_SECONDS: u32 = 120;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const DEFAULT_WINDOW_MINUTES: u32 = 60;
pub const DEFAULT_MAX_CONCURRENT: u32 = 1;
pub const DEFAULT_DOCUMENT: &str = "AWS-RunShellScript";

/// What a runbook entry is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Run the commands.
    #[default]
    Enforce,
    /// Announce what would run; run nothing.
    DryRun,
    /// Run the precheck, then wait for a person to press Run in Slack.
    Approve,
    /// Do nothing (recorded as `disabled`).
    Off,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry-run",
            Mode::Approve => "approve",
            Mode::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enforce" => Some(Mode::Enforce),
            "dry-run" => Some(Mode::DryRun),
            "approve" => Some(Mode::Approve),
            "off" => Some(Mode::Off),
            _ => None,
        }
    }
}

/// One runbook: the reviewed commands for one `ROLE:ALERT` pattern and its safety limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookEntry {
    /// Shown in chat and in the weekly report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub description: Option<String>,
    /// Who is escalated to (e.g. a Slack handle or team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub owner: Option<String>,
    /// Commands that must all exit 0 before anything changes.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    pub precheck: Vec<String>,
    /// The fix: run in order; each element is one unit (may span lines) and must exit 0.
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub commands: Vec<String>,
    /// Commands that must all exit 0 for the outcome `healed`.
    #[serde(default)]
    #[schemars(inner(length(min = 1)))]
    pub verify: Vec<String>,
    /// `enforce`, `dry-run`, `approve` or `off`.
    #[serde(default)]
    pub mode: Mode,
    /// Slack user or user-group ids allowed to approve (mode `approve`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1)))]
    pub approvers: Vec<String>,
    /// Per phase, sent as the SSM document's `executionTimeout`.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 172800))]
    pub timeout_seconds: u32,
    /// Attempts per ROLE:ALERT and instance within `window_minutes`.
    #[serde(default = "default_attempts")]
    #[schemars(range(min = 1, max = 100))]
    pub max_attempts: u32,
    /// The sliding window of the attempt budget.
    #[serde(default = "default_window")]
    #[schemars(range(min = 1, max = 10080))]
    pub window_minutes: u32,
    /// At most this many remediations from this entry run at once on instances of one role.
    #[serde(default = "default_concurrent")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_concurrent: u32,
    /// SSM document name or ARN taking `commands` and `executionTimeout`.
    #[serde(default = "default_document")]
    #[schemars(length(min = 1, max = 256))]
    pub document: String,
}

/// The numeric fields and their inclusive ranges (shared by validation and the schema).
pub(crate) const NUMBER_RANGES: [(&str, u64, u64); 4] = [
    ("timeout_seconds", 1, 172_800),
    ("max_attempts", 1, 100),
    ("window_minutes", 1, 10_080),
    ("max_concurrent", 1, 1_000),
];

fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_SECONDS
}
fn default_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}
fn default_window() -> u32 {
    DEFAULT_WINDOW_MINUTES
}
fn default_concurrent() -> u32 {
    DEFAULT_MAX_CONCURRENT
}
fn default_document() -> String {
    DEFAULT_DOCUMENT.to_owned()
}

impl RunbookEntry {
    /// An entry with the given commands and every default (for tests and examples).
    pub fn with_commands(commands: Vec<String>) -> Self {
        Self {
            description: None,
            owner: None,
            precheck: Vec::new(),
            commands,
            verify: Vec::new(),
            mode: Mode::default(),
            approvers: Vec::new(),
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            window_minutes: DEFAULT_WINDOW_MINUTES,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            document: DEFAULT_DOCUMENT.to_owned(),
        }
    }

    /// How many SSM phases this entry runs (precheck and verify only when present).
    pub fn phase_count(&self) -> u32 {
        1 + u32::from(!self.precheck.is_empty()) + u32::from(!self.verify.is_empty())
    }
}

/// All runbooks, merged from every file. Keys are unique by construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunbookMap {
    entries: BTreeMap<String, RunbookEntry>,
}

impl RunbookMap {
    /// Builds a map from already validated entries (see [`super::load`] for untrusted text).
    pub fn from_entries(entries: impl IntoIterator<Item = (String, RunbookEntry)>) -> Self {
        Self {
            entries: entries.into_iter().collect(),
        }
    }

    /// The entry for `role`/`alert` by precedence: exact, `ROLE:*`, `*:ALERT`, `*:*`.
    pub fn lookup(&self, role: &str, alert: &str) -> Option<(&str, &RunbookEntry)> {
        // Built lazily: the exact key usually matches and the rest are never formatted.
        let mut key = String::with_capacity(role.len() + alert.len() + 1);
        for (r, a) in [(role, alert), (role, "*"), ("*", alert), ("*", "*")] {
            key.clear();
            key.push_str(r);
            key.push(':');
            key.push_str(a);
            if let Some((k, v)) = self.entries.get_key_value(key.as_str()) {
                return Some((k.as_str(), v));
            }
        }
        None
    }

    /// The entry stored under exactly `key`.
    pub fn get(&self, key: &str) -> Option<&RunbookEntry> {
        self.entries.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &RunbookEntry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
