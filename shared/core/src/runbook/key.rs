//! Runbook keys: `ROLE:ALERT` where either half may be `*`, and the lookup precedence.

/// Is `key` a valid runbook key (`^([A-Za-z0-9_.-]+|\*):([A-Za-z0-9_.-]+|\*)$`)?
pub fn is_valid_key(key: &str) -> bool {
    fn part(p: &str) -> bool {
        p == "*"
            || (!p.is_empty()
                && p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))
    }
    match key.split_once(':') {
        Some((role, alert)) => part(role) && part(alert),
        None => false,
    }
}

/// Which map key matched an alert, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPattern {
    Exact,
    RoleWildcard,
    AlertWildcard,
    CatchAll,
}

impl KeyPattern {
    /// The candidate keys for `role`/`alert`, best first: exact, `ROLE:*`, `*:ALERT`, `*:*`.
    pub fn candidates(role: &str, alert: &str) -> [(KeyPattern, String); 4] {
        [
            (KeyPattern::Exact, format!("{role}:{alert}")),
            (KeyPattern::RoleWildcard, format!("{role}:*")),
            (KeyPattern::AlertWildcard, format!("*:{alert}")),
            (KeyPattern::CatchAll, "*:*".to_owned()),
        ]
    }
}
