//! [`SsmExecutor`]: the [`Executor`] port over SSM Run Command.
//!
//! Every command goes to exactly one instance (`InstanceIds = [id]`, never `Targets`). The
//! comment carries the claim id so a sender that crashed before saving the command id can find
//! it again ([`Executor::find_by_comment`], filtered client-side because some emulators ignore
//! `Filters`).
//!
//! SendCommand goes out with the SDK's retries disabled and its own timeout (one attempt of
//! [`AwsTimeouts::send_command`]), whatever the client was built with: SSM has no client token, so
//! an SDK retry after a lost answer would run the commands twice (DESIGN principle 6). A failed
//! send is a transient error; the engine's claim and [`Executor::find_by_comment`] decide whether
//! to send again. Every other SSM call keeps the client's standard retries (see `config.rs`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationError;
use aws_sdk_ssm::operation::send_command::SendCommandError;
use aws_sdk_ssm::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ssm::types::{CommandFilter, CommandFilterKey};
use selfheal_core::InstanceId;
use selfheal_service::ports::{
    CommandRequest, EpochMillis, Executor, Invocation, InvocationStatus, PortError, Sent,
};

use crate::config::{no_retries, AwsTimeouts};
use crate::error::port_error;
use crate::text::{clip_chars, prefix_chars, tail_bytes};

/// SSM's limit on `Comment`.
pub const COMMENT_MAX_CHARS: usize = 100;
/// The SendCommand delivery timeout (`TimeoutSeconds`, at least 30 for SSM).
pub const DELIVERY_TIMEOUT_SECONDS: i32 = 60;
/// Output tails kept from GetCommandInvocation.
pub const OUTPUT_TAIL_BYTES: usize = 4096;
/// Commands requested this long before `since` still count (clock skew between us and SSM).
pub const FIND_SKEW_MS: EpochMillis = 5_000;
/// A poll round's listing reads at most this many pages of 50 commands; a command it did not
/// reach is polled on its own.
pub const MAX_LISTING_PAGES: usize = 4;

/// Runs commands through SSM RunCommand.
#[derive(Debug, Clone)]
pub struct SsmExecutor {
    client: aws_sdk_ssm::Client,
    timeouts: AwsTimeouts,
}

impl SsmExecutor {
    /// With the timeouts of the environment ([`AwsTimeouts::from_env`]).
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Self::with_timeouts(client, AwsTimeouts::from_env())
    }

    pub fn with_timeouts(client: aws_sdk_ssm::Client, timeouts: AwsTimeouts) -> Self {
        Self { client, timeouts }
    }

    /// What SendCommand is sent with: no SDK retries, one attempt of `send_command`.
    fn send_command_override(&self) -> aws_sdk_ssm::config::Builder {
        aws_sdk_ssm::config::Builder::default()
            .retry_config(no_retries())
            .timeout_config(self.timeouts.send_command_config())
    }
}

/// The comment as SSM stores it (at most [`COMMENT_MAX_CHARS`] characters).
pub fn ssm_comment(comment: &str) -> &str {
    prefix_chars(comment, COMMENT_MAX_CHARS)
}

#[async_trait]
impl Executor for SsmExecutor {
    async fn send(&self, req: &CommandRequest) -> Result<Sent, PortError> {
        let result = self
            .client
            .send_command()
            .instance_ids(req.instance.as_str())
            .document_name(&req.document)
            .parameters("commands", req.lines.clone())
            .parameters(
                "executionTimeout",
                vec![req.execution_timeout_seconds.to_string()],
            )
            .timeout_seconds(DELIVERY_TIMEOUT_SECONDS)
            .comment(ssm_comment(&req.comment))
            .customize()
            .config_override(self.send_command_override())
            .send()
            .await;
        match result {
            Ok(out) => match out.command().and_then(|c| c.command_id()) {
                Some(id) if !id.is_empty() => Ok(Sent::CommandId(id.to_owned())),
                _ => Err(PortError::Permanent(
                    "ssm:SendCommand: the answer carried no command id".to_owned(),
                )),
            },
            Err(err) => match err.as_service_error() {
                Some(SendCommandError::InvalidInstanceId(e)) => Ok(Sent::InvalidInstance(
                    e.message()
                        .map(|m| clip_chars(m, 300))
                        .unwrap_or_else(|| "InvalidInstanceId".to_owned()),
                )),
                _ => Err(port_error("ssm:SendCommand", &err)),
            },
        }
    }

