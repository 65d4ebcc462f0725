//! Runs `examples/cluster/run.sh` as a user would, with this build's binary, so the example
//! keeps working as written: two distributed workers on the test broker share a Datagen
//! connector's tasks and a FileStreamSink, one is killed with kill -9, its tasks run on the
//! other, and the sink's file keeps growing with one JSON order per line.
//!
//! The script starts the test broker when none runs (and then stops it again); it listens on
//! the fixed ports 8083 and 8084, which is why it has a test binary of its own.

use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

#[test]
fn the_cluster_example_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(root.join("examples/cluster/run.sh"))
        .env("SLUICE", env!("CARGO_BIN_EXE_sluice"))
        .output()
        .expect("examples/cluster/run.sh starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the example failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for expected in [
        "example-orders: created",
        "example-orders-to-file: created",
        "All 4 tasks run on worker 1 again",
        "Done.",
    ] {
        assert!(stdout.contains(expected), "no '{expected}' in:\n{stdout}");
    }

    // The sink wrote Datagen's JSON values as they are (StringConverter), one per line. A
    // line the killed worker's sink was writing may be cut short (the next owner ends it
    // and writes those records again): shown, not parsed.
    let file = root.join("target/example-cluster/orders.txt");
    let text = std::fs::read_to_string(&file).expect("the example's output file");
    let (whole, cut): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.ends_with('}'));
    for line in cut {
        println!("a line cut short by the kill: {line}");
    }
    assert!(whole.len() > 40, "only {} lines in {file:?}", whole.len());
    for line in whole {
        let order: Json =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON order ({e}): {line}"));
        assert!(order["orderid"].is_u64(), "no orderid: {line}");
        assert!(order["address"]["city"].is_string(), "no address: {line}");
    }
}
