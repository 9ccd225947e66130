//! Making alert-derived text safe for Slack: control characters and ANSI escapes removed,
//! secrets redacted, `&`, `<`, `>` escaped (so an alert cannot ping `<!channel>` or forge a
//! link), bare broadcast mentions defused, and lengths cut with a visible marker.
//!
//! Pure functions; no I/O.

use std::sync::LazyLock;

use regex::Regex;

/// The marker appended (or, for tails, prepended) where text was cut.
pub const TRUNCATED: &str = "…[truncated]";

/// Removes ANSI escape sequences (CSI, OSC, and two-character escapes), carriage returns, other
/// control characters (tab becomes a space; line feeds are kept) and Unicode direction
/// overrides (which can make text read differently than it is).
pub fn strip_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI introducer: a CSI sequence without ESC.
            '\u{9b}' => skip_csi(&mut chars),
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            // OSC / DCS / SOS / PM / APC: up to BEL or ESC \ (string terminator).
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' {
                    if chars.peek() == Some(&'\\') {
                        chars.next();
                    }
                    break;
                }
            }
        }
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            // nF escape: intermediates, then one final character.
            while let Some(&c) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&c) {
                    break;
                }
            }
        }
        Some(c) if ('\u{30}'..='\u{7e}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameter and intermediate bytes 0x20–0x3f, then one final byte 0x40–0x7e.
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            break;
        }
    }
}

struct Rule {
    re: Regex,
    with: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |re: &str, with: &'static str| Rule {
        re: Regex::new(re).unwrap_or_else(|e| unreachable!("redaction pattern {re}: {e}")),
        with,
    };
    vec![
        // PEM private keys, whole block.
        rule(
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\z)",
            "[redacted private key]",
        ),
        // key=value and "key": "value" where the key names a secret (first, so the value is
        // replaced whole whatever it looks like).
        rule(
            r#"(?i)([A-Za-z0-9_.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_.-]*["']?\s*[:=]\s*)((?:(?:bearer|basic)\s+)?(?:"[^"\n]*"|'[^'\n]*'|[^\s,;&"']+))"#,
            "$1[redacted]",
        ),
        // Slack incoming webhook and workflow URLs.
        rule(
            r"(?i)https?://hooks\.slack(?:-gov)?\.com/\S*",
            "[redacted webhook URL]",
        ),
        // Slack tokens: xoxb-, xoxp-, xoxa-, xoxe-, xoxr-, xoxs-, and app-level xapp-.
        rule(r"\bxox[a-z]-[A-Za-z0-9-]+", "[redacted Slack token]"),
        rule(r"\bxapp-[A-Za-z0-9-]+", "[redacted Slack token]"),
        // AWS access key ids (long-term and temporary).
        rule(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", "[redacted AWS key id]"),
        // Authorization: Bearer / Basic credentials.
        rule(
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
            "$1 [redacted]",
        ),
        // Credentials inside URLs: scheme://user:password@host.
        rule(
            r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^/\s@]+@",
            "$1:[redacted]@",
        ),
    ]
});

/// Replaces things that look like secrets with a `[redacted …]` placeholder.
pub fn redact(s: &str) -> String {
    let mut out = s.to_owned();
    for rule in RULES.iter() {
        if rule.re.is_match(&out) {
            out = rule.re.replace_all(&out, rule.with).into_owned();
        }
    }
    out
}

/// Escapes the three characters Slack's mrkdwn treats as control characters (the one escaper,
/// shared with the weekly report's Slack message).
pub use selfheal_core::mrkdwn::escape;

static BROADCAST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)@(here|channel|everyone)\b")
        .unwrap_or_else(|e| unreachable!("broadcast pattern: {e}"))
});

/// Defuses bare `@here`, `@channel` and `@everyone` (a word joiner after the `@`), in case a
/// client or setting ever parses them in text.
pub fn defuse_mentions(s: &str) -> String {
    if BROADCAST.is_match(s) {
        BROADCAST.replace_all(s, "@\u{2060}$1").into_owned()
    } else {
        s.to_owned()
    }
}

/// Alert-derived text, ready for a mrkdwn (or plain_text) field: control characters removed,
/// secrets redacted, mentions defused, `&<>` escaped. Not yet length-limited.
pub fn clean(s: &str) -> String {
    escape(&defuse_mentions(&redact(&strip_control(s))))
}

/// Like [`clean`], on one line (line breaks become spaces, runs of spaces collapse).
pub fn clean_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    clean(&joined)
}

/// Text for a code block: cleaned, and unable to close the block early.
pub fn clean_code(s: &str) -> String {
    clean(s).replace("```", "`\u{200b}`\u{200b}`")
}

/// The first at most `max` characters of `s`, ending with [`TRUNCATED`] when cut. Never cuts an
/// `&…;` entity in half.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let marker = TRUNCATED.chars().count();
    let keep = max.saturating_sub(marker);
    let mut head = crate::text::prefix_chars(s, keep).to_owned();
    drop_partial_entity(&mut head);
    head.push_str(if max >= marker { TRUNCATED } else { "" });
    crate::text::prefix_chars(&head, max).to_owned()
}

