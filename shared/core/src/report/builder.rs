//! [`ReportBuilder`]: streaming aggregation. Records are folded into per-key counters as they
//! arrive and dropped; memory is bounded by the number of keys (capped by
//! [`Limits::max_keys`]) times a fixed per-key size (counters, one `u32` per window day, three
//! [`DurationSketch`]es, two [`SpaceSaving`] summaries), plus one small entry per alarm and
//! instance (capped by [`Limits::max_instances`]) to follow flaps.
//!
//! Flaps are followed per alarm and instance in the order records arrive, so feed each day's
//! records in time order (the reporter sorts each day before adding it).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

pub(super) use super::counters::*;
pub use super::counters::{transitions, Limits, MAX_NAME_CHARS, OTHER_KEYS, OUTCOMES, UNKNOWN_KEY};
use super::model::*;
use super::sketch::fnv1a;
use super::window::{utc_noon_of_day, ReportWindow};
use crate::history::{EpochMillis, HistoryRecord};

/// Streaming aggregation of history records and CloudWatch alarm state updates.
#[derive(Debug)]
pub struct ReportBuilder {
    pub(super) window: ReportWindow,
    pub(super) limits: Limits,
    pub(super) keys: HashMap<String, KeyAgg>,
    pub(super) alarms: HashMap<String, AlarmAgg>,
    pub(super) fleet: FleetAgg,
    pub(super) quality: DataQuality,
    pub(super) alarm_history: SourceStatus,
    tracked: usize,
    /// Last period instants before this count as "to date" while today is partial.
    to_date_cut: Option<EpochMillis>,
}

impl ReportBuilder {
    pub fn new(window: ReportWindow) -> Self {
        Self::with_limits(window, Limits::default())
    }

