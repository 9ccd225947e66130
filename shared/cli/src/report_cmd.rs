//! `selfheal report [--since 7d] [--format text|markdown|json|html] [--output FILE]
//! [--complete-days]`: the weekly report from the history table (`SELFHEAL_TABLE`;
//! `AWS_ENDPOINT_URL` for an emulator) and CloudWatch alarm history, over local days ending today
//! in `SELFHEAL_REPORT_TZ` (default UTC). Today is partial and every format says so; its change
//! compares with the same span of last period. `--complete-days` ends at the start of today, as
//! the scheduled function does. The same flow as the weekly-reporter Lambda builds it
//! (`selfheal_service::report`, over the adapters of `selfheal_aws::report`).
//!
//! Exit codes: 0 report written; 1 the table or settings could not be read, or the output file
//! could not be written; 2 usage errors (a bad `--since`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use selfheal_aws::report::report_from_env;
use selfheal_core::report::{render, Format, WindowEnd};
use selfheal_service::report::ReporterError;

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

fn now_ms() -> i64 {
    selfheal_service::chat::SystemClock::now()
}

/// Runs `selfheal report`.
pub async fn run(args: &ReportArgs) -> ExitCode {
    let report = match report_from_env(
        &args.since,
        now_ms(),
        if args.complete_days {
            WindowEnd::StartOfToday
        } else {
            WindowEnd::EndOfToday
        },
    )
    .await
    {
        Ok(r) => r,
        Err(ReporterError::Usage(msg)) => {
            eprintln!("selfheal report: {msg}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("selfheal report: {e}");
            return ExitCode::from(1);
        }
    };
    for w in &report.data_quality.warnings {
        eprintln!("selfheal report: warning: {w}");
    }
    let mut out = render(&report, args.format.into());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    match &args.output {
        Some(path) => match std::fs::write(path, out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("selfheal report: cannot write {}: {e}", path.display());
                ExitCode::from(1)
            }
        },
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe (`| head`) is not an error worth reporting.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("selfheal report: cannot write the report: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
