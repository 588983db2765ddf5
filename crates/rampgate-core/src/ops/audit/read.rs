//! Reading an audit trail back: JSON Lines into [`AuditRecord`]s.
//!
//! As the schema asks of readers: unknown fields are ignored, and unknown
//! event types are kept as [`AuditRecord::Other`]. Blank lines are skipped.
//! A line that is not an event is reported with its line number and reading
//! goes on; the file's last line cut short (the writer killed mid-write) is
//! reported as [`LineErrorKind::Torn`], which a reader may skip.

use super::record::{AuditRecord, RecordError};
use std::io::BufRead;

/// Why one line of an audit file is not an event.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct LineError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: LineErrorKind,
}

impl LineError {
    /// Whether the line is the file's last, cut short: what a writer killed
    /// mid-write leaves, rather than a malformed event.
    pub fn is_torn(&self) -> bool {
        matches!(self.kind, LineErrorKind::Torn { .. })
    }
}

/// What is wrong with a line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LineErrorKind {
    /// The input could not be read: no line follows this one.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The line is not UTF-8.
    #[error("not UTF-8 (invalid byte at column {column})")]
    NotUtf8 {
        /// The column (from 1) of the first invalid byte.
        column: usize,
    },
    /// The line is not JSON.
    #[error("not JSON: {message} at column {column}")]
    NotJson {
        /// What the JSON parser says.
        message: String,
        /// Where (from 1).
        column: usize,
    },
    /// The input's last line ends in the middle of a JSON value: the file
    /// was cut short while it was written.
    #[error("not JSON: {message} at column {column}")]
    Torn {
        /// What the JSON parser says.
        message: String,
        /// Where (from 1).
        column: usize,
    },
    /// JSON, but not a JSON object.
    #[error("not an event: a JSON object is expected")]
    NotAnObject,
    /// A JSON object that is not an event of the schema.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// The events of an audit file (JSON Lines), one item per non-blank line.
///
/// ```
/// use rampgate_core::audit::{AuditRecord, read_events};
///
/// let file = "{\"v\":1,\"type\":\"decision\",\"ts\":\"2026-11-29T04:05:06.789Z\",\"outcome\":\"allow\",\"future\":1}\n\
///             {\"v\":1,\"type\":\"decision\",\"ts\":\"2026-11-29T04:05:0";
/// let mut lines = read_events(file.as_bytes());
/// assert!(matches!(lines.next(), Some(Ok(AuditRecord::Decision(_)))));
/// let torn = lines.next().unwrap().unwrap_err();
/// assert!(torn.is_torn() && torn.line == 2);
/// assert!(lines.next().is_none());
/// ```
pub fn read_events<R: BufRead>(reader: R) -> ReadEvents<R> {
    ReadEvents {
        reader,
        buf: Vec::new(),
        line: 0,
        done: false,
    }
}

/// The iterator of [`read_events`].
#[derive(Debug)]
pub struct ReadEvents<R> {
    reader: R,
    buf: Vec<u8>,
    line: usize,
    done: bool,
}

impl<R: BufRead> Iterator for ReadEvents<R> {
    type Item = Result<AuditRecord<'static>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    let last = !self.buf.ends_with(b"\n")
                        || self.reader.fill_buf().is_ok_and(<[u8]>::is_empty);
                    if let Some(item) = parse(&self.buf, last) {
                        return Some(item.map_err(|kind| LineError { line, kind }));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(LineError {
                        line,
                        kind: e.into(),
                    }));
                }
            }
        }
        None
    }
}

/// One line's event; `None` for a blank line.
fn parse(bytes: &[u8], last: bool) -> Option<Result<AuditRecord<'static>, LineErrorKind>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim(),
        Err(e) => {
            return Some(Err(LineErrorKind::NotUtf8 {
                column: e.valid_up_to() + 1,
            }));
        }
    };
    if text.is_empty() {
        return None;
    }
    Some(parse_line(text, last))
}

