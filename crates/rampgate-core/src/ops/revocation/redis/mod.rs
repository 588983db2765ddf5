//! [`RedisRevocationStore`](crate::RedisRevocationStore): revocations shared by every replica through
//! Redis (feature `redis`), and [`RedisRevocations`](crate::RedisRevocations) for one-off changes.
//!
//! Each revocation is one Redis key, `{prefix}:rev:{digest}`, holding its
//! JSON and expiring with it (`until` plus the expiry margin); each change is
//! published on `{prefix}:changes`. Every store keeps a local mirror (a
//! [`RevocationList`](crate::RevocationList)) that the request path reads without waiting on Redis:
//! a background task feeds it from the channel, and reads the whole set again
//! on connect and on every reconnect, so that a change missed while
//! disconnected is never lost.

mod client;
mod options;
mod shared;
mod store;
mod task;
mod wire;

pub use client::RedisRevocations;
pub use options::{RedisStoreError, RedisStoreOptions, StalePolicy};
pub use store::RedisRevocationStore;
