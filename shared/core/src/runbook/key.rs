//! Runbook keys: `ROLE:ALERT` where either half may be `*` (precedence lives in `RunbookMap::lookup`).

/// Is `key` a valid runbook key (`^([A-Za-z0-9_.-]+|\*):([A-Za-z0-9_.-]+|\*)$`)?
pub fn is_valid_key(key: &str) -> bool {
    fn part(p: &str) -> bool {
        p == "*"
            || (!p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))
    }
    match key.split_once(':') {
        Some((role, alert)) => part(role) && part(alert),
        None => false,
    }
}
