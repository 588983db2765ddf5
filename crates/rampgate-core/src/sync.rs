//! Locking helpers shared by the crate.

use std::sync::{Mutex, MutexGuard};

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
/// a keyed hash (SipHash with the owner's own random key): the map uses it as
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
