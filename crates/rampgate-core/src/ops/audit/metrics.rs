//! The audit trail's metrics, through the `metrics` facade (feature `metrics`).
//! Recorded by the writer task, off the request path.

use super::event::{AuditOutcome, DecisionEvent};
use crate::EventReason;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Counts one decision and records its latencies, looking its metrics up in
/// the recorder: for the rare event the writer does not see (one dropped
/// from a full queue).
pub(crate) fn decision(d: &DecisionEvent) {
    decisions_counter(d.outcome, d.reason, d.route().unwrap_or("none")).increment(1);
    record_latencies(
        d,
        &metrics::histogram!("rampgate_request_duration_seconds"),
        &metrics::histogram!("rampgate_verify_duration_seconds"),
    );
}

fn decisions_counter(outcome: AuditOutcome, reason: EventReason, route: &str) -> metrics::Counter {
    metrics::counter!(
        "rampgate_decisions_total",
        "outcome" => outcome.as_str(),
        "reason" => reason.as_str(),
        "route" => route.to_owned(),
    )
}

fn record_latencies(d: &DecisionEvent, request: &metrics::Histogram, verify: &metrics::Histogram) {
    request.record(d.latency_us as f64 / 1_000_000.0);
    if let Some(us) = d.verify_us {
        verify.record(us as f64 / 1_000_000.0);
    }
}

/// How long the writer keeps the handles it looked up: a recorder installed
/// after the auditor was built is used from then on within this long.
const REFRESH: Duration = Duration::from_secs(1);

/// The most `rampgate_decisions_total` handles kept (routes are templates,
/// so few; past this many the cache starts over).
const MOST_COUNTERS: usize = 4096;

/// The writer's handles of the decision metrics. Looking a labelled counter
/// up in the recorder builds its key (and the route label's `String`) and
/// hashes it, which cost more than everything else the writer does with an
/// event: the handles are kept, and looked up again every [`REFRESH`].
pub(crate) struct DecisionMetrics {
    /// By outcome and reason (foldhash: a handful of fixed keys), then by
    /// route: SipHash there, since without matched templates the route is the
    /// client's raw path.
    counters: foldhash::HashMap<(AuditOutcome, EventReason), HashMap<String, metrics::Counter>>,
    kept: usize,
    request: metrics::Histogram,
    verify: metrics::Histogram,
    fetched: Instant,
}

impl DecisionMetrics {
    pub(crate) fn new() -> Self {
        DecisionMetrics {
            counters: Default::default(),
            kept: 0,
            request: metrics::histogram!("rampgate_request_duration_seconds"),
            verify: metrics::histogram!("rampgate_verify_duration_seconds"),
            fetched: Instant::now(),
        }
    }

    /// Starts over when the handles are older than [`REFRESH`]; once per batch.
    pub(crate) fn refresh(&mut self) {
        if self.fetched.elapsed() >= REFRESH {
            *self = DecisionMetrics::new();
        }
    }

    /// Counts one decision and records its latencies, as [`decision`] does.
    pub(crate) fn decision(&mut self, d: &DecisionEvent) {
        let route = d.route().unwrap_or("none");
        let by_route = self.counters.entry((d.outcome, d.reason)).or_default();
        match by_route.get(route) {
            Some(counter) => counter.increment(1),
            None => {
                let counter = decisions_counter(d.outcome, d.reason, route);
                counter.increment(1);
                if self.kept >= MOST_COUNTERS {
                    // Routes are templates, so this takes a flood of paths
                    // (a service without axum's matched paths): start over.
                    self.counters.clear();
                    self.kept = 0;
                }
                self.counters
                    .entry((d.outcome, d.reason))
                    .or_default()
                    .insert(route.to_owned(), counter);
                self.kept += 1;
            }
        }
        record_latencies(d, &self.request, &self.verify);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;

    /// Counts what is registered and what the counters add up to, by key.
    #[derive(Default)]
    struct Counting {
        registered: AtomicU64,
        counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    }

    impl Counting {
        fn total(&self, key: &str) -> u64 {
            let counters = self.counters.lock().unwrap();
            counters.get(key).map_or(0, |c| c.load(Ordering::Relaxed))
        }
    }

    impl Recorder for Counting {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            self.registered.fetch_add(1, Ordering::Relaxed);
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            let mut counters = self.counters.lock().unwrap();
            Counter::from_arc(Arc::clone(counters.entry(name).or_default()))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    fn event(reason: EventReason, route: &str) -> DecisionEvent {
        let mut d = DecisionEvent::new(
            SystemTime::UNIX_EPOCH,
            "r".parse().unwrap(),
            http::Method::GET,
        );
        d.reason = reason;
        d.matched_route = Some(route.to_owned());
        d
    }

    const ME: &str = "rampgate_decisions_total{outcome=allow,reason=allowed,route=GET /me}";

    #[test]
    fn the_writer_looks_each_counter_up_once_and_counts_every_decision() {
        let recorder = Counting::default();
        metrics::with_local_recorder(&recorder, || {
            let mut kept = DecisionMetrics::new();
            for _ in 0..3 {
                kept.decision(&event(EventReason::Allowed, "GET /me"));
            }
            kept.decision(&event(EventReason::Allowed, "GET /other"));
            // The same figures as the uncached path's.
            decision(&event(EventReason::Allowed, "GET /me"));
        });
        assert_eq!(recorder.total(ME), 4);
        assert_eq!(
            recorder
                .total("rampgate_decisions_total{outcome=allow,reason=allowed,route=GET /other}"),
            1
        );
        // Two by the writer (one per route), one by the uncached path.
        assert_eq!(recorder.registered.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_recorder_installed_after_the_writer_started_is_used_after_a_refresh() {
        // Handles taken before any recorder: no-ops.
        let mut kept = DecisionMetrics::new();
        kept.decision(&event(EventReason::Allowed, "GET /me"));
        let recorder = Counting::default();
        metrics::with_local_recorder(&recorder, || {
            // Within REFRESH, whatever the machine's speed: no new look-up.
            kept.fetched = Instant::now();
            kept.refresh();
            kept.decision(&event(EventReason::Allowed, "GET /me"));
            assert_eq!(
                recorder.total(ME),
                0,
                "still the old handles within REFRESH"
            );
            kept.fetched -= REFRESH;
            kept.refresh();
            kept.decision(&event(EventReason::Allowed, "GET /me"));
        });
        assert_eq!(recorder.total(ME), 1);
    }
}
