//! The audit writer task: takes batches from the queue and hands them to
//! the sink, raises the anomaly events of the decisions it writes, and turns
//! revocations into events.

use super::alert::AlertQueue;
use super::auditor::{Msg, Stats};
use super::event::AuditEvent;
use super::sink::AuditSink;
use crate::anomaly::{AnomalyDetector, AnomalyEvent, Observation};
use crate::revocation::RevocationEvent;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// How many events the writer takes from the queue at once.
const BATCH: usize = 256;

/// What only the main writer (not the alerts' one) does.
pub(super) struct Main {
    pub(super) anomalies: Option<Arc<AnomalyDetector>>,
    /// Where the anomaly events the writer raises go too.
    pub(super) alerts: Option<Arc<AlertQueue>>,
    /// The handles of the decision metrics, kept between batches.
    #[cfg(feature = "metrics")]
    pub(super) metrics: super::metrics::DecisionMetrics,
}

/// How one writer task works: the main one, or the alerts' one.
pub(super) struct Writer {
    stats: Arc<Stats>,
    linger: Duration,
    /// The most events handed to the sink at once.
    batch: usize,
    main: Option<Main>,
}

impl Writer {
    /// The audit trail's writer: batches of up to [`BATCH`] events.
    pub(super) fn main(stats: Arc<Stats>, linger: Duration, main: Main) -> Self {
        Writer {
            stats,
            linger,
            batch: BATCH,
            main: Some(main),
        }
    }

    /// The alert sink's writer: one alert at a time, at once, so that the
    /// counts of alerts sent and failed are exact.
    pub(super) fn alerts(stats: Arc<Stats>) -> Self {
        Writer {
            stats,
            linger: Duration::ZERO,
            batch: 1,
            main: None,
        }
    }
}

/// The writer task: takes batches from the queue and hands them to the sink,
/// until every `Auditor` is gone; then flushes the sink.
pub(super) async fn writer(mut rx: mpsc::Receiver<Msg>, mut sink: Box<dyn AuditSink>, w: Writer) {
    let Writer {
        stats,
        linger,
        batch: most,
        mut main,
    } = w;
    let mut msgs = Vec::with_capacity(most);
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(most);
    let mut last_error_log: Option<Instant> = None;
    while rx.recv_many(&mut msgs, most).await > 0 {
        let full = msgs.len() == most;
        #[cfg(feature = "metrics")]
        if main.is_some() {
            metrics::gauge!("rampgate_audit_queue_depth").set(rx.len() as f64);
        }
        for msg in msgs.drain(..) {
            match msg {
                Msg::Event(event) => batch.push(event),
                Msg::Flush(done) => {
                    write(
                        &mut sink,
                        &mut batch,
                        &stats,
                        &mut last_error_log,
                        main.as_mut(),
                    )
                    .await;
                    flush(&mut sink).await;
                    let _ = done.send(());
                }
            }
        }
        write(
            &mut sink,
            &mut batch,
            &stats,
            &mut last_error_log,
            main.as_mut(),
        )
        .await;
        // Let the next events gather instead of being woken for each one.
        if !full && !linger.is_zero() {
            tokio::time::sleep(linger).await;
        }
    }
    flush(&mut sink).await;
}

/// Asks the sink to make what it took durable; a failure is logged.
pub(super) async fn flush(sink: &mut Box<dyn AuditSink>) {
    if let Err(e) = sink.flush().await {
        tracing::error!(target: "rampgate::audit", error = %e, "audit sink flush failed");
    }
}

