//! `rampgate ramp`: its subcommands and their arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(crate) enum RampCommand {
    /// Report per route and consumer from audit files, with a verdict for each roll-out step
    ///
    /// Reads the `decision` events of the audit files (JSON Lines; other event types and unknown
    /// fields are skipped; a malformed line is reported as FILE:LINE on standard error, counted and
    /// skipped) and prints, per route and consumer, the allowed, denied and observe-denied
    /// requests and the scopes the observe-denied ones would have missed. Then a verdict for each
    /// roll-out step the contract leaves open: enforcing each route in `observe` or `N%` mode, and
    /// advancing each consumer whose ramp has a next stage: safe, breaks, review, not enough data
    /// (fewer than --min-requests) or no data. Exit status 0 when the report is produced and no
    /// step would break consumers, 1 when one would, 2 when the input cannot be read (no file,
    /// an invalid contract, or not one valid event in the files).
    #[command(
        after_long_help = "Examples:\n  rampgate ramp report audit.jsonl audit.jsonl.1 --contract contract.toml\n  rampgate ramp report audit.jsonl --contract contract.toml --window 3d --json\n  rampgate ramp report audit.jsonl --contract contract.toml --html ramp.html"
    )]
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The audit files (JSON Lines), in any order: rotated files too (audit.jsonl.1 ...)
    #[arg(required = true, value_name = "AUDIT.jsonl")]
    pub(crate) files: Vec<PathBuf>,
    /// The contract the roll-out follows (TOML): its routes' modes and consumers' stages
    #[arg(long, value_name = "FILE")]
    pub(crate) contract: PathBuf,
    /// Only requests at or after this time (RFC 3339, such as 2026-11-26T00:00:00Z)
    #[arg(long, value_name = "RFC3339", value_parser = parse_since, conflicts_with = "window")]
    pub(crate) since: Option<i64>,
    /// Only requests in this period before the latest request in the files (3d, 12h, 90m, 2w)
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    pub(crate) window: Option<i64>,
    /// Below this many requests in the window, a step's verdict is "not enough data"
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) min_requests: u64,
    /// Print one JSON object instead of the table (structure in docs/contracts.md)
    #[arg(long, conflicts_with = "html")]
    pub(crate) json: bool,
    /// Also write the report as one self-contained HTML page (inline CSS and SVG charts)
    #[arg(long, value_name = "OUT.html")]
    pub(crate) html: Option<PathBuf>,
}

fn parse_since(text: &str) -> Result<i64, String> {
    crate::time::parse_rfc3339_ms(text)
}

/// A duration such as `3d`, `12h`, `90m`, `45s` or `2w`, in milliseconds.
fn parse_window(text: &str) -> Result<i64, String> {
    let shape = "expected a number and a unit, such as 3d, 12h, 90m, 45s or 2w";
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{shape} (no unit)"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| shape.to_owned())?;
    let per = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(format!("{shape} (unknown unit {unit:?})")),
    };
    if n == 0 {
        return Err("the window must be longer than 0".to_owned());
    }
    n.checked_mul(per)
        .filter(|ms| *ms <= 100 * 365 * 86_400_000)
        .ok_or_else(|| "the window is longer than 100 years".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_have_a_unit() {
        assert_eq!(parse_window("3d"), Ok(3 * 86_400_000));
        assert_eq!(parse_window("90m"), Ok(90 * 60_000));
        assert!(parse_window("3").is_err());
        assert!(parse_window("3y").is_err());
        assert!(parse_window("0h").is_err());
        assert!(parse_window("-3h").is_err());
        assert!(parse_window("99999999999999999999d").is_err());
    }
}
