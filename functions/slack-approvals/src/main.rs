//! The slack-approvals Lambda (behind a function URL): settings, secrets, runbooks and clients
//! are built once here; each request calls [`selfheal_service::press::handle`] and answers with
//! its reply rendered for Slack (`selfheal_aws::slack::replies`).

use std::sync::Arc;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use selfheal_aws::approvals_store::{DynamoApprovalStore, SqsApprovalQueue};
use selfheal_aws::slack::replies::{answer_press, SlackAnswer};
use selfheal_aws::slack::{http_client, read_secure_param, HttpResponder, Secret, SlackDirectory};
use selfheal_aws::startup::{load_runbooks, DefaultRunbooks};
use selfheal_aws::AwsClients;
use selfheal_core::runbook::LoadOptions;
use selfheal_service::press::{Directory, HttpRequest};
use slack_approvals::settings::{FunctionSettings, SecretSource};
use slack_approvals::{bundled_runbooks, App};

async fn secret(clients: &AwsClients, source: &SecretSource) -> Result<Secret, String> {
    match source {
        SecretSource::Value(v) => Ok(Secret::new(v.clone())),
        SecretSource::Parameter(name) => read_secure_param(&clients.ssm, name).await,
    }
}

fn now_ms() -> i64 {
    selfheal_service::chat::SystemClock::now()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = FunctionSettings::from_env().map_err(Error::from)?;
    let options = LoadOptions::default();
    // The runbooks as the alert-remediator loads them (`SELFHEAL_RUNBOOKS`, else bundled), but
    // without the function-budget check: this function only needs their approval settings. It
    // builds no engine, so it does not go through `engine_from_env`.
    let runbooks = load_runbooks(
        settings.runbooks.as_deref(),
        &DefaultRunbooks::Bundled(bundled_runbooks),
        &options,
    )
    .map_err(|e| Error::from(e.to_string()))?;
    let clients = AwsClients::from_env().await;
    let signing_secret = secret(&clients, &settings.signing_secret).await?;
    let http = http_client()?;
    let directory: Option<Arc<dyn Directory>> = match &settings.slack_token {
        Some(source) => Some(Arc::new(SlackDirectory::new(
            http.clone(),
            settings.slack_api_url.clone(),
            secret(&clients, source).await?,
        ))),
        None => None,
    };
    let approvable = runbooks
        .iter()
        .filter(|(_, e)| e.mode == selfheal_core::Mode::Approve)
        .count();
    let app = App {
        signing_secret,
        runbooks: Arc::new(runbooks),
        default_group: settings.default_group.clone(),
        ttl_ms: settings.ttl_ms,
        store: Arc::new(DynamoApprovalStore::new(
            clients.dynamodb.clone(),
            settings.table.clone(),
        )),
        queue: Arc::new(SqsApprovalQueue::new(
            clients.sqs.clone(),
            settings.queue_url.clone(),
        )),
        directory,
        responder: Arc::new(HttpResponder::new(
            http,
            settings.response_url_prefix.clone(),
        )),
    };
    tracing::info!(
        approvable,
        default_group = settings.default_group.as_deref().unwrap_or("-"),
        groups_checkable = app.directory.is_some(),
        "slack-approvals ready"
    );
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let response = match HttpRequest::from_function_url_event(&event.payload) {
                Ok(req) => answer_press(app, &req, now_ms()).await,
                Err(e) => {
                    tracing::warn!(reason = %e, "unreadable function URL event");
                    SlackAnswer::malformed_event(&e)
                }
            };
            Ok::<_, Error>(response.to_function_url())
        },
    ))
    .await
}
