//! Building and finding the workspace's binaries, for the tests that run
//! them as processes (the examples, the `rampgate` CLI). Every example is
//! built with all features, as the README's test command builds it: one
//! binary, never rebuilt with other features under another test's feet.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

/// Builds (a no-op when already built) and locates a binary of the
/// workspace: `cargo build` with `args`, then `target/<profile>/<dir>/<name>`.
pub fn binary(args: &[&str], dir: &str, name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let exe = std::env::current_exe().unwrap();
    let target_dir = exe.parent().unwrap().parent().unwrap();
    if dir.is_empty() {
        target_dir.join(name)
    } else {
        target_dir.join(dir).join(name)
    }
}

/// The example `name`, built with all features.
pub fn example(name: &str) -> PathBuf {
    binary(&["--all-features", "--example", name], "examples", name)
}

/// The `rampgate` CLI.
pub fn cli() -> PathBuf {
    binary(&["-p", "rampgate-cli", "--bin", "rampgate"], "", "rampgate")
}
