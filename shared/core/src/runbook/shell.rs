//! Can one runbook element run as one unit? DESIGN §2: every element of `precheck`, `commands`
//! and `verify` is run and checked on its own (`service::script::wrap`), so an element must be a
//! whole piece of shell: a heredoc starts and ends in the same element, and the element does not
//! end in the middle of a command (`|`, `||`, `&&`, a line-continuing `\`).
//!
//! This is a small, conservative scan, not a shell parser: it follows quotes (`'…'`, `"…"`,
//! `$'…'`), backslash escapes, comments and arithmetic (`$((…))`, `((…))`, where `<<` is a shift)
//! only as far as needed to find heredoc operators, their bodies, and the element's last word.

use std::fmt;

/// Why an element cannot run on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementProblem {
    /// A heredoc (`operator` as written, e.g. `<<-'EOF'`) whose `delimiter` line never comes.
    UnterminatedHeredoc {
        operator: String,
        delimiter: String,
        strip_tabs: bool,
    },
    /// The element's last word continues the command on a following line.
    Continuation { ending: &'static str },
}

impl ElementProblem {
    /// A short reason without any text of the element (safe to put in a shell `echo "…"`).
    pub fn reason(&self) -> &'static str {
        match self {
            ElementProblem::UnterminatedHeredoc { .. } => "unterminated heredoc",
            ElementProblem::Continuation { .. } => "ends in the middle of a command",
        }
    }
}

impl fmt::Display for ElementProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementProblem::UnterminatedHeredoc {
                operator,
                delimiter,
                strip_tabs,
            } => write!(
                f,
                "starts a heredoc ({operator}) but no later line of it is {delimiter:?}{}; an element is one unit: put the whole heredoc in one element",
                if *strip_tabs { " (leading tabs allowed)" } else { "" }
            ),
            ElementProblem::Continuation { ending } => {
                if *ending == "\\" {
                    f.write_str("ends with a line-continuing backslash")?;
                } else {
                    write!(f, "ends with \"{ending}\"")?;
                }
                f.write_str(", so it cannot run on its own; an element is one unit: join the continuation into the same element")
            }
        }
    }
}

struct Heredoc {
    operator: String,
    delimiter: String,
    strip_tabs: bool,
    /// Any part of the word quoted: the body is literal (no `\`-newline joining).
    quoted: bool,
}

/// The first reason `text` cannot run as one unit, if any.
pub fn element_problem(text: &str) -> Option<ElementProblem> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    // The element without heredoc bodies and comments: what ends it is its last word.
    let mut code = String::with_capacity(text.len());
    let mut pending: Vec<Heredoc> = Vec::new();
    let mut arith = 0usize;
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' => {
                let end = find(&chars, i + 1, '\'').map_or(n, |e| e + 1);
                code.extend(&chars[i..end]);
                i = end;
            }
            '"' => {
                let end = skip_escaped(&chars, i + 1, '"');
                code.extend(&chars[i..end]);
                i = end;
            }
            '$' if next == Some('\'') => {
                let end = skip_escaped(&chars, i + 2, '\'');
                code.extend(&chars[i..end]);
                i = end;
            }
            '\\' => {
                let end = (i + 2).min(n);
                code.extend(&chars[i..end]);
                i = end;
            }
            '$' if next == Some('(') && chars.get(i + 2) == Some(&'(') => {
                arith += 2;
                code.push_str("$((");
                i += 3;
            }
            '(' if next == Some('(') && arith == 0 => {
                arith += 2;
                code.push_str("((");
                i += 2;
            }
            '(' if arith > 0 => {
                arith += 1;
                code.push(c);
                i += 1;
            }
            ')' if arith > 0 => {
                arith -= 1;
                code.push(c);
                i += 1;
            }
            '#' if arith == 0 && (i == 0 || is_word_break(chars[i - 1])) => {
                i = find(&chars, i, '\n').unwrap_or(n);
            }
            '<' if next == Some('<') && chars.get(i + 2) == Some(&'<') => {
                code.push_str("<<<");
                i += 3;
            }
            '<' if next == Some('<') && arith == 0 => {
                let (heredoc, end) = heredoc_operator(&chars, i);
                code.extend(&chars[i..end]);
                i = end;
                pending.extend(heredoc);
            }
            '\n' => {
                code.push('\n');
                i += 1;
                for doc in pending.drain(..) {
                    let mut found = false;
                    while i < n && !found {
                        // One logical line: in an unquoted heredoc a line ending in an odd
                        // number of backslashes goes on with the next one.
                        let mut line = String::new();
                        loop {
                            let end = find(&chars, i, '\n').unwrap_or(n);
                            line.extend(&chars[i..end]);
                            i = (end + 1).min(n);
                            if doc.quoted || !odd_backslashes(&line) || end == n {
                                break;
                            }
                            line.pop();
                        }
                        let line = if doc.strip_tabs {
                            line.trim_start_matches('\t')
                        } else {
                            line.as_str()
                        };
                        found = line == doc.delimiter;
                    }
                    if !found {
                        return Some(unterminated(doc));
                    }
                }
            }
            _ => {
                code.push(c);
                i += 1;
            }
        }
    }
    if let Some(doc) = pending.into_iter().next() {
        return Some(unterminated(doc));
    }
    let last = code.trim_end();
    let ending = if last.ends_with("&&") {
        "&&"
    } else if last.ends_with("||") {
        "||"
    } else if last.ends_with('|') {
        "|"
    } else if odd_backslashes(last) {
        "\\"
    } else {
        return None;
    };
    Some(ElementProblem::Continuation { ending })
}

