//! Reading audit files through the core's reader
//! ([`rampgate_core::audit::read_events`], the AuditLayer's own schema),
//! keeping the `decision` events and counting every other type. A line that
//! is not an event is counted and reported with its file and line, never a
//! panic; one that cannot be read at all stops the report.

use rampgate_core::audit::{AuditRecord, DecisionRecord, LineErrorKind, read_events};
use std::io::BufReader;
use std::path::{Path, PathBuf};

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

/// A `revocation` event: when, revoke or unrevoke, and what kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevocationSeen {
    pub(crate) ts_ms: i64,
    pub(crate) action: String,
    pub(crate) by: String,
}

/// Everything read from the audit files.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    /// The `revocation` events (also counted as other events).
    pub(crate) revocations: Vec<RevocationSeen>,
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
            Ok(AuditRecord::Other { kind, ts, fields }) => {
                stats.other_events += 1;
                if kind == "revocation"
                    && let Some(ts) = ts
                {
                    let field = |name: &str| {
                        fields
                            .get(name)
                            .and_then(|v| v.as_str())
                            .unwrap_or("?")
                            .to_owned()
                    };
                    log.revocations.push(RevocationSeen {
                        ts_ms: crate::time::millis(ts),
                        action: field("action"),
                        by: field("by"),
                    });
                }
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
    crate::time::millis(event.ts)
}

#[cfg(test)]
mod tests {
    use super::*;

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
