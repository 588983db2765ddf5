//! The key material of one issuer, with one owner: [`IssuerKeys`] holds the
//! current key set, knows when it is too stale to use, and runs the refresh
//! protocol of a remote set (single-flight fetches, the unknown-`kid` cooldown,
//! forced refreshes, the counters). The verifier only asks it for a key.
//!
//! - `source`: where keys come from ([`KeySource`], [`JwksOptions`]) and [`KeyStats`].
//! - `set`: [`KeySet`] and the parsing of JWK Set documents.
//! - `remote`: the HTTP fetcher, OIDC discovery and the background poller
//!   (feature `remote-jwks`; without it, a stand-in that refuses remote sources).
//! - `file`: a JWKS file, and the task that re-reads it when it changes.

mod file;
mod set;
mod source;

#[cfg(feature = "remote-jwks")]
mod remote;
#[cfg(not(feature = "remote-jwks"))]
#[path = "no_remote.rs"]
mod remote;

pub(crate) use remote::HttpClient;
pub use set::{KeySet, SkippedKey};
pub use source::{IssuerHealth, JwksOptions, KeySource, KeyStats};

use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::key::Key;
use crate::sync::lock;
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::AbortHandle;

/// The keys held at one moment.
#[derive(Debug, Default)]
struct Snapshot {
    set: KeySet,
    /// When the set was loaded; `None` when nothing was ever loaded.
    loaded_at: Option<Instant>,
    /// The same moment on the wall clock, for [`KeyStats`].
    loaded_wall: Option<SystemTime>,
}

impl Snapshot {
    fn loaded(set: KeySet) -> Snapshot {
        Snapshot {
            set,
            loaded_at: Some(Instant::now()),
            loaded_wall: Some(SystemTime::now()),
        }
    }
}

/// One issuer's keys: static, read from a file, or fetched and kept fresh.
pub(crate) struct IssuerKeys {
    /// The issuer's `iss`, for log events.
    issuer: String,
    snapshot: ArcSwap<Snapshot>,
    /// `None` for static and file keys, which are never fetched nor go stale.
    refresher: Option<Refresher>,
    /// `Some` for keys read from a JWKS file, re-read when it changes.
    file: Option<file::FileWatch>,
    /// Fetches of a remote set, or reloads of a changed file.
    counters: Counters,
}

/// What [`KeyStats`] reports of the loads after the first.
#[derive(Default)]
struct Counters {
    refreshes: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    /// A load of `keys` keys for `issuer` (with feature `metrics`:
    /// `rampgate_jwks_refreshes_total` and the `rampgate_jwks_keys` gauge).
    fn success(&self, issuer: &str, keys: usize) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = None;
        #[cfg(feature = "metrics")]
        {
            metrics::counter!("rampgate_jwks_refreshes_total", "issuer" => issuer.to_owned())
                .increment(1);
            metrics::gauge!("rampgate_jwks_keys", "issuer" => issuer.to_owned()).set(keys as f64);
        }
        let _ = (issuer, keys);
    }

    /// A failed load (with feature `metrics`: `rampgate_jwks_refresh_failures_total`).
    fn failure(&self, issuer: &str, error: &Error) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = Some(error.to_string());
        #[cfg(feature = "metrics")]
        metrics::counter!("rampgate_jwks_refresh_failures_total", "issuer" => issuer.to_owned())
            .increment(1);
        let _ = issuer;
    }
}

/// The refresh state of a remote key set.
struct Refresher {
    fetcher: remote::Fetcher,
    options: JwksOptions,
    /// Held while a fetch is under way: one fetch at a time per issuer.
    refresh_lock: tokio::sync::Mutex<()>,
    /// When the last fetch caused by an unknown `kid` ended: the cooldown counts
    /// from here.
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
    /// When the last fetch (of any cause) ended.
    last_fetch: Mutex<Option<Instant>>,
    /// The background poller, ended when these keys are dropped.
    poller: Mutex<Option<AbortHandle>>,
}

impl Drop for IssuerKeys {
    fn drop(&mut self) {
        // The pollers only hold a `Weak` and would notice at their next
        // wake-up; ending them now frees the tasks at once.
        if let Some(refresher) = &self.refresher
            && let Some(poller) = lock(&refresher.poller).take()
        {
            poller.abort();
        }
        if let Some(file) = &self.file {
            file.stop();
        }
    }
}

