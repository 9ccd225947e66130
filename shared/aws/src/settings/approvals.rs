//! The slack-approvals function's settings ([`FunctionSettings`]); secrets are never echoed.
//! The function crate re-exports these names as `slack_approvals::settings`.

use std::fmt;
use std::path::PathBuf;

use selfheal_core::approval::{is_group_id, EpochMillis, DEFAULT_TTL_MS};

use super::Reader;

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

/// A secret given as its value (`value_var`, local runs) or as an SSM parameter name.
fn secret(r: &Reader<'_>, value_var: &str, param_var: &str) -> Option<SecretSource> {
    match (r.trimmed(value_var), r.trimmed(param_var)) {
        (Some(v), _) => Some(SecretSource::Value(v)),
        (None, Some(p)) => Some(SecretSource::Parameter(p)),
        (None, None) => None,
    }
}

impl FunctionSettings {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(super::env)
    }

    /// Reads settings through `lookup`; empty values count as unset. The error lists every
    /// problem (`invalid configuration: a; b`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        Self::problems_from_lookup(lookup)
            .map_err(|problems| format!("invalid configuration: {}", problems.join("; ")))
    }

    /// Like [`FunctionSettings::from_lookup`], with the problems as a list.
    pub fn problems_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<String>> {
        let mut r = Reader::new(&lookup);
        let signing_secret = secret(
            &r,
            "SELFHEAL_SLACK_SIGNING_SECRET",
            "SELFHEAL_SLACK_SIGNING_SECRET_PARAM",
        )
        .unwrap_or_else(|| {
            r.problem("SELFHEAL_SLACK_SIGNING_SECRET_PARAM is required (the SSM SecureString holding the Slack app's signing secret)");
            SecretSource::Value(String::new())
        });
        let queue_url = r
            .required("SELFHEAL_QUEUE_URL", "the alert queue")
            .unwrap_or_default();
        let table = r
            .required("SELFHEAL_TABLE", "the DynamoDB state table")
            .unwrap_or_default();
        let default_group = r.trimmed("SELFHEAL_APPROVER_GROUP");
        if let Some(g) = &default_group {
            if !is_group_id(g) {
                r.problem(format!(
                    "SELFHEAL_APPROVER_GROUP={:?} is not a Slack user-group id (S…)",
                    crate::text::clip_chars(g, 40)
                ));
            }
        }
        let ttl_ms = r.number(
            "SELFHEAL_APPROVAL_TTL_MINUTES",
            DEFAULT_TTL_MS / 60_000,
            1..=i64::from(super::engine::MAX_APPROVAL_TTL_MINUTES),
        ) * 60_000;
        let slack_token = secret(&r, "SELFHEAL_SLACK_TOKEN", "SELFHEAL_SLACK_TOKEN_PARAM");
        let slack_api_url = trimmed_url(&mut r, "SELFHEAL_SLACK_API_URL", DEFAULT_SLACK_API_URL);
        let response_url_prefix = trimmed_url(
            &mut r,
            "SELFHEAL_SLACK_RESPONSE_URL_PREFIX",
            DEFAULT_RESPONSE_URL_PREFIX,
        );
        let runbooks = r.trimmed("SELFHEAL_RUNBOOKS").map(PathBuf::from);
        r.finish(Self {
            signing_secret,
            queue_url,
            table,
            default_group,
            ttl_ms,
            slack_token,
            slack_api_url,
            response_url_prefix,
            runbooks,
        })
    }
}

/// An http(s) URL without surrounding spaces, else `default`.
fn trimmed_url(r: &mut Reader<'_>, name: &str, default: &str) -> String {
    r.optional_http_url(name)
        .unwrap_or_else(|| default.to_owned())
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
            ("SELFHEAL_APPROVAL_TTL_MINUTES", "45"),
        ])
        .expect("valid");
        assert!(!format!("{ok:?}").contains("topsecretvalue"));
        assert_eq!(ok.ttl_ms, 45 * 60_000);
    }
}
