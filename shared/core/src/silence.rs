//! Silences and maintenance windows: the pure rules that say whether an alert must be left alone.
//!
//! A [`Silence`] stops remediation for one instance, one role, one `ROLE:ALERT` key or everything
//! ([`Scope`]), either until a fixed time (at most [`MAX_SILENCE_MS`] ahead when it is set) or
//! during a recurring [`Window`] (e.g. `sun 02:00-04:00` in `Asia/Tokyo`). An instance tag
//! `selfheal:silence` holding an ISO-8601 end time silences that instance too
//! ([`tag_silence`]). Nothing here reads a clock or does I/O: every time is an argument, and
//! windows are evaluated in their own time zone with jiff, so DST changes are honoured.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

pub use crate::calendar::EpochMillis;

/// The instance tag that silences an instance until the ISO-8601 time it holds.
pub const SILENCE_TAG: &str = "selfheal:silence";
/// A silence may end at most this far after it is set (7 days).
pub const MAX_SILENCE_MS: EpochMillis = 7 * 86_400_000;

/// What a silence covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    Role(String),
    /// A `ROLE:ALERT` key (the alert's own key, not the runbook pattern).
    Key(String),
    Instance(String),
}

impl Scope {
    /// `all`, `role:ROLE`, `key:ROLE:ALERT` or `instance:ID`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "all" {
            return Ok(Self::All);
        }
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| format!("scope {s:?} is not all, role:R, key:R:A or instance:ID"))?;
        if value.is_empty() {
            return Err(format!("scope {s:?} names nothing after {kind:?}"));
        }
        match kind {
            "role" if !value.contains(':') => Ok(Self::Role(value.to_owned())),
            "key"
                if value
                    .split_once(':')
                    .is_some_and(|(r, a)| !r.is_empty() && !a.is_empty()) =>
            {
                Ok(Self::Key(value.to_owned()))
            }
            "instance" => crate::InstanceId::parse(value)
                .map(|_| Self::Instance(value.to_owned()))
                .map_err(|e| format!("scope {s:?}: {e}")),
            _ => Err(format!(
                "scope {s:?} is not all, role:ROLE, key:ROLE:ALERT or instance:ID"
            )),
        }
    }

    pub fn matches(&self, role: Option<&str>, key: Option<&str>, instance: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Role(r) => role == Some(r.as_str()),
            Self::Key(k) => key == Some(k.as_str()),
            Self::Instance(i) => instance == Some(i.as_str()),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Role(r) => write!(f, "role:{r}"),
            Self::Key(k) => write!(f, "key:{k}"),
            Self::Instance(i) => write!(f, "instance:{i}"),
        }
    }
}

/// A recurring window: some weekdays, a local start and end time (an end at or before the start
/// runs past midnight), in an IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: Vec<Weekday>,
    pub start: Time,
    pub end: Time,
    pub tz: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn weekday(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(name, _)| s.starts_with(name) && s.len() >= 3)
        .map(|(_, d)| *d)
}

fn clock(s: &str) -> Result<Time, String> {
    let (h, m) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not HH:MM"))?;
    let h: i8 = h.parse().map_err(|_| format!("{s:?} is not HH:MM"))?;
    let m: i8 = m.parse().map_err(|_| format!("{s:?} is not HH:MM"))?;
    if h == 24 && m == 0 {
        return Ok(Time::midnight());
    }
    Time::new(h, m, 0, 0).map_err(|_| format!("{s:?} is not a time of day"))
}