impl IssuerKeys {
    /// Loads static and file keys now; prepares the fetcher of a remote source
    /// (nothing is fetched before [`IssuerKeys::start`]), with `client` when
    /// one is supplied.
    pub(crate) fn new(
        issuer: &str,
        source: KeySource,
        options: JwksOptions,
        client: HttpClient,
    ) -> Result<IssuerKeys> {
        let (set, fetcher, file) = match source {
            KeySource::Static(set) => (Some(set), None, None),
            KeySource::JwksFile(path) => {
                let (set, watch) = file::FileWatch::load(issuer, path, &options)?;
                (Some(set), None, Some(watch))
            }
            remote => (None, Some(remote), None),
        };
        if let Some(set) = &set {
            check_set(issuer, set)?;
        }
        let refresher = match fetcher {
            Some(source) => Some(Refresher::new(
                remote::Fetcher::new(issuer, source, &options, client)?,
                options,
            )),
            None => None,
        };
        Ok(IssuerKeys {
            issuer: issuer.to_owned(),
            snapshot: ArcSwap::from_pointee(set.map(Snapshot::loaded).unwrap_or_default()),
            refresher,
            file,
            counters: Counters::default(),
        })
    }

    /// Makes the first fetch of a remote key set and starts its poller, or
    /// starts watching a JWKS file; does nothing for static keys.
    pub(crate) async fn start(self: &Arc<Self>) {
        self.start_remote().await;
        self.watch_file();
    }

    /// Makes the first fetch of a remote key set and starts its poller; a
    /// JWKS file's watcher is left to the caller ([`IssuerKeys::file_watcher`]).
    pub(crate) async fn start_remote_only(self: &Arc<Self>) {
        self.start_remote().await;
    }

    /// Starts the poller of a remote key set without waiting for its first
    /// fetch, or starts watching a JWKS file.
    pub(crate) fn start_in_background(self: &Arc<Self>) {
        self.start_remote_in_background();
        self.watch_file();
    }

    /// The algorithms of an issuer trusted with HMAC secrets, which are all it
    /// may verify; `None` for an issuer with public keys.
    pub(crate) fn hmac_algorithms(&self) -> Option<Vec<Algorithm>> {
        let snapshot = self.snapshot.load();
        snapshot
            .set
            .has_symmetric()
            .then(|| snapshot.set.algorithms())
    }

    /// Whether these keys are fetched, so that a refresh could change them.
    pub(crate) fn is_refreshable(&self) -> bool {
        self.refresher.is_some()
    }

