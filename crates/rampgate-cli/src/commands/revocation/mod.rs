//! `rampgate revoke` and `rampgate revocations list | remove`: the shared
//! revocation store's Redis, changed directly (no token, no replica needed),
//! through the core's own store code, so every replica applies the change
//! within moments.

mod args;

pub(crate) use args::{RevocationsCommand, RevokeArgs};

use crate::time::rfc3339_ms;
use crate::{Report, Status, to_json};
use args::{Kind, RedisArgs};
use rampgate_core::{
    RedisRevocations, RedisStoreError, RedisStoreOptions, Revocation, RevokedBy, escape_control,
};
use std::time::SystemTime;

impl Kind {
    fn by(self) -> RevokedBy {
        match self {
            Kind::Jti => RevokedBy::Jti,
            Kind::Subject => RevokedBy::Sub,
            Kind::Consumer => RevokedBy::Consumer,
            Kind::Kid => RevokedBy::Kid,
        }
    }
}

/// `cli:$USER@host`: who made the change, for every replica's audit event.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("cli:{user}@{host}")
}

/// Runs `f` with a connection to the Redis of `redis`, on a runtime of its own.
fn with_redis<F>(redis: &RedisArgs, f: impl FnOnce(RedisRevocations) -> F) -> Report
where
    F: Future<Output = Report>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return Report::error(
                Status::Trouble,
                format!("error: cannot start the async runtime: {e}\n"),
            );
        }
    };
    let options = RedisStoreOptions::new(redis.redis.as_str()).prefix(redis.prefix.as_str());
    runtime.block_on(async move {
        match RedisRevocations::connect(&options).await {
            Ok(conn) => f(conn).await,
            Err(e) => trouble(&e),
        }
    })
}

fn trouble(e: &RedisStoreError) -> Report {
    Report::error(Status::Trouble, format!("error: {e}\n"))
}

fn time(t: Option<SystemTime>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| rfc3339_ms(crate::time::millis(t)))
}

/// One line per revocation: kind, value, issuer, cut-off, expiry.
fn line(r: &Revocation) -> String {
    format!(
        "{} {} iss={} issued_before={} until={}\n",
        r.by,
        escape_control(&r.value),
        r.iss.as_deref().map_or_else(|| "-".into(), escape_control),
        time(r.issued_before),
        time(r.until),
    )
}

/// `rampgate revoke`.
pub(crate) fn revoke(args: RevokeArgs) -> Report {
    let mut revocation = Revocation::new(args.kind.by(), args.value);
    revocation.iss = args.iss;
    revocation.until = args.until;
    revocation.issued_before = args.issued_before;
    if matches!(args.kind, Kind::Subject | Kind::Consumer) && revocation.issued_before.is_none() {
        revocation.issued_before = Some(SystemTime::now());
    }
    let json = args.json;
    with_redis(&args.redis, async move |redis| {
        match redis.revoke(revocation, Some(&actor())).await {
            Ok(stored) if json => Report::ok(to_json(&stored)),
            Ok(stored) => Report::ok(format!("revoked: {}", line(&stored))),
            Err(RedisStoreError::Invalid(e)) => {
                Report::error(Status::Trouble, format!("error: {e}\n"))
            }
            Err(e) => trouble(&e),
        }
    })
}

/// `rampgate revocations list | remove`.
pub(crate) fn run(command: RevocationsCommand) -> Report {
    match command {
        RevocationsCommand::List { redis, json } => {
            with_redis(&redis, async move |redis| match redis.list().await {
                Ok(all) if json => Report::ok(to_json(&all)),
                Ok(all) => Report::ok(all.iter().map(line).collect()),
                Err(e) => trouble(&e),
            })
        }
        RevocationsCommand::Remove {
            kind: Kind::Kid,
            iss: None,
            ..
        } => Report::error(
            Status::Trouble,
            "error: a kid revocation is per issuer: --iss is required (as given to `rampgate revoke kid`; see `rampgate revocations list`)\n".into(),
        ),
        RevocationsCommand::Remove {
            kind,
            value,
            iss,
            redis,
        } => with_redis(&redis, async move |redis| {
            match redis
                .unrevoke(kind.by(), &value, iss.as_deref(), Some(&actor()))
                .await
            {
                Ok(Some(removed)) => Report::ok(format!("removed: {}", line(&removed))),
                Ok(None) => Report::error(
                    Status::Failed,
                    format!(
                        "no {} revocation of {}{}: nothing removed (see `rampgate revocations list`)\n",
                        kind.by(),
                        escape_control(&value),
                        iss.map(|i| format!(" for issuer {}", escape_control(&i)))
                            .unwrap_or_default()
                    ),
                ),
                Err(e) => trouble(&e),
            }
        }),
    }
}
