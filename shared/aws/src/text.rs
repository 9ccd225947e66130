//! Small text helpers: clipping on character boundaries.

/// The first `max` characters of `s`, with `…` appended when something was cut.
pub fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => {
            let mut out = s[..cut.min(s.len())].to_owned();
            out.push('…');
            out
        }
    }
}

/// The first `max` characters of `s`, without any marker (for fields with hard limits).
pub fn prefix_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        None => s,
        Some((cut, _)) => &s[..cut],
    }
}

/// The last at most `max_bytes` bytes of `s`, starting on a character boundary.
pub fn tail_bytes(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut start = s.len() - max_bytes;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_respects_char_boundaries() {
        let s = "ééé"; // 6 bytes
        assert_eq!(tail_bytes(s, 3), "é");
        assert_eq!(tail_bytes(s, 4), "éé");
        assert_eq!(tail_bytes(s, 100), s);
        assert_eq!(tail_bytes("abcdef", 2), "ef");
    }

    #[test]
    fn prefix_and_clip() {
        assert_eq!(prefix_chars("héllo", 2), "hé");
        assert_eq!(prefix_chars("hé", 5), "hé");
        assert_eq!(clip_chars("héllo", 2), "hé…");
        assert_eq!(clip_chars("hé", 2), "hé");
    }
}
