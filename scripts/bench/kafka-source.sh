#!/usr/bin/env bash
# Source produce path on Kafka: N lines of 100 bytes into a topic of the test broker
# (scripts/services/kafka.sh, or $SLUICE_KAFKA_BOOTSTRAP), three ways in the same run:
#   1. raw_produce: a plain librdkafka producer (crates/kafka/examples/raw_produce.rs) sending
#      every line of the file as one record value, with sluice-kafka's producer settings;
#   2. sluice standalone, FileStreamSource reading the same file (StringConverter);
#   3. sluice standalone, DatagenConnector (quickstart orders, StringConverter) writing N
#      records (its values are ~150-byte Struct texts, not the file's lines).
# Sluice's time runs from its start until /metrics counts N acknowledged records.
#
#   scripts/bench/kafka-source.sh [LINES]      (default 2000000)
#
# Prints records/s and MB/s of each, and the ratios to the raw producer (target >= 0.90).
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
cargo build --release --quiet -p sluice-kafka --example raw_produce
BIN=$TARGET/release/sluice
RAW=$TARGET/release/examples/raw_produce

echo "Generating $LINES lines of 100 bytes in $WORK ..."
perl -e 'my $n = shift; for my $i (1..$n) { printf "%099d\n", $i }' "$LINES" > "$WORK/in.txt"
BYTES=$(stat -c %s "$WORK/in.txt")
RUN=$(date +%s%N)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
rate() { # label seconds records bytes
  awk -v l="$1" -v s="$2" -v n="$3" -v b="$4" \
    'BEGIN { printf "%-34s %8.3f s %12.0f records/s %9.1f MB/s\n", l, s, n / s, b / s / 1e6 }'
}
# Three partitions per topic, created before the run.
create() { "$BIN" topics --bootstrap-server "$B" create "$1" --partitions 3 >/dev/null; }

create "bench-raw-$RUN"
t0=$(now); "$RAW" "$B" "bench-raw-$RUN" "$WORK/in.txt" >/dev/null; t1=$(now)
RAW_S=$(secs "$t0" "$t1")

PORT=$((20000 + RANDOM % 20000))
cat > "$WORK/worker.properties" <<PROPS
bootstrap.servers=$B
offset.storage.file.filename=$WORK/connect.offsets
offset.flush.interval.ms=10000
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
listeners=http://127.0.0.1:$PORT
PROPS

# Runs sluice with one connector file until N records are acknowledged; prints seconds.
run_sluice() { # connector-file records
  rm -f "$WORK/connect.offsets"
  local t0 t1 written
  t0=$(now)
  RUST_LOG=warn "$BIN" standalone "$WORK/worker.properties" "$1" &
  PID=$!
  while :; do
    if ! kill -0 "$PID" 2>/dev/null; then echo "sluice exited early" >&2; exit 1; fi
    written=$(curl -s "http://127.0.0.1:$PORT/metrics" 2>/dev/null \
      | awk '/^sluice_connect_source_task_source_record_write_total/ { s += $NF } END { print s + 0 }')
    [ "${written%.*}" -ge "$2" ] && break
    sleep 0.02
  done
  t1=$(now)
  kill -TERM "$PID"; wait "$PID" || true
  PID=
  secs "$t0" "$t1"
}

create "bench-file-$RUN"
cat > "$WORK/file.properties" <<PROPS
name=bench-file-source
connector.class=FileStreamSource
file=$WORK/in.txt
topic=bench-file-$RUN
batch.size=20000
PROPS
FILE_S=$(run_sluice "$WORK/file.properties" "$LINES")

create "bench-datagen-$RUN"
cat > "$WORK/datagen.properties" <<PROPS
name=bench-datagen
connector.class=DatagenConnector
kafka.topic=bench-datagen-$RUN
quickstart=orders
iterations=$LINES
max.interval=0
random.seed=1
PROPS
DATAGEN_S=$(run_sluice "$WORK/datagen.properties" "$LINES")

echo
echo "source -> Kafka ($B), $LINES records ($(nproc) cores)"
rate "raw librdkafka producer (baseline)" "$RAW_S" "$LINES" "$BYTES"
rate "sluice FileStreamSource" "$FILE_S" "$LINES" "$BYTES"
rate "sluice DatagenConnector" "$DATAGEN_S" "$LINES" 0
awk -v r="$RAW_S" -v f="$FILE_S" -v d="$DATAGEN_S" \
  'BEGIN { printf "FileStreamSource / raw: %.3f   Datagen / raw: %.3f (records/s)\n", r / f, r / d }'
