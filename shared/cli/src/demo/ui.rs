//! Terminal output for the demo: progress lines, colours only on a terminal without `NO_COLOR`.

use std::io::IsTerminal;

#[derive(Clone, Copy)]
pub struct Ui {
    colour: bool,
}

impl Ui {
    pub fn new() -> Self {
        Self {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    pub fn step(&self, s: &str) {
        println!("{} {s}", self.paint("1;34", "▸"));
    }
    pub fn ok(&self, s: &str) {
        println!("  {} {s}", self.paint("32", "✓"));
    }
    pub fn info(&self, s: &str) {
        println!("    {s}");
    }
    pub fn chat(&self, s: &str) {
        println!("  {} {s}", self.paint("35", "slack ▹"));
    }
    pub fn heading(&self, s: &str) {
        println!("\n{}", self.paint("1", s));
    }
    pub fn outcome(&self, outcome: &str) -> String {
        let code = match outcome {
            "healed" => "32",
            "failed" | "timed-out" | "budget-exhausted" | "unresolved" => "31",
            "dry-run" | "duplicate" | "ignored" | "recovered" => "36",
            "invalid" | "no-runbook" | "killed" => "33",
            _ => "0",
        };
        self.paint(code, &format!("{outcome:<16}"))
    }
}
