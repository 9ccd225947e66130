//! The one start-up path: settings read, runbooks loaded, clients built once and every port
//! wired into an [`Engine`], for each process that runs the engine ([`Profile`]: the
//! alert-remediator Lambda, `selfheal serve`, `selfheal run`). Everything that differs between
//! them is one `match` in [`engine_from_env`]; the rest is shared, so the Lambda and the local
//! commands run the same engine.
//!
//! Below it, [`build_engine`] wires the ports from settings and clients (also reachable as
//! `selfheal_aws::wiring::build_engine`), and [`warm_connections`] opens the connections the
//! first alert will need.

use crate::settings::process::{MetricsChoice, ProcessSettings};
use crate::{
    AwsClients, ChatbotSink, CloudWatchAlarms, DynamoStateStore, ParameterMode, Settings,
    SettingsError, SnsEscalator, SsmExecutor, TaggingRoles,
};
use selfheal_core::runbook::LoadOptions;
use selfheal_core::RunbookMap;
use selfheal_service::chat::{LogChat, MultiChat, SystemClock};
use selfheal_service::ports::{Chat, Escalator, GlobalMode, ModeSource};
use selfheal_service::{Engine, EngineSettings, Ports};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Runbooks compiled into a binary (`bundled_runbooks` of a Lambda crate).
pub type BundledRunbooks = fn(&LoadOptions) -> Result<RunbookMap, String>;

/// Which process is starting.
#[derive(Debug, Clone)]
pub enum Profile {
    /// The alert-remediator Lambda; `bundled` are its runbooks when `SELFHEAL_RUNBOOKS` is unset.
    Lambda { bundled: BundledRunbooks },
    /// `selfheal serve --queue-url URL`.
    Serve { queue_url: String },
    /// `selfheal run KEY --instance ID [--dry-run]`.
    Run { dry_run: bool },
}

/// Where the runbooks come from when `SELFHEAL_RUNBOOKS` is unset.
#[derive(Debug, Clone)]
pub enum DefaultRunbooks {
    /// Compiled into the binary (the Lambdas).
    Bundled(BundledRunbooks),
    /// A file or directory, relative to the working directory (the command line: `runbooks/`).
    Path(PathBuf),
}

/// Why the engine could not be built. `Display` gives one message (the Lambda's init error); the
/// command line prints the parts itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupError {
    /// The `SELFHEAL_*` settings are invalid.
    Settings(SettingsError),
    /// The runbooks are not valid: one problem per line. `path` is `None` for bundled runbooks.
    Runbooks {
        path: Option<PathBuf>,
        problems: Vec<String>,
    },
    /// A configured chat secret could not be read.
    Chat(String),
    /// The ports could not be wired (no state table).
    Engine(String),
}

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Settings(e) => write!(f, "{e}"),
            Self::Runbooks { problems, .. } => f.write_str(&problems.join("\n")),
            Self::Chat(e) | Self::Engine(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for StartupError {}

/// What a started process holds: the settings and clients (built once) and the engine.
pub struct Started {
    pub settings: Settings,
    pub clients: AwsClients,
    pub engine: Engine,
}

/// What differs between the profiles, spelled out once.
struct ProfileDifferences {
    /// Runbooks when `SELFHEAL_RUNBOOKS` is unset.
    default_runbooks: DefaultRunbooks,
    /// Mode default, account, claim owner, at-most-dry-run (chat is filled in later).
    wiring: WiringOptions,
    /// The `SELFHEAL_METRICS` default (`None`: no metrics sink, whatever the variable says).
    metrics_default: Option<MetricsChoice>,
    /// Open the DynamoDB, tagging and CloudWatch connections in the background at start.
    warm_connections: bool,
    /// Read the kill switch (and warm the engine) before the first record.
    warm_up: bool,
}

fn differences(profile: Profile, process: &ProcessSettings) -> ProfileDifferences {
    let chat = Vec::new();
    let process = process.clone();
    match profile {
        Profile::Lambda { bundled } => ProfileDifferences {
            default_runbooks: DefaultRunbooks::Bundled(bundled),
            wiring: WiringOptions {
                unconfigured_mode: GlobalMode::DryRun,
                account_id: None,
                owner: format!(
                    "lambda/{}",
                    std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "local".into())
                ),
                chat,
                force_dry_run: false,
                process,
            },
            metrics_default: Some(MetricsChoice::Stdout),
            warm_connections: true,
            warm_up: true,
        },
        Profile::Serve { queue_url } => ProfileDifferences {
            default_runbooks: DefaultRunbooks::Path(PathBuf::from("runbooks/")),
            wiring: WiringOptions {
                unconfigured_mode: GlobalMode::Enforce,
                account_id: crate::account_from_queue_url(&queue_url),
                owner: format!("serve/{}", std::process::id()),
                chat,
                force_dry_run: false,
                process,
            },
            metrics_default: Some(MetricsChoice::Off),
            warm_connections: false,
            warm_up: true,
        },
        Profile::Run { dry_run } => ProfileDifferences {
            default_runbooks: DefaultRunbooks::Path(PathBuf::from("runbooks/")),
            wiring: WiringOptions {
                unconfigured_mode: GlobalMode::Enforce,
                account_id: None,
                owner: format!("run/{}", std::process::id()),
                chat,
                force_dry_run: dry_run,
                process,
            },
            metrics_default: None,
            warm_connections: false,
            warm_up: false,
        },
    }
}

