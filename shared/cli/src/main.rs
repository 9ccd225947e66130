//! `selfheal`: the command line (DESIGN §6). Raw arguments are parsed into a validated command in
//! one place ([`args`]); each subcommand lives in its own module.

mod args;
mod context;
mod demo;
mod history_cmd;
mod logging;
mod mode_cmd;
mod plan_cmd;
mod report_cmd;
mod review_cmd;
mod run_cmd;
mod serve_cmd;
mod silence_cmd;
mod status_cmd;
mod validate_cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match cli.command {
        args::Command::Validate(a) => validate_cmd::run(&a),
        args::Command::Plan(a) => plan_cmd::run(&a),
        args::Command::Serve(a) => serve_cmd::run(&a),
        args::Command::Demo => demo::run(),
        args::Command::Report(a) => run_async(report_cmd::run(&a)),
        args::Command::Silence(a) => run_async(silence_cmd::run(&a)),
        args::Command::NeedsReview(a) => run_async(review_cmd::run(&a)),
        args::Command::Run(a) => {
            logging::init();
            run_async(run_cmd::run(&a))
        }
        args::Command::Status(a) => run_async(status_cmd::run(&a)),
        args::Command::Mode(a) => run_async(mode_cmd::run(&a)),
        args::Command::History(a) => run_async(history_cmd::history(&a)),
        args::Command::Show(a) => run_async(history_cmd::show(&a)),
        args::Command::Schema => {
            print!("{}", selfheal_core::runbook::schema_json());
            ExitCode::SUCCESS
        }
    }
}

/// Runs an async command on a fresh multi-thread runtime.
fn run_async(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("selfheal: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}
