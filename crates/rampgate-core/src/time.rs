//! RFC 3339 timestamps in UTC, as audit events, the revocation admin router
//! and the CLI write and read them (`2026-11-29T04:05:06.789Z`), without a
//! date library: the proleptic Gregorian calendar from days since the epoch.
//! The one implementation of the workspace.
//!
//! ```
//! use rampgate_core::time::{format_rfc3339, parse_rfc3339};
//!
//! let t = parse_rfc3339("2026-11-29T05:05:06.789+01:00").unwrap();
//! assert_eq!(format_rfc3339(t), "2026-11-29T04:05:06.789Z");
//! let err = parse_rfc3339("yesterday").unwrap_err();
//! assert!(err.to_string().contains("yesterday"));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A string that is not an RFC 3339 timestamp rampgate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an RFC 3339 timestamp between 1970 and 9999 \
     (YYYY-MM-DDTHH:MM:SS, an optional fraction, then Z or ±HH:MM)"
)]
pub struct Rfc3339Error(pub String);

/// Formats `t` as RFC 3339 UTC with milliseconds. A time before 1970 is
/// written as the epoch (rampgate has no such times to write).
pub fn format_rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}Z", date_time(d.as_secs()), d.subsec_millis())
}

/// Formats `secs` since the epoch as RFC 3339 UTC to the second
/// (`2026-11-29T04:05:06Z`), as people read it.
pub fn format_rfc3339_secs(secs: u64) -> String {
    format!("{}Z", date_time(secs))
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the epoch.
fn date_time(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS`, optional fraction,
/// then `Z` or a `±HH:MM` offset; `t` and `z` accepted).
///
/// # Errors
///
/// [`Rfc3339Error`] when it is not one, or is before 1970 or after 9999.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, Rfc3339Error> {
    parse(s).ok_or_else(|| {
        let mut shown: String = s.chars().take(64).collect();
        if shown.len() < s.len() {
            shown.push('…');
        }
        Rfc3339Error(shown)
    })
}

fn parse(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u64 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_known_instants() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_925_106_789);
        assert_eq!(format_rfc3339(t), "2026-11-29T04:05:06.789Z");
        assert_eq!(parse_rfc3339("2026-11-29T04:05:06.789Z"), Ok(t));
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_rfc3339("2026-11-29T05:05:06.789+01:00"),
            Ok(t),
            "an offset is subtracted"
        );
        let leap = parse_rfc3339("2024-02-29T00:00:00Z").unwrap();
        assert_eq!(format_rfc3339(leap), "2024-02-29T00:00:00.000Z");
        assert_eq!(format_rfc3339_secs(1_795_925_106), "2026-11-29T04:05:06Z");
    }

    #[test]
    fn round_trips_over_centuries() {
        for secs in (0..253_402_300_799u64).step_by(7_777_777) {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Ok(t), "{secs}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2026-11-29",
            "2026-11-29 04:05:06Z",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T04:05:06",
            "2026-11-29T04:05:06.Z",
            "2026-11-29T04:05:06+0100",
            "1969-12-31T23:59:59Z",
            "+026-11-29T04:05:06Z",
            "２026-11-29T04:05:06Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
