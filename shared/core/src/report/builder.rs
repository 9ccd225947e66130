//! [`ReportBuilder`]: streaming aggregation. Records are folded into per-key counters as they
//! arrive and dropped; memory is bounded by the number of keys (capped by
//! [`Limits::max_keys`]) times a fixed per-key size (counters, one `u32` per window day, a
//! [`DurationSketch`], two [`SpaceSaving`] summaries).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::model::*;
use super::rules;
use super::sketch::{DurationSketch, SpaceSaving};
use super::window::{utc_noon_of_day, ReportWindow};
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
const OTHER: usize = OUTCOMES.len();
const O_HEALED: usize = 0;
const O_FAILED: usize = 1;
const O_TIMED_OUT: usize = 4;
const O_DRY_RUN: usize = 5;
const O_IGNORED: usize = 7;
const O_NO_RUNBOOK: usize = 8;
const O_UNRESOLVED: usize = 9;
const O_DUPLICATE: usize = 11;
const O_BUDGET: usize = 12;

/// The key that collects records once [`Limits::max_keys`] is reached.
pub const OTHER_KEYS: &str = "(other keys)";
/// The key of records that name neither a key nor an alert.
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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_keys: 10_000,
            instance_slots: 32,
        }
    }
}

fn outcome_index(o: &str) -> usize {
    OUTCOMES.iter().position(|x| *x == o).unwrap_or(OTHER)
}

#[derive(Debug)]
struct KeyAgg {
    role: Option<Box<str>>,
    alert: Option<Box<str>>,
    runbook: Option<Box<str>>,
    this_period: u64,
    last_period: u64,
    outcomes: [u64; OUTCOMES.len() + 1],
    daily: Box<[u32]>,
    alarm_events: u64,
    ok_events: u64,
    tth: DurationSketch,
    instances: SpaceSaving,
    healed_instances: SpaceSaving,
    first_ms: Option<EpochMillis>,
    last_ms: Option<EpochMillis>,
    approved: u64,
    skipped: u64,
}

impl KeyAgg {
    fn new(days: usize, slots: usize) -> Self {
        Self {
            role: None,
            alert: None,
            runbook: None,
            this_period: 0,
            last_period: 0,
            outcomes: [0; OUTCOMES.len() + 1],
            daily: vec![0; days].into_boxed_slice(),
            alarm_events: 0,
            ok_events: 0,
            tth: DurationSketch::default(),
            instances: SpaceSaving::new(slots),
            healed_instances: SpaceSaving::new(slots),
            first_ms: None,
            last_ms: None,
            approved: 0,
            skipped: 0,
        }
    }
}

#[derive(Debug)]
struct AlarmAgg {
    daily: Box<[u32]>,
    this_period: u64,
    last_period: u64,
    alarm_events: u64,
    ok_events: u64,
    first_ms: Option<EpochMillis>,
    last_ms: Option<EpochMillis>,
}

/// Streaming aggregation of history records and CloudWatch alarm state updates.
#[derive(Debug)]
pub struct ReportBuilder {
    window: ReportWindow,
    limits: Limits,
    keys: HashMap<String, KeyAgg>,
    alarms: HashMap<String, AlarmAgg>,
    quality: DataQuality,
}

fn clip_name(s: &str) -> Cow<'_, str> {
    if s.len() <= MAX_NAME_CHARS {
        return Cow::Borrowed(s);
    }
    match s.char_indices().nth(MAX_NAME_CHARS) {
        None => Cow::Borrowed(s),
        Some((i, _)) => Cow::Owned(format!("{}…", &s[..i])),
    }
}

fn needs_clip(s: &str) -> bool {
    s.len() > MAX_NAME_CHARS && s.char_indices().nth(MAX_NAME_CHARS).is_some()
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.is_empty())
}

fn min_opt(a: Option<EpochMillis>, b: EpochMillis) -> Option<EpochMillis> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn max_opt(a: Option<EpochMillis>, b: EpochMillis) -> Option<EpochMillis> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// ALARM↔OK alternations implied by `a` ALARM and `o` OK events (see [`Report`]).
pub fn transitions(a: u64, o: u64) -> u64 {
    2 * a.min(o) + u64::from(a != o)
}

