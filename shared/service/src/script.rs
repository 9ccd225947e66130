//! Turns a runbook phase into the script SSM runs: the reviewed lines, each followed by a check
//! that stops at the first failing line and says which one failed. Nothing from an alert is ever
//! part of it (DESIGN principle 8): the only inputs are runbook lines and numbers.

/// Wraps `lines` so the script exits with the first failing line's exit code.
pub fn wrap(phase: &str, lines: &[String]) -> Vec<String> {
    let total = lines.len();
    let mut out = Vec::with_capacity(lines.len() * 2 + 1);
    for (i, line) in lines.iter().enumerate() {
        out.push(line.clone());
        out.push(format!(
            "selfheal_rc=$?; if [ \"$selfheal_rc\" -ne 0 ]; then echo \"selfheal: {phase} line {} of {total} failed with exit $selfheal_rc\" >&2; exit \"$selfheal_rc\"; fi",
            i + 1
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn each_line_is_checked_in_order() {
        let lines = vec!["systemctl restart nginx".to_owned(), "true".to_owned()];
        let w = wrap("commands", &lines);
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], "systemctl restart nginx");
        assert!(w[1].contains("commands line 1 of 2 failed"));
        assert_eq!(w[2], "true");
    }

    #[test]
    fn runs_in_a_real_shell_and_stops_at_the_first_failure() {
        let lines = vec![
            "echo one".to_owned(),
            "false".to_owned(),
            "echo three".to_owned(),
        ];
        let script = wrap("commands", &lines).join("\n");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("sh runs");
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "one\n");
        assert!(String::from_utf8_lossy(&out.stderr)
            .contains("commands line 2 of 3 failed with exit 1"));
    }
}
