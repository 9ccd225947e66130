//! `selfheal needs-review list|clear KEY --instance ID`: alerts whose attempt budget ran out wait
//! for a human; `clear` resets the budget after someone looked, so automation may try again.

use crate::args::{OutputFormat, ReviewAction, ReviewArgs};
use crate::context;
use selfheal_core::silence::iso;
use selfheal_core::InstanceId;
use selfheal_service::ports::StateStore;
use std::process::ExitCode;

pub async fn run(args: &ReviewArgs) -> ExitCode {
    match &args.action {
        ReviewAction::List { format } => list(*format).await,
        ReviewAction::Clear { key, instance } => clear(key, instance).await,
    }
}

async fn list(format: OutputFormat) -> ExitCode {
    let (_, _, store) = match context::store("needs-review list").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut items = match store.needs_review().await {
        Ok(i) => i,
        Err(e) => return context::failed("needs-review list", "cannot read the table", &e),
    };
    items.sort_by_key(|i| i.since_ms);
    if format == OutputFormat::Json {
        return context::print_json(&serde_json::json!({ "needs_review": items }));
    }
    if items.is_empty() {
        println!("nothing needs review");
    }
    for i in items {
        println!(
            "{} on {} since {}: {}",
            i.key,
            i.instance,
            iso(i.since_ms),
            i.reason
        );
    }
    ExitCode::SUCCESS
}

async fn clear(key: &str, instance: &str) -> ExitCode {
    let mut problems = Vec::new();
    if !key
        .split_once(':')
        .is_some_and(|(r, a)| !r.is_empty() && !a.is_empty())
    {
        problems.push(format!("{key:?} is not a ROLE:ALERT key"));
    }
    if let Err(e) = InstanceId::parse(instance) {
        problems.push(format!("--instance {instance:?}: {e}"));
    }
    if !problems.is_empty() {
        return context::usage("needs-review clear", &problems);
    }
    let (_, _, store) = match context::store("needs-review clear").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Every budget the reviewed alert counts against (its key's and, for a wildcard entry, the
    // entry's), read before the item goes.
    let mut budgets = vec![format!("{key}#{instance}")];
    match store.needs_review().await {
        Ok(items) => {
            for item in items
                .iter()
                .filter(|i| i.key == key && i.instance == instance)
            {
                for b in std::iter::once(&item.budget_key).chain(&item.budget_keys) {
                    if !budgets.contains(b) {
                        budgets.push(b.clone());
                    }
                }
            }
        }
        Err(e) => return context::failed("needs-review clear", "cannot read the table", &e),
    }
    match store.clear_review(key, instance).await {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("selfheal needs-review clear: {key} on {instance} is not waiting for review (see `selfheal needs-review list`)");
            return ExitCode::from(1);
        }
        Err(e) => return context::failed("needs-review clear", "cannot update the table", &e),
    }
    for budget in &budgets {
        if let Err(e) = store.clear_attempts(budget).await {
            return context::failed("needs-review clear", "cannot reset the attempt budget", &e);
        }
    }
    println!("cleared {key} on {instance}: its attempt budget starts again");
    ExitCode::SUCCESS
}
