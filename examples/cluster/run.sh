#!/usr/bin/env bash
# Two `sluice distributed` workers form one cluster on a Kafka broker, share the tasks of a
# Datagen connector and a FileStreamSink, and keep going when one of them is killed.
#
#   examples/cluster/run.sh
#
# What it does, step by step (each step prints what it sees):
#   1. starts the test broker on 127.0.0.1:19092 unless one runs there already
#      (scripts/services/kafka.sh; a real cluster works the same: change bootstrap.servers in
#      the worker files);
#   2. starts worker 1 (REST on :8083) and worker 2 (:8084) from worker-1/2.properties;
#   3. creates the connectors of orders.json (4 Datagen tasks writing JSON orders to the
#      topic example-orders) and orders-to-file.json (the topic into
#      target/example-cluster/orders.txt) through worker 1's REST API;
#   4. shows which worker runs which task, and orders arriving in the file;
#   5. kills worker 2 with kill -9, and shows its tasks running on worker 1 again and the
#      file still growing;
#   6. stops worker 1, and the broker if step 1 started it.
#
# On a broker that stays up, the connectors and their offsets stay in the cluster's topics:
# the next run resumes them. (The test broker has a gap here: a group whose last member left
# in the middle of a rebalance never forms again, so after an interrupted run restart it with
# scripts/services/kafka.sh stop; docs/kafka.md lists its gaps.)
#
# $SLUICE is the sluice command to run (default: a release build made with cargo first).
# Worker logs go to target/example-cluster/worker-N.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=examples/cluster
OUT=target/example-cluster
if [ -z "${SLUICE:-}" ]; then
  cargo build --quiet --release -p sluice
  SLUICE=target/release/sluice
fi
mkdir -p "$OUT"
rm -f "$OUT/orders.txt"

PIDS=()
STARTED_BROKER=
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$STARTED_BROKER" ]; then scripts/services/kafka.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
# Waits up to $2 seconds for the command "$3 ..." to succeed; says what it waited for.
wait_for() { # what seconds command...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "gave up waiting for $what after $seconds s; worker logs are in $OUT/" >&2
  exit 1
}
lines() { if [ -f "$OUT/orders.txt" ]; then wc -l < "$OUT/orders.txt"; else echo 0; fi; }
# `sluice connectors status` of a connector (default example-orders): its line, then a table
# with a row per task (TASK STATE WORKER ERROR).
status() { "$SLUICE" connectors status "${1:-example-orders}"; }
# "STATE WORKER" of each task of a connector.
task_rows() { status "$@" | awk '$1 ~ /^[0-9]+$/ { print $2, $3 }'; }
all_running_on() { # [worker]: all 4 tasks RUNNING, every one on that worker when given
  local rows
  rows=$(task_rows) || return 1
  [ "$(echo "$rows" | grep -c "^RUNNING ${1:-}")" -eq 4 ]
}
spread() { # all 4 tasks RUNNING, on both workers
  local rows
  rows=$(task_rows) || return 1
  [ "$(echo "$rows" | grep -c '^RUNNING ')" -eq 4 ] &&
    echo "$rows" | grep -q ':8083' && echo "$rows" | grep -q ':8084'
}
sink_running() { task_rows example-orders-to-file | grep -q '^RUNNING '; }
more_lines_than() { [ "$(lines)" -gt "$1" ]; }

# A broker already running (yours, or the test suite's) is used and left running; one this
# script starts is stopped at the end, so every run starts from an empty broker.
if ! scripts/services/kafka.sh status >/dev/null 2>&1; then
  step "Starting the test broker"
  scripts/services/kafka.sh start
  STARTED_BROKER=yes
fi
"$SLUICE" topics --worker-config "$HERE/worker-1.properties" create example-orders \
  --partitions 3 2>/dev/null || echo "(topic example-orders exists already)"

step "Starting worker 1 (http://127.0.0.1:8083) and worker 2 (http://127.0.0.1:8084)"
for n in 1 2; do
  "$SLUICE" distributed "$HERE/worker-$n.properties" > "$OUT/worker-$n.log" 2>&1 &
  PIDS+=($!)
done
WORKER2=${PIDS[1]}
wait_for "worker 1's REST API" 60 curl -sf http://127.0.0.1:8083/
wait_for "worker 2's REST API" 60 curl -sf http://127.0.0.1:8084/

step "Creating the connectors through worker 1 (sluice connectors update: create or change)"
export SLUICE_URL=http://127.0.0.1:8083
# Until the workers have joined and elected a leader, writes are answered 409; try again.
for connector in orders orders-to-file; do
  wait_for "the cluster to take $connector.json" 60 \
    "$SLUICE" connectors update "$HERE/$connector.json"
  echo "example-$connector: created (or changed) from $HERE/$connector.json"
done

step "Tasks spread over both workers (sluice connectors status)"
wait_for "example-orders' tasks on both workers" 90 spread
status
wait_for "the sink task running" 60 sink_running
status example-orders-to-file
wait_for "orders in $OUT/orders.txt" 60 more_lines_than 20
echo "$(lines) orders in $OUT/orders.txt so far; the last three:"
tail -n 3 "$OUT/orders.txt"

step "kill -9 of worker 2"
disown "$WORKER2" # no "Killed" notice from the shell
kill -9 "$WORKER2"
killed_at=$(date +%s.%N)
wait_for "worker 2's tasks running on worker 1" 60 all_running_on 127.0.0.1:8083
awk -v t0="$killed_at" -v t1="$(date +%s.%N)" \
  'BEGIN { printf "All 4 tasks run on worker 1 again, %.1f s after the kill:\n", t1 - t0 }'
status
before=$(lines)
wait_for "more orders after the kill" 60 more_lines_than $((before + 20))
echo "$(lines) orders in $OUT/orders.txt now ($before when the tasks had moved); the sink:"
status example-orders-to-file

step "Stopping worker 1"
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}" || true
if [ -n "$STARTED_BROKER" ]; then
  step "Stopping the test broker this script started (its topics were in memory)"
  scripts/services/kafka.sh stop
  STARTED_BROKER=
fi
echo "Done."
