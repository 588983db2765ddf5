//! The bounded queue between the request path and the sink, and its writer task.

use super::alert::{AlertClass, AlertQueue, overflow_event};
use super::builder::AuditorBuilder;
use super::event::{AuditEvent, ContractChanged, ContractRefused};
use super::writer::{anomalies, revocation_event};
use crate::anomaly::{AnomalyDetector, TrustedProxies};
use crate::contract::{ContractEvent, ContractHandle, ReloadError};
use crate::revocation::{RevocationEvent, RevocationStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// The longest [`Auditor::flush`] waits for queued alerts to be delivered.
pub const ALERT_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits until the writer behind `tx` has handled every message sent before.
async fn flush_queue(tx: &mpsc::Sender<Msg>) {
    let (done, wait) = oneshot::channel();
    if tx.send(Msg::Flush(done)).await.is_ok() {
        let _ = wait.await;
    }
}

/// The default queue capacity, in events.
pub const DEFAULT_CAPACITY: usize = 8192;

/// The default pause of the writer after a short batch.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(2);

/// Why an auditor could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The auditor's writer is a tokio task: build it inside a runtime.
    #[error("the auditor needs a tokio runtime: build it from inside one")]
    NoRuntime,
    /// A zero queue capacity.
    #[error("the audit queue capacity must be positive")]
    ZeroCapacity,
    /// A zero alert queue capacity.
    #[error("the alert queue capacity must be positive")]
    ZeroAlertCapacity,
}

// Events are what the queue carries (a decision, inline: see
// `AuditEvent::Decision`); a flush is rare.
#[allow(clippy::large_enum_variant)]
pub(super) enum Msg {
    Event(AuditEvent),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) recorded: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) written: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) widenings: AtomicU64,
    /// Seconds since `started` of the last overflow warning, plus one (0: never).
    pub(super) last_overflow_log: AtomicU64,
}

/// What every clone of an [`Auditor`] shares.
pub(super) struct Shared {
    pub(super) tx: mpsc::Sender<Msg>,
    pub(super) alerts: Option<Arc<AlertQueue>>,
    /// The writer's detector too: a decision dropped from a full queue is
    /// still counted, so that a flood cannot hide its own signals.
    pub(super) anomalies: Option<Arc<AnomalyDetector>>,
    pub(super) capacity: usize,
    pub(super) stats: Arc<Stats>,
    pub(super) started: Instant,
    pub(super) proxies: Arc<TrustedProxies>,
}

/// The audit trail's entry point: a bounded queue in front of a sink, drained
/// by one writer task. Cheap to clone; every clone feeds the same queue.
///
/// Recording never waits: [`record`](Auditor::record) puts the event in the
/// queue with `try_send`, and when the queue is full the event is dropped and
/// counted ([`dropped`](Auditor::dropped), the `rampgate_audit_dropped_total`
/// counter), and a warning is logged at most once a minute. A route that must
/// not run unaudited reserves its place first ([`reserve`](Auditor::reserve)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::audit::{Auditor, FileSink};
///
/// # let dir = std::env::temp_dir().join(format!("rampgate-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let auditor = Auditor::builder()
///     .capacity(4096)
///     .sink(FileSink::open(dir.join("audit.jsonl")).unwrap())
///     .build()
///     .unwrap();
/// auditor.flush().await;
/// assert_eq!(auditor.dropped(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct Auditor(pub(super) Arc<Shared>);

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("capacity", &self.0.capacity)
            .field("queued", &self.queued())
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// A place in the audit queue, reserved before a fail-closed route runs:
/// its event is then sure to be queued.
#[derive(Debug)]
pub struct AuditPermit {
    permit: mpsc::OwnedPermit<Msg>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Event(_) => "Event",
            Msg::Flush(_) => "Flush",
        })
    }
}

impl AuditPermit {
    /// Queues `event` in the reserved place.
    pub fn record(self, event: AuditEvent) {
        self.stats.recorded.fetch_add(1, Ordering::Relaxed);
        self.permit.send(Msg::Event(event));
    }
}

impl Auditor {
    /// A builder: capacity [`DEFAULT_CAPACITY`], the [`TracingSink`](super::TracingSink).
    pub fn builder() -> AuditorBuilder {
        AuditorBuilder::new()
    }

    /// An auditor writing to `tracing` (the default sink).
    ///
    /// # Errors
    ///
    /// [`AuditError::NoRuntime`] outside a tokio runtime.
    pub fn tracing() -> Result<Auditor, AuditError> {
        Auditor::builder().build()
    }