    pub fn with_limits(window: ReportWindow, limits: Limits) -> Self {
        let days = window.days() as usize;
        let to_date_cut = window.partial_day().map(|_| {
            let (ts, _) = window.this_period();
            let (ls, _) = window.last_period();
            ls + (window.now_ms() - ts).max(0)
        });
        Self {
            window,
            limits,
            keys: HashMap::new(),
            alarms: HashMap::new(),
            fleet: FleetAgg {
                heatmap: [[0; 24]; 7],
                off_alerts: 0,
                off_pages: 0,
                off_avoided: 0,
                role_instances: HashMap::new(),
                daily_groups: vec![[0; 8]; days],
            },
            quality: DataQuality::default(),
            alarm_history: SourceStatus::read(),
            tracked: 0,
            to_date_cut,
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

    /// CloudWatch alarm history was not read: `off` (disabled by configuration) or failed
    /// (`reason` is shown at the top of the report, as one line).
    pub fn alarm_history_not_read(&mut self, off: bool, reason: &str) {
        let line: String = reason.lines().next().unwrap_or("").trim().to_owned();
        let line = crate::alert::clip(&line, 160);
        self.alarm_history = SourceStatus {
            status: if off { "off" } else { "not read" }.to_owned(),
            reason: Some(line),
        };
    }

    /// The instant a record counts at: `received_at_ms`, else `finished_at_ms`, else noon UTC of
    /// its `day`.
    pub fn record_time(rec: &HistoryRecord) -> Option<EpochMillis> {
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
        let o = outcome_index(&rec.outcome);
        if o == O_DUPLICATE {
            self.quality.duplicates += 1;
            return;
        }
        if o == O_INVALID {
            self.quality.invalid += 1;
            return;
        }
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
                    _ => {
                        self.quality.unnamed += 1;
                        return;
                    }
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
        set_name(&mut agg.runbook, non_empty(&rec.runbook));
        set_name(&mut agg.owner, non_empty(&rec.owner));
        set_name(&mut agg.description, non_empty(&rec.description));
        // `off` is the global kill switch, not the runbook's mode.
        set_name(&mut agg.mode, non_empty(&rec.mode).filter(|m| *m != "off"));

        let instance = non_empty(&rec.instance).map(clip_name);
        let inst_hash = instance.as_deref().map(fnv1a);
        let state = rec.state.as_deref().unwrap_or("ALARM");
        let recovery = o == O_IGNORED
            || state.eq_ignore_ascii_case("OK")
            || state.eq_ignore_ascii_case("INSUFFICIENT_DATA");
        if recovery {
            self.quality.recovery_notices += 1;
            if state.eq_ignore_ascii_case("OK") {
                if let Some((open, _)) = inst_hash.and_then(|h| agg.open.get_mut(&h)) {
                    if this && *open == Open::Unexplained {
                        agg.flaps += 1;
                    }
                    *open = Open::Closed;
                }
            }
            return;
        }

        // An alert (ALARM delivery).
        let esc = escalated(rec, o);
        let human = esc || rec.decision.is_some() || matches!(o, O_AWAITING | O_SKIPPED);
        if let Some(inst) = &instance {
            let state = if o == O_RECOVERED {
                if this {
                    agg.flaps += 1;
                }
                Open::Explained
            } else if esc || matches!(o, O_HEALED | O_FAILED | O_TIMED_OUT) {
                Open::Explained
            } else {
                Open::Unexplained
            };
            let hash = inst_hash.unwrap_or_else(|| fnv1a(inst));
            if let Some((open, n)) = agg.open.get_mut(&hash) {
                *open = state;
                *n = n.saturating_add(u32::from(this));
            } else if self.tracked < self.limits.max_instances {
                self.tracked += 1;
                agg.open.insert(hash, (state, u32::from(this)));
            } else {
                agg.instances_overflowed = true;
                self.quality.flaps_untracked += 1;
            }
        } else if o == O_RECOVERED && this {
            agg.flaps += 1;
        }

        agg.daily[idx] = agg.daily[idx].saturating_add(1);
        if !this {
            agg.last_period += 1;
            if self.to_date_cut.is_none_or(|cut| t < cut) {
                agg.last_to_date += 1;
            }
            return;
        }
        agg.first_ms = min_opt(agg.first_ms, t);
        agg.last_ms = max_opt(agg.last_ms, t);
        agg.this_period += 1;
        agg.outcomes[o] += 1;
        if let Some(g) = self.fleet.daily_groups.get_mut(idx - days) {
            g[OutcomeGroups::group_of(&rec.outcome)] += 1;
        }
        match rec.decision.as_deref() {
            Some("run") if o != O_EXPIRED => agg.approved += 1,
            Some("skip") => agg.skipped += 1,
            _ => {}
        }
        let avoided = o == O_HEALED && !human;
        agg.escalated += u64::from(esc);
        agg.humans += u64::from(human);
        agg.pages_avoided += u64::from(avoided);
        if let Some((weekday, minute)) = self.window.local_weekday_minute_in(idx, t) {
            let hour = usize::from(minute / 60).min(23);
            agg.hours[hour] = agg.hours[hour].saturating_add(1);
            self.fleet.heatmap[weekday][hour] += 1;
            if !self.window.work_hours().contains(weekday, minute) {
                self.fleet.off_alerts += 1;
                self.fleet.off_pages += u64::from(human);
                self.fleet.off_avoided += u64::from(avoided);
            }
        }
        if let Some(inst) = &instance {
            agg.instances.add(inst);
            if o == O_HEALED {
                agg.healed_instances.add(inst);
            }
            if let Some(role) = agg.role.as_deref() {
                let hash = inst_hash.unwrap_or_else(|| fnv1a(inst));
                let roles = &mut self.fleet.role_instances;
                if !roles.contains_key(role) {
                    roles.insert(role.into(), HashSet::default());
                }
                if let Some(set) = roles.get_mut(role) {
                    if !set.contains(&hash) && self.tracked < self.limits.max_instances {
                        self.tracked += 1;
                        set.insert(hash);
                    }
                }
            }
        }
        if o == O_HEALED && rec.received_at_ms > 0 && rec.finished_at_ms >= rec.received_at_ms {
            let total = (rec.finished_at_ms - rec.received_at_ms).unsigned_abs();
            let waited = rec
                .waited_ms
                .unwrap_or(0)
                .clamp(0, total as i64)
                .unsigned_abs();
            agg.tth.add(total);
            agg.waiting.add(waited);
            agg.running.add(total - waited);
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
                    last_to_date: 0,
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
        if this {
            agg.first_ms = min_opt(agg.first_ms, timestamp_ms);
            agg.last_ms = max_opt(agg.last_ms, timestamp_ms);
            agg.this_period += 1;
            agg.alarm_events += 1;
        } else {
            agg.last_period += 1;
            if self.to_date_cut.is_none_or(|cut| timestamp_ms < cut) {
                agg.last_to_date += 1;
            }
        }
    }
}
