//! `selfheal silence add|list|remove`: stop remediation for an instance, a role, a `ROLE:ALERT`
//! key or everything, until a time (at most 7 days ahead) or during a recurring maintenance
//! window. Silences live in the state table; the engine reads them before the kill switch.

use crate::args::{AddArgs, ListArgs, OutputFormat, SilenceAction, SilenceArgs};
use crate::context;
use selfheal_core::silence::{
    iso, parse_duration, parse_time, Period, Scope, Silence, Window, MAX_SILENCE_MS,
};
use selfheal_core::InstanceId;
use std::process::ExitCode;

pub async fn run(args: &SilenceArgs) -> ExitCode {
    match &args.action {
        SilenceAction::Add(a) => add(a).await,
        SilenceAction::List(a) => list(a).await,
        SilenceAction::Remove { id } => remove(id).await,
    }
}

/// Checks the arguments and builds the silence; every problem is reported together.
pub fn build(a: &AddArgs, now: i64, id: String) -> Result<Silence, Vec<String>> {
    let mut problems = Vec::new();
    let scope = if let Some(i) = &a.instance {
        match InstanceId::parse(i) {
            Ok(_) => Some(Scope::Instance(i.clone())),
            Err(e) => {
                problems.push(format!("--instance {i:?}: {e}"));
                None
            }
        }
    } else if let Some(r) = &a.role {
        (!r.is_empty() && !r.contains(':'))
            .then(|| Scope::Role(r.clone()))
            .or_else(|| {
                problems.push(format!("--role {r:?} is not a role name"));
                None
            })
    } else if let Some(k) = &a.key {
        Scope::parse(&format!("key:{k}"))
            .map_err(|_| problems.push(format!("--key {k:?} is not ROLE:ALERT")))
            .ok()
    } else {
        Some(Scope::All)
    };
    let period = if let Some(w) = &a.window {
        Window::parse(w, &a.tz)
            .map(Period::Recurring)
            .map_err(|e| problems.push(format!("--window: {e}")))
            .ok()
    } else {
        let until = match (&a.until, &a.duration) {
            (Some(u), _) => parse_time(u).map_err(|e| format!("--until: {e}")),
            (_, Some(d)) => parse_duration(d)
                .map(|ms| now + ms)
                .map_err(|e| format!("--for: {e}")),
            _ => Err("one of --until, --for or --window is required".to_owned()),
        };
        match until {
            Ok(t) if t <= now => {
                problems.push(format!("the end time {} is not in the future", iso(t)));
                None
            }
            Ok(t) if t - now > MAX_SILENCE_MS => {
                problems.push(format!(
                    "the end time {} is more than 7 days away (use a maintenance window for recurring work)",
                    iso(t)
                ));
                None
            }
            Ok(t) => Some(Period::Until(t)),
            Err(e) => {
                problems.push(e);
                None
            }
        }
    };
    if a.reason.trim().is_empty() {
        problems.push("--reason must say why".to_owned());
    }
    match (scope, period) {
        (Some(scope), Some(period)) if problems.is_empty() => Ok(Silence {
            id,
            scope,
            period,
            reason: a.reason.trim().to_owned(),
            created_by: context::operator(a.by.as_deref()),
            created_at_ms: now,
        }),
        _ => Err(problems),
    }
}

/// A short id: `s-` and 8 hex digits.
fn new_id(now: i64) -> String {
    let seed = format!(
        "{now}/{}/{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("s-{:08x}", h & 0xffff_ffff)
}

async fn add(a: &AddArgs) -> ExitCode {
    let now = context::now_ms();
    let silence = match build(a, now, new_id(now)) {
        Ok(s) => s,
        Err(problems) => return context::usage("silence add", &problems),
    };
    let (_, _, store) = match context::store("silence add").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = store.put_silence(&silence.to_record()).await {
        return context::failed("silence add", "cannot store the silence", &e);
    }
    println!("{}", silence.id);
    eprintln!("added {}", silence.describe());
    ExitCode::SUCCESS
}

async fn list(a: &ListArgs) -> ExitCode {
    let (_, _, store) = match context::store("silence list").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let records = match selfheal_service::ports::StateStore::silences(&store).await {
        Ok(r) => r,
        Err(e) => return context::failed("silence list", "cannot read silences", &e),
    };
    let now = context::now_ms();
    let mut rows = Vec::new();
    for r in &records {
        let Ok(s) = Silence::from_record(r) else {
            eprintln!(
                "selfheal silence list: silence {} is unreadable; remove it",
                r.id
            );
            continue;
        };
        if s.expired(now) && !a.all {
            continue;
        }
        rows.push((s.active_until(now), s, r));
    }
    rows.sort_by_key(|x| x.2.created_at_ms);
    if a.format == OutputFormat::Json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(active, _, r)| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["active"] = serde_json::json!(active.is_some());
                v["active_until_ms"] = serde_json::json!(active);
                v
            })
            .collect();
        return context::print_json(&serde_json::json!({ "silences": items }));
    }
    if rows.is_empty() {
        println!("no silences");
    }
    for (active, s, _) in rows {
        let state = match active {
            Some(t) => format!("ACTIVE until {}", iso(t)),
            None if s.expired(now) => "ended".to_owned(),
            None => "waiting for its window".to_owned(),
        };
        println!("{}  [{state}]", s.describe());
    }
    ExitCode::SUCCESS
}

async fn remove(id: &str) -> ExitCode {
    let (_, _, store) = match context::store("silence remove").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    match store.remove_silence(id).await {
        Ok(true) => {
            println!("removed silence {id}");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!("selfheal silence remove: no silence has id {id:?} (see `selfheal silence list --all`)");
            ExitCode::from(1)
        }
        Err(e) => context::failed("silence remove", "cannot remove the silence", &e),
    }
}
