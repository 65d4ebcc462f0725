#!/usr/bin/env bash
# Start-up time to the first record, and the resident memory of an idle worker.
#
#   scripts/bench/startup.sh [RUNS]   (default 10)
#
# Time to first record: from launching `sluice standalone` with a one-line input file to the
# line appearing in the sink's output file (file -> topic -> file on the embedded log).
# Baseline in the same run: launching `cat` on the same file into the output (process start
# plus one copy), so the figure shows what the worker adds over a bare process start.
# Idle RSS: VmRSS of the worker 2 s after that first record, with nothing flowing.
# SLUICE_BIN=path runs that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-10}
WORK=$(mktemp -d /tmp/sluice-startup.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [ -n "${SLUICE_BIN:-}" ]; then
  BIN=$(realpath "$SLUICE_BIN")
else
  cargo build --release -p sluice --quiet
  BIN=$(realpath "${CARGO_TARGET_DIR:-target}")/release/sluice
fi

now_ns() { date +%s%N; }
first_ms=(); cat_ms=(); rss_kb=()
for run in $(seq 1 "$RUNS"); do
  D="$WORK/$run"; mkdir -p "$D"
  echo "hello" > "$D/in.txt"
  cat > "$D/worker.properties" <<PROPS
embedded.log.dir=$D/data
offset.storage.file.filename=$D/connect.offsets
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
PROPS
  printf 'name=s\nconnector.class=FileStreamSource\nfile=%s\ntopic=t\n' "$D/in.txt" > "$D/source.properties"
  printf 'name=k\nconnector.class=FileStreamSink\nfile=%s\ntopics=t\n' "$D/out.txt" > "$D/sink.properties"

  t0=$(now_ns); cat "$D/in.txt" > "$D/cat.txt"; t1=$(now_ns)
  cat_ms+=("$(( (t1 - t0) / 1000 ))")

  t0=$(now_ns)
  RUST_LOG=warn "$BIN" standalone "$D/worker.properties" "$D/source.properties" "$D/sink.properties" &
  PID=$!
  until [ -s "$D/out.txt" ]; do sleep 0.0005; done
  t1=$(now_ns)
  first_ms+=("$(( (t1 - t0) / 1000 ))")
  sleep 2
  rss_kb+=("$(awk '/VmRSS/ {print $2}' /proc/$PID/status)")
  kill -TERM "$PID"; wait "$PID" || true
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
F=$(median "${first_ms[@]}"); C=$(median "${cat_ms[@]}"); R=$(median "${rss_kb[@]}")
echo "runs: $RUNS (median)"
awk -v f="$F" -v c="$C" 'BEGIN { printf "time to first record: %.1f ms   (cat baseline: %.1f ms, ratio %.1f)\n", f/1000, c/1000, f/c }'
awk -v r="$R" 'BEGIN { printf "idle worker RSS: %.1f MB\n", r/1024 }'
