//! The report's counters: the outcome table, memory limits, and the per-key, per-alarm and
//! fleet aggregates [`super::ReportBuilder`] folds records into, with the small helpers they
//! share (name clipping, escalation of older records).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::sketch::{DurationSketch, SpaceSaving};
use crate::history::{EpochMillis, HistoryRecord};

/// Every outcome of DESIGN §4; anything else is counted as `other`.
pub const OUTCOMES: [&str; 19] = [
    "healed",
    "failed",
    "precheck-failed",
    "recovered",
    "timed-out",
    "dry-run",
    "disabled",
    "ignored",
    "no-runbook",
    "unresolved",
    "invalid",
    "duplicate",
    "budget-exhausted",
    "capacity-wait",
    "killed",
    "silenced",
    "awaiting-approval",
    "skipped",
    "expired",
];
pub(super) const OTHER: usize = OUTCOMES.len();
pub(super) const O_HEALED: usize = 0;
pub(super) const O_FAILED: usize = 1;
pub(super) const O_PRECHECK: usize = 2;
pub(super) const O_RECOVERED: usize = 3;
pub(super) const O_TIMED_OUT: usize = 4;
pub(super) const O_DRY_RUN: usize = 5;
pub(super) const O_IGNORED: usize = 7;
pub(super) const O_NO_RUNBOOK: usize = 8;
pub(super) const O_UNRESOLVED: usize = 9;
pub(super) const O_INVALID: usize = 10;
pub(super) const O_DUPLICATE: usize = 11;
pub(super) const O_BUDGET: usize = 12;
pub(super) const O_AWAITING: usize = 16;
pub(super) const O_SKIPPED: usize = 17;
pub(super) const O_EXPIRED: usize = 18;

/// The key that collects records once [`Limits::max_keys`] is reached.
pub const OTHER_KEYS: &str = "(other keys)";
/// Formerly the key of records naming neither a key nor an alert; such records are now counted
/// under [`DataQuality::unnamed`](super::model::DataQuality::unnamed) and never form a key.
pub const UNKNOWN_KEY: &str = "(unknown)";
/// Keys and names longer than this are clipped (they are untrusted input).
pub const MAX_NAME_CHARS: usize = 256;

/// Memory bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Distinct keys (and, separately, CloudWatch alarm names) kept; beyond it records go to
    /// [`OTHER_KEYS`].
    pub max_keys: usize,
    /// Space-Saving slots per key for instances.
    pub instance_slots: usize,
    /// Alarm-and-instance pairs followed for flaps and distinct-instance counts, in total.
    pub max_instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_keys: 10_000,
            instance_slots: 32,
            max_instances: 200_000,
        }
    }
}

pub(super) fn outcome_index(o: &str) -> usize {
    OUTCOMES.iter().position(|x| *x == o).unwrap_or(OTHER)
}

/// A hasher for keys that are already 64-bit hashes (FNV-1a of an instance id): no second hash.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct HashedKey(u64);

impl Hasher for HashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Where an alarm stands on one instance, for flaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Open {
    /// No alert open (start, or an OK closed it).
    Closed,
    /// An alert is open and nothing explains a return to OK: an OK now is a flap.
    Unexplained,
    /// An alert is open and a fix ran or a human was paged (or it was already counted).
    Explained,
}

#[derive(Debug)]
pub(super) struct KeyAgg {
    pub role: Option<Box<str>>,
    pub alert: Option<Box<str>>,
    pub runbook: Option<Box<str>>,
    pub owner: Option<Box<str>>,
    pub description: Option<Box<str>>,
    pub mode: Option<Box<str>>,
    pub this_period: u64,
    pub last_period: u64,
    pub last_to_date: u64,
    pub outcomes: [u64; OUTCOMES.len() + 1],
    pub daily: Box<[u32]>,
    pub hours: [u32; 24],
    pub tth: DurationSketch,
    pub waiting: DurationSketch,
    pub running: DurationSketch,
    pub instances: SpaceSaving,
    pub healed_instances: SpaceSaving,
    /// Per instance (by the 64-bit hash of its id: 16 bytes an entry, no string kept): where
    /// its alarm stands, and its alerts this period.
    pub(super) open: HashMap<u64, (Open, u32), BuildHasherDefault<HashedKey>>,
    pub instances_overflowed: bool,
    pub first_ms: Option<EpochMillis>,
    pub last_ms: Option<EpochMillis>,
    pub approved: u64,
    pub skipped: u64,
    pub escalated: u64,
    pub humans: u64,
    pub pages_avoided: u64,
    pub flaps: u64,
}

