//! [`ReportBuilder::finish`]: per-key figures, the CloudWatch join, fleet totals and the
//! decisions, from the aggregated counters.

use std::collections::{BTreeMap, HashMap};

use super::builder::*;
use super::model::*;
use super::rules::{self, KeyFacts};
use super::sketch::DurationSketch;
use crate::history::EpochMillis;

fn quantiles(s: &DurationSketch) -> TimeToHeal {
    TimeToHeal {
        median_ms: s.quantile(0.5),
        p95_ms: s.quantile(0.95),
        samples: s.count(),
        exact: s.is_exact(),
    }
}

fn no_time() -> TimeToHeal {
    TimeToHeal {
        median_ms: None,
        p95_ms: None,
        samples: 0,
        exact: true,
    }
}

fn to_u64(v: &[u32]) -> Vec<u64> {
    v.iter().map(|v| u64::from(*v)).collect()
}

impl ReportBuilder {
    /// Finishes the report: per-key figures, CloudWatch join, totals, decisions.
    pub fn finish(mut self, config: ReportConfig) -> Report {
        let mut quality = std::mem::take(&mut self.quality);
        let w = &self.window;
        let days = w.days() as usize;
        let fmt = |ms: Option<EpochMillis>| ms.map(|m| w.format_instant(m));
        let t = &config.thresholds;

        let mut keys: Vec<KeyReport> = Vec::with_capacity(self.keys.len() + 1);
        let mut facts: HashMap<String, KeyFacts> = HashMap::new();
        for (key, a) in &self.keys {
            let o = &a.outcomes;
            let healed = o[O_HEALED];
            let failed = o[O_FAILED] + o[O_TIMED_OUT];
            let precheck_failed = o[O_PRECHECK];
            let runs = healed + failed;
            let attempts = runs + precheck_failed;
            let approximate = a.instances.is_approximate() || a.healed_instances.is_approximate();
            let healed_at = |inst: &str| a.healed_instances.get(inst).map_or(0, |h| h.at_least());
            let top_instances = a
                .instances
                .top(config.top_instances)
                .into_iter()
                .map(|c| InstanceCount {
                    healed: healed_at(&c.item),
                    instance: c.item,
                    alerts: c.count,
                    approximate,
                })
                .collect();
            let mut outcomes = BTreeMap::new();
            let mut groups = [0u64; 8];
            for (i, n) in o.iter().enumerate() {
                if *n > 0 {
                    let name = OUTCOMES.get(i).copied().unwrap_or("other");
                    outcomes.insert(name.to_owned(), *n);
                    groups[OutcomeGroups::group_of(name)] += *n;
                }
            }
            facts.insert(
                key.clone(),
                KeyFacts {
                    repeat_instances: a
                        .instances
                        .at_least(t.repeat_instance_heals.max(1))
                        .into_iter()
                        .map(|c| {
                            let (alerts, healed) = (c.at_least(), healed_at(&c.item));
                            (c.item, alerts, healed)
                        })
                        .collect(),
                    role_instances: a
                        .role
                        .as_deref()
                        .and_then(|r| self.fleet.role_instances.get(r))
                        .map(|s| s.len() as u64),
                    recurring_instances: a.recurring_instances(),
                },
            );
            let compared_with = a.last_to_date;
            keys.push(KeyReport {
                key: key.clone(),
                role: a.role.as_deref().map(str::to_owned),
                alert: a.alert.as_deref().map(str::to_owned),
                runbook: a.runbook.as_deref().map(str::to_owned),
                owner: a.owner.as_deref().map(str::to_owned),
                description: a.description.as_deref().map(str::to_owned),
                mode: a.mode.as_deref().map(str::to_owned),
                seen: Seen {
                    history: true,
                    cloudwatch: false,
                },
                this_period: a.this_period,
                last_period: a.last_period,
                compared_with,
                change: Change::between(a.this_period, compared_with),
                outcome_groups: OutcomeGroups::from_array(groups),
                healed,
                failed,
                escalated: a.escalated,
                dry_run: o[O_DRY_RUN],
                no_runbook: o[O_NO_RUNBOOK],
                precheck_failed,
                runs,
                attempts,
                success_rate: (attempts > 0 && attempts >= t.min_rate_sample)
                    .then(|| healed as f64 / attempts as f64),
                humans_involved: a.humans,
                pages_avoided: a.pages_avoided,
                time_to_heal: quantiles(&a.tth),
                time_waiting: quantiles(&a.waiting),
                time_running: quantiles(&a.running),
                top_instances,
                instances: a.distinct_instances(),
                instances_exact: !a.instances_overflowed,
                first_seen: fmt(a.first_ms),
                last_seen: fmt(a.last_ms),
                daily: to_u64(&a.daily[days..]),
                daily_last_period: to_u64(&a.daily[..days]),
                hours: a.hours.iter().map(|v| u64::from(*v)).collect(),
                flaps: a.flaps,
                transitions: 2 * a.flaps,
                outcomes,
                approved: a.approved,
                skipped: a.skipped,
                decision: None,
            });
        }

        // Join CloudWatch alarm names: an exact key (`ROLE:ALERT` alarm names), else the key
        // whose ALERT is the alarm name (the role came from the instance tag; the key with the
        // most alerts wins when several roles share the name). A joined key keeps its own flap
        // count: CloudWatch cannot tell a heal's OK from a flap.
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
        let mut matched: Vec<usize> = Vec::new();
        let mut cw_only: Vec<KeyReport> = Vec::new();
        let mut alarm_names: Vec<&String> = self.alarms.keys().collect();
        alarm_names.sort();
        for name in alarm_names {
            let a = &self.alarms[name];
            if let Some(i) = by_key
                .get(name.as_str())
                .or_else(|| by_alert.get(name.as_str()))
            {
                matched.push(*i);
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
            let flaps = a.alarm_events.min(a.ok_events);
            cw_only.push(KeyReport {
                key: name.clone(),
                role,
                alert,
                runbook: None,
                owner: None,
                description: None,
                mode: None,
                seen: Seen {
                    history: false,
                    cloudwatch: true,
                },
                this_period: a.this_period,
                last_period: a.last_period,
                compared_with: a.last_to_date,
                change: Change::between(a.this_period, a.last_to_date),
                outcome_groups: OutcomeGroups::default(),
                healed: 0,
                failed: 0,
                escalated: 0,
                dry_run: 0,
                no_runbook: 0,
                precheck_failed: 0,
                runs: 0,
                attempts: 0,
                success_rate: None,
                humans_involved: 0,
                pages_avoided: 0,
                time_to_heal: no_time(),
                time_waiting: no_time(),
                time_running: no_time(),
                top_instances: Vec::new(),
                instances: 0,
                instances_exact: false,
                first_seen: fmt(a.first_ms),
                last_seen: fmt(a.last_ms),
                daily: to_u64(&a.daily[days..]),
                daily_last_period: to_u64(&a.daily[..days]),
                hours: vec![0; 24],
                flaps,
                transitions: transitions(a.alarm_events, a.ok_events),
                outcomes: BTreeMap::new(),
                approved: 0,
                skipped: 0,
                decision: None,
            });
        }
        for i in matched {
            keys[i].seen.cloudwatch = true;
        }
        keys.extend(cw_only);
        keys.sort_by(|a, b| {
            b.this_period
                .cmp(&a.this_period)
                .then(b.last_period.cmp(&a.last_period))
                .then_with(|| a.key.cmp(&b.key))
        });

        let totals = self.totals(&keys, &config);
        let decisions = rules::decide(&mut keys, &facts, t, w.days());
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
            partial_day: w.partial_day(),
            days: w.this_period_dates(),
            weekdays: (days..2 * days)
                .map(|i| w.weekday_short(i).to_owned())
                .collect(),
            totals,
            decisions,
            keys,
            thresholds: config.thresholds,
            report_url: config.report_url,
            chart_url: config.chart_url,
            alarm_history: self.alarm_history,
            data_quality: quality,
        }
    }

