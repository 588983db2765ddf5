//! The live contract: held in an `ArcSwap`, replaced atomically on reload.

use super::{ChangeNote, Contract, ContractDiff, ContractDigest, ContractErrors, VersionError};
use crate::sync::lock;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::task::AbortHandle;

/// Why a new contract was not applied. The previous contract keeps serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The new contract is invalid.
    #[error("{0}")]
    Invalid(ContractErrors),
    /// The new contract changes access without a higher version.
    #[error("{0}")]
    VersionNotIncreased(VersionError),
    /// The handle was made from a value, not a file.
    #[error("this contract was not loaded from a file")]
    NoFile,
    /// [`ContractHandle::watch`] was called outside a tokio runtime, where no
    /// task can run the watcher.
    #[error("watching a contract file needs a tokio runtime: call watch from inside one")]
    NoRuntime,
    /// [`ContractHandle::watch`] was given a zero period.
    #[error("the watch period must be positive")]
    ZeroPeriod,
}

/// What became of a contract change, as told to the observers registered with
/// [`ContractHandle::observe`] (the audit trail of reloads).
///
/// `sha256` is the digest of the contract file's bytes as the handle read
/// them, when the change came from the file ([`ContractHandle::reload`], the
/// watcher); `None` for a contract given as a value
/// ([`ContractHandle::apply`]) and for a file that could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ContractEvent<'a> {
    /// A new contract was applied; the diff says what widened or narrowed,
    /// from which version to which, and the new version's own change note.
    #[non_exhaustive]
    Applied {
        /// What changed.
        diff: &'a ContractDiff,
        /// The digest of the applied file.
        sha256: Option<ContractDigest>,
    },
    /// A new contract was refused; the previous one keeps serving.
    #[non_exhaustive]
    Refused {
        /// The refused contract's version, when it could be read.
        version: Option<u64>,
        /// The version in force, which keeps serving.
        previous_version: u64,
        /// Why it was refused.
        error: &'a ReloadError,
        /// The digest of the refused file.
        sha256: Option<ContractDigest>,
        /// The refused contract's `[change]` note, when it could be parsed
        /// and has one.
        change: Option<&'a ChangeNote>,
    },
}

type Observer = Arc<dyn Fn(&ContractEvent<'_>) + Send + Sync>;

struct Inner {
    current: ArcSwap<Contract>,
    /// Called on every applied or refused change (rare: a lock is fine).
    observers: Mutex<Vec<Observer>>,
    path: Option<PathBuf>,
    last_text: Mutex<Option<String>>,
    /// The watcher started by [`ContractHandle::watch`]: it lives as
    /// long as the handle. Its task holds only a `Weak` to this, so there is no
    /// cycle, and dropping the last handle drops, hence stops, the watcher.
    watcher: Mutex<Option<ContractWatch>>,
}

/// A running watcher of a contract file, from [`ContractHandle::watch_scoped`].
///
/// The watcher stops when this is dropped or [`stop`](ContractWatch::stop)ped,
/// and when every clone of the handle is gone. Keep it for as long as the file
/// should be watched (next to the server, say); to tie the watcher to the
/// handle instead, so that it cannot be dropped by mistake, use
/// [`ContractHandle::watch`].
#[derive(Debug)]
#[must_use = "the watcher stops when its ContractWatch is dropped: keep it, or use ContractHandle::watch"]
pub struct ContractWatch {
    task: AbortHandle,
    period: Duration,
}

impl ContractWatch {
    /// Stops the watcher; the contract in force stays. Dropping the watch
    /// does the same.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Whether the watcher still runs: not stopped, and the handle alive.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// How often the file is checked.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl Drop for ContractWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The contract a service enforces now: cheap to clone, lock-free to read, and
/// reloadable without a restart (from its file, on demand or by a poller).
///
/// A new contract is applied only if it is valid and, when it changes anything,
/// has a higher `version`. Every applied change emits one `tracing` event with the
/// old and new versions and what widened or narrowed; every refusal emits an error
/// event saying why, and the old contract keeps serving.
#[derive(Clone)]
pub struct ContractHandle(Arc<Inner>);

impl std::fmt::Debug for ContractHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractHandle")
            .field("version", &self.current().version())
            .field("path", &self.0.path)
            .finish()
    }
}

