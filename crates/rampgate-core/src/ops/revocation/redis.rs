//! [`RedisRevocationStore`]: revocations shared by every replica through
//! Redis (feature `redis`), and [`RedisRevocations`] for one-off changes.
//!
//! Each revocation is one Redis key, `{prefix}:rev:{digest}`, holding its
//! JSON and expiring with it (`until` plus the expiry margin); each change is
//! published on `{prefix}:changes`. Every store keeps a local mirror (a
//! [`RevocationList`]) that the request path reads without waiting on Redis:
//! a background task feeds it from the channel, and reads the whole set again
//! on connect and on every reconnect, so that a change missed while
//! disconnected is never lost.

use super::list::RevocationList;
use super::{
    Revocation, RevocationCheck, RevocationError, RevocationHealth, RevocationObserver,
    RevocationStore,
};
use crate::escape_control;
use crate::reason::RevokedBy;
use redis::aio::MultiplexedConnection;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

/// How many keys one `SCAN` step and one `MGET` ask for.
const BATCH: usize = 1000;
/// The first wait before a reconnect; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why the Redis store could not be set up or could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a Redis URL.
    #[error(
        "invalid Redis URL {url:?}: {reason}; use redis://[user:password@]host[:port][/db] (or unix:///path/to/socket)"
    )]
    InvalidUrl {
        /// The URL given, with any password hidden.
        url: String,
        /// What the client found wrong.
        reason: String,
    },
    /// Redis could not be reached, or refused a command.
    #[error(
        "Redis at {url} is unreachable or refused the command: {reason}; check that the server runs and the URL, password and database are right"
    )]
    Unreachable {
        /// The URL, with any password hidden.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The revocation is malformed; the message says what to fix.
    #[error(transparent)]
    Invalid(#[from] RevocationError),
}

impl From<RedisStoreError> for RevocationError {
    fn from(e: RedisStoreError) -> Self {
        match e {
            RedisStoreError::Invalid(e) => e,
            other => RevocationError::Store(other.to_string()),
        }
    }
}

/// What a store does once it has been out of touch with Redis for longer
/// than [`max_stale`](RedisStoreOptions::max_stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StalePolicy {
    /// Keep answering from the last mirror (the default): requests keep
    /// flowing, but a revocation made elsewhere during the outage is not
    /// seen by this replica until Redis is back.
    #[default]
    KeepServing,
    /// Refuse every token with 503 `revocation_unavailable` until Redis is
    /// back and the mirror resynchronised.
    FailClosed,
}

/// The settings of a [`RedisRevocationStore`] (and of [`RedisRevocations`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisStoreOptions {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The prefix of every key and of the channel (default `rampgate`): one
    /// per fleet sharing a server.
    pub prefix: String,
    /// How long the mirror may go without Redis before
    /// [`stale_policy`](RedisStoreOptions::stale_policy) applies (default 60 s).
    pub max_stale: Duration,
    /// What happens past `max_stale` (default: keep serving).
    pub stale_policy: StalePolicy,
    /// How long [`RedisRevocationStore::connect`] waits for the first
    /// synchronisation (default 5 s). Past it, the store is returned all the
    /// same, keeps trying in the background, and the policy applies.
    pub initial_wait: Duration,
    /// How often a connected store checks that Redis still answers (default 1 s).
    pub check_interval: Duration,
    /// How long a `jti` revocation given no `until` lasts (default 24 h).
    pub max_jti_lifetime: Duration,
    /// How long past its `until` an entry is kept, in Redis and in the
    /// mirror, to cover the verifier's leeway (default 5 min).
    pub expiry_margin: Duration,
}

