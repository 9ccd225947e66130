//! Working hours (`SELFHEAL_REPORT_WORK_HOURS`, default `mon-fri 08:00-19:00`): the report
//! counts alerts and pages outside them as "off hours", in the report's time zone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Days of the week (Monday = 0) and a local time span `[start, end)` in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkHours {
    days: [bool; 7],
    start_min: u16,
    end_min: u16,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Default for WorkHours {
    fn default() -> Self {
        Self {
            days: [true, true, true, true, true, false, false],
            start_min: 8 * 60,
            end_min: 19 * 60,
        }
    }
}

impl WorkHours {
    /// Whether local `weekday` (Monday = 0) at `minute` of the day is inside working hours.
    pub fn contains(&self, weekday: usize, minute: u16) -> bool {
        self.days.get(weekday).copied().unwrap_or(false)
            && minute >= self.start_min
            && minute < self.end_min
    }
}

fn day(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| s.starts_with(d) && s.len() >= 3)
}

fn minute(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl FromStr for WorkHours {
    type Err = String;

    /// `mon-fri 08:00-19:00`, `mon,wed,fri 09:00-17:30`, `mon-sun 00:00-24:00`.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid working hours {:?}: expected days and a time span such as \"mon-fri 08:00-19:00\"",
                crate::alert::clip(raw, 60)
            )
        };
        let (days_s, span) = raw.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
        let mut days = [false; 7];
        for part in days_s.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a).ok_or_else(bad)?, day(b).ok_or_else(bad)?);
                    let mut d = a;
                    loop {
                        days[d] = true;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days[day(part).ok_or_else(bad)?] = true,
            }
        }
        let (a, b) = span.trim().split_once('-').ok_or_else(bad)?;
        let (start_min, end_min) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
        if start_min >= end_min {
            return Err(bad());
        }
        Ok(Self {
            days,
            start_min,
            end_min,
        })
    }
}

impl fmt::Display for WorkHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            if !self.days[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < 7 && self.days[i + 1] {
                i += 1;
            }
            parts.push(if start == i {
                DAY_NAMES[i].to_owned()
            } else {
                format!("{}-{}", DAY_NAMES[start], DAY_NAMES[i])
            });
            i += 1;
        }
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(
            f,
            "{} {}-{}",
            parts.join(","),
            hm(self.start_min),
            hm(self.end_min)
        )
    }
}

impl TryFrom<String> for WorkHours {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<WorkHours> for String {
    fn from(w: WorkHours) -> Self {
        w.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let w: WorkHours = "mon-fri 08:00-19:00".parse().expect("parse");
        assert_eq!(w, WorkHours::default());
        assert_eq!(w.to_string(), "mon-fri 08:00-19:00");
        assert!(w.contains(0, 8 * 60));
        assert!(!w.contains(0, 19 * 60));
        assert!(!w.contains(5, 12 * 60));
        let w: WorkHours = "Sat-Mon 00:00-24:00".parse().expect("wrap");
        assert_eq!(w.to_string(), "mon,sat-sun 00:00-24:00");
        assert!("mon-fri".parse::<WorkHours>().is_err());
        assert!("mon-fri 19:00-08:00".parse::<WorkHours>().is_err());
        assert!("xyz 08:00-09:00".parse::<WorkHours>().is_err());
        assert!("mon 08:00-25:00".parse::<WorkHours>().is_err());
    }
}
