//! Where audit events go: the [`AuditSink`] trait and the `tracing` sink.

use super::event::{AuditEvent, Timestamp};
use crate::escape_control;
use std::future::Future;
use std::pin::Pin;

/// The future a sink returns for one batch.
pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), AuditSinkError>> + Send + 'a>>;

/// Why a sink could not take a batch. The events of that batch are counted as
/// failed (`Auditor::failed`) and the error is logged; the writer goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditSinkError {
    /// Writing a file failed.
    #[error("audit file: {0}")]
    Io(#[from] std::io::Error),
    /// Any other failure (a webhook that kept refusing, a user sink's error).
    #[error("audit sink: {0}")]
    Other(String),
}

/// A destination for audit events: a file, a webhook, a queue, a SIEM.
///
/// One writer task owns the sink and calls [`write`](AuditSink::write) with
/// batches of events in the order they were recorded, one batch at a time, so
/// an implementation needs no locking. A slow sink never slows requests: the
/// events wait in the auditor's bounded queue, and those that do not fit are
/// dropped and counted.
///
/// ```
/// use rampgate_core::audit::{AuditEvent, AuditSink, SinkFuture};
///
/// /// Keeps the JSON lines in memory.
/// struct Lines(Vec<String>);
///
/// impl AuditSink for Lines {
///     fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
///         Box::pin(async move {
///             for event in batch {
///                 self.0.push(event.to_json().to_string());
///             }
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait AuditSink: Send + 'static {
    /// Writes `batch`, in order.
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a>;

    /// Makes what was written durable (called by `Auditor::flush` and when
    /// the auditor shuts down). Nothing to do by default.
    fn flush(&mut self) -> SinkFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

impl AuditSink for Box<dyn AuditSink> {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        (**self).write(batch)
    }

    fn flush(&mut self) -> SinkFuture<'_> {
        (**self).flush()
    }
}

/// The default sink: one `tracing` event per audit event, target
/// `rampgate::audit`.
///
/// Levels: a `decision` that allows (or observe-denies) at INFO, a refusal at
/// WARN; `contract_changed` at INFO, or WARN when it widens access (an
/// alert); `contract_refused` at ERROR; other types at INFO. The fields are the
/// schema's, by name (lists as space-separated text); the token is never one
/// of them, only its fingerprint `token_fp`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingSink;

impl AuditSink for TracingSink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        for event in batch {
            trace_event(event);
        }
        Box::pin(async { Ok(()) })
    }
}

macro_rules! decision_event {
    ($level:expr, $d:expr) => {{
        let d = $d;
        let required = super::event::required(d);
        let missing = super::event::missing(d, &required).join(" ");
        let p = d.principal.as_ref();
        let c = d.decision.as_deref();
        // From the token: escaped, so that a `sub` cannot forge a log line.
        let client_id = p.and_then(|p| p.client_id()).map(escape_control);
        let consumer = d.consumer().map(escape_control);
        let sub = p.and_then(|p| p.sub()).map(escape_control);
        let jti = p.and_then(|p| p.jti()).map(escape_control);
        tracing::event!(
            target: "rampgate::audit",
            $level,
            request_id = d.request_id.to_str().unwrap_or("-"),
            method = d.method.as_str(),
            route = d.route(),
            status = d.status,
            outcome = d.outcome.as_str(),
            reason = d.reason.as_str(),
            iss = p.map(|p| p.iss()),
            client_id = client_id.as_deref(),
            consumer = consumer.as_deref(),
            sub = sub.as_deref(),
            jti = jti.as_deref(),
            token_fp = d.token_fp.map(tracing::field::display),
            contract_version = c.map(|c| c.contract_version),
            stage = c.and_then(|c| c.stage.as_deref()),
            missing = missing.as_str(),
            step_up = d.step_up.map(tracing::field::debug),
            latency_us = d.latency_us,
            "decision"
        )
    }};
}

fn trace_event(event: &AuditEvent) {
    use tracing::Level;
    match event {
        AuditEvent::Decision(d) => {
            // The fields are built only for a subscriber that wants them.
            if d.outcome == super::AuditOutcome::Deny {
                if tracing::enabled!(target: "rampgate::audit", Level::WARN) {
                    decision_event!(Level::WARN, d);
                }
            } else if tracing::enabled!(target: "rampgate::audit", Level::INFO) {
                decision_event!(Level::INFO, d);
            }
        }
        AuditEvent::ContractChanged(c) => {
            let changes: Vec<String> = c
                .changes
                .iter()
                .map(|ch| {
                    let subject = ch.route.as_deref().or(ch.consumer.as_deref()).unwrap_or("");
                    format!("{} {subject}: {}", ch.kind, ch.detail)
                })
                .collect();
            let sha256 = c.sha256.map(tracing::field::display);
            let author = c.change.as_ref().map(|n| escape_control(&n.author));
            if c.alert {
                tracing::warn!(target: "rampgate::audit", version = c.version,
                    previous_version = c.previous_version, alert = true, ?changes, sha256,
                    author = author.as_deref(), "contract_changed: access widened");
            } else {
                tracing::info!(target: "rampgate::audit", version = c.version,
                    previous_version = c.previous_version, alert = false, ?changes, sha256,
                    author = author.as_deref(), "contract_changed");
            }
        }
        AuditEvent::ContractRefused(r) => {
            tracing::error!(target: "rampgate::audit", version = r.version,
                previous_version = r.previous_version, reason = r.reason,
                sha256 = r.sha256.map(tracing::field::display), error = %r.error,
                "contract_refused");
        }
        AuditEvent::Other { kind, ts, fields } => {
            tracing::info!(target: "rampgate::audit", kind, ts = %Timestamp(*ts),
                fields = %serde_json::Value::Object(fields.clone()), "audit event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;
    use crate::audit::DecisionEvent;
    use crate::escape::capture::{assert_no_forged_line, logs};
    use std::time::UNIX_EPOCH;

    #[test]
    fn token_values_cannot_forge_a_log_line() {
        let id = http::HeaderValue::from_static("req-1");
        let mut d = DecisionEvent::new(UNIX_EPOCH, id, http::Method::GET);
        let claims = serde_json::json!({
            "sub": "alice\nWARN decision outcome=allow sub=root\u{1b}[2J",
            "client_id": "web\r\n\u{1b}[31m",
            "jti": "j\u{202e}1",
        });
        d.principal = Some(Principal::for_tests("https://issuer.example", claims).unwrap());
        let batch = [AuditEvent::Decision(d)];
        let logs = logs(|| drop(TracingSink.write(&batch)));
        assert_no_forged_line(&logs, 1);
        assert!(logs.contains(r"sub=alice\nWARN decision"), "{logs}");
        assert!(logs.contains(r"client_id=web\r\n\u{1b}[31m"), "{logs}");
        assert!(logs.contains(r"jti=j\u{202e}1"), "{logs}");
    }
}
