//! The report window: two periods of whole local days ("last week" then "this week") in a
//! configured IANA time zone, computed once from `now` (core has no clock).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::hours::WorkHours;
use crate::history::EpochMillis;

/// The longest period `--since` accepts, in days.
pub const MAX_PERIOD_DAYS: u32 = 92;

/// Why a window or report could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("unknown time zone {0:?} (expected an IANA name such as Europe/Berlin or UTC)")]
    UnknownTimeZone(String),
    #[error("invalid period {0:?}: expected a number of days or weeks such as 7d, 14d or 2w (1 to {MAX_PERIOD_DAYS} days)")]
    InvalidPeriod(String),
    #[error("time {0} ms is outside the supported calendar range")]
    OutOfRange(EpochMillis),
}

/// Where "this week" ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowEnd {
    /// This period ends at the end of today (local): today's alerts so far are included.
    /// `selfheal report` uses it.
    EndOfToday,
    /// This period ends at the start of today (local): only complete days. The scheduled
    /// reporter uses it, so a Monday-morning run reports exactly Monday..Sunday.
    StartOfToday,
}

/// Parses `--since`: `7d`, `14d`, `2w`, or a bare number of days. 1..=[`MAX_PERIOD_DAYS`].
pub fn parse_since(raw: &str) -> Result<u32, ReportError> {
    let bad = || ReportError::InvalidPeriod(crate::alert::clip(raw, 40));
    let s = raw.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix(['d', 'D']) {
        (n, 1)
    } else if let Some(n) = s.strip_suffix(['w', 'W']) {
        (n, 7)
    } else {
        (s, 1)
    };
    let n: u32 = num.trim().parse().map_err(|_| bad())?;
    let days = n.checked_mul(mult).ok_or_else(bad)?;
    if (1..=MAX_PERIOD_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(bad())
    }
}

/// Two consecutive periods of `days` whole local days each, ending per [`WindowEnd`].
///
/// Day `i` (0-based) of the window spans `[bounds[i], bounds[i + 1])` in epoch milliseconds;
/// days `0..days` are last week and `days..2 * days` this week. Local midnights are found with
/// jiff's bundled time-zone database, so a day across a DST change is 23 or 25 hours long.
#[derive(Debug, Clone)]
pub struct ReportWindow {
    tz_name: String,
    tz: TimeZone,
    days: u32,
    now_ms: EpochMillis,
    end: WindowEnd,
    bounds: Vec<EpochMillis>,
    dates: Vec<Date>,
    work_hours: WorkHours,
}

impl ReportWindow {
    /// Computes the window for `now_ms` in time zone `tz_name` (IANA, e.g. `Asia/Tokyo`).
    pub fn new(
        now_ms: EpochMillis,
        tz_name: &str,
        days: u32,
        end: WindowEnd,
    ) -> Result<Self, ReportError> {
        if !(1..=MAX_PERIOD_DAYS).contains(&days) {
            return Err(ReportError::InvalidPeriod(format!("{days}d")));
        }
        let tz = TimeZone::get(tz_name)
            .map_err(|_| ReportError::UnknownTimeZone(crate::alert::clip(tz_name, 60)))?;
        let now =
            Timestamp::from_millisecond(now_ms).map_err(|_| ReportError::OutOfRange(now_ms))?;
        let today = tz.to_datetime(now).date();
        let oor = |_| ReportError::OutOfRange(now_ms);
        let end_date = match end {
            WindowEnd::EndOfToday => today.tomorrow().map_err(oor)?,
            WindowEnd::StartOfToday => today,
        };
        let total = 2 * days as usize;
        let mut dates = Vec::with_capacity(total + 1);
        let mut d = end_date;
        dates.push(d);
        for _ in 0..total {
            d = d.yesterday().map_err(oor)?;
            dates.push(d);
        }
        dates.reverse();
        let bounds = dates
            .iter()
            .map(|d| {
                d.to_zoned_datetime(tz.clone())
                    .map(|z| z.timestamp().as_millisecond())
                    .map_err(oor)
            })
            .collect::<Result<Vec<_>, _>>()?;
        dates.pop(); // the end date is a bound only
        Ok(Self {
            tz_name: tz_name.to_owned(),
            tz,
            days,
            now_ms,
            end,
            bounds,
            dates,
            work_hours: WorkHours::default(),
        })
    }