/// One line (not blank) as an event; `last` says whether it is the input's
/// last line, where a value that ends too soon is a torn write.
fn parse_line(text: &str, last: bool) -> Result<AuditRecord<'static>, LineErrorKind> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&full)
            .to_owned();
        let column = e.column();
        if last && e.is_eof() {
            LineErrorKind::Torn { message, column }
        } else {
            LineErrorKind::NotJson { message, column }
        }
    })?;
    let serde_json::Value::Object(object) = value else {
        return Err(LineErrorKind::NotAnObject);
    };
    Ok(AuditRecord::from_object(object)?)
}

impl AuditRecord<'static> {
    /// One line of an audit file as an event (the line's end trimmed).
    ///
    /// # Errors
    ///
    /// [`LineErrorKind`] when the line is not one (never
    /// [`LineErrorKind::Torn`]: one line alone cannot tell).
    pub fn parse(line: &str) -> Result<AuditRecord<'static>, LineErrorKind> {
        parse_line(line.trim(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{
        AuditEvent, AuditOutcome, Claimed, DecisionEvent, StepUpResult, TokenFingerprint,
    };
    use crate::contract::{Contract, Decision};
    use crate::principal::Principal;
    use crate::reason::{EndReason, EventReason, Reason};
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    fn lines(text: &str) -> Vec<Result<AuditRecord<'static>, LineError>> {
        read_events(text.as_bytes()).collect()
    }

    const DECISION: &str = r#"{"v":1,"type":"decision","ts":"2026-11-29T04:05:06.789Z","outcome":"allow","reason":"allowed"}"#;

    #[test]
    fn malformed_lines_are_reported_with_their_number_and_reading_goes_on() {
        let text = format!(
            "{DECISION}\n\n{{\n[1]\n{{\"ts\":1}}\n{{\"type\":3}}\n{{\"type\":\"decision\",\"outcome\":\"allow\"}}\n{DECISION}\n"
        );
        let read = lines(&text);
        assert_eq!(read.len(), 7, "a blank line is no event");
        assert!(read[0].is_ok() && read[6].is_ok());
        let errors: Vec<(usize, String)> = read[1..6]
            .iter()
            .map(|r| {
                let e = r.as_ref().unwrap_err();
                assert!(!e.is_torn(), "{e}");
                (e.line, e.kind.to_string())
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    3,
                    "not JSON: EOF while parsing an object at column 1".to_owned()
                ),
                (4, "not an event: a JSON object is expected".to_owned()),
                (5, "not an event: no `type` field".to_owned()),
                (6, "not an event: `type` is not a string".to_owned()),
                (7, "decision event: missing field `ts`".to_owned()),
            ]
        );
    }

    #[test]
    fn a_torn_last_line_is_told_apart_with_or_without_its_newline() {
        for end in ["", "\n"] {
            let text = format!("{DECISION}\n{}{end}", &DECISION[..40]);
            let read = lines(&text);
            assert_eq!(read.len(), 2);
            let torn = read[1].as_ref().unwrap_err();
            assert!(torn.is_torn(), "{torn}");
            assert_eq!(torn.line, 2);
        }
        // Cut short anywhere but at the end: malformed, not torn.
        let text = format!("{}\n{DECISION}\n", &DECISION[..40]);
        assert!(!lines(&text)[0].as_ref().unwrap_err().is_torn());
    }

    #[test]
    fn unknown_fields_and_types_are_kept_or_ignored_and_the_old_outcome_reads() {
        let mut bytes = concat!(
            r#"{"v":1,"type":"decision","ts":"2026-11-29T04:05:06Z","outcome":"shadow_deny","future":{"x":1}}"#,
            "\n",
            r#"{"v":2,"type":"something_new","ts":3,"n":1}"#,
            "\n",
        )
        .as_bytes()
        .to_vec();
        bytes.extend(b"\xff\n");
        let read: Vec<_> = read_events(&bytes[..]).collect();
        let Ok(AuditRecord::Decision(d)) = &read[0] else {
            panic!("{:?}", read[0]);
        };
        assert_eq!(d.outcome, AuditOutcome::ObserveDeny);
        let Ok(AuditRecord::Other { kind, ts, fields }) = &read[1] else {
            panic!("{:?}", read[1]);
        };
        assert_eq!((kind.as_ref(), *ts), ("something_new", None));
        assert_eq!(fields.get("ts"), Some(&serde_json::json!(3)));
        let e = read[2].as_ref().unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: not UTF-8 (invalid byte at column 1)"
        );
    }

    #[test]
    fn the_contract_and_the_audit_trail_say_an_outcome_with_the_same_word() {
        use crate::contract::Outcome;
        let pairs = [
            (Outcome::Allow, AuditOutcome::Allow),
            (Outcome::Deny, AuditOutcome::Deny),
            (Outcome::ObserveDeny, AuditOutcome::ObserveDeny),
        ];
        for (decided, audited) in pairs {
            let word = serde_json::to_value(decided).unwrap();
            assert_eq!(word, serde_json::to_value(audited).unwrap());
            assert_eq!(word, audited.as_str());
        }
        // The contract's earlier word still reads, in both.
        let old = "\"shadow_deny\"";
        assert_eq!(
            serde_json::from_str::<Outcome>(old).unwrap(),
            Outcome::ObserveDeny
        );
        assert_eq!(
            serde_json::from_str::<AuditOutcome>(old).unwrap(),
            AuditOutcome::ObserveDeny
        );
    }

    const CONTRACT: &str = r#"
