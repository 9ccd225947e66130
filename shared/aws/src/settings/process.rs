//! Settings of the running process rather than of the engine: the account of the instances, the
//! claim lease, where metric lines go, the log format, the function budget used when runbooks are
//! validated offline, and the operator's name. Each is read here, once, for the start-up path
//! ([`crate::startup`]) and the command line; invalid values are replaced by their defaults and
//! reported ([`ProcessSettings::from_lookup`] returns both), so a start-up that must not run on a
//! bad value reports them with the engine's own problems.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use selfheal_service::metrics::MetricsChoice;

use super::Reader;

/// The log format of the long-running commands (`SELFHEAL_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s.eq_ignore_ascii_case("json") {
            Ok(Self::Json)
        } else if s.eq_ignore_ascii_case("text") {
            Ok(Self::Text)
        } else {
            Err(())
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// The process's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSettings {
    /// `SELFHEAL_ACCOUNT_ID`: the account the instances live in (tagging ARNs), if set.
    pub account_id: Option<String>,
    /// `SELFHEAL_CLAIM_LEASE_SECONDS` (≥ 1): how long a claim and its lease are owned; unset, the
    /// function budget plus a minute ([`ProcessSettings::claim_lease`]).
    pub claim_lease_seconds: Option<u64>,
    /// `SELFHEAL_METRICS` (`stdout`, `stderr`, `off`); unset, the profile's default.
    pub metrics: Option<MetricsChoice>,
    /// `SELFHEAL_LOG_FORMAT` (`text` or `json`, default `text`).
    pub log_format: LogFormat,
    /// `SELFHEAL_FUNCTION_BUDGET_SECONDS` (default 840, ≥ 1), as offline validation uses it.
    pub function_budget_seconds: u64,
    /// `SELFHEAL_USER`: who runs a command, when `--by` is not given.
    pub user: Option<String>,
}

impl Default for ProcessSettings {
    fn default() -> Self {
        Self {
            account_id: None,
            claim_lease_seconds: None,
            metrics: None,
            log_format: LogFormat::Text,
            function_budget_seconds: u64::from(super::engine::DEFAULT_FUNCTION_BUDGET_SECONDS),
            user: None,
        }
    }
}

impl ProcessSettings {
    /// From the process environment; invalid values are their defaults (see
    /// [`ProcessSettings::from_lookup`] for the problems).
    pub fn from_env() -> Self {
        Self::from_lookup(super::env).0
    }

    /// Through `lookup`: the settings (an invalid value replaced by its default) and every
    /// problem found.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut r = Reader::new(&lookup);
        let defaults = Self::default();
        let lease = r.number_of("SELFHEAL_CLAIM_LEASE_SECONDS", 0, 1.., "seconds");
        let s = Self {
            account_id: r.trimmed("SELFHEAL_ACCOUNT_ID"),
            claim_lease_seconds: (lease > 0).then_some(lease),
            metrics: r.parsed("SELFHEAL_METRICS", "stdout, stderr or off"),
            log_format: r
                .parsed("SELFHEAL_LOG_FORMAT", "text or json")
                .unwrap_or_default(),
            // The engine's loader reads it too, with the same message (listed once).
            function_budget_seconds: r.number(
                "SELFHEAL_FUNCTION_BUDGET_SECONDS",
                defaults.function_budget_seconds,
                1..,
            ),
            user: r.trimmed("SELFHEAL_USER"),
        };
        (s, r.into_problems())
    }

    /// How long a claim and its lease are owned: `SELFHEAL_CLAIM_LEASE_SECONDS`, else `budget`
    /// plus a minute (a crashed owner's claim is taken over after that).
    pub fn claim_lease(&self, budget: Duration) -> Duration {
        self.claim_lease_seconds
            .map_or(budget + Duration::from_secs(60), Duration::from_secs)
    }

    /// The metrics sink: `SELFHEAL_METRICS` when set, else `default`.
    pub fn metrics_or(&self, default: MetricsChoice) -> MetricsChoice {
        self.metrics.unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> (ProcessSettings, Vec<String>) {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProcessSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let (s, problems) = load(&[]);
        assert!(problems.is_empty());
        assert_eq!(s, ProcessSettings::default());
        assert_eq!(s.function_budget_seconds, 840);
        assert_eq!(
            s.claim_lease(Duration::from_secs(840)),
            Duration::from_secs(900)
        );
        assert_eq!(s.metrics_or(MetricsChoice::Stdout), MetricsChoice::Stdout);
    }

    #[test]
    fn values_and_problems() {
        let (s, problems) = load(&[
            ("SELFHEAL_ACCOUNT_ID", "123456789012"),
            ("SELFHEAL_CLAIM_LEASE_SECONDS", "2"),
            ("SELFHEAL_METRICS", "stderr"),
            ("SELFHEAL_LOG_FORMAT", "JSON"),
            ("SELFHEAL_FUNCTION_BUDGET_SECONDS", "60"),
            ("SELFHEAL_USER", "ana"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.account_id.as_deref(), Some("123456789012"));
        assert_eq!(s.claim_lease(Duration::ZERO), Duration::from_secs(2));
        assert_eq!(s.metrics, Some(MetricsChoice::Stderr));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.function_budget_seconds, 60);
        assert_eq!(s.user.as_deref(), Some("ana"));

        let (s, problems) = load(&[
            ("SELFHEAL_CLAIM_LEASE_SECONDS", "0"),
            ("SELFHEAL_METRICS", "loud"),
        ]);
        assert_eq!(s.claim_lease_seconds, None);
        assert_eq!(s.metrics, None);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