/// Builds the engine for `profile` from the environment: settings (`SELFHEAL_TABLE` required),
/// runbooks (`SELFHEAL_RUNBOOKS`, else the profile's default, checked against the function
/// budget), clients once, chat sinks, every port, the metrics sink, and the warm-up the profile
/// asks for.
///
/// | | Lambda | serve | run |
/// |---|---|---|---|
/// | runbooks default | bundled | `runbooks/` | `runbooks/` |
/// | mode when `SELFHEAL_MODE_PARAM` is unset | dry-run | enforce | enforce |
/// | account (tagging ARNs) | `SELFHEAL_ACCOUNT_ID` | queue URL, else `SELFHEAL_ACCOUNT_ID` | `SELFHEAL_ACCOUNT_ID` |
/// | claim owner | `lambda/<log stream>` | `serve/<pid>` | `run/<pid>` |
/// | at most dry-run | no | no | `--dry-run` |
/// | `SELFHEAL_METRICS` default | `stdout` | `off` | none (no sink) |
/// | warm connections in the background | yes | no | no |
/// | engine warm-up (kill switch) | yes | yes | no |
pub async fn engine_from_env(profile: Profile) -> Result<Started, StartupError> {
    let (settings, process) =
        settings_from_lookup(crate::settings::env).map_err(StartupError::Settings)?;
    let options = LoadOptions {
        function_budget_seconds: u64::from(settings.function_budget_seconds),
    };
    // The chat sinks need the clients, which come after the runbooks: the profile's wiring is
    // completed once they exist.
    let mut d = differences(profile, &process);
    let runbooks = load_runbooks(settings.runbooks.as_deref(), &d.default_runbooks, &options)?;
    let clients = AwsClients::from_env().await;
    d.wiring.chat = crate::slack::chat_sinks(&settings, &clients)
        .await
        .map_err(StartupError::Chat)?;
    let mut engine = build_engine(&settings, &clients, Arc::new(runbooks), d.wiring)
        .map_err(StartupError::Engine)?;
    if let Some(default) = d.metrics_default {
        engine = engine.with_metrics(selfheal_service::metrics::sink(process.metrics_or(default)));
    }
    if d.warm_connections {
        // The kill switch is read before the first alert; the other services' connections open
        // in the background, so start-up is not held up by them and the first alert rarely
        // waits for one.
        let (warm_settings, warm_clients) = (settings.clone(), clients.clone());
        let account = process.account_id.clone();
        tokio::spawn(async move {
            warm_connections(&warm_settings, &warm_clients, account.as_deref()).await;
        });
    }
    if d.warm_up {
        engine.warm_up().await;
    }
    Ok(Started {
        settings,
        clients,
        engine,
    })
}

/// The engine's settings and the process's ([`ProcessSettings`]) through `lookup`, with the
/// problems of both in one [`SettingsError`] (`SELFHEAL_TABLE` required).
pub fn settings_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(Settings, ProcessSettings), SettingsError> {
    let (process, process_problems) = ProcessSettings::from_lookup(&lookup);
    let mut problems = crate::settings::Problems::default();
    let settings = Settings::from_lookup(true, &lookup)
        .map_err(|e| problems.extend(e.problems))
        .ok();
    problems.extend(process_problems);
    match settings {
        Some(settings) if problems.is_empty() => Ok((settings, process)),
        _ => Err(SettingsError {
            problems: problems.into_vec(),
        }),
    }
}

/// The runbooks at `path` (`SELFHEAL_RUNBOOKS`), else `default`. Also used by the
/// slack-approvals Lambda, which needs the runbooks but no engine.
pub fn load_runbooks(
    path: Option<&Path>,
    default: &DefaultRunbooks,
    options: &LoadOptions,
) -> Result<RunbookMap, StartupError> {
    let path = match (path, default) {
        (Some(p), _) => p,
        (None, DefaultRunbooks::Path(p)) => p.as_path(),
        (None, DefaultRunbooks::Bundled(bundled)) => {
            return bundled(options).map_err(|e| StartupError::Runbooks {
                path: None,
                problems: vec![e],
            })
        }
    };
    selfheal_service::runbook_files::load_runbooks(path, options)
        .map(|(m, _)| m)
        .map_err(|diags| StartupError::Runbooks {
            path: Some(path.to_path_buf()),
            problems: diags.iter().map(ToString::to_string).collect(),
        })
}

