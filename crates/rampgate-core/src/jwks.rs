//! Remote key sets: fetching a JWKS (directly or through OIDC discovery), the
//! background poller, and the single-flight refresh for unknown `kid`s.

use crate::error::{Error, Result};
use crate::key::KeySet;
use crate::sync::lock;
use crate::verifier::{IssuerState, JwksOptions, KeySource, KeyStats, Snapshot, Verifier};
use rand::Rng as _;
use reqwest::Url;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

enum Target {
    Jwks(Url),
    Discovery { issuer: String, url: Url },
}

pub(crate) struct Remote {
    client: reqwest::Client,
    target: Target,
    options: JwksOptions,
    /// The `jwks_uri` found by discovery.
    discovered: Mutex<Option<Url>>,
    /// Held while a fetch is under way: one fetch at a time per issuer.
    refresh_lock: tokio::sync::Mutex<()>,
    /// When an unknown `kid` last caused a fetch: the cooldown counts from here.
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
    /// When the last fetch (of any cause) ended.
    last_fetch: Mutex<Option<Instant>>,
    refreshes: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// `https`, or `http` to a loopback host (a local identity provider, tests).
fn checked_url(url: &str, what: &str) -> Result<Url> {
    let parsed = Url::parse(url)
        .map_err(|e| Error::config(format!("{what} {url:?} is not a URL: {e}")).caused_by(e))?;
    let host = parsed.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(Error::config(format!(
            "{what} {url:?} must use https (plain http is allowed only for loopback hosts)"
        ))),
        other => Err(Error::config(format!(
            "{what} {url:?} has unsupported scheme {other:?}"
        ))),
    }
}

