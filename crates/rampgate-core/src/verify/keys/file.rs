//! Keys read from a JWK Set file, and the task that re-reads the file when its
//! modification time or length changes.
//!
//! A file that becomes unreadable or invalid keeps the last good keys serving:
//! the failure is logged at `warn` and counted once per change of the file,
//! not at every poll.

use super::{IssuerKeys, JwksOptions, KeySet, check_set};
use crate::error::{Error, Result};
use crate::sync::lock;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};
use tokio::task::AbortHandle;

/// What is compared between two polls: modification time and length, or why
/// the file could not be looked at.
type Stamp = std::result::Result<(SystemTime, u64), std::io::ErrorKind>;

/// A JWKS file and what was last seen of it.
pub(super) struct FileWatch {
    path: PathBuf,
    interval: Duration,
    last: Mutex<Stamp>,
    poller: Mutex<Option<AbortHandle>>,
}

fn stamp(path: &Path) -> Stamp {
    // `metadata` follows symlinks, so a Kubernetes-style swap of the link's
    // target is seen as a change of the file.
    let meta = std::fs::metadata(path).map_err(|e| e.kind())?;
    Ok((meta.modified().map_err(|e| e.kind())?, meta.len()))
}

/// Reads and parses the file; skipped entries are logged.
fn read(issuer: &str, path: &Path) -> Result<KeySet> {
    let cfg = |msg: String| Error::config(format!("issuer {issuer:?}: {msg}"));
    let bytes = std::fs::read(path)
        .map_err(|e| cfg(format!("cannot read JWKS file {}: {e}", path.display())).caused_by(e))?;
    let (set, skipped) = KeySet::from_jwks_json(&bytes)
        .map_err(|e| cfg(format!("JWKS file {}: {e}", path.display())).caused_by(e))?;
    for s in &skipped {
        tracing::warn!(issuer = %issuer, file = %path.display(), kid = ?s.kid, reason = %s.reason, "JWK skipped");
    }
    check_set(issuer, &set)?;
    Ok(set)
}

impl FileWatch {
    /// Reads the file for the first time. Any failure is a configuration error.
    pub(super) fn load(
        issuer: &str,
        path: PathBuf,
        options: &JwksOptions,
    ) -> Result<(KeySet, FileWatch)> {
        // Looked at before reading: a change in between is seen at the next poll.
        let last = stamp(&path);
        let set = read(issuer, &path)?;
        let watch = FileWatch {
            path,
            interval: options.file_poll_interval,
            last: Mutex::new(last),
            poller: Mutex::new(None),
        };
        Ok((set, watch))
    }

    pub(super) fn stop(&self) {
        if let Some(poller) = lock(&self.poller).take() {
            poller.abort();
        }
    }
}

impl IssuerKeys {
    /// Starts re-reading a JWKS file on change, every `file_poll_interval`
    /// (not at all when it is zero). Without a tokio runtime there is no task to
    /// run it: the keys read at build time keep serving, and a warning says so.
    pub(super) fn watch_file(self: &Arc<Self>) {
        let Some(watcher) = self.file_watcher() else {
            return;
        };
        let Some(file) = &self.file else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = runtime.spawn(watcher);
                *lock(&file.poller) = Some(task.abort_handle());
            }
            Err(_) => tracing::warn!(
                issuer = %self.issuer,
                file = %file.path.display(),
                "no tokio runtime when the verifier was built: the JWKS file will not be re-read when it changes"
            ),
        }
    }

    /// The task that re-reads the JWKS file on change, every
    /// `file_poll_interval`, until the keys are dropped: `None` without a
    /// file or with a zero interval.
    pub(crate) fn file_watcher(self: &Arc<Self>) -> Option<crate::sync::Task> {
        let file = self.file.as_ref()?;
        if file.interval.is_zero() {
            return None;
        }
        Some(Box::pin(poll(Arc::downgrade(self), file.interval)))
    }

    /// Re-reads the JWKS file if it changed since the last look. Returns
    /// whether new keys were swapped in.
    pub(crate) fn reload_file_if_changed(&self) -> bool {
        let Some(file) = &self.file else { return false };
        let now = stamp(&file.path);
        {
            let mut last = lock(&file.last);
            if *last == now {
                return false;
            }
            // Remembered even when the reload fails, so that a broken file is
            // reported once, not at every poll.
            *last = now;
        }
        let result = match now {
            Err(kind) => Err(Error::config(format!(
                "issuer {:?}: cannot read JWKS file {}: {}",
                self.issuer,
                file.path.display(),
                std::io::Error::from(kind)
            ))),
            Ok(_) => read(&self.issuer, &file.path),
        };
        match result {
            Ok(set) => {
                self.log_changes(&set, None);
                self.counters.success(&self.issuer, set.len());
                self.snapshot.store(Arc::new(super::Snapshot::loaded(set)));
                true
            }
            Err(e) => {
                self.counters.failure(&self.issuer, &e);
                tracing::warn!(
                    issuer = %self.issuer,
                    file = %file.path.display(),
                    error = %e,
                    "JWKS file reload failed; keeping the last good keys"
                );
                false
            }
        }
    }
}

/// Looks at the file every `interval` until the keys are dropped.
async fn poll(keys: Weak<IssuerKeys>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(keys) = keys.upgrade() else { return };
        // A JWKS file is small: reading it inline costs less than a hop to the
        // blocking pool.
        keys.reload_file_if_changed();
    }
}
