//! One settings loader, held to the documentation and to the sources:
//!
//! 1. every `SELFHEAL_*` setting of the registry (`selfheal_aws::settings::registry`) is in the
//!    README's configuration table (the slack-approvals ones also in docs/approvals.md), every
//!    `SELFHEAL_*` name the README mentions is in the registry (exceptions listed with a reason),
//!    and the loaders read exactly the registry's names;
//! 2. no `src/` of the workspace reads a `SELFHEAL_*` variable outside
//!    `shared/aws/src/settings/` (test-infrastructure variables listed with a reason);
//! 3. every loader reports several problems at once.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use selfheal_aws::settings::approvals::FunctionSettings;
use selfheal_aws::settings::process::ProcessSettings;
use selfheal_aws::settings::registry::{self, Component, SETTINGS};
use selfheal_aws::settings::{report, Settings};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `SELFHEAL_[A-Z0-9_]*` token in `text` (a trailing `_` kept: `SELFHEAL_REPORT_*`).
fn selfheal_names(text: &str) -> BTreeSet<String> {
    text.match_indices("SELFHEAL_")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect()
}

/// README mentions of `SELFHEAL_*` names that are not runtime settings.
const README_NOT_SETTINGS: &[(&str, &str)] = &[
    ("SELFHEAL_", "`SELFHEAL_*`: the settings as a whole"),
    (
        "SELFHEAL_REPORT_",
        "the `SELFHEAL_REPORT_*` thresholds row: each threshold is listed by its suffix",
    ),
    (
        "SELFHEAL_REPORT_DOCS",
        "a test variable: where `report_two_weeks`/`fixture_report` write the docs' pictures",
    ),
];

