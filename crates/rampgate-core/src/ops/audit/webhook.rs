//! The webhook sinks (feature `audit-webhook`): batches of events POSTed as
//! a JSON array ([`WebhookSink`]), and alerts POSTed one JSON object each
//! ([`AlertWebhook`]), with the same bounded retries.

use super::event::AuditEvent;
use super::sink::{AuditSink, AuditSinkError, SinkFuture};
use std::time::Duration;

/// POSTs each batch as a JSON array of events (`Content-Type:
/// application/json`) to a URL, retrying a failed POST a bounded number of
/// times with exponential backoff.
///
/// A 2xx answer takes the batch; a network error, 408, 429 or 5xx is retried
/// after 200 ms, 400 ms, 800 ms... (at most 10 s between tries); any other
/// answer, or the last failed try, loses the batch (counted in
/// `Auditor::failed` and logged). While it retries, events wait in the
/// auditor's queue.
///
/// The URL can hold secrets (a password, a token in the query): errors, logs
/// and `Debug` show it without them, as `scheme://host[:port]/path`, and the
/// values of the added headers are never shown.
#[derive(Clone)]
pub struct WebhookSink {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL as errors and logs show it: without userinfo, query, fragment.
    shown: String,
    retries: u32,
    backoff: Duration,
    headers: reqwest::header::HeaderMap,
}

impl WebhookSink {
    /// A sink POSTing to `url` (http or https), with 3 retries and a 10 s
    /// timeout per request.
    ///
    /// # Errors
    ///
    /// When `url` is not an http(s) URL or the HTTP client cannot be built.
    pub fn new(url: &str) -> Result<WebhookSink, AuditSinkError> {
        // The parse error says what is wrong without repeating the URL.
        let url = reqwest::Url::parse(url)
            .map_err(|e| AuditSinkError::Other(format!("webhook URL: {e}")))?;
        let shown = redacted(&url);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AuditSinkError::Other(format!(
                "webhook URL {shown}: only http and https are supported"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AuditSinkError::Other(format!("webhook client: {e}")))?;
        Ok(WebhookSink {
            client,
            url,
            shown,
            retries: 3,
            backoff: Duration::from_millis(200),
            headers: reqwest::header::HeaderMap::new(),
        })
    }

    /// Retries a failed POST at most `retries` times (default 3).
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The wait before the first retry, doubled after each (default 200 ms).
    #[must_use]
    pub fn backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }

    /// Sends this header with every POST (an `Authorization`, say). Its value
    /// is marked sensitive, never shown.
    #[must_use]
    pub fn header(
        mut self,
        name: reqwest::header::HeaderName,
        mut value: reqwest::header::HeaderValue,
    ) -> Self {
        value.set_sensitive(true);
        self.headers.insert(name, value);
        self
    }

