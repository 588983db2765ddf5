//! The workspace's binaries as processes, for the tests that run them (the
//! examples, the `rampgate` CLI): building and finding them, and starting an
//! example. Every example is built with all features, as the README's test
//! command builds it: one binary, never rebuilt with other features under
//! another test's feet.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// A running example, killed when dropped.
pub struct Example {
    pub child: Child,
    /// The address it printed after `listening on `.
    pub addr: String,
    /// Its standard output up to the line the start waited for.
    pub output: Vec<String>,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the example `name` on a free loopback port with `env` (over an
/// environment without the RAMPGATE_* settings a test could inherit), waits
/// for `listening on ADDR` and, when it runs its dev issuer (no issuer in
/// `env`), for the printed line containing `last_line`.
pub fn start_example(name: &str, env: &[(&str, &str)], last_line: &str) -> Example {
    let mut cmd = Command::new(example(name));
    cmd.env("RAMPGATE_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for inherited in [
        "RAMPGATE_ISSUER",
        "RAMPGATE_AUDIENCE",
        "RAMPGATE_JWKS_URL",
        "RAMPGATE_CONFIG",
        "RAMPGATE_REDIS_URL",
    ] {
        cmd.env_remove(inherited);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut output = Vec::new();
    let mut addr = None;
    // The dev issuer (and its printed commands) unless an issuer is configured.
    let expect_curls = !env
        .iter()
        .any(|(k, _)| matches!(*k, "RAMPGATE_ISSUER" | "RAMPGATE_CONFIG"));
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the example must print `listening on ADDR`");
        if let Some(a) = line.strip_prefix("listening on ") {
            addr = Some(a.to_owned());
        }
        let done = line.contains(last_line);
        output.push(line);
        if addr.is_some() && (!expect_curls || done) {
            break;
        }
    }
    Example {
        child,
        addr: addr.unwrap(),
        output,
    }
}
