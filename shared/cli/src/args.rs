//! Command-line arguments (the contract of DESIGN §6). clap exits with 2 on usage errors.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "selfheal",
    version,
    about = "Safe, announced, audited first aid for alerts"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate runbook files: exit 0 when valid, 1 with every problem as FILE:LINE:COL: message.
    Validate(ValidateArgs),
    /// Offline dry run: what would happen to each alert in an event file.
    Plan(PlanArgs),
    /// Poll an SQS queue and run the same handler as the Lambda.
    Serve(ServeArgs),
    /// The weekly alert-frequency report from the history table.
    Report(crate::report_cmd::ReportArgs),
    /// Stop remediation for an instance, role, key or everything, for a while or in a window.
    Silence(crate::silence_cmd::SilenceArgs),
    /// Alerts whose attempt budget ran out: list them, or reset one after a human looked.
    NeedsReview(crate::review_cmd::ReviewArgs),
    /// Start a runbook on one instance by hand; every guard applies.
    Run(RunArgs),
    /// Mode, silences, leases held, what needs review and the last 10 outcomes.
    Status(crate::status_cmd::StatusArgs),
    /// Run the whole pipeline locally against an emulator (moto) and a Slack stand-in.
    Demo,
    /// Print the JSON Schema of the runbook format.
    #[command(hide = true)]
    Schema,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// A runbook file or a directory of them.
    #[arg(default_value = "runbooks/")]
    pub path: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// A runbook file or directory.
    #[arg(long)]
    pub runbooks: PathBuf,
    /// An event file in any supported format (including a whole Lambda SQS event).
    #[arg(long)]
    pub event: PathBuf,
    /// The role to assume when the alert does not name one (stands in for the instance tag).
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The queue to poll (the SQS queue subscribed to the alert topic).
    #[arg(long)]
    pub queue_url: String,
    /// One receive (no long poll), process, delete, exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// `ROLE:ALERT`: the runbook is looked up as for an alert.
    pub key: String,
    /// The one instance to run it on.
    #[arg(long)]
    pub instance: String,
    /// Show what would run; run nothing.
    #[arg(long)]
    pub dry_run: bool,
}
