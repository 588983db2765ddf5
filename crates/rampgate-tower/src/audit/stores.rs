//! The revocation stores an `AuditLayer`'s requests meet, each watched by its
//! auditor, so that a store's changes are audit events without a call of the
//! service's own: the `JwtLayer` inside hands over its verifier's store on
//! every request with a token, the admin router its store before a change.

use crate::jwt::StoreHook;
use rampgate_core::RevocationStore;
use rampgate_core::audit::Auditor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// How many dead stores may be remembered before they are forgotten.
const MAX_REMEMBERED: usize = 32;

/// The stores watched so far. A request pays one atomic load when its store
/// is the last one met (the usual case: one verifier behind the layer).
#[derive(Debug)]
pub(super) struct StoreWatch {
    auditor: Auditor,
    /// The address of the store met last, 0 for none. Its allocation is kept
    /// by the weak reference in `seen`, so no other store can take the address
    /// while it is here.
    last: AtomicUsize,
    seen: Mutex<Vec<Weak<dyn RevocationStore>>>,
}

fn address(store: &Arc<dyn RevocationStore>) -> usize {
    Arc::as_ptr(store).cast::<()>() as usize
}

impl StoreWatch {
    /// Nothing watched yet; what is met will be watched by `auditor`.
    pub(super) fn new(auditor: Auditor) -> Arc<Self> {
        Arc::new(StoreWatch {
            auditor,
            last: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The hook that puts the stores a request meets here.
    pub(super) fn hook(self: &Arc<Self>) -> StoreHook {
        let watch = self.clone();
        StoreHook(Arc::new(move |store| watch.meet(store)))
    }

    /// Watches `store`, unless it is watched already.
    pub(super) fn meet(&self, store: &Arc<dyn RevocationStore>) {
        let at = address(store);
        if self.last.load(Ordering::Acquire) == at {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.iter().any(|w| w.as_ptr().cast::<()>() as usize == at) {
            if seen.len() >= MAX_REMEMBERED {
                // Forgetting a dead store frees its address: nobody may
                // match it through `last` any more.
                self.last.store(0, Ordering::Release);
                seen.retain(|w| w.strong_count() > 0);
            }
            // Watching twice is harmless (the auditor's watch replaces its
            // own), so a race between two layers sharing an auditor is too.
            self.auditor.watch_revocations(store.as_ref());
            seen.push(Arc::downgrade(store));
        }
        self.last.store(at, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampgate_core::{Revocation, RevocationList};
    use rampgate_testkit::MemorySink;

    #[tokio::test]
    async fn each_store_met_is_watched_once_and_its_changes_recorded() {
        let kept = MemorySink::new();
        let auditor = Auditor::builder().sink(kept.clone()).build().unwrap();
        let watch = StoreWatch::new(auditor.clone());
        let (a, b) = (RevocationList::new(), RevocationList::new());
        let (sa, sb): (Arc<dyn RevocationStore>, Arc<dyn RevocationStore>) =
            (Arc::new(a.clone()), Arc::new(b.clone()));
        for _ in 0..3 {
            watch.meet(&sa);
            watch.meet(&sb);
        }
        assert_eq!(watch.seen.lock().unwrap().len(), 2);
        a.revoke(Revocation::jti("a-1"), Some("ops")).unwrap();
        b.revoke(Revocation::jti("b-1"), Some("ops")).unwrap();
        auditor.flush().await;
        let values: Vec<_> = kept
            .events()
            .iter()
            .map(|e| e["value"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(values, ["a-1", "b-1"], "one event per change");
    }

    #[tokio::test]
    async fn dead_stores_are_forgotten_and_a_new_one_is_still_watched() {
        let kept = MemorySink::new();
        let auditor = Auditor::builder().sink(kept.clone()).build().unwrap();
        let watch = StoreWatch::new(auditor.clone());
        for _ in 0..MAX_REMEMBERED * 2 {
            let store: Arc<dyn RevocationStore> = Arc::new(RevocationList::new());
            watch.meet(&store);
        }
        assert!(watch.seen.lock().unwrap().len() <= MAX_REMEMBERED);
        let list = RevocationList::new();
        watch.meet(&(Arc::new(list.clone()) as Arc<dyn RevocationStore>));
        list.revoke(Revocation::jti("late"), None).unwrap();
        auditor.flush().await;
        assert_eq!(kept.events().len(), 1);
    }
}
