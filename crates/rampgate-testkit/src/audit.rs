//! An in-memory audit sink for tests: every event the `AuditLayer` writes,
//! as the JSON the file sink would write.

use rampgate_core::audit::{AuditEvent, AuditSink, SinkFuture};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// An [`AuditSink`] that keeps every event in memory, as its JSON.
///
/// The audit queue is asynchronous: call `auditor.flush().await` before
/// reading, or a test that reads at once sees nothing.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::audit::{AuditEvent, Auditor, DecisionEvent};
/// use rampgate_testkit::MemorySink;
///
/// let sink = MemorySink::new();
/// let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
/// let event = DecisionEvent::new(
///     std::time::SystemTime::now(),
///     axum::http::HeaderValue::from_static("req-1"),
///     axum::http::Method::GET,
/// );
/// auditor.record(AuditEvent::Decision(event));
/// auditor.flush().await; // the writer runs in the background
/// assert_eq!(sink.events().len(), 1);
/// assert_eq!(sink.decisions()[0]["request_id"], "req-1");
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<Value>>>);

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        MemorySink::default()
    }

    /// Every event written so far, in order.
    pub fn events(&self) -> Vec<Value> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The `decision` events written so far, in order.
    pub fn decisions(&self) -> Vec<Value> {
        self.of_type("decision")
    }

    /// The events of `kind` (`decision`, `anomaly`, `revocation`,
    /// `contract_changed`...) written so far, in order.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// Forgets every event written so far.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl AuditSink for MemorySink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        let json = batch.iter().map(AuditEvent::to_json);
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(json);
        Box::pin(async { Ok(()) })
    }
}
