//! The decisions: at most one per `ROLE:ALERT`. Every rule below is checked against a key's
//! figures for this period; when several match, the first in this table (the precedence) is
//! the decision and the others are listed as `superseded`. Decisions are ranked by the pages
//! they would remove per period (ties: more alerts first, then key).
//!
//! | # | decision | matches when (this period) | pages it removes |
//! |---|---|---|---|
//! | 1 | `tune-or-retire-alarm` | state changes not explained by a fix ≥ `flapping_transitions` (2 per flap) and at least a third of its alerts cleared with no fix | its flaps |
//! | 2 | `permanent-fix-fleet` | it recurred (≥ 2 alerts) on ≥ `fleet_min_instances` instances, on ≥ `recurring_min_days` days | all its alerts |
//! | 3 | `permanent-fix-instance` | one instance alerted ≥ `repeat_instance_heals` times | that instance's alerts |
//! | 4 | `route-elsewhere` | only in CloudWatch (≥ `cloudwatch_only_min_alarms` ALARMs), or `unresolved` + `expired` ≥ `route_min_unresolved` | those alerts |
//! | 5 | `fix-runbook` | attempts ≥ `fix_runbook_min_runs` and (failed + timed-out + precheck-failed) / attempts ≥ `fix_runbook_failure_rate` | the attempts that did not heal |
//! | 6 | `write-runbook` | `no-runbook` alerts ≥ `frequent_alerts` | the no-runbook alerts |
//! | 7 | `promote-to-enforce` | mode `approve`: Run pressed ≥ `promote_min_approved` times, never Skip, no failed run; or mode `dry-run`: ≥ `promote_min_dry_runs` dry runs and no precheck failure | the presses / dry runs |
//! | 8 | `downgrade-to-warning` | mode `enforce`, healed ≥ `downgrade_min_healed` at success ≥ `downgrade_min_success` (over ≥ `min_rate_sample` attempts), nothing escalated, no person involved | the healed alerts |
//!
//! Why this order: an alarm that clears on its own is wrong before anything else about it can
//! be judged (its alerts are noise, not recurrences); a cause that recurs (fleet-wide, then on
//! one instance) is fixed where it lives, whatever the runbook does; an alert selfheal cannot
//! place must go where someone can act; then the automation itself (fix, write, promote);
//! downgrading the page is the last step, only for an automation that works alone.

use std::collections::HashMap;

use super::model::{Decision, KeyReport, Thresholds};

/// Decision ids, in precedence order.
pub const RULES: [&str; 8] = [
    "tune-or-retire-alarm",
    "permanent-fix-fleet",
    "permanent-fix-instance",
    "route-elsewhere",
    "fix-runbook",
    "write-runbook",
    "promote-to-enforce",
    "downgrade-to-warning",
];

