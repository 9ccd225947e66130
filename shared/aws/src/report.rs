//! AWS adapters of the weekly report (the flow is `selfheal_service::report`): history from the
//! state table ([`DynamoStateStore`] as a [`HistorySource`]), CloudWatch alarm history
//! ([`CloudWatchAlarmHistory`]), the S3 store ([`S3ReportStore`]), the Slack webhook poster
//! ([`WebhookPoster`]), and [`report_from_env`], the report `selfheal report` prints.

mod alarm_history;
mod bot;
mod store;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use selfheal_core::history::{EpochMillis, HistoryRecord};
use selfheal_core::report::{parse_since, Report, ReportWindow, WindowEnd};
use selfheal_service::ports::PortError;
use selfheal_service::report::{
    generate, AlarmHistorySource, HistorySource, ReportSettings, ReportStore, ReporterError,
    Sources,
};

pub use crate::slack::Secret;
pub use alarm_history::{new_state_of, CloudWatchAlarmHistory};
pub use bot::BotPoster;
pub use store::{S3ReportStore, PNG_URL_TTL};
pub use webhook::{http_client, post_webhook, WebhookPoster, MAX_RETRY_AFTER, SLACK_ATTEMPTS};

use crate::{AwsClients, DynamoStateStore, Settings};

#[async_trait]
impl HistorySource for DynamoStateStore {
    async fn history_day(&self, day: &str) -> Result<Vec<HistoryRecord>, PortError> {
        self.query_history_day(day).await
    }
}

/// Sources over the AWS clients: the state table and (unless disabled) CloudWatch.
pub fn aws_sources(clients: &AwsClients, table: &str, settings: &ReportSettings) -> Sources {
    Sources {
        history: Arc::new(DynamoStateStore::new(clients.dynamodb.clone(), table)),
        alarms: settings.alarm_history.then(|| {
            Arc::new(CloudWatchAlarmHistory::new(clients.cloudwatch.clone()))
                as Arc<dyn AlarmHistorySource>
        }),
    }
}

/// The S3 store of `SELFHEAL_REPORT_BUCKET` (chart URLs under `SELFHEAL_REPORT_URL_BASE` when
/// set, else presigned); `None` when no bucket is configured.
pub fn report_store(
    clients: &AwsClients,
    settings: &ReportSettings,
) -> Option<Arc<dyn ReportStore>> {
    settings.bucket.as_ref().map(|bucket| {
        let store =
            S3ReportStore::new(aws_sdk_s3::Client::new(&clients.sdk_config), bucket.clone());
        let store = match &settings.url_base {
            Some(base) => store.with_url_base(base.clone()),
            None => store,
        };
        Arc::new(store) as Arc<dyn ReportStore>
    })
}

/// `selfheal report --since …`: the report of the last `since` (local days ending today, in
/// `SELFHEAL_REPORT_TZ`; today is partial and marked so) from the table in `SELFHEAL_TABLE`,
/// using the process environment for settings and AWS (`AWS_ENDPOINT_URL` points it at an
/// emulator). `end` [`WindowEnd::StartOfToday`] gives the scheduled function's whole days.
pub async fn report_from_env(
    since: &str,
    now_ms: EpochMillis,
    end: WindowEnd,
) -> Result<Report, ReporterError> {
    let days = parse_since(since).map_err(|e| ReporterError::Usage(e.to_string()))?;
    let base = Settings::from_env(true).map_err(|e| ReporterError::Config(e.problems))?;
    let settings = crate::settings::report::from_env().map_err(ReporterError::Config)?;
    let table = base
        .table
        .ok_or_else(|| ReporterError::Config(vec!["SELFHEAL_TABLE is required".into()]))?;
    let clients = AwsClients::from_env().await;
    let sources = aws_sources(&clients, &table, &settings);
    let window = ReportWindow::new(now_ms, &settings.time_zone, days, end)?;
    generate(&sources, &settings, window, None).await
}

/// Reads the webhook URL from an SSM SecureString (once, at init): the engine's
/// [`crate::slack::read_secure_param`], then a check that it is an http(s) URL.
pub async fn read_webhook_param(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Secret, String> {
    let secret = crate::slack::read_secure_param(ssm, name).await?;
    if secret.expose().starts_with("https://") || secret.expose().starts_with("http://") {
        Ok(secret)
    } else {
        Err(format!(
            "parameter {name} holds no http(s) URL (value not shown)"
        ))
    }
}
