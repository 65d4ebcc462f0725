//! Runs the README's first command as written, twice, from a fresh directory: a standalone
//! worker on the embedded log (in `./quickstart-data`) with the quickstart's Datagen
//! connector and a FileStreamSink printing each order on standard output. Orders arrive as
//! JSON, Ctrl-C (SIGINT) stops the worker cleanly, and the second run carries on where the
//! first stopped: its orders follow the first run's, none repeated and none skipped.
//!
//! The example's worker keeps the default REST port 8083 (as the cluster example's first
//! worker does), which is why it has a test binary of its own.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::Value as Json;

/// Starts the quickstart in `dir`, waits until `wanted` orders are printed, presses Ctrl-C
/// and answers every line printed until the worker exited (which must be cleanly).
fn run_quickstart(s: &Scratch, run: usize, wanted: usize) -> Vec<String> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
    let file = |name: &str| examples.join(name).to_str().unwrap().to_owned();
    let log_name = format!("quickstart-{run}.log");
    let log = std::fs::File::create(s.path(&log_name)).unwrap();
    let mut child = Command::new(sluice_bin())
        .args([
            "standalone",
            &file("worker.properties"),
            &file("datagen-orders.properties"),
            &file("orders-to-stdout.properties"),
        ])
        .current_dir(s.dir.path())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("the quickstart starts");
    let printed = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let printed = printed.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                printed.lock().unwrap().push(line);
            }
        })
    };
    wait_until(
        &format!("{wanted} orders printed by run {run}"),
        Duration::from_secs(60),
        || printed.lock().unwrap().len() >= wanted,
    );
    signal(&child, "INT");
    let status = wait_exit(&mut child, Duration::from_secs(60));
    reader.join().unwrap();
    assert!(
        status.success(),
        "run {run} exit: {status:?}\n{}",
        s.read_log(&log_name)
    );
    let lines = printed.lock().unwrap().clone();
    lines
}

/// The `orderid` of a printed order, which must be a JSON document with the quickstart's
/// fields.
fn printed_order_id(line: &str) -> u64 {
    let order: Json =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    for field in ["ordertime", "itemid", "orderunits", "address"] {
        assert!(order.get(field).is_some(), "no {field} in {line}");
    }
    order["orderid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no orderid in {line}"))
}

#[test]
fn the_quickstart_prints_orders_and_carries_on_after_ctrl_c() {
    let s = Scratch::new();
    let first: Vec<u64> = run_quickstart(&s, 1, 3)
        .iter()
        .map(|l| printed_order_id(l))
        .collect();
    assert!(s.path("quickstart-data").is_dir(), "no ./quickstart-data");
    let second: Vec<u64> = run_quickstart(&s, 2, 2)
        .iter()
        .map(|l| printed_order_id(l))
        .collect();
    let all: Vec<u64> = first.iter().chain(&second).copied().collect();
    let expected: Vec<u64> = (0..all.len() as u64).collect();
    assert_eq!(
        all, expected,
        "orders of both runs, in order (first run {first:?}, second {second:?})"
    );
}
