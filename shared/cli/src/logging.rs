//! Logging for the long-running commands: to stderr, `RUST_LOG` filter (default `info`), JSON when
//! `SELFHEAL_LOG_FORMAT=json` (read by `selfheal_aws::settings::process`; an invalid value is
//! reported with the engine's settings). Secrets are never logged by the adapters.

use selfheal_aws::settings::process::{LogFormat, ProcessSettings};

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = ProcessSettings::from_env().log_format == LogFormat::Json;
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("selfheal: logging already initialised: {e}");
    }
}
