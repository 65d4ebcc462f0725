//! Helpers for end-to-end tests that run the real `sluice` binary.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn sluice_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sluice"))
}

/// A scratch directory with a worker config for the embedded log.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh scratch directory. With `SLUICE_KEEP_SCRATCH` set it is kept after the test
    /// (its path is printed), so worker logs and data can be read after a failure.
    pub fn new() -> Self {
        let mut dir = tempfile::tempdir().expect("temp dir");
        if std::env::var_os("SLUICE_KEEP_SCRATCH").is_some() {
            dir.disable_cleanup(true);
            println!("scratch directory kept: {}", dir.path().display());
        }
        Scratch { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the scratch dir and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, content).expect("write file");
        p
    }

    /// A worker config on the embedded log in this dir, its REST API on a free port, plus
    /// extra lines.
    pub fn worker(&self, extra: &str) -> PathBuf {
        let content = format!(
            "embedded.log.dir={data}\n\
             offset.storage.file.filename={offsets}\n\
             offset.flush.interval.ms=500\n\
             key.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             listeners=http://127.0.0.1:0\n\
             {extra}\n",
            data = self.path("data").display(),
            offsets = self.path("connect.offsets").display(),
        );
        self.write("worker.properties", &content)
    }

    /// Runs `sluice ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(sluice_bin())
            .args(args)
            .current_dir(self.dir.path())
            .env("RUST_LOG", "info")
            .output()
            .expect("run sluice")
    }

    /// Runs `sluice ARGS` with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(sluice_bin())
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait sluice")
    }

    /// Starts `sluice ARGS` in the background, stderr to a log file in the scratch dir.
    pub fn spawn(&self, args: &[&str], log_name: &str) -> Child {
        let log = fs::File::create(self.path(log_name)).expect("log file");
        Command::new(sluice_bin())
            .args(args)
            .current_dir(self.dir.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sluice")
    }

    pub fn read_log(&self, log_name: &str) -> String {
        fs::read_to_string(self.path(log_name)).unwrap_or_default()
    }
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} failed");
}

/// A child process killed when the test ends, also when an assertion fails first.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for a child to exit, failing after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `cond` until it is true, failing with `what` after `limit`. The limit only bounds
/// a hung test; it is not a performance assertion.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Number of complete lines in a file (0 when missing).
pub fn line_count(path: &Path) -> usize {
    fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// The complete lines of a file.
pub fn lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut v: Vec<String> = text.split('\n').map(str::to_string).collect();
    // Drop the empty piece after the final newline (or a partial last line).
    v.pop();
    v
}

/// Appends numbered lines `line-<from>..line-<to>` to a file.
pub fn append_numbered(path: &Path, from: usize, to: usize) {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open input");
    let mut buf = String::with_capacity((to - from) * 24);
    for i in from..to {
        buf.push_str(&format!("line-{i:08}-payload\n"));
    }
    f.write_all(buf.as_bytes()).expect("append");
}

/// The expected numbered lines.
pub fn numbered(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("line-{i:08}-payload")).collect()
}

/// Parses a numbered line back to its number.
pub fn number_of(line: &str) -> Option<usize> {
    line.strip_prefix("line-")?.get(..8)?.parse().ok()
}

/// The `orderid` field of a datagen `orders` record printed as a string (`...orderid=42,...`).
pub fn order_id(line: &str) -> u64 {
    let at = line
        .find("orderid=")
        .unwrap_or_else(|| panic!("no orderid: {line}"));
    line[at + "orderid=".len()..]
        .split([',', '}'])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad orderid: {line}"))
}

/// A standalone worker config on the Kafka cluster at `servers` (string converters, a file
/// offset store, an http listener on a free port), plus `extra` lines.
pub fn kafka_standalone_config(s: &Scratch, servers: &str, extra: &str) -> PathBuf {
    let content = format!(
        "bootstrap.servers={servers}\n\
         offset.storage.file.filename={offsets}\n\
         offset.flush.interval.ms=500\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         listeners=http://127.0.0.1:0\n\
         consumer.session.timeout.ms=6000\n\
         {extra}\n",
        offsets = s.path("connect.offsets").display(),
    );
    s.write("worker.properties", &content)
}

/// `sluice topics --bootstrap-server SERVERS [--command-config FILE] ARGS`, which must
/// succeed; returns stdout.
pub fn run_topics(
    s: &Scratch,
    servers: &str,
    command_config: Option<&str>,
    args: &[&str],
) -> String {
    let mut all = vec!["topics", "--bootstrap-server", servers];
    if let Some(file) = command_config {
        all.extend_from_slice(&["--command-config", file]);
    }
    all.extend_from_slice(args);
    let out = s.run(&all);
    assert!(
        out.status.success(),
        "sluice {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
