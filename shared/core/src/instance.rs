//! EC2 instance ids, validated once at the edge so nothing malformed reaches SSM.

use std::fmt;

/// An EC2 instance id: `i-` followed by exactly 8 or 17 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct InstanceId(String);

impl InstanceId {
    /// Validates `raw`; returns a human-readable reason on failure.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = raw
            .strip_prefix("i-")
            .filter(|hex| hex.len() == 8 || hex.len() == 17)
            .is_some_and(|hex| {
                hex.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "instance id {:?} is not valid: expected \"i-\" and 8 or 17 lowercase hex digits",
                crate::alert::clip(raw, 64)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceId;

    #[test]
    fn accepts_short_and_long_ids() {
        assert!(InstanceId::parse("i-0123abcd").is_ok());
        assert!(InstanceId::parse("i-0c51f9f1213e63159").is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "i-",
            "i-0123abc",
            "i-0123ABCD",
            "i-0c51f9f1213e6315",
            "i-0c51f9f1213e631599",
            "x-0123abcd",
            "i-0123abcg",
            " i-0123abcd",
            "i-0123abcd;rm",
            "i-0123abcd\n",
        ] {
            assert!(InstanceId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