impl ContractHandle {
    /// A handle holding `contract` (not reloadable from a file).
    pub fn new(contract: Contract) -> Self {
        ContractHandle(Arc::new(Inner {
            current: ArcSwap::from_pointee(contract),
            observers: Mutex::new(Vec::new()),
            path: None,
            last_text: Mutex::new(None),
            watcher: Mutex::new(None),
        }))
    }

    /// Loads the contract file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ReloadError> {
        let path = path.as_ref().to_path_buf();
        let text = read(&path)?;
        let contract = Contract::parse(&text).map_err(ReloadError::Invalid)?;
        tracing::info!(file = %path.display(), version = contract.version(), "contract loaded");
        Ok(ContractHandle(Arc::new(Inner {
            current: ArcSwap::from_pointee(contract),
            observers: Mutex::new(Vec::new()),
            path: Some(path),
            last_text: Mutex::new(Some(text)),
            watcher: Mutex::new(None),
        })))
    }

    /// Calls `observer` on every change applied to or refused by this handle
    /// from now on (by [`apply`](Self::apply), [`reload`](Self::reload) or the
    /// watcher), after the change took effect, on the thread that made it. An
    /// observer must be quick and must not call back into this handle's
    /// `observe`; `rampgate_core::audit::Auditor::watch_contract` is one.
    pub fn observe(&self, observer: impl Fn(&ContractEvent<'_>) + Send + Sync + 'static) {
        lock(&self.0.observers).push(Arc::new(observer));
    }

    fn notify(&self, event: &ContractEvent<'_>) {
        // Cloned out, so that an observer runs without the lock held.
        let observers: Vec<Observer> = lock(&self.0.observers).clone();
        for observer in observers {
            observer(event);
        }
    }

    /// The contract in force.
    pub fn current(&self) -> Arc<Contract> {
        self.0.current.load_full()
    }

    /// Applies `new` if it is a valid successor of the current contract.
    ///
    /// The contract is swapped in only over the one it was diffed against
    /// (compare-and-swap): if another apply or reload got in first, `new` is
    /// diffed and checked again against that one, so a concurrent reload of an
    /// older version can never replace a newer one.
    pub fn apply(&self, new: Contract) -> Result<ContractDiff, ReloadError> {
        self.apply_digested(new, None)
    }

    /// [`apply`](Self::apply), telling the observers the digest of the file
    /// `new` was parsed from.
    fn apply_digested(
        &self,
        new: Contract,
        sha256: Option<ContractDigest>,
    ) -> Result<ContractDiff, ReloadError> {
        let new = Arc::new(new);
        let mut old = self.current();
        loop {
            let diff = ContractDiff::between(&old, &new);
            if let Err(why) = diff.check() {
                tracing::error!(
                    from_version = old.version(),
                    to_version = new.version(),
                    error = %why,
                    "contract change refused; the previous contract keeps serving"
                );
                let error = ReloadError::VersionNotIncreased(why);
                self.notify(&ContractEvent::Refused {
                    version: Some(new.version()),
                    previous_version: old.version(),
                    error: &error,
                    sha256,
                    change: new.change_note(),
                });
                return Err(error);
            }
            if diff.is_empty() && new.version() == old.version() {
                return Ok(diff);
            }
            let previous = self.0.current.compare_and_swap(&old, Arc::clone(&new));
            if !Arc::ptr_eq(&previous, &old) {
                // Someone else applied a contract since we read `old`.
                old = arc_swap::Guard::into_inner(previous);
                continue;
            }
            log_applied(&diff);
            self.notify(&ContractEvent::Applied {
                diff: &diff,
                sha256,
            });
            return Ok(diff);
        }
    }

    /// Re-reads the contract file and applies it. `Ok(None)` when the file is
    /// unchanged.
    pub fn reload(&self) -> Result<Option<ContractDiff>, ReloadError> {
        let path = self.0.path.as_ref().ok_or(ReloadError::NoFile)?;
        let text = match read(path) {
            Ok(text) => text,
            Err(e) => {
                self.refused(path, &e, None);
                return Err(e);
            }
        };
        {
            let last = lock(&self.0.last_text);
            if last.as_deref() == Some(text.as_str()) {
                return Ok(None);
            }
        }
        let sha256 = Some(ContractDigest::of(text.as_bytes()));
        // `apply` says itself why it refuses a version change.
        let result = match Contract::parse(&text) {
            Ok(new) => self.apply_digested(new, sha256),
            Err(errors) => {
                let e = ReloadError::Invalid(errors);
                self.refused(path, &e, sha256);
                Err(e)
            }
        };
        // Remember even a refused text, so that it is reported once, not every poll.
        *lock(&self.0.last_text) = Some(text);
        result.map(Some)
    }

    /// Logs and tells the observers that the file at `path` was refused
    /// before it could be diffed (unreadable or invalid).
    fn refused(&self, path: &Path, error: &ReloadError, sha256: Option<ContractDigest>) {
        tracing::error!(
            file = %path.display(),
            error = %error,
            "contract reload refused; the previous contract keeps serving"
        );
        self.notify(&ContractEvent::Refused {
            version: None,
            previous_version: self.current().version(),
            error,
            sha256,
            change: None,
        });
    }

    /// Starts a task that re-reads the contract file every `period` and
    /// applies it when it changed (as [`reload`](ContractHandle::reload) does).
    ///
    /// The watcher runs until the returned [`ContractWatch`] is stopped or
    /// **dropped**, or every clone of the handle is gone: `let _ =
    /// handle.watch_scoped(..)` stops it at once. To keep it for as long as the
    /// handle lives, use [`watch`](ContractHandle::watch).
    ///
    /// # Errors
    ///
    /// [`ReloadError::NoRuntime`] outside a tokio runtime,
    /// [`ReloadError::NoFile`] for a handle not loaded from a file,
    /// [`ReloadError::ZeroPeriod`] for a zero `period`.
    pub fn watch_scoped(&self, period: Duration) -> Result<ContractWatch, ReloadError> {
        let watcher = self.watcher(period)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ReloadError::NoRuntime)?;
        let task = runtime.spawn(watcher);
        Ok(ContractWatch {
            task: task.abort_handle(),
            period,
        })
    }

    /// The watcher of [`watch_scoped`](ContractHandle::watch_scoped) as a
    /// future the caller runs where it likes (its own runtime, a `JoinSet`, a
    /// test's `select!`), in the manner of tower's `Buffer::pair`: it
    /// re-reads the file every `period`, applies it when it changed, and ends
    /// when every clone of the handle is gone. Needs no runtime to be made.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() {
    /// use rampgate_core::contract::ContractHandle;
    /// use std::time::Duration;
    ///
    /// let handle = ContractHandle::from_file("contract.toml").unwrap();
    /// let watcher = handle.watcher(Duration::from_secs(5)).unwrap();
    /// let task = tokio::spawn(watcher); // or run it on a runtime of your own
    /// # drop(task);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ReloadError::NoFile`] for a handle not loaded from a file,
    /// [`ReloadError::ZeroPeriod`] for a zero `period`.
    pub fn watcher(&self, period: Duration) -> Result<crate::BackgroundTasks, ReloadError> {
        if self.0.path.is_none() {
            return Err(ReloadError::NoFile);
        }
        if period.is_zero() {
            return Err(ReloadError::ZeroPeriod);
        }
        let task: crate::sync::Task = Box::pin(watch(Arc::downgrade(&self.0), period));
        Ok(crate::sync::Tasks::new(vec![task]))
    }

    /// Starts a task that re-reads the contract file every `period` and
    /// applies it when it changed (as [`reload`](ContractHandle::reload) does),
    /// for as long as the handle (any clone of it) lives: the watcher is kept
    /// in the handle, so no guard can be dropped by mistake. A second call
    /// replaces the watcher (with the new `period`);
    /// [`stop_watching`](ContractHandle::stop_watching) ends it.
    ///
    /// # Errors
    ///
    /// As [`watch_scoped`](ContractHandle::watch_scoped); a running watcher is
    /// then kept.
    pub fn watch(&self, period: Duration) -> Result<(), ReloadError> {
        let watch = self.watch_scoped(period)?;
        // The replaced watcher, if any, stops when dropped here.
        let _previous = lock(&self.0.watcher).replace(watch);
        Ok(())
    }

    /// Stops the watcher started by [`watch`](ContractHandle::watch),
    /// if any. Returns whether one was running.
    pub fn stop_watching(&self) -> bool {
        lock(&self.0.watcher)
            .take()
            .is_some_and(|watch| watch.is_running())
    }

    /// Whether a watcher started by [`watch`](ContractHandle::watch)
    /// runs.
    pub fn is_watching(&self) -> bool {
        lock(&self.0.watcher)
            .as_ref()
            .is_some_and(ContractWatch::is_running)
    }
}

