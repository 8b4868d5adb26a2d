//! UTC calendar dates of Unix-millisecond times, without a date library: the board's
//! times are Unix milliseconds (08 §8.2), people read dates.

/// A day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Civil date (year, month 1..=12, day 1..=31) of a day count since 1970-01-01, in the
/// proleptic Gregorian calendar (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` (UTC) of a Unix-ms time.
pub fn utc_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The Unix-ms start (00:00 UTC) of the day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS).saturating_mul(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
        // 2000-02-29 (a leap day of a century divisible by 400) and the day after.
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(951_782_400_000 + DAY_MS), "2000-03-01");
        assert_eq!(utc_date(1_798_761_599_999), "2026-12-31");
        assert_eq!(
            day_start(1_798_761_599_999),
            1_798_761_599_999 - (DAY_MS - 1)
        );
    }
}
