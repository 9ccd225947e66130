//! Every `SELFHEAL_*` setting, read in one place.
//!
//! The process environment is read only here ([`env`]); every loader takes a lookup
//! (`Fn(&str) -> Option<String>`, tests pass a map) and goes through one [`Reader`], whose parsers
//! (numbers, booleans, durations, lists, URLs, ARNs, choices) give uniform messages naming the
//! variable and its bad value (never a secret's value), and collect every problem so all of them
//! are shown together.
//!
//! | module | reads | for |
//! |---|---|---|
//! | [`engine`] | the engine's settings ([`Settings`]) and the SDK timeouts | alert-remediator, `selfheal` commands, weekly-reporter (table, Slack webhook) |
//! | [`report`] | `SELFHEAL_REPORT_*` ([`selfheal_service::report::ReportSettings`]) | weekly-reporter, `selfheal report` |
//! | [`approvals`] | the slack-approvals function's settings ([`approvals::FunctionSettings`]) | slack-approvals |
//! | [`process`] | account id, claim lease, metrics, log format, function budget, operator | the start-up path and the command line |
//! | [`registry`] | the table of every variable: who reads it, its default, its meaning | the README check |
//!
//! Empty values count as unset everywhere.

pub mod approvals;
pub mod engine;
pub mod process;
pub mod registry;
pub mod report;

use std::fmt::Display;
use std::ops::{Bound, RangeBounds};
use std::str::FromStr;
use std::time::Duration;

pub use engine::{Settings, SettingsError};

/// The one read of the process environment: the value of `name`, if set and valid Unicode.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Every problem found while reading settings, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<String>);

impl Problems {
    /// Adds one problem.
    pub fn push(&mut self, problem: impl Into<String>) {
        self.0.push(problem.into());
    }

    /// Adds several, skipping any already listed (two loaders may read one variable).
    pub fn extend(&mut self, problems: impl IntoIterator<Item = String>) {
        for p in problems {
            if !self.0.contains(&p) {
                self.0.push(p);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// `value` when nothing was found, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<String>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// How many characters of a bad value a message shows.
const SHOWN_CHARS: usize = 40;
/// How many characters of a bad URL or ARN a message shows.
const SHOWN_URL_CHARS: usize = 80;

/// Reads variables through a lookup and collects the problems of their values.
pub struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Problems,
}

impl<'a> Reader<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            lookup,
            problems: Problems::default(),
        }
    }

    /// The value as set (surrounding spaces kept); empty counts as unset.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    /// The value without surrounding spaces; empty counts as unset.
    pub fn trimmed(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A required value: a problem `"{name} is required ({what})"` when unset.
    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let v = self.trimmed(name);
        if v.is_none() {
            self.problems.push(format!("{name} is required ({what})"));
        }
        v
    }

    /// Records a problem found by the caller (a check across variables).
    pub fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem);
    }

    /// Adds the problems of another loader (duplicates skipped).
    pub fn extend(&mut self, problems: impl IntoIterator<Item = String>) {
        self.problems.extend(problems);
    }

    /// A whole number in `range`, else `default` (with a problem when set but invalid).
    pub fn number<T>(&mut self, name: &str, default: T, range: impl RangeBounds<T>) -> T
    where
        T: FromStr + PartialOrd + Copy + Display,
    {
        self.number_of(name, default, range, "")
    }

    /// Like [`Reader::number`], with the unit named in the message (`"seconds"`).
    pub fn number_of<T>(
        &mut self,
        name: &str,
        default: T,
        range: impl RangeBounds<T>,
        unit: &str,
    ) -> T
    where
        T: FromStr + PartialOrd + Copy + Display,
    {
        let Some(raw) = self.trimmed(name) else {
            return default;
        };
        match raw.parse::<T>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" of {unit}")
                };
                self.problems.push(format!(
                    "{name}={:?} is not a whole number{unit} {}",
                    crate::text::clip_chars(&raw, SHOWN_CHARS),
                    bounds(&range)
                ));
                default
            }
        }
    }

    /// A duration in whole seconds within `range` (of seconds), else `default`.
    pub fn seconds(&mut self, name: &str, default: u64, range: impl RangeBounds<u64>) -> Duration {
        Duration::from_secs(self.number_of(name, default, range, "seconds"))
    }

    /// A duration in whole milliseconds within `range` (of milliseconds), else `default`.
    pub fn millis(&mut self, name: &str, default: u64, range: impl RangeBounds<u64>) -> Duration {
        Duration::from_millis(self.number_of(name, default, range, "milliseconds"))
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case), else `default`.
    pub fn flag(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.trimmed(name) else {
            return default;
        };
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                self.problems.push(format!(
                    "{name}={:?} is not true or false",
                    crate::text::clip_chars(&raw, 20)
                ));
                default
            }
        }
    }

    /// A value parsed by `T::from_str` (a choice such as `stdout|stderr|off`); `None` when unset
    /// or invalid (then reported: `NAME="value" is not {expected}`).
    pub fn parsed<T: FromStr>(&mut self, name: &str, expected: &str) -> Option<T> {
        self.parsed_with(name, expected, |raw| raw.parse().ok())
    }

    /// Like [`Reader::parsed`] with the parse given (`None` for a value that is not valid): a
    /// time zone, a period, anything without its own `FromStr`.
    pub fn parsed_with<T>(
        &mut self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let raw = self.trimmed(name)?;
        let value = parse(&raw);
        if value.is_none() {
            self.problems.push(format!(
                "{name}={:?} is not {expected}",
                crate::text::clip_chars(&raw, SHOWN_CHARS)
            ));
        }
        value
    }

    /// A comma-separated list: items trimmed, empty items dropped; unset is empty.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.trimmed(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An http(s) URL (as set), else `default`; an invalid one is reported and kept.
    pub fn http_url(&mut self, name: &str, default: &str) -> String {
        let v = self.text(name).unwrap_or_else(|| default.to_owned());
        self.check_http_url(name, &v);
        v
    }

    /// Like [`Reader::http_url`] for trimmed values; unset stays unset.
    pub fn optional_http_url(&mut self, name: &str) -> Option<String> {
        let v = self.trimmed(name)?;
        self.check_http_url(name, &v);
        Some(v)
    }

    /// A secret http(s) URL: a bad one is reported without its value.
    pub fn secret_http_url(&mut self, name: &str) -> Option<String> {
        let v = self.text(name)?;
        if !is_http_url(&v) {
            self.problems
                .push(format!("{name} is not an http(s) URL (value not shown)"));
        }
        Some(v)
    }

    /// An ARN (`arn:…`); a bad one is reported and kept.
    pub fn arn(&mut self, name: &str) -> Option<String> {
        let v = self.text(name)?;
        if !v.starts_with("arn:") {
            self.problems.push(format!(
                "{name}={:?} is not an ARN (expected arn:…)",
                crate::text::clip_chars(&v, SHOWN_URL_CHARS)
            ));
        }
        Some(v)
    }

    fn check_http_url(&mut self, name: &str, v: &str) {
        if !is_http_url(v) {
            self.problems.push(format!(
                "{name}={:?} is not an http(s) URL",
                crate::text::clip_chars(v, SHOWN_URL_CHARS)
            ));
        }
    }

    /// The problems found so far.
    pub fn into_problems(self) -> Vec<String> {
        self.problems.into_vec()
    }

    /// `value` when nothing was found, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<String>> {
        self.problems.finish(value)
    }
}