impl Window {
    /// Parses `DAYS HH:MM-HH:MM` where DAYS is `daily`, a day (`sun`), a list (`sat,sun`) or a
    /// range (`mon-fri`), and `tz` an IANA zone name (`Asia/Tokyo`, `UTC`).
    pub fn parse(spec: &str, tz: &str) -> Result<Self, String> {
        TimeZone::get(tz)
            .map_err(|_| format!("{tz:?} is not an IANA time zone (e.g. Asia/Tokyo)"))?;
        let (days_part, times) = spec.trim().rsplit_once(' ').ok_or_else(|| {
            format!("window {spec:?} is not \"DAYS HH:MM-HH:MM\" (e.g. \"sun 02:00-04:00\")")
        })?;
        let (start, end) = times
            .split_once('-')
            .ok_or_else(|| format!("window {spec:?}: {times:?} is not HH:MM-HH:MM"))?;
        let (start, end) = (clock(start)?, clock(end)?);
        if start == end {
            return Err(format!("window {spec:?} starts and ends at the same time"));
        }
        let mut days = Vec::new();
        let days_part = days_part.trim().to_ascii_lowercase();
        if days_part == "daily" || days_part == "every day" {
            days.extend(DAYS.iter().map(|(_, d)| *d));
        } else {
            for part in days_part.split(',') {
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (
                            weekday(a).ok_or_else(|| format!("{a:?} is not a weekday"))?,
                            weekday(b).ok_or_else(|| format!("{b:?} is not a weekday"))?,
                        );
                        let mut d = a;
                        loop {
                            days.push(d);
                            if d == b {
                                break;
                            }
                            d = d.next();
                        }
                    }
                    None => days
                        .push(weekday(part).ok_or_else(|| format!("{part:?} is not a weekday"))?),
                }
            }
        }
        days.sort_by_key(|d| d.to_monday_zero_offset());
        days.dedup();
        Ok(Self {
            days,
            start,
            end,
            tz: tz.to_owned(),
        })
    }

    /// The canonical spec (`sat,sun 22:00-02:00`), without the zone.
    pub fn spec(&self) -> String {
        let days: Vec<&str> = self
            .days
            .iter()
            .filter_map(|d| DAYS.iter().find(|(_, x)| x == d).map(|(n, _)| *n))
            .collect();
        let days = if days.len() == 7 {
            "daily".to_owned()
        } else {
            days.join(",")
        };
        format!(
            "{days} {}-{}",
            self.start.strftime("%H:%M"),
            self.end.strftime("%H:%M")
        )
    }

    /// The occurrence `[start, end)` (epoch ms) that contains `now`, if any. A local time that
    /// does not exist (spring forward) moves later, an ambiguous one (fall back) takes the first.
    pub fn occurrence_at(&self, now: EpochMillis) -> Option<(EpochMillis, EpochMillis)> {
        let tz = TimeZone::get(&self.tz).ok()?;
        let now_ts = Timestamp::from_millisecond(now).ok()?;
        let today = now_ts.to_zoned_datetime(tz.clone()).date();
        // A window that started yesterday may still be open (past midnight).
        for start_day in [today.yesterday().ok()?, today] {
            if !self.days.contains(&start_day.weekday()) {
                continue;
            }
            let (start, end) = self.bounds(&tz, start_day)?;
            if start <= now && now < end {
                return Some((start, end));
            }
        }
        None
    }

    fn bounds(&self, tz: &TimeZone, day: Date) -> Option<(EpochMillis, EpochMillis)> {
        let end_day = if self.end <= self.start {
            day.checked_add(1.day()).ok()?
        } else {
            day
        };
        let start = day
            .to_datetime(self.start)
            .to_zoned_datetime(tz.clone())
            .ok()?;
        let end = end_day
            .to_datetime(self.end)
            .to_zoned_datetime(tz.clone())
            .ok()?;
        Some((
            start.timestamp().as_millisecond(),
            end.timestamp().as_millisecond(),
        ))
    }
}

/// When a silence applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    Until(EpochMillis),
    Recurring(Window),
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub id: String,
    pub scope: Scope,
    pub period: Period,
    pub reason: String,
    pub created_by: String,
    pub created_at_ms: EpochMillis,
}

/// The stored form (one DynamoDB item; also the JSON of `selfheal silence list --format json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceRecord {
    pub id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<EpochMillis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created_at_ms: EpochMillis,
}

impl Silence {
    pub fn to_record(&self) -> SilenceRecord {
        let (until_ms, window, tz) = match &self.period {
            Period::Until(t) => (Some(*t), None, None),
            Period::Recurring(w) => (None, Some(w.spec()), Some(w.tz.clone())),
        };
        SilenceRecord {
            id: self.id.clone(),
            scope: self.scope.to_string(),
            until_ms,
            window,
            tz,
            reason: self.reason.clone(),
            created_by: self.created_by.clone(),
            created_at_ms: self.created_at_ms,
        }
    }

