//! Reading audit files through the core's reader
//! ([`rampgate_core::audit::read_events`], the AuditLayer's own schema),
//! keeping the `decision` events and counting every other type. A line that
//! is not an event is counted and reported with its file and line, never a
//! panic; one that cannot be read at all stops the report.

use rampgate_core::audit::{AuditRecord, DecisionRecord, LineErrorKind, read_events};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// A `decision` event as the report reads it.
pub(crate) type Decision = DecisionRecord<'static>;

/// A line that is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Malformed {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) error: String,
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct FileStats {
    pub(crate) file: String,
    /// Non-empty lines.
    pub(crate) lines: usize,
    /// Valid `decision` events.
    pub(crate) decisions: usize,
    /// Valid events of other types (skipped).
    pub(crate) other_events: usize,
    /// Lines that are not valid events.
    pub(crate) malformed: usize,
}

/// Everything read from the audit files.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    /// The decisions, each with its `consumer` set to the `client_id` when
    /// the event names no consumer.
    pub(crate) decisions: Vec<Decision>,
    pub(crate) files: Vec<FileStats>,
    /// The malformed lines, in file and line order.
    pub(crate) malformed: Vec<Malformed>,
}

/// Why the audit files cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

/// Reads every file in turn.
pub(crate) fn read_files(paths: &[PathBuf]) -> Result<AuditLog, ReadError> {
    let mut log = AuditLog::default();
    for path in paths {
        read_file(path, &mut log)?;
    }
    Ok(log)
}

fn read_file(path: &Path, log: &mut AuditLog) -> Result<(), ReadError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
        file: name.clone(),
        source,
    })?;
    let mut stats = FileStats {
        file: name.clone(),
        ..FileStats::default()
    };
    for item in read_events(BufReader::new(file)) {
        stats.lines += 1;
        match item {
            Ok(AuditRecord::Decision(mut event)) => {
                if event.consumer.is_none() {
                    event.consumer.clone_from(&event.client_id);
                }
                stats.decisions += 1;
                log.decisions.push(*event);
            }
            Ok(_) => stats.other_events += 1,
            Err(e) => {
                if let LineErrorKind::Io(source) = e.kind {
                    return Err(ReadError::Io { file: name, source });
                }
                // A torn last line too: the report says what it skipped.
                stats.malformed += 1;
                log.malformed.push(Malformed {
                    file: name.clone(),
                    line: e.line,
                    error: e.kind.to_string(),
                });
            }
        }
    }
    log.files.push(stats);
    Ok(())
}

/// An event's time, in milliseconds since the epoch.
pub(crate) fn ts_ms(event: &Decision) -> i64 {
    let since = event.ts.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A strict RFC 3339 date-time (`2026-11-29T04:05:06.789Z`, or with an offset
/// such as `+02:00`) as milliseconds since the epoch. Digits beyond the
/// millisecond are dropped; a leap second (`:60`) counts as the next second.
pub(crate) fn parse_rfc3339(text: &str) -> Result<i64, String> {
    const SHAPE: &str = "expected an RFC 3339 date-time such as 2026-11-29T04:05:06Z";
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Result<i64, String> {
        let part = b.get(from..from + len).ok_or(SHAPE)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(SHAPE.to_owned());
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, want: &[u8]| -> Result<(), String> {
        match b.get(at) {
            Some(c) if want.contains(c) => Ok(()),
            _ => Err(SHAPE.to_owned()),
        }
    };
    let year = digits(0, 4)?;
    sep(4, b"-")?;
    let month = digits(5, 2)?;
    sep(7, b"-")?;
    let day = digits(8, 2)?;
    sep(10, b"Tt")?;
    let hour = digits(11, 2)?;
    sep(13, b":")?;
    let minute = digits(14, 2)?;
    sep(16, b":")?;
    let second = digits(17, 2)?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is not 01-12"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("day {day} is not in {year:04}-{month:02}"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!(
            "time {hour:02}:{minute:02}:{second:02} is out of range"
        ));
    }
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                millis = millis * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err("a fraction of a second needs digits after the dot".to_owned());
        }
        for _ in (at - start)..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let sign = if *sign == b'+' { 1 } else { -1 };
            let h = digits(at + 1, 2)?;
            sep(at + 3, b":")?;
            let m = digits(at + 4, 2)?;
            if h > 23 || m > 59 {
                return Err(format!("offset {h:02}:{m:02} is out of range"));
            }
            at += 6;
            sign * (h * 60 + m)
        }
        _ => return Err(format!("{SHAPE} (a time zone, Z or +HH:MM, is required)")),
    };
    if at != b.len() {
        return Err(format!("{SHAPE} (unexpected text after the time zone)"));
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(secs * 1000 + millis)
}

