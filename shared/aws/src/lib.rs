//! `selfheal-aws`: the AWS adapters behind the ports of `selfheal-service`.
//!
//! What it is: thin implementations of the service's port traits over the AWS SDK —
//! SSM Run Command ([`SsmExecutor`]), DynamoDB state ([`DynamoStateStore`]), instance role tags
//! ([`TaggingRoles`]), live alarm state ([`CloudWatchAlarms`]), the kill switch
//! ([`ParameterMode`]), escalation and chat over SNS ([`SnsEscalator`], [`ChatbotSink`]), the
//! SQS queue for `selfheal serve` ([`SqsQueue`]) — plus the clients ([`AwsClients`]), the one
//! loader of every `SELFHEAL_*` setting ([`settings`]; [`Settings`] is the engine's), one retry
//! helper ([`retry`]) and one SDK-error mapping ([`error::port_error`]).
//!
//! What it is not: no decisions live here. Which alert acts, guards, retries of whole records
//! and outcomes are the service's; parsing and runbooks are the core's. Adapters only translate
//! calls and errors (transient vs permanent), and never log secrets, request bodies or
//! parameter values.

pub mod alarms;
pub mod approvals_store;
pub mod config;
pub mod dynamo_store;
pub mod error;
pub mod local;
pub mod mode;
pub mod report;
pub mod retry;
pub mod settings;
pub mod slack;
pub mod sns_escalator;
pub mod sqs_queue;
pub mod ssm_executor;
pub mod startup;
pub mod tagging;
pub mod text;
pub mod wiring;

pub use alarms::CloudWatchAlarms;
pub use config::{AwsClients, Settings, SettingsError};
pub use dynamo_store::DynamoStateStore;
pub use mode::ParameterMode;
pub use sns_escalator::{ChatbotSink, SnsEscalator};
pub use sqs_queue::{account_from_queue_url, QueueMessage, SqsQueue};
pub use ssm_executor::SsmExecutor;
pub use tagging::TaggingRoles;
