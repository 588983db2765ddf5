//! Alerts: the audit events an operator must hear of without filtering the
//! trail, their classes, the body an alert sink sends, and the bounded queue
//! in front of the alert sink.

use super::auditor::{Msg, Stats, once_a_minute};
use super::event::{AuditEvent, ContractChanged, Timestamp};
use crate::contract::StageDirection;
use crate::escape_control;
use crate::reason::RevokedBy;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};
use tokio::sync::mpsc;

/// The default capacity of the alert queue, in alerts.
pub const DEFAULT_ALERT_CAPACITY: usize = 256;

/// The `type` of the event an alert sink receives when the audit queue
/// drops events; it is never written to the audit trail (which had no room).
const AUDIT_OVERFLOW: &str = "audit_overflow";

/// The most changes an alert's summary lists; the rest are counted.
const MAX_LISTED: usize = 5;

/// Why an event is an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertClass {
    /// An applied contract reload that widens access (`contract_changed`
    /// with `alert: true`).
    ContractWidening,
    /// An applied contract reload that moves a consumer back along its ramp
    /// (a change whose `stage_move.direction` is `rolled_back`).
    StageRollback,
    /// An anomaly signal crossed its threshold (`anomaly`).
    Anomaly,
    /// A key (`kid`) was revoked or un-revoked (`revocation` with `by: kid`).
    KidRevocation,
    /// The audit queue was full and events were dropped (`audit_overflow`,
    /// at most one a minute).
    AuditOverflow,
}

impl AlertClass {
    /// The stable name, as in an alert's `classes`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertClass::ContractWidening => "contract_widening",
            AlertClass::StageRollback => "stage_rollback",
            AlertClass::Anomaly => "anomaly",
            AlertClass::KidRevocation => "kid_revocation",
            AlertClass::AuditOverflow => "audit_overflow",
        }
    }
}

impl AuditEvent {
    /// The alert classes of this event, in [`AlertClass`] order; empty when it
    /// is no alert (every `decision`, a reload that neither widens nor rolls
    /// back, a refused reload, other revocations).
    pub fn alert_classes(&self) -> Vec<AlertClass> {
        let other = |kind: &str, fields: &Map<String, Value>| match kind {
            "anomaly" => Some(AlertClass::Anomaly),
            "revocation" if fields.get("by") == Some(&json!(RevokedBy::Kid.as_str())) => {
                Some(AlertClass::KidRevocation)
            }
            AUDIT_OVERFLOW => Some(AlertClass::AuditOverflow),
            _ => None,
        };
        match self {
            AuditEvent::ContractChanged(c) => {
                let mut classes = Vec::new();
                if c.alert {
                    classes.push(AlertClass::ContractWidening);
                }
                if !rollbacks(c).is_empty() {
                    classes.push(AlertClass::StageRollback);
                }
                classes
            }
            AuditEvent::Other { kind, fields, .. } => other(kind, fields).into_iter().collect(),
            AuditEvent::Decision(_) | AuditEvent::ContractRefused(_) => Vec::new(),
        }
    }

    /// Whether the event is an alert ([`alert_classes`](Self::alert_classes)
    /// is not empty).
    pub fn is_alert(&self) -> bool {
        match self {
            AuditEvent::Decision(_) | AuditEvent::ContractRefused(_) => false,
            _ => !self.alert_classes().is_empty(),
        }
    }

    /// A one-line summary for people: what happened, with the values that
    /// came from tokens or files escaped (no control character can start a
    /// line of its own).
    ///
    /// ```text
    /// rampgate: contract 4 -> 5 widens access (consumer web: advanced pilot -> ga (adds write)); change by ana: web passed its pilot (CHG-12); sha256 3a7bd3e2360a
    /// ```
    pub fn alert_summary(&self) -> String {
        match self {
            AuditEvent::ContractChanged(c) => contract_summary(c),
            AuditEvent::Other { kind, fields, .. } => other_summary(kind, fields),
            _ => format!("rampgate: {}", self.kind()),
        }
    }

    /// The JSON body an alert sink sends for this event:
    ///
    /// ```json
    /// {"source": "rampgate", "classes": ["contract_widening"], "ts": "2026-11-29T04:05:06.789Z",
    ///  "summary": "rampgate: contract 4 -> 5 widens access (...)", "event": {"v": 1, "type": "contract_changed", ...}}
    /// ```
    ///
    /// `event` is the audit event as the trail writes it. With `text`, the
    /// body also has a `"text"` member, the summary with `&`, `<` and `>`
    /// written as `&amp;`, `&lt;`, `&gt;`: what Slack- and Mattermost-style
    /// incoming webhooks display.
    pub fn alert_json(&self, text: bool) -> Value {
        let summary = self.alert_summary();
        let ts = match self {
            AuditEvent::Decision(d) => d.ts,
            AuditEvent::ContractChanged(c) => c.ts,
            AuditEvent::ContractRefused(r) => r.ts,
            AuditEvent::Other { ts, .. } => *ts,
        };
        let mut body = json!({
            "source": "rampgate",
            "classes": self.alert_classes(),
            "ts": Timestamp(ts).to_string(),
            "summary": summary,
            "event": self.to_json(),
        });
        if text && let Value::Object(map) = &mut body {
            map.insert("text".into(), Value::String(chat_escape(&summary)));
        }
        body
    }
}