version = 4
[scopes]
"read" = "r"
"write" = "w"
"export" = "e"
[[routes]]
method = "GET"
path = "/items"
scopes = ["read"]
[[routes]]
method = "POST"
path = "/items"
any = ["write", "export"]
[[routes]]
method = "GET"
path = "/export"
scopes = ["export"]
mode = "observe"
[[consumers]]
client_id = "web"
stage = "pilot"
stages = [{ name = "pilot", scopes = ["read"] }, { name = "ga", scopes = ["read", "write", "export"] }]
"#;

    /// A request's event as the AuditLayer builds it: a contract decision
    /// when a principal was verified.
    fn event(
        method: &str,
        path: &str,
        principal: Option<&Principal>,
        fill: impl FnOnce(&mut DecisionEvent),
    ) -> AuditEvent {
        let contract = Contract::parse(CONTRACT).unwrap();
        let ts = UNIX_EPOCH + Duration::from_micros(1_795_925_106_789_123);
        let mut e = DecisionEvent::new(
            ts,
            http::HeaderValue::from_static("req-1"),
            method.parse().unwrap(),
        );
        e.matched_route = Some(format!("{method} {path}"));
        e.token_fp = Some(TokenFingerprint::of("a.b.c"));
        e.client_addr = Some("192.0.2.7:4431".parse().unwrap());
        e.latency_us = 1234;
        if let Some(p) = principal {
            let decision: Decision = contract.decide(method, Some(path), p);
            e.outcome = match decision.outcome {
                crate::contract::Outcome::Allow => AuditOutcome::Allow,
                crate::contract::Outcome::Deny => AuditOutcome::Deny,
                crate::contract::Outcome::ObserveDeny => AuditOutcome::ObserveDeny,
            };
            e.reason = decision.reason.into();
            e.status = if e.outcome == AuditOutcome::Deny {
                403
            } else {
                200
            };
            e.principal = Some(p.clone());
            e.decision = Some(Arc::new(decision));
        }
        fill(&mut e);
        AuditEvent::Decision(e)
    }

    /// What is checked of each event read back, besides equality.
    type Expected = (AuditOutcome, EventReason, u16, &'static [&'static str]);

    fn every_kind_of_decision() -> Vec<(AuditEvent, Expected)> {
        let claims =
            serde_json::json!({"client_id": "web", "sub": "alice", "jti": "j-1", "scope": "read"});
        let web = Principal::for_tests("https://i.example", claims).unwrap();
        let refused = |reason: Reason, status: u16| {
            move |e: &mut DecisionEvent| {
                e.outcome = AuditOutcome::Deny;
                e.reason = reason.into();
                e.status = status;
            }
        };
        let step_up = |result: StepUpResult| {
            move |e: &mut DecisionEvent| {
                e.step_up = Some(result);
                if result == StepUpResult::Failed {
                    refused(Reason::AcrInsufficient, 401)(e);
                }
            }
        };
        let allowed = EventReason::Allowed;
        let deny = AuditOutcome::Deny;
        vec![
            (
                event("GET", "/items", Some(&web), |_| {}),
                (AuditOutcome::Allow, allowed, 200, &[]),
            ),
            (
                event("GET", "/items", None, |e| {
                    refused(Reason::TokenExpired, 401)(e);
                    e.claimed = Some(Claimed {
                        iss: Some("https://i.example".into()),
                        client_id: Some("web".into()),
                        sub: None,
                    });
                }),
                (deny, Reason::TokenExpired.into(), 401, &[]),
            ),
            (
                event("POST", "/items", Some(&web), |_| {}),
                (
                    deny,
                    Reason::ScopeInsufficient.into(),
                    403,
                    &["export", "write"],
                ),
            ),
            (
                event("GET", "/export", Some(&web), |_| {}),
                (
                    AuditOutcome::ObserveDeny,
                    Reason::ScopeInsufficient.into(),
                    200,
                    &["export"],
                ),
            ),
            (
                event("GET", "/items", Some(&web), step_up(StepUpResult::Passed)),
                (AuditOutcome::Allow, allowed, 200, &[]),
            ),
            (
                event("GET", "/items", Some(&web), step_up(StepUpResult::Failed)),
                (deny, Reason::AcrInsufficient.into(), 401, &[]),
            ),
            (
                event(
                    "GET",
                    "/items",
                    None,
                    refused(Reason::LayersMisconfigured, 500),
                ),
                (deny, Reason::LayersMisconfigured.into(), 500, &[]),
            ),
            (
                event("GET", "/items", Some(&web), |e| {
                    e.reason = EndReason::RequestCancelled.into();
                    e.status = 499;
                }),
                (
                    AuditOutcome::Allow,
                    EndReason::RequestCancelled.into(),
                    499,
                    &[],
                ),
            ),
        ]
    }

    #[test]
    fn every_kind_of_decision_the_audit_layer_writes_reads_back_equal() {
        let events = every_kind_of_decision();
        let mut file = Vec::new();
        for (event, _) in &events {
            event.write_json_line(&mut file);
        }
        let read: Vec<AuditRecord<'static>> =
            read_events(&file[..]).collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), events.len());
        for ((event, expected), record) in events.iter().zip(&read) {
            let json = event.to_json();
            assert_eq!(*record, event.record(), "{json}");
            let AuditRecord::Decision(d) = record else {
                panic!("{json}");
            };
            let (outcome, reason, status, missing) = *expected;
            let read_missing: Vec<&str> = d.missing.iter().map(AsRef::as_ref).collect();
            assert_eq!(
                (
                    d.outcome,
                    d.event_reason(),
                    d.status,
                    read_missing.as_slice()
                ),
                (outcome, Some(reason), status, missing),
                "{json}"
            );
            let AuditEvent::Decision(e) = event else {
                unreachable!()
            };
            assert_eq!(d.step_up, e.step_up, "{json}");
            assert_eq!(d.ts, UNIX_EPOCH + Duration::from_millis(1_795_925_106_789));
            assert_eq!(d.consumer.is_some(), e.principal.is_some(), "{json}");
            assert_eq!(d.claimed.as_deref(), e.claimed.as_ref(), "{json}");
            if let Some(c) = &e.decision {
                assert_eq!(d.contract_version, Some(c.contract_version));
                assert_eq!(d.mode, c.mode);
            }
        }
        // Every shape is there: JWT refusals without a principal, contract
        // refusals and observed ones, step-up both ways.
        let step_ups: Vec<_> = read
            .iter()
            .filter_map(|r| match r {
                AuditRecord::Decision(d) => d.step_up,
                _ => None,
            })
            .collect();
        assert_eq!(step_ups, [StepUpResult::Passed, StepUpResult::Failed]);
    }

    /// Every kind of reload event the auditor writes, from a real handle
    /// reloading a real file: applied with a change note and a rollback,
    /// refused for its version, invalid, unreadable.
    fn every_kind_of_reload_event(dir: &std::path::Path) -> (Vec<AuditEvent>, Vec<[u8; 32]>) {
        use crate::contract::ContractHandle;
        use sha2::Digest;
        let file = dir.join("contract.toml");
        std::fs::write(
            &file,
            CONTRACT.replace("stage = \"pilot\"", "stage = \"ga\""),
        )
        .unwrap();
        let handle = ContractHandle::from_file(&file).unwrap();
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        handle.observe(move |e| seen.lock().unwrap().push(crate::audit::contract_event(e)));
        let note =
            "[change]\nauthor = \"ana\"\nreason = \"web back to pilot\"\nticket = \"CHG-7\"\n";
        let v5 = format!("{}{note}", CONTRACT.replace("version = 4", "version = 5"));
        let refused = v5.replace("mode = \"observe\"", "");
        let mut digests = Vec::new();
        for text in [v5.as_str(), refused.as_str(), "version = 6\n[[routes]]\n"] {
            std::fs::write(&file, text).unwrap();
            digests.push(sha2::Sha256::digest(text.as_bytes()).into());
            let _ = handle.reload();
        }
        std::fs::remove_file(&file).unwrap();
        assert!(handle.reload().is_err());
        let events = events.lock().unwrap().clone();
        (events, digests)
    }

    #[test]
    fn every_kind_of_reload_event_reads_back_equal() {
        let dir = std::env::temp_dir().join(format!("rampgate-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (events, digests) = every_kind_of_reload_event(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(events.len(), 4, "{events:#?}");
        let mut file = Vec::new();
        for event in &events {
            event.write_json_line(&mut file);
        }
        let read: Vec<AuditRecord<'static>> =
            read_events(&file[..]).collect::<Result<_, _>>().unwrap();
        for (event, record) in events.iter().zip(&read) {
            assert_eq!(*record, event.record(), "{}", event.to_json());
        }
        let hex = |d: &[u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let json: Vec<serde_json::Value> = events.iter().map(AuditEvent::to_json).collect();
        // Applied: the versions, the file's digest, the note, and the
        // rollback as data.
        assert_eq!(json[0]["type"], "contract_changed");
        assert_eq!(
            (&json[0]["previous_version"], &json[0]["version"]),
            (&4.into(), &5.into())
        );
        assert_eq!(json[0]["sha256"], hex(&digests[0]));
        assert_eq!(
            json[0]["change"],
            serde_json::json!({"author": "ana", "reason": "web back to pilot", "ticket": "CHG-7"})
        );
        let rollback = json[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["consumer"] == "web")
            .unwrap();
        assert_eq!(
            rollback["stage_move"],
            serde_json::json!({"from": "ga", "to": "pilot", "direction": "rolled_back"})
        );
        // Refused for its version: the refused file's digest and note.
        assert_eq!(json[1]["type"], "contract_refused");
        assert_eq!(
            (&json[1]["previous_version"], &json[1]["version"]),
            (&5.into(), &5.into())
        );
        assert_eq!(json[1]["reason"], "version_not_increased");
        assert_eq!(json[1]["sha256"], hex(&digests[1]));
        assert_eq!(json[1]["change"]["author"], "ana");
        // Invalid: a digest but no version or note; unreadable: neither.
        assert_eq!(json[2]["reason"], "contract_invalid");
        assert_eq!(json[2]["sha256"], hex(&digests[2]));
        assert!(json[2]["version"].is_null() && json[2]["change"].is_null());
        assert_eq!(json[3]["reason"], "contract_unreadable");
        assert!(json[3]["sha256"].is_null() && json[3]["change"].is_null());
        assert_eq!(json[3]["previous_version"], 5);
        // A line written before these fields existed still reads.
        let old = r#"{"v":1,"type":"contract_changed","ts":"2026-11-29T04:05:06.789Z","version":2,"previous_version":1,"changes":[],"alert":false}"#;
        let Ok(AuditRecord::ContractChanged(c)) = AuditRecord::parse(old) else {
            panic!("{old}");
        };
        assert_eq!((c.sha256, c.change), (None, None));
    }
}
