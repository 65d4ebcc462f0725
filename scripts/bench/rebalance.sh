#!/usr/bin/env bash
# Rebalance time: three `sluice distributed` workers on the Kafka test broker run a datagen
# connector of 6 tasks; one worker is killed (kill -9) or stopped (SIGTERM), and the time runs
# until every task runs again on the other workers (polled every 100 ms through the REST API
# of a surviving worker). The worker then comes back and gets its share before the next round.
#
#   scripts/bench/rebalance.sh [ROUNDS]   (default 3)
#
# Baseline printed beside the figures: the floor the settings impose on a kill, the time for
# the group coordinator to notice (session.timeout.ms) plus the time the leader holds the
# departed worker's work (scheduled.rebalance.max.delay.ms). A stopped worker leaves the group
# at once, so its floor is the delay alone.
# Uses $SLUICE_KAFKA_BOOTSTRAP, or starts the test broker (scripts/services/kafka.sh).
# SLUICE_BIN=path skips the release build and runs that binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SESSION_MS=6000
DELAY_MS=3000
WORK=$(mktemp -d /tmp/sluice-rebalance.XXXXXX)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/reltarget}
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${SLUICE_BIN:-}" ]; then
  cargo build --release -p sluice --quiet
fi
BIN=${SLUICE_BIN:-$CARGO_TARGET_DIR/release/sluice}
BOOTSTRAP=${SLUICE_KAFKA_BOOTSTRAP:-$(scripts/services/kafka.sh start)}
PREFIX="bench-rebalance-$$-$RANDOM"

cat > "$WORK/worker.properties" <<PROPS
bootstrap.servers=$BOOTSTRAP
group.id=$PREFIX-cluster
config.storage.topic=$PREFIX-configs
offset.storage.topic=$PREFIX-offsets
offset.storage.partitions=3
status.storage.topic=$PREFIX-status
status.storage.partitions=1
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
session.timeout.ms=$SESSION_MS
heartbeat.interval.ms=1000
scheduled.rebalance.max.delay.ms=$DELAY_MS
listeners=http://127.0.0.1:0
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
PROPS

now() { date +%s.%N; }

# start_worker N: starts worker N, waits for its REST url, stores it in URL[N].
declare -A URL PID
start_worker() {
  local n=$1 log="$WORK/worker-$1.log"
  : > "$log"
  RUST_LOG=info "$BIN" distributed "$WORK/worker.properties" 2> "$log" > /dev/null &
  PID[$n]=$!
  PIDS+=("$!")
  disown "$!"
  for _ in $(seq 1 900); do
    if grep -q "REST API listening on" "$log"; then
      URL[$n]=$(grep -o "REST API listening on [^ ]*" "$log" | head -1 | awk '{print $5}')
      return
    fi
    sleep 0.1
  done
  echo "worker $n did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}

# placement URL: the worker id of each task, space-separated, when all 6 run; else empty.
placement() {
  curl -s "$1/connectors/orders/status" | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
tasks = s.get("tasks", [])
if len(tasks) == 6 and all(t["state"] == "RUNNING" for t in tasks):
    print(" ".join(t["worker_id"] for t in tasks))
'
}

# wait_for CONDITION-COMMAND: polls every 100 ms, up to 120 s.
wait_for() {
  for _ in $(seq 1 1200); do
    if eval "$1"; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for: $1" >&2
  exit 1
}

for n in 1 2 3; do start_worker "$n"; done
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' "${URL[1]}/connectors" -d "{
  \"name\": \"orders\",
  \"config\": {\"connector.class\": \"DatagenConnector\", \"tasks.max\": \"6\",
    \"kafka.topic\": \"$PREFIX-orders\", \"quickstart\": \"orders\", \"max.interval\": \"20\"}}"
spread() { [ "$(placement "${URL[1]}" | tr ' ' '\n' | sort -u | grep -c .)" = 3 ]; }
wait_for spread

echo "Rebalance after a worker departs: 3 workers, datagen with 6 tasks, session.timeout.ms=$SESSION_MS, scheduled.rebalance.max.delay.ms=$DELAY_MS"
printf '%-6s %-6s %-12s %-12s %s\n' round how seconds floor_s tasks_moved
for round in $(seq 1 "$ROUNDS"); do
  for how in KILL TERM; do
    victim_url=${URL[3]}
    victim=${victim_url#http://}
    moved=$(placement "${URL[1]}" | tr ' ' '\n' | grep -c "^$victim$" || true)
    start=$(now)
    kill "-$how" "${PID[3]}"
    gone() { p=$(placement "${URL[1]}"); [ -n "$p" ] && ! grep -q "$victim" <<< "$p"; }
    wait_for gone
    took=$(echo "$(now) - $start" | bc -l)
    if [ "$how" = KILL ]; then
      floor=$(echo "($SESSION_MS + $DELAY_MS) / 1000" | bc -l)
    else
      floor=$(echo "$DELAY_MS / 1000" | bc -l)
    fi
    printf '%-6s %-6s %-12.2f %-12.2f %s\n' "$round" "$how" "$took" "$floor" "$moved"
    while kill -0 "${PID[3]}" 2>/dev/null; do sleep 0.1; done
    start_worker 3
    wait_for spread
  done
done