    /// This webhook, POSTing each alert as one JSON object instead of
    /// batches as arrays: an alert sink ([`AlertWebhook`]) with this sink's
    /// URL, retries, backoff and headers.
    pub fn for_alerts(self) -> AlertWebhook {
        AlertWebhook {
            hook: self,
            text: false,
        }
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), AuditSinkError> {
        let mut delay = self.backoff;
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .post(self.url.clone())
                .headers(self.headers.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let retryable = match &result {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    let s = r.status().as_u16();
                    s == 408 || s == 429 || s >= 500
                }
                Err(_) => true,
            };
            if !retryable || attempt >= self.retries {
                // reqwest's error would print the whole URL: it goes without.
                return Err(AuditSinkError::Other(match result {
                    Ok(r) => format!("webhook {}: HTTP {}", self.shown, r.status()),
                    Err(e) => format!("webhook {}: {}", self.shown, e.without_url()),
                }));
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

/// `url` without what may be secret: `scheme://host[:port]/path`, no
/// userinfo, query or fragment.
fn redacted(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    // Only a URL without a host refuses a user name; it has none to drop.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.into()
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("url", &self.shown)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AuditSink for WebhookSink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        let events: Vec<serde_json::Value> = batch.iter().map(AuditEvent::to_json).collect();
        let body = serde_json::to_vec(&events).unwrap_or_default();
        Box::pin(async move { self.post(body).await })
    }
}

/// The alert sink of a webhook: POSTs each alert as one JSON object
/// ([`AuditEvent::alert_json`]: `source`, `classes`, `ts`, `summary`, the
/// audit `event`, and with [`text`](AlertWebhook::text) a `"text"` member
/// for Slack- and Mattermost-style incoming webhooks), with the bounded
/// retries of [`WebhookSink`]. Give it to
/// [`AuditorBuilder::alerts`](super::AuditorBuilder::alerts): the auditor's
/// alert queue is bounded, and its drops and failures are counted
/// (`Auditor::alerts_dropped`, `Auditor::alerts_failed`).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::audit::{AlertWebhook, Auditor, WebhookSink};
/// use std::time::Duration;
///
/// let alerts = WebhookSink::new("https://hooks.example.com/services/T0/B0/x")
///     .unwrap()
///     .retries(5)
///     .backoff(Duration::from_secs(1))
///     .for_alerts()
///     .text(true);
/// let auditor = Auditor::builder().alerts(alerts).build().unwrap();
/// # drop(auditor);
/// # let _ = AlertWebhook::new("https://hooks.example.com/x");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AlertWebhook {
    hook: WebhookSink,
    text: bool,
}

impl AlertWebhook {
    /// An alert sink POSTing to `url` (http or https), with the defaults of
    /// [`WebhookSink::new`]: 3 retries, a 10 s timeout per request.
    ///
    /// # Errors
    ///
    /// As [`WebhookSink::new`].
    pub fn new(url: &str) -> Result<AlertWebhook, AuditSinkError> {
        WebhookSink::new(url).map(WebhookSink::for_alerts)
    }

    /// Adds a `"text"` member, a one-line summary, to every alert (default
    /// off): what chat incoming webhooks display.
    #[must_use]
    pub fn text(mut self, text: bool) -> Self {
        self.text = text;
        self
    }
}

impl AuditSink for AlertWebhook {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        let bodies: Vec<Vec<u8>> = batch
            .iter()
            .map(|event| serde_json::to_vec(&event.alert_json(self.text)).unwrap_or_default())
            .collect();
        Box::pin(async move {
            // Each alert is tried on its own; the batch fails if one did.
            let mut failed = None;
            for body in bodies {
                if let Err(e) = self.hook.post(body).await {
                    failed = Some(e);
                }
            }
            failed.map_or(Ok(()), Err)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_URL: &str = "https://alice:hunter2@audit.example:8443/in/hook?token=s3cr3t#frag";

    fn assert_no_secret(text: &str) {
        for secret in ["alice", "hunter2", "token", "s3cr3t", "frag"] {
            assert!(!text.contains(secret), "{secret:?} shown in {text:?}");
        }
    }

    #[test]
    fn debug_shows_the_url_without_its_secrets() {
        let sink = WebhookSink::new(SECRET_URL).unwrap().header(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_static("Bearer hunter2"),
        );
        let debug = format!("{sink:?}");
        assert!(
            debug.contains("https://audit.example:8443/in/hook"),
            "{debug}"
        );
        assert!(debug.contains("authorization"), "{debug}");
        assert_no_secret(&debug);
    }

    #[test]
    fn a_refused_url_is_shown_without_its_secrets() {
        let error = WebhookSink::new("ftp://alice:hunter2@audit.example/x?token=s3cr3t")
            .unwrap_err()
            .to_string();
        assert!(error.contains("ftp://audit.example/x"), "{error}");
        assert_no_secret(&error);
        let error = WebhookSink::new("https://alice:hunter2@[bad/?token=s3cr3t")
            .unwrap_err()
            .to_string();
        assert_no_secret(&error);
    }

    #[tokio::test]
    async fn a_failed_post_is_reported_without_the_url_secrets() {
        // Nothing listens on port 1: the connection is refused at once.
        let url = "http://alice:hunter2@127.0.0.1:1/hook?token=s3cr3t";
        let sink = WebhookSink::new(url).unwrap().retries(0);
        let error = sink.post(b"[]".to_vec()).await.unwrap_err().to_string();
        assert!(error.contains("http://127.0.0.1:1/hook"), "{error}");
        assert_no_secret(&error);
    }
}
