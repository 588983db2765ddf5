//! Remote key sets: the HTTP fetcher (reqwest with rustls), OIDC discovery, and
//! the background poller that keeps an issuer's keys fresh (feature `remote-jwks`).
//!
//! The poller holds only a [`Weak`] to the issuer's [`IssuerKeys`]: it ends when
//! they are dropped, that is when the last clone of the verifier goes.

use super::{IssuerKeys, JwksOptions, KeySet, KeySource};
use crate::error::{Error, Result};
use crate::sync::lock;
use rand::Rng as _;
use reqwest::Url;
use serde_json::Value;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

enum Target {
    Jwks(Url),
    Discovery { issuer: String, url: Url },
}

/// The HTTP client an issuer's fetches use instead of rampgate's own, if any
/// (see `IssuerConfig::http_client`).
pub(crate) type HttpClient = Option<reqwest::Client>;

/// Fetches one issuer's JWKS, directly or through its discovery document.
pub(super) struct Fetcher {
    client: reqwest::Client,
    target: Target,
    max_body_bytes: usize,
    /// Applied to every request, so that it holds whatever client is used.
    request_timeout: Duration,
    /// The `jwks_uri` found by discovery.
    discovered: Mutex<Option<Url>>,
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

impl Fetcher {
    /// Checks the URL and the options (so that a mistake fails the build, not
    /// every later fetch) and builds the HTTP client, unless one is supplied.
    pub(super) fn new(
        issuer: &str,
        source: KeySource,
        options: &JwksOptions,
        client: HttpClient,
    ) -> Result<Fetcher> {
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
        let client = match client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(options.request_timeout)
                .connect_timeout(options.request_timeout)
                // A redirect could lead to plain http or to another host; refuse it.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("rampgate/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::config(format!("HTTP client: {e}")).caused_by(e))?,
        };
        Ok(Fetcher {
            client,
            target,
            max_body_bytes: options.max_body_bytes,
            request_timeout: options.request_timeout,
            discovered: Mutex::new(None),
        })
    }

    /// GETs `url`, refusing non-2xx answers and bodies over the limit. Returns the
    /// body and the `Cache-Control: max-age`, if any.
    async fn get(&self, url: &Url) -> Result<(Vec<u8>, Option<Duration>)> {
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| Error::jwks(format!("GET {url}: {}", describe(&e))).caused_by(e))?;
        // A supplied client may follow redirects; its answer is refused as our
        // own client's 3xx would be, since the redirect could have led to plain
        // http or to another host.
        if response.url() != url {
            return Err(Error::jwks(format!(
                "GET {url}: redirected to {}; redirects are refused (build the HTTP client with redirect::Policy::none())",
                response.url()
            )));
        }
        let status = response.status();
        if !status.is_success() {
            return Err(Error::jwks(format!("GET {url}: HTTP {}", status.as_u16())));
        }
        let max = self.max_body_bytes;
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

