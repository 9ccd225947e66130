//! Turns a runbook phase into the script SSM runs. Each array element is one unit (DESIGN §2: it
//! may hold several lines, e.g. a whole heredoc) and is checked as a whole: the element's text is
//! single-quoted and run by `command eval`, so no line of it can run into the wrapper's own lines
//! (a heredoc cannot swallow the check, a trailing `|` cannot pipe into it), and the check after
//! it stops the script at the first failing element with that element's exit code. All elements
//! run in one shell, so `cd` and variables carry over. `command` keeps a syntax error in an
//! element from ending a POSIX shell before the check can name it.
//!
//! For element `i` of `n` the script holds two lines:
//!
//! ```text
//! command eval '<element, each ' written as '\''>'
//! selfheal_rc=$?; if [ "$selfheal_rc" -ne 0 ]; then echo "selfheal: <phase> line <i> of <n> failed with exit $selfheal_rc" >&2; exit "$selfheal_rc"; fi
//! ```
//!
//! A phase with an element that cannot run on its own (an unterminated heredoc, or a last word
//! `|`, `||`, `&&` or `\`, which the shell would run with exit 0 or join to the next line) is
//! refused as a whole: its script is one line that says so on stderr and exits 2, and nothing
//! runs. `selfheal validate` rejects such runbooks first (`runbook::element_problem`).
//!
//! Nothing from an alert is ever part of the script (DESIGN principle 8): the only inputs are
//! runbook elements, the phase name and numbers.

use selfheal_core::runbook::element_problem;

/// Wraps `lines` (the elements of one phase) so the script exits with the first failing
/// element's exit code.
pub fn wrap(phase: &str, lines: &[String]) -> Vec<String> {
    let total = lines.len();
    let refused = lines
        .iter()
        .enumerate()
        .find_map(|(i, line)| element_problem(line).map(|p| (i, p)));
    if let Some((i, problem)) = refused {
        return vec![format!(
            "echo \"selfheal: {phase} line {} of {total} cannot run on its own ({}); nothing ran\" >&2; exit 2",
            i + 1,
            problem.reason()
        )];
    }
    let mut out = Vec::with_capacity(lines.len() * 2);
    for (i, line) in lines.iter().enumerate() {
        out.push(format!("command eval {}", single_quoted(line)));
        out.push(format!(
            "selfheal_rc=$?; if [ \"$selfheal_rc\" -ne 0 ]; then echo \"selfheal: {phase} line {} of {total} failed with exit $selfheal_rc\" >&2; exit \"$selfheal_rc\"; fi",
            i + 1
        ));
    }
    out
}