    /// Days per period.
    pub fn days(&self) -> u32 {
        self.days
    }

    pub fn time_zone(&self) -> &str {
        &self.tz_name
    }

    pub fn now_ms(&self) -> EpochMillis {
        self.now_ms
    }

    pub fn end(&self) -> WindowEnd {
        self.end
    }

    /// Sets the working hours (local time) that separate off-hours alerts.
    pub fn with_work_hours(mut self, work_hours: WorkHours) -> Self {
        self.work_hours = work_hours;
        self
    }

    pub fn work_hours(&self) -> WorkHours {
        self.work_hours
    }

    /// Today's local date when this period includes today ([`WindowEnd::EndOfToday`]): the
    /// day is partial, up to `now`.
    pub fn partial_day(&self) -> Option<String> {
        match self.end {
            WindowEnd::EndOfToday => self.dates.last().map(ToString::to_string),
            WindowEnd::StartOfToday => None,
        }
    }

    /// Local weekday (Monday = 0) and minute of the day of an instant.
    pub fn local_weekday_minute(&self, ms: EpochMillis) -> Option<(usize, u16)> {
        let t = Timestamp::from_millisecond(ms).ok()?;
        let dt = self.tz.to_datetime(t);
        let weekday = usize::try_from(dt.weekday().to_monday_zero_offset()).ok()?;
        let minute = u16::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).ok()?;
        Some((weekday, minute))
    }

    /// [`Self::local_weekday_minute`] of an instant known to fall on window day `idx`: without
    /// a time-zone lookup when that day is 24 hours long (every day but a DST change).
    pub fn local_weekday_minute_in(&self, idx: usize, ms: EpochMillis) -> Option<(usize, u16)> {
        match (
            self.bounds.get(idx),
            self.bounds.get(idx + 1),
            self.dates.get(idx),
        ) {
            (Some(start), Some(end), Some(date)) if end - start == 86_400_000 && ms >= *start => {
                let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).ok()?;
                let minute = u16::try_from((ms - start) / 60_000).ok()?.min(24 * 60 - 1);
                Some((weekday, minute))
            }
            _ => self.local_weekday_minute(ms),
        }
    }

    /// Local `HH:MM` of an instant.
    pub fn format_time_of_day(&self, ms: EpochMillis) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(t) => self.tz.to_datetime(t).strftime("%H:%M").to_string(),
            Err(_) => String::new(),
        }
    }

    /// The window's day index of an instant: `0..2 * days`, or `None` outside the window.
    pub fn day_index(&self, ms: EpochMillis) -> Option<usize> {
        let i = self.bounds.partition_point(|b| *b <= ms);
        if i == 0 || i >= self.bounds.len() {
            None
        } else {
            Some(i - 1)
        }
    }

    /// `[start, end)` of this period, epoch ms.
    pub fn this_period(&self) -> (EpochMillis, EpochMillis) {
        let d = self.days as usize;
        (self.bounds[d], self.bounds[2 * d])
    }

    /// `[start, end)` of the previous period, epoch ms.
    pub fn last_period(&self) -> (EpochMillis, EpochMillis) {
        let d = self.days as usize;
        (self.bounds[0], self.bounds[d])
    }

    /// `[start, end)` of the whole window (both periods), epoch ms.
    pub fn span(&self) -> (EpochMillis, EpochMillis) {
        (self.bounds[0], self.bounds[self.bounds.len() - 1])
    }

    /// The local date (`YYYY-MM-DD`) of window day `i`.
    pub fn local_date(&self, i: usize) -> String {
        self.dates[i].to_string()
    }

    /// The local dates of this period, oldest first.
    pub fn this_period_dates(&self) -> Vec<String> {
        let d = self.days as usize;
        (d..2 * d).map(|i| self.local_date(i)).collect()
    }

    /// Short weekday name (`Mon`) of window day `i`.
    pub fn weekday_short(&self, i: usize) -> &'static str {
        use jiff::civil::Weekday::*;
        match self.dates[i].weekday() {
            Monday => "Mon",
            Tuesday => "Tue",
            Wednesday => "Wed",
            Thursday => "Thu",
            Friday => "Fri",
            Saturday => "Sat",
            Sunday => "Sun",
        }
    }

    /// The UTC day partitions (`YYYY-MM-DD`, oldest first) that hold every record of the window:
    /// history is stored by UTC day, the window is cut in local days.
    pub fn utc_days(&self) -> Vec<String> {
        let (start, end) = self.span();
        let utc = |ms: EpochMillis| -> Option<Date> {
            Timestamp::from_millisecond(ms)
                .ok()
                .map(|t| TimeZone::UTC.to_datetime(t).date())
        };
        let (Some(first), Some(last)) = (utc(start), utc(end - 1)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut d = first;
        while d <= last {
            out.push(d.to_string());
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        out
    }

    /// An instant as RFC 3339 with the local offset (`2024-06-10T09:00:00+09:00`).
    pub fn format_instant(&self, ms: EpochMillis) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(t) => {
                let dt = self.tz.to_datetime(t);
                let offset = self.tz.to_offset(t);
                format!(
                    "{}{}",
                    dt.strftime("%Y-%m-%dT%H:%M:%S"),
                    offset_string(offset.seconds())
                )
            }
            Err(_) => ms.to_string(),
        }
    }
}

