//! The audit trail: one event per request decision and per contract reload,
//! queued without waiting and written by one task to a sink.
//!
//! - [`AuditEvent`]: the events of the JSON Lines schema v1 (`docs/audit.md`):
//!   `decision`, `contract_changed`, `contract_refused`, and any other type
//!   (`anomaly`, `revocation`) as [`AuditEvent::Other`].
//! - [`AuditRecord`]: one line of the schema, as written and as read back;
//!   [`read_events`] reads a file of them (unknown fields and types kept or
//!   ignored, a torn last line told apart from a malformed one).
//! - [`Auditor`]: the bounded queue (`try_send`: never waits; overflow dropped,
//!   counted exactly and logged at most once a minute) and its writer task.
//! - Sinks: [`TracingSink`] (the default), [`FileSink`] (JSON Lines, rotation,
//!   a [`FlushPolicy`]), `WebhookSink` (feature `audit-webhook`), or your own
//!   [`AuditSink`].
//! - Alerts: the events of an [`AlertClass`] (contract widenings, stage
//!   rollbacks, anomaly signals, `kid` revocations, audit overflow) also go
//!   to an alert sink ([`AuditorBuilder::alerts`]) through a bounded queue
//!   of their own: `AlertWebhook` (feature `audit-webhook`) POSTs each as
//!   one JSON object ([`AuditEvent::alert_json`]).
//!
//! The tower `AuditLayer` (crate `rampgate-tower`) builds the `decision`
//! events; [`Auditor::watch_contract`] records a contract handle's reloads.
//! Events hold the token's [`TokenFingerprint`], never the token.

mod alert;
mod auditor;
mod builder;
mod event;
mod file;
#[cfg(feature = "metrics")]
mod metrics;
mod read;
mod record;
mod sink;
#[cfg(feature = "audit-webhook")]
mod webhook;
mod writer;

pub use alert::{AlertClass, DEFAULT_ALERT_CAPACITY};
pub use auditor::{
    ALERT_FLUSH_TIMEOUT, AuditError, AuditPermit, Auditor, DEFAULT_CAPACITY, DEFAULT_LINGER,
    contract_event,
};
pub use builder::{AuditWriter, AuditorBuilder};
pub use event::{
    AuditEvent, AuditOutcome, Claimed, ContractChangeEntry, ContractChanged, ContractRefused,
    DecisionEvent, SCHEMA_VERSION, StepUpResult, TokenFingerprint,
};
pub use file::{FileSink, FileSinkOptions, FlushPolicy};
pub use read::{LineError, LineErrorKind, ReadEvents, read_events};
pub use record::{
    AuditRecord, ContractChangedRecord, ContractRefusedRecord, DecisionRecord, RecordError,
};
pub use sink::{AuditSink, AuditSinkError, SinkFuture, TracingSink};
#[cfg(feature = "audit-webhook")]
pub use webhook::{AlertWebhook, WebhookSink};
