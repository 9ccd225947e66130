//! `selfheal run KEY --instance ID [--dry-run]`: a human starts a runbook on purpose. The request
//! becomes a generic alert and goes through the same engine as every alert, so every guard
//! applies (tag check, silences, kill switch, claim, budget, capacity) and it is announced and
//! recorded like any other.
//!
//! Exit codes: 0 healed (or dry-run); 1 anything else (the outcome says why); 2 usage errors.

use crate::args::RunArgs;
use selfheal_aws::startup::Profile;
use selfheal_core::InstanceId;
use selfheal_service::{InboundRecord, Outcome};
use std::process::ExitCode;

pub async fn run(args: &RunArgs) -> ExitCode {
    let mut problems = Vec::new();
    let split = args
        .key
        .split_once(':')
        .filter(|(r, a)| !r.is_empty() && !a.is_empty() && !a.contains(':'));
    if split.is_none() {
        problems.push(format!("{:?} is not a ROLE:ALERT key", args.key));
    }
    if let Err(e) = InstanceId::parse(&args.instance) {
        problems.push(format!("--instance {:?}: {e}", args.instance));
    }
    let Some((role, alert)) = split.filter(|_| problems.is_empty()) else {
        return crate::context::usage("run", &problems);
    };
    let engine = match crate::context::engine(
        "run",
        Profile::Run {
            dry_run: args.dry_run,
        },
    )
    .await
    {
        Ok(started) => started.engine,
        Err(code) => return code,
    };
    if engine.runbooks().lookup(role, alert).is_none() {
        eprintln!(
            "selfheal run: no runbook matches {} (checked {role}:{alert}, {role}:*, *:{alert}); see `selfheal validate`",
            args.key
        );
        return ExitCode::from(1);
    }
    let now = crate::context::now_ms();
    let who = crate::context::operator(None);
    let id = format!("manual-{now}-{}", std::process::id());
    let body = serde_json::json!({
        "id": id,
        "role": role,
        "alert": alert,
        "instance_id": args.instance,
        "state": "ALARM",
        "summary": format!("started by hand by {who} with `selfheal run`"),
    })
    .to_string();
    let record = InboundRecord {
        message_id: id.clone(),
        body,
        receive_count: 1,
    };
    // No Lambda time limit here: poll until every phase ends (each phase is bounded by the
    // runbook's timeout_seconds, enforced by SSM).
    let deadline = now + 3 * 3600 * 1000;
    let results = engine.process_batch(vec![record], deadline).await;
    let outcome = results.first().map_or(Outcome::Retry, |r| r.outcome);
    println!("{} on {}: {outcome}", args.key, args.instance);
    let hint = match outcome {
        Outcome::Healed | Outcome::DryRun => return ExitCode::SUCCESS,
        Outcome::Unresolved => {
            "the instance is unknown, has no matching role tag, or SSM cannot reach it"
        }
        Outcome::Silenced => {
            "a silence or maintenance window applies (see `selfheal silence list`)"
        }
        Outcome::Killed => "the global mode is off (kill switch)",
        Outcome::BudgetExhausted => "the attempt budget ran out (see `selfheal needs-review list`)",
        Outcome::CapacityWait => "the role or the fleet is at capacity; try again later",
        Outcome::Retry => "a transient AWS failure; nothing ran, try again",
        Outcome::Disabled => "the runbook's mode is off",
        _ => "see `selfheal status` and the history for details",
    };
    eprintln!("selfheal run: {hint}");
    ExitCode::from(1)
}