impl KeyAgg {
    pub(super) fn new(days: usize, slots: usize) -> Self {
        Self {
            role: None,
            alert: None,
            runbook: None,
            owner: None,
            description: None,
            mode: None,
            this_period: 0,
            last_period: 0,
            last_to_date: 0,
            outcomes: [0; OUTCOMES.len() + 1],
            daily: vec![0; days].into_boxed_slice(),
            hours: [0; 24],
            tth: DurationSketch::default(),
            waiting: DurationSketch::default(),
            running: DurationSketch::default(),
            instances: SpaceSaving::new(slots),
            healed_instances: SpaceSaving::new(slots),
            open: HashMap::default(),
            instances_overflowed: false,
            first_ms: None,
            last_ms: None,
            approved: 0,
            skipped: 0,
            escalated: 0,
            humans: 0,
            pages_avoided: 0,
            flaps: 0,
        }
    }

    /// Distinct instances that alerted this period (exact unless `instances_overflowed`).
    pub fn distinct_instances(&self) -> u64 {
        self.open.values().filter(|(_, n)| *n > 0).count() as u64
    }

    /// Instances that alerted at least twice this period (the alert recurs there).
    pub fn recurring_instances(&self) -> u64 {
        self.open.values().filter(|(_, n)| *n >= 2).count() as u64
    }
}

#[derive(Debug)]
pub(super) struct AlarmAgg {
    pub daily: Box<[u32]>,
    pub this_period: u64,
    pub last_period: u64,
    pub last_to_date: u64,
    pub alarm_events: u64,
    pub ok_events: u64,
    pub first_ms: Option<EpochMillis>,
    pub last_ms: Option<EpochMillis>,
}

/// Fleet-wide counters of this period.
#[derive(Debug)]
pub(super) struct FleetAgg {
    pub heatmap: [[u64; 24]; 7],
    pub off_alerts: u64,
    pub off_pages: u64,
    pub off_avoided: u64,
    /// Distinct instances per role this period (for "14 of 16 instances of the role").
    pub role_instances: HashMap<Box<str>, HashSet<u64, BuildHasherDefault<HashedKey>>>,
    pub daily_groups: Vec<[u64; 8]>,
}

pub(super) fn clip_name(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_NAME_CHARS {
        return Cow::Borrowed(s);
    }
    match s.char_indices().nth(MAX_NAME_CHARS) {
        None => Cow::Borrowed(s),
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
    }
}

pub(super) fn needs_clip(s: &str) -> bool {
    s.len() > MAX_NAME_CHARS && s.char_indices().nth(MAX_NAME_CHARS).is_some()
}

pub(super) fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.is_empty())
}

pub(super) fn min_opt(a: Option<EpochMillis>, b: EpochMillis) -> Option<EpochMillis> {
    Some(a.map_or(b, |a| a.min(b)))
}

pub(super) fn max_opt(a: Option<EpochMillis>, b: EpochMillis) -> Option<EpochMillis> {
    Some(a.map_or(b, |a| a.max(b)))
}

pub(super) fn set_name(slot: &mut Option<Box<str>>, value: Option<&str>) {
    if let Some(v) = value {
        if slot.as_deref() != Some(v) {
            *slot = Some(clip_name(v).into());
        }
    }
}

/// ALARM→OK→ALARM alternations of a CloudWatch alarm from `a` ALARM and `o` OK updates: every
/// OK between two ALARMs is a return and a new alarm. A lone ALARM is no transition.
pub fn transitions(a: u64, o: u64) -> u64 {
    2 * a.min(o)
}

/// Whether a record's alert paged a human. Records written before `escalated` existed: the
/// outcomes that escalate (DESIGN §4) and expired approvals.
pub(super) fn escalated(rec: &HistoryRecord, o: usize) -> bool {
    rec.escalated.unwrap_or(matches!(
        o,
        O_FAILED | O_TIMED_OUT | O_BUDGET | O_UNRESOLVED | O_EXPIRED
    ))
}
