//! Wiring: every port built from the settings and the clients, once per process. Used by the
//! Lambda's `main` and by `selfheal serve`, so both run the same engine.

use crate::{
    AwsClients, ChatbotSink, CloudWatchAlarms, DynamoStateStore, ParameterMode, Settings,
    SnsEscalator, SsmExecutor, TaggingRoles,
};
use selfheal_core::RunbookMap;
use selfheal_service::chat::{LogChat, MultiChat, SystemClock};
use selfheal_service::ports::{Chat, Escalator, GlobalMode, ModeSource};
use selfheal_service::{Engine, EngineSettings, Ports};
use std::sync::Arc;
use std::time::Duration;

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
    let account = options.account_id.or_else(|| {
        std::env::var("SELFHEAL_ACCOUNT_ID")
            .ok()
            .filter(|s| !s.is_empty())
    });
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
        claim_lease: claim_lease(budget),
        history_ttl_days: i64::from(settings.history_ttl_days),
        owner: options.owner,
        capacity_retry: Duration::from_secs(u64::from(settings.capacity_retry_seconds)),
        redrive_limit: settings.max_receive_count,
        approval_ttl: Duration::from_secs(u64::from(settings.approval_ttl_minutes) * 60),
        ..EngineSettings::default()
    };
    Ok(Engine::new(ports, runbooks, engine_settings))
}

/// How long a claim and its lease are owned: `SELFHEAL_CLAIM_LEASE_SECONDS`, default the function
/// budget plus a minute (a crashed owner's claim is taken over after that).
fn claim_lease(budget: Duration) -> Duration {
    std::env::var("SELFHEAL_CLAIM_LEASE_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(budget + Duration::from_secs(60), Duration::from_secs)
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
