//! Slack mrkdwn text: the one escaper every Slack message of selfheal uses (chat announcements,
//! approval requests, the weekly report). Slack treats only `&`, `<` and `>` as control
//! characters in text objects; escaped, a name such as `<!channel>` or `<url|click>` is inert.

/// Escapes `&`, `<` and `>` as entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_the_three_control_characters() {
        assert_eq!(
            super::escape("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
    }
}
