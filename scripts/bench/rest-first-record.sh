#!/usr/bin/env bash
# Time from `POST /connectors` to the first record written to the topic, on the embedded log.
#
#   scripts/bench/rest-first-record.sh [RUNS] [VALUE_CONVERTER]   (default 200, JsonConverter)
#
# Runs crates/cli/examples/rest_first_record.rs (release build): a standalone worker with its
# REST server in one process and a client thread that, for each run, POSTs a datagen source
# making one record into a new topic and watches the topic's end offset (every 100 us) until
# the record is there, then deletes the connector. The time covers the HTTP request, config
# validation, topic creation, connector and task start, the first poll, conversion and the
# append. Prints median, p90 and p99 of the time to the 201 answer and to the record.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-200}
CONVERTER=${2:-org.apache.kafka.connect.json.JsonConverter}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/reltarget}
cargo build --release -p sluice --example rest_first_record --quiet
RUST_LOG=${RUST_LOG:-warn} "$CARGO_TARGET_DIR/release/examples/rest_first_record" "$RUNS" "$CONVERTER"
