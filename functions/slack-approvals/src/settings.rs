//! The function's `SELFHEAL_*` settings, read in one place; every problem is reported at once.
//! Secrets are never echoed.

use std::fmt;
use std::path::PathBuf;

use selfheal_core::approval::{is_group_id, EpochMillis, DEFAULT_TTL_MS};

/// Default base of the URLs the function may post replies to (`response_url`).
pub const DEFAULT_RESPONSE_URL_PREFIX: &str = "https://hooks.slack.com/";
/// Default Slack Web API base.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// Where the signing secret (or the bot token) comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An SSM SecureString parameter name.
    Parameter(String),
    /// The value itself (tests and local runs).
    Value(String),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parameter(p) => f.debug_tuple("Parameter").field(p).finish(),
            Self::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

/// The settings of `slack-approvals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSettings {
    /// `SELFHEAL_SLACK_SIGNING_SECRET_PARAM` (SSM SecureString), or `SELFHEAL_SLACK_SIGNING_SECRET`.
    pub signing_secret: SecretSource,
    /// `SELFHEAL_QUEUE_URL`: the alert queue the engine reads.
    pub queue_url: String,
    /// `SELFHEAL_TABLE`: the state table (approval records live there).
    pub table: String,
    /// `SELFHEAL_APPROVER_GROUP`: a Slack user group (`S…`) whose members may approve any runbook.
    pub default_group: Option<String>,
    /// `SELFHEAL_APPROVAL_TTL_MINUTES` (default 30).
    pub ttl_ms: EpochMillis,
    /// `SELFHEAL_SLACK_TOKEN_PARAM` (SSM SecureString) or `SELFHEAL_SLACK_TOKEN`: a bot token with
    /// `usergroups:read`, needed only when groups are used.
    pub slack_token: Option<SecretSource>,
    /// `SELFHEAL_SLACK_API_URL` (default `https://slack.com/api`).
    pub slack_api_url: String,
    /// `SELFHEAL_SLACK_RESPONSE_URL_PREFIX` (default `https://hooks.slack.com/`): replies go
    /// only to `response_url`s under it.
    pub response_url_prefix: String,
    /// `SELFHEAL_RUNBOOKS`: runbook file or directory (else the bundled copy).
    pub runbooks: Option<PathBuf>,
}

impl FunctionSettings {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let signing_secret = match (
            get("SELFHEAL_SLACK_SIGNING_SECRET"),
            get("SELFHEAL_SLACK_SIGNING_SECRET_PARAM"),
        ) {
            (Some(v), _) => SecretSource::Value(v),
            (None, Some(p)) => SecretSource::Parameter(p),
            (None, None) => {
                problems.push("SELFHEAL_SLACK_SIGNING_SECRET_PARAM is required (the SSM SecureString holding the Slack app's signing secret)".to_owned());
                SecretSource::Value(String::new())
            }
        };
        let queue_url = get("SELFHEAL_QUEUE_URL").unwrap_or_else(|| {
            problems.push("SELFHEAL_QUEUE_URL is required (the alert queue)".to_owned());
            String::new()
        });
        let table = get("SELFHEAL_TABLE").unwrap_or_else(|| {
            problems.push("SELFHEAL_TABLE is required (the DynamoDB state table)".to_owned());
            String::new()
        });
        let default_group = get("SELFHEAL_APPROVER_GROUP");
        if let Some(g) = &default_group {
            if !is_group_id(g) {
                problems.push(format!(
                    "SELFHEAL_APPROVER_GROUP={g:?} is not a Slack user-group id (S…)"
                ));
            }
        }
        let ttl_ms = match get("SELFHEAL_APPROVAL_TTL_MINUTES") {
            None => DEFAULT_TTL_MS,
            Some(raw) => match raw.parse::<i64>() {
                Ok(m) if (1..=10_080).contains(&m) => m * 60_000,
                _ => {
                    problems.push(format!(
                        "SELFHEAL_APPROVAL_TTL_MINUTES={raw:?} is not a whole number between 1 and 10080"
                    ));
                    DEFAULT_TTL_MS
                }
            },
        };
        let slack_token = match (
            get("SELFHEAL_SLACK_TOKEN"),
            get("SELFHEAL_SLACK_TOKEN_PARAM"),
        ) {
            (Some(v), _) => Some(SecretSource::Value(v)),
            (None, Some(p)) => Some(SecretSource::Parameter(p)),
            (None, None) => None,
        };
        let url = |k: &str, default: &str, problems: &mut Vec<String>| {
            let v = get(k).unwrap_or_else(|| default.to_owned());
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                problems.push(format!("{k}={v:?} is not an http(s) URL"));
            }
            v
        };
        let slack_api_url = url(
            "SELFHEAL_SLACK_API_URL",
            DEFAULT_SLACK_API_URL,
            &mut problems,
        );
        let response_url_prefix = url(
            "SELFHEAL_SLACK_RESPONSE_URL_PREFIX",
            DEFAULT_RESPONSE_URL_PREFIX,
            &mut problems,
        );
        if problems.is_empty() {
            Ok(Self {
                signing_secret,
                queue_url,
                table,
                default_group,
                ttl_ms,
                slack_token,
                slack_api_url,
                response_url_prefix,
                runbooks: get("SELFHEAL_RUNBOOKS").map(PathBuf::from),
            })
        } else {
            Err(format!("invalid configuration: {}", problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<FunctionSettings, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FunctionSettings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_required() {
        let s = load(&[
            (
                "SELFHEAL_SLACK_SIGNING_SECRET_PARAM",
                "/selfheal/slack-signing-secret",
            ),
            ("SELFHEAL_QUEUE_URL", "https://sqs.example/q"),
            ("SELFHEAL_TABLE", "t"),
        ])
        .expect("valid");
        assert_eq!(s.ttl_ms, 30 * 60_000);
        assert_eq!(s.response_url_prefix, "https://hooks.slack.com/");
        assert_eq!(s.slack_api_url, "https://slack.com/api");
        assert_eq!(s.default_group, None);
        assert_eq!(s.slack_token, None);

        let err = load(&[]).expect_err("missing");
        assert!(err.contains("SELFHEAL_SLACK_SIGNING_SECRET_PARAM"), "{err}");
        assert!(err.contains("SELFHEAL_QUEUE_URL"), "{err}");
        assert!(err.contains("SELFHEAL_TABLE"), "{err}");
    }

    #[test]
    fn bad_values_are_reported_and_secrets_hidden() {
        let err = load(&[
            ("SELFHEAL_SLACK_SIGNING_SECRET", "topsecretvalue"),
            ("SELFHEAL_QUEUE_URL", "q"),
            ("SELFHEAL_TABLE", "t"),
            ("SELFHEAL_APPROVER_GROUP", "U123"),
            ("SELFHEAL_APPROVAL_TTL_MINUTES", "0"),
        ])
        .expect_err("invalid");
        assert!(err.contains("SELFHEAL_APPROVER_GROUP"), "{err}");
        assert!(err.contains("SELFHEAL_APPROVAL_TTL_MINUTES"), "{err}");
        assert!(!err.contains("topsecretvalue"), "{err}");
        let ok = load(&[
            ("SELFHEAL_SLACK_SIGNING_SECRET", "topsecretvalue"),
            ("SELFHEAL_QUEUE_URL", "q"),
            ("SELFHEAL_TABLE", "t"),
        ])
        .expect("valid");
        assert!(!format!("{ok:?}").contains("topsecretvalue"));
    }
}