pub(super) async fn write(
    sink: &mut Box<dyn AuditSink>,
    batch: &mut Vec<AuditEvent>,
    stats: &Stats,
    last_error_log: &mut Option<Instant>,
    #[cfg_attr(not(feature = "metrics"), allow(unused_mut))] mut main: Option<&mut Main>,
) {
    if batch.is_empty() {
        return;
    }
    #[cfg(feature = "metrics")]
    if let Some(main) = main.as_deref_mut() {
        main.metrics.refresh();
        for event in batch.iter() {
            if let AuditEvent::Decision(d) = event {
                main.metrics.decision(d);
            }
        }
    }
    let main = main.as_deref();
    if let Some(detector) = main.and_then(|m| m.anomalies.as_deref()) {
        let alerts = main.and_then(|m| m.alerts.as_deref());
        // Each anomaly right after the decision that crossed its threshold,
        // put in place: anomalies are rare, and a second batch-sized vector
        // per batch is a large allocation, which makes glibc consolidate its
        // free lists.
        let mut added = 0;
        let mut i = 0;
        while i < batch.len() {
            let found = anomalies(detector, &batch[i]);
            i += 1;
            if found.is_empty() {
                continue;
            }
            if let Some(alerts) = alerts {
                found.iter().for_each(|anomaly| alerts.send(anomaly));
            }
            let n = found.len();
            batch.splice(i..i, found);
            i += n;
            added += n as u64;
        }
        stats.recorded.fetch_add(added, Ordering::Relaxed);
    }
    let n = batch.len() as u64;
    match sink.write(batch).await {
        Ok(()) => {
            stats.written.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            stats.failed.fetch_add(n, Ordering::Relaxed);
            let counter = if main.is_some() {
                "rampgate_audit_sink_errors_total"
            } else {
                "rampgate_alert_sink_errors_total"
            };
            #[cfg(feature = "metrics")]
            metrics::counter!(counter).increment(n);
            if last_error_log.is_none_or(|at| at.elapsed().as_secs() >= 60) {
                *last_error_log = Some(Instant::now());
                let sink = if main.is_some() { "audit" } else { "alert" };
                tracing::error!(target: "rampgate::audit", error = %e, events = n, sink,
                    counter, "a sink failed: these events are lost (logged at most once a \
                     minute per sink, counted in the counter named)");
            }
        }
    }
    batch.clear();
}

/// The anomaly events `event` (a decision) sets off.
pub(super) fn anomalies(detector: &AnomalyDetector, event: &AuditEvent) -> Vec<AuditEvent> {
    let AuditEvent::Decision(d) = event else {
        return Vec::new();
    };
    let p = d.principal.as_ref();
    // A refused token's own claims, unverified, so that the per-consumer and
    // per-subject signals see expired, forged and unknown-kid tokens too.
    let claimed = d.claimed.as_ref();
    let observation = Observation::new(d.reason, d.ts)
        .consumer(d.consumer().or_else(|| claimed?.client_id.as_deref()))
        .sub(p.and_then(|p| p.sub()).or_else(|| claimed?.sub.as_deref()))
        .jti(p.and_then(|p| p.jti()))
        .client_addr(d.client_addr.map(|a| a.ip()))
        .route(d.route());
    detector
        .observe(&observation)
        .iter()
        .map(|anomaly| anomaly_event(anomaly, d.ts))
        .collect()
}

pub(super) fn anomaly_event(anomaly: &AnomalyEvent, ts: SystemTime) -> AuditEvent {
    tracing::warn!(target: "rampgate::audit", signal = ?anomaly.signal,
        key = &*crate::escape_control(&anomaly.key), count = anomaly.count, "anomaly");
    #[cfg(feature = "metrics")]
    metrics::counter!("rampgate_anomalies_total").increment(1);
    AuditEvent::Other {
        kind: "anomaly",
        ts,
        fields: fields_of(anomaly),
    }
}

pub(super) fn revocation_event(event: &RevocationEvent) -> AuditEvent {
    #[cfg(feature = "metrics")]
    metrics::counter!("rampgate_revocations_total", "by" => event.revocation.by.as_str(),
    "action" => match event.action {
        crate::revocation::RevocationAction::Revoke => "revoke",
        crate::revocation::RevocationAction::Unrevoke => "unrevoke",
    })
    .increment(1);
    AuditEvent::Other {
        kind: "revocation",
        ts: event.at,
        fields: fields_of(event),
    }
}

/// A serialisable value's members (an empty map for anything else).
pub(super) fn fields_of(
    value: &impl serde::Serialize,
) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::{KeyKind, Signal};
    use crate::escape::capture::{assert_no_forged_line, logs};

    #[test]
    fn an_anomaly_key_cannot_forge_a_log_line() {
        let anomaly = AnomalyEvent {
            at: SystemTime::UNIX_EPOCH,
            signal: Signal::ExpiredRetries,
            key_kind: KeyKind::Sub,
            key: "alice\nERROR forged\u{1b}[2J".to_owned(),
            window_secs: 60,
            count: 3,
            threshold: 3,
            reasons: Default::default(),
        };
        let logs = logs(|| drop(anomaly_event(&anomaly, SystemTime::UNIX_EPOCH)));
        assert_no_forged_line(&logs, 1);
        assert!(logs.contains(r"key=alice\nERROR forged\u{1b}[2J"), "{logs}");
    }
}
