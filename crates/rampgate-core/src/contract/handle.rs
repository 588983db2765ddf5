//! The live contract: held in an `ArcSwap`, replaced atomically on reload.

use super::{Contract, ContractDiff, ContractErrors, VersionError};
use crate::sync::lock;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
}

struct Inner {
    current: ArcSwap<Contract>,
    path: Option<PathBuf>,
    last_text: Mutex<Option<String>>,
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
            path: None,
            last_text: Mutex::new(None),
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
            path: Some(path),
            last_text: Mutex::new(Some(text)),
        })))
    }

    /// The contract in force.
    pub fn current(&self) -> Arc<Contract> {
        self.0.current.load_full()
    }

    /// Applies `new` if it is a valid successor of the current contract.
    pub fn apply(&self, new: Contract) -> Result<ContractDiff, ReloadError> {
        let old = self.current();
        let diff = ContractDiff::between(&old, &new);
        if let Err(why) = diff.check() {
            tracing::error!(
                from_version = old.version(),
                to_version = new.version(),
                error = %why,
                "contract change refused; the previous contract keeps serving"
            );
            return Err(ReloadError::VersionNotIncreased(why));
        }
        if !diff.is_empty() || new.version() != old.version() {
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
                widened = diff.changes.iter().filter(|c| c.kind == super::ChangeKind::Widened).count(),
                narrowed = diff.changes.iter().filter(|c| c.kind == super::ChangeKind::Narrowed).count(),
                changes = ?changes,
                "contract applied"
            );
            self.0.current.store(Arc::new(new));
        }
        Ok(diff)
    }

    /// Re-reads the contract file and applies it. `Ok(None)` when the file is
    /// unchanged.
    pub fn reload(&self) -> Result<Option<ContractDiff>, ReloadError> {
        let path = self.0.path.as_ref().ok_or(ReloadError::NoFile)?;
        let result = self.reload_from(path);
        match &result {
            // `apply` already said why it refused a version change.
            Err(ReloadError::VersionNotIncreased(_)) | Ok(_) => {}
            Err(e) => tracing::error!(
                file = %path.display(),
                error = %e,
                "contract reload refused; the previous contract keeps serving"
            ),
        }
        result
    }

    fn reload_from(&self, path: &Path) -> Result<Option<ContractDiff>, ReloadError> {
        let text = read(path)?;
        {
            let last = lock(&self.0.last_text);
            if last.as_deref() == Some(text.as_str()) {
                return Ok(None);
            }
        }
        let result = Contract::parse(&text)
            .map_err(ReloadError::Invalid)
            .and_then(|new| self.apply(new));
        // Remember even a refused text, so that it is reported once, not every poll.
        *lock(&self.0.last_text) = Some(text);
        result.map(Some)
    }

    /// Polls the contract file every `period` and reloads it when it changes.
    /// The task ends when every clone of the handle is dropped. Needs a tokio
    /// runtime.
    pub fn watch(&self, period: Duration) {
        let weak = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let _ = ContractHandle(inner).reload();
            }
        });
    }
}

fn read(path: &Path) -> Result<String, ReloadError> {
    std::fs::read_to_string(path).map_err(|source| ReloadError::Read {
        path: path.display().to_string(),
        source,
    })
}