impl RedisStoreOptions {
    /// The defaults, for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisStoreOptions {
            url: url.into(),
            prefix: "rampgate".to_owned(),
            max_stale: Duration::from_secs(60),
            stale_policy: StalePolicy::KeepServing,
            initial_wait: Duration::from_secs(5),
            check_interval: Duration::from_secs(1),
            max_jti_lifetime: Duration::from_secs(24 * 3600),
            expiry_margin: Duration::from_secs(300),
        }
    }

    /// Sets [`prefix`](RedisStoreOptions::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`max_stale`](RedisStoreOptions::max_stale) and the policy past it.
    pub fn max_stale(mut self, max_stale: Duration, policy: StalePolicy) -> Self {
        self.max_stale = max_stale;
        self.stale_policy = policy;
        self
    }

    /// Sets [`initial_wait`](RedisStoreOptions::initial_wait).
    pub fn initial_wait(mut self, wait: Duration) -> Self {
        self.initial_wait = wait;
        self
    }

    /// Sets [`check_interval`](RedisStoreOptions::check_interval).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// Sets [`max_jti_lifetime`](RedisStoreOptions::max_jti_lifetime).
    pub fn max_jti_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_jti_lifetime = lifetime;
        self
    }

    /// Sets [`expiry_margin`](RedisStoreOptions::expiry_margin).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    fn list(&self) -> RevocationList {
        RevocationList::new()
            .with_max_jti_lifetime(self.max_jti_lifetime)
            .with_expiry_margin(self.expiry_margin)
    }
}

/// A revocation as Redis holds it and the channel carries it: instants in
/// seconds since the epoch.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Wire {
    by: RevokedBy,
    value: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    issued_before: Option<f64>,
    #[serde(default)]
    until: Option<f64>,
}

impl Wire {
    fn from_revocation(r: &Revocation) -> Self {
        Wire {
            by: r.by,
            value: r.value.clone(),
            iss: r.iss.clone(),
            issued_before: r.issued_before.map(epoch_secs),
            until: r.until.map(epoch_secs),
        }
    }

    fn into_revocation(self) -> Option<Revocation> {
        if self.value.is_empty() {
            return None;
        }
        let mut r = Revocation::new(self.by, self.value);
        r.iss = self.iss;
        r.issued_before = match self.issued_before {
            Some(s) => Some(from_epoch_secs(s)?),
            None => None,
        };
        r.until = match self.until {
            Some(s) => Some(from_epoch_secs(s)?),
            None => None,
        };
        Some(r)
    }
}

/// One change on the channel.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Message {
    /// `revoke` or `unrevoke`.
    op: String,
    r: Wire,
    #[serde(default)]
    actor: Option<String>,
    /// The store that made it (a random id per store), so that it does not
    /// apply and report its own change twice.
    #[serde(default)]
    origin: String,
}

const OP_REVOKE: &str = "revoke";
const OP_UNREVOKE: &str = "unrevoke";

fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn from_epoch_secs(s: f64) -> Option<SystemTime> {
    Duration::try_from_secs_f64(s)
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The URL with any password replaced, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Keys and channel of one prefix.
#[derive(Debug, Clone)]
struct Names {
    prefix: String,
    channel: String,
}

impl Names {
    fn new(prefix: &str) -> Self {
        Names {
            prefix: prefix.to_owned(),
            channel: format!("{prefix}:changes"),
        }
    }

    /// The key of the revocation of `value` of kind `by` for `iss`.
    fn key(&self, by: RevokedBy, value: &str, iss: Option<&str>) -> String {
        let mut h = Sha256::new();
        h.update(by.as_str().as_bytes());
        h.update([0]);
        h.update(iss.unwrap_or("").as_bytes());
        h.update([u8::from(iss.is_some())]);
        h.update(value.as_bytes());
        let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:rev:{digest}", self.prefix)
    }

    fn pattern(&self) -> String {
        format!("{}:rev:*", self.prefix)
    }
}

/// Direct access to the revocations in Redis, without a mirror: for one-off
/// changes (the `rampgate revoke` CLI). Every replica's
/// [`RedisRevocationStore`] applies the changes within moments.
///
/// ```no_run
/// # async fn run() -> Result<(), rampgate_core::RedisStoreError> {
/// use rampgate_core::{RedisRevocations, RedisStoreOptions, Revocation};
///
/// let redis = RedisRevocations::connect(&RedisStoreOptions::new("redis://127.0.0.1:6379")).await?;
/// redis.revoke(Revocation::jti("a1b2c3"), Some("cli:ops@host")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    conn: MultiplexedConnection,
    names: Names,
    url: String,
    /// Validates revocations and fills in their defaults; holds nothing.
    rules: RevocationList,
    origin: String,
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("url", &self.url)
            .field("prefix", &self.names.prefix)
            .finish_non_exhaustive()
    }
}

