//! When a press expires: Slack timestamps in epoch milliseconds and [`check_expiry`].

use super::{ApprovalError, EpochMillis, Press};

/// A Slack `ts` (`"1531420618.000200"`, seconds) in epoch milliseconds.
pub fn slack_ts_ms(ts: &str) -> Option<EpochMillis> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    if secs.is_empty() || secs.len() > 12 || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    Some(secs.parse::<i64>().ok()? * 1000 + millis)
}

/// When `press` expires: the button's `exp`, but never later than the Slack message's own
/// post time (`container.message_ts`, set by Slack) plus `ttl_ms` — so a value that claims a
/// later expiry gains nothing. Errors with 410 once `now_ms` is past it.
pub fn check_expiry(
    press: &Press,
    ttl_ms: EpochMillis,
    now_ms: EpochMillis,
) -> Result<EpochMillis, ApprovalError> {
    let posted = slack_ts_ms(&press.interaction.message_ts).ok_or_else(|| {
        ApprovalError::Malformed("container.message_ts is not a Slack timestamp".to_owned())
    })?;
    let expires = press
        .button
        .expires_at_ms
        .min(posted.saturating_add(ttl_ms));
    if now_ms > expires {
        return Err(ApprovalError::Expired {
            expired_at_ms: expires,
        });
    }
    Ok(expires)
}