/// `≥ min` or `from min to max`, for messages.
fn bounds<T: Display>(range: &impl RangeBounds<T>) -> String {
    match (range.start_bound(), range.end_bound()) {
        (Bound::Included(a), Bound::Included(b)) => format!("from {a} to {b}"),
        (Bound::Included(a), _) => format!("≥ {a}"),
        (_, Bound::Included(b)) => format!("≤ {b}"),
        _ => String::new(),
    }
}

pub(crate) fn is_http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with<T>(vars: &[(&str, &str)], f: impl FnOnce(&mut Reader<'_>) -> T) -> (T, Vec<String>) {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = |k: &str| map.get(k).cloned();
        let mut r = Reader::new(&lookup);
        let out = f(&mut r);
        (out, r.into_problems())
    }

    #[test]
    fn numbers_name_the_variable_the_value_and_the_range() {
        let ((a, b, c, d), problems) =
            with(&[("A", "0"), ("B", " 7 "), ("C", "lots"), ("D", "")], |r| {
                (
                    r.number("A", 5u32, 1..),
                    r.number("B", 5u32, 1..),
                    r.number_of("C", 60u32, 0..=43_200, "seconds"),
                    r.number("D", 9u32, 1..),
                )
            });
        assert_eq!((a, b, c, d), (5, 7, 60, 9));
        assert_eq!(
            problems,
            vec![
                "A=\"0\" is not a whole number ≥ 1".to_owned(),
                "C=\"lots\" is not a whole number of seconds from 0 to 43200".to_owned(),
            ]
        );
    }

    #[test]
    fn flags_lists_durations_and_choices() {
        let ((f, g, l, s, c), problems) = with(
            &[
                ("F", "No"),
                ("G", "maybe"),
                ("L", " a, ,b "),
                ("S", "90"),
                ("C", "loud"),
            ],
            |r| {
                (
                    r.flag("F", true),
                    r.flag("G", true),
                    r.list("L"),
                    r.seconds("S", 1, 1..),
                    r.parsed::<bool>("C", "true or false"),
                )
            },
        );
        assert!(!f);
        assert!(g);
        assert_eq!(l, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(s, Duration::from_secs(90));
        assert_eq!(c, None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("G=\"maybe\""));
        assert!(problems[1].starts_with("C=\"loud\""));
    }

    #[test]
    fn secrets_are_never_shown() {
        let (_, problems) = with(&[("W", "hooks.example/SECRET")], |r| r.secret_http_url("W"));
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].contains("SECRET"), "{problems:?}");
    }

    #[test]
    fn problems_are_listed_once() {
        let mut p = Problems::default();
        p.push("x");
        p.extend(vec!["x".to_owned(), "y".to_owned()]);
        assert_eq!(p.into_vec(), vec!["x".to_owned(), "y".to_owned()]);
    }
}
