//! `selfheal history [--key K] [--instance I] [--outcome O] [--since 7d] [--format text|json]`
//! and `selfheal show CLAIM_ID [--since 30d] [--format text|json]`: the history table read back
//! for a person — which remediations ended how, and everything recorded about one of them (the
//! final record with its command ids and output tail, and any duplicate or recovery notice
//! written beside it).

use crate::args::{HistoryArgs, OutputFormat, ShowArgs};
use crate::context;
use selfheal_aws::DynamoStateStore;
use selfheal_core::history::HistoryRecord;
use selfheal_core::report::window::parse_since;
use selfheal_core::silence::iso;
use serde_json::{json, Value};
use std::process::ExitCode;

const DAY_MS: i64 = 86_400_000;

/// Every history item of the last `days` days (today included), newest first.
pub(crate) async fn read_days(
    cmd: &str,
    store: &DynamoStateStore,
    now: i64,
    days: u32,
) -> Result<Vec<HistoryRecord>, ExitCode> {
    let mut all = Vec::new();
    for back in 0..=i64::from(days) {
        let day = selfheal_service::day_string(now - back * DAY_MS);
        match store.query_history_day(&day).await {
            Ok(mut r) => all.append(&mut r),
            Err(e) => return Err(context::failed(cmd, "cannot read history", &e)),
        }
    }
    all.sort_by_key(|h| std::cmp::Reverse(h.finished_at_ms));
    Ok(all)
}

fn days_of(cmd: &str, since: &str) -> Result<u32, ExitCode> {
    parse_since(since).map_err(|e| context::usage(cmd, &[format!("--since: {e}")]))
}

/// The claim id of a record: its sort key up to any `#dup#…` / `#ok` suffix.
fn claim_of(h: &HistoryRecord) -> &str {
    h.sort.split('#').next().unwrap_or(&h.sort)
}

pub async fn history(args: &HistoryArgs) -> ExitCode {
    let days = match days_of("history", &args.since) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let (_, _, store) = match context::store("history").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let all = match read_days("history", &store, context::now_ms(), days).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let wanted = |h: &&HistoryRecord| {
        args.key.as_ref().is_none_or(|k| h.key.as_ref() == Some(k))
            && args
                .instance
                .as_ref()
                .is_none_or(|i| h.instance.as_ref() == Some(i))
            && args.outcome.as_ref().is_none_or(|o| &h.outcome == o)
    };
    let rows: Vec<&HistoryRecord> = all.iter().filter(wanted).collect();
    if args.format == OutputFormat::Json {
        let items: Vec<Value> = rows
            .iter()
            .map(|h| {
                let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
                v["claim_id"] = json!(claim_of(h));
                v
            })
            .collect();
        return context::print_json(&json!({"records": items}));
    }
    if rows.is_empty() {
        println!("no records in the last {days} day(s) match");
    }
    for h in rows {
        println!(
            "{}  {:<16} {:<28} {:<20} {}  {}",
            iso(h.finished_at_ms),
            h.outcome,
            h.key.as_deref().unwrap_or("-"),
            h.instance.as_deref().unwrap_or("-"),
            claim_of(h),
            h.reason
        );
    }
    ExitCode::SUCCESS
}

pub async fn show(args: &ShowArgs) -> ExitCode {
    let days = match days_of("show", &args.since) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let wanted = args.claim_id.trim();
    if wanted.is_empty() || wanted.contains('#') {
        return context::usage("show", &[format!("{wanted:?} is not a claim id")]);
    }
    let (_, clients, store) = match context::store("show").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let all = match read_days("show", &store, context::now_ms(), days).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let mut mine: Vec<&HistoryRecord> = all.iter().filter(|h| claim_of(h) == wanted).collect();
    if mine.is_empty() {
        eprintln!("selfheal show: no history for claim {wanted} in the last {days} day(s)");
        return ExitCode::from(1);
    }
    mine.sort_by_key(|h| h.finished_at_ms);
    let region = clients.region().unwrap_or_default();
    let link = |id: &str| {
        selfheal_aws::slack::blocks::links::region_code(&region)
            .map(|r| selfheal_aws::slack::blocks::links::command_url(&r, id))
    };
    if args.format == OutputFormat::Json {
        let items: Vec<Value> = mine
            .iter()
            .map(|h| {
                let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
                v["command_links"] =
                    json!(h.command_ids.iter().map(|id| link(id)).collect::<Vec<_>>());
                v
            })
            .collect();
        return context::print_json(&json!({"claim_id": wanted, "records": items}));
    }
    for h in mine {
        println!("{}  {}  ({})", iso(h.finished_at_ms), h.outcome, h.sort);
        let field = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                println!("  {name:<14} {v}");
            }
        };
        field("key", h.key.clone());
        field("runbook", h.runbook.clone());
        field("instance", h.instance.clone());
        field("received", Some(iso(h.received_at_ms)));
        field("attempt", Some(h.attempt.to_string()));
        field("reason", Some(h.reason.clone()));
        field("failed phase", h.failed_phase.clone());
        field("exit code", h.exit_code.map(|c| c.to_string()));
        field("approver", h.approver.clone());
        field("waited", h.waited_ms.map(|w| format!("{} s", w / 1000)));
        for id in &h.command_ids {
            field(
                "command",
                Some(match link(id) {
                    Some(url) => format!("{id}  {url}"),
                    None => id.clone(),
                }),
            );
        }
        if let Some(tail) = h.output_tail.as_deref().filter(|t| !t.is_empty()) {
            println!("  output tail:");
            for line in tail.lines() {
                println!("    {line}");
            }
        }
    }
    ExitCode::SUCCESS
}
