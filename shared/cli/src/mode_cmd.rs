//! `selfheal mode get [--format text|json]` and `selfheal mode set enforce|dry-run|off --reason
//! TEXT [--by NAME]`: the global mode the engine reads before every phase (the kill switch).
//!
//! A change is written to the parameter (`SELFHEAL_MODE_PARAM`, a String, its description
//! naming who, when and why) and recorded in the state table (`pk = mode`, `sk =
//! change#<epoch ms>`, kept 90 days) so `mode get` and an audit can show who turned it and why.
//! The engine reads only the parameter: a change takes effect at the next phase (at most 2 s).

use crate::args::{ModeAction, ModeArgs, OutputFormat};
use crate::context;
use aws_sdk_dynamodb::types::AttributeValue;
use selfheal_core::silence::iso;
use selfheal_service::ports::GlobalMode;
use serde_json::{json, Value};
use std::process::ExitCode;

/// Changes kept in the table this long.
const KEEP_DAYS: i64 = 90;
/// Changes `mode get` lists.
const SHOWN: i32 = 5;

pub async fn run(args: &ModeArgs) -> ExitCode {
    let (settings, clients, _store) = match context::store("mode").await {
        Ok(x) => x,
        Err(code) => return code,
    };
    match &args.action {
        ModeAction::Get { format } => get(&settings, &clients, *format).await,
        ModeAction::Set { mode, reason, by } => {
            set(&settings, &clients, mode, reason, by.as_deref()).await
        }
    }
}

/// The mode as the engine would read it now (an unreadable or unset parameter is `dry-run`).
pub(crate) async fn current(
    settings: &selfheal_aws::Settings,
    clients: &selfheal_aws::AwsClients,
) -> Value {
    let Some(name) = &settings.mode_param else {
        return json!({"mode": null, "parameter": null, "note": "SELFHEAL_MODE_PARAM is not set (the Lambda then runs dry-run)"});
    };
    match clients.ssm.get_parameter().name(name).send().await {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            match GlobalMode::parse(value) {
                Some(m) => json!({"mode": m.as_str(), "parameter": name}),
                None => {
                    json!({"mode": "dry-run", "parameter": name, "note": format!("unreadable value {value:?}: selfheal runs dry-run")})
                }
            }
        }
        Err(e) => {
            json!({"mode": "dry-run", "parameter": name, "note": format!("cannot read the parameter ({}): selfheal runs dry-run", selfheal_aws::error::port_error("ssm:GetParameter", &e))})
        }
    }
}

async fn get(
    settings: &selfheal_aws::Settings,
    clients: &selfheal_aws::AwsClients,
    format: OutputFormat,
) -> ExitCode {
    let mut now = current(settings, clients).await;
    let changes = match changes(settings, clients).await {
        Ok(c) => c,
        Err(e) => return context::failed("mode get", "cannot read the recorded changes", &e),
    };
    if format == OutputFormat::Json {
        now["changes"] = Value::Array(changes);
        return context::print_json(&now);
    }
    println!(
        "mode: {}{}",
        now["mode"].as_str().unwrap_or("(not set)"),
        now["note"]
            .as_str()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    );
    for c in &changes {
        println!(
            "  {}  {} → {}  by {}: {}",
            c["at"].as_str().unwrap_or("?"),
            c["previous"].as_str().unwrap_or("?"),
            c["mode"].as_str().unwrap_or("?"),
            c["by"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or("")
        );
    }
    ExitCode::SUCCESS
}

async fn set(
    settings: &selfheal_aws::Settings,
    clients: &selfheal_aws::AwsClients,
    mode: &str,
    reason: &str,
    by: Option<&str>,
) -> ExitCode {
    let Some(name) = &settings.mode_param else {
        eprintln!("selfheal mode set: SELFHEAL_MODE_PARAM is not set: no parameter to write");
        return ExitCode::from(1);
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return context::usage("mode set", &["--reason must say why".to_owned()]);
    }
    let by = context::operator(by);
    let now = context::now_ms();
    let previous = current(settings, clients).await["mode"]
        .as_str()
        .unwrap_or("unset")
        .to_owned();
    let description: String = format!("selfheal mode {mode}, set {} by {by}: {reason}", iso(now))
        .chars()
        .take(1024)
        .collect();
    let put = clients
        .ssm
        .put_parameter()
        .name(name)
        .value(mode)
        .description(description)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await;
    if let Err(e) = put {
        return context::failed(
            "mode set",
            "cannot write the mode parameter",
            &selfheal_aws::error::port_error("ssm:PutParameter", &e),
        );
    }
    let table = settings.table.clone().unwrap_or_default();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let recorded = clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item("pk", s("mode"))
        .item("sk", s(&format!("change#{now:013}")))
        .item("mode", s(mode))
        .item("previous", s(&previous))
        .item("reason", s(reason))
        .item("by", s(&by))
        .item("at_ms", AttributeValue::N(now.to_string()))
        .item(
            "expires_at",
            AttributeValue::N((now / 1000 + KEEP_DAYS * 86_400).to_string()),
        )
        .send()
        .await;
    println!("mode: {previous} → {mode} (by {by}: {reason})");
    if let Err(e) = recorded {
        // The mode is set (that is what matters at 3 a.m.); only its record is missing.
        eprintln!(
            "selfheal mode set: the mode is {mode}, but recording the change failed: {}",
            selfheal_aws::error::port_error("dynamodb:PutItem", &e)
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The latest recorded changes, newest first.
async fn changes(
    settings: &selfheal_aws::Settings,
    clients: &selfheal_aws::AwsClients,
) -> Result<Vec<Value>, String> {
    let table = settings.table.clone().unwrap_or_default();
    let out = clients
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :change)")
        .expression_attribute_values(":pk", AttributeValue::S("mode".into()))
        .expression_attribute_values(":change", AttributeValue::S("change#".into()))
        .scan_index_forward(false)
        .limit(SHOWN)
        .send()
        .await
        .map_err(|e| selfheal_aws::error::port_error("dynamodb:Query", &e).to_string())?;
    let text = |it: &std::collections::HashMap<String, AttributeValue>, k: &str| match it.get(k) {
        Some(AttributeValue::S(v)) => Value::String(v.clone()),
        _ => Value::Null,
    };
    Ok(out
        .items()
        .iter()
        .map(|it| {
            let at = match it.get("at_ms") {
                Some(AttributeValue::N(n)) => n.parse::<i64>().ok().map(iso),
                _ => None,
            };
            json!({
                "at": at,
                "mode": text(it, "mode"),
                "previous": text(it, "previous"),
                "by": text(it, "by"),
                "reason": text(it, "reason"),
            })
        })
        .collect())
}