fn odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn unterminated(doc: Heredoc) -> ElementProblem {
    ElementProblem::UnterminatedHeredoc {
        operator: doc.operator,
        delimiter: doc.delimiter,
        strip_tabs: doc.strip_tabs,
    }
}

fn find(chars: &[char], from: usize, c: char) -> Option<usize> {
    chars
        .get(from..)?
        .iter()
        .position(|&x| x == c)
        .map(|p| p + from)
}

/// The index just past the closing `close` at or after `from`, skipping backslash escapes.
fn skip_escaped(chars: &[char], from: usize, close: char) -> usize {
    let mut j = from;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == close => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

fn is_word_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '<' | '>')
}

/// Reads the heredoc operator starting at `chars[at] == '<'`: the heredoc (if it names a word)
/// and the index just past the word.
fn heredoc_operator(chars: &[char], at: usize) -> (Option<Heredoc>, usize) {
    let n = chars.len();
    let mut j = at + 2;
    let strip_tabs = chars.get(j) == Some(&'-');
    if strip_tabs {
        j += 1;
    }
    while j < n && matches!(chars[j], ' ' | '\t') {
        j += 1;
    }
    let word_start = j;
    let mut delimiter = String::new();
    let mut quoted = false;
    while j < n {
        match chars[j] {
            '\'' => {
                quoted = true;
                let end = find(chars, j + 1, '\'').unwrap_or(n);
                delimiter.extend(&chars[j + 1..end]);
                j = (end + 1).min(n);
            }
            '"' => {
                quoted = true;
                j += 1;
                while j < n && chars[j] != '"' {
                    if chars[j] == '\\' && j + 1 < n {
                        j += 1;
                    }
                    delimiter.push(chars[j]);
                    j += 1;
                }
                j = (j + 1).min(n);
            }
            '\\' if j + 1 < n => {
                quoted = true;
                delimiter.push(chars[j + 1]);
                j += 2;
            }
            c if c.is_whitespace() || is_word_break(c) => break,
            c => {
                delimiter.push(c);
                j += 1;
            }
        }
    }
    if j == word_start {
        return (None, j);
    }
    let operator: String = chars[at..j]
        .iter()
        .filter(|c| **c != ' ' && **c != '\t')
        .collect();
    (
        Some(Heredoc {
            operator,
            delimiter,
            strip_tabs,
            quoted,
        }),
        j,
    )
}

#[cfg(test)]
mod tests {
    use super::{element_problem, ElementProblem};