/// Milliseconds since the epoch as RFC 3339 UTC, to the second.
pub(crate) fn format_ts(ms: i64) -> String {
    crate::time::rfc3339(ms.div_euclid(1000) as f64)
}

/// A duration such as `3d`, `12h`, `90m`, `45s` or `2w`, in milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let shape = "expected a number and a unit, such as 3d, 12h, 90m, 45s or 2w";
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{shape} (no unit)"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| shape.to_owned())?;
    let per = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(format!("{shape} (unknown unit {unit:?})")),
    };
    if n == 0 {
        return Err("the window must be longer than 0".to_owned());
    }
    n.checked_mul(per)
        .filter(|ms| *ms <= 100 * 365 * 86_400_000)
        .ok_or_else(|| "the window is longer than 100 years".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates_parse_strictly() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Ok(1500));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.123456Z"), Ok(123));
        assert_eq!(
            parse_rfc3339("2026-11-29T04:05:06.789Z"),
            Ok(1_795_925_106_789)
        );
        assert_eq!(
            parse_rfc3339("2026-11-29T06:05:06.789+02:00"),
            Ok(1_795_925_106_789)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Ok(951_782_400_000));
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
            "２026-11-29T04:05:06Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_ts(1_795_925_106_789), "2026-11-29T04:05:06Z");
    }

    #[test]
    fn durations_have_a_unit() {
        assert_eq!(parse_duration("3d"), Ok(3 * 86_400_000));
        assert_eq!(parse_duration("90m"), Ok(90 * 60_000));
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("-3h").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn files_are_read_through_the_core_reader_and_malformed_lines_counted() {
        let path = std::env::temp_dir().join(format!("rampgate-cli-audit-{}", std::process::id()));
        std::fs::write(
            &path,
            concat!(
                r#"{"v":1,"type":"decision","ts":"2026-11-29T04:05:06.789Z","route":"GET /x","consumer":null,"client_id":"app","outcome":"observe_deny","reason":"scope_insufficient","missing":["a"],"future":{"x":1}}"#,
                "\n",
                r#"{"v":2,"type":"something_new","ts":3}"#,
                "\n\n[1]\n",
                r#"{"type":"decision","ts":"2026-11-29T04:05:06Z","outcome":"deny","missing":"a"}"#,
                "\n",
            ),
        )
        .unwrap();
        let log = read_files(std::slice::from_ref(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        let event = &log.decisions[0];
        assert_eq!(event.consumer.as_deref(), Some("app"));
        assert_eq!(
            event.outcome,
            rampgate_core::audit::AuditOutcome::ObserveDeny
        );
        assert_eq!(event.missing, ["a"]);
        assert_eq!(ts_ms(event), 1_795_925_106_789);
        let stats = &log.files[0];
        assert_eq!(
            (
                stats.lines,
                stats.decisions,
                stats.other_events,
                stats.malformed
            ),
            (4, 1, 1, 2)
        );
        let lines: Vec<usize> = log.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, [4, 5]);
        assert!(
            log.malformed[1].error.starts_with("decision event: "),
            "{:?}",
            log.malformed
        );
    }
}
