//! Watching a contract file: the watcher a `ContractWatch` owns, the one kept
//! in the handle, stopping them, and the errors instead of a panic.
#![allow(clippy::unwrap_used)]

use rampgate_core::contract::{ContractHandle, ReloadError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PERIOD: Duration = Duration::from_millis(50);

/// A contract file of its own per test, removed at the end.
struct File(PathBuf);

impl File {
    fn new(name: &str) -> File {
        let path = std::env::temp_dir().join(format!(
            "rampgate-contract-watch-{}-{name}.toml",
            std::process::id()
        ));
        let file = File(path);
        file.version(1);
        file
    }

    fn version(&self, version: u64) {
        let tmp = self.0.with_extension("tmp");
        std::fs::write(
            &tmp,
            format!("version = {version}\n[scopes]\n\"read\" = \"r\"\n"),
        )
        .unwrap();
        std::fs::rename(&tmp, &self.0).unwrap();
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Whether the handle reaches `version` within 3 seconds.
async fn reaches(handle: &ContractHandle, version: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if handle.current().version() == version {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Writes `version` and checks that it is still not applied after many periods.
async fn stays_unapplied(file: &File, handle: &ContractHandle, version: u64) {
    file.version(version);
    tokio::time::sleep(PERIOD * 8).await;
    assert_ne!(
        handle.current().version(),
        version,
        "the watcher must be stopped"
    );
}

#[test]
fn watching_outside_a_runtime_is_an_error_not_a_panic() {
    let file = File::new("no-runtime");
    let handle = ContractHandle::from_file(&file.0).unwrap();
    assert!(matches!(
        handle.watch_scoped(PERIOD),
        Err(ReloadError::NoRuntime)
    ));
    assert!(matches!(handle.watch(PERIOD), Err(ReloadError::NoRuntime)));
    assert!(!handle.is_watching());
    let err = handle.watch_scoped(PERIOD).unwrap_err().to_string();
    assert!(err.contains("tokio runtime"), "{err}");
}

#[tokio::test]
async fn watching_needs_a_file_and_a_period() {
    let file = File::new("bad-args");
    let handle = ContractHandle::from_file(&file.0).unwrap();
    assert!(matches!(
        handle.watch_scoped(Duration::ZERO),
        Err(ReloadError::ZeroPeriod)
    ));
    let from_value = ContractHandle::new(handle.current().as_ref().clone());
    assert!(matches!(
        from_value.watch_scoped(PERIOD),
        Err(ReloadError::NoFile)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_reloads_until_stopped() {
    let file = File::new("stop");
    let handle = ContractHandle::from_file(&file.0).unwrap();
    let watch = handle.watch_scoped(PERIOD).unwrap();
    assert!(watch.is_running());
    assert_eq!(watch.period(), PERIOD);
    file.version(2);
    assert!(reaches(&handle, 2).await, "a running watcher applies v2");

    watch.stop();
    tokio::task::yield_now().await;
    let start = Instant::now();
    while watch.is_running() && start.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!watch.is_running());
    stays_unapplied(&file, &handle, 3).await;
    // An explicit reload still works: only the watcher stopped.
    assert_eq!(handle.reload().unwrap().unwrap().to_version, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_watch_stops_the_watcher() {
    let file = File::new("drop");
    let handle = ContractHandle::from_file(&file.0).unwrap();
    let watch = handle.watch_scoped(PERIOD).unwrap();
    file.version(2);
    assert!(reaches(&handle, 2).await);
    drop(watch);
    stays_unapplied(&file, &handle, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_kept_in_the_handle_lives_as_long_as_the_handle() {
    let file = File::new("keep");
    let handle = ContractHandle::from_file(&file.0).unwrap();
    // Kept by a clone only: nothing else holds a guard.
    handle.clone().watch(PERIOD).unwrap();
    assert!(handle.is_watching());
    file.version(2);
    assert!(reaches(&handle, 2).await, "the kept watcher applies v2");

    // A second call replaces the watcher; there is still exactly one.
    handle.watch(PERIOD * 2).unwrap();
    file.version(3);
    assert!(reaches(&handle, 3).await);

    assert!(handle.stop_watching());
    assert!(!handle.is_watching());
    assert!(!handle.stop_watching(), "nothing left to stop");
    stays_unapplied(&file, &handle, 4).await;
}

#[test]
fn a_watcher_handed_to_the_caller_runs_on_the_callers_runtime_and_ends_with_the_handle() {
    // Made outside any runtime: nothing is spawned until the caller runs it.
    let file = File::new("pair");
    let handle = ContractHandle::from_file(&file.0).unwrap();
    let watcher = handle.watcher(PERIOD).unwrap();
    assert!(matches!(
        handle.watcher(Duration::ZERO),
        Err(ReloadError::ZeroPeriod)
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let task = tokio::spawn(watcher);
        file.version(2);
        assert!(reaches(&handle, 2).await, "the caller's watcher applies v2");
        // The watcher holds no handle: dropping the last one ends it.
        drop(handle);
        tokio::time::timeout(PERIOD * 20, task)
            .await
            .expect("the watcher ends once the handle is gone")
            .unwrap();
    });
}
