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
use std::process::ExitCode;

use crate::args::ReportArgs;
use selfheal_aws::report::report_from_env;
use selfheal_core::report::{render, WindowEnd};
use selfheal_service::report::ReporterError;

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
