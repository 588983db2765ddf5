//! The report as an aligned plain-text table, then the verdicts and the
//! least-privilege findings.

use super::analysis::{Analysis, Counts};
use super::words::{
    counted, details, duration, label, message, privilege_findings, privilege_subject,
    revocations_line, step_title,
};
use crate::plural::{count, number};
use rampgate_core::escape_control;

/// `400 (100.0%)`, or `-` without requests.
pub(crate) fn cell(counts: &Counts, n: u64) -> String {
    match counts.rate(n) {
        Some(rate) => format!("{} ({:.1}%)", number(n), rate * 100.0),
        None => "-".to_owned(),
    }
}

/// Columns padded to their widest cell; `right` columns aligned right.
/// Cells are shown with their control characters escaped (see [`put`]).
fn table(header: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| escape_control(c).into_owned()).collect())
        .collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                line.push_str("  ");
            }
            if right[i] {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i + 1 < row.len() {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Appends `text` as one line, its control characters escaped: the report
/// shows values read from audit files (consumers, routes, scopes, times), which
/// the tokens' holders chose, and a newline or an ESC in one must not forge a
/// line or drive the terminal.
fn put(out: &mut String, text: std::fmt::Arguments<'_>) {
    out.push_str(&escape_control(&text.to_string()));
    out.push('\n');
}

/// The whole report.
pub(crate) fn render(a: &Analysis) -> String {
    let mut out = String::new();
    header(&mut out, a);
    out.push('\n');
    out.push_str(&traffic_table(a));
    verdicts(&mut out, a);
    least_privilege(&mut out, a);
    let s = &a.summary;
    out.push('\n');
    put(
        &mut out,
        format_args!(
            "Summary: {} safe, {} breaks, {} review, {} not enough data, {} no data",
            s.safe, s.breaks, s.review, s.not_enough_data, s.no_data
        ),
    );
    out
}

/// The contract, the input files, the window and the threshold.
fn header(out: &mut String, a: &Analysis) {
    put(
        out,
        format_args!(
            "Ramp report for {} (contract version {})",
            a.contract.file, a.contract.version
        ),
    );
    for f in &a.input.files {
        put(
            out,
            format_args!(
                "input:  {}: {} ({}, {}, {} malformed)",
                f.file,
                count(f.lines, "line"),
                count(f.decisions, "decision"),
                count(f.other_events, "other event"),
                number(f.malformed as u64)
            ),
        );
    }
    match (&a.window.first, &a.window.last) {
        (Some(first), Some(last)) => put(
            out,
            format_args!(
                "window: {first} .. {last} ({}), {} decisions{}",
                duration(a.window.seconds),
                number(a.input.in_window as u64),
                match &a.window.since {
                    Some(since) => format!(" since {since}"),
                    None => String::new(),
                }
            ),
        ),
        _ => put(out, format_args!("window: no decision event in the window")),
    }
    if let Some(line) = revocations_line(&a.revocations) {
        put(out, format_args!("{line}"));
    }
    let versions: Vec<String> = a
        .input
        .contract_versions
        .iter()
        .map(u64::to_string)
        .collect();
    if !versions.is_empty() && versions != [a.contract.version.to_string()] {
        put(
            out,
            format_args!(
                "note:   the requests were decided by contract versions {}; verdicts use version {}'s routes and stages",
                versions.join(", "),
                a.contract.version
            ),
        );
    }
    put(
        out,
        format_args!(
            "a verdict needs at least {} requests (--min-requests)",
            number(a.min_requests)
        ),
    );
}

/// One row per consumer on each route; a row for a route without traffic.
fn traffic_table(a: &Analysis) -> String {
    let mut rows = Vec::new();
    for r in &a.routes {
        let route = r.route.as_deref().unwrap_or("(no route)").to_owned();
        let mode = r
            .mode
            .clone()
            .unwrap_or_else(|| "not in contract".to_owned());
        if r.consumers.is_empty() {
            let mut row = vec![route, mode];
            row.extend(["-", "-", "0", "-", "-", "-", "no traffic"].map(str::to_owned));
            rows.push(row);
            continue;
        }
        for c in &r.consumers {
            let mut miss = counted(&c.would_miss);
            if miss.is_empty() {
                miss = "-".to_owned();
            }
            rows.push(vec![
                route.clone(),
                mode.clone(),
                c.consumer.clone().unwrap_or_else(|| "(none)".to_owned()),
                c.stage.clone().unwrap_or_else(|| "-".to_owned()),
                number(c.counts.requests),
                cell(&c.counts, c.counts.allowed),
                cell(&c.counts, c.counts.denied),
                cell(&c.counts, c.counts.observe_denied),
                miss,
            ]);
        }
    }
    table(
        &[
            "ROUTE",
            "MODE",
            "CONSUMER",
            "STAGE",
            "REQUESTS",
            "ALLOWED",
            "DENIED",
            "OBSERVE-DENIED",
            "WOULD MISS",
        ],
        &rows,
        &[false, false, false, false, true, true, true, true, false],
    )
}

/// The verdicts with their details, then what had no traffic.
fn verdicts(out: &mut String, a: &Analysis) {
    out.push_str("\nVerdicts:\n");
    if a.verdicts.is_empty() {
        out.push_str("  no roll-out step to judge: every route is enforced and every consumer is at its last stage\n");
    }
    for v in &a.verdicts {
        put(
            out,
            format_args!("  [{}] {}: {}", label(v.verdict), step_title(v), message(v)),
        );
        for line in details(v) {
            put(out, format_args!("      {line}"));
        }
    }
    if !a.no_traffic.routes.is_empty() || !a.no_traffic.consumers.is_empty() {
        out.push_str("\nNo traffic in the window (no data: cannot judge):\n");
        if !a.no_traffic.routes.is_empty() {
            put(
                out,
                format_args!("  routes:    {}", a.no_traffic.routes.join(", ")),
            );
        }
        if !a.no_traffic.consumers.is_empty() {
            put(
                out,
                format_args!("  consumers: {}", a.no_traffic.consumers.join(", ")),
            );
        }
    }
}

/// Each consumer's grant against its use, and what the evidence recommends.
fn least_privilege(out: &mut String, a: &Analysis) {
    if a.least_privilege.is_empty() {
        return;
    }
    out.push_str("\nLeast privilege (granted but unused, carried but not granted):\n");
    for lp in &a.least_privilege {
        put(
            out,
            format_args!(
                "  {}: used {}; unused {}; over-issued {}",
                privilege_subject(lp),
                none_if_empty(counted(&lp.use_counts)),
                none_if_empty(lp.unused.iter().cloned().collect::<Vec<_>>().join(", ")),
                none_if_empty(counted(&lp.over_issued_counts)),
            ),
        );
        if !lp.per_tool.is_empty() {
            let tools: Vec<String> = lp
                .per_tool
                .iter()
                .map(|(tool, scopes)| format!("{tool} used {}", none_if_empty(counted(scopes))))
                .collect();
            put(out, format_args!("      per tool: {}", tools.join("; ")));
        }
        for finding in privilege_findings(lp, a.window.seconds, a.min_requests) {
            put(out, format_args!("      {finding}"));
        }
    }
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}