    /// Queues `event` without waiting. Returns `false` when the queue was full
    /// (or the writer gone): the event is dropped and counted.
    pub fn record(&self, event: AuditEvent) -> bool {
        self.alert(&event);
        self.0.stats.recorded.fetch_add(1, Ordering::Relaxed);
        match self.0.tx.try_send(Msg::Event(event)) {
            Ok(()) => true,
            Err(e) => {
                let event = match e {
                    mpsc::error::TrySendError::Full(Msg::Event(e))
                    | mpsc::error::TrySendError::Closed(Msg::Event(e)) => Some(e),
                    _ => None,
                };
                self.overflow(event.as_ref());
                false
            }
        }
    }

    /// Queues `event`; when the queue is full, a spawned task waits for room
    /// instead of dropping it (the caller never waits). For rare events that
    /// must not be lost, such as revocations: a mass revocation larger than
    /// the queue is written in full once the writer catches up. Outside a
    /// tokio runtime a full queue drops it, counted.
    fn record_patiently(&self, event: AuditEvent) {
        self.alert(&event);
        self.0.stats.recorded.fetch_add(1, Ordering::Relaxed);
        match self.0.tx.try_send(Msg::Event(event)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(msg)) => {
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let (tx, stats) = (self.0.tx.clone(), Arc::clone(&self.0.stats));
                        runtime.spawn(async move {
                            if tx.send(msg).await.is_err() {
                                stats.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    }
                    Err(_) => self.overflow(None),
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.overflow(None),
        }
    }

    /// Reserves a place in the queue, or `None` when it is full: the caller
    /// (a fail-closed route) must then refuse to act. A `None` counts as one
    /// dropped event, since the event that needed the place is never queued.
    pub fn reserve(&self) -> Option<AuditPermit> {
        match self.0.tx.clone().try_reserve_owned() {
            Ok(permit) => Some(AuditPermit {
                permit,
                stats: Arc::clone(&self.0.stats),
            }),
            Err(_) => {
                self.0.stats.recorded.fetch_add(1, Ordering::Relaxed);
                self.overflow(None);
                None
            }
        }
    }

    /// Counts a widening, and hands `event` to the alert queue when it is an
    /// alert (decisions, the bulk of events, are told apart at once).
    fn alert(&self, event: &AuditEvent) {
        if !event.is_alert() {
            return;
        }
        if event
            .alert_classes()
            .contains(&AlertClass::ContractWidening)
        {
            self.0.stats.widenings.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            metrics::counter!("rampgate_contract_widenings_total").increment(1);
        }
        if let Some(alerts) = &self.0.alerts {
            alerts.send(event);
        }
    }

    fn overflow(&self, event: Option<&AuditEvent>) {
        let dropped = self.0.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        #[cfg(feature = "metrics")]
        {
            metrics::counter!("rampgate_audit_dropped_total").increment(1);
            if let Some(AuditEvent::Decision(d)) = event {
                super::metrics::decision(d);
            }
        }
        // The detector still sees a decision the queue had no room for (its
        // anomaly events, if any, are logged and counted even when they in
        // turn find no room).
        if let (Some(detector), Some(event)) = (&self.0.anomalies, event) {
            for anomaly in anomalies(detector, event) {
                self.alert(&anomaly);
                self.0.stats.recorded.fetch_add(1, Ordering::Relaxed);
                if self.0.tx.try_send(Msg::Event(anomaly)).is_err() {
                    self.0.stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // At most one warning (and alert) a minute, never silent.
        if once_a_minute(&self.0.stats.last_overflow_log, self.0.started) {
            if let Some(alerts) = &self.0.alerts {
                alerts.send(&overflow_event(dropped, self.0.capacity));
            }
            tracing::warn!(
                target: "rampgate::audit",
                dropped_total = dropped,
                capacity = self.0.capacity,
                "the audit queue is full: events are being dropped (the sink is slow or failing); \
                 logged at most once a minute, counted in rampgate_audit_dropped_total"
            );
        }
    }

    /// Waits until every event recorded before this call has been handed to
    /// the sink, then flushes the sink ([`AuditSink::flush`](super::AuditSink::flush)).
    ///
    /// With an alert sink, it then waits in the same way for the alerts
    /// queued so far (those the writer raised for these events included),
    /// for at most [`ALERT_FLUSH_TIMEOUT`]: a webhook that does not answer
    /// must not hold a shutdown for the length of every alert's retries.
    /// Alerts still queued then are logged, and keep being sent while the
    /// runtime lives.
    pub async fn flush(&self) {
        flush_queue(&self.0.tx).await;
        if let Some(alerts) = &self.0.alerts
            && tokio::time::timeout(ALERT_FLUSH_TIMEOUT, flush_queue(&alerts.tx))
                .await
                .is_err()
        {
            tracing::warn!(
                target: "rampgate::audit",
                timeout_secs = ALERT_FLUSH_TIMEOUT.as_secs(),
                "alerts are still queued after the flush timeout: the alert webhook is slow or failing"
            );
        }
    }

    /// Events recorded so far (queued, or dropped for a full queue).
    pub fn recorded(&self) -> u64 {
        self.0.stats.recorded.load(Ordering::Relaxed)
    }

    /// Events dropped because the queue was full: exact.
    pub fn dropped(&self) -> u64 {
        self.0.stats.dropped.load(Ordering::Relaxed)
    }

    /// Events the sink took.
    pub fn written(&self) -> u64 {
        self.0.stats.written.load(Ordering::Relaxed)
    }

    /// Events of batches the sink failed to take.
    pub fn failed(&self) -> u64 {
        self.0.stats.failed.load(Ordering::Relaxed)
    }

    /// Contract widenings recorded (alerts).
    pub fn widenings(&self) -> u64 {
        self.0.stats.widenings.load(Ordering::Relaxed)
    }

    /// Alerts the alert sink took (0 without one).
    pub fn alerts_sent(&self) -> u64 {
        self.alert_stat(|s| &s.written)
    }

    /// Alerts the alert sink failed to take (a webhook's retries ran out).
    pub fn alerts_failed(&self) -> u64 {
        self.alert_stat(|s| &s.failed)
    }

    /// Alerts dropped because the alert queue was full: exact.
    pub fn alerts_dropped(&self) -> u64 {
        self.alert_stat(|s| &s.dropped)
    }

    fn alert_stat(&self, counter: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        self.0
            .alerts
            .as_ref()
            .map_or(0, |a| counter(&a.stats).load(Ordering::Relaxed))
    }

    /// Events waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.0.capacity - self.0.tx.capacity()
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.0.capacity
    }

    /// The proxies whose forwarding headers name the client
    /// ([`AuditorBuilder::trusted_proxies`]).
    pub fn trusted_proxies(&self) -> &Arc<TrustedProxies> {
        &self.0.proxies
    }

    /// Writes every change of `store` (revoke, un-revoke, from code or from
    /// the admin router) as a `revocation` event, and counts it in
    /// `rampgate_revocations_total{by, action}` (feature `metrics`).
    /// Watching the same store again changes nothing: each change is one
    /// event. Returns whether the store reports its changes.
    ///
    /// `AuthStack::audit` (in `rampgate-tower`) does this for the store of
    /// the stack's verifier, so a stack needs no call; an `AuditLayer` does
    /// it for the stores its requests meet (a `JwtLayer`'s verifier's, the
    /// admin router's), and `RevocationAdmin::audit` for the router's. Call
    /// it yourself for changes made from code before any request passed.
    pub fn watch_revocations(&self, store: &dyn RevocationStore) -> bool {
        // The key is this auditor (every clone shares it): a second watch
        // replaces the first instead of doubling the events.
        let key = Arc::as_ptr(&self.0) as usize;
        let auditor = Arc::downgrade(&self.0);
        store.observe(
            key,
            Arc::new(move |event: &RevocationEvent| {
                if let Some(shared) = auditor.upgrade() {
                    Auditor(shared).record_patiently(revocation_event(event));
                }
            }),
        )
    }

    /// Records every change applied to or refused by `handle` from now on: a
    /// `contract_changed` event per applied reload (an alert, at WARN, counted
    /// in `rampgate_contract_widenings_total` and sent to the alert sink, when
    /// it widens access), a `contract_refused` event per refusal.
    pub fn watch_contract(&self, handle: &ContractHandle) {
        let auditor = self.clone();
        handle.observe(move |event| {
            auditor.record(contract_event(event));
        });
    }
}

/// Whether a rate-limited message is due: true at most once a minute per
/// `last` (seconds since `started` of the last one, plus one; 0: never).
pub(super) fn once_a_minute(last: &AtomicU64, started: Instant) -> bool {
    let now = started.elapsed().as_secs() + 1;
    let before = last.load(Ordering::Relaxed);
    (before == 0 || now >= before + 60)
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The audit event of a contract change.
pub fn contract_event(event: &ContractEvent<'_>) -> AuditEvent {
    match event {
        ContractEvent::Applied { diff, sha256, .. } => {
            let mut changed = ContractChanged::from_diff(diff);
            changed.sha256 = *sha256;
            AuditEvent::ContractChanged(changed)
        }
        ContractEvent::Refused {
            version,
            previous_version,
            error,
            sha256,
            change,
            ..
        } => AuditEvent::ContractRefused(ContractRefused {
            ts: SystemTime::now(),
            version: *version,
            previous_version: *previous_version,
            error: error.to_string(),
            reason: Some(match error {
                ReloadError::VersionNotIncreased(_) => "version_not_increased",
                ReloadError::Invalid(_) => "contract_invalid",
                ReloadError::Read { .. } => "contract_unreadable",
                _ => "reload_refused",
            }),
            sha256: *sha256,
            change: change.cloned(),
        }),
    }
}
