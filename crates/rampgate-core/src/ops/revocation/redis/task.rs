//! The store's background task: connect, resynchronise, follow the
//! channel, write the changes made through the trait; reconnect on failure.

use super::shared::{Op, Shared};
use super::wire::{connection_config, read_all, write_revoke, write_unrevoke};
use redis::aio::MultiplexedConnection;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    let _down_when_ended = EndGuard(Arc::clone(&shared));
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

/// Marks the store disconnected and unsynchronised when the task ends, however
/// it ends (a panic included): health and `FailClosed` then see a dead task.
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.mark_ended();
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
    let read = read_all(&mut conn, &shared.names).await?;
    let all = read.revocations;
    shared.mirror.replace_all(&all);
    shared.skipped.store(read.skipped, Ordering::Release);
    // A change made meanwhile (still in the channel, or queued) is not in
    // Redis's set yet: the replacement must not wipe it from the mirror.
    while let Ok(op) = rx.try_recv() {
        pending.push_back(op);
    }
    reapply(shared, pending);
    shared.mark_up(all.len());
    flush(&mut conn, shared, pending).await?;
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

/// Applies the changes not yet written to the mirror again (silently), oldest
/// first, after a resynchronisation replaced it with Redis's set.
fn reapply(shared: &Shared, pending: &VecDeque<Op>) {
    let now = SystemTime::now();
    for op in pending {
        match op {
            Op::Revoke(r, _) => shared
                .mirror
                .apply(std::slice::from_ref(r), None, now, false),
            Op::Unrevoke(by, value, iss, _) => {
                let _ = shared
                    .mirror
                    .remove(*by, value, iss.as_deref(), None, false);
            }
        }
    }
}

/// Writes the changes made through the trait, oldest first; each is also
/// applied to the mirror again (silently), in case a resynchronisation
/// replaced the mirror before the change reached Redis. A revocation that
/// lapsed while it waited is not written. A change Redis can never accept
/// (see [`never_accepted`]) is dropped, counted and logged at ERROR, so that
/// it cannot hold the queue; any other failure (the connection, or a server
/// that is loading, read-only, out of memory, busy...) keeps it, and every
/// change after it, queued for the next connection.
pub(super) async fn flush(
    conn: &mut MultiplexedConnection,
    shared: &Shared,
    pending: &mut VecDeque<Op>,
) -> redis::RedisResult<()> {
    while let Some(op) = pending.front() {
        match write_one(conn, shared, op).await {
            Ok(()) => {}
            Err(e) if never_accepted(&e) => shared.record_dropped(&e, op),
            Err(e) => return Err(e),
        }
        pending.pop_front();
        shared.dequeued();
    }
    Ok(())
}

/// Writes one change; on success, applies it to the mirror (silently).
async fn write_one(
    conn: &mut MultiplexedConnection,
    shared: &Shared,
    op: &Op,
) -> redis::RedisResult<()> {
    let margin = shared.options.expiry_margin;
    let now = SystemTime::now();
    match op {
        Op::Revoke(r, _) if r.until.is_some_and(|u| lapsed(u, margin, now)) => Ok(()),
        Op::Revoke(r, actor) => {
            write_revoke(
                conn,
                &shared.names,
                r,
                actor.as_deref(),
                &shared.origin,
                margin,
            )
            .await?;
            shared
                .mirror
                .apply(std::slice::from_ref(r), None, now, false);
            Ok(())
        }
        Op::Unrevoke(by, value, iss, actor) => {
            let target = (*by, value.as_str(), iss.as_deref());
            write_unrevoke(
                conn,
                &shared.names,
                target,
                actor.as_deref(),
                &shared.origin,
            )
            .await?;
            let _ = shared
                .mirror
                .remove(*by, value, iss.as_deref(), None, false);
            Ok(())
        }
    }
}

/// Whether a revocation ending at `until` is past it and its margin at
/// `now`; never, when the sum does not fit in a `SystemTime`.
fn lapsed(until: SystemTime, margin: Duration, now: SystemTime) -> bool {
    until
        .checked_add(margin)
        .is_some_and(|drop_at| drop_at <= now)
}

/// Whether Redis refused a change for good: every error it answered is a
/// malformed command (`ERR ...`, `WRONGTYPE`), or its answer could not be
/// read. Errors of a server that cannot write now (`LOADING`, `READONLY`,
/// `OOM`, `MISCONF`, `BUSY`, `TRYAGAIN`, `NOPERM`...) and of the connection
/// are not: the change is written once the server can take it.
pub(super) fn never_accepted(e: &redis::RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        return false;
    }
    if matches!(
        e.kind(),
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType
    ) {
        return true;
    }
    match e.clone().into_server_errors() {
        Some(errors) => {
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|(_, s)| matches!(s.code(), "ERR" | "WRONGTYPE"))
        }
        None => false,
    }
}
