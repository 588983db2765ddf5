//! The JSON Lines file sink: append, rotation by size, a flush policy.

use super::event::AuditEvent;
use super::sink::{AuditSink, AuditSinkError, SinkFuture};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// When the file sink makes what it wrote durable (`fsync`), and so what a
/// crash can lose.
///
/// Whatever the policy, every batch is handed to the operating system
/// (`write`) before the next one is taken, so a crash of the *process* loses
/// only the events still in the auditor's queue (at most its capacity) and the
/// batch being written. The policy is about a crash of the *machine* (power
/// loss, kernel panic), which also loses what the OS had not written yet:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FlushPolicy {
    /// `fsync` after every event: a machine crash loses at most the event
    /// being written. The slowest (one disk sync per event).
    EveryEvent,
    /// `fsync` after a batch when this long has passed since the last one: a
    /// machine crash loses at most about this interval of events.
    Interval(Duration),
    /// `fsync` only when the file is rotated and when the auditor flushes or
    /// stops: a machine crash can lose the current file's unsynced tail.
    #[default]
    OnRotate,
    /// Never `fsync`; leave it to the OS (usually within 30 s on Linux): a
    /// machine crash can lose what the OS had not written back.
    Never,
}

/// Options of the [`FileSink`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FileSinkOptions {
    /// Rotate when the file would grow past this many bytes (`None`: never).
    /// A line is never split: a file can exceed it by less than one line.
    pub max_bytes: Option<u64>,
    /// How many rotated files to keep: `audit.jsonl.1` (the newest) to
    /// `audit.jsonl.N`; the oldest beyond is deleted. `0` keeps none.
    pub keep: usize,
    /// When to `fsync`.
    pub flush: FlushPolicy,
}

impl Default for FileSinkOptions {
    fn default() -> Self {
        FileSinkOptions {
            max_bytes: Some(100 * 1024 * 1024),
            keep: 5,
            flush: FlushPolicy::default(),
        }
    }
}

impl FileSinkOptions {
    /// Rotates past `bytes` (`None`: never rotate).
    pub fn max_bytes(mut self, bytes: Option<u64>) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Keeps `files` rotated files.
    pub fn keep(mut self, files: usize) -> Self {
        self.keep = files;
        self
    }

    /// Sets the flush policy.
    pub fn flush(mut self, policy: FlushPolicy) -> Self {
        self.flush = policy;
        self
    }
}

/// Appends one JSON line per event to a file, rotating it by size.
///
/// Lines are never interleaved or split: the auditor's single writer task owns
/// the sink, and a line goes to the file whole (a rotation happens between
/// lines). The blocking file I/O runs on tokio's blocking pool, never on the
/// request path.
///
/// On unix a file the sink creates (at opening or rotation) has mode 0600, and
/// a symbolic link at the path is refused with an error, never followed. When
/// a rotation fails (a rename, or opening the new file: out of descriptors,
/// say), the lines go on to the file already open and the rotation is tried
/// again with the next batch, without shifting or deleting rotated files twice.
#[derive(Debug)]
pub struct FileSink {
    state: Option<FileState>,
}

#[derive(Debug)]
struct FileState {
    path: PathBuf,
    options: FileSinkOptions,
    file: BufWriter<File>,
    size: u64,
    last_sync: Instant,
    /// A rotation renamed the open file to `path.1` but could not open a new
    /// one at `path`: lines go on to the open (rotated) file, and the next
    /// rotation only retries the opening, never shifting files again.
    detached: bool,
    /// Opens the file at `path` (a hook for tests to make reopening fail).
    open: fn(&Path) -> std::io::Result<Opened>,
}

/// An opened audit file and its size.
type Opened = (BufWriter<File>, u64);

/// Why an audit file was not opened: its path is a symbolic link.
#[derive(Debug, thiserror::Error)]
#[error("{path}: is a symbolic link; an audit file is never opened through one")]
struct SymlinkRefused {
    path: String,
}

