//! `examples/fleet/run.sh`, as an operator runs it: one `redis-server`, one
//! shared dev issuer and two quickstart replicas on loopback, real processes
//! and sockets. The "done when": a `jti` revoked with the `rampgate`
//! CLI (the command the script prints) is refused with 401
//! `token_revoked_jti` by both replicas within a second while another token
//! passes; and stopping the script stops everything it started. Also: the
//! configuration `examples/fleet/compose.yaml` mounts parses.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

#[path = "common/process.rs"]
mod process;

use base64::Engine as _;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running script, in a process group of its own: dropped (also on a
/// panic), every process of the group is stopped, TERM then KILL.
struct Fleet {
    child: Child,
    /// `export K=V` lines the script printed.
    vars: HashMap<String, String>,
    /// The script's temporary directory (logs, audit files).
    dir: PathBuf,
}

impl Fleet {
    fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("run.sh printed no `export {name}=`: {:?}", self.vars))
    }
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The group's id is the script's pid (`process_group(0)`).
        let pgid = self.child.id();
        signal_group(pgid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (nothing, when the trap ran).
        signal_group(pgid, "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_redis_server() {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "redis-server is not on PATH: this test runs a real one. Install it \
         (`apt-get install redis-server`, as .ci/run does; `brew install redis` on macOS)"
    );
}

/// Starts `examples/fleet/run.sh` with the built binaries and reads its
/// output up to `Ctrl-C stops the fleet.`.
fn start_fleet(quickstart: &Path, cli: &Path) -> Fleet {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet/run.sh");
    let mut child = Command::new("bash")
        .arg(script)
        .env("QUICKSTART", quickstart)
        .env("FLEET_CLI", cli)
        // The script's default: its own shared dev issuer.
        .env_remove("RAMPGATE_ISSUER")
        .env_remove("RAMPGATE_AUDIENCE")
        .env_remove("RAMPGATE_JWKS_URL")
        .env_remove("RAMPGATE_CONFIG")
        .env_remove("RAMPGATE_REDIS_URL")
        .env_remove("FLEET_REDIS_PORT")
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut fleet = Fleet {
        child,
        vars: HashMap::new(),
        dir: PathBuf::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .expect("run.sh must print `Ctrl-C stops the fleet.` once the fleet is up");
        if let Some((k, v)) = line
            .strip_prefix("export ")
            .and_then(|kv| kv.split_once('='))
        {
            fleet.vars.insert(k.to_owned(), v.to_owned());
        }
        if let Some(rest) = line.strip_prefix("fleet ready (logs and audit files in ") {
            fleet.dir = PathBuf::from(rest.split(", removed on exit").next().unwrap());
        }
        if line == "Ctrl-C stops the fleet." {
            return fleet;
        }
    }
}

/// The status, the denial's `reason` (empty when there is none) and `sub`.
async fn me(client: &reqwest::Client, base: &str, token: &str) -> (u16, String, String) {
    let resp = client
        .get(format!("{base}/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default();
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    (status, field("reason"), field("sub"))
}

fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fleet_script_revokes_a_jti_on_both_replicas_within_a_second() {
    require_redis_server();
    let (quickstart, cli) =
        tokio::task::block_in_place(|| (process::example("quickstart"), process::cli()));
    let mut fleet = tokio::task::block_in_place(|| start_fleet(&quickstart, &cli));
    let (a, b) = (
        fleet.var("FLEET_A").to_owned(),
        fleet.var("FLEET_B").to_owned(),
    );
    let redis_url = fleet.var("FLEET_REDIS_URL").to_owned();
    let (token, other) = (fleet.var("TOKEN").to_owned(), fleet.var("OTHER").to_owned());
    let jti = fleet.var("JTI").to_owned();
    assert_eq!(fleet.var("FLEET_CLI"), cli.display().to_string());
    // The jti it printed is the token's, and the other token's differs.
    assert_eq!(claims(&token)["jti"], jti.as_str());
    assert!(!jti.is_empty());
    assert_ne!(claims(&other)["jti"], jti.as_str());
    // One issuer for both replicas: its tokens pass on each.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for replica in [&a, &b] {
        assert_eq!(
            me(&client, replica, &token).await,
            (200, String::new(), "alice".into())
        );
        assert_eq!(
            me(&client, replica, &other).await,
            (200, String::new(), "bob".into())
        );
    }

    // The revoke command the script prints, as an operator pastes it.
    let out = Command::new(&cli)
        .args([
            "revoke", "jti", &jti, "--until", "1h", "--redis", &redis_url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let revoked_at = Instant::now();
    for replica in [&a, &b] {
        loop {
            let (status, reason, _) = me(&client, replica, &token).await;
            if status == 401 {
                assert_eq!(reason, "token_revoked_jti");
                break;
            }
            assert_eq!(status, 200, "{replica}: {reason}");
            assert!(
                revoked_at.elapsed() < Duration::from_secs(1),
                "{replica} still accepts the revoked jti 1 s after `rampgate revoke`"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            me(&client, replica, &other).await,
            (200, String::new(), "bob".into())
        );
    }
    let list = Command::new(&cli)
        .args(["revocations", "list", "--redis", &redis_url])
        .output()
        .unwrap();
    assert_eq!(list.status.code(), Some(0), "{list:?}");
    assert!(
        String::from_utf8_lossy(&list.stdout).starts_with(&format!("jti {jti} ")),
        "{list:?}"
    );

    // Ctrl-C's work, by SIGTERM to the script alone: its trap stops
    // redis-server, the issuer and both replicas, and removes its directory.
    let ports = [port_of(&redis_url), port_of(&a), port_of(&b)];
    let status = Command::new("kill")
        .args(["-s", "TERM", &fleet.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while fleet.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "run.sh did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    for port in ports {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still accepts connections after run.sh exited"
        );
    }
    assert!(!fleet.dir.as_os_str().is_empty());
    assert!(
        !fleet.dir.exists(),
        "{} was not removed",
        fleet.dir.display()
    );
}

/// `compose.yaml` is documentation only, but the configuration it mounts is
/// a real one.
#[test]
fn the_compose_configuration_parses() {
    let config =
        rampgate::config::Config::from_toml(include_str!("../examples/fleet/rampgate.toml"))
            .unwrap();
    let revocation = config.revocation.as_ref().unwrap();
    assert_eq!(revocation.store.as_deref(), Some("redis"));
    assert_eq!(revocation.max_stale_secs, Some(60));
    assert_eq!(revocation.on_stale.as_deref(), Some("keep-serving"));
    let audit = config.audit.as_ref().unwrap();
    assert_eq!(audit.file, Path::new("/var/log/rampgate/audit.jsonl"));
    let contract = config.contract.as_ref().unwrap();
    assert_eq!(contract.watch_secs, Some(5));
}
