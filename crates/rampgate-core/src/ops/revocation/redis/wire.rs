//! What Redis holds and the channel carries, and the commands that write
//! and read it: shared by the store's task and the one-off client.

use super::super::Revocation;
use super::options::RedisStoreError;
use crate::escape_control;
use crate::reason::RevokedBy;
use redis::aio::MultiplexedConnection;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many keys one `SCAN` step and one `MGET` ask for.
pub(super) const BATCH: usize = 1000;

/// A revocation as Redis holds it and the channel carries it: instants in
/// seconds since the epoch.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Wire {
    pub(super) by: RevokedBy,
    pub(super) value: String,
    #[serde(default)]
    pub(super) iss: Option<String>,
    #[serde(default)]
    pub(super) issued_before: Option<f64>,
    #[serde(default)]
    pub(super) until: Option<f64>,
}

impl Wire {
    pub(super) fn from_revocation(r: &Revocation) -> Self {
        Wire {
            by: r.by,
            value: r.value.clone(),
            iss: r.iss.clone(),
            issued_before: r.issued_before.map(epoch_secs),
            until: r.until.map(epoch_secs),
        }
    }

    pub(super) fn into_revocation(self) -> Option<Revocation> {
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
pub(super) struct Message {
    /// `revoke` or `unrevoke`.
    pub(super) op: String,
    pub(super) r: Wire,
    #[serde(default)]
    pub(super) actor: Option<String>,
    /// The store that made it (a random id per store), so that it does not
    /// apply and report its own change twice.
    #[serde(default)]
    pub(super) origin: String,
}

pub(super) const OP_REVOKE: &str = "revoke";
pub(super) const OP_UNREVOKE: &str = "unrevoke";

pub(super) fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The instant `s` seconds after the epoch; past the latest `SystemTime`
/// (`i64::MAX` seconds, which `f64` rounds up), that latest instant.
pub(super) fn from_epoch_secs(s: f64) -> Option<SystemTime> {
    let d = Duration::try_from_secs_f64(s).ok()?;
    UNIX_EPOCH
        .checked_add(d)
        .or_else(|| UNIX_EPOCH.checked_add(Duration::from_secs(u64::MAX >> 1)))
}

pub(super) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The URL with any password (userinfo or `pass`/`password` query
/// parameter) replaced, for messages and logs.
pub(super) fn redact(url: &str) -> String {
    crate::redact_url(url)
}

/// Keys and channel of one prefix.
#[derive(Debug, Clone)]
pub(super) struct Names {
    pub(super) prefix: String,
    pub(super) channel: String,
}

impl Names {
    pub(super) fn new(prefix: &str) -> Self {
        Names {
            prefix: prefix.to_owned(),
            channel: format!("{prefix}:changes"),
        }
    }

    /// The key of the revocation of `value` of kind `by` for `iss`.
    pub(super) fn key(&self, by: RevokedBy, value: &str, iss: Option<&str>) -> String {
        let mut h = Sha256::new();
        h.update(by.as_str().as_bytes());
        h.update([0]);
        h.update(iss.unwrap_or("").as_bytes());
        h.update([u8::from(iss.is_some())]);
        h.update(value.as_bytes());
        let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:rev:{digest}", self.prefix)
    }

    /// The `SCAN MATCH` pattern of every key: the prefix with its glob
    /// characters escaped, so that it matches itself only.
    pub(super) fn pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 6);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(":rev:*");
        pattern
    }
}

pub(super) fn open_client(url: &str) -> Result<redis::Client, RedisStoreError> {
    redis::Client::open(url).map_err(|e| RedisStoreError::InvalidUrl {
        url: redact(url),
        reason: e.to_string(),
    })
}

pub(super) fn connection_config(timeout: Duration) -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

pub(super) fn unreachable(url: &str, e: &redis::RedisError) -> RedisStoreError {
    RedisStoreError::Unreachable {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

pub(super) fn new_origin() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `SET` with the entry's expiry and `PUBLISH`, in one transaction.
pub(super) async fn write_revoke(
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
    if let Some(ms) = r.until.and_then(|until| expire_at_ms(until, margin)) {
        set.arg("PXAT").arg(ms);
    }
    set.ignore();
    pipe.cmd("PUBLISH")
        .arg(&names.channel)
        .arg(message)
        .ignore();
    pipe.query_async::<()>(conn).await
}

/// The latest instant Redis is given as an expiry (the end of year 9999):
/// anything later is kept without one, as Redis refuses expiries past what
/// its clock arithmetic holds.
const MAX_EXPIRE_AT_MS: u64 = 253_402_300_799_000;

/// When Redis drops an entry ending at `until`: `until` plus the margin, in
/// ms since the epoch; `None` (no expiry) when that is past
/// [`MAX_EXPIRE_AT_MS`] or does not fit in a `SystemTime`.
pub(super) fn expire_at_ms(until: SystemTime, margin: Duration) -> Option<u64> {
    let drop_at = until.checked_add(margin)?;
    let ms = drop_at
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    (ms <= MAX_EXPIRE_AT_MS).then_some(ms.max(1))
}

pub(super) fn message(op: &str, r: Wire, actor: Option<&str>, origin: &str) -> String {
    let m = Message {
        op: op.to_owned(),
        r,
        actor: actor.map(str::to_owned),
        origin: origin.to_owned(),
    };
    serde_json::to_string(&m).unwrap_or_default()
}

/// `GETDEL` and `PUBLISH`, in one transaction, so that no revocation of
/// the same entry can fall between the two. Published even when Redis held
/// nothing (the entry may have expired there first): every mirror drops the
/// entry of that kind, value and issuer all the same.
pub(super) async fn write_unrevoke(
    conn: &mut MultiplexedConnection,
    names: &Names,
    (by, value, iss): (RevokedBy, &str, Option<&str>),
    actor: Option<&str>,
    origin: &str,
) -> redis::RedisResult<Option<Revocation>> {
    let key = names.key(by, value, iss);
    let mut named = Revocation::new(by, value);
    named.iss = iss.map(str::to_owned);
    let message = message(OP_UNREVOKE, Wire::from_revocation(&named), actor, origin);
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("GETDEL").arg(&key);
    pipe.cmd("PUBLISH")
        .arg(&names.channel)
        .arg(message)
        .ignore();
    let (old,): (Option<Vec<u8>>,) = pipe.query_async(conn).await?;
    Ok(old
        .and_then(|s| serde_json::from_slice::<Wire>(&s).ok())
        .and_then(Wire::into_revocation))
}

/// What [`read_all`] found under the prefix.
#[derive(Debug, Default)]
pub(super) struct ReadAll {
    pub(super) revocations: Vec<Revocation>,
    /// Entries that are not revocations (not UTF-8, not JSON, or not one of
    /// ours), skipped with a warning each.
    pub(super) skipped: u64,
}

/// Every revocation under the prefix: `SCAN`, then `MGET` by batches, as
/// bytes. An entry that does not parse (written by something else) is
/// skipped with a warning and counted, never failing the whole read.
pub(super) async fn read_all(
    conn: &mut MultiplexedConnection,
    names: &Names,
) -> redis::RedisResult<ReadAll> {
    let pattern = names.pattern();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
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
    let mut out = ReadAll::default();
    for chunk in keys.chunks(BATCH) {
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(chunk).query_async(conn).await?;
        for (key, value) in chunk.iter().zip(values) {
            let Some(value) = value else { continue };
            match serde_json::from_slice::<Wire>(&value)
                .ok()
                .and_then(Wire::into_revocation)
            {
                Some(r) => out.revocations.push(r),
                None => {
                    out.skipped = out.skipped.saturating_add(1);
                    tracing::warn!(
                        key = &*escape_control(&String::from_utf8_lossy(key)),
                        value = &*escape_control(&String::from_utf8_lossy(&value)),
                        "revocation store: an entry in Redis is not a revocation; skipped (delete the key, or use another prefix for other data)"
                    );
                }
            }
        }
    }
    Ok(out)
}
