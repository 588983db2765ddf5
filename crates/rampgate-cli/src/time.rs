//! Dates for people: NumericDates (seconds since the epoch) as UTC RFC 3339
//! and as a distance from now ("in 5m", "3h ago"), without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The last second of year 9999: RFC 3339 has four-digit years.
const MAX_RFC3339: f64 = 253_402_300_799.0;

/// `2026-11-29T02:05:00Z (in 5m)`; fractions of a second are dropped.
pub(crate) fn human(at: f64, now: f64) -> String {
    format!("{} ({})", rfc3339(at), relative(at - now))
}

/// UTC RFC 3339 to the second, or a note when the date has no four-digit year.
pub(crate) fn rfc3339(at: f64) -> String {
    if !(0.0..=MAX_RFC3339).contains(&at) {
        return format!("{at} (outside years 1970-9999)");
    }
    rampgate_core::time::format_rfc3339_secs(at.floor() as u64)
}

/// Milliseconds since the epoch (0 before 1970).
pub(crate) fn millis(t: SystemTime) -> i64 {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// An RFC 3339 date-time from the command line, in milliseconds since the
/// epoch: read by the core's parser, the one the audit files are read with.
pub(crate) fn parse_rfc3339_ms(text: &str) -> Result<i64, String> {
    rampgate_core::time::parse_rfc3339(text)
        .map(millis)
        .map_err(|_| {
            "expected an RFC 3339 date-time such as 2026-11-29T04:05:06Z or \
             2026-11-29T06:05:06+02:00 (years 1970-9999, with a time zone)"
                .to_owned()
        })
}

/// Milliseconds since the epoch as UTC RFC 3339, to the second.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    rfc3339(ms.div_euclid(1000) as f64)
}

/// `in 5m`, `3h ago`, `now`: the largest unit, rounded to the nearest.
pub(crate) fn relative(delta: f64) -> String {
    let secs = delta.abs().round() as u64;
    if secs == 0 {
        return "now".to_owned();
    }
    let amount = match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", (s + 30) / 60),
        s if s < 86_400 => format!("{}h", (s + 1800) / 3600),
        // Saturating: a claim of 1e300 seconds is input, not a reason to panic.
        s => format!("{}d", s.saturating_add(43_200) / 86_400),
    };
    if delta > 0.0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_dates_are_shown_not_a_panic() {
        for at in [1e300, -1e300, f64::MAX, f64::MIN] {
            assert!(human(at, 0.0).contains("outside years 1970-9999"), "{at}");
        }
        assert!(relative(1e300).starts_with("in "));
        assert!(relative(-1e300).ends_with(" ago"));
    }

    #[test]
    fn dates_are_utc_rfc3339() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_502_400.0), "2026-12-29T00:00:00Z");
        assert_eq!(rfc3339(MAX_RFC3339), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1.0), "-1 (outside years 1970-9999)");
    }

    #[test]
    fn rfc3339_arguments_are_read_strictly_to_the_millisecond() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Ok(1500));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00.123456Z"), Ok(123));
        assert_eq!(
            parse_rfc3339_ms("2026-11-29T04:05:06.789Z"),
            Ok(1_795_925_106_789)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-11-29T06:05:06.789+02:00"),
            Ok(1_795_925_106_789)
        );
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T00:00:00Z"),
            Ok(951_782_400_000)
        );
        for bad in [
            "",
            "2026-11-29",
            "2026-11-29 04:05:06Z",
            "2026-11-29T04:05:06",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T04:05:06.Z",
            "2026-11-29T04:05:06Zjunk",
            "2026-11-29T04:05:06+2:00",
            "\u{ff12}026-11-29T04:05:06Z",
        ] {
            let err = parse_rfc3339_ms(bad).unwrap_err();
            assert!(err.starts_with("expected an RFC 3339 date-time"), "{bad:?}");
        }
        assert_eq!(rfc3339_ms(1_795_925_106_789), "2026-11-29T04:05:06Z");
        assert_eq!(millis(UNIX_EPOCH - std::time::Duration::from_secs(1)), 0);
    }

    #[test]
    fn distances_use_the_largest_unit() {
        assert_eq!(relative(0.2), "now");
        assert_eq!(relative(42.0), "in 42s");
        assert_eq!(relative(299.4), "in 5m");
        assert_eq!(relative(-3.0 * 3600.0), "3h ago");
        assert_eq!(relative(-2.0 * 86_400.0), "2d ago");
    }
}