    /// The one key a token with this `kid` and `alg` may be verified with, from
    /// the keys held now. `keys_unavailable` when none were ever loaded or they
    /// are older than `max_stale`.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<Key>> {
        let snapshot = self.snapshot.load();
        if !self.usable(&snapshot) {
            return Err(ErrorKind::KeysUnavailable.into());
        }
        snapshot.set.select(kid, alg).cloned()
    }

    /// Whether the keys held now may verify: loaded, and not past `max_stale`.
    fn usable(&self, snapshot: &Snapshot) -> bool {
        snapshot.loaded_at.is_some() && !self.stale(snapshot)
    }

    /// Whether a remote set is older than `max_stale` (static keys never are).
    fn stale(&self, snapshot: &Snapshot) -> bool {
        let max_stale = self.refresher.as_ref().map(|r| r.options.max_stale);
        matches!((snapshot.loaded_at, max_stale), (Some(at), Some(max)) if at.elapsed() > max)
    }

    /// Whether tokens can be verified now.
    pub(crate) fn is_ready(&self) -> bool {
        self.usable(&self.snapshot.load())
    }

    /// The key set's health, for a readiness route.
    pub(crate) fn health(&self) -> IssuerHealth {
        let snapshot = self.snapshot.load();
        IssuerHealth {
            issuer: self.issuer.clone(),
            ready: self.usable(&snapshot),
            keys: snapshot.set.len(),
            age_secs: snapshot.loaded_at.map(|at| at.elapsed().as_secs()),
            last_refresh: snapshot
                .loaded_wall
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs()),
            last_error: lock(&self.counters.last_error).clone(),
            stale: self.stale(&snapshot),
        }
    }

    /// Counters for health checks; static keys report their load time only.
    pub(crate) fn stats(&self) -> KeyStats {
        let snapshot = self.snapshot.load();
        KeyStats {
            refreshes: self.counters.refreshes.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            last_success: snapshot.loaded_wall,
            last_error: lock(&self.counters.last_error).clone(),
            kids: snapshot.set.kids().into_iter().map(str::to_owned).collect(),
        }
    }

    /// The refresh for a token whose `kid` is unknown (or whose issuer has no keys
    /// yet): single-flight, and at most one such fetch per cooldown, however many
    /// invented kids arrive. Returns whether keys were fetched (by this call or by
    /// a fetch it waited for), that is whether the token is worth checking again.
    ///
    /// A call that arrives while a fetch (of any cause) is under way waits for
    /// it and looks again: that fetch may be the one bringing a freshly rotated
    /// key. Only a call arriving after the last unknown-kid fetch ended, and
    /// within the cooldown, is refused without waiting.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> bool {
        let Some(refresher) = &self.refresher else {
            return false;
        };
        let arrived = Instant::now();
        let _guard = match refresher.refresh_lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                let guard = refresher.refresh_lock.lock().await;
                if lock(&refresher.last_fetch).is_some_and(|at| at >= arrived) {
                    // The fetch in flight when we arrived has ended: look again.
                    return true;
                }
                guard
            }
        };
        if refresher.in_cooldown() {
            return false;
        }
        tracing::debug!(issuer = %self.issuer, "unknown kid: refreshing JWKS");
        let fetched = self.refresh_locked(refresher).await.is_ok();
        // The cooldown counts from the end of the fetch, so that it never
        // refuses a token that arrived while the fetch was under way.
        *lock(&refresher.last_unknown_kid_fetch) = Some(Instant::now());
        fetched
    }

    /// A fetch now, outside the schedule and the cooldown (single-flight still).
    pub(crate) async fn refresh_now(&self) -> Result<()> {
        let Some(refresher) = &self.refresher else {
            return Err(Error::config("no remote key set"));
        };
        self.refresh(refresher).await.map(|_| ())
    }

    /// A fetch under the refresh lock: one at a time, whoever asks. Returns the
    /// `Cache-Control: max-age` of the answer.
    async fn refresh(&self, refresher: &Refresher) -> Result<Option<Duration>> {
        let _guard = refresher.refresh_lock.lock().await;
        self.refresh_locked(refresher).await
    }

    /// Fetches the keys and swaps them in. The caller holds `refresh_lock`.
    async fn refresh_locked(&self, refresher: &Refresher) -> Result<Option<Duration>> {
        let result = refresher.fetcher.fetch(&self.issuer).await;
        *lock(&refresher.last_fetch) = Some(Instant::now());
        match result {
            Ok((set, max_age)) => {
                self.log_changes(&set, max_age);
                self.counters.success(&self.issuer, set.len());
                self.snapshot.store(Arc::new(Snapshot::loaded(set)));
                Ok(max_age)
            }
            Err(e) => {
                self.counters.failure(&self.issuer, &e);
                tracing::warn!(issuer = %self.issuer, error = %e, "JWKS refresh failed; keeping the last good keys");
                Err(e)
            }
        }
    }

    fn log_changes(&self, set: &KeySet, max_age: Option<Duration>) {
        let old = self.snapshot.load();
        let old_kids = old.set.kids();
        let new_kids = set.kids();
        let added: Vec<&str> = new_kids
            .iter()
            .filter(|k| !old_kids.contains(k))
            .copied()
            .collect();
        let removed: Vec<&str> = old_kids
            .iter()
            .filter(|k| !new_kids.contains(k))
            .copied()
            .collect();
        if !added.is_empty() || !removed.is_empty() {
            tracing::info!(issuer = %self.issuer, ?added, ?removed, kids = ?new_kids, "JWKS keys changed");
        }
        tracing::debug!(issuer = %self.issuer, kids = new_kids.len(), ?max_age, "JWKS refreshed");
    }
}