/// The changes of `c` that move a consumer back along its ramp.
fn rollbacks(c: &ContractChanged) -> Vec<&super::event::ContractChangeEntry> {
    c.changes
        .iter()
        .filter(|e| {
            e.stage_move
                .as_ref()
                .is_some_and(|m| m.direction == StageDirection::RolledBack)
        })
        .collect()
}

/// `items` as `a; b; c`, at most [`MAX_LISTED`] of them and a count of the rest.
fn listed(items: Vec<String>) -> String {
    let more = items.len().saturating_sub(MAX_LISTED);
    let mut text = items
        .into_iter()
        .take(MAX_LISTED)
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        let _ = write!(text, "; and {more} more");
    }
    text
}

fn contract_summary(c: &ContractChanged) -> String {
    let mut text = format!("rampgate: contract {} -> {}", c.previous_version, c.version);
    let subject =
        |e: &super::event::ContractChangeEntry| match (e.route.as_deref(), e.consumer.as_deref()) {
            (Some(r), _) => format!("route {r}: "),
            (None, Some(k)) => format!("consumer {k}: "),
            (None, None) => String::new(),
        };
    let widenings: Vec<String> = c
        .changes
        .iter()
        .filter(|e| e.widens())
        .map(|e| format!("{}{}", subject(e), e.detail))
        .collect();
    if !widenings.is_empty() {
        let _ = write!(text, " widens access ({})", listed(widenings));
    }
    let rollbacks: Vec<String> = rollbacks(c)
        .into_iter()
        .filter_map(|e| {
            let m = e.stage_move.as_ref()?;
            Some(format!("{}{} -> {}", subject(e), m.from, m.to))
        })
        .collect();
    if !rollbacks.is_empty() {
        let and = if text.ends_with(')') { " and" } else { "" };
        let _ = write!(text, "{and} rolls back ({})", listed(rollbacks));
    }
    match &c.change {
        Some(note) => {
            let _ = write!(text, "; change by {}: {}", note.author, note.reason);
            if let Some(ticket) = &note.ticket {
                let _ = write!(text, " ({ticket})");
            }
        }
        None => text.push_str("; no change note"),
    }
    if let Some(sha256) = c.sha256 {
        let _ = write!(text, "; sha256 {}", &sha256.to_string()[..12]);
    }
    escape_control(&text).into_owned()
}

fn other_summary(kind: &str, fields: &Map<String, Value>) -> String {
    let field = |name: &str| match fields.get(name) {
        Some(Value::String(s)) => escape_control(s).into_owned(),
        Some(Value::Null) | None => "-".to_owned(),
        Some(v) => escape_control(&v.to_string()).into_owned(),
    };
    match kind {
        "anomaly" => format!(
            "rampgate anomaly: {} by {} {}: {} in {} s (threshold {})",
            field("signal"),
            field("key_kind"),
            field("key"),
            field("count"),
            field("window_secs"),
            field("threshold"),
        ),
        "revocation" => {
            let done = if field("action") == "unrevoke" {
                "un-revoked"
            } else {
                "revoked"
            };
            let by = match fields.get("actor") {
                Some(Value::String(_)) => format!(" by {}", field("actor")),
                _ => String::new(),
            };
            format!(
                "rampgate: key {} {} of {} {done}{by}",
                field("by"),
                field("value"),
                field("iss"),
            )
        }
        AUDIT_OVERFLOW => format!(
            "rampgate: the audit queue is full: {} events dropped so far (queue of {}); the audit trail is missing events",
            field("dropped_total"),
            field("capacity"),
        ),
        _ => format!("rampgate: {}", escape_control(kind)),
    }
}

/// `text` as chat incoming webhooks want it: `&`, `<`, `>` as entities.
fn chat_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The event an alert sink receives when the audit queue dropped events.
pub(super) fn overflow_event(dropped_total: u64, capacity: usize) -> AuditEvent {
    let mut fields = Map::new();
    fields.insert("dropped_total".into(), dropped_total.into());
    fields.insert("capacity".into(), capacity.into());
    AuditEvent::Other {
        kind: AUDIT_OVERFLOW,
        ts: SystemTime::now(),
        fields,
    }
}

/// The bounded queue in front of the alert sink: sending never waits; an
/// alert that finds no room is dropped, counted and logged at most once a
/// minute.
pub(super) struct AlertQueue {
    pub(super) tx: mpsc::Sender<Msg>,
    pub(super) stats: Arc<Stats>,
    pub(super) capacity: usize,
    pub(super) started: Instant,
}

