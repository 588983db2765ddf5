//! Locking and task helpers shared by the crate.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

/// Locks `m`, recovering the data if another thread panicked while holding it.
///
/// Every mutex of the crate guards plain values (timestamps, a cached URL, the
/// last error text, a contract file's last text) that a panic cannot leave half-written, so a poisoned lock
/// carries nothing worse than a value from before the panic. Refusing every later
/// request because of it would turn one panic into an outage.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A [`Hasher`](std::hash::Hasher) for maps keyed by a `u64` that already is
/// a randomly seeded hash (the owner's own key): the map uses it as
/// is rather than hashing it again. Anything but a `u64` is folded, never a
/// panic.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A background task of the crate, boxed: what the `pair`-style
/// constructors hand to the caller to run.
pub(crate) type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Background tasks joined into one future for the caller to run, in the
/// manner of tower's `Buffer::pair` worker: it ends when all of them have.
#[must_use = "a background task does nothing unless it is run"]
pub struct Tasks(Vec<Task>);

impl Tasks {
    /// These tasks, run side by side.
    pub(crate) fn new(tasks: Vec<Task>) -> Self {
        Tasks(tasks)
    }
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tasks({} running)", self.0.len())
    }
}

impl Future for Tasks {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0
            .retain_mut(|task| task.as_mut().poll(cx).is_pending());
        if self.0.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_poisoned_lock_still_gives_its_value() {
        let m = Arc::new(Mutex::new(7));
        let poisoner = Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 8);
    }
}
