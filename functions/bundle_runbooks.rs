// The build script of every function that carries the runbooks (`include!`d by their
// `build.rs`): bundles `runbooks/*.json` into the binary and fails the build (and so the deploy)
// when they are not valid — the same validation as `selfheal validate`, the same files for every
// function. The generated `runbooks.rs` holds `BUNDLED_RUNBOOKS` and `bundled_runbooks()`.

use selfheal_core::runbook::{load, LoadOptions, RunbookSource};
use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("../../runbooks");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        n.ends_with(".json") && !n.ends_with(".schema.json")
    });
    files.sort();
    let mut texts = Vec::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = format!(
            "runbooks/{}",
            f.file_name().and_then(|n| n.to_str()).unwrap_or("?")
        );
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        texts.push((name, text));
    }
    let sources: Vec<RunbookSource<'_>> = texts
        .iter()
        .map(|(name, text)| RunbookSource { name, text })
        .collect();
    if let Err(diags) = load(&sources, &LoadOptions::default()) {
        let mut msg = String::from("runbooks/ is not valid; fix it before building:\n");
        for d in diags {
            let _ = writeln!(msg, "{d}");
        }
        panic!("{msg}");
    }
    let mut out = String::from("/// The runbook files bundled at build time: (name, text).\npub const BUNDLED_RUNBOOKS: &[(&str, &str)] = &[\n");
    for (name, text) in &texts {
        let _ = writeln!(out, "    ({name:?}, {text:?}),");
    }
    out.push_str("];\n");
    out.push_str(LOADER);
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("runbooks.rs");
    std::fs::write(dest, out).unwrap_or_else(|e| panic!("cannot write bundled runbooks: {e}"));
}

/// Appended to the generated file: loads the bundled files (validated above, so this cannot fail
/// in practice).
const LOADER: &str = r#"
/// The runbooks bundled at build time (validated by the build script).
pub fn bundled_runbooks(
    options: &selfheal_core::runbook::LoadOptions,
) -> Result<selfheal_core::RunbookMap, String> {
    let sources: Vec<selfheal_core::runbook::RunbookSource<'_>> = BUNDLED_RUNBOOKS
        .iter()
        .map(|(name, text)| selfheal_core::runbook::RunbookSource { name, text })
        .collect();
    selfheal_core::runbook::load(&sources, options)
        .map(|(m, _)| m)
        .map_err(|d| d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}
"#;
