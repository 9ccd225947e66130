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
