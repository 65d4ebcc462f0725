#!/usr/bin/env bash
# Sink path on Kafka: a topic of N 100-byte records on the test broker
# (scripts/services/kafka.sh, or $SLUICE_KAFKA_BOOTSTRAP) read two ways in the same run:
#   1. raw_consume: a plain librdkafka consumer (crates/kafka/examples/raw_consume.rs)
#      reading every partition from the beginning until it has N records;
#   2. sluice standalone, FileStreamSink writing the topic to a file (StringConverter),
#      timed from its start until the file holds every byte.
#
#   scripts/bench/kafka-sink.sh [LINES]      (default 2000000)
#
# Prints records/s and MB/s of each, and the ratio to the raw consumer (target >= 0.90).
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-2000000}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/sluice-kbench.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-target}
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

if [ -z "${SLUICE_KAFKA_BOOTSTRAP:-}" ]; then
  SLUICE_KAFKA_BOOTSTRAP="$(scripts/services/kafka.sh start | tail -n 1)"
fi
B=$SLUICE_KAFKA_BOOTSTRAP
cargo build --release --quiet -p sluice --bin sluice
cargo build --release --quiet -p sluice-kafka --example raw_produce --example raw_consume
BIN=$TARGET/release/sluice

echo "Generating $LINES lines of 100 bytes in $WORK ..."
perl -e 'my $n = shift; for my $i (1..$n) { printf "%099d\n", $i }' "$LINES" > "$WORK/in.txt"
BYTES=$(stat -c %s "$WORK/in.txt")
# The record values are the lines without their newline.
VALUE_BYTES=$((BYTES - LINES))
TOPIC="bench-sink-$(date +%s%N)"
"$BIN" topics --bootstrap-server "$B" create "$TOPIC" --partitions 3 >/dev/null
echo "Filling topic $TOPIC ..."
"$TARGET/release/examples/raw_produce" "$B" "$TOPIC" "$WORK/in.txt" >/dev/null

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
rate() { # label seconds
  awk -v l="$1" -v s="$2" -v n="$LINES" -v b="$VALUE_BYTES" \
    'BEGIN { printf "%-34s %8.3f s %12.0f records/s %9.1f MB/s\n", l, s, n / s, b / s / 1e6 }'
}

t0=$(now); "$TARGET/release/examples/raw_consume" "$B" "$TOPIC" "$LINES" >/dev/null; t1=$(now)
RAW_S=$(secs "$t0" "$t1")

cat > "$WORK/worker.properties" <<PROPS
bootstrap.servers=$B
offset.storage.file.filename=$WORK/connect.offsets
offset.flush.interval.ms=10000
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
consumer.max.poll.records=20000
consumer.session.timeout.ms=6000
listeners=http://127.0.0.1:0
PROPS
cat > "$WORK/sink.properties" <<PROPS
name=bench-sink
connector.class=FileStreamSink
file=$WORK/out.txt
topics=$TOPIC
PROPS
t0=$(now)
RUST_LOG=warn "$BIN" standalone "$WORK/worker.properties" "$WORK/sink.properties" &
PID=$!
while [ "$(stat -c %s "$WORK/out.txt" 2>/dev/null || echo 0)" -lt "$BYTES" ]; do
  if ! kill -0 "$PID" 2>/dev/null; then echo "sluice exited early" >&2; exit 1; fi
  sleep 0.02
done
t1=$(now)
SLUICE_S=$(secs "$t0" "$t1")
kill -TERM "$PID"; wait "$PID" || true
PID=
cmp -s <(sort "$WORK/in.txt") <(sort "$WORK/out.txt") \
  && echo "Output holds every input line." || { echo "OUTPUT DIFFERS" >&2; exit 1; }

echo
echo "Kafka ($B) -> sink, $LINES records of 99 bytes ($(nproc) cores)"
rate "raw librdkafka consumer (baseline)" "$RAW_S"
rate "sluice FileStreamSink" "$SLUICE_S"
awk -v r="$RAW_S" -v s="$SLUICE_S" 'BEGIN { printf "FileStreamSink / raw: %.3f (records/s)\n", r / s }'