    pub fn from_record(r: &SilenceRecord) -> Result<Self, String> {
        let scope = Scope::parse(&r.scope)?;
        let period = match (&r.until_ms, &r.window) {
            (Some(t), None) => Period::Until(*t),
            (None, Some(w)) => {
                Period::Recurring(Window::parse(w, r.tz.as_deref().unwrap_or("UTC"))?)
            }
            _ => {
                return Err(format!(
                    "silence {}: needs exactly one of until or window",
                    r.id
                ))
            }
        };
        Ok(Self {
            id: r.id.clone(),
            scope,
            period,
            reason: r.reason.clone(),
            created_by: r.created_by.clone(),
            created_at_ms: r.created_at_ms,
        })
    }

    /// The end of the stretch of silence that contains `now`, or `None` when it does not apply.
    pub fn active_until(&self, now: EpochMillis) -> Option<EpochMillis> {
        match &self.period {
            Period::Until(t) => (now < *t).then_some(*t),
            Period::Recurring(w) => w.occurrence_at(now).map(|(_, end)| end),
        }
    }

    /// Whether a one-off silence has ended for good (windows never do).
    pub fn expired(&self, now: EpochMillis) -> bool {
        matches!(self.period, Period::Until(t) if t <= now)
    }

    pub fn describe(&self) -> String {
        match &self.period {
            Period::Until(t) => format!(
                "silence {} ({}) until {} by {}: {}",
                self.id,
                self.scope,
                iso(*t),
                self.created_by,
                self.reason
            ),
            Period::Recurring(w) => format!(
                "maintenance window {} ({}, {} {}) by {}: {}",
                self.id,
                self.scope,
                w.spec(),
                w.tz,
                self.created_by,
                self.reason
            ),
        }
    }
}

/// Why an alert is left alone, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silenced {
    /// Stable per stretch of silence, so it is announced once: the silence id (plus the window
    /// occurrence), or `tag:<instance>:<until>`.
    pub note_id: String,
    pub until_ms: EpochMillis,
    pub reason: String,
}

/// The first silence that applies to an alert at `now`.
pub fn find_silence(
    silences: &[Silence],
    role: Option<&str>,
    key: Option<&str>,
    instance: Option<&str>,
    now: EpochMillis,
) -> Option<Silenced> {
    silences.iter().find_map(|s| {
        if !s.scope.matches(role, key, instance) {
            return None;
        }
        let until = s.active_until(now)?;
        let note_id = match s.period {
            Period::Until(_) => s.id.clone(),
            Period::Recurring(_) => format!("{}@{until}", s.id),
        };
        Some(Silenced {
            note_id,
            until_ms: until,
            reason: s.describe(),
        })
    })
}

/// The silence an instance's `selfheal:silence` tag asks for. A tag that cannot be read as an
/// ISO-8601 time silences the instance for the next hour (someone meant to silence it; nothing
/// runs on a guess) and says so.
pub fn tag_silence(instance: &str, value: &str, now: EpochMillis) -> Option<Silenced> {
    match parse_time(value) {
        Ok(until) if until > now => Some(Silenced {
            note_id: format!("tag:{instance}:{until}"),
            until_ms: until,
            reason: format!(
                "the instance's {SILENCE_TAG} tag silences it until {}",
                iso(until)
            ),
        }),
        Ok(_) => None,
        Err(e) => {
            let until = now - now.rem_euclid(3_600_000) + 3_600_000;
            Some(Silenced {
                note_id: format!("tag:{instance}:unreadable:{until}"),
                until_ms: until,
                reason: format!(
                    "the instance's {SILENCE_TAG} tag {value:?} is not an ISO-8601 time ({e}); treated as silenced, fix or remove the tag"
                ),
            })
        }
    }
}

/// An ISO-8601 instant with an offset (`2026-11-23T05:00:00Z`, `…+09:00`) as epoch ms.
pub fn parse_time(s: &str) -> Result<EpochMillis, String> {
    s.trim()
        .parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("{s:?} is not an ISO-8601 time with an offset: {e}"))
}

/// `2026-11-23T05:00:00Z`.
pub fn iso(ms: EpochMillis) -> String {
    Timestamp::from_millisecond(ms).map_or_else(
        |_| ms.to_string(),
        |t| {
            t.round(jiff::Unit::Second)
                .map_or_else(|_| t.to_string(), |t| t.to_string())
        },
    )
}

