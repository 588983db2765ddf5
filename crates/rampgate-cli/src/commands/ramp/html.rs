//! The report as one self-contained HTML page: inline CSS, inline SVG charts,
//! no script and no external resource. Every string is escaped: the audit
//! files are untrusted input (a consumer name may be `<script>`).

use super::analysis::{Analysis, Counts, RouteReport, Verdict};
use super::text::cell;
use super::words::{
    counted, details, duration, label, message, privilege_findings, privilege_subject,
    revocations_line, step_title,
};
use crate::plural::{count, number};
use crate::time::rfc3339_ms;
use rampgate_core::audit::AuditOutcome as Outcome;
use std::fmt::Write as _;

/// Text and attribute values, escaped for HTML.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2430; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #d8dde6; padding-bottom: .3rem; }
code, .mono { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d8dde6; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f2f4f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: .3rem; font-weight: 600; font-size: .8rem; color: #fff; }
.safe { background: #2f8a46; } .breaks { background: #c0392b; } .review { background: #b9770e; }
.not_enough_data { background: #6c7a89; } .no_data { background: #95a0ad; }
ul.verdicts { list-style: none; padding: 0; } ul.verdicts li { margin: .5rem 0; }
ul.details { margin: .2rem 0 0 1.2rem; color: #3b4658; font-size: .9rem; }
.meta { color: #4b5565; font-size: .9rem; }
svg { display: block; margin: .4rem 0; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 .8rem; vertical-align: middle; }
";

const ALLOWED: &str = "#4a9f5b";
const OBSERVE: &str = "#e08a1e";
const DENIED: &str = "#c43c3c";

/// A bucket size (seconds) that gives at most 96 bars over `span` seconds.
fn bucket_seconds(span: i64) -> i64 {
    const SIZES: [i64; 10] = [
        60,
        300,
        900,
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        7 * 86_400,
        30 * 86_400,
    ];
    for size in SIZES {
        if span / size < 96 {
            return size;
        }
    }
    span / 95 + 1
}

/// A bucket size in words: `15 minutes`, `1 hour`, `1 day`.
fn bucket_words(seconds: i64) -> String {
    let (n, unit) = match seconds {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    count(n as usize, unit)
}

/// The chart of one route: allowed, observe-denied and denied requests per
/// bucket, stacked.
fn chart(route: &RouteReport, first_ms: i64, last_ms: i64) -> String {
    let bucket = bucket_seconds((last_ms - first_ms) / 1000) * 1000;
    let start = first_ms - first_ms.rem_euclid(bucket);
    let n = ((last_ms - start) / bucket + 1).max(1) as usize;
    let mut buckets = vec![Counts::default(); n];
    for (ts, outcome) in &route.timeline {
        let i = (((ts - start) / bucket).max(0) as usize).min(n - 1);
        let b = &mut buckets[i];
        b.requests += 1;
        match outcome {
            Outcome::Allow => b.allowed += 1,
            Outcome::Deny => b.denied += 1,
            Outcome::ObserveDeny => b.observe_denied += 1,
        }
    }
    let max = buckets.iter().map(|b| b.requests).max().unwrap_or(0).max(1);
    let (width, height, left, bottom, top) = (760.0_f64, 190.0_f64, 48.0, 24.0, 8.0);
    let plot_w = width - left - 8.0;
    let plot_h = height - bottom - top;
    let bar_w = plot_w / n as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        escape(&format!(
            "requests to {} over time",
            route.route.as_deref().unwrap_or("(no route)")
        ))
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{:.1}\" stroke=\"#888\"/><line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>",
        top + plot_h,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">0</text>",
        left - 4.0,
        top + 10.0,
        number(max),
        left - 4.0,
        top + plot_h
    );
    for (i, b) in buckets.iter().enumerate() {
        if b.requests == 0 {
            continue;
        }
        let x = left + i as f64 * bar_w;
        let mut y = top + plot_h;
        let from = rfc3339_ms(start + i as i64 * bucket);
        let _ = write!(
            svg,
            "<g><title>{}</title>",
            escape(&format!(
                "{from} (+{}): {} allowed, {} observe-denied, {} denied",
                bucket_words(bucket / 1000),
                number(b.allowed),
                number(b.observe_denied),
                number(b.denied)
            ))
        );
        for (count, color) in [
            (b.allowed, ALLOWED),
            (b.observe_denied, OBSERVE),
            (b.denied, DENIED),
        ] {
            if count == 0 {
                continue;
            }
            let h = count as f64 / max as f64 * plot_h;
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"{color}\"/>",
                (bar_w - 1.0).max(0.5)
            );
        }
        svg.push_str("</g>");
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"{:.1}\" font-size=\"11\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
        height - 6.0,
        escape(&rfc3339_ms(start)),
        left + plot_w,
        height - 6.0,
        escape(&rfc3339_ms(start + n as i64 * bucket)),
    );
    svg.push_str("</svg>");
    let _ = write!(
        svg,
        "<div class=\"legend meta\">one bar per {}:<span style=\"background:{ALLOWED}\"></span>allowed<span style=\"background:{OBSERVE}\"></span>observe-denied<span style=\"background:{DENIED}\"></span>denied</div>",
        escape(&bucket_words(bucket / 1000))
    );
    svg
}

/// The page.
pub(crate) fn render(a: &Analysis) -> String {
    let mut out = String::new();
    let title = format!("Ramp report: {}", a.contract.file);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    header(&mut out, a);
    verdicts(&mut out, a);
    least_privilege(&mut out, a);
    for r in &a.routes {
        route(&mut out, r, a);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The contract, the window, the input files and their malformed lines.
fn header(out: &mut String, a: &Analysis) {
    let _ = writeln!(
        out,
        "<p class=\"meta\">contract version {}; {}</p>",
        a.contract.version,
        escape(&match (&a.window.first, &a.window.last) {
            (Some(first), Some(last)) => format!(
                "window {first} .. {last} ({}), {} decisions",
                duration(a.window.seconds),
                number(a.input.in_window as u64)
            ),
            _ => "no decision event in the window".to_owned(),
        })
    );
    if let Some(line) = revocations_line(&a.revocations) {
        let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&line));
    }
    out.push_str("<ul class=\"meta\">\n");
    for f in &a.input.files {
        let _ = writeln!(
            out,
            "<li>{}</li>",
            escape(&format!(
                "{}: {}, {}, {}, {} malformed",
                f.file,
                count(f.lines, "line"),
                count(f.decisions, "decision"),
                count(f.other_events, "other event"),
                number(f.malformed as u64)
            ))
        );
    }
    for m in &a.input.malformed {
        let _ = writeln!(
            out,
            "<li>{}</li>",
            escape(&format!(
                "{}:{}: malformed line skipped: {}",
                m.file, m.line, m.error
            ))
        );
    }
    out.push_str("</ul>\n");
}

/// The verdicts, each with its badge and details, then what had no traffic.
fn verdicts(out: &mut String, a: &Analysis) {
    let _ = writeln!(
        out,
        "<h2>Verdicts</h2>\n<p class=\"meta\">A verdict needs at least {} requests (--min-requests). Summary: {} safe, {} breaks, {} review, {} not enough data, {} no data.</p>\n<ul class=\"verdicts\">",
        number(a.min_requests),
        a.summary.safe,
        a.summary.breaks,
        a.summary.review,
        a.summary.not_enough_data,
        a.summary.no_data
    );
    if a.verdicts.is_empty() {
        out.push_str("<li>No roll-out step to judge: every route is enforced and every consumer is at its last stage.</li>\n");
    }
    for v in &a.verdicts {
        let class = match v.verdict {
            Verdict::Safe => "safe",
            Verdict::Breaks => "breaks",
            Verdict::Review => "review",
            Verdict::NotEnoughData => "not_enough_data",
            Verdict::NoData => "no_data",
        };
        let _ = write!(
            out,
            "<li><span class=\"badge {class}\">{}</span> <strong class=\"mono\">{}</strong>: {}",
            label(v.verdict),
            escape(&step_title(v)),
            escape(&message(v))
        );
        let lines = details(v);
        if !lines.is_empty() {
            out.push_str("<ul class=\"details\">");
            for line in lines {
                let _ = write!(out, "<li>{}</li>", escape(&line));
            }
            out.push_str("</ul>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
    if !a.no_traffic.routes.is_empty() || !a.no_traffic.consumers.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong>No traffic in the window (no data: cannot judge):</strong> {}</p>",
            escape(
                &a.no_traffic
                    .routes
                    .iter()
                    .chain(&a.no_traffic.consumers)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
}

/// One route: its mode, its chart and its table of consumers.
fn route(out: &mut String, r: &RouteReport, a: &Analysis) {
    let name = r.route.as_deref().unwrap_or("(no route)");
    let _ = writeln!(out, "<h2 class=\"mono\">{}</h2>", escape(name));
    let _ = writeln!(
        out,
        "<p class=\"meta\">{}</p>",
        escape(&match (&r.mode, &r.requires) {
            (Some(mode), Some(requires)) => format!(
                "mode {mode}; requires {requires}; {} requests",
                number(r.counts.requests)
            ),
            _ => format!(
                "not in the contract; {} requests",
                number(r.counts.requests)
            ),
        })
    );
    if r.counts.requests == 0 {
        out.push_str("<p>No traffic in the window: no data.</p>\n");
        return;
    }
    out.push_str(&chart(r, a.window.first_ms, a.window.last_ms));
    out.push_str("\n<table>\n<tr><th>consumer</th><th>stage</th><th>requests</th><th>allowed</th><th>denied</th><th>observe-denied</th><th>would miss</th><th>reasons</th></tr>\n");
    for c in &r.consumers {
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            escape(c.consumer.as_deref().unwrap_or("(none)")),
            escape(c.stage.as_deref().unwrap_or("-")),
            number(c.counts.requests),
            escape(&cell(&c.counts, c.counts.allowed)),
            escape(&cell(&c.counts, c.counts.denied)),
            escape(&cell(&c.counts, c.counts.observe_denied)),
            escape(&counted(&c.would_miss)),
            escape(&counted(&c.reasons)),
        );
    }
    out.push_str("</table>\n");
}

/// Least privilege: a table per consumer, one row per scope its stage grants
/// or its tokens carried, then what the evidence recommends.
fn least_privilege(out: &mut String, a: &Analysis) {
    if a.least_privilege.is_empty() {
        return;
    }
    out.push_str("<h2>Least privilege</h2>\n<p class=\"meta\">Scopes a consumer's current stage grants that no allowed request needed, and scopes its tokens carried that the stage does not grant.</p>\n");
    for lp in &a.least_privilege {
        let _ = writeln!(
            out,
            "<h3 class=\"mono\">{}</h3>\n<table>\n<tr><th>scope</th><th>granted by the stage</th><th>requests that needed it</th><th>requests whose token carried it</th><th>finding</th></tr>",
            escape(&privilege_subject(lp))
        );
        for scope in &lp.granted {
            let used = lp.use_counts.get(scope).copied().unwrap_or(0);
            let finding = if used > 0 { "used" } else { "unused" };
            let _ = writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td>yes</td><td class=\"num\">{}</td><td class=\"num\">-</td><td>{finding}</td></tr>",
                escape(scope),
                number(used)
            );
        }
        for (scope, carried) in &lp.over_issued_counts {
            let _ = writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td>no</td><td class=\"num\">-</td><td class=\"num\">{}</td><td>over-issued</td></tr>",
                escape(scope),
                number(*carried)
            );
        }
        out.push_str("</table>\n<ul class=\"details\">");
        for (tool, scopes) in &lp.per_tool {
            let _ = write!(
                out,
                "<li>per tool: <span class=\"mono\">{}</span> used {}</li>",
                escape(tool),
                escape(&counted(scopes))
            );
        }
        for finding in privilege_findings(lp, a.window.seconds, a.min_requests) {
            let _ = write!(out, "<li>{}</li>", escape(&finding));
        }
        out.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn buckets_keep_the_bar_count_bounded() {
        assert_eq!(bucket_words(3600), "1 hour");
        assert_eq!(bucket_words(12 * 3600), "12 hours");
        assert_eq!(bucket_words(7 * 86_400), "7 days");
        assert_eq!(bucket_seconds(0), 60);
        assert_eq!(bucket_seconds(3600), 60);
        assert_eq!(bucket_seconds(3 * 86_400), 3600);
        assert_eq!(bucket_seconds(30 * 86_400), 12 * 3600);
        assert!(bucket_seconds(10_000 * 86_400) * 96 > 10_000 * 86_400);
    }
}
