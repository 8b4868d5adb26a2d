//! Times on the command line: Unix milliseconds, UTC dates and durations.

use anyhow::{anyhow, bail, Result};
use vox_protocol::time::civil_from_days;

pub use vox_protocol::time::DAY_MS;

/// The time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix-ms time.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `YYYYMMDD-HHMMSS` (UTC) of a Unix-ms time, for file names.
pub fn compact_utc(ms: i64) -> String {
    format_utc(ms)
        .trim_end_matches('Z')
        .replace(['-', ':'], "")
        .replace('T', "-")
}

/// A point in time: Unix milliseconds, or a UTC date `YYYY-MM-DD[THH:MM[:SS]][Z]`.
pub fn parse_time(s: &str) -> Result<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map_err(|_| anyhow!("{s:?} is not a time in Unix milliseconds"));
    }
    let bad =
        || anyhow!("{s:?} is not a time: use Unix milliseconds or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    let t = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, t)) => (d, t),
        None => (t, "00:00:00"),
    };
    let num = |x: &str| -> Result<i64> {
        if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        x.parse().map_err(|_| bad())
    };
    let d: Vec<&str> = date.split('-').collect();
    let [y, mo, da] = d.as_slice() else {
        return Err(bad());
    };
    let (y, mo, da) = (num(y)?, num(mo)?, num(da)?);
    let tm: Vec<&str> = time.split(':').collect();
    let (h, mi, se) = match tm.as_slice() {
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 59 {
        return Err(bad());
    }
    let days = days_from_civil(y, mo, da);
    if civil_from_days(days) != (y, mo, da) {
        return Err(bad());
    }
    Ok(((days * 86_400 + h * 3600 + mi * 60 + se) * 1000).max(0))
}

/// A duration: a number with a unit, `30d`, `12h`, `90m`, `45s` or `500ms` (several
/// may be joined: `1d12h`).
pub fn parse_duration(s: &str) -> Result<i64> {
    let bad = || anyhow!("{s:?} is not a duration (e.g. 30d, 12h, 90m, 45s, 1d12h)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let (n, tail) = rest.split_at(digits);
        let n: i64 = n.parse().map_err(|_| bad())?;
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "d" => DAY_MS,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1000,
            "ms" => 1,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(scale)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
        rest = tail;
    }
    if total <= 0 {
        bail!("a duration must be positive");
    }
    Ok(total)
}

/// A duration for people: `30 days`, `2 days 3 h`, `45 min`, `12 s`.
pub fn format_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60, s % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} day{}", if d == 1 { "" } else { "s" }));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if sec > 0 || parts.is_empty() {
        parts.push(format!("{sec} s"));
    }
    parts.join(" ")
}

/// A time for people, in UTC: `Thu 2026-12-03 14:05:00 UTC`.
pub fn format_human(ms: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let day = ms.div_euclid(1000).div_euclid(86_400);
    let weekday = usize::try_from(day.rem_euclid(7))
        .ok()
        .and_then(|i| WEEKDAYS.get(i))
        .copied()
        .unwrap_or("");
    let iso = format_utc(ms);
    let (date, time) = iso
        .trim_end_matches('Z')
        .split_once('T')
        .unwrap_or((iso.as_str(), ""));
    format!("{weekday} {date} {time} UTC")
}

/// How far `ms` is from `now`: `in 14 days`, `3 h 5 min ago`, `now`.
pub fn relative(ms: i64, now: i64) -> String {
    let d = ms.saturating_sub(now);
    if d.abs() < 1000 {
        "now".into()
    } else if d > 0 {
        format!("in {}", format_duration(d))
    } else {
        format!("{} ago", format_duration(d.saturating_neg()))
    }
}

/// A time with its relative distance: `Thu 2026-12-03 14:05:00 UTC (in 2 h)`.
pub fn describe_time(ms: i64, now: i64) -> String {
    format!("{} ({})", format_human(ms), relative(ms, now))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_round_trip() {
        let t = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        assert_eq!(format_utc(t), "2026-01-01T00:00:00Z");
        assert_eq!(parse_time("2026-01-01T00:00:00Z").unwrap(), t);
        assert_eq!(parse_time("2026-01-01").unwrap(), t);
        assert_eq!(parse_time("2026-01-01T01:30").unwrap(), t + 5_400_000);
        assert_eq!(parse_time(&t.to_string()).unwrap(), t);
        assert_eq!(compact_utc(t + 61_000), "20260101-000101");
        for bad in ["2026-02-30", "2026-13-01", "x", "2026-01-01T25:00", ""] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        let now = now_ms();
        assert_eq!(parse_time(&format_utc(now)).unwrap(), now - now % 1000);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * DAY_MS);
        assert_eq!(parse_duration("1d12h").unwrap(), DAY_MS + 12 * 3_600_000);
        assert_eq!(parse_duration("90m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("500ms").unwrap(), 500);
        for bad in ["", "d", "10", "10y", "-1d", "0s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(30 * DAY_MS), "30 days");
        assert_eq!(format_duration(DAY_MS + 3_600_000), "1 day 1 h");
    }

    #[test]
    fn human_times() {
        let t = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a Thursday
        assert_eq!(format_human(t), "Thu 2026-01-01 00:00:00 UTC");
        assert_eq!(
            format_human(t + 3 * DAY_MS + 61_000),
            "Sun 2026-01-04 00:01:01 UTC"
        );
        assert_eq!(format_human(0), "Thu 1970-01-01 00:00:00 UTC");
        assert_eq!(relative(t + 14 * DAY_MS, t), "in 14 days");
        assert_eq!(relative(t - 3_900_000, t), "1 h 5 min ago");
        assert_eq!(relative(t, t), "now");
        assert_eq!(
            describe_time(t + 7_200_000, t),
            "Thu 2026-01-01 02:00:00 UTC (in 2 h)"
        );
    }
}