/// The last at most `max` characters of `s`, starting with [`TRUNCATED`] and a line break when
/// cut (for output tails, where the end matters most). Never starts inside an entity.
pub fn truncate_front(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_owned();
    }
    let marker = TRUNCATED.chars().count() + 1;
    let keep = max.saturating_sub(marker);
    let skip = total - keep;
    let cut = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
    let mut start = cut;
    // If the cut fell inside `&amp;` etc., start just after its `;`.
    if let Some(amp) = s[..cut].rfind('&') {
        let inside = &s[amp + 1..cut];
        if inside.len() <= 4 && inside.bytes().all(|b| b.is_ascii_alphabetic()) {
            if let Some(semi) = s[cut..].find(';') {
                if semi <= 4 && s[cut..cut + semi].bytes().all(|b| b.is_ascii_alphabetic()) {
                    start = cut + semi + 1;
                }
            }
        }
    }
    let tail = &s[start..];
    if max < marker {
        return crate::text::prefix_chars(tail, max).to_owned();
    }
    format!("{TRUNCATED}\n{tail}")
}

fn drop_partial_entity(head: &mut String) {
    if let Some(amp) = head.rfind('&') {
        let rest = &head[amp + 1..];
        if rest.len() <= 4 && !rest.contains(';') && rest.chars().all(|c| c.is_ascii_alphabetic()) {
            head.truncate(amp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi_and_controls() {
        assert_eq!(strip_control("\u{1b}[31mred\u{1b}[0m ok"), "red ok");
        assert_eq!(strip_control("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(strip_control("a\u{1b}]8;;http://x\u{1b}\\b"), "ab");
        assert_eq!(strip_control("x\r\ny\u{0}z\tw\u{8}"), "x\nyz w");
        assert_eq!(strip_control("ab\u{202e}cd"), "abcd");
        assert_eq!(strip_control("\u{9b}1mx"), "x");
        assert_eq!(strip_control("\u{1b}(Bx"), "x");
        assert_eq!(strip_control("\u{1b}"), "");
    }

    #[test]
    fn redacts_secrets() {
        let cases = [
            ("token xoxb-1234-5678-abcdef here", "xoxb-1234"),
            (
                "see https://hooks.slack.com/services/T0/B0/XYZ now",
                "T0/B0/XYZ",
            ),
            ("key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
            ("key ASIAIOSFODNN7EXAMPLE.", "ASIAIOSFODNN7EXAMPLE"),
            ("password=hunter2 next", "hunter2"),
            ("DB_PASSWORD: 'hunter2'", "hunter2"),
            (r#"{"api_key": "abc123"}"#, "abc123"),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG",
                "wJalrXUtnFEMI",
            ),
            ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
            ("postgres://app:s3cr3t@db:5432/x", "s3cr3t"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
                "MIIE",
            ),
            ("token=abc&secret=def", "def"),
            ("token: Bearer abcdefghijk", "abcdefghijk"),
        ];
        for (input, secret) in cases {
            let out = redact(input);
            assert!(!out.contains(secret), "{input:?} -> {out:?}");
            assert!(out.contains("[redacted"), "{input:?} -> {out:?}");
        }
        assert_eq!(redact("disk 91% full on /var"), "disk 91% full on /var");
        assert_eq!(redact("password=hunter2 next"), "password=[redacted] next");
        assert_eq!(redact("token=xoxb-1-2-abc x"), "token=[redacted] x");
        assert_eq!(redact("use xoxb-1-2-abc"), "use [redacted Slack token]");
    }

    #[test]
    fn escapes_and_defuses() {
        assert_eq!(
            escape("<!channel> & <https://evil|x>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|x&gt;"
        );
        assert_eq!(
            defuse_mentions("hi @here and @Channel"),
            "hi @\u{2060}here and @\u{2060}Channel"
        );
        assert_eq!(clean("a <b>\u{1b}[1m"), "a &lt;b&gt;");
        assert_eq!(clean_line(" a\n\n b \t c "), "a b c");
        assert!(!clean_code("x ``` y").contains("```"));
    }

    #[test]
    fn truncation_is_visible_and_bounded() {
        assert_eq!(truncate("short", 10), "short");
        let t = truncate(&"x".repeat(100), 20);
        assert_eq!(t.chars().count(), 20);
        assert!(t.ends_with(TRUNCATED));
        // Never half an entity.
        let s = format!("{}&amp;{}", "a".repeat(9), "t".repeat(50));
        let t = truncate(&s, 9 + 2 + TRUNCATED.chars().count());
        assert_eq!(t, format!("{}{TRUNCATED}", "a".repeat(9)));
        let f = truncate_front(&"y".repeat(100), 30);
        assert_eq!(f.chars().count(), 30);
        assert!(f.starts_with(TRUNCATED));
        let s = format!("{}&amp;{}", "h".repeat(100), "z".repeat(40));
        let f = truncate_front(&s, 40 + 2 + TRUNCATED.chars().count() + 1);
        assert!(!f.contains("mp;"), "{f}");
        assert!(truncate("abc", 2).chars().count() <= 2);
    }
}
