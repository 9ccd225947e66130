//! Time as selfheal stores it: [`EpochMillis`] (the one type every crate uses for instants) and
//! the UTC day partition string of the history table ([`day_string`]). Pure: instants are
//! arguments, never read from a clock. Local days and time zones (the weekly report) are in
//! `report::window`.

/// Milliseconds since the Unix epoch.
pub type EpochMillis = i64;

/// `YYYY-MM-DD` (UTC) of an epoch-ms instant: the history table's day partition.
pub fn day_string(ms: EpochMillis) -> String {
    let days = ms.div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant), valid for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::day_string;

    #[test]
    fn days() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(1_795_403_000_000), "2026-11-23");
        assert_eq!(day_string(951_782_400_000), "2000-02-29");
        assert_eq!(day_string(-1), "1969-12-31");
    }
}
