//! Operations: what a running service records and reacts to. The audit
//! trail (`audit`), the anomaly signals (`anomaly`), and revocation, which
//! the verifier consults through its `RevocationStore` trait (`revocation`).

pub mod anomaly;
pub mod audit;
pub(crate) mod revocation;
