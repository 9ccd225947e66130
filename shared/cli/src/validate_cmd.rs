//! `selfheal validate [PATH] [--format text|json]`.

use crate::args::{OutputFormat, ValidateArgs};
use selfheal_core::{Diagnostic, Severity};
use selfheal_service::runbook_files::load_runbooks;
use std::process::ExitCode;

pub fn run(args: &ValidateArgs) -> ExitCode {
    let loaded = load_runbooks(&args.path, &crate::context::load_options());
    if args.format == OutputFormat::Json {
        let (valid, runbooks, problems) = match &loaded {
            Ok((map, warnings)) => (true, map.len(), warnings.as_slice()),
            Err(diags) => (false, 0, diags.as_slice()),
        };
        println!("{}", json_report(valid, runbooks, problems));
        return if valid {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    match loaded {
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

/// `{"valid", "runbooks", "problems": [{"file", "line", "col", "severity", "key", "message"}]}`
/// (for editors and CI; `key` is null for a problem outside any entry).
fn json_report(valid: bool, runbooks: usize, problems: &[Diagnostic]) -> String {
    let problems: Vec<serde_json::Value> = problems
        .iter()
        .map(|d| {
            serde_json::json!({
                "file": d.file,
                "line": d.line,
                "col": d.column,
                "severity": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "key": d.key,
                "message": d.message,
            })
        })
        .collect();
    serde_json::json!({"valid": valid, "runbooks": runbooks, "problems": problems}).to_string()
}
