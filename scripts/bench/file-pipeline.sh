#!/usr/bin/env bash
# Whole-pipeline benchmark: N lines of 100 bytes, file -> topic -> file with StringConverter
# on the embedded log, beside `cat` and `dd` copying the same file in the same run.
#
#   scripts/bench/file-pipeline.sh [LINES]      (default 10000000)
#
# Prints records/s and MB/s for each, Sluice's ratio to each baseline, and the worker's CPU
# time (user + system) per million records. SLUICE_BIN=path runs that binary instead of
# building one.
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-10000000}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/sluice-bench.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT

if [ -n "${SLUICE_BIN:-}" ]; then
  BIN=$SLUICE_BIN
else
  cargo build --release -p sluice --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/sluice
fi

echo "Generating $LINES lines of 100 bytes in $WORK ..."
perl -e 'my $n = shift; for my $i (1..$n) { printf "%099d\n", $i }' "$LINES" > "$WORK/in.txt"
BYTES=$(stat -c %s "$WORK/in.txt")
sync

now() { date +%s.%N; }
rate() { # label seconds
  awk -v l="$1" -v s="$2" -v n="$LINES" -v b="$BYTES" \
    'BEGIN { printf "%-28s %8.3f s %12.0f records/s %9.1f MB/s\n", l, s, n / s, b / s / 1e6 }'
}

# Baselines: copy the same bytes with cat and dd (to the same filesystem). Like Sluice's
# run, they write to the page cache without waiting for the disk (no sync in the timing).
t0=$(now); cat "$WORK/in.txt" > "$WORK/cat.txt"; t1=$(now)
CAT_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rm -f "$WORK/cat.txt"
sync
t0=$(now); dd if="$WORK/in.txt" of="$WORK/dd.txt" bs=1M status=none; t1=$(now)
DD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rm -f "$WORK/dd.txt"
sync

cat > "$WORK/worker.properties" <<PROPS
embedded.log.dir=$WORK/data
offset.storage.file.filename=$WORK/connect.offsets
offset.flush.interval.ms=10000
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
listeners=http://127.0.0.1:0
consumer.max.poll.records=5000
PROPS
cat > "$WORK/source.properties" <<PROPS
name=bench-source
connector.class=FileStreamSource
file=$WORK/in.txt
topic=bench
batch.size=5000
PROPS
cat > "$WORK/sink.properties" <<PROPS
name=bench-sink
connector.class=FileStreamSink
file=$WORK/out.txt
topics=bench
PROPS

t0=$(now)
RUST_LOG=warn "$BIN" standalone "$WORK/worker.properties" "$WORK/source.properties" "$WORK/sink.properties" &
PID=$!
# Every input line is copied byte for byte, so the pipeline is done when the sizes match.
while [ "$(stat -c %s "$WORK/out.txt" 2>/dev/null || echo 0)" -lt "$BYTES" ]; do
  if ! kill -0 "$PID" 2>/dev/null; then echo "sluice exited early" >&2; exit 1; fi
  sleep 0.02
done
t1=$(now)
# The worker's CPU time so far (user + system, in clock ticks), read before it stops.
CPU_TICKS=$(awk '{ print $14 + $15 }' "/proc/$PID/stat")
SLUICE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
kill -TERM "$PID"; wait "$PID" || true
cmp -s "$WORK/in.txt" "$WORK/out.txt" && echo "Output identical to input." || { echo "OUTPUT DIFFERS" >&2; exit 1; }

echo
echo "file -> topic -> file, $LINES lines of 100 bytes ($(nproc) cores)"
rate "cat (baseline)" "$CAT_S"
rate "dd bs=1M (baseline)" "$DD_S"
rate "sluice file->topic->file" "$SLUICE_S"
awk -v s="$SLUICE_S" -v c="$CAT_S" -v d="$DD_S" \
  'BEGIN { printf "sluice / cat throughput: %.3f   sluice / dd throughput: %.3f\n", c / s, d / s }'
awk -v t="$CPU_TICKS" -v hz="$(getconf CLK_TCK)" -v n="$LINES" \
  'BEGIN { printf "sluice CPU (user + system): %.2f s, %.3f s per million records\n", t / hz, t / hz / (n / 1e6) }'
