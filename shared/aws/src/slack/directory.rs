//! [`SlackDirectory`]: the press handler's [`Directory`] port (who is in a Slack user group) over
//! the Web API's `usergroups.users.list` with a bot token (scope `usergroups:read`), cached per
//! warm container for [`GROUP_CACHE_TTL`].
//!
//! One attempt, within [`SLACK_CALL_TIMEOUT`], through the shared Slack client and call helper
//! (`slack::delivery`): the press must be answered within Slack's 3 seconds, and a failure is a
//! 503 that asks the user to press again. It decides nothing about who may approve (that is
//! `selfheal_core::approval::AllowList`); errors name the method, never the token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use selfheal_core::approval::is_group_id;
use selfheal_service::press::{Directory, PressError};
use serde_json::Value;

use super::delivery::{call, Method, RetryPolicy, Verdict};
use super::Secret;

/// Each call to Slack from the press handler (group lookup, `response_url`) gives up after this
/// long, so the answer stays well within Slack's 3 seconds.
pub const SLACK_CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// Group membership is cached this long per warm container.
pub const GROUP_CACHE_TTL: Duration = Duration::from_secs(60);

const METHOD: &str = "usergroups.users.list";

/// `usergroups.users.list` with a bot token, cached for [`GROUP_CACHE_TTL`].
pub struct SlackDirectory {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    cache: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl SlackDirectory {
    /// `http`: the shared client ([`super::http_client`]); `api_url`: the Web API base.
    pub fn new(http: reqwest::Client, api_url: impl Into<String>, token: Secret) -> Self {
        Self {
            http,
            api_url: api_url.into().trim_end_matches('/').to_owned(),
            token,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, group: &str) -> Option<Vec<String>> {
        let cache = self.cache.lock().ok()?;
        let (at, members) = cache.get(group)?;
        (at.elapsed() < GROUP_CACHE_TTL).then(|| members.clone())
    }
}

/// Delivered when the answer is JSON with `"ok": true`; anything else is final.
fn judge_members(status: StatusCode, _headers: &HeaderMap, body: &str) -> Verdict {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return Verdict::fail(format!("{METHOD} answered {status} with no JSON"));
    };
    if json.get("ok").and_then(Value::as_bool) == Some(true) {
        return Verdict::Done(body.to_owned());
    }
    let err = json
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    Verdict::fail(format!("{METHOD} answered {status}: {err}"))
}

/// The user ids of a `usergroups.users.list` answer already judged `ok`.
fn member_ids(body: &str) -> Vec<String> {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|json| {
            json.get("users").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
        })
        .unwrap_or_default()
}

#[async_trait]
impl Directory for SlackDirectory {
    async fn members(&self, group: &str) -> Result<Vec<String>, PressError> {
        if let Some(m) = self.cached(group) {
            return Ok(m);
        }
        if !is_group_id(group) {
            return Err(PressError::NotAGroup(group.to_owned()));
        }
        // A group id is upper-case letters and digits: nothing to escape in the query.
        let url = format!("{}/{METHOD}?usergroup={group}", self.api_url);
        let body = call(
            &self.http,
            &RetryPolicy::single(SLACK_CALL_TIMEOUT),
            Method::Get,
            &url,
            Some(&self.token),
            None,
            judge_members,
        )
        .await
        .map_err(|e| {
            PressError::Slack(if e.message.starts_with(METHOD) {
                e.message
            } else {
                format!("{METHOD} failed: {}", e.message)
            })
        })?;
        let members = member_ids(&body);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(group.to_owned(), (Instant::now(), members.clone()));
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_by_ok() {
        let ok = r#"{"ok":true,"users":["U1","U2",3]}"#;
        assert!(matches!(
            judge_members(StatusCode::OK, &HeaderMap::new(), ok),
            Verdict::Done(_)
        ));
        assert_eq!(member_ids(ok), vec!["U1", "U2"]);
        match judge_members(
            StatusCode::OK,
            &HeaderMap::new(),
            r#"{"ok":false,"error":"no_such_subteam"}"#,
        ) {
            Verdict::Fail { why, .. } => {
                assert_eq!(
                    why,
                    "usergroups.users.list answered 200 OK: no_such_subteam"
                )
            }
            _ => panic!("not a failure"),
        }
        match judge_members(StatusCode::BAD_GATEWAY, &HeaderMap::new(), "<html>") {
            Verdict::Fail { why, .. } => {
                assert_eq!(
                    why,
                    "usergroups.users.list answered 502 Bad Gateway with no JSON"
                )
            }
            _ => panic!("not a failure"),
        }
    }
}
