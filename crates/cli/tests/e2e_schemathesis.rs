//! Fuzzing the REST API with schemathesis (PyPI) against the worker's own `/openapi.json`:
//! a standalone worker and a distributed worker on the embedded log each get every
//! operation with generated parameters and bodies (examples, boundary cases, random data and
//! sequences that follow the document's links from created connectors to the operations on
//! them). Checks: no 5xx, answers that match the documented schemas, statuses and content
//! types, and no panic in the worker's log.
//!
//! schemathesis is installed once in a venv under target/ (`schemathesis-venv`) and reused.
//! Each run prints its seed; `schemathesis run --seed N ...` replays it. Skipped, with the
//! reason printed, only when python3 or its venv/pip modules are missing.

mod common;
mod rest_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use rest_support::Worker;

/// Examples per operation and phase: enough to reach every branch of the handlers in well
/// under a minute per worker.
const MAX_EXAMPLES: &str = "20";

/// Serializes the venv's creation between the tests of this file.
static VENV: Mutex<()> = Mutex::new(());

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The schemathesis command of the cached venv, installed on first use; `None` (with the
/// reason printed) when Python cannot make one.
fn schemathesis() -> Option<PathBuf> {
    let _guard = VENV.lock().unwrap_or_else(|e| e.into_inner());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let venv = target.join("schemathesis-venv");
    let st = venv.join("bin/schemathesis");
    if have(st.to_str()?, &["--version"]) {
        return Some(st);
    }
    if !have("python3", &["--version"]) {
        println!("SKIPPED: python3 is not installed");
        return None;
    }
    let made = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .output()
        .expect("python3 -m venv");
    if !made.status.success() {
        println!(
            "SKIPPED: python3 -m venv cannot make a venv with pip ({}); apt-get install python3-venv",
            String::from_utf8_lossy(&made.stderr).trim()
        );
        return None;
    }
    let pip = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "schemathesis>=4,<5",
        ])
        .output()
        .expect("pip install");
    assert!(
        pip.status.success(),
        "pip install schemathesis failed: {}",
        String::from_utf8_lossy(&pip.stderr)
    );
    Some(st)
}

/// Runs schemathesis against the worker and asserts it found nothing.
fn fuzz(st: &Path, s: &Scratch, mut w: Worker) {
    let out = Command::new(st)
        .args([
            "run",
            &format!("{}/openapi.json", w.url),
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            MAX_EXAMPLES,
            // One worker: schemathesis' threads trip a CPython 3.11 AST bug.
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--no-color",
        ])
        .current_dir(s.dir.path())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = s.read_log(w.log);
    if !out.status.success() || !stdout.contains(" passed") || log.contains("panicked") {
        // Do not leave the worker running behind a failed test.
        let _ = w.child.kill();
        let _ = w.child.wait();
        panic!(
            "schemathesis found failures (or the worker panicked):\n{stdout}\n{}\nworker log:\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The fuzzed worker still answers and stops cleanly.
    assert_eq!(w.call("GET", "/connectors", None).0, 200);
    w.stop();
}

#[test]
fn schemathesis_finds_nothing_on_a_standalone_worker() {
    let Some(st) = schemathesis() else { return };
    let s = Scratch::new();
    let w = rest_support::start(&s, "", &[]);
    fuzz(&st, &s, w);
}

#[test]
fn schemathesis_finds_nothing_on_a_distributed_worker() {
    let Some(st) = schemathesis() else { return };
    let s = Scratch::new();
    let content = format!(
        "group.id=connect-cluster\n\
         config.storage.topic=connect-configs\n\
         offset.storage.topic=connect-offsets\n\
         status.storage.topic=connect-status\n\
         embedded.log.dir={data}\n\
         offset.flush.interval.ms=200\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         listeners=http://127.0.0.1:0\n",
        data = s.path("data").display(),
    );
    let file = s.write("distributed.properties", &content);
    let log = "distributed.log";
    let child = s.spawn(&["distributed", file.to_str().unwrap()], log);
    let w = rest_support::wait_for_api(&s, child, log, Duration::from_secs(60));
    fuzz(&st, &s, w);
}