impl FileSink {
    /// Opens (or creates) `path` for appending, with default options.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<FileSink> {
        FileSink::with_options(path, FileSinkOptions::default())
    }

    /// Opens (or creates) `path` for appending.
    pub fn with_options(
        path: impl AsRef<Path>,
        options: FileSinkOptions,
    ) -> std::io::Result<FileSink> {
        let path = path.as_ref().to_path_buf();
        let (file, size) = open_append(&path)?;
        Ok(FileSink {
            state: Some(FileState {
                path,
                options,
                file,
                size,
                last_sync: Instant::now(),
                detached: false,
                open: open_append,
            }),
        })
    }

    async fn run<T: Send + 'static>(
        &mut self,
        job: impl FnOnce(&mut FileState) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, AuditSinkError> {
        let mut state = self
            .state
            .take()
            .ok_or_else(|| AuditSinkError::Other("the audit file was lost".into()))?;
        let (state, result) = tokio::task::spawn_blocking(move || {
            let result = job(&mut state);
            (state, result)
        })
        .await
        .map_err(|e| AuditSinkError::Other(format!("audit file writer: {e}")))?;
        self.state = Some(state);
        Ok(result?)
    }
}

/// Opens (or creates, mode 0600 on unix) `path` for appending, refusing a
/// symbolic link at `path` (`O_NOFOLLOW` on unix).
fn open_append(path: &Path) -> std::io::Result<Opened> {
    let refused = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            SymlinkRefused {
                path: path.display().to_string(),
            },
        )
    };
    let is_symlink = || std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    if is_symlink() {
        return Err(refused());
    }
    // O_NOFOLLOW fails with ELOOP on Linux, but EMLINK or EFTYPE elsewhere:
    // whatever the code, a symbolic link at the path is said so.
    let file = options
        .open(path)
        .map_err(|e| if is_symlink() { refused() } else { e })?;
    let size = file.metadata()?.len();
    Ok((BufWriter::with_capacity(64 * 1024, file), size))
}