    fn totals(&self, keys: &[KeyReport], config: &ReportConfig) -> Totals {
        let days = self.window.days() as usize;
        let f = &self.fleet;
        let mut t = Totals {
            alerts: 0,
            alerts_last_period: 0,
            compared_with: 0,
            change: Change::between(0, 0),
            via_selfheal: 0,
            cloudwatch_only: 0,
            outcome_groups: OutcomeGroups::default(),
            healed: 0,
            failed: 0,
            escalated: 0,
            dry_run: 0,
            no_runbook: 0,
            auto_healed_share: None,
            human_pages_avoided: 0,
            humans_involved: 0,
            minutes_per_page: config.minutes_per_page,
            on_call_minutes_saved: 0,
            off_hours: OffHours {
                work_hours: self.window.work_hours().to_string(),
                alerts: f.off_alerts,
                pages: f.off_pages,
                pages_avoided: f.off_avoided,
            },
            keys: 0,
            daily: vec![0; days],
            daily_by_outcome: BTreeMap::new(),
            daily_last_period: vec![0; days],
            heatmap: f.heatmap.iter().map(|row| row.to_vec()).collect(),
        };
        for k in keys {
            t.alerts += k.this_period;
            t.alerts_last_period += k.last_period;
            t.compared_with += k.compared_with;
            if k.seen.history {
                t.via_selfheal += k.this_period;
            } else {
                t.cloudwatch_only += k.this_period;
            }
            t.outcome_groups.add(&k.outcome_groups);
            t.healed += k.healed;
            t.failed += k.failed;
            t.escalated += k.escalated;
            t.dry_run += k.dry_run;
            t.no_runbook += k.no_runbook;
            t.human_pages_avoided += k.pages_avoided;
            t.humans_involved += k.humans_involved;
            if k.this_period + k.last_period > 0 {
                t.keys += 1;
            }
            for (d, v) in k.daily.iter().enumerate() {
                t.daily[d] += v;
            }
            for (d, v) in k.daily_last_period.iter().enumerate() {
                t.daily_last_period[d] += v;
            }
        }
        for (g, name) in OUTCOME_GROUPS.iter().enumerate() {
            t.daily_by_outcome.insert(
                (*name).to_owned(),
                f.daily_groups.iter().map(|day| day[g]).collect(),
            );
        }
        t.change = Change::between(t.alerts, t.compared_with);
        t.auto_healed_share = (t.alerts > 0).then(|| t.healed as f64 / t.alerts as f64);
        t.on_call_minutes_saved = t.human_pages_avoided * u64::from(config.minutes_per_page);
        t
    }
}
