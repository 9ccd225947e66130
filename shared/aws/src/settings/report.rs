//! The weekly report's `SELFHEAL_REPORT_*` settings
//! ([`selfheal_service::report::ReportSettings`]); the engine-wide ones it also needs (the table,
//! the Slack webhook) are [`super::engine`]'s.
//!
//! The struct and its pure parse over a lookup (`ReportSettings::from_lookup`) stay in
//! `selfheal_service::report`, which uses them and cannot depend on this crate; the process
//! environment is read for them here.

pub use selfheal_service::report::ReportSettings;

/// The report's settings from the process environment; every problem at once.
pub fn from_env() -> Result<ReportSettings, Vec<String>> {
    from_lookup(super::env)
}

/// The report's settings through `lookup` (tests pass a map); every problem at once.
pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ReportSettings, Vec<String>> {
    ReportSettings::from_lookup(lookup)
}

/// The engine's settings the report needs (`SELFHEAL_TABLE` required, the Slack webhook) and the
/// report's own, through `lookup`, with the problems of both in one [`super::SettingsError`].
pub fn with_engine_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(super::Settings, ReportSettings), super::SettingsError> {
    let mut problems = super::Problems::default();
    let base = super::Settings::from_lookup(true, &lookup)
        .map_err(|e| problems.extend(e.problems))
        .ok();
    let report = from_lookup(&lookup).map_err(|p| problems.extend(p)).ok();
    match (base, report) {
        (Some(base), Some(report)) => Ok((base, report)),
        _ => Err(super::SettingsError {
            problems: problems.into_vec(),
        }),
    }
}

/// [`with_engine_from_lookup`] over the process environment.
pub fn with_engine_from_env() -> Result<(super::Settings, ReportSettings), super::SettingsError> {
    with_engine_from_lookup(super::env)
}
