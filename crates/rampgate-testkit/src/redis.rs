//! A throwaway `redis-server` for tests of the shared revocation store: its
//! own process on a free loopback port, persistence off, in a directory of
//! its own, killed when dropped.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` process of one test (the binary must be on `PATH`;
/// `.ci/run` installs it). Stop and start it again on the same port to
/// simulate an outage.
///
/// ```no_run
/// let redis = rampgate_testkit::RedisServer::start().unwrap();
/// let url = redis.url(); // redis://127.0.0.1:PORT
/// # let _ = url;
/// ```
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    /// Whether the directory is this server's own, removed when dropped.
    owns_dir: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it accepts
    /// connections.
    ///
    /// # Errors
    ///
    /// When `redis-server` is not installed or does not start within 10 s.
    pub fn start() -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "rampgate-redis-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        std::fs::create_dir_all(&dir)?;
        RedisServer::launch(dir, true)
    }

    /// Starts another server on a free port in `dir` (another server's
    /// [`dir`](RedisServer::dir)): what it `SAVE`s, that server loads when
    /// it starts again. The directory is left in place when dropped.
    ///
    /// # Errors
    ///
    /// As [`start`](RedisServer::start).
    pub fn start_in(dir: &std::path::Path) -> io::Result<Self> {
        RedisServer::launch(dir.to_owned(), false)
    }

    fn launch(dir: PathBuf, owns_dir: bool) -> io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = RedisServer {
            port,
            dir,
            owns_dir,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// The server's working directory (where `SAVE` writes `dump.rdb`).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (its data is lost: persistence is off).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (stopping it first if it
    /// runs), and waits until it accepts connections.
    ///
    /// # Errors
    ///
    /// When `redis-server` is not installed or does not start within 10 s.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run redis-server ({e}); install it (apt-get install redis-server)"
                    ),
                )
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                self.stop();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "redis-server did not start within 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