fn open_client(url: &str) -> Result<redis::Client, RedisStoreError> {
    redis::Client::open(url).map_err(|e| RedisStoreError::InvalidUrl {
        url: redact(url),
        reason: e.to_string(),
    })
}

fn connection_config(timeout: Duration) -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

impl RedisRevocations {
    /// Connects to the server of `options.url` (within 5 seconds).
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] for a URL that is not a Redis URL,
    /// [`RedisStoreError::Unreachable`] when the server does not answer.
    pub async fn connect(options: &RedisStoreOptions) -> Result<Self, RedisStoreError> {
        let client = open_client(&options.url)?;
        let url = redact(&options.url);
        let conn = client
            .get_multiplexed_async_connection_with_config(&connection_config(Duration::from_secs(
                5,
            )))
            .await
            .map_err(|e| unreachable(&url, &e))?;
        Ok(RedisRevocations {
            conn,
            names: Names::new(&options.prefix),
            url,
            rules: options.list(),
            origin: new_origin(),
        })
    }

    /// Stores `revocation` (replacing one of the same kind, value and
    /// issuer) and publishes the change. Returns it as stored.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Invalid`] for a malformed revocation, else
    /// [`RedisStoreError::Unreachable`].
    pub async fn revoke(
        &self,
        revocation: Revocation,
        actor: Option<&str>,
    ) -> Result<Revocation, RedisStoreError> {
        let r = self.rules.normalise(revocation, SystemTime::now())?;
        let margin = self.rules.expiry_margin();
        write_revoke(
            &mut self.conn.clone(),
            &self.names,
            &r,
            actor,
            &self.origin,
            margin,
        )
        .await
        .map_err(|e| unreachable(&self.url, &e))?;
        Ok(r)
    }

    /// Removes the revocation of `value` of kind `by` for issuer `iss` and
    /// publishes the change. Returns it, or `None` when there was none.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Unreachable`].
    pub async fn unrevoke(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Option<Revocation>, RedisStoreError> {
        // A jti is unique across issuers: its revocation has none.
        let iss = if by == RevokedBy::Jti { None } else { iss };
        write_unrevoke(
            &mut self.conn.clone(),
            &self.names,
            (by, value, iss),
            actor,
            &self.origin,
        )
        .await
        .map_err(|e| unreachable(&self.url, &e))
    }

    /// Every revocation in Redis, ordered by kind, value and issuer.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Unreachable`].
    pub async fn list(&self) -> Result<Vec<Revocation>, RedisStoreError> {
        let mut all = read_all(&mut self.conn.clone(), &self.names)
            .await
            .map_err(|e| unreachable(&self.url, &e))?;
        all.sort_by(|a, b| (a.by, &a.value, &a.iss).cmp(&(b.by, &b.value, &b.iss)));
        Ok(all)
    }
}