impl ReportBuilder {
    pub fn new(window: ReportWindow) -> Self {
        Self::with_limits(window, Limits::default())
    }

    pub fn with_limits(window: ReportWindow, limits: Limits) -> Self {
        Self {
            window,
            limits,
            keys: HashMap::new(),
            alarms: HashMap::new(),
            quality: DataQuality::default(),
        }
    }

    pub fn window(&self) -> &ReportWindow {
        &self.window
    }

    /// Records a warning shown in the report (e.g. a source that could not be read).
    pub fn warn(&mut self, warning: impl Into<String>) {
        if self.quality.warnings.len() < 20 {
            self.quality.warnings.push(warning.into());
        }
    }

    /// The instant a record counts at: `received_at_ms`, else `finished_at_ms`, else noon UTC of
    /// its `day`.
    fn record_time(rec: &HistoryRecord) -> Option<EpochMillis> {
        if rec.received_at_ms > 0 {
            Some(rec.received_at_ms)
        } else if rec.finished_at_ms > 0 {
            Some(rec.finished_at_ms)
        } else {
            utc_noon_of_day(&rec.day)
        }
    }

    /// Folds one history record in.
    pub fn add(&mut self, rec: &HistoryRecord) {
        self.quality.history_records += 1;
        let Some(t) = Self::record_time(rec) else {
            self.quality.undated += 1;
            return;
        };
        let Some(idx) = self.window.day_index(t) else {
            self.quality.out_of_window += 1;
            return;
        };
        let days = self.window.days() as usize;
        let this = idx >= days;

        let key: Cow<'_, str> = match (
            non_empty(&rec.key),
            non_empty(&rec.role),
            non_empty(&rec.alert),
        ) {
            (Some(k), _, _) => Cow::Borrowed(k),
            (None, r, a) => {
                self.quality.without_key += 1;
                match (r, a) {
                    (Some(r), Some(a)) => Cow::Owned(format!("{r}:{a}")),
                    (None, Some(a)) => Cow::Owned(format!("?:{a}")),
                    _ => Cow::Borrowed(UNKNOWN_KEY),
                }
            }
        };
        let key: Cow<'_, str> = if needs_clip(&key) {
            Cow::Owned(clip_name(&key).into_owned())
        } else {
            key
        };
        let slots = self.limits.instance_slots;
        let agg = if let Some(a) = self.keys.get_mut(key.as_ref()) {
            a
        } else if self.keys.len() < self.limits.max_keys {
            self.keys
                .entry(key.into_owned())
                .or_insert_with(|| KeyAgg::new(2 * days, slots))
        } else {
            self.quality.keys_overflowed += 1;
            self.keys
                .entry(OTHER_KEYS.to_owned())
                .or_insert_with(|| KeyAgg::new(2 * days, slots))
        };
        if agg.role.is_none() {
            agg.role = non_empty(&rec.role).map(|s| clip_name(s).into());
        }
        if agg.alert.is_none() {
            agg.alert = non_empty(&rec.alert).map(|s| clip_name(s).into());
        }
        if let Some(rb) = non_empty(&rec.runbook) {
            if agg.runbook.as_deref() != Some(rb) {
                agg.runbook = Some(clip_name(rb).into());
            }
        }

        let o = outcome_index(&rec.outcome);
        if this {
            agg.outcomes[o] += 1;
        }
        if o == O_DUPLICATE {
            self.quality.duplicates += 1;
            return;
        }
        let state = rec.state.as_deref().unwrap_or("ALARM");
        let recovery = o == O_IGNORED
            || state.eq_ignore_ascii_case("OK")
            || state.eq_ignore_ascii_case("INSUFFICIENT_DATA");
        if recovery {
            self.quality.recovery_notices += 1;
            if this && state.eq_ignore_ascii_case("OK") {
                agg.ok_events += 1;
            }
            return;
        }

        agg.daily[idx] = agg.daily[idx].saturating_add(1);
        agg.first_ms = min_opt(agg.first_ms, t);
        agg.last_ms = max_opt(agg.last_ms, t);
        if !this {
            agg.last_period += 1;
            return;
        }
        agg.this_period += 1;
        agg.alarm_events += 1;
        match rec.decision.as_deref() {
            Some("run") if rec.outcome != "expired" => agg.approved += 1,
            Some("skip") => agg.skipped += 1,
            _ => {}
        }
        if let Some(inst) = non_empty(&rec.instance) {
            let inst = clip_name(inst);
            agg.instances.add(&inst);
            if o == O_HEALED {
                agg.healed_instances.add(&inst);
            }
        }
        if o == O_HEALED && rec.received_at_ms > 0 && rec.finished_at_ms >= rec.received_at_ms {
            agg.tth
                .add((rec.finished_at_ms - rec.received_at_ms).unsigned_abs());
        }
    }

    /// Folds one CloudWatch alarm-history state update in (`new_state` is `ALARM`, `OK` or
    /// `INSUFFICIENT_DATA`; others are ignored).
    pub fn add_alarm_history(
        &mut self,
        alarm_name: &str,
        timestamp_ms: EpochMillis,
        new_state: &str,
    ) {
        self.quality.alarm_history_items += 1;
        let Some(idx) = self.window.day_index(timestamp_ms) else {
            self.quality.out_of_window += 1;
            return;
        };
        let days = self.window.days() as usize;
        let this = idx >= days;
        let is_alarm = new_state.eq_ignore_ascii_case("ALARM");
        let is_ok = new_state.eq_ignore_ascii_case("OK");
        if !is_alarm && !is_ok {
            return;
        }
        let name = clip_name(alarm_name);
        let agg = if let Some(a) = self.alarms.get_mut(name.as_ref()) {
            a
        } else if self.alarms.len() < self.limits.max_keys {
            self.alarms
                .entry(name.into_owned())
                .or_insert_with(|| AlarmAgg {
                    daily: vec![0; 2 * days].into_boxed_slice(),
                    this_period: 0,
                    last_period: 0,
                    alarm_events: 0,
                    ok_events: 0,
                    first_ms: None,
                    last_ms: None,
                })
        } else {
            self.quality.keys_overflowed += 1;
            return;
        };
        if is_ok {
            if this {
                agg.ok_events += 1;
            }
            return;
        }
        agg.daily[idx] = agg.daily[idx].saturating_add(1);
        agg.first_ms = min_opt(agg.first_ms, timestamp_ms);
        agg.last_ms = max_opt(agg.last_ms, timestamp_ms);
        if this {
            agg.this_period += 1;
            agg.alarm_events += 1;
        } else {
            agg.last_period += 1;
        }
    }

    /// Finishes the report: per-key figures, CloudWatch join, totals, recommendations.
    pub fn finish(mut self, config: ReportConfig) -> Report {
        let mut quality = std::mem::take(&mut self.quality);
        let healed_instances = self.keys_healed_instances();
        let w = &self.window;
        let days = w.days() as usize;
        let fmt = |ms: Option<EpochMillis>| ms.map(|m| w.format_instant(m));

        let mut keys: Vec<KeyReport> = Vec::with_capacity(self.keys.len() + 1);
        for (key, a) in &self.keys {
            let healed = a.outcomes[O_HEALED];
            let failed = a.outcomes[O_FAILED] + a.outcomes[O_TIMED_OUT];
            let escalated = a.outcomes[O_FAILED]
                + a.outcomes[O_TIMED_OUT]
                + a.outcomes[O_BUDGET]
                + a.outcomes[O_UNRESOLVED];
            let runs = healed + failed;
            let healed_at = |inst: &str| a.healed_instances.get(inst);
            let approximate_instances = a.instances.top(usize::MAX).iter().any(|c| c.error > 0)
                || a.healed_instances
                    .top(usize::MAX)
                    .iter()
                    .any(|c| c.error > 0);
            let top_instances = a
                .instances
                .top(config.top_instances)
                .into_iter()
                .map(|c| InstanceCount {
                    healed: healed_at(&c.item).map_or(0, |h| h.at_least()),
                    instance: c.item,
                    alerts: c.count,
                    approximate: approximate_instances,
                })
                .collect();
            let mut outcomes = BTreeMap::new();
            for (i, n) in a.outcomes.iter().enumerate() {
                if *n > 0 {
                    outcomes.insert(OUTCOMES.get(i).copied().unwrap_or("other").to_owned(), *n);
                }
            }
            keys.push(KeyReport {
                key: key.clone(),
                role: a.role.as_deref().map(str::to_owned),
                alert: a.alert.as_deref().map(str::to_owned),
                runbook: a.runbook.as_deref().map(str::to_owned),
                seen: Seen {
                    history: true,
                    cloudwatch: false,
                },
                this_period: a.this_period,
                last_period: a.last_period,
                change: Change::between(a.this_period, a.last_period),
                healed,
                failed,
                escalated,
                dry_run: a.outcomes[O_DRY_RUN],
                no_runbook: a.outcomes[O_NO_RUNBOOK],
                runs,
                success_rate: (runs > 0).then(|| healed as f64 / runs as f64),
                time_to_heal: TimeToHeal {
                    median_ms: a.tth.quantile(0.5),
                    p95_ms: a.tth.quantile(0.95),
                    samples: a.tth.count(),
                    exact: a.tth.is_exact(),
                },
                top_instances,
                first_seen: fmt(a.first_ms),
                last_seen: fmt(a.last_ms),
                daily: a.daily[days..].iter().map(|v| u64::from(*v)).collect(),
                daily_last_period: a.daily[..days].iter().map(|v| u64::from(*v)).collect(),
                transitions: transitions(a.alarm_events, a.ok_events),
                outcomes,
                approved: a.approved,
                skipped: a.skipped,
                recommendations: Vec::new(),
            });
        }

        // Join CloudWatch alarm names: an exact key (`ROLE:ALERT` alarm names), else the key
        // whose ALERT is the alarm name (the role came from the instance tag; the key with the
        // most alerts wins when several roles share the name).
        let mut by_key: HashMap<&str, usize> = HashMap::new();
        let mut by_alert: HashMap<&str, usize> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            by_key.insert(k.key.as_str(), i);
            if let Some(alert) = k.alert.as_deref() {
                let e = by_alert.entry(alert).or_insert(i);
                if keys[*e].this_period < k.this_period {
                    *e = i;
                }
            }
        }
        let mut matched: Vec<(usize, u64)> = Vec::new();
        let mut cw_only: Vec<KeyReport> = Vec::new();
        let mut alarm_names: Vec<&String> = self.alarms.keys().collect();
        alarm_names.sort();
        for name in alarm_names {
            let a = &self.alarms[name];
            let cw_transitions = transitions(a.alarm_events, a.ok_events);
            if let Some(i) = by_key
                .get(name.as_str())
                .or_else(|| by_alert.get(name.as_str()))
            {
                matched.push((*i, cw_transitions));
                continue;
            }
            if a.this_period == 0 && a.last_period == 0 {
                continue;
            }
            let (role, alert) = match name.split_once(':') {
                Some((r, al)) if !r.is_empty() && !al.is_empty() => {
                    (Some(r.to_owned()), Some(al.to_owned()))
                }
                _ => (None, Some(name.clone())),
            };
            cw_only.push(KeyReport {
                key: name.clone(),
                role,
                alert,
                runbook: None,
                seen: Seen {
                    history: false,
                    cloudwatch: true,
                },
                this_period: a.this_period,
                last_period: a.last_period,
                change: Change::between(a.this_period, a.last_period),
                healed: 0,
                failed: 0,
                escalated: 0,
                dry_run: 0,
                no_runbook: 0,
                runs: 0,
                success_rate: None,
                time_to_heal: TimeToHeal {
                    median_ms: None,
                    p95_ms: None,
                    samples: 0,
                    exact: true,
                },
                top_instances: Vec::new(),
                first_seen: fmt(a.first_ms),
                last_seen: fmt(a.last_ms),
                daily: a.daily[days..].iter().map(|v| u64::from(*v)).collect(),
                daily_last_period: a.daily[..days].iter().map(|v| u64::from(*v)).collect(),
                transitions: cw_transitions,
                outcomes: BTreeMap::new(),
                approved: 0,
                skipped: 0,
                recommendations: Vec::new(),
            });
        }
        for (i, t) in matched {
            let k = &mut keys[i];
            k.seen.cloudwatch = true;
            k.transitions = k.transitions.max(t);
        }
        keys.extend(cw_only);
        // Keys with nothing to show (only duplicates or recovery notices, or only
        // out-of-period data) are kept: their outcomes still explain the numbers.
        keys.sort_by(|a, b| {
            b.this_period
                .cmp(&a.this_period)
                .then(b.last_period.cmp(&a.last_period))
                .then_with(|| a.key.cmp(&b.key))
        });

        let mut totals = Totals {
            alerts: 0,
            alerts_last_period: 0,
            change: Change::between(0, 0),
            via_selfheal: 0,
            cloudwatch_only: 0,
            healed: 0,
            failed: 0,
            escalated: 0,
            dry_run: 0,
            no_runbook: 0,
            auto_healed_share: None,
            human_pages_avoided: 0,
            minutes_per_page: config.minutes_per_page,
            on_call_minutes_saved: 0,
            keys: 0,
        };
        for k in &keys {
            totals.alerts += k.this_period;
            totals.alerts_last_period += k.last_period;
            if k.seen.history {
                totals.via_selfheal += k.this_period;
            } else {
                totals.cloudwatch_only += k.this_period;
            }
            totals.healed += k.healed;
            totals.failed += k.failed;
            totals.escalated += k.escalated;
            totals.dry_run += k.dry_run;
            totals.no_runbook += k.no_runbook;
            if k.this_period + k.last_period > 0 {
                totals.keys += 1;
            }
        }
        totals.change = Change::between(totals.alerts, totals.alerts_last_period);
        totals.auto_healed_share =
            (totals.alerts > 0).then(|| totals.healed as f64 / totals.alerts as f64);
        totals.human_pages_avoided = totals.healed;
        totals.on_call_minutes_saved = totals.healed * u64::from(config.minutes_per_page);

        let recommendations = rules::recommend(&mut keys, &healed_instances, &config.thresholds);
        quality.warnings.dedup();

        let (ts, te) = w.this_period();
        let (ls, le) = w.last_period();
        Report {
            schema_version: SCHEMA_VERSION,
            generated_at: w.format_instant(w.now_ms()),
            time_zone: w.time_zone().to_owned(),
            period_days: w.days(),
            this_period: Period {
                start: w.format_instant(ts),
                end: w.format_instant(te),
                start_ms: ts,
                end_ms: te,
            },
            last_period: Period {
                start: w.format_instant(ls),
                end: w.format_instant(le),
                start_ms: ls,
                end_ms: le,
            },
            days: w.this_period_dates(),
            weekdays: (days..2 * days)
                .map(|i| w.weekday_short(i).to_owned())
                .collect(),
            totals,
            keys,
            recommendations,
            thresholds: config.thresholds,
            report_url: config.report_url,
            data_quality: quality,
        }
    }

    /// Per key: instances healed repeatedly, with guaranteed (lower-bound) counts.
    fn keys_healed_instances(&self) -> HashMap<String, Vec<(String, u64)>> {
        self.keys
            .iter()
            .map(|(k, a)| {
                (
                    k.clone(),
                    a.healed_instances
                        .at_least(1)
                        .into_iter()
                        .map(|c| {
                            let n = c.at_least();
                            (c.item, n)
                        })
                        .collect(),
                )
            })
            .collect()
    }
}
