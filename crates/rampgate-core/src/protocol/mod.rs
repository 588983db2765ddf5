//! Protocol adapters: where a refusal becomes an answer. `Denial` and its
//! HTTP or gRPC rendering (`denial`, `body`), gRPC requests and statuses
//! (`grpc`), and the framework integrations (`axum`, `tonic`, behind their
//! features).

pub(crate) mod body;
pub(crate) mod denial;
pub mod grpc;

#[cfg(feature = "axum")]
pub mod axum;

#[cfg(feature = "tonic")]
pub mod tonic;
