//! `selfheal status [--format text|json]`: the global mode, active silences, role leases held,
//! what needs review, and the last 10 outcomes — what the on-call engineer checks first.

use crate::args::{OutputFormat, StatusArgs};
use crate::context;
use selfheal_core::silence::{iso, Silence};
use selfheal_service::ports::StateStore;
use serde_json::{json, Value};
use std::process::ExitCode;

pub async fn run(args: &StatusArgs) -> ExitCode {
    let (settings, clients, store) = match context::store("status").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let now = context::now_ms();
    let mode = crate::mode_cmd::current(&settings, &clients).await;
    let silences = match store.silences().await {
        Ok(s) => s,
        Err(e) => return context::failed("status", "cannot read silences", &e),
    };
    let active: Vec<Value> = silences
        .iter()
        .filter_map(|r| {
            let s = Silence::from_record(r).ok()?;
            let until = s.active_until(now);
            (!s.expired(now))
                .then(|| json!({"id": s.id, "describe": s.describe(), "active_until_ms": until}))
        })
        .collect();
    let leases = match store.list_items("lease#").await {
        Ok(items) => items
            .iter()
            .filter_map(|i| {
                let role = i.get("pk")?.as_str()?.strip_prefix("lease#")?.to_owned();
                let held = i.get("holders").and_then(Value::as_object).map_or(0, |h| {
                    h.values()
                        .filter(|u| u.as_i64().is_some_and(|u| u > now))
                        .count()
                });
                (held > 0).then(|| json!({"role": role, "held": held}))
            })
            .collect::<Vec<_>>(),
        Err(e) => return context::failed("status", "cannot read leases", &e),
    };
    let review = match store.needs_review().await {
        Ok(r) => r,
        Err(e) => return context::failed("status", "cannot read the review list", &e),
    };
    // Today and yesterday (UTC), newest first.
    let mut recent = match crate::history_cmd::read_days("status", &store, now, 1).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    recent.truncate(10);
    let recent_json: Vec<Value> = recent
        .iter()
        .map(|h| json!({"finished_at_ms": h.finished_at_ms, "key": h.key, "instance": h.instance, "outcome": h.outcome, "reason": h.reason}))
        .collect();
    if args.format == OutputFormat::Json {
        return context::print_json(&json!({
            "mode": mode,
            "silences": active,
            "leases": leases,
            "needs_review": review,
            "recent": recent_json,
        }));
    }
    println!(
        "mode: {}{}",
        mode["mode"].as_str().unwrap_or("not configured"),
        mode["note"]
            .as_str()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    println!("silences: {}", active.len());
    for s in &active {
        let state = s["active_until_ms"]
            .as_i64()
            .map_or("waiting".to_owned(), |t| format!("ACTIVE until {}", iso(t)));
        println!("  {} [{state}]", s["describe"].as_str().unwrap_or_default());
    }
    println!("role leases held: {}", leases.len());
    for l in &leases {
        println!(
            "  {}: {}",
            l["role"].as_str().unwrap_or_default(),
            l["held"]
        );
    }
    println!("needs review: {}", review.len());
    for r in &review {
        println!("  {} on {} since {}", r.key, r.instance, iso(r.since_ms));
    }
    println!("last {} outcomes:", recent.len());
    for h in &recent {
        println!(
            "  {}  {:<17} {} on {}: {}",
            iso(h.finished_at_ms),
            h.outcome,
            h.key.as_deref().unwrap_or("?"),
            h.instance.as_deref().unwrap_or("-"),
            h.reason
        );
    }
    ExitCode::SUCCESS
}