/// The watcher's task: reloads every `period` until the handle is gone (or
/// the task is aborted by its [`ContractWatch`]).
async fn watch(weak: Weak<Inner>, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(inner) = weak.upgrade() else { return };
        // `reload` logs its own refusals; the old contract keeps serving.
        let _ = ContractHandle(inner).reload();
    }
}

/// The one event of an applied change: versions and what widened or narrowed.
fn log_applied(diff: &ContractDiff) {
    let changes: Vec<String> = diff
        .changes
        .iter()
        .map(|c| {
            let kind = match c.kind {
                super::ChangeKind::Widened => "widened",
                super::ChangeKind::Narrowed => "narrowed",
                super::ChangeKind::Neutral => "neutral",
            };
            format!("{kind} {}: {}", c.subject, c.detail)
        })
        .collect();
    tracing::info!(
        from_version = diff.from_version,
        to_version = diff.to_version,
        widened = diff
            .changes
            .iter()
            .filter(|c| c.kind == super::ChangeKind::Widened)
            .count(),
        narrowed = diff
            .changes
            .iter()
            .filter(|c| c.kind == super::ChangeKind::Narrowed)
            .count(),
        changes = ?changes,
        "contract applied"
    );
}

fn read(path: &Path) -> Result<String, ReloadError> {
    std::fs::read_to_string(path).map_err(|source| ReloadError::Read {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A contract of `version` with enough routes that diffing takes a while,
    /// so that two concurrent applies overlap.
    fn contract(version: u64, stage: &str) -> Contract {
        let mut text = format!(
            "version = {version}\n[scopes]\n\"read\" = \"r\"\n\"write\" = \"w\"\n[[consumers]]\nclient_id = \"web\"\nstage = \"{stage}\"\nstages = [{{ name = \"pilot\", scopes = [\"read\"] }}, {{ name = \"ga\", scopes = [\"read\", \"write\"] }}]\n"
        );
        for i in 0..200 {
            text.push_str(&format!(
                "[[routes]]\nmethod = \"GET\"\npath = \"/r{i}\"\nscopes = [\"read\"]\n"
            ));
        }
        Contract::parse(&text).unwrap()
    }

    #[test]
    fn concurrent_applies_never_downgrade_the_contract() {
        let (v2, v3) = (contract(2, "ga"), contract(3, "pilot"));
        for round in 0..300 {
            let handle = ContractHandle::new(contract(1, "pilot"));
            let barrier = std::sync::Barrier::new(2);
            let (r2, r3) = std::thread::scope(|s| {
                let apply = |c: &Contract| {
                    let (handle, barrier, c) = (handle.clone(), &barrier, c.clone());
                    s.spawn(move || {
                        barrier.wait();
                        handle.apply(c).map(|d| d.to_version)
                    })
                };
                let (a, b) = if round % 2 == 0 {
                    (apply(&v2), apply(&v3))
                } else {
                    let b = apply(&v3);
                    (apply(&v2), b)
                };
                (a.join().unwrap(), b.join().unwrap())
            });
            assert_eq!(
                handle.current().version(),
                3,
                "round {round}: {r2:?} {r3:?}"
            );
            assert_eq!(r3.unwrap(), 3);
            // v2 is applied only if it came first; over v3 it is refused.
            if let Err(e) = r2 {
                assert!(matches!(e, ReloadError::VersionNotIncreased(_)), "{e}");
            }
        }
    }

    #[test]
    fn an_older_version_is_refused_over_a_newer_one() {
        let handle = ContractHandle::new(contract(1, "pilot"));
        handle.apply(contract(3, "pilot")).unwrap();
        let err = handle.apply(contract(2, "ga")).unwrap_err();
        assert!(matches!(err, ReloadError::VersionNotIncreased(_)), "{err}");
        assert_eq!(handle.current().version(), 3);
    }
}
