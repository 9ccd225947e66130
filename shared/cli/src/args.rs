//! Command-line arguments (the contract of DESIGN §6): every command's clap types, and the value
//! enums they share. Commands import these; this module imports no other module of the crate.
//! clap exits with 2 on usage errors.

use clap::{Parser, Subcommand, ValueEnum};
use selfheal_core::report::Format;
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
    Report(ReportArgs),
    /// Stop remediation for an instance, role, key or everything, for a while or in a window.
    Silence(SilenceArgs),
    /// Alerts whose attempt budget ran out: list them, or reset one after a human looked.
    NeedsReview(ReviewArgs),
    /// Start a runbook on one instance by hand; every guard applies.
    Run(RunArgs),
    /// Mode, silences, leases held, what needs review and the last 10 outcomes.
    Status(StatusArgs),
    /// The global mode (the kill switch): read it, or set it with a reason that is recorded.
    Mode(ModeArgs),
    /// Final outcomes from the history table, newest first, filtered.
    History(HistoryArgs),
    /// Everything recorded about one remediation, by the claim id `history` prints.
    Show(ShowArgs),
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
    /// `text`: problems as FILE:LINE:COL: message (errors on stdout, warnings on stderr);
    /// `json`: one object on stdout, {"valid", "runbooks", "problems": [{"file", "line", "col",
    /// "severity", "key", "message"}]}, warnings included. The exit code is the same.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// A runbook file or directory.
    #[arg(long)]
    pub runbooks: PathBuf,
    /// An event file in any supported format (including a whole Lambda SQS event); `-` reads
    /// standard input.
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

/// Output formats of `selfheal report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    Json,
    Html,
}

impl From<ReportFormat> for Format {
    fn from(f: ReportFormat) -> Self {
        match f {
            ReportFormat::Text => Format::Text,
            ReportFormat::Markdown => Format::Markdown,
            ReportFormat::Json => Format::Json,
            ReportFormat::Html => Format::Html,
        }
    }
}

/// Arguments of `selfheal report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Period to report, ending today: `7d`, `14d`, `2w` (1 to 92 days). The period before it,
    /// of the same length, is the comparison.
    #[arg(long, default_value = "7d", value_name = "PERIOD")]
    pub since: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only whole days: the period ends at the start of today (the scheduled report's view).
    #[arg(long)]
    pub complete_days: bool,
}

#[derive(clap::Args, Debug)]
pub struct SilenceArgs {
    #[command(subcommand)]
    pub action: SilenceAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum SilenceAction {
    /// Add a silence (prints its id).
    Add(AddArgs),
    /// List silences and maintenance windows.
    List(ListArgs),
    /// Remove a silence by id.
    Remove {
        /// The id printed by `silence add` (see `silence list`).
        id: String,
    },
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["instance", "role", "key", "all"])))]
#[command(group(clap::ArgGroup::new("when").required(true).args(["until", "duration", "window"])))]
pub struct AddArgs {
    /// Silence one instance (`i-…`).
    #[arg(long)]
    pub instance: Option<String>,
    /// Silence every alert of a role.
    #[arg(long)]
    pub role: Option<String>,
    /// Silence one `ROLE:ALERT` key.
    #[arg(long)]
    pub key: Option<String>,
    /// Silence everything.
    #[arg(long)]
    pub all: bool,
    /// End time, ISO-8601 with an offset (`2026-11-24T06:00:00Z`); at most 7 days ahead.
    #[arg(long)]
    pub until: Option<String>,
    /// End after this long (`90m`, `4h`, `2d`; at most 7d).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,
    /// A recurring maintenance window: `DAYS HH:MM-HH:MM` (`sun 02:00-04:00`, `mon-fri 22:00-02:00`, `daily 03:00-03:30`).
    #[arg(long)]
    pub window: Option<String>,
    /// The window's IANA time zone (e.g. `Asia/Tokyo`).
    #[arg(long, default_value = "UTC", requires = "window")]
    pub tz: String,
    /// Why (shown in chat, history and `status`).
    #[arg(long)]
    pub reason: String,
    /// Who sets it (default `$USER`).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Include silences that have ended.
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub action: ReviewAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum ReviewAction {
    /// What waits for review.
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Reset the attempt budget of KEY on one instance after a human looked.
    Clear {
        /// `ROLE:ALERT`.
        key: String,
        #[arg(long)]
        instance: String,
    },
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

#[derive(clap::Args, Debug)]
pub struct ModeArgs {
    #[command(subcommand)]
    pub action: ModeAction,
}

#[derive(Subcommand, Debug)]
pub enum ModeAction {
    /// The mode the engine reads (`SELFHEAL_MODE_PARAM`), and the last recorded changes.
    Get {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Sets the mode; who and why are recorded in the table and in the parameter's description.
    Set {
        /// `enforce`, `dry-run` (nothing runs, everything is announced) or `off` (kill switch).
        #[arg(value_parser = ["enforce", "dry-run", "off"])]
        mode: String,
        /// Why (required; shown with the change).
        #[arg(long)]
        reason: String,
        /// Who (default: $SELFHEAL_USER, $USER, $LOGNAME).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// Only this `ROLE:ALERT`.
    #[arg(long)]
    pub key: Option<String>,
    /// Only this instance.
    #[arg(long)]
    pub instance: Option<String>,
    /// Only this outcome (`healed`, `failed`, `capacity-wait`, ...).
    #[arg(long)]
    pub outcome: Option<String>,
    /// How far back: `7d`, `2w` or a number of days (1–90).
    #[arg(long, default_value = "7d")]
    pub since: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The claim id (`history` prints it; chat messages and the SSM command comments carry it).
    pub claim_id: String,
    /// How far back to look: `7d`, `2w` or a number of days (1–90).
    #[arg(long, default_value = "30d")]
    pub since: String,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// `text` or `json` output.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}