/// Reads a duration such as `90m`, `2h`, `3d`, `1h30m` as milliseconds.
pub fn parse_duration(s: &str) -> Result<EpochMillis, String> {
    let mut total: i64 = 0;
    let mut number = String::new();
    let bad = || format!("{s:?} is not a duration like 30m, 2h, 3d or 1h30m");
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> EpochMillis {
        parse_time(s).expect("time")
    }

    #[test]
    fn scopes() {
        assert_eq!(Scope::parse("all"), Ok(Scope::All));
        assert_eq!(Scope::parse("role:db"), Ok(Scope::Role("db".into())));
        assert_eq!(
            Scope::parse("key:db:disk_full"),
            Ok(Scope::Key("db:disk_full".into()))
        );
        assert!(Scope::parse("instance:i-0123abcd").is_ok());
        assert!(Scope::parse("instance:web-1").is_err());
        assert!(Scope::parse("key:db").is_err());
        assert!(Scope::parse("role:").is_err());
        assert!(Scope::parse("cluster:x").is_err());
        let k = Scope::Key("db:disk_full".into());
        assert!(k.matches(Some("db"), Some("db:disk_full"), None));
        assert!(!k.matches(Some("db"), Some("db:cpu"), None));
        assert!(Scope::All.matches(None, None, None));
    }

    #[test]
    fn window_specs() {
        let w = Window::parse("sun 02:00-04:00", "Asia/Tokyo").expect("ok");
        assert_eq!(w.days, vec![Weekday::Sunday]);
        assert_eq!(w.spec(), "sun 02:00-04:00");
        let w = Window::parse("mon-fri 22:00-02:00", "UTC").expect("ok");
        assert_eq!(w.days.len(), 5);
        assert_eq!(w.spec(), "mon,tue,wed,thu,fri 22:00-02:00");
        assert_eq!(
            Window::parse("daily 01:00-01:30", "UTC")
                .expect("ok")
                .spec(),
            "daily 01:00-01:30"
        );
        assert!(Window::parse("sun 02:00-04:00", "Mars/Olympus").is_err());
        assert!(Window::parse("sun 25:00-04:00", "UTC").is_err());
        assert!(Window::parse("someday 02:00-04:00", "UTC").is_err());
        assert!(Window::parse("sun 02:00", "UTC").is_err());
        assert!(Window::parse("sun 02:00-02:00", "UTC").is_err());
    }

    #[test]
    fn tokyo_window_in_utc() {
        // Sunday 02:00–04:00 in Tokyo is Saturday 17:00–19:00 UTC.
        let w = Window::parse("sun 02:00-04:00", "Asia/Tokyo").expect("ok");
        assert!(w.occurrence_at(ms("2026-11-21T16:59:59Z")).is_none());
        assert_eq!(
            w.occurrence_at(ms("2026-11-21T17:00:00Z")),
            Some((ms("2026-11-21T17:00:00Z"), ms("2026-11-21T19:00:00Z")))
        );
        assert!(w.occurrence_at(ms("2026-11-21T18:59:59Z")).is_some());
        assert!(w.occurrence_at(ms("2026-11-21T19:00:00Z")).is_none());
        assert!(
            w.occurrence_at(ms("2026-11-22T17:30:00Z")).is_none(),
            "a Monday in Tokyo"
        );
    }

    #[test]
    fn windows_follow_dst() {
        // New York: 01:00–03:00 on Sundays. In winter (EST, -5) that is 06:00–08:00 UTC; in summer
        // (EDT, -4) 05:00–07:00 UTC. On 2026-03-08 clocks jump 02:00 → 03:00, so that night's
        // window is 06:00–07:00 UTC (one hour long).
        let w = Window::parse("sun 01:00-03:00", "America/New_York").expect("ok");
        assert_eq!(
            w.occurrence_at(ms("2026-03-01T06:30:00Z")),
            Some((ms("2026-03-01T06:00:00Z"), ms("2026-03-01T08:00:00Z")))
        );
        assert_eq!(
            w.occurrence_at(ms("2026-03-08T06:30:00Z")),
            Some((ms("2026-03-08T06:00:00Z"), ms("2026-03-08T07:00:00Z")))
        );
        assert!(w.occurrence_at(ms("2026-03-08T07:30:00Z")).is_none());
        assert_eq!(
            w.occurrence_at(ms("2026-03-15T05:30:00Z")),
            Some((ms("2026-03-15T05:00:00Z"), ms("2026-03-15T07:00:00Z")))
        );
        // A start inside the spring-forward gap moves later: 02:30 does not exist on 03-08.
        let gap = Window::parse("sun 02:30-04:00", "America/New_York").expect("ok");
        assert_eq!(
            gap.occurrence_at(ms("2026-03-08T07:45:00Z")),
            Some((ms("2026-03-08T07:30:00Z"), ms("2026-03-08T08:00:00Z")))
        );
        // Fall back (2026-11-01, 02:00 EDT → 01:00 EST): 01:00–03:00 lasts three hours.
        assert_eq!(
            w.occurrence_at(ms("2026-11-01T07:30:00Z")),
            Some((ms("2026-11-01T05:00:00Z"), ms("2026-11-01T08:00:00Z")))
        );
    }

    #[test]
    fn windows_past_midnight() {
        let w = Window::parse("sat 23:00-01:00", "UTC").expect("ok");
        assert!(
            w.occurrence_at(ms("2026-11-21T23:30:00Z")).is_some(),
            "Saturday night"
        );
        assert!(
            w.occurrence_at(ms("2026-11-22T00:30:00Z")).is_some(),
            "early Sunday"
        );
        assert!(w.occurrence_at(ms("2026-11-22T01:00:00Z")).is_none());
        assert!(
            w.occurrence_at(ms("2026-11-22T23:30:00Z")).is_none(),
            "Sunday night"
        );
    }

    #[test]
    fn finding_silences() {
        let now = ms("2026-11-23T03:00:00Z");
        let s = |id: &str, scope: Scope, period: Period| Silence {
            id: id.into(),
            scope,
            period,
            reason: "r".into(),
            created_by: "alice".into(),
            created_at_ms: now - 1,
        };
        let list = vec![
            s("s1", Scope::Role("db".into()), Period::Until(now - 1)),
            s(
                "s2",
                Scope::Key("web:nginx_down".into()),
                Period::Until(now + 60_000),
            ),
            s(
                "s3",
                Scope::Role("batch".into()),
                Period::Recurring(Window::parse("mon 02:00-04:00", "UTC").expect("ok")),
            ),
        ];
        assert!(
            find_silence(&list, Some("db"), Some("db:x"), None, now).is_none(),
            "expired"
        );
        let hit = find_silence(&list, Some("web"), Some("web:nginx_down"), None, now).expect("s2");
        assert_eq!(hit.note_id, "s2");
        assert_eq!(hit.until_ms, now + 60_000);
        assert!(find_silence(&list, Some("web"), Some("web:disk"), None, now).is_none());
        let w = find_silence(&list, Some("batch"), Some("batch:x"), None, now).expect("window");
        assert_eq!(w.until_ms, ms("2026-11-23T04:00:00Z"));
        assert_eq!(w.note_id, format!("s3@{}", w.until_ms));
        // Stored form round-trips.
        for x in &list {
            assert_eq!(Silence::from_record(&x.to_record()).as_ref(), Ok(x));
        }
    }

    #[test]
    fn tags_and_times() {
        let now = ms("2026-11-23T03:00:00Z");
        // 12:00 in Tokyo is 03:00 UTC: the silence ends exactly now.
        assert!(tag_silence("i-0123abcd", "2026-11-23T12:00:00+09:00", now).is_none());
        assert!(
            tag_silence("i-0123abcd", "2026-11-23T02:00:00Z", now).is_none(),
            "over"
        );
        let t = tag_silence("i-0123abcd", "2026-11-23T05:00:00Z", now).expect("active");
        assert_eq!(t.until_ms, ms("2026-11-23T05:00:00Z"));
        let bad = tag_silence("i-0123abcd", "tomorrow", now).expect("unreadable: silenced");
        assert!(bad.reason.contains("not an ISO-8601"), "{}", bad.reason);
        assert_eq!(parse_duration("90m"), Ok(5_400_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("7d"), Ok(MAX_SILENCE_MS));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("5").is_err());
        assert_eq!(iso(ms("2026-11-23T03:00:00.400Z")), "2026-11-23T03:00:00Z");
    }
}
