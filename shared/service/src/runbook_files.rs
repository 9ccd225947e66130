//! Reading runbook files from disk: a file, or every `*.json` in a directory except `*.schema.json`.

use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use selfheal_core::{Diagnostic, RunbookMap, Severity};
use std::path::{Path, PathBuf};

/// The runbook files `path` stands for, sorted. A directory yields its `*.json` files that are not
/// `*.schema.json`; a file yields itself.
pub fn runbook_paths(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| io_diag(path, &e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| io_diag(path, &e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && !name.ends_with(".schema.json") && p.is_file()
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Diagnostic {
            file: path.display().to_string(),
            line: 1,
            column: 1,
            severity: Severity::Error,
            message: "no runbook files (*.json, not *.schema.json) in this directory".into(),
            key: None,
        });
    }
    Ok(files)
}

/// Loads and validates the runbooks at `path`. `Ok` carries warnings; `Err` every problem found.
pub fn load_runbooks(
    path: &Path,
    options: &LoadOptions,
) -> Result<(RunbookMap, Vec<Diagnostic>), Vec<Diagnostic>> {
    let files = runbook_paths(path).map_err(|d| vec![d])?;
    let mut texts = Vec::with_capacity(files.len());
    let mut problems = Vec::new();
    for f in &files {
        match std::fs::read_to_string(f) {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(e) => problems.push(io_diag(f, &e)),
        }
    }
    let sources: Vec<RunbookSource<'_>> = texts
        .iter()
        .map(|(name, text)| RunbookSource { name, text })
        .collect();
    match load(&sources, options) {
        Ok(ok) if problems.is_empty() => Ok(ok),
        Ok((_, warnings)) => {
            problems.extend(warnings);
            Err(problems)
        }
        Err(d) => {
            problems.extend(d);
            Err(problems)
        }
    }
}

fn io_diag(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic {
        file: path.display().to_string(),
        line: 1,
        column: 1,
        severity: Severity::Error,
        message: format!("cannot read: {e}"),
        key: None,
    }
}