/// `text` as one shell word that stands for exactly `text`: inside single quotes nothing is
/// special but `'`, which is written `'\''` (end the quote, a quoted `'`, quote again).
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::{single_quoted, wrap};
    use proptest::prelude::*;
    use std::path::PathBuf;
    use std::process::{Command, Output};

    const SHELLS: [&str; 2] = ["sh", "bash"];

    fn lines(elements: &[&str]) -> Vec<String> {
        elements.iter().map(|s| (*s).to_owned()).collect()
    }

    fn run(shell: &str, script: &[String]) -> Output {
        Command::new(shell)
            .arg("-c")
            .arg(script.join("\n"))
            .output()
            .unwrap_or_else(|e| panic!("{shell} runs: {e}"))
    }

    fn stdout(out: &Output) -> String {
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn stderr(out: &Output) -> String {
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// A fresh path under the temp dir (not created).
    fn temp_path(name: &str) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("selfheal-script-{}-{n}-{name}", std::process::id()))
    }

    #[test]
    fn the_wrapper_format() {
        let w = wrap(
            "commands",
            &lines(&["systemctl restart nginx", "echo 'it''s'"]),
        );
        let check = |i: usize| {
            format!("selfheal_rc=$?; if [ \"$selfheal_rc\" -ne 0 ]; then echo \"selfheal: commands line {i} of 2 failed with exit $selfheal_rc\" >&2; exit \"$selfheal_rc\"; fi")
        };
        assert_eq!(
            w,
            vec![
                "command eval 'systemctl restart nginx'".to_owned(),
                check(1),
                r"command eval 'echo '\''it'\'''\''s'\'''".to_owned(),
                check(2),
            ]
        );
    }

    #[test]
    fn a_multi_line_heredoc_element_writes_exactly_its_content() {
        for shell in SHELLS {
            let file = temp_path("heredoc");
            let f = file.display();
            let body = "port = 8080\nname = '$HOME' \"`id`\" \\\n|\nselfheal_rc=0; exit 0\n";
            let script = wrap(
                "commands",
                &[
                    format!("cat > {f} <<'EOF'\n{body}EOF"),
                    format!("cat >> {f} <<-EOF\n\tunquoted $((1 << 3))\n\tEOF"),
                    format!("test -s {f}"),
                ],
            );
            let out = run(shell, &script);
            let written = std::fs::read_to_string(&file).expect("written");
            std::fs::remove_file(&file).ok();
            assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
            assert_eq!(written, format!("{body}unquoted 8\n"), "{shell}");
            assert!(!written.contains("failed with exit"), "{shell}: {written}");
        }
    }

    #[test]
    fn a_heredoc_split_over_elements_runs_nothing_and_fails() {
        for shell in SHELLS {
            let file = temp_path("split");
            let script = wrap(
                "commands",
                &[
                    "true".to_owned(),
                    format!("cat > {} <<'EOF'", file.display()),
                    "hello".to_owned(),
                    "EOF".to_owned(),
                ],
            );
            let out = run(shell, &script);
            assert_eq!(out.status.code(), Some(2), "{shell}");
            assert!(!file.exists(), "{shell}: nothing runs");
            assert_eq!(
                stderr(&out),
                "selfheal: commands line 2 of 4 cannot run on its own (unterminated heredoc); nothing ran\n"
            );
        }
    }

    #[test]
    fn a_trailing_pipe_backslash_or_and_never_exits_zero() {
        for shell in SHELLS {
            for (element, reason) in [
                ("echo a |", "ends in the middle of a command"),
                ("echo a \\", "ends in the middle of a command"),
                ("true &&", "ends in the middle of a command"),
                ("false ||", "ends in the middle of a command"),
                ("cat <<EOF\nbody \\\nEOF", "unterminated heredoc"),
            ] {
                let out = run(shell, &wrap("verify", &lines(&[element, "true"])));
                assert_eq!(out.status.code(), Some(2), "{shell}: {element:?}");
                assert_eq!(stdout(&out), "", "{shell}: {element:?}");
                assert_eq!(
                    stderr(&out),
                    format!("selfheal: verify line 1 of 2 cannot run on its own ({reason}); nothing ran\n")
                );
            }
        }
    }

    #[test]
    fn a_syntax_error_fails_its_element_and_is_named() {
        for shell in SHELLS {
            let out = run(
                shell,
                &wrap(
                    "precheck",
                    &lines(&["echo one", "echo 'open", "echo three"]),
                ),
            );
            assert_eq!(out.status.code(), Some(2), "{shell}");
            assert_eq!(stdout(&out), "one\n", "{shell}");
            assert!(
                stderr(&out).contains("selfheal: precheck line 2 of 3 failed with exit 2"),
                "{shell}: {}",
                stderr(&out)
            );
        }
    }

    #[test]
    fn a_failing_middle_element_stops_the_script_with_its_number_and_code() {
        for shell in SHELLS {
            let out = run(
                shell,
                &wrap(
                    "commands",
                    &lines(&["echo one", "echo two; sh -c 'exit 3'", "echo three"]),
                ),
            );
            assert_eq!(out.status.code(), Some(3), "{shell}");
            assert_eq!(stdout(&out), "one\ntwo\n", "{shell}");
            assert_eq!(
                stderr(&out),
                "selfheal: commands line 2 of 3 failed with exit 3\n",
                "{shell}"
            );
            let out = run(shell, &wrap("commands", &lines(&["echo one", "false"])));
            assert_eq!(out.status.code(), Some(1), "{shell}");
            assert_eq!(
                stderr(&out),
                "selfheal: commands line 2 of 2 failed with exit 1\n"
            );
        }
    }

    #[test]
    fn quotes_dollars_and_backticks_are_passed_verbatim() {
        let element = r#"x='a b'; printf '%s|' "$x" '$x' "it's" 'say "hi"' "`echo tick`" "$(echo sub)" '`no`' \$HOME"#;
        for shell in SHELLS {
            let out = run(shell, &wrap("commands", &lines(&[element])));
            assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
            assert_eq!(
                stdout(&out),
                r#"a b|$x|it's|say "hi"|tick|sub|`no`|$HOME|"#,
                "{shell}"
            );
        }
    }

    #[test]
    fn elements_share_one_shell() {
        for shell in SHELLS {
            let out = run(
                shell,
                &wrap(
                    "commands",
                    &lines(&["cd /", "count=5", "f() { echo \"in $PWD: $count\"; }", "f"]),
                ),
            );
            assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
            assert_eq!(stdout(&out), "in /: 5\n", "{shell}");
        }
    }

    #[test]
    fn a_multi_line_element_is_checked_as_a_whole() {
        for shell in SHELLS {
            let out = run(
                shell,
                &wrap(
                    "commands",
                    &lines(&[
                        "true",
                        "if [ -d / ]; then\n  echo yes\n  false\nfi",
                        "echo no",
                    ]),
                ),
            );
            assert_eq!(out.status.code(), Some(1), "{shell}");
            assert_eq!(stdout(&out), "yes\n", "{shell}");
            assert_eq!(
                stderr(&out),
                "selfheal: commands line 2 of 3 failed with exit 1\n"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any text, quotes included, comes back unchanged through the quoting: the wrapped
        /// element `printf %s <quoted text>` prints exactly the text, in both shells.
        #[test]
        fn single_quoting_round_trips(text in "[ -~\n]{0,40}|[' \"$`\\\\|&;<>(){}#*?!~\n-]{0,40}") {
            let element = format!("printf %s {}", single_quoted(&text));
            let script = wrap("commands", &[element]);
            for shell in SHELLS {
                let out = run(shell, &script);
                prop_assert_eq!(out.status.code(), Some(0), "{}: {}", shell, stderr(&out));
                prop_assert_eq!(stdout(&out), text.clone(), "{}", shell);
            }
        }
    }
}