    fn ending(text: &str) -> Option<&'static str> {
        match element_problem(text) {
            Some(ElementProblem::Continuation { ending }) => Some(ending),
            _ => None,
        }
    }

    fn unterminated(text: &str) -> Option<(String, String)> {
        match element_problem(text) {
            Some(ElementProblem::UnterminatedHeredoc {
                operator,
                delimiter,
                ..
            }) => Some((operator, delimiter)),
            _ => None,
        }
    }

    #[test]
    fn whole_commands_stand_alone() {
        for text in [
            "systemctl restart nginx",
            "! pgrep -x nginx",
            "sudo -u postgres psql -Atc 'SELECT pg_is_in_recovery()' | grep -qx t",
            "test \"$(df --output=pcent / | tail -1 | tr -dc 0-9)\" -ge 85",
            "echo 'a|' \"b&&\" $'c\\'|'",
            "echo a\\\\",
            "echo a # trailing comment with | and \\",
            "echo $((1 << 2)) && (( x <<= 1 )) ; echo $(( (1) << 3 ))",
            "cat <<< 'here string'",
            "echo 'a <<EOF'",
            "a |\n  b &&\n  c \\\n  d",
            "sleep 1 &",
            "if true; then\n  echo yes\nfi",
            "echo \"multi\nline\" 'quoted\nstring' <<EOF\nbody |\nEOF",
            "cat <<'EOF' >/etc/x\nline \\\nEOF",
            "cat <<EOF >/etc/x\nline \\\\\nEOF",
            "cat <<-EOF\n\t\tbody\n\t\tEOF",
            "cat <<'EOF' <<\"END\"\n$x\nEOF\n`y`\nEND\necho after",
            "cat <<\\EOF\nbody\nEOF",
            "cat <<EOF |\nbody\nEOF\ngrep x",
            "cat <<E\"O\"F;echo\nEOF",
        ] {
            assert_eq!(element_problem(text), None, "{text:?}");
        }
    }

    #[test]
    fn continuations_are_found_past_trailing_space_comments_and_heredocs() {
        assert_eq!(ending("echo a |"), Some("|"));
        assert_eq!(ending("echo a ||  \t"), Some("||"));
        assert_eq!(ending("echo a &&\n\n"), Some("&&"));
        assert_eq!(ending("echo a \\"), Some("\\"));
        assert_eq!(ending("echo a \\   "), Some("\\"));
        assert_eq!(ending("echo a\\\\\\"), Some("\\"));
        assert_eq!(ending("echo a && # then"), Some("&&"));
        assert_eq!(ending("cat <<EOF |\nbody\nEOF"), Some("|"));
        assert_eq!(ending("a\nb |"), Some("|"));
    }

    #[test]
    fn unterminated_heredocs_name_their_word() {
        let want = |op: &str, word: &str| Some((op.to_owned(), word.to_owned()));
        assert_eq!(unterminated("cat <<EOF"), want("<<EOF", "EOF"));
        assert_eq!(unterminated("cat <<EOF >f\nbody"), want("<<EOF", "EOF"));
        assert_eq!(unterminated("cat << 'EOF'\nEOF "), want("<<'EOF'", "EOF"));
        assert_eq!(
            unterminated("cat <<\"END\"\n\"END\""),
            want("<<\"END\"", "END")
        );
        assert_eq!(unterminated("cat <<-EOF\n  EOF"), want("<<-EOF", "EOF"));
        assert_eq!(unterminated("cat <<EOF\n\tEOF"), want("<<EOF", "EOF"));
        assert_eq!(
            unterminated("cat <<A <<B\nA\nbody"),
            want("<<B", "B"),
            "the second of two heredocs"
        );
        assert_eq!(unterminated("x=$(cat <<EOF\nbody)"), want("<<EOF", "EOF"));
        assert_eq!(
            unterminated("cat <<EOF\nline \\\nEOF"),
            want("<<EOF", "EOF"),
            "a backslash-newline in an unquoted body joins the delimiter line to it"
        );
    }

    #[test]
    fn messages_carry_the_hint() {
        let heredoc = element_problem("cat <<-EOF").expect("problem").to_string();
        assert_eq!(
            heredoc,
            "starts a heredoc (<<-EOF) but no later line of it is \"EOF\" (leading tabs allowed); an element is one unit: put the whole heredoc in one element"
        );
        let pipe = element_problem("a |").expect("problem").to_string();
        assert_eq!(
            pipe,
            "ends with \"|\", so it cannot run on its own; an element is one unit: join the continuation into the same element"
        );
        let backslash = element_problem("a \\").expect("problem").to_string();
        assert!(
            backslash.starts_with("ends with a line-continuing backslash, so"),
            "{backslash}"
        );
    }
}