fn unreachable(url: &str, e: &redis::RedisError) -> RedisStoreError {
    RedisStoreError::Unreachable {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

fn new_origin() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `SET` with the entry's expiry and `PUBLISH`, in one transaction.
async fn write_revoke(
    conn: &mut MultiplexedConnection,
    names: &Names,
    r: &Revocation,
    actor: Option<&str>,
    origin: &str,
    margin: Duration,
) -> redis::RedisResult<()> {
    let key = names.key(r.by, &r.value, r.iss.as_deref());
    let wire = Wire::from_revocation(r);
    let body = serde_json::to_string(&wire).unwrap_or_default();
    let message = message(OP_REVOKE, wire, actor, origin);
    let mut pipe = redis::pipe();
    pipe.atomic();
    let set = pipe.cmd("SET").arg(&key).arg(&body);
    if let Some(until) = r.until {
        let drop_at = until + margin;
        let ms = drop_at
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        set.arg("PXAT").arg(ms);
    }
    set.ignore();
    pipe.cmd("PUBLISH")
        .arg(&names.channel)
        .arg(message)
        .ignore();
    pipe.query_async::<()>(conn).await
}

fn message(op: &str, r: Wire, actor: Option<&str>, origin: &str) -> String {
    let m = Message {
        op: op.to_owned(),
        r,
        actor: actor.map(str::to_owned),
        origin: origin.to_owned(),
    };
    serde_json::to_string(&m).unwrap_or_default()
}

/// `GETDEL`, then `PUBLISH` when there was something to remove.
async fn write_unrevoke(
    conn: &mut MultiplexedConnection,
    names: &Names,
    (by, value, iss): (RevokedBy, &str, Option<&str>),
    actor: Option<&str>,
    origin: &str,
) -> redis::RedisResult<Option<Revocation>> {
    let key = names.key(by, value, iss);
    let old: Option<String> = redis::cmd("GETDEL").arg(&key).query_async(conn).await?;
    let removed = old
        .and_then(|s| serde_json::from_str::<Wire>(&s).ok())
        .and_then(Wire::into_revocation);
    // Published even when Redis held nothing (the entry may have expired
    // there first): every mirror drops it all the same.
    let mut named = Revocation::new(by, value);
    named.iss = iss.map(str::to_owned);
    let wire = Wire::from_revocation(removed.as_ref().unwrap_or(&named));
    redis::cmd("PUBLISH")
        .arg(&names.channel)
        .arg(message(OP_UNREVOKE, wire, actor, origin))
        .query_async::<i64>(conn)
        .await?;
    Ok(removed)
}

/// Every revocation under the prefix: `SCAN`, then `MGET` by batches. An
/// entry that does not parse (written by something else) is skipped.
async fn read_all(
    conn: &mut MultiplexedConnection,
    names: &Names,
) -> redis::RedisResult<Vec<Revocation>> {
    let pattern = names.pattern();
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH) {
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query_async(conn).await?;
        for value in values.into_iter().flatten() {
            match serde_json::from_str::<Wire>(&value)
                .ok()
                .and_then(Wire::into_revocation)
            {
                Some(r) => out.push(r),
                None => tracing::warn!(
                    value = &*escape_control(&value),
                    "revocation store: an entry in Redis is not a revocation; skipped"
                ),
            }
        }
    }
    Ok(out)
}

/// A change made through the [`RevocationStore`] trait, on its way to Redis.
#[derive(Debug)]
enum Op {
    Revoke(Revocation, Option<String>),
    Unrevoke(RevokedBy, String, Option<String>, Option<String>),
}

/// What the store and its background task share.
struct Shared {
    mirror: RevocationList,
    names: Names,
    url: String,
    options: RedisStoreOptions,
    origin: String,
    connected: AtomicBool,
    synced: AtomicBool,
    /// When the mirror was last known current (ms since the epoch; 0: never).
    fresh_at: AtomicI64,
    /// Whether the "stale past max_stale" line was logged for this outage.
    stale_logged: AtomicBool,
    /// Whether the "unreachable" line was logged for this outage.
    down_logged: AtomicBool,
}

impl Shared {
    fn stale_for(&self) -> Duration {
        if self.connected.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        let since = now_millis().saturating_sub(self.fresh_at.load(Ordering::Acquire));
        Duration::from_millis(u64::try_from(since).unwrap_or(0))
    }

    fn usable(&self) -> bool {
        match self.options.stale_policy {
            StalePolicy::KeepServing => true,
            StalePolicy::FailClosed => {
                self.synced.load(Ordering::Acquire) && self.stale_for() <= self.options.max_stale
            }
        }
    }

    fn touch(&self) {
        self.fresh_at.store(now_millis(), Ordering::Release);
    }

    /// Records a lost connection: one log line per outage.
    fn mark_down(&self, error: &redis::RedisError) {
        self.connected.store(false, Ordering::Release);
        if !self.down_logged.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                url = %self.url,
                error = %error,
                entries = self.mirror.len(),
                "revocation store: Redis unreachable; serving from the last mirror while reconnecting"
            );
            #[cfg(feature = "metrics")]
            metrics::gauge!("rampgate_revocation_store_connected").set(0.0);
        }
    }

    /// Logs, once per outage, that the mirror is now older than `max_stale`.
    fn log_if_stale(&self) {
        if self.stale_for() <= self.options.max_stale
            || self.stale_logged.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let refusing = self.options.stale_policy == StalePolicy::FailClosed;
        tracing::error!(
            url = %self.url,
            max_stale_secs = self.options.max_stale.as_secs(),
            refusing,
            "revocation store: out of touch with Redis past max_stale{}",
            if refusing {
                "; refusing every token with 503 revocation_unavailable"
            } else {
                "; still serving from the last mirror (stale_policy keep-serving)"
            }
        );
    }

    fn mark_up(&self, entries: usize) {
        self.touch();
        // Connected before synced: whoever sees `synced` sees it connected.
        let was_connected = self.connected.swap(true, Ordering::AcqRel);
        let first = !self.synced.swap(true, Ordering::AcqRel);
        self.stale_logged.store(false, Ordering::Release);
        self.down_logged.store(false, Ordering::Release);
        if !was_connected {
            tracing::info!(
                url = %self.url,
                entries,
                first,
                "revocation store: connected to Redis; mirror synchronised"
            );
            #[cfg(feature = "metrics")]
            metrics::gauge!("rampgate_revocation_store_connected").set(1.0);
        }
        #[cfg(feature = "metrics")]
        metrics::counter!("rampgate_revocation_store_resyncs_total").increment(1);
    }

    /// Applies a change read from the channel (another store's).
    fn apply_message(&self, payload: &str) {
        let Ok(m) = serde_json::from_str::<Message>(payload) else {
            tracing::warn!(
                payload = &*escape_control(payload),
                "revocation store: a message on the channel is not a change; ignored"
            );
            return;
        };
        self.touch();
        if m.origin == self.origin {
            return;
        }
        let Some(r) = m.r.into_revocation() else {
            return;
        };
        let actor = m.actor.as_deref();
        match m.op.as_str() {
            OP_REVOKE => self.mirror.apply(&[r], actor, SystemTime::now(), true),
            OP_UNREVOKE => {
                let _ = self
                    .mirror
                    .remove(r.by, &r.value, r.iss.as_deref(), actor, true);
            }
            _ => {}
        }
    }
}

