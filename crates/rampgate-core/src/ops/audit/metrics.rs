//! The audit trail's metrics, through the `metrics` facade (feature `metrics`).
//! Recorded by the writer task, off the request path.

use super::event::DecisionEvent;

/// Counts one decision and records its latencies.
pub(crate) fn decision(d: &DecisionEvent) {
    let route = d.route().unwrap_or("none").to_owned();
    metrics::counter!(
        "rampgate_decisions_total",
        "outcome" => d.outcome.as_str(),
        "reason" => d.reason.as_str(),
        "route" => route,
    )
    .increment(1);
    metrics::histogram!("rampgate_request_duration_seconds")
        .record(d.latency_us as f64 / 1_000_000.0);
    if let Some(us) = d.verify_us {
        metrics::histogram!("rampgate_verify_duration_seconds").record(us as f64 / 1_000_000.0);
    }
}
