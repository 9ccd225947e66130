//! Recommendation rules. Each produces a [`Recommendation`] naming its rule id; thresholds come
//! from [`Thresholds`].
//!
//! | rule | when (this period) | action |
//! |---|---|---|
//! | `write-runbook` | `no-runbook` alerts ≥ `frequent_alerts` | write a runbook |
//! | `fix-runbook` | runs ≥ `fix_runbook_min_runs` and failure rate ≥ `fix_runbook_failure_rate` | fix the runbook |
//! | `permanent-fix` | one instance healed ≥ `repeat_instance_heals` times | needs a permanent fix |
//! | `downgrade-to-warning` | healed ≥ `downgrade_min_healed` and success ≥ `downgrade_min_success` | downgrade the alert to a warning |
//! | `fix-threshold` | ALARM↔OK transitions ≥ `flapping_transitions` | fix the alarm threshold |
//! | `route-or-delete` | only in CloudWatch alarm history, ALARM ≥ `cloudwatch_only_min_alarms` | route it to selfheal or delete it |
//!
//! Recommendations are ordered by rule (the order above: missing or broken automation first),
//! then by the key's rank in the report.

use std::collections::HashMap;

use super::model::{KeyReport, Recommendation, Thresholds};

/// Rule ids, in presentation order.
pub const RULES: [&str; 6] = [
    "write-runbook",
    "fix-runbook",
    "permanent-fix",
    "downgrade-to-warning",
    "fix-threshold",
    "route-or-delete",
];

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn rec(
    rule: &str,
    key: &str,
    action: &str,
    text: String,
    instances: Vec<String>,
) -> Recommendation {
    Recommendation {
        rule: rule.to_owned(),
        key: key.to_owned(),
        action: action.to_owned(),
        text,
        instances,
    }
}

/// Applies every rule to every key; records the rule ids on each key and returns the list.
pub fn recommend(
    keys: &mut [KeyReport],
    healed_instances: &HashMap<String, Vec<(String, u64)>>,
    t: &Thresholds,
) -> Vec<Recommendation> {
    let mut out: Vec<(usize, usize, Recommendation)> = Vec::new();
    for (rank, k) in keys.iter_mut().enumerate() {
        let mut mine: Vec<(usize, Recommendation)> = Vec::new();
        if k.seen.history && k.no_runbook >= t.frequent_alerts && t.frequent_alerts > 0 {
            mine.push((
                0,
                rec(
                    "write-runbook",
                    &k.key,
                    "write a runbook",
                    format!(
                        "fired {} times this period with no runbook (rule write-runbook: ≥ {} no-runbook alerts) — write a runbook",
                        k.no_runbook, t.frequent_alerts
                    ),
                    Vec::new(),
                ),
            ));
        }
        if k.runs >= t.fix_runbook_min_runs && k.runs > 0 {
            let failure = k.failed as f64 / k.runs as f64;
            if failure >= t.fix_runbook_failure_rate {
                mine.push((
                    1,
                    rec(
                        "fix-runbook",
                        &k.key,
                        "fix the runbook",
                        format!(
                            "the runbook failed {} of {} runs ({}) (rule fix-runbook: failure rate ≥ {} over ≥ {} runs) — fix the runbook",
                            k.failed,
                            k.runs,
                            pct(failure),
                            pct(t.fix_runbook_failure_rate),
                            t.fix_runbook_min_runs
                        ),
                        Vec::new(),
                    ),
                ));
            }
        }
        if let Some(list) = healed_instances.get(&k.key) {
            let repeat: Vec<&(String, u64)> = list
                .iter()
                .filter(|(_, n)| *n >= t.repeat_instance_heals && t.repeat_instance_heals > 0)
                .collect();
            if !repeat.is_empty() {
                let names: Vec<String> = repeat.iter().map(|(i, _)| i.clone()).collect();
                let detail: Vec<String> = repeat.iter().map(|(i, n)| format!("{i} ×{n}")).collect();
                mine.push((
                    2,
                    rec(
                        "permanent-fix",
                        &k.key,
                        "needs a permanent fix",
                        format!(
                            "healed repeatedly on the same instance: {} (rule permanent-fix: ≥ {} heals on one instance) — it needs a permanent fix",
                            detail.join(", "),
                            t.repeat_instance_heals
                        ),
                        names,
                    ),
                ));
            }
        }
        if let Some(rate) = k.success_rate {
            if k.healed >= t.downgrade_min_healed && rate >= t.downgrade_min_success {
                mine.push((
                    3,
                    rec(
                        "downgrade-to-warning",
                        &k.key,
                        "downgrade the alert to a warning",
                        format!(
                            "healed {} times with {} success (rule downgrade-to-warning: ≥ {} heals at ≥ {}) — the page is noise: downgrade the alert to a warning",
                            k.healed,
                            pct(rate),
                            t.downgrade_min_healed,
                            pct(t.downgrade_min_success)
                        ),
                        Vec::new(),
                    ),
                ));
            }
        }
        if k.transitions >= t.flapping_transitions && t.flapping_transitions > 0 {
            mine.push((
                4,
                rec(
                    "fix-threshold",
                    &k.key,
                    "fix the alarm threshold",
                    format!(
                        "flapped between ALARM and OK {} times (rule fix-threshold: ≥ {} transitions) — fix the threshold or add datapoints-to-alarm",
                        k.transitions, t.flapping_transitions
                    ),
                    Vec::new(),
                ),
            ));
        }
        if !k.seen.history && k.seen.cloudwatch && k.this_period >= t.cloudwatch_only_min_alarms {
            mine.push((
                5,
                rec(
                    "route-or-delete",
                    &k.key,
                    "route it to selfheal or delete it",
                    format!(
                        "went to ALARM {} times in CloudWatch but never reached selfheal (rule route-or-delete: ≥ {} alarms) — route it to selfheal or delete it",
                        k.this_period, t.cloudwatch_only_min_alarms
                    ),
                    Vec::new(),
                ),
            ));
        }
        if t.promote_min_approved > 0 && k.approved >= t.promote_min_approved && k.skipped == 0 {
            mine.push((
                6,
                rec(
                    "promote-to-enforce",
                    &k.key,
                    "consider mode enforce",
                    format!(
                        "approved {n} of {n} requests this period, none skipped (rule promote-to-enforce: ≥ {} approvals and no skips) — consider mode enforce for its runbook",
                        t.promote_min_approved,
                        n = k.approved
                    ),
                    Vec::new(),
                ),
            ));
        }
        k.recommendations = mine.iter().map(|(_, r)| r.rule.clone()).collect();
        out.extend(mine.into_iter().map(|(order, r)| (order, rank, r)));
    }
    out.sort_by_key(|(order, rank, _)| (*order, *rank));
    out.into_iter().map(|(_, _, r)| r).collect()
}
