//! The webhook sink: batches of events POSTed as a JSON array (feature
//! `audit-webhook`).

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
#[derive(Debug, Clone)]
pub struct WebhookSink {
    client: reqwest::Client,
    url: reqwest::Url,
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
        let url = reqwest::Url::parse(url)
            .map_err(|e| AuditSinkError::Other(format!("webhook URL {url:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AuditSinkError::Other(format!(
                "webhook URL {url}: only http and https are supported"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| AuditSinkError::Other(format!("webhook client: {e}")))?;
        Ok(WebhookSink {
            client,
            url,
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

    /// Sends this header with every POST (an `Authorization`, say).
    #[must_use]
    pub fn header(
        mut self,
        name: reqwest::header::HeaderName,
        value: reqwest::header::HeaderValue,
    ) -> Self {
        self.headers.insert(name, value);
        self
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
                return Err(AuditSinkError::Other(match result {
                    Ok(r) => format!("webhook {}: HTTP {}", self.url, r.status()),
                    Err(e) => format!("webhook {}: {e}", self.url),
                }));
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

impl AuditSink for WebhookSink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        let events: Vec<serde_json::Value> = batch.iter().map(AuditEvent::to_json).collect();
        let body = serde_json::to_vec(&events).unwrap_or_default();
        Box::pin(async move { self.post(body).await })
    }
}