/// The README's configuration reference: from its heading to the next `## `.
fn configuration_table(readme: &str) -> &str {
    let start = readme
        .find("## Configuration reference")
        .expect("README has a Configuration reference");
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn every_setting_is_in_the_readme_and_every_readme_setting_is_registered() {
    let readme = read(&root().join("README.md"));
    let table = configuration_table(&readme);
    let thresholds_row = table
        .lines()
        .find(|l| l.starts_with("| `SELFHEAL_REPORT_*` thresholds"))
        .expect("the thresholds row");
    let undocumented: Vec<&str> = SETTINGS
        .iter()
        .map(|s| s.name)
        .filter(|name| {
            let suffix = name.strip_prefix("SELFHEAL_REPORT_").unwrap_or("-");
            !table.contains(&format!("`{name}`"))
                && !thresholds_row.contains(&format!("`{suffix}`"))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "settings missing from the README's configuration table: {undocumented:?}"
    );

    let unregistered: Vec<String> = selfheal_names(&readme)
        .into_iter()
        .filter(|n| registry::find(n).is_none())
        .filter(|n| !README_NOT_SETTINGS.iter().any(|(x, _)| x == n))
        .collect();
    assert!(
        unregistered.is_empty(),
        "the README names SELFHEAL_* variables the registry does not know: {unregistered:?}"
    );
}

#[test]
fn approvals_settings_are_in_its_own_page() {
    let page = read(&root().join("docs/approvals.md"));
    let missing: Vec<&str> = registry::read_by(Component::Approvals)
        .map(|s| s.name)
        .filter(|n| !n.contains("TIMEOUT_MS"))
        .filter(|n| !page.contains(&format!("`{n}`")))
        .collect();
    assert!(missing.is_empty(), "not in docs/approvals.md: {missing:?}");
}

/// The files that read settings: the loaders of `shared/aws/src/settings/`.
fn loader_sources() -> Vec<(PathBuf, String)> {
    let dir = root().join("shared/aws/src/settings");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("settings dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| !p.ends_with("registry.rs"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = read(&p);
            (p, text)
        })
        .collect()
}

#[test]
fn the_loaders_read_exactly_the_registered_names() {
    // A name read is a whole string literal `"SELFHEAL_…"` (messages that start with a name are
    // not reads).
    let mut read_names = BTreeSet::new();
    for (_, text) in loader_sources() {
        for (i, _) in text.match_indices("\"SELFHEAL_") {
            let rest = &text[i + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            if rest[end..].starts_with('"') {
                read_names.insert(rest[..end].to_owned());
            }
        }
    }
    let unregistered: Vec<&String> = read_names
        .iter()
        .filter(|n| registry::find(n).is_none())
        .collect();
    assert!(
        unregistered.is_empty(),
        "read but not in the registry: {unregistered:?}"
    );
    let unread: Vec<&str> = SETTINGS
        .iter()
        .map(|s| s.name)
        .filter(|n| !read_names.contains(*n))
        .collect();
    assert!(
        unread.is_empty(),
        "registered but read by no loader: {unread:?}"
    );
    // The report's loader reads every SELFHEAL_REPORT_* name (the test this one replaces).
    assert!(
        read_names
            .iter()
            .filter(|n| n.starts_with("SELFHEAL_REPORT_"))
            .count()
            >= 22
    );
}

/// `SELFHEAL_*` variables that are test infrastructure, not settings: read where they are used.
const TEST_INFRASTRUCTURE: &[(&str, &str)] = &[
    (
        "SELFHEAL_MOTO_",
        "where the moto emulator is (tests, `selfheal demo`)",
    ),
    (
        "SELFHEAL_REQUIRE_",
        "tests fail instead of skipping when a tool is missing",
    ),
    ("SELFHEAL_SIM_", "knobs of the deterministic simulation"),
    (
        "SELFHEAL_FAILPOINTS",
        "fault injection, compiled only with the `failpoints` feature",
    ),
    ("SELFHEAL_BENCH_", "benchmark sizes"),
];

/// Files that read the environment through a variable rather than a literal name.
const READS_THROUGH_A_VARIABLE: &[(&str, &str)] = &[(
    "shared/service/src/failpoints.rs",
    "reads `ENV` = SELFHEAL_FAILPOINTS (test infrastructure)",
)];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The reads of `SELFHEAL_*` settings in `text` (the file `rel`) that break the rule.
fn forbidden_env_reads(rel: &str, text: &str) -> Vec<String> {
    let mut violations = Vec::new();
    for pattern in ["env::var(", "var_os(", "env::vars("] {
        for (i, _) in text.match_indices(pattern) {
            let arg = text[i + pattern.len()..].trim_start();
            let line = text[..i].lines().count().max(1);
            if pattern == "env::vars(" {
                violations.push(format!("{rel}:{line}: reads the whole environment"));
            } else if let Some(lit) = arg.strip_prefix('"') {
                let name = &lit[..lit.find('"').unwrap_or(lit.len())];
                if name.starts_with("SELFHEAL_")
                    && !TEST_INFRASTRUCTURE.iter().any(|(p, _)| name.starts_with(p))
                {
                    violations.push(format!("{rel}:{line}: reads {name}"));
                }
            } else if !READS_THROUGH_A_VARIABLE.iter().any(|(f, _)| *f == rel) {
                violations.push(format!(
                    "{rel}:{line}: reads the environment through a variable"
                ));
            }
        }
    }
    violations
}

#[test]
fn the_scan_finds_reads() {
    let text = r#"
        let a = std::env::var("SELFHEAL_TABLE");
        let b = std::env::var_os("SELFHEAL_MOTO_URL");
        let c = env::var(name);
        let d = std::env::var("HOME");
        for (k, v) in std::env::vars() {}
    "#;
    let v = forbidden_env_reads("x.rs", text);
    assert_eq!(v.len(), 3, "{v:?}");
    assert!(v[0].contains("reads SELFHEAL_TABLE"), "{v:?}");
    assert!(v[1].contains("through a variable"), "{v:?}");
    assert!(v[2].contains("whole environment"), "{v:?}");
}

#[test]
fn no_selfheal_variable_is_read_outside_the_settings_module() {
    let root = root();
    let mut files = Vec::new();
    for group in ["shared", "functions"] {
        for krate in std::fs::read_dir(root.join(group))
            .expect("crates")
            .flatten()
        {
            rust_files(&krate.path().join("src"), &mut files);
            let build = krate.path().join("build.rs");
            if build.exists() {
                files.push(build);
            }
        }
    }
    assert!(files.len() > 50, "{} files", files.len());
    let settings_dir = root.join("shared/aws/src/settings");
    let mut violations = Vec::new();
    for path in files.iter().filter(|p| !p.starts_with(&settings_dir)) {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        violations.extend(forbidden_env_reads(&rel, &read(path)));
    }
    assert!(
        violations.is_empty(),
        "SELFHEAL_* settings are read only in shared/aws/src/settings/:\n{}",
        violations.join("\n")
    );
}

fn map(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

type Loader = fn(&HashMap<String, String>) -> Vec<String>;
/// A loader's case: its name, the loader, the variables set, the problems expected.
type Case = (
    &'static str,
    Loader,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

fn engine(m: &HashMap<String, String>) -> Vec<String> {
    Settings::from_lookup(true, |k| m.get(k).cloned())
        .err()
        .map(|e| e.problems)
        .unwrap_or_default()
}

fn report_loader(m: &HashMap<String, String>) -> Vec<String> {
    report::from_lookup(|k| m.get(k).cloned())
        .err()
        .unwrap_or_default()
}

fn approvals(m: &HashMap<String, String>) -> Vec<String> {
    FunctionSettings::problems_from_lookup(|k| m.get(k).cloned())
        .err()
        .unwrap_or_default()
}

fn process(m: &HashMap<String, String>) -> Vec<String> {
    ProcessSettings::from_lookup(|k| m.get(k).cloned()).1
}

fn startup(m: &HashMap<String, String>) -> Vec<String> {
    selfheal_aws::startup::settings_from_lookup(|k| m.get(k).cloned())
        .err()
        .map(|e| e.problems)
        .unwrap_or_default()
}

fn report_with_engine(m: &HashMap<String, String>) -> Vec<String> {
    report::with_engine_from_lookup(|k| m.get(k).cloned())
        .err()
        .map(|e| e.problems)
        .unwrap_or_default()
}

#[test]
fn every_loader_reports_every_problem_at_once() {
    let cases: &[Case] = &[
        (
            "engine",
            engine,
            &[
                ("SELFHEAL_TABLE", "t"),
                ("SELFHEAL_MAX_PER_HOUR", "many"),
                ("SELFHEAL_SSM_SEND_TIMEOUT_MS", "0"),
            ],
            &[
                "SELFHEAL_MAX_PER_HOUR=\"many\" is not a whole number ≥ 1",
                "SELFHEAL_SSM_SEND_TIMEOUT_MS=\"0\" is not a whole number of milliseconds from 1 to 900000",
            ],
        ),
        (
            "report",
            report_loader,
            &[
                ("SELFHEAL_REPORT_FREQUENT_ALERTS", "0"),
                ("SELFHEAL_REPORT_ALARM_HISTORY", "maybe"),
            ],
            &[
                "SELFHEAL_REPORT_FREQUENT_ALERTS=\"0\" is not a whole number ≥ 1",
                "SELFHEAL_REPORT_ALARM_HISTORY=\"maybe\" is not true or false",
            ],
        ),
        (
            "approvals",
            approvals,
            &[
                ("SELFHEAL_SLACK_SIGNING_SECRET_PARAM", "/p"),
                ("SELFHEAL_QUEUE_URL", "https://sqs.example/q"),
                ("SELFHEAL_TABLE", "t"),
                ("SELFHEAL_APPROVAL_TTL_MINUTES", "20000"),
                ("SELFHEAL_SLACK_API_URL", "slack.com"),
            ],
            &[
                "SELFHEAL_APPROVAL_TTL_MINUTES=\"20000\" is not a whole number from 1 to 10080",
                "SELFHEAL_SLACK_API_URL=\"slack.com\" is not an http(s) URL",
            ],
        ),
        (
            "process",
            process,
            &[
                ("SELFHEAL_CLAIM_LEASE_SECONDS", "-5"),
                ("SELFHEAL_METRICS", "loud"),
                ("SELFHEAL_LOG_FORMAT", "xml"),
            ],
            &[
                "SELFHEAL_CLAIM_LEASE_SECONDS=\"-5\" is not a whole number of seconds ≥ 1",
                "SELFHEAL_METRICS=\"loud\" is not stdout, stderr or off",
                "SELFHEAL_LOG_FORMAT=\"xml\" is not text or json",
            ],
        ),
        (
            "start-up (engine and process)",
            startup,
            &[
                ("SELFHEAL_HISTORY_TTL_DAYS", "-1"),
                ("SELFHEAL_METRICS", "loud"),
                ("SELFHEAL_FUNCTION_BUDGET_SECONDS", "x"),
            ],
            &[
                "SELFHEAL_TABLE is required",
                "SELFHEAL_HISTORY_TTL_DAYS=\"-1\"",
                "SELFHEAL_METRICS=\"loud\"",
                "SELFHEAL_FUNCTION_BUDGET_SECONDS=\"x\"",
            ],
        ),
        (
            "report with the engine's settings",
            report_with_engine,
            &[
                ("SELFHEAL_REPORT_TZ", "Nowhere/City"),
                ("SELFHEAL_SLACK_WEBHOOK_URL", "hooks.example/SECRET"),
            ],
            &[
                "SELFHEAL_TABLE is required",
                "SELFHEAL_REPORT_TZ",
                "SELFHEAL_SLACK_WEBHOOK_URL is not an http(s) URL (value not shown)",
            ],
        ),
    ];
    for (loader, load, vars, expected) in cases {
        let problems = load(&map(vars));
        for e in *expected {
            assert!(
                problems.iter().any(|p| p.contains(e)),
                "{loader}: no problem containing {e:?} in {problems:?}"
            );
        }
        assert!(
            problems.len() >= 2 && problems.len() == expected.len(),
            "{loader}: {problems:?}"
        );
        assert!(
            !problems.iter().any(|p| p.contains("SECRET")),
            "{loader}: a secret in {problems:?}"
        );
    }
}
