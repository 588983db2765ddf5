//! The time the report covers, and the decisions inside it.

use super::Options;
use crate::commands::ramp::audit::{Decision, ts_ms};
use crate::time::rfc3339_ms;

/// The time the report covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Window {
    /// The first and last event in the window (RFC 3339 UTC); `null` without events.
    pub(crate) first: Option<String>,
    pub(crate) last: Option<String>,
    /// Seconds from first to last.
    pub(crate) seconds: i64,
    /// `--since`, or the start `--window` gives, when one is set.
    pub(crate) since: Option<String>,
    /// Where the window starts (ms), when `--since` or `--window` is set.
    #[serde(skip)]
    pub(crate) start_ms: Option<i64>,
    #[serde(skip)]
    pub(crate) first_ms: i64,
    #[serde(skip)]
    pub(crate) last_ms: i64,
}

/// The window `options` ask for, and the decisions in it: from `--since`,
/// else from `--window` before the latest decision, else all of them.
pub(crate) fn select<'d>(
    decisions: &'d [Decision],
    options: &Options,
) -> (Window, Vec<&'d Decision>) {
    let latest = decisions.iter().map(ts_ms).max();
    let start = match (options.since, options.window, latest) {
        (Some(since), _, _) => Some(since),
        (None, Some(window), Some(latest)) => Some(latest.saturating_sub(window)),
        _ => None,
    };
    let events: Vec<&Decision> = decisions
        .iter()
        .filter(|e| start.is_none_or(|start| ts_ms(e) >= start))
        .collect();
    let first_ms = events.iter().map(|e| ts_ms(e)).min().unwrap_or(0);
    let last_ms = events.iter().map(|e| ts_ms(e)).max().unwrap_or(0);
    let window = Window {
        first: (!events.is_empty()).then(|| rfc3339_ms(first_ms)),
        last: (!events.is_empty()).then(|| rfc3339_ms(last_ms)),
        seconds: (last_ms - first_ms) / 1000,
        since: start.map(rfc3339_ms),
        start_ms: start,
        first_ms,
        last_ms,
    };
    (window, events)
}
