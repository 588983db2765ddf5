//! The [`AuditorBuilder`]: the queues, the sinks and the writer tasks of an
//! [`Auditor`].

use super::alert::{AlertQueue, DEFAULT_ALERT_CAPACITY};
use super::auditor::{AuditError, Auditor, DEFAULT_CAPACITY, DEFAULT_LINGER, Shared, Stats};
use super::sink::{AuditSink, TracingSink};
use super::writer::{Main, Writer, writer};
use crate::anomaly::{AnomalyDetector, TrustedProxies};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Builds an [`Auditor`].
#[must_use]
pub struct AuditorBuilder {
    capacity: usize,
    linger: Duration,
    sink: Box<dyn AuditSink>,
    alerts: Option<Box<dyn AuditSink>>,
    alert_capacity: usize,
    anomalies: Option<Arc<AnomalyDetector>>,
    proxies: TrustedProxies,
}

impl std::fmt::Debug for AuditorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditorBuilder")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl AuditorBuilder {
    /// Capacity [`DEFAULT_CAPACITY`], the [`TracingSink`], no alerts.
    pub(super) fn new() -> Self {
        AuditorBuilder {
            capacity: DEFAULT_CAPACITY,
            linger: DEFAULT_LINGER,
            sink: Box::new(TracingSink),
            alerts: None,
            alert_capacity: DEFAULT_ALERT_CAPACITY,
            anomalies: None,
            proxies: TrustedProxies::default(),
        }
    }

    /// The queue's capacity in events (default [`DEFAULT_CAPACITY`]): what a
    /// stalled sink can fall behind by before events are dropped.
    pub fn capacity(mut self, events: usize) -> Self {
        self.capacity = events;
        self
    }

    /// How long the writer waits after a batch smaller than its maximum (256
    /// events) before it looks at the queue again (default [`DEFAULT_LINGER`],
    /// 2 ms): events recorded meanwhile wait in the queue and are taken as one
    /// batch, so that recording an event rarely has to wake the writer (a
    /// cross-thread wake-up costs more than the rest of recording). Events
    /// reach the sink up to this much later; the queue's capacity must hold
    /// this long's traffic. `Duration::ZERO` wakes the writer for every event.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Where every event goes (default: [`TracingSink`]).
    pub fn sink(mut self, sink: impl AuditSink) -> Self {
        self.sink = Box::new(sink);
        self
    }

    /// Where alerts also go, one at a time, through a bounded queue of their
    /// own: every event of an [`AlertClass`](super::AlertClass) (contract widenings, stage
    /// rollbacks, anomaly signals, `kid` revocations, and an
    /// `audit_overflow` event when the audit queue drops events, at most one
    /// a minute). An `AlertWebhook` (feature `audit-webhook`), say, next to a
    /// file sink. The events still go to the main sink too (but
    /// `audit_overflow`, which has no room there).
    pub fn alerts(mut self, sink: impl AuditSink) -> Self {
        self.alerts = Some(Box::new(sink));
        self
    }

    /// The alert queue's capacity (default [`DEFAULT_ALERT_CAPACITY`]): how
    /// many alerts can wait for a slow or retrying alert sink before more
    /// are dropped, counted in [`Auditor::alerts_dropped`].
    pub fn alert_capacity(mut self, alerts: usize) -> Self {
        self.alert_capacity = alerts;
        self
    }

    /// Feeds every `decision` event to `detector`, in the writer task (off the
    /// request path), and writes each `anomaly` event it reports to the same
    /// sink, right after the decision that crossed the threshold. Anomaly
    /// events count as recorded and written like the others.
    pub fn anomalies(mut self, detector: AnomalyDetector) -> Self {
        self.anomalies = Some(Arc::new(detector));
        self
    }

    /// The reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name
    /// the client, for the events' `client_addr` and the anomaly signals'
    /// address keys: every `AuditLayer` recording into this auditor believes
    /// them (unless given its own). Defaults to none: the client is the
    /// connection's peer and those headers, which anyone can send, are
    /// ignored.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Starts the writer task.
    ///
    /// # Errors
    ///
    /// [`AuditError::NoRuntime`] outside a tokio runtime,
    /// [`AuditError::ZeroCapacity`] for a zero capacity.
    pub fn build(self) -> Result<Auditor, AuditError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| AuditError::NoRuntime)?;
        let (auditor, writer) = self.pair()?;
        runtime.spawn(writer);
        Ok(auditor)
    }

    /// The auditor and its writer, a future the caller runs where it likes
    /// (its own runtime, a `JoinSet`, a test's `select!`), in the manner of
    /// tower's `Buffer::pair`. Events queue until the writer runs; it ends
    /// once every clone of the auditor is gone and the queue is written.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use rampgate_core::audit::Auditor;
    ///
    /// let (auditor, writer) = Auditor::builder().pair().unwrap();
    /// let task = tokio::spawn(writer);
    /// auditor.flush().await;
    /// drop(auditor);
    /// task.await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`AuditError::ZeroCapacity`] for a zero capacity,
    /// [`AuditError::ZeroAlertCapacity`] for a zero alert capacity.
    pub fn pair(self) -> Result<(Auditor, AuditWriter), AuditError> {
        if self.capacity == 0 {
            return Err(AuditError::ZeroCapacity);
        }
        if self.alert_capacity == 0 {
            return Err(AuditError::ZeroAlertCapacity);
        }
        let mut tasks: Vec<crate::sync::Task> = Vec::new();
        // One alert per write, so that a failed one is counted alone.
        let alerts = self.alerts.map(|sink| {
            let (tx, rx) = mpsc::channel(self.alert_capacity);
            let stats = Arc::new(Stats::default());
            let alerts = Writer::alerts(Arc::clone(&stats));
            tasks.push(Box::pin(writer(rx, sink, alerts)));
            Arc::new(AlertQueue {
                tx,
                stats,
                capacity: self.alert_capacity,
                started: Instant::now(),
            })
        });
        let stats = Arc::new(Stats::default());
        let (tx, rx) = mpsc::channel(self.capacity);
        let main = Writer::main(
            Arc::clone(&stats),
            self.linger,
            Main {
                anomalies: self.anomalies.clone(),
                alerts: alerts.clone(),
                #[cfg(feature = "metrics")]
                metrics: super::metrics::DecisionMetrics::new(),
            },
        );
        tasks.insert(0, Box::pin(writer(rx, self.sink, main)));
        let auditor = Auditor(Arc::new(Shared {
            tx,
            alerts,
            anomalies: self.anomalies,
            capacity: self.capacity,
            stats,
            started: Instant::now(),
            proxies: Arc::new(self.proxies),
        }));
        Ok((auditor, crate::sync::Tasks::new(tasks)))
    }
}

/// The audit writer of [`AuditorBuilder::pair`]: the task that hands the
/// queued events to the sink (and the alerts to theirs), for the caller to
/// run. It does nothing unless polled.
pub type AuditWriter = crate::sync::Tasks;
