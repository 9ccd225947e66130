//! `selfheal validate [PATH]`.

use crate::args::ValidateArgs;
use selfheal_core::Severity;
use selfheal_service::runbook_files::load_runbooks;
use std::process::ExitCode;

pub fn run(args: &ValidateArgs) -> ExitCode {
    match load_runbooks(&args.path, &crate::context::load_options()) {
        Ok((map, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            eprintln!("{} runbook(s) valid", map.len());
            ExitCode::SUCCESS
        }
        Err(diags) => {
            for d in &diags {
                match d.severity {
                    Severity::Error => println!("{d}"),
                    Severity::Warning => eprintln!("{d}"),
                }
            }
            ExitCode::from(1)
        }
    }
}
