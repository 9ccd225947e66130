//! The weekly-reporter Lambda (EventBridge Scheduler, cron with a time zone): wiring only.
//! Settings, clients, the S3 store and the Slack webhook (read once from SSM when
//! `SELFHEAL_SLACK_WEBHOOK_PARAM` is set) are built here at init; each invocation calls
//! [`selfheal_service::report::run_weekly`] with [`weekly_reporter::png::chart_png`] as the
//! chart renderer.

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use selfheal_aws::report::{
    aws_sources, http_client, read_webhook_param, report_store, BotPoster, Secret, WebhookPoster,
};
use selfheal_aws::AwsClients;
use selfheal_service::report::{run_weekly, ReportPoster, RunInput, Targets};
use weekly_reporter::png;

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn now_ms() -> i64 {
    selfheal_service::chat::SystemClock::now()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    // The engine's settings it needs (table, Slack webhook) and the report's, every problem at once.
    let (base, settings) = selfheal_aws::settings::report::with_engine_from_env()
        .map_err(|e| Error::from(e.to_string()))?;
    let table = base.table.clone().unwrap_or_default();
    let clients = AwsClients::from_env().await;
    let sources = aws_sources(&clients, &table, &settings);

    let slack_webhook = match (&base.slack_webhook_url, &base.slack_webhook_param) {
        (Some(url), _) => Some(Secret::new(url.clone())),
        (None, Some(param)) => Some(
            read_webhook_param(&clients.ssm, param)
                .await
                .map_err(Error::from)?,
        ),
        (None, None) => None,
    };
    let http = http_client().map_err(Error::from)?;
    // A webhook when there is one, else the bot token and channel the announcements use.
    let slack: Option<Arc<dyn ReportPoster>> =
        match (slack_webhook, &base.slack_token_param, &base.slack_channel) {
            (Some(url), _, _) => Some(Arc::new(WebhookPoster::new(http, url))),
            (None, Some(param), Some(channel)) => {
                let token = selfheal_aws::slack::read_secure_param(&clients.ssm, param)
                    .await
                    .map_err(Error::from)?;
                Some(Arc::new(BotPoster::new(
                    http,
                    &base.slack_api_url,
                    token,
                    channel,
                )))
            }
            _ => None,
        };
    let targets = Targets {
        slack,
        store: report_store(&clients, &settings),
        chart: Some(png::chart_png),
        region: clients.region(),
    };
    tracing::info!(
        time_zone = %settings.time_zone,
        period_days = settings.period_days,
        slack = targets.slack.is_some(),
        bucket = settings.bucket.is_some(),
        alarm_history = settings.alarm_history,
        "weekly-reporter ready"
    );
    let (sources, settings, targets) = (&sources, &settings, &targets);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // EventBridge Scheduler delivers the target's Input (often `{}`); anything else that is
            // not a RunInput is treated as no input.
            let input: RunInput = serde_json::from_value(event.payload).unwrap_or_default();
            let summary = run_weekly(sources, settings, targets, &input, now_ms())
                .await
                .map_err(|e| Error::from(e.to_string()))?;
            tracing::info!(
                alerts = summary.alerts,
                keys = summary.keys,
                decisions = summary.decisions,
                chart = summary.chart,
                slack = %summary.slack,
                "weekly report done"
            );
            serde_json::to_value(summary).map_err(Error::from)
        },
    ))
    .await
}