fn offset_string(seconds: i32) -> String {
    if seconds == 0 {
        return "Z".to_owned();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", s / 3600, (s % 3600) / 60)
}

/// `YYYY-MM-DD` → epoch ms of 12:00 UTC that day (the fallback instant of a record with no
/// timestamps: noon UTC falls on the same local date for offsets from −12 to +11 hours).
pub fn utc_noon_of_day(day: &str) -> Option<EpochMillis> {
    let b = day.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i16 = day.get(0..4)?.parse().ok()?;
    let m: i8 = day.get(5..7)?.parse().ok()?;
    let d: i8 = day.get(8..10)?.parse().ok()?;
    let date = Date::new(y, m, d).ok()?;
    let z = date.at(12, 0, 0, 0).to_zoned_datetime(TimeZone::UTC).ok()?;
    Some(z.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_parses() {
        assert_eq!(parse_since("7d"), Ok(7));
        assert_eq!(parse_since("2w"), Ok(14));
        assert_eq!(parse_since(" 3 "), Ok(3));
        assert!(parse_since("0d").is_err());
        assert!(parse_since("1y").is_err());
        assert!(parse_since("93d").is_err());
        assert!(parse_since("-1d").is_err());
        assert!(parse_since("").is_err());
    }

    #[test]
    fn fast_local_time_agrees_with_the_time_zone_database() {
        // Two weeks across the spring DST change in New York (2024-03-10), every 7 minutes.
        let now = 1_710_763_200_000; // 2024-03-18T12:00:00Z
        for tz in ["America/New_York", "Asia/Kolkata", "UTC"] {
            let w = ReportWindow::new(now, tz, 7, WindowEnd::StartOfToday).expect("window");
            let (start, end) = w.span();
            let mut t = start;
            while t < end {
                let idx = w.day_index(t).expect("in window");
                assert_eq!(
                    w.local_weekday_minute_in(idx, t),
                    w.local_weekday_minute(t),
                    "{tz} at {t}"
                );
                t += 7 * 60_000;
            }
        }
    }

    #[test]
    fn noon() {
        assert_eq!(utc_noon_of_day("1970-01-02"), Some(86_400_000 + 43_200_000));
        assert_eq!(utc_noon_of_day("1970-1-02"), None);
        assert_eq!(utc_noon_of_day("2024-02-30"), None);
    }

    #[test]
    fn utc_window() {
        // 2024-06-12T10:00:00Z, a Wednesday.
        let now = 1_718_186_400_000;
        let w = ReportWindow::new(now, "UTC", 7, WindowEnd::StartOfToday).expect("window");
        assert_eq!(
            w.this_period_dates().first().map(String::as_str),
            Some("2024-06-05")
        );
        assert_eq!(
            w.this_period_dates().last().map(String::as_str),
            Some("2024-06-11")
        );
        assert_eq!(w.utc_days().len(), 14);
        assert_eq!(w.day_index(now), None);
        assert_eq!(w.day_index(now - 86_400_000), Some(13));
        assert_eq!(w.format_instant(now), "2024-06-12T10:00:00Z");
    }
}