/// What every loaded set must be: not empty, and of one kind of key.
fn check_set(issuer: &str, set: &KeySet) -> Result<()> {
    let cfg = |msg: &str| Error::config(format!("issuer {issuer:?}: {msg}"));
    if set.is_empty() {
        return Err(cfg("the key set is empty"));
    }
    if set.has_symmetric() && set.has_asymmetric() {
        return Err(cfg(
            "an issuer is trusted either with an HMAC secret or with public keys, never both",
        ));
    }
    Ok(())
}

impl Refresher {
    fn new(fetcher: remote::Fetcher, options: JwksOptions) -> Refresher {
        Refresher {
            fetcher,
            options,
            refresh_lock: tokio::sync::Mutex::new(()),
            last_unknown_kid_fetch: Mutex::new(None),
            last_fetch: Mutex::new(None),
            poller: Mutex::new(None),
        }
    }

    fn in_cooldown(&self) -> bool {
        lock(&self.last_unknown_kid_fetch)
            .is_some_and(|at| at.elapsed() < self.options.unknown_kid_cooldown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
        "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    fn static_keys() -> IssuerKeys {
        let key = Key::from_jwk_json(ED_JWK).unwrap();
        let set = KeySet::from_keys([key]).unwrap();
        IssuerKeys::new(
            "https://iss",
            KeySource::Static(set),
            JwksOptions::default(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn static_keys_never_go_stale_and_cannot_be_refreshed() {
        let keys = static_keys();
        // Backdate the load far beyond any max_stale: static keys still serve.
        let mut old = Snapshot::loaded(keys.snapshot.load().set.clone());
        old.loaded_at = Instant::now().checked_sub(Duration::from_secs(86_400 * 2));
        keys.snapshot.store(Arc::new(old));
        assert_eq!(
            keys.select(Some("k1"), Algorithm::EdDSA).unwrap().kid(),
            Some("k1")
        );
        assert!(!keys.is_refreshable());
        assert_eq!(keys.hmac_algorithms(), None);
        let stats = keys.stats();
        assert_eq!((stats.refreshes, stats.failures), (0, 0));
        assert_eq!(stats.kids, vec!["k1"]);
        assert!(stats.last_success.is_some());
    }

    #[tokio::test]
    async fn static_keys_refuse_a_forced_refresh() {
        let keys = static_keys();
        assert!(!keys.refresh_for_unknown_kid().await);
        assert_eq!(
            keys.refresh_now().await.unwrap_err().code(),
            "config_invalid"
        );
    }

    #[test]
    fn hmac_issuers_verify_only_their_own_algorithms() {
        let set = KeySet::from_keys([Key::hmac(&[7u8; 48], "HS384", Some("h")).unwrap()]).unwrap();
        let keys =
            IssuerKeys::new("i", KeySource::Static(set), JwksOptions::default(), None).unwrap();
        assert_eq!(keys.hmac_algorithms(), Some(vec![Algorithm::HS384]));
    }

    #[test]
    fn empty_and_mixed_sets_are_refused() {
        let empty = IssuerKeys::new(
            "i",
            KeySource::Static(KeySet::default()),
            JwksOptions::default(),
            None,
        );
        assert!(
            empty
                .err()
                .unwrap()
                .to_string()
                .contains("the key set is empty")
        );
        let mixed = KeySet::from_keys([
            Key::from_jwk_json(ED_JWK).unwrap(),
            Key::hmac(&[7u8; 32], "HS256", Some("h")).unwrap(),
        ])
        .unwrap();
        let mixed = IssuerKeys::new("i", KeySource::Static(mixed), JwksOptions::default(), None);
        assert_eq!(mixed.err().unwrap().code(), "config_invalid");
    }

    #[test]
    fn an_unreadable_file_keeps_the_io_error_as_source() {
        let path = std::env::temp_dir().join("rampgate-no-such-dir/jwks.json");
        let err = IssuerKeys::new("i", KeySource::JwksFile(path), JwksOptions::default(), None)
            .err()
            .unwrap();
        assert!(err.to_string().contains("cannot read JWKS file"), "{err}");
        let source = std::error::Error::source(&err).expect("the io error");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }
}
