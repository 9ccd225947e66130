//! What the commands share: settings read once, the engine (`serve`, `run`), the state table, the
//! clock, and output helpers. It imports no other module of the crate.

use selfheal_aws::settings::process::ProcessSettings;
use selfheal_aws::startup::{engine_from_env, Profile, Started, StartupError};
use selfheal_aws::{AwsClients, DynamoStateStore, Settings, SettingsError};
use std::process::ExitCode;

/// The `SELFHEAL_*` settings with every problem printed together; the error is exit code 1.
pub fn settings(cmd: &str) -> Result<Settings, ExitCode> {
    Settings::from_env(true).map_err(|e| invalid_settings(cmd, &e))
}

fn invalid_settings(cmd: &str, e: &SettingsError) -> ExitCode {
    eprintln!("selfheal {cmd}: invalid configuration:");
    for p in &e.problems {
        eprintln!("  - {p}");
    }
    ExitCode::from(1)
}

/// The engine for `serve` or `run` ([`engine_from_env`]); problems are printed as
/// `selfheal CMD: …` and the error is exit code 1.
pub async fn engine(cmd: &str, profile: Profile) -> Result<Started, ExitCode> {
    engine_from_env(profile).await.map_err(|e| match e {
        StartupError::Settings(e) => invalid_settings(cmd, &e),
        StartupError::Runbooks { path, problems } => {
            let path = path.map_or_else(|| "bundled".to_owned(), |p| p.display().to_string());
            eprintln!("selfheal {cmd}: the runbooks at {path} are not valid:");
            for p in problems {
                eprintln!("{p}");
            }
            ExitCode::from(1)
        }
        StartupError::Chat(e) => failed(cmd, "chat configuration", &e),
        StartupError::Engine(e) => {
            eprintln!("selfheal {cmd}: {e}");
            ExitCode::from(1)
        }
    })
}

/// The state table named by `SELFHEAL_TABLE`, and the clients.
pub async fn store(cmd: &str) -> Result<(Settings, AwsClients, DynamoStateStore), ExitCode> {
    let settings = settings(cmd)?;
    let clients = AwsClients::from_env().await;
    let table = settings.table.clone().unwrap_or_default();
    let store = DynamoStateStore::new(clients.dynamodb.clone(), table);
    Ok((settings, clients, store))
}

pub fn now_ms() -> i64 {
    selfheal_service::chat::SystemClock::now()
}

/// Who is running the command: `--by`, else `$SELFHEAL_USER`, `$USER`, `$LOGNAME`.
pub fn operator(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| ProcessSettings::from_env().user)
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Prints an AWS failure and returns exit code 1.
pub fn failed(cmd: &str, what: &str, e: &impl std::fmt::Display) -> ExitCode {
    eprintln!("selfheal {cmd}: {what}: {e}");
    ExitCode::from(1)
}

/// Prints usage problems (all of them) and returns exit code 2.
pub fn usage(cmd: &str, problems: &[String]) -> ExitCode {
    for p in problems {
        eprintln!("selfheal {cmd}: {p}");
    }
    ExitCode::from(2)
}

/// Prints a JSON value (pretty) and returns success.
pub fn print_json(v: &serde_json::Value) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => failed("output", "cannot render JSON", &e),
    }
}

/// The function budget used for validation warnings (`SELFHEAL_FUNCTION_BUDGET_SECONDS`; an
/// invalid value is the default, 840 s).
pub(crate) fn load_options() -> selfheal_core::runbook::LoadOptions {
    selfheal_core::runbook::LoadOptions {
        function_budget_seconds: ProcessSettings::from_env().function_budget_seconds,
    }
}