/// Facts about a key the report does not show directly.
#[derive(Debug, Clone, Default)]
pub struct KeyFacts {
    /// Instances with at least `repeat_instance_heals` alerts this period (guaranteed lower
    /// bound): `(instance, alerts, healed)`, most alerts first.
    pub repeat_instances: Vec<(String, u64, u64)>,
    /// Distinct instances of the key's role that alerted this period (any key).
    pub role_instances: Option<u64>,
    /// Instances where the key alerted at least twice this period.
    pub recurring_instances: u64,
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The local hour (`HH:00–HH:59`) holding at least half of the alerts, if any (and ≥ 3).
fn peak_hour(k: &KeyReport) -> Option<String> {
    let (h, n) = k
        .hours
        .iter()
        .enumerate()
        .max_by_key(|(h, n)| (**n, std::cmp::Reverse(*h)))?;
    (*n >= 3 && 2 * n >= k.this_period)
        .then(|| format!("{n} of {} between {h:02}:00 and {h:02}:59", k.this_period))
}

struct Candidate {
    rule: usize,
    action: String,
    evidence: String,
    pages: u64,
    instances: Vec<String>,
}

fn candidates(k: &KeyReport, f: &KeyFacts, t: &Thresholds, period_days: u32) -> Vec<Candidate> {
    let mut out = Vec::new();
    let days_with_alerts = k.daily.iter().filter(|d| **d > 0).count() as u64;
    let min_days = t.recurring_min_days.min(u64::from(period_days)).max(1);
    let role = k.role.as_deref().unwrap_or("?");

    if k.seen.history
        && t.fleet_min_instances > 0
        && f.recurring_instances >= t.fleet_min_instances
        && days_with_alerts >= min_days
    {
        let of = f
            .role_instances
            .filter(|n| *n > k.instances)
            .map_or(String::new(), |n| {
                format!(" (of {n} in role {role} that alerted)")
            });
        out.push(Candidate {
            rule: 1,
            action: format!("permanent fix across role {role}: find the cause the instances share"),
            evidence: format!(
                "{} on {}{of}, recurring on {} of them, on {days_with_alerts} of {period_days} days; {} healed, {} escalated (rule: recurs on ≥ {} instances on ≥ {min_days} days)",
                plural(k.this_period, "alert", "alerts"),
                plural(k.instances, "instance", "instances"),
                f.recurring_instances,
                k.healed,
                k.escalated,
                t.fleet_min_instances
            ),
            pages: k.this_period,
            instances: k.top_instances.iter().map(|i| i.instance.clone()).collect(),
        });
    }

    if k.seen.history && t.repeat_instance_heals > 0 && !f.repeat_instances.is_empty() {
        let top = &f.repeat_instances[..f.repeat_instances.len().min(5)];
        let list: Vec<String> = top
            .iter()
            .map(|(i, n, h)| format!("{i} alerted {n}× ({h} healed)"))
            .collect();
        let when = peak_hour(k).map_or(String::new(), |p| format!("; {p}"));
        let first = &top[0].0;
        out.push(Candidate {
            rule: 2,
            action: if top.len() == 1 {
                format!("permanent fix on {first}: find why it recurs there (repair or replace it)")
            } else {
                format!(
                    "permanent fix on {} instances: find why it recurs there",
                    top.len()
                )
            },
            evidence: format!(
                "{}{when} (rule: ≥ {} alerts on one instance)",
                list.join(", "),
                t.repeat_instance_heals
            ),
            pages: f.repeat_instances.iter().map(|(_, n, _)| n).sum(),
            instances: top.iter().map(|(i, _, _)| i.clone()).collect(),
        });
    }

    if t.flapping_transitions > 0
        && k.transitions >= t.flapping_transitions
        && 3 * k.flaps >= k.this_period
    {
        let evidence = if k.seen.history {
            let recovered = k.outcomes.get("recovered").copied().unwrap_or(0);
            format!(
                "cleared with no fix in {} of {} alerts ({recovered} back to OK before selfheal acted) (rule: ≥ {} unexplained state changes, 2 per flap)",
                k.flaps,
                k.this_period,
                t.flapping_transitions
            )
        } else {
            format!(
                "flapped ALARM→OK→ALARM {} in CloudWatch (rule: ≥ {} state changes)",
                plural(k.flaps, "time", "times"),
                t.flapping_transitions
            )
        };
        out.push(Candidate {
            rule: 0,
            action: "tune the alarm (threshold, datapoints to alarm, period) or retire it"
                .to_owned(),
            evidence,
            pages: k.flaps,
            instances: Vec::new(),
        });
    }

    if !k.seen.history
        && k.seen.cloudwatch
        && t.cloudwatch_only_min_alarms > 0
        && k.this_period >= t.cloudwatch_only_min_alarms
    {
        out.push(Candidate {
            rule: 3,
            action: "route the alarm to selfheal (its SNS action) or retire it".to_owned(),
            evidence: format!(
                "went to ALARM {} in CloudWatch and never reached selfheal (rule: ≥ {} alarms)",
                plural(k.this_period, "time", "times"),
                t.cloudwatch_only_min_alarms
            ),
            pages: k.this_period,
            instances: Vec::new(),
        });
    } else {
        let unresolved = k.outcomes.get("unresolved").copied().unwrap_or(0);
        let expired = k.outcomes.get("expired").copied().unwrap_or(0);
        if t.route_min_unresolved > 0 && unresolved + expired >= t.route_min_unresolved {
            let mut parts = Vec::new();
            if unresolved > 0 {
                parts.push(format!(
                    "{unresolved} unresolved (role tag differs or SSM cannot reach the instance)"
                ));
            }
            if expired > 0 {
                parts.push(format!("{expired} approval requests expired unanswered"));
            }
            out.push(Candidate {
                rule: 3,
                action: if unresolved >= expired {
                    "route the alert to the team that owns these instances, or fix their role tag"
                        .to_owned()
                } else {
                    "route approval requests to a channel someone answers".to_owned()
                },
                evidence: format!(
                    "{} of {} alerts (rule: ≥ {} unresolved or expired)",
                    parts.join(", "),
                    k.this_period,
                    t.route_min_unresolved
                ),
                pages: unresolved + expired,
                instances: Vec::new(),
            });
        }
    }

    if k.attempts >= t.fix_runbook_min_runs && k.attempts > 0 {
        let not_healed = k.failed + k.precheck_failed;
        let rate = not_healed as f64 / k.attempts as f64;
        if rate >= t.fix_runbook_failure_rate {
            out.push(Candidate {
                rule: 4,
                action: if k.precheck_failed > k.failed {
                    "fix the runbook: its precheck refuses most alerts".to_owned()
                } else {
                    "fix the runbook: its commands do not fix the problem".to_owned()
                },
                evidence: format!(
                    "healed {} of {} attempts: {} failed or timed out, {} precheck failures (rule: ≥ {} not healed over ≥ {} attempts)",
                    k.healed,
                    k.attempts,
                    k.failed,
                    k.precheck_failed,
                    pct(t.fix_runbook_failure_rate),
                    t.fix_runbook_min_runs
                ),
                pages: not_healed,
                instances: Vec::new(),
            });
        }
    }

    if k.seen.history && t.frequent_alerts > 0 && k.no_runbook >= t.frequent_alerts {
        out.push(Candidate {
            rule: 5,
            action: format!("write a runbook for {}", k.key),
            evidence: format!(
                "fired {} with no runbook (rule: ≥ {} no-runbook alerts)",
                plural(k.no_runbook, "time", "times"),
                t.frequent_alerts
            ),
            pages: k.no_runbook,
            instances: Vec::new(),
        });
    }

    let mode = k.mode.as_deref();
    if t.promote_min_approved > 0
        && mode.is_none_or(|m| m == "approve")
        && k.approved >= t.promote_min_approved
        && k.skipped == 0
        && k.failed == 0
    {
        out.push(Candidate {
            rule: 6,
            action: "promote the runbook from approve to enforce".to_owned(),
            evidence: format!(
                "Run pressed {} times, never Skip, no failed run; {} healed (rule: ≥ {} approvals, no skip)",
                k.approved, k.healed, t.promote_min_approved
            ),
            pages: k.approved,
            instances: Vec::new(),
        });
    } else if t.promote_min_dry_runs > 0
        && mode.is_none_or(|m| m == "dry-run")
        && k.dry_run >= t.promote_min_dry_runs
        && k.precheck_failed == 0
    {
        out.push(Candidate {
            rule: 6,
            action: "promote the runbook from dry-run to enforce (or approve first)".to_owned(),
            evidence: format!(
                "ran {} times in dry-run, no precheck failure (rule: ≥ {} dry runs)",
                k.dry_run, t.promote_min_dry_runs
            ),
            pages: k.dry_run,
            instances: Vec::new(),
        });
    }

    if let Some(rate) = k.success_rate {
        if mode.is_none_or(|m| m == "enforce")
            && k.healed >= t.downgrade_min_healed
            && rate >= t.downgrade_min_success
            && k.escalated == 0
            && k.humans_involved == 0
            && k.approved + k.skipped + k.dry_run == 0
        {
            out.push(Candidate {
                rule: 7,
                action: "downgrade the alert to a warning: selfheal handles it alone".to_owned(),
                evidence: format!(
                    "healed {} of {} attempts ({}), nothing escalated, no person involved (rule: ≥ {} heals at ≥ {})",
                    k.healed,
                    k.attempts,
                    pct(rate),
                    t.downgrade_min_healed,
                    pct(t.downgrade_min_success)
                ),
                pages: k.healed,
                instances: Vec::new(),
            });
        }
    }
    out
}

/// Applies the rules to every key: sets each key's `decision` and returns the decisions, most
/// pages removed first.
pub fn decide(
    keys: &mut [KeyReport],
    facts: &HashMap<String, KeyFacts>,
    t: &Thresholds,
    period_days: u32,
) -> Vec<Decision> {
    let none = KeyFacts::default();
    let mut out: Vec<(u64, Decision)> = Vec::new();
    for k in keys.iter_mut() {
        let f = facts.get(&k.key).unwrap_or(&none);
        let mut found = candidates(k, f, t, period_days);
        found.sort_by_key(|c| c.rule);
        let mut it = found.into_iter();
        let Some(first) = it.next() else {
            k.decision = None;
            continue;
        };
        let superseded: Vec<String> = it.map(|c| RULES[c.rule].to_owned()).collect();
        k.decision = Some(RULES[first.rule].to_owned());
        out.push((
            k.this_period,
            Decision {
                decision: RULES[first.rule].to_owned(),
                key: k.key.clone(),
                action: first.action,
                evidence: first.evidence,
                owner: k.owner.clone(),
                mode: k.mode.clone(),
                runbook: k.runbook.clone(),
                pages: first.pages,
                instances: first.instances,
                superseded,
            },
        ));
    }
    out.sort_by(|(a_alerts, a), (b_alerts, b)| {
        b.pages
            .cmp(&a.pages)
            .then(b_alerts.cmp(a_alerts))
            .then_with(|| a.key.cmp(&b.key))
    });
    out.into_iter().map(|(_, d)| d).collect()
}
