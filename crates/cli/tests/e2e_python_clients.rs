//! Real clients nobody here wrote: a Python venv with the PyPI Kafka Connect clients
//! `kafka-connect-py` and `kafka-connect-api` drives a running worker through create, list
//! (with expand), status, pause, resume, stop, restart, config update, validate, offsets
//! read/alter/reset and delete (tests/python/drive_worker.py asserts every answer).
//!
//! Skipped, with the reason printed, only when python3 or its venv/pip modules are missing;
//! CI installs them.

mod common;
mod rest_support;

use std::path::Path;
use std::process::Command;

use common::*;

fn have(python: &str, args: &[&str]) -> bool {
    Command::new(python)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn python_kafka_connect_clients_drive_the_worker() {
    if !have("python3", &["--version"]) {
        println!("SKIPPED: python3 is not installed");
        return;
    }
    if !have("python3", &["-m", "venv", "--help"]) || !have("python3", &["-m", "pip", "--version"])
    {
        println!("SKIPPED: python3's venv or pip module is not installed (apt-get install python3-venv python3-pip)");
        return;
    }
    let s = Scratch::new();
    let venv = s.path("venv");
    let made = Command::new("python3")
        .args(["-m", "venv", venv.to_str().unwrap()])
        .output()
        .expect("python3 -m venv");
    if !made.status.success() {
        println!(
            "SKIPPED: python3 -m venv cannot make a venv with pip ({}); apt-get install python3-venv",
            String::from_utf8_lossy(&made.stderr).trim()
        );
        return;
    }
    let python = venv.join("bin/python");
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "kafka-connect-py",
            "kafka-connect-api",
        ])
        .output()
        .expect("pip install");
    assert!(
        pip.status.success(),
        "pip install failed: {}",
        String::from_utf8_lossy(&pip.stderr)
    );

    let w = rest_support::start(&s, "", &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/drive_worker.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&w.url)
        .arg(s.dir.path())
        .output()
        .expect("run the script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Python clients failed:\n{stdout}\n{stderr}\nworker log:\n{}",
        s.read_log(w.log)
    );
    assert!(
        stdout.contains("OK: both clients drove the worker"),
        "{stdout}"
    );
    w.stop();
}
