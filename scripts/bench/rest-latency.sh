#!/usr/bin/env bash
# REST API latency and throughput with 100 connectors, under wrk.
#
#   scripts/bench/rest-latency.sh [CONNECTORS] [SECONDS] [CONNECTIONS]   (default 100, 10, 10)
#
# Starts `sluice standalone` (release build) on the embedded log with no connector files,
# creates CONNECTORS datagen sources through `POST /connectors` (RUNNING, one task each,
# `rate=1`: one record per second per task, so the worker is nearly idle), then runs wrk
# (one thread, CONNECTIONS keep-alive connections, SECONDS each, --latency) against:
#   GET /                              baseline: the server info, a trivial handler on the
#                                      same server, HTTP stack and router
#   GET /connectors?expand=status      every connector with its status
#   GET /connectors/{name}/status      one connector's status
# and prints p50/p99 latency, requests/s and the ratio of each to the baseline. wrk runs on
# the same two cores as the worker.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONNECTORS=${1:-100}
SECONDS_EACH=${2:-10}
CONNECTIONS=${3:-10}
command -v wrk >/dev/null || { echo "Installing wrk ..."; apt-get install -y wrk >/dev/null; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/reltarget}
cargo build --release -p sluice --quiet
BIN=$CARGO_TARGET_DIR/release/sluice
WORK=$(mktemp -d /tmp/sluice-rest.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
cat > "$WORK/worker.properties" <<PROPS
listeners=$URL
embedded.log.dir=$WORK/data
offset.storage.file.filename=$WORK/connect.offsets
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
PROPS
RUST_LOG=warn "$BIN" standalone "$WORK/worker.properties" &
PID=$!
until curl -sf "$URL/" >/dev/null; do
  kill -0 "$PID" 2>/dev/null || { echo "sluice exited early" >&2; exit 1; }
  sleep 0.05
done
for i in $(seq -f '%03g' 1 "$CONNECTORS"); do
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' "$URL/connectors" -d \
    "{\"name\":\"gen-$i\",\"config\":{\"connector.class\":\"DatagenConnector\",\"kafka.topic\":\"gen-$i\",\"quickstart\":\"orders\",\"rate\":\"1\",\"tasks.max\":\"1\"}}"
done
# Every connector and task RUNNING before measuring.
until [ "$(curl -sf "$URL/connectors?expand=status" | grep -o '"state":"RUNNING"' | wc -l)" -eq $((2 * CONNECTORS)) ]; do
  sleep 0.1
done
ONE=$(printf 'gen-%03d' $(( (CONNECTORS + 1) / 2 )))

# wrk's latency lines are like "     50%  210.00us"; print milliseconds.
ms() { awk -v q="$1" '$1 == q { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f", v }'; }
declare -A P50 P99 RPS
run() { # label path
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$URL$2")
  P50[$1]=$(echo "$out" | ms 50%)
  P99[$1]=$(echo "$out" | ms 99%)
  RPS[$1]=$(echo "$out" | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
  if echo "$out" | grep -q 'Non-2xx'; then echo "$2 answered errors:" >&2; echo "$out" >&2; exit 1; fi
}
run base /
run list "/connectors?expand=status"
run one "/connectors/$ONE/status"

echo "REST API under wrk: $CONNECTORS running datagen connectors, -t1 -c$CONNECTIONS -d${SECONDS_EACH}s ($(nproc) cores)"
printf '%-36s %10s %10s %12s %s\n' endpoint "p50 ms" "p99 ms" "requests/s" "throughput vs GET /"
for k in base list one; do
  case $k in base) label="GET / (baseline)";; list) label="GET /connectors?expand=status";; one) label="GET /connectors/$ONE/status";; esac
  printf '%-36s %10s %10s %12s %s\n' "$label" "${P50[$k]}" "${P99[$k]}" "${RPS[$k]}" \
    "$(awk -v a="${RPS[$k]}" -v b="${RPS[base]}" 'BEGIN { printf "%.2f", a / b }')"
done
BYTES=$(curl -sf "$URL/connectors?expand=status" | wc -c)
echo "GET /connectors?expand=status answer: $BYTES bytes"