/// What differs between the Lambda and a local `serve`.
pub struct WiringOptions {
    /// The mode when `SELFHEAL_MODE_PARAM` is unset (Lambda: dry-run; `serve`: enforce).
    pub unconfigured_mode: GlobalMode,
    /// The account the instances live in (for tagging ARNs), if known.
    pub account_id: Option<String>,
    /// Who owns claims taken by this process.
    pub owner: String,
    /// Extra chat sinks (e.g. Slack) built by the caller.
    pub chat: Vec<Arc<dyn Chat>>,
    /// Never more than dry-run, whatever the mode parameter says (`selfheal run --dry-run`);
    /// `off` still wins.
    pub force_dry_run: bool,
    /// The process's settings: the account when `account_id` is `None`, the claim lease.
    pub process: ProcessSettings,
}

/// A mode source that answers at most `dry-run`.
struct AtMostDryRun(Arc<dyn ModeSource>);

#[async_trait::async_trait]
impl ModeSource for AtMostDryRun {
    async fn mode(&self) -> GlobalMode {
        match self.0.mode().await {
            GlobalMode::Off => GlobalMode::Off,
            GlobalMode::Enforce | GlobalMode::DryRun => GlobalMode::DryRun,
        }
    }
}

/// Builds the engine. Fails when the settings lack the state table (fail closed).
pub fn build_engine(
    settings: &Settings,
    clients: &AwsClients,
    runbooks: Arc<RunbookMap>,
    options: WiringOptions,
) -> Result<Engine, String> {
    let table = settings.table.clone().ok_or_else(|| {
        "SELFHEAL_TABLE is not set: without a state table nothing may run".to_owned()
    })?;
    let region = clients.region().unwrap_or_else(|| "us-east-1".to_owned());
    let account = options
        .account_id
        .or_else(|| options.process.account_id.clone());
    let mut chat = options.chat;
    if let Some(topic) = &settings.chat_topic_arn {
        chat.push(Arc::new(ChatbotSink::new(
            clients.sns.clone(),
            topic.clone(),
        )));
    }
    if chat.is_empty() {
        chat.push(Arc::new(LogChat));
    }
    let escalator: Arc<dyn Escalator> = match &settings.escalation_topic_arn {
        Some(topic) => Arc::new(SnsEscalator::new(clients.sns.clone(), Some(topic.clone()))),
        None => Arc::new(LogChat),
    };
    let budget = Duration::from_secs(u64::from(settings.function_budget_seconds));
    let ports = Ports {
        executor: Arc::new(SsmExecutor::new(clients.ssm.clone())),
        store: Arc::new(DynamoStateStore::new(clients.dynamodb.clone(), table)),
        tags: Arc::new(TaggingRoles::new(
            clients.tagging.clone(),
            settings.role_tag.clone(),
            account,
            region,
        )),
        alarms: Arc::new(CloudWatchAlarms::new(clients.cloudwatch.clone())),
        mode: {
            let mode: Arc<dyn ModeSource> = Arc::new(ParameterMode::from_setting(
                clients.ssm.clone(),
                settings.mode_param.clone(),
                options.unconfigured_mode,
            ));
            if options.force_dry_run {
                Arc::new(AtMostDryRun(mode))
            } else {
                mode
            }
        },
        chat: Arc::new(MultiChat(chat)),
        escalator,
        clock: Arc::new(SystemClock),
    };
    let engine_settings = EngineSettings {
        max_per_hour: settings.max_per_hour,
        claim_lease: options.process.claim_lease(budget),
        history_ttl_days: i64::from(settings.history_ttl_days),
        owner: options.owner,
        capacity_retry: Duration::from_secs(u64::from(settings.capacity_retry_seconds)),
        redrive_limit: settings.max_receive_count,
        approval_ttl: Duration::from_secs(u64::from(settings.approval_ttl_minutes) * 60),
        ..EngineSettings::default()
    };
    Ok(Engine::new(ports, runbooks, engine_settings))
}

/// Opens the connections the first alert will need (DynamoDB, Resource Groups Tagging,
/// CloudWatch) with one cheap read each, concurrently, so the first remediation does not pay
/// for DNS and TLS set-up. Answers do not matter; failures are only logged.
pub async fn warm_connections(settings: &Settings, clients: &AwsClients, account_id: Option<&str>) {
    let region = clients.region().unwrap_or_else(|| "us-east-1".to_owned());
    let account = account_id.unwrap_or("000000000000");
    let table = settings.table.clone().unwrap_or_default();
    let dynamo = clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("warmup".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("warmup".into()),
        )
        .send();
    let tagging = clients
        .tagging
        .get_resources()
        .resource_arn_list(format!(
            "arn:{}:ec2:{region}:{account}:instance/i-00000000",
            crate::tagging::partition_of(&region)
        ))
        .send();
    let alarms = clients
        .cloudwatch
        .describe_alarms()
        .alarm_names("selfheal-warmup")
        .send();
    let (d, t, a) = tokio::join!(dynamo, tagging, alarms);
    if let Err(e) = d {
        tracing::debug!(error = %crate::error::port_error("dynamodb:GetItem", &e), "warm-up call failed");
    }
    if let Err(e) = t {
        tracing::debug!(error = %crate::error::port_error("tagging:GetResources", &e), "warm-up call failed");
    }
    if let Err(e) = a {
        tracing::debug!(error = %crate::error::port_error("cloudwatch:DescribeAlarms", &e), "warm-up call failed");
    }
}