    /// One fetch of the key set, and its `Cache-Control: max-age`.
    pub(super) async fn fetch(&self, issuer: &str) -> Result<(KeySet, Option<Duration>)> {
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

impl IssuerKeys {
    /// Makes the first fetch of a remote key set and starts its poller; does
    /// nothing for other keys. A failed first fetch does not fail: the poller
    /// retries with backoff.
    pub(super) async fn start_remote(self: &Arc<Self>) {
        let Some(refresher) = &self.refresher else {
            return;
        };
        let first = self.refresh(refresher).await;
        let delay = next_delay(&refresher.options, &first, 0);
        let failures = u32::from(first.is_err());
        let poller = tokio::spawn(poll(Arc::downgrade(self), delay, failures));
        *lock(&refresher.poller) = Some(poller.abort_handle());
    }

    /// Starts the poller of a remote key set, which makes the first fetch at
    /// once; does nothing for other keys.
    pub(super) fn start_remote_in_background(self: &Arc<Self>) {
        let Some(refresher) = &self.refresher else {
            return;
        };
        let poller = tokio::spawn(poll(Arc::downgrade(self), Duration::ZERO, 0));
        *lock(&refresher.poller) = Some(poller.abort_handle());
    }
}

/// Refreshes the keys on their schedule until they are dropped.
async fn poll(keys: Weak<IssuerKeys>, mut delay: Duration, mut failures: u32) {
    loop {
        tokio::time::sleep(delay).await;
        let Some(strong) = keys.upgrade() else { return };
        let Some(refresher) = &strong.refresher else {
            return;
        };
        let result = strong.refresh(refresher).await;
        failures = if result.is_ok() {
            0
        } else {
            failures.saturating_add(1)
        };
        delay = next_delay(&refresher.options, &result, failures);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::Algorithm;
    use crate::error::ErrorKind;
    use crate::key::Key;
    use crate::keys::Snapshot;
    use std::time::Instant;

    /// Remote keys pointing at a closed loopback port: every fetch fails at once.
    fn unreachable_keys(options: JwksOptions) -> IssuerKeys {
        let source = KeySource::JwksUrl("http://127.0.0.1:9/jwks".into());
        IssuerKeys::new("https://iss", source, options, None).unwrap()
    }

    fn one_key() -> KeySet {
        let jwk = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        KeySet::from_keys([Key::from_jwk_json(jwk).unwrap()]).unwrap()
    }

    #[test]
    fn remote_keys_are_unavailable_before_the_first_fetch_and_once_stale() {
        let options = JwksOptions {
            max_stale: Duration::from_secs(7200),
            ..JwksOptions::default()
        };
        let keys = unreachable_keys(options);
        assert!(keys.is_refreshable());
        let code = |keys: &IssuerKeys| {
            keys.select(Some("k1"), Algorithm::EdDSA)
                .unwrap_err()
                .code()
        };
        assert_eq!(code(&keys), "keys_unavailable");
        keys.snapshot.store(Arc::new(Snapshot::loaded(one_key())));
        assert!(keys.select(Some("k1"), Algorithm::EdDSA).is_ok());
        let mut old = Snapshot::loaded(one_key());
        old.loaded_at = Instant::now().checked_sub(Duration::from_secs(7201));
        keys.snapshot.store(Arc::new(old));
        assert_eq!(code(&keys), "keys_unavailable");
    }

    #[tokio::test]
    async fn failed_fetches_are_counted_and_keep_their_cause() {
        let keys = unreachable_keys(JwksOptions::default());
        let err = keys.refresh_now().await.unwrap_err();
        assert_eq!(err.code(), "jwks_error");
        let source = std::error::Error::source(&err).expect("the HTTP client's error");
        assert!(
            source.downcast_ref::<reqwest::Error>().is_some(),
            "{source:?}"
        );
        let stats = keys.stats();
        assert_eq!((stats.refreshes, stats.failures), (0, 1));
        assert_eq!(stats.last_error, Some(err.to_string()));
        // The unknown-kid refresh fetches once, then waits out the cooldown.
        assert!(!keys.refresh_for_unknown_kid().await);
        assert!(!keys.refresh_for_unknown_kid().await);
        assert_eq!(keys.stats().failures, 2);
    }

    #[tokio::test]
    async fn the_poller_ends_when_the_keys_are_dropped() {
        let keys = Arc::new(unreachable_keys(JwksOptions::default()));
        keys.start_remote().await;
        let poller = lock(&keys.refresher.as_ref().unwrap().poller)
            .clone()
            .expect("a poller");
        assert!(!poller.is_finished());
        drop(keys);
        for _ in 0..100 {
            if poller.is_finished() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the poller outlived its keys");
    }

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
        let err: Result<Option<Duration>> = Err(ErrorKind::KeysUnavailable.into());
        assert!(within(next_delay(&o, &err, 1), 1));
        assert!(within(next_delay(&o, &err, 4), 8));
        assert!(within(next_delay(&o, &err, 30), 300));
    }
}