impl AlertQueue {
    /// Queues a copy of `event` for the alert sink.
    pub(super) fn send(&self, event: &AuditEvent) {
        self.stats.recorded.fetch_add(1, Ordering::Relaxed);
        if self.tx.try_send(Msg::Event(event.clone())).is_ok() {
            return;
        }
        let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        #[cfg(feature = "metrics")]
        metrics::counter!("rampgate_alerts_dropped_total").increment(1);
        if once_a_minute(&self.stats.last_overflow_log, self.started) {
            tracing::error!(
                target: "rampgate::audit",
                dropped_total = dropped,
                capacity = self.capacity,
                kind = event.kind(),
                "the alert queue is full: alerts are being dropped (the alert sink is slow or \
                 failing); logged at most once a minute, counted in rampgate_alerts_dropped_total"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::ContractChangeEntry;
    use crate::contract::{ChangeNote, ContractDigest, StageMove};
    use std::borrow::Cow;

    fn entry(kind: &'static str, consumer: &str, detail: &str) -> ContractChangeEntry {
        ContractChangeEntry {
            route: None,
            consumer: Some(consumer.into()),
            kind: Cow::Borrowed(kind),
            detail: detail.into(),
            stage_move: None,
        }
    }

    fn changed(changes: Vec<ContractChangeEntry>) -> ContractChanged {
        let alert = changes.iter().any(ContractChangeEntry::widens);
        ContractChanged {
            ts: SystemTime::UNIX_EPOCH,
            version: 5,
            previous_version: 4,
            changes,
            alert,
            sha256: Some(ContractDigest::of(b"abc")),
            change: None,
        }
    }

    #[test]
    fn a_reload_is_an_alert_when_it_widens_or_rolls_back() {
        let mut back = entry("narrowing", "web", "rolled back ga -> pilot (removes w)");
        back.stage_move = Some(StageMove::new("ga", "pilot", StageDirection::RolledBack));
        let mut ahead = entry("widening", "app", "advanced a -> b (adds w)");
        ahead.stage_move = Some(StageMove::new("a", "b", StageDirection::Advanced));
        let both = AuditEvent::ContractChanged(changed(vec![ahead.clone(), back.clone()]));
        assert_eq!(
            both.alert_classes(),
            [AlertClass::ContractWidening, AlertClass::StageRollback]
        );
        assert_eq!(
            both.alert_summary(),
            "rampgate: contract 4 -> 5 widens access (consumer app: advanced a -> b (adds w)) \
             and rolls back (consumer web: ga -> pilot); no change note; sha256 ba7816bf8f01"
        );
        let narrowing = entry("narrowing", "web", "removed");
        assert!(!AuditEvent::ContractChanged(changed(vec![narrowing])).is_alert());
        let mut noted = changed(vec![back]);
        noted.change = Some(ChangeNote {
            author: "ana\n<!channel>".into(),
            reason: "web misbehaves".into(),
            ticket: Some("CHG-9".into()),
        });
        let event = AuditEvent::ContractChanged(noted);
        let body = event.alert_json(true);
        assert_eq!(body["classes"], json!(["stage_rollback"]));
        assert_eq!(body["event"]["type"], "contract_changed");
        assert_eq!(
            body["text"],
            "rampgate: contract 4 -&gt; 5 rolls back (consumer web: ga -&gt; pilot); \
             change by ana\\n&lt;!channel&gt;: web misbehaves (CHG-9); sha256 ba7816bf8f01"
        );
        assert!(event.alert_json(false).get("text").is_none());
    }

    #[test]
    fn a_long_list_of_changes_is_cut() {
        let many = (0..8)
            .map(|i| entry("widening", &format!("c{i}"), "added"))
            .collect();
        let summary = AuditEvent::ContractChanged(changed(many)).alert_summary();
        assert!(
            summary.contains("consumer c4: added; and 3 more)"),
            "{summary}"
        );
        assert!(!summary.contains("c5"), "{summary}");
    }

    #[test]
    fn other_alerts_are_summarised_from_their_fields() {
        let other = |kind: &'static str, fields: Value| AuditEvent::Other {
            kind,
            ts: SystemTime::UNIX_EPOCH,
            fields: match fields {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        };
        let kid = other(
            "revocation",
            json!({"action": "revoke", "by": "kid", "value": "k1", "iss": "https://i.example", "actor": "ops"}),
        );
        assert_eq!(kid.alert_classes(), [AlertClass::KidRevocation]);
        assert_eq!(
            kid.alert_summary(),
            "rampgate: key kid k1 of https://i.example revoked by ops"
        );
        let jti = other(
            "revocation",
            json!({"action": "revoke", "by": "jti", "value": "j"}),
        );
        assert!(!jti.is_alert());
        let anomaly = other(
            "anomaly",
            json!({"signal": "expired_retries", "key_kind": "sub", "key": "eve\r\nforged", "count": 3, "window_secs": 60, "threshold": 3}),
        );
        assert_eq!(anomaly.alert_classes(), [AlertClass::Anomaly]);
        assert_eq!(
            anomaly.alert_summary(),
            "rampgate anomaly: expired_retries by sub eve\\r\\nforged: 3 in 60 s (threshold 3)"
        );
        let overflow = overflow_event(12, 8192);
        assert_eq!(overflow.alert_classes(), [AlertClass::AuditOverflow]);
        assert!(
            overflow
                .alert_summary()
                .contains("12 events dropped so far (queue of 8192)")
        );
    }
}
