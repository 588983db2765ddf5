//! `rampgate revoke` and `rampgate revocations`: their arguments.

use clap::{Args, Subcommand, ValueEnum};
use std::time::{Duration, SystemTime};

/// What a revocation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    /// One token, by its `jti`
    Jti,
    /// Every token of a subject (`sub`) issued before the cut-off
    Subject,
    /// Every token of a consumer (`client_id` or `azp`) issued before the cut-off
    Consumer,
    /// Every token a key signed (`kid`; needs --iss)
    Kid,
}

/// Where the revocations are: the Redis every replica's store follows.
#[derive(Debug, Args)]
pub(crate) struct RedisArgs {
    /// The Redis server the replicas share, redis://host:port[/db] ([revocation] redis_url)
    #[arg(long, value_name = "URL")]
    pub(crate) redis: String,
    /// The prefix of the keys and channel ([revocation] prefix)
    #[arg(long, value_name = "PREFIX", default_value = "rampgate")]
    pub(crate) prefix: String,
}

/// `rampgate revoke`.
#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// What VALUE names
    #[arg(value_enum)]
    pub(crate) kind: Kind,
    /// The jti, subject, client_id or kid
    pub(crate) value: String,
    /// Limit the revocation to this issuer's tokens (required for kid)
    #[arg(long, value_name = "ISS")]
    pub(crate) iss: Option<String>,
    /// When the revocation lapses: RFC 3339 (2026-12-01T00:00:00Z) or a delay (90s, 30m, 12h, 7d).
    /// For a jti: the token's exp (24 hours from now when not given); others last until removed
    #[arg(long, value_name = "T", value_parser = parse_instant)]
    pub(crate) until: Option<SystemTime>,
    /// For subject and consumer: refuse tokens issued before this instant (default: now)
    #[arg(long, value_name = "T", value_parser = parse_past_instant)]
    pub(crate) issued_before: Option<SystemTime>,
    #[command(flatten)]
    pub(crate) redis: RedisArgs,
    /// Print the revocation as stored, as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RevocationsCommand {
    /// List every revocation in force, ordered by kind, value and issuer
    List {
        #[command(flatten)]
        redis: RedisArgs,
        /// One JSON array on standard output
        #[arg(long)]
        json: bool,
    },
    /// Remove a revocation: every replica accepts the tokens again. Exit status 1 when there was none
    Remove {
        /// What VALUE names
        #[arg(value_enum)]
        kind: Kind,
        /// The jti, subject, client_id or kid
        value: String,
        /// The issuer the revocation was limited to (as given to `revoke`)
        #[arg(long, value_name = "ISS")]
        iss: Option<String>,
        #[command(flatten)]
        redis: RedisArgs,
    },
}

/// A delay such as `90s`, `30m`, `12h`, `7d`, in seconds.
fn parse_delay(text: &str) -> Option<u64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let amount: u64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    amount.checked_mul(scale)
}

/// An RFC 3339 date-time, or a delay from now.
fn parse_instant(text: &str) -> Result<SystemTime, String> {
    if let Some(secs) = parse_delay(text) {
        return SystemTime::now()
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(|| "the delay is too long".to_owned());
    }
    rampgate_core::time::parse_rfc3339(text).map_err(|_| {
        "expected an RFC 3339 date-time such as 2026-12-01T00:00:00Z, or a delay such as 90s, 30m, 12h or 7d".to_owned()
    })
}

/// An RFC 3339 date-time, or a delay back from now.
fn parse_past_instant(text: &str) -> Result<SystemTime, String> {
    if let Some(secs) = parse_delay(text) {
        return SystemTime::now()
            .checked_sub(Duration::from_secs(secs))
            .ok_or_else(|| "the delay is too long".to_owned());
    }
    parse_instant(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_and_dates_are_read() {
        assert_eq!(parse_delay("90s"), Some(90));
        assert_eq!(parse_delay("7d"), Some(604_800));
        assert_eq!(parse_delay("7"), None);
        assert_eq!(parse_delay("h"), None);
        assert_eq!(parse_delay("5µ"), None);
        assert!(parse_instant("2026-12-01T00:00:00Z").is_ok());
        assert!(parse_instant("tomorrow").unwrap_err().contains("RFC 3339"));
        assert!(parse_past_instant("1h").unwrap() < SystemTime::now());
    }
}