/// `path.n`: the `n`th newest rotated file.
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Whether something (even a dangling symbolic link) is at `path`.
fn occupied(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

impl FileState {
    fn write_lines(&mut self, lines: &[u8]) -> std::io::Result<()> {
        // At most one failed rotation per batch: the lines after it go on to
        // the open file, and the next batch tries again.
        let mut rotation_failed = false;
        for line in lines.split_inclusive(|b| *b == b'\n') {
            let len = line.len() as u64;
            if let Some(max) = self.options.max_bytes
                && !rotation_failed
                && self.size > 0
                && self.size + len > max
                && let Err(e) = self.rotate()
            {
                rotation_failed = true;
                tracing::warn!(target: "rampgate::audit", file = ?self.path, error = %e,
                    detached = self.detached,
                    "audit file rotation failed: appending to the open file, retrying on the next batch");
            }
            self.file.write_all(line)?;
            self.size += len;
            if self.options.flush == FlushPolicy::EveryEvent {
                self.sync()?;
            }
        }
        self.file.flush()?;
        if let FlushPolicy::Interval(every) = self.options.flush
            && self.last_sync.elapsed() >= every
        {
            self.sync()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Starts a new file at `path`: the current one becomes `path.1`, the
    /// older ones shift up by one, the oldest beyond `keep` is replaced.
    ///
    /// Files shift only as far as the first free number, so a rotation that
    /// failed half-way and is tried again never shifts (nor deletes) twice;
    /// and once the rename to `path.1` is done, a failed opening of the new
    /// file only leaves the sink `detached`: the retry just opens.
    fn rotate(&mut self) -> std::io::Result<()> {
        if self.options.flush != FlushPolicy::Never {
            self.sync()?;
        } else {
            self.file.flush()?;
        }
        if !self.detached {
            if self.options.keep == 0 {
                // Nothing to keep: the open file starts over, no reopening.
                self.file.get_ref().set_len(0)?;
                self.size = 0;
                return Ok(());
            }
            let keep = self.options.keep;
            let free = (1..=keep)
                .find(|n| !occupied(&numbered(&self.path, *n)))
                .unwrap_or(keep);
            for n in (1..free).rev() {
                std::fs::rename(numbered(&self.path, n), numbered(&self.path, n + 1))?;
            }
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
            self.detached = true;
        }
        let (file, size) = (self.open)(&self.path)?;
        self.file = file;
        self.size = size;
        self.detached = false;
        Ok(())
    }
}

impl AuditSink for FileSink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        // Serialised here, in the writer task, then written on the blocking pool.
        let mut lines = Vec::with_capacity(batch.len() * 512);
        for event in batch {
            event.write_json_line(&mut lines);
        }
        Box::pin(async move { self.run(move |state| state.write_lines(&lines)).await })
    }

    fn flush(&mut self) -> SinkFuture<'_> {
        Box::pin(async move {
            self.run(|state| {
                if state.options.flush == FlushPolicy::Never {
                    state.file.flush()
                } else {
                    state.sync()
                }
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::DecisionEvent;
    use std::time::UNIX_EPOCH;

    fn event(n: usize) -> AuditEvent {
        let id = http::HeaderValue::try_from(format!("req-{n:04}")).unwrap();
        AuditEvent::Decision(DecisionEvent::new(UNIX_EPOCH, id, http::Method::GET))
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "rampgate-file-sink-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn rotation_keeps_n_files_and_never_splits_a_line() {
        let dir = dir("keep");
        let path = dir.join("audit.jsonl");
        let line_len = {
            let mut line = Vec::new();
            event(0).write_json_line(&mut line);
            line.len() as u64
        };
        // Three lines per file; 20 events make 7 files, of which 1 + 2 stay.
        let options = FileSinkOptions::default()
            .max_bytes(Some(3 * line_len))
            .keep(2);
        let mut sink = FileSink::with_options(&path, options).unwrap();
        let events: Vec<AuditEvent> = (0..20).map(event).collect();
        for chunk in events.chunks(7) {
            sink.write(chunk).await.unwrap();
        }
        sink.flush().await.unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        let mut name = path.as_os_str().to_owned();
        name.push(".3");
        assert!(
            !PathBuf::from(name).exists(),
            "only 2 rotated files are kept"
        );
        let files = [
            path.with_extension("jsonl.2"),
            path.with_extension("jsonl.1"),
            path.clone(),
        ];
        let ids: Vec<String> = files
            .iter()
            .flat_map(|f| {
                let text = read(f);
                assert!(text.ends_with('\n'));
                text.lines()
                    .map(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        v["request_id"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // The newest 3 + 3 + 2 events, in order: .2 is older than .1.
        let expected: Vec<String> = (12..20).map(|n| format!("req-{n:04}")).collect();
        assert_eq!(ids, expected);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn line_len() -> u64 {
        let mut line = Vec::new();
        event(0).write_json_line(&mut line);
        line.len() as u64
    }

    /// The request ids in `file`, in order (none when it does not exist).
    fn ids_in(file: &Path) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(file) else {
            return Vec::new();
        };
        assert!(text.is_empty() || text.ends_with('\n'), "a split line");
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["request_id"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|n| format!("req-{n:04}")).collect()
    }

    fn failing_open(_: &Path) -> std::io::Result<Opened> {
        Err(std::io::Error::other("too many open files (injected)"))
    }

    #[tokio::test]
    async fn a_failed_reopen_never_deletes_history_nor_loses_events() {
        let dir = dir("reopen");
        let path = dir.join("audit.jsonl");
        // Three lines per file, two rotated files kept.
        let options = FileSinkOptions::default()
            .max_bytes(Some(3 * line_len()))
            .keep(2);
        let mut sink = FileSink::with_options(&path, options).unwrap();
        let events: Vec<AuditEvent> = (0..16).map(event).collect();
        sink.write(&events[..9]).await.unwrap();
        assert_eq!(ids_in(&numbered(&path, 2)), ids(0..3));
        assert_eq!(ids_in(&numbered(&path, 1)), ids(3..6));
        assert_eq!(ids_in(&path), ids(6..9));

        // Reopening the path after the rename fails (fd exhaustion, say):
        // the rotation that began shifted the files once, and no later batch
        // shifts or deletes again while the reopen keeps failing.
        sink.state.as_mut().unwrap().open = failing_open;
        let mut results = Vec::new();
        for one in events[9..13].chunks(1) {
            results.push(sink.write(one).await);
        }
        assert_eq!(ids_in(&numbered(&path, 2)), ids(3..6), "history deleted");
        assert_eq!(ids_in(&numbered(&path, 1)), ids(6..13));
        assert!(!path.exists());
        assert!(!numbered(&path, 3).exists());

        // Once the reopen works, the rotation completes without shifting.
        sink.state.as_mut().unwrap().open = open_append;
        results.push(sink.write(&events[13..16]).await);
        assert_eq!(ids_in(&numbered(&path, 2)), ids(3..6));
        assert_eq!(ids_in(&numbered(&path, 1)), ids(6..13));
        assert_eq!(ids_in(&path), ids(13..16));
        for result in results {
            result.unwrap();
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn new_and_rotated_into_files_are_mode_0600() {
        let dir = dir("mode");
        let path = dir.join("audit.jsonl");
        let options = FileSinkOptions::default().max_bytes(Some(line_len()));
        let mut sink = FileSink::with_options(&path, options).unwrap();
        assert_eq!(mode(&path), 0o600, "a new audit file");
        let events: Vec<AuditEvent> = (0..2).map(event).collect();
        sink.write(&events).await.unwrap();
        assert_eq!(ids_in(&numbered(&path, 1)), ids(0..1));
        assert_eq!(mode(&path), 0o600, "the file rotated into");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_path_is_refused() {
        let dir = dir("symlink");
        let target = dir.join("precious");
        std::fs::write(&target, "precious\n").unwrap();
        let path = dir.join("audit.jsonl");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let error = FileSink::open(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Plants a symbolic link at `path` (to its sibling `precious`), then
    /// opens it as the sink does.
    #[cfg(unix)]
    fn open_planted(path: &Path) -> std::io::Result<Opened> {
        let target = path.with_file_name("precious");
        std::os::unix::fs::symlink(target, path)?;
        open_append(path)
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_symlink_planted_at_rotation_is_refused() {
        let dir = dir("planted");
        let path = dir.join("audit.jsonl");
        let target = dir.join("precious");
        std::fs::write(&target, "precious\n").unwrap();
        let options = FileSinkOptions::default().max_bytes(Some(line_len()));
        let mut sink = FileSink::with_options(&path, options).unwrap();
        sink.state.as_mut().unwrap().open = open_planted;
        let events: Vec<AuditEvent> = (0..3).map(event).collect();
        sink.write(&events).await.unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
        // The lines stay in the file just rotated, in order.
        assert_eq!(ids_in(&numbered(&path, 1)), ids(0..3));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn keep_zero_starts_the_file_over() {
        let dir = dir("keep0");
        let path = dir.join("audit.jsonl");
        let options = FileSinkOptions::default()
            .max_bytes(Some(2 * line_len()))
            .keep(0);
        let mut sink = FileSink::with_options(&path, options).unwrap();
        let events: Vec<AuditEvent> = (0..5).map(event).collect();
        sink.write(&events).await.unwrap();
        assert_eq!(ids_in(&path), ids(4..5));
        assert!(!numbered(&path, 1).exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn every_flush_policy_writes_every_line() {
        for policy in [
            FlushPolicy::EveryEvent,
            FlushPolicy::Interval(Duration::ZERO),
            FlushPolicy::OnRotate,
            FlushPolicy::Never,
        ] {
            let dir = dir("policy");
            let path = dir.join("audit.jsonl");
            let options = FileSinkOptions::default().flush(policy).max_bytes(None);
            let mut sink = FileSink::with_options(&path, options).unwrap();
            let events: Vec<AuditEvent> = (0..5).map(event).collect();
            sink.write(&events).await.unwrap();
            // Every batch reaches the OS before the next is taken.
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().count(), 5, "{policy:?}");
            // Reopening appends.
            drop(sink);
            let mut sink = FileSink::with_options(&path, FileSinkOptions::default()).unwrap();
            sink.write(&events[..1]).await.unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 6);
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