/// Aborts the background task when the last clone of the store goes.
struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Revocations shared by every replica through Redis: a [`RevocationStore`]
/// whose lookups read a local mirror (the same lock-free snapshot as
/// [`RevocationList`]'s, never waiting on Redis), fed by pub/sub and
/// resynchronised in full on connect and on every reconnect.
///
/// Changes made through the trait (the admin router) apply to this replica's
/// mirror at once, and reach Redis and the other replicas from the
/// background task; made while Redis is down, they are kept and written on
/// reconnect. [`RedisRevocations`] makes changes in Redis directly.
///
/// ```no_run
/// # async fn run() -> Result<(), rampgate_core::RedisStoreError> {
/// use rampgate_core::{RedisRevocationStore, RedisStoreOptions, StalePolicy};
/// use std::time::Duration;
///
/// let store = RedisRevocationStore::connect(
///     RedisStoreOptions::new("redis://127.0.0.1:6379")
///         .max_stale(Duration::from_secs(30), StalePolicy::FailClosed),
/// )
/// .await?;
/// // Verifier::builder().revocations(store.clone())...
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationStore {
    shared: Arc<Shared>,
    ops: mpsc::UnboundedSender<Op>,
    _task: Arc<TaskGuard>,
}

impl fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("url", &self.shared.url)
            .field("prefix", &self.shared.names.prefix)
            .field("connected", &self.shared.connected.load(Ordering::Relaxed))
            .field("entries", &self.shared.mirror.len())
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// Starts the store's background task (on the current tokio runtime) and
    /// waits, at most [`initial_wait`](RedisStoreOptions::initial_wait), for
    /// the first synchronisation. Past it the store is returned all the same
    /// (with a warning): it keeps trying, serves an empty mirror meanwhile,
    /// and refuses every token under [`StalePolicy::FailClosed`].
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] for a URL that is not a Redis URL.
    pub async fn connect(options: RedisStoreOptions) -> Result<Self, RedisStoreError> {
        let client = open_client(&options.url)?;
        let shared = Arc::new(Shared {
            mirror: options.list(),
            names: Names::new(&options.prefix),
            url: redact(&options.url),
            origin: new_origin(),
            connected: AtomicBool::new(false),
            synced: AtomicBool::new(false),
            fresh_at: AtomicI64::new(0),
            stale_logged: AtomicBool::new(false),
            down_logged: AtomicBool::new(false),
            options,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(client, Arc::clone(&shared), rx));
        let store = RedisRevocationStore {
            shared,
            ops: tx,
            _task: Arc::new(TaskGuard(task)),
        };
        if !store.wait_synced(store.shared.options.initial_wait).await {
            tracing::warn!(
                url = %store.shared.url,
                waited_ms = u64::try_from(store.shared.options.initial_wait.as_millis()).unwrap_or(u64::MAX),
                fail_closed = store.shared.options.stale_policy == StalePolicy::FailClosed,
                "revocation store: no synchronisation with Redis yet; starting without it and retrying"
            );
        }
        Ok(store)
    }

    /// Waits, at most `timeout`, until the mirror has been synchronised once.
    /// Returns whether it has.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.shared.synced.load(Ordering::Acquire) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the store is in touch with Redis now.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// The revocations held by the local mirror.
    pub fn len(&self) -> usize {
        self.shared.mirror.len()
    }

    /// Whether the local mirror holds nothing.
    pub fn is_empty(&self) -> bool {
        self.shared.mirror.is_empty()
    }
}

