//! `selfheal plan --runbooks PATH --event FILE [--role ROLE] [--format text|json]`.

use crate::args::{PlanArgs, PlanFormat};
use selfheal_core::plan::{plan, render_text};
use selfheal_core::{parse_document, Severity};
use selfheal_service::runbook_files::load_runbooks;
use std::process::ExitCode;

pub fn run(args: &PlanArgs) -> ExitCode {
    let map = match load_runbooks(&args.runbooks, &crate::context::load_options()) {
        Ok((map, _warnings)) => map,
        Err(diags) => {
            eprintln!("selfheal plan: the runbooks are not valid:");
            for d in diags.iter().filter(|d| d.severity == Severity::Error) {
                eprintln!("{d}");
            }
            return ExitCode::from(1);
        }
    };
    let read = if args.event.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(&args.event)
    };
    let text = match read {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!(
                "selfheal plan: cannot read event file {}: {e}",
                args.event.display()
            );
            return ExitCode::from(1);
        }
    };
    let records = parse_document(&text);
    let result = plan(&records, &map, args.role.as_deref());
    match args.format {
        PlanFormat::Text => print!("{}", render_text(&result)),
        PlanFormat::Json => match serde_json::to_string_pretty(&result) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("selfheal plan: cannot render JSON: {e}");
                return ExitCode::from(1);
            }
        },
    }
    ExitCode::SUCCESS
}