    async fn poll(&self, command_id: &str, instance: &InstanceId) -> Result<Invocation, PortError> {
        let result = self
            .client
            .get_command_invocation()
            .command_id(command_id)
            .instance_id(instance.as_str())
            .send()
            .await;
        match result {
            Ok(out) => {
                let status = out
                    .status()
                    .map(|s| InvocationStatus::parse(s.as_str()))
                    .unwrap_or(InvocationStatus::Unknown);
                let code = out.response_code();
                Ok(Invocation {
                    status,
                    exit_code: (code >= 0).then_some(code),
                    stdout: tail_bytes(
                        out.standard_output_content().unwrap_or(""),
                        OUTPUT_TAIL_BYTES,
                    )
                    .to_owned(),
                    stderr: tail_bytes(
                        out.standard_error_content().unwrap_or(""),
                        OUTPUT_TAIL_BYTES,
                    )
                    .to_owned(),
                })
            }
            Err(err) => match err.as_service_error() {
                // Right after SendCommand the invocation is not visible yet: "not yet", not an error.
                Some(GetCommandInvocationError::InvocationDoesNotExist(_)) => Ok(Invocation {
                    status: InvocationStatus::Running,
                    exit_code: None,
                    stdout: String::new(),
                    stderr: String::new(),
                }),
                _ => Err(port_error("ssm:GetCommandInvocation", &err)),
            },
        }
    }

    async fn find_by_comment(
        &self,
        comment: &str,
        instance: &InstanceId,
        since: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        let wanted = ssm_comment(comment);
        let earliest = since.saturating_sub(FIND_SKEW_MS);
        let mut pages = self
            .client
            .list_commands()
            .instance_id(instance.as_str())
            .into_paginator()
            .send();
        // The newest matching command wins (there should be only one).
        let mut best: Option<(Option<EpochMillis>, String)> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("ssm:ListCommands", &e))?;
            for cmd in page.commands() {
                let Some(id) = cmd.command_id().filter(|id| !id.is_empty()) else {
                    continue;
                };
                if cmd.comment() != Some(wanted) {
                    continue;
                }
                if !cmd.instance_ids().iter().any(|i| i == instance.as_str()) {
                    continue;
                }
                // A missing or unreadable timestamp is accepted: the comment carries the unique
                // claim id, and sending a second command would be the worse mistake.
                let requested = cmd.requested_date_time().and_then(|t| t.to_millis().ok());
                if requested.is_some_and(|t| t < earliest) {
                    continue;
                }
                let newer = match &best {
                    None => true,
                    Some((prev, _)) => requested.unwrap_or(i64::MAX) >= prev.unwrap_or(i64::MAX),
                };
                if newer {
                    best = Some((requested, id.to_owned()));
                }
            }
        }
        Ok(best.map(|(_, id)| id))
    }

    /// One `ListCommands` (`InvokedAfter` = `since` minus the skew, up to
    /// [`MAX_LISTING_PAGES`] pages, stopping once every id is seen): the command status of each
    /// of `ids` it lists. A command goes to one instance, so its status is its invocation's.
    /// The filter is re-applied client-side (moto ignores `Filters`).
    async fn statuses(
        &self,
        ids: &[String],
        since: EpochMillis,
    ) -> Result<HashMap<String, InvocationStatus>, PortError> {
        let earliest = since.saturating_sub(FIND_SKEW_MS);
        let after = DateTime::from_secs(earliest.div_euclid(1000))
            .fmt(DateTimeFormat::DateTime)
            .map_err(|e| PortError::Permanent(format!("ssm: InvokedAfter {earliest}: {e}")))?;
        let filter = CommandFilter::builder()
            .key(CommandFilterKey::InvokedAfter)
            .value(after)
            .build()
            .map_err(|e| PortError::Permanent(format!("ssm: filter not buildable: {e}")))?;
        let mut pages = self
            .client
            .list_commands()
            .filters(filter)
            .max_results(50)
            .into_paginator()
            .send();
        let mut out = HashMap::new();
        let mut read = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("ssm:ListCommands", &e))?;
            read += 1;
            for cmd in page.commands() {
                let Some(id) = cmd.command_id().filter(|id| ids.iter().any(|w| w == id)) else {
                    continue;
                };
                let requested = cmd.requested_date_time().and_then(|t| t.to_millis().ok());
                if requested.is_some_and(|t| t < earliest) {
                    continue;
                }
                if let Some(status) = cmd.status() {
                    out.insert(id.to_owned(), InvocationStatus::parse(status.as_str()));
                }
            }
            if out.len() == ids.len() || read >= MAX_LISTING_PAGES {
                break;
            }
        }
        Ok(out)
    }
}