impl RevocationStore for RedisRevocationStore {
    fn check(&self, token: &RevocationCheck<'_>) -> Option<RevokedBy> {
        self.shared.mirror.check(token)
    }

    fn revoke(
        &self,
        revocation: Revocation,
        actor: Option<&str>,
    ) -> Result<Revocation, RevocationError> {
        let stored = self.shared.mirror.revoke(revocation, actor)?;
        self.ops
            .send(Op::Revoke(stored.clone(), actor.map(str::to_owned)))
            .map_err(|_| RevocationError::Store("the Redis store's task has stopped".into()))?;
        Ok(stored)
    }

    fn unrevoke(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Option<Revocation>, RevocationError> {
        let iss = if by == RevokedBy::Jti { None } else { iss };
        let removed = self.shared.mirror.unrevoke(by, value, iss, actor)?;
        self.ops
            .send(Op::Unrevoke(
                by,
                value.to_owned(),
                iss.map(str::to_owned),
                actor.map(str::to_owned),
            ))
            .map_err(|_| RevocationError::Store("the Redis store's task has stopped".into()))?;
        Ok(removed)
    }

    fn list(&self) -> Vec<Revocation> {
        self.shared.mirror.list()
    }

    fn observe(&self, key: usize, observer: RevocationObserver) -> bool {
        self.shared.mirror.observe(key, observer)
    }

    fn usable(&self) -> bool {
        self.shared.usable()
    }

    fn health(&self) -> Option<RevocationHealth> {
        Some(RevocationHealth {
            store: "redis",
            connected: self.shared.connected.load(Ordering::Acquire),
            synced: self.shared.synced.load(Ordering::Acquire),
            stale_secs: self.shared.stale_for().as_secs(),
            usable: self.shared.usable(),
            entries: self.shared.mirror.len(),
        })
    }
}

/// The background task: connect, resynchronise, follow the channel; on any
/// failure, wait and start again. Ends when the store is dropped.
async fn run(client: redis::Client, shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Op>) {
    let mut pending: VecDeque<Op> = VecDeque::new();
    let mut backoff = MIN_BACKOFF;
    loop {
        match session(&client, &shared, &mut rx, &mut pending, &mut backoff).await {
            Ok(()) => return,
            Err(e) => shared.mark_down(&e),
        }
        let sleep = tokio::time::sleep(backoff);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                op = rx.recv() => match op {
                    Some(op) => pending.push_back(op),
                    None => return,
                },
            }
        }
        shared.log_if_stale();
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn io_error(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// One connection's life. `Ok` when the store was dropped; `Err` when Redis
/// failed.
async fn session(
    client: &redis::Client,
    shared: &Shared,
    rx: &mut mpsc::UnboundedReceiver<Op>,
    pending: &mut VecDeque<Op>,
    backoff: &mut Duration,
) -> redis::RedisResult<()> {
    let timeout = shared.options.check_interval.max(Duration::from_secs(1));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&connection_config(timeout))
        .await?;
    let pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
        .await
        .map_err(|_| io_error("connecting for pub/sub timed out"))??;
    let (mut sink, mut stream) = pubsub.split();
    // Subscribed before reading the set: no change falls between the two.
    tokio::time::timeout(timeout, sink.subscribe(&shared.names.channel))
        .await
        .map_err(|_| io_error("subscribing timed out"))??;
    flush(&mut conn, shared, pending).await?;
    let all = read_all(&mut conn, &shared.names).await?;
    shared.mirror.replace_all(&all);
    shared.mark_up(all.len());
    *backoff = MIN_BACKOFF;
    let mut tick = tokio::time::interval(shared.options.check_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(msg) => match msg.get_payload::<String>() {
                    Ok(payload) => shared.apply_message(&payload),
                    Err(e) => tracing::warn!(error = %e, "revocation store: unreadable message; ignored"),
                },
                None => return Err(io_error("the pub/sub connection closed")),
            },
            op = rx.recv() => match op {
                Some(op) => {
                    pending.push_back(op);
                    flush(&mut conn, shared, pending).await?;
                }
                None => return Ok(()),
            },
            _ = tick.tick() => {
                redis::cmd("PING").query_async::<String>(&mut conn).await?;
                tokio::time::timeout(timeout, sink.ping::<redis::Value>())
                    .await
                    .map_err(|_| io_error("pub/sub ping timed out"))??;
                shared.touch();
            }
        }
    }
}

/// Writes the changes made through the trait, oldest first; each is also
/// applied to the mirror again (silently), in case a resynchronisation
/// replaced the mirror before the change reached Redis.
async fn flush(
    conn: &mut MultiplexedConnection,
    shared: &Shared,
    pending: &mut VecDeque<Op>,
) -> redis::RedisResult<()> {
    let margin = shared.options.expiry_margin;
    while let Some(op) = pending.front() {
        match op {
            Op::Revoke(r, actor) => {
                write_revoke(
                    conn,
                    &shared.names,
                    r,
                    actor.as_deref(),
                    &shared.origin,
                    margin,
                )
                .await?;
                shared
                    .mirror
                    .apply(std::slice::from_ref(r), None, SystemTime::now(), false);
            }
            Op::Unrevoke(by, value, iss, actor) => {
                write_unrevoke(
                    conn,
                    &shared.names,
                    (*by, value, iss.as_deref()),
                    actor.as_deref(),
                    &shared.origin,
                )
                .await?;
                let _ = shared
                    .mirror
                    .remove(*by, value, iss.as_deref(), None, false);
            }
        }
        pending.pop_front();
    }
    Ok(())
}