impl Remote {
    pub(crate) fn new(issuer: &str, source: KeySource, options: JwksOptions) -> Result<Self> {
        let target = match source {
            KeySource::JwksUrl(url) => Target::Jwks(checked_url(&url, "JWKS URL")?),
            KeySource::Discovery => {
                let base = issuer.trim_end_matches('/');
                let url = checked_url(
                    &format!("{base}/.well-known/openid-configuration"),
                    "issuer",
                )?;
                Target::Discovery {
                    issuer: issuer.to_owned(),
                    url,
                }
            }
            KeySource::Static(_) | KeySource::JwksFile(_) => {
                return Err(Error::config("not a remote key source"));
            }
        };
        if options.max_stale.is_zero() || options.request_timeout.is_zero() {
            return Err(Error::config(
                "max_stale and request_timeout must be positive",
            ));
        }
        if options.min_refresh > options.max_refresh {
            return Err(Error::config("min_refresh is larger than max_refresh"));
        }
        if options.min_refresh.is_zero()
            || options.backoff_initial.is_zero()
            || options.backoff_max.is_zero()
            || options.unknown_kid_cooldown.is_zero()
        {
            return Err(Error::config(
                "min_refresh, backoff_initial, backoff_max and unknown_kid_cooldown must be positive (a zero period would fetch in a loop)",
            ));
        }
        if options.max_refresh >= options.max_stale {
            return Err(Error::config(format!(
                "max_refresh ({}s) must be shorter than max_stale ({}s), or the keys could go stale between two scheduled refreshes",
                options.max_refresh.as_secs(),
                options.max_stale.as_secs()
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(options.request_timeout)
            // A redirect could lead to plain http or to another host; refuse it.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rampgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config(format!("HTTP client: {e}")).caused_by(e))?;
        Ok(Remote {
            client,
            target,
            options,
            discovered: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            last_unknown_kid_fetch: Mutex::new(None),
            last_fetch: Mutex::new(None),
            refreshes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    /// Adds the fetch counters to `stats` (the last success is the snapshot's).
    pub(crate) fn fill_stats(&self, stats: &mut KeyStats) {
        stats.refreshes = self.refreshes.load(Ordering::Relaxed);
        stats.failures = self.failures.load(Ordering::Relaxed);
        stats.last_error = lock(&self.last_error).clone();
    }

    /// GETs `url`, refusing non-2xx answers and bodies over the limit. Returns the
    /// body and the `Cache-Control: max-age`, if any.
    async fn get(&self, url: &Url) -> Result<(Vec<u8>, Option<Duration>)> {
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Error::jwks(format!("GET {url}: {}", describe(&e))).caused_by(e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::jwks(format!("GET {url}: HTTP {}", status.as_u16())));
        }
        let max = self.options.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(Error::jwks(format!(
                "GET {url}: body larger than {max} bytes"
            )));
        }
        let max_age = response
            .headers()
            .get_all(reqwest::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|directive| {
                let (name, value) = directive.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("max-age")
                    .then(|| value.trim().trim_matches('"').parse::<u64>().ok())?
            })
            .next()
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Error::jwks(format!("GET {url}: {}", describe(&e))).caused_by(e))?
        {
            if body.len() + chunk.len() > max {
                return Err(Error::jwks(format!(
                    "GET {url}: body larger than {max} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }

    async fn jwks_url(&self) -> Result<Url> {
        let (issuer, url) = match &self.target {
            Target::Jwks(url) => return Ok(url.clone()),
            Target::Discovery { issuer, url } => (issuer, url),
        };
        if let Some(found) = lock(&self.discovered).clone() {
            return Ok(found);
        }
        let (body, _) = self.get(url).await?;
        let not_object = || Error::jwks(format!("{url}: discovery document is not a JSON object"));
        let doc = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(doc)) => doc,
            Ok(_) => return Err(not_object()),
            Err(e) => return Err(not_object().caused_by(e)),
        };
        // OpenID Connect Discovery §4.3: the document's issuer must be identical.
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(Error::jwks(format!(
                "{url}: discovery document names another issuer than {issuer:?}"
            )));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::jwks(format!("{url}: discovery document has no jwks_uri")))?;
        let jwks_uri = checked_url(jwks_uri, "jwks_uri").map_err(|e| Error::jwks(e.to_string()))?;
        *lock(&self.discovered) = Some(jwks_uri.clone());
        Ok(jwks_uri)
    }

    /// One fetch of the key set.
    async fn fetch(&self, issuer: &str) -> Result<(KeySet, Option<Duration>)> {
        let url = self.jwks_url().await?;
        let result = async {
            let (body, max_age) = self.get(&url).await?;
            let (set, skipped) = KeySet::from_jwks_json(&body)?;
            for s in &skipped {
                tracing::warn!(issuer = %issuer, kid = ?s.kid, reason = %s.reason, "JWK skipped");
            }
            // Symmetric keys never get here: `oct` JWKs are skipped when parsed.
            if set.is_empty() {
                return Err(Error::jwks(format!("{url}: no usable key in the JWKS")));
            }
            Ok((set, max_age))
        }
        .await;
        if result.is_err() {
            // The jwks_uri may have moved: discover it again next time.
            *lock(&self.discovered) = None;
        }
        result
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.to_string()
    }
}

/// Fetches the issuer's keys and swaps them in. The caller holds `refresh_lock`.
async fn refresh_locked(issuer: &IssuerState, remote: &Remote) -> Result<Option<Duration>> {
    let result = remote.fetch(&issuer.issuer).await;
    *lock(&remote.last_fetch) = Some(Instant::now());
    match result {
        Ok((set, max_age)) => {
            let old = issuer.keys.load();
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
                tracing::info!(issuer = %issuer.issuer, ?added, ?removed, kids = ?new_kids, "JWKS keys changed");
            }
            tracing::debug!(issuer = %issuer.issuer, kids = new_kids.len(), ?max_age, "JWKS refreshed");
            issuer.keys.store(Arc::new(Snapshot {
                set,
                loaded_at: Some(Instant::now()),
                loaded_wall: Some(SystemTime::now()),
            }));
            remote.refreshes.fetch_add(1, Ordering::Relaxed);
            *lock(&remote.last_error) = None;
            Ok(max_age)
        }
        Err(e) => {
            remote.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(issuer = %issuer.issuer, error = %e, "JWKS refresh failed; keeping the last good keys");
            *lock(&remote.last_error) = Some(e.to_string());
            Err(e)
        }
    }
}

fn in_cooldown(remote: &Remote) -> bool {
    lock(&remote.last_unknown_kid_fetch)
        .is_some_and(|at| at.elapsed() < remote.options.unknown_kid_cooldown)
}

/// The refresh for a token whose `kid` is unknown (or whose issuer has no keys
/// yet): single-flight, and at most one such fetch per cooldown, however many
/// invented kids arrive. Returns whether keys were fetched (by this call or by a
/// fetch it waited for), that is whether the token is worth checking again.
pub(crate) async fn refresh_for_unknown_kid(issuer: &IssuerState) -> bool {
    let Some(remote) = &issuer.remote else {
        return false;
    };
    if in_cooldown(remote) {
        return false;
    }
    let waited_since = Instant::now();
    let _guard = remote.refresh_lock.lock().await;
    if lock(&remote.last_fetch).is_some_and(|at| at >= waited_since) {
        // A fetch ended while we waited for the lock: look again, fetch nothing.
        return true;
    }
    if in_cooldown(remote) {
        return false;
    }
    *lock(&remote.last_unknown_kid_fetch) = Some(Instant::now());
    tracing::debug!(issuer = %issuer.issuer, "unknown kid: refreshing JWKS");
    refresh_locked(issuer, remote).await.is_ok()
}

/// A fetch now, outside the schedule and the cooldown (single-flight still).
pub(crate) async fn refresh_now(issuer: &IssuerState) -> Result<()> {
    let Some(remote) = &issuer.remote else {
        return Err(Error::config("no remote key set"));
    };
    refresh(issuer, remote).await.map(|_| ())
}

/// Makes the first fetch of every remote key set and starts their pollers.
pub(crate) async fn start(verifier: &Verifier) {
    let inner = &verifier.inner;
    let mut handles = Vec::new();
    // Issuers are few: their first fetches run one after another.
    for (idx, issuer) in inner.issuers.iter().enumerate() {
        let Some(remote) = &issuer.remote else {
            continue;
        };
        let first = refresh(issuer, remote).await;
        let delay = next_delay(&remote.options, &first, 0);
        let failures = u32::from(first.is_err());
        let weak = Arc::downgrade(inner);
        handles.push(tokio::spawn(poll(weak, idx, delay, failures)).abort_handle());
    }
    lock(&inner.pollers).extend(handles);
}

/// A fetch under the issuer's refresh lock: one at a time, whoever asks.
async fn refresh(issuer: &IssuerState, remote: &Remote) -> Result<Option<Duration>> {
    let _guard = remote.refresh_lock.lock().await;
    refresh_locked(issuer, remote).await
}

/// When to fetch again: `max-age` clamped to the bounds (or the default), or an
/// exponential backoff after failures; both with up to 10% jitter so that a fleet
/// of services does not fetch in lockstep.
fn next_delay(options: &JwksOptions, last: &Result<Option<Duration>>, failures: u32) -> Duration {
    let base = match last {
        Ok(max_age) => max_age
            .unwrap_or(options.default_refresh)
            .clamp(options.min_refresh, options.max_refresh),
        Err(_) => {
            let exp = failures.saturating_sub(1).min(20);
            options
                .backoff_initial
                .saturating_mul(1u32 << exp)
                .min(options.backoff_max)
        }
    };
    let jitter = rand::thread_rng().gen_range(0.0..0.1);
    base.mul_f64(1.0 - jitter)
}

async fn poll(
    weak: Weak<crate::verifier::VerifierInner>,
    idx: usize,
    mut delay: Duration,
    mut failures: u32,
) {
    loop {
        tokio::time::sleep(delay).await;
        let Some(inner) = weak.upgrade() else { return };
        let issuer = &inner.issuers[idx];
        let Some(remote) = &issuer.remote else { return };
        let result = refresh(issuer, remote).await;
        failures = if result.is_ok() {
            0
        } else {
            failures.saturating_add(1)
        };
        delay = next_delay(&remote.options, &result, failures);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(checked_url("https://idp.example/jwks", "x").is_ok());
        assert!(checked_url("http://127.0.0.1:8080/jwks", "x").is_ok());
        assert!(checked_url("http://127.5.0.1/jwks", "x").is_ok());
        assert!(checked_url("http://localhost/jwks", "x").is_ok());
        assert!(checked_url("http://[::1]:99/jwks", "x").is_ok());
        for bad in [
            "http://idp.example/jwks",
            "http://10.0.0.1/jwks",
            "ftp://idp.example/",
            "nope",
        ] {
            assert_eq!(
                checked_url(bad, "x").unwrap_err().code(),
                "config_invalid",
                "{bad}"
            );
        }
    }

    #[test]
    fn refresh_period_is_clamped_and_backs_off() {
        let o = JwksOptions::default();
        let within = |d: Duration, base: u64| {
            d <= Duration::from_secs(base) && d >= Duration::from_secs(base).mul_f64(0.9)
        };
        assert!(within(next_delay(&o, &Ok(None), 0), 300));
        assert!(within(
            next_delay(&o, &Ok(Some(Duration::from_secs(5))), 0),
            60
        ));
        assert!(within(
            next_delay(&o, &Ok(Some(Duration::from_secs(10_000_000))), 0),
            3600
        ));
        let err: Result<Option<Duration>> = Err(crate::error::ErrorKind::KeysUnavailable.into());
        assert!(within(next_delay(&o, &err, 1), 1));
        assert!(within(next_delay(&o, &err, 4), 8));
        assert!(within(next_delay(&o, &err, 30), 300));
    }
}
