//! The store's background task: connect, resynchronise, follow the
//! channel, write the changes made through the trait; reconnect on failure.

use super::shared::{Op, Shared};
use super::wire::{connection_config, read_all, write_revoke, write_unrevoke};
use redis::aio::MultiplexedConnection;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

/// The first wait before a reconnect; doubled up to [`MAX_BACKOFF`].
pub(super) const MIN_BACKOFF: Duration = Duration::from_millis(100);
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The background task: connect, resynchronise, follow the channel; on any
/// failure, wait and start again. Ends when the store is dropped.
pub(super) async fn run(
    client: redis::Client,
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Op>,
) {
    let mut pending: VecDeque<Op> = VecDeque::new();
    let mut backoff = MIN_BACKOFF;
    loop {
        match session(&client, &shared, &mut rx, &mut pending, &mut backoff).await {
            Ok(()) => return,
            Err(e) => shared.mark_down(&e),
        }
        let sleep = tokio::time::sleep(backoff);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                op = rx.recv() => match op {
                    Some(op) => pending.push_back(op),
                    None => return,
                },
            }
        }
        shared.log_if_stale();
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

pub(super) fn io_error(what: &'static str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// One connection's life. `Ok` when the store was dropped; `Err` when Redis
/// failed.
pub(super) async fn session(
    client: &redis::Client,
    shared: &Shared,
    rx: &mut mpsc::UnboundedReceiver<Op>,
    pending: &mut VecDeque<Op>,
    backoff: &mut Duration,
) -> redis::RedisResult<()> {
    let timeout = shared.options.check_interval.max(Duration::from_secs(1));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&connection_config(timeout))
        .await?;
    let pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
        .await
        .map_err(|_| io_error("connecting for pub/sub timed out"))??;
    let (mut sink, mut stream) = pubsub.split();
    // Subscribed before reading the set: no change falls between the two.
    tokio::time::timeout(timeout, sink.subscribe(&shared.names.channel))
        .await
        .map_err(|_| io_error("subscribing timed out"))??;
    flush(&mut conn, shared, pending).await?;
    let all = read_all(&mut conn, &shared.names).await?;
    shared.mirror.replace_all(&all);
    shared.mark_up(all.len());
    *backoff = MIN_BACKOFF;
    let mut tick = tokio::time::interval(shared.options.check_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(msg) => match msg.get_payload::<String>() {
                    Ok(payload) => shared.apply_message(&payload),
                    Err(e) => tracing::warn!(error = %e, "revocation store: unreadable message; ignored"),
                },
                None => return Err(io_error("the pub/sub connection closed")),
            },
            op = rx.recv() => match op {
                Some(op) => {
                    pending.push_back(op);
                    flush(&mut conn, shared, pending).await?;
                }
                None => return Ok(()),
            },
            _ = tick.tick() => {
                redis::cmd("PING").query_async::<String>(&mut conn).await?;
                tokio::time::timeout(timeout, sink.ping::<redis::Value>())
                    .await
                    .map_err(|_| io_error("pub/sub ping timed out"))??;
                shared.touch();
            }
        }
    }
}

/// Writes the changes made through the trait, oldest first; each is also
/// applied to the mirror again (silently), in case a resynchronisation
/// replaced the mirror before the change reached Redis. A revocation that
/// lapsed while it waited is not written; one Redis refuses (rather than
/// failing to answer) is logged and dropped, so that one bad change cannot
/// hold the connection in a reconnect loop.
pub(super) async fn flush(
    conn: &mut MultiplexedConnection,
    shared: &Shared,
    pending: &mut VecDeque<Op>,
) -> redis::RedisResult<()> {
    let margin = shared.options.expiry_margin;
    while let Some(op) = pending.front() {
        let now = SystemTime::now();
        let written = match op {
            Op::Revoke(r, _) if r.until.is_some_and(|u| u + margin <= now) => Ok(()),
            Op::Revoke(r, actor) => {
                let names = &shared.names;
                let written =
                    write_revoke(conn, names, r, actor.as_deref(), &shared.origin, margin).await;
                if written.is_ok() {
                    shared
                        .mirror
                        .apply(std::slice::from_ref(r), None, now, false);
                }
                written
            }
            Op::Unrevoke(by, value, iss, actor) => {
                let target = (*by, value.as_str(), iss.as_deref());
                let written = write_unrevoke(
                    conn,
                    &shared.names,
                    target,
                    actor.as_deref(),
                    &shared.origin,
                )
                .await;
                if written.is_ok() {
                    let _ = shared
                        .mirror
                        .remove(*by, value, iss.as_deref(), None, false);
                }
                written.map(|_| ())
            }
        };
        match written {
            Ok(()) => {}
            Err(e)
                if e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal() =>
            {
                return Err(e);
            }
            Err(e) => tracing::error!(
                error = %e,
                change = ?op,
                "revocation store: Redis refused a change; it holds on this replica only"
            ),
        }
        pending.pop_front();
    }
    Ok(())
}
