//! Slack request signing (`v0=` HMAC-SHA256 over `v0:<timestamp>:<body>`) and its
//! verification with replay protection.

use std::fmt::Write as _;

use hmac::{KeyInit, Mac};

use super::{ApprovalError, EpochMillis};

/// The header carrying Slack's signature (`v0=<hex>`); header names are case-insensitive.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The header carrying the request time (epoch seconds) that the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The only signature version Slack uses.
pub const SIGNATURE_VERSION: &str = "v0";
/// Requests whose timestamp is further than this from now are rejected (replay protection).
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Slack's signature of `body` sent at `timestamp`: `v0=` + hex(HMAC-SHA256(secret,
/// `v0:<timestamp>:<body>`)). For tests and local stand-ins; the function uses
/// [`verify_signature`].
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let Some(mac) = base_mac(secret, timestamp, body) else {
        // Unreachable (HMAC takes keys of any length); a bare prefix never verifies.
        return format!("{SIGNATURE_VERSION}=");
    };
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(3 + digest.len() * 2);
    out.push_str(SIGNATURE_VERSION);
    out.push('=');
    for b in digest.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The MAC over `v0:<timestamp>:<body>`. `None` only if the key were refused, which HMAC never
/// does (it takes keys of any length).
fn base_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(SIGNATURE_VERSION.as_bytes());
    mac.update(b":");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

/// Verifies a request from Slack. `timestamp` and `signature` are the raw header values (absent
/// → 401), `body` the raw body exactly as received, `now_ms` the current time. The timestamp's
/// age is checked first (|now − timestamp| ≤ [`MAX_CLOCK_SKEW_SECONDS`]), then the signature, in
/// constant time. Returns the request timestamp in seconds.
pub fn verify_signature(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_ms: EpochMillis,
) -> Result<i64, ApprovalError> {
    let timestamp = timestamp
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApprovalError::Unsigned(format!("no {TIMESTAMP_HEADER} header")))?;
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApprovalError::Unsigned(format!("no {SIGNATURE_HEADER} header")))?;
    if timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApprovalError::Unsigned(format!(
            "{TIMESTAMP_HEADER} is not a number of seconds"
        )));
    }
    let ts: i64 = timestamp.parse().map_err(|_| {
        ApprovalError::Unsigned(format!("{TIMESTAMP_HEADER} is not a number of seconds"))
    })?;
    let skew = now_ms.div_euclid(1000) - ts;
    if skew.abs() > MAX_CLOCK_SKEW_SECONDS {
        return Err(ApprovalError::StaleTimestamp { skew_seconds: skew });
    }
    let hex = signature
        .strip_prefix(SIGNATURE_VERSION)
        .and_then(|s| s.strip_prefix('='))
        .ok_or(ApprovalError::BadSignature)?;
    let expected = decode_hex(hex).ok_or(ApprovalError::BadSignature)?;
    base_mac(secret, timestamp, body)
        .ok_or(ApprovalError::BadSignature)?
        .verify_slice(&expected)
        .map_err(|_| ApprovalError::BadSignature)?;
    Ok(ts)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some((digit(pair[0])? << 4) | digit(pair[1])?))
        .collect()
}
