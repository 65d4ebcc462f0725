#!/usr/bin/env bash
# Sink path on Kafka: a topic of N 100-byte records (3 partitions) on the test broker
# (scripts/services/kafka.sh, or $SLUICE_KAFKA_BOOTSTRAP) read three ways in the same run:
#   1. raw_consume: a plain librdkafka consumer (crates/kafka/examples/raw_consume.rs)
#      assigned every partition from the beginning, until it has N records (the baseline
#      of the target);
#   2. raw_consume --write: the same consumer also writing each value and a newline to a
#      file in 1 MiB writes, as FileStreamSink does: the cost of the sink's job itself;
#   3. sluice standalone, FileStreamSink writing the topic to a file (StringConverter),
#      as consumer group connect-bench-sink-..., until the file holds every byte (then the
#      output is compared with the input).
# Both clients get the same settings: librdkafka's fetch defaults, except the two that
# sluice-kafka sets (fetch.queue.backoff.ms=10, isolation.level=read_uncommitted), which
# the raw consumer is given too.
#
# Two figures per run:
#   steady:    from the first record to the last (Sluice: the output file's size sampled
#              every 5 ms by crates/kafka/examples/progress.rs, from the first byte to the
#              last; raw: the first and the last record the consumer got);
#   whole run: from the process start to the last record (for Sluice this includes the
#              consumer group's first join, about session.timeout.ms/2 = 3 s on this
#              broker; the raw consumer assigns its partitions without a group).
# Beside them, the CPU time the client process used (user + system, all threads, start-up
# included): on this 2-core machine the broker, the client and other work share the cores,
# so CPU per record shows where the rate goes. The same per thread (the raw consumer reports
# its own), with the broker's CPU during the run when `ss` finds the broker's process.
#
#   scripts/bench/kafka-sink.sh [LINES] [ROUNDS]      (default 2000000 lines, 1 round)
#
# With ROUNDS > 1 the runs repeat on the same topic (raw, raw writing, sluice, raw, ...),
# each Sluice run with a new group. Prints records/s and MB/s of each, the ratio to the raw
# consumer of the same round (target >= 0.90), and the ratio to the raw consumer that
# writes the file.
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-2000000}
ROUNDS=${2:-1}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/sluice-kbench.XXXXXX)}
TARGET=${CARGO_TARGET_DIR:-target}
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

if [ -z "${SLUICE_KAFKA_BOOTSTRAP:-}" ]; then
  SLUICE_KAFKA_BOOTSTRAP="$(scripts/services/kafka.sh start | tail -n 1)"
fi
B=$SLUICE_KAFKA_BOOTSTRAP
# shellcheck source=scripts/bench/kafka-common.sh
. scripts/bench/kafka-common.sh
BROKER_PID=$(listener_pid "$B")
# SLUICE_BENCH_NO_BUILD=1 uses the binaries already built.
if [ -z "${SLUICE_BENCH_NO_BUILD:-}" ]; then
  cargo build --release --quiet -p sluice --bin sluice
  cargo build --release --quiet -p sluice-kafka --example raw_produce --example raw_consume \
    --example progress
fi
# SLUICE_BIN runs another build of sluice (e.g. a copy of the previous one, to compare).
BIN=${SLUICE_BIN:-$TARGET/release/sluice}
PROGRESS=$TARGET/release/examples/progress

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
# "first=F first_value=V last=L", a start time and the unit of V -> "steady_seconds
# steady_records whole_seconds"
figures() { # progress-line start bytes-per-record
  awk -v line="$1" -v t0="$2" -v n="$LINES" -v per="$3" 'BEGIN {
    split(line, kv, /[ =]/); f = kv[2]; v = kv[4]; l = kv[6];
    printf "%.6f %d %.6f\n", l - f, n - v / per, l - t0 }'
}
rate() { # label seconds records
  awk -v l="$1" -v s="$2" -v n="$3" -v b="$VALUE_BYTES" -v total="$LINES" \
    'BEGIN { printf "  %-26s %8.3f s %10.0f records/s %7.1f MB/s\n", l, s, n / s, b * n / total / s / 1e6 }'
}

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

# Runs raw_consume over the topic (extra leading arguments such as --write FILE); leaves
# "steady_seconds steady_records whole_seconds cpu" in RUN_F and its threads in RUN_T.
run_raw() {
  local b0 t0 out
  b0=$(broker_cpu)
  t0=$(now)
  out=$(/usr/bin/time -f "cpu=%U+%S" -o "$WORK/time.txt" \
    "$TARGET/release/examples/raw_consume" "$@" "$B" "$TOPIC" "$LINES" \
    fetch.queue.backoff.ms=10 isolation.level=read_uncommitted)
  RUN_F="$(figures "$(echo "$out" | grep '^first=')" "$t0" 1) $(awk -F'[=+]' '{ print $2 + $3 }' "$WORK/time.txt")"
  RUN_T=$(run_threads reported "$out" "$b0")
}

declare -a RESULTS THREADS
for round in $(seq 1 "$ROUNDS"); do
  run_raw
  RAW_F=$RUN_F RAW_T=$RUN_T

  rm -f "$WORK/raw-out.txt"
  run_raw --write "$WORK/raw-out.txt"
  [ "$(stat -c %s "$WORK/raw-out.txt")" = "$BYTES" ] \
    || { echo "the raw consumer's output file is short" >&2; exit 1; }
  RAWW_F=$RUN_F RAWW_T=$RUN_T

  rm -f "$WORK/out.txt" "$WORK/connect.offsets"
  cat > "$WORK/sink.properties" <<PROPS
name=bench-sink-$round-$(date +%s%N)
connector.class=FileStreamSink
file=$WORK/out.txt
topics=$TOPIC
PROPS
  b0=$(broker_cpu)
  t0=$(now)
  RUST_LOG=warn "$BIN" standalone "$WORK/worker.properties" "$WORK/sink.properties" &
  PID=$!
  # Each record is its value and a newline in the file.
  line=$("$PROGRESS" file "$WORK/out.txt" "$BYTES" "$PID")
  SLUICE_F="$(figures "$line" "$t0" $((BYTES / LINES))) $(cpu_of "$PID")"
  SLUICE_T=$(run_threads process "$PID" "$b0")
  kill -TERM "$PID"; wait "$PID" || true
  PID=
  cmp -s <(sort "$WORK/in.txt") <(sort "$WORK/out.txt") \
    && echo "Round $round: the output holds every input line." \
    || { echo "OUTPUT DIFFERS" >&2; exit 1; }
  RESULTS+=("$RAW_F|$RAWW_F|$SLUICE_F")
  THREADS+=("$RAW_T|$RAWW_T|$SLUICE_T")
done

echo
echo "Kafka ($B) -> sink, $LINES records of 99 bytes, 3 partitions ($(nproc) cores), $ROUNDS round(s)"
for i in "${!RESULTS[@]}"; do
  IFS='|' read -r RAW_F RAWW_F SLUICE_F <<<"${RESULTS[$i]}"
  IFS='|' read -r RAW_T RAWW_T SLUICE_T <<<"${THREADS[$i]}"
  read -r raw_s raw_n raw_w raw_c <<<"$RAW_F"
  read -r rw_s rw_n rw_w rw_c <<<"$RAWW_F"
  read -r sl_s sl_n sl_w sl_c <<<"$SLUICE_F"
  echo "steady state (first record to last):"
  rate "raw librdkafka consumer" "$raw_s" "$raw_n"
  rate "raw consumer writing file" "$rw_s" "$rw_n"
  rate "sluice FileStreamSink" "$sl_s" "$sl_n"
  echo "whole run (process start to last record):"
  rate "raw librdkafka consumer" "$raw_w" "$LINES"
  rate "raw consumer writing file" "$rw_w" "$LINES"
  rate "sluice FileStreamSink" "$sl_w" "$LINES"
  echo "client CPU (whole run): raw $raw_c s, raw writing $rw_c s, sluice $sl_c s"
  echo "CPU seconds by thread (whole run), and the broker's during the run:"
  printf '  %-26s %s\n' "raw librdkafka consumer" "$RAW_T" "raw consumer writing file" "$RAWW_T" \
    "sluice FileStreamSink" "$SLUICE_T"
  awk -v rs="$raw_s" -v rn="$raw_n" -v ss="$sl_s" -v sn="$sl_n" -v rw="$raw_w" -v sw="$sl_w" \
    'BEGIN { printf "FileStreamSink / raw: steady %.3f, whole run %.3f\n", sn / ss / (rn / rs), rw / sw }'
  awk -v rs="$rw_s" -v rn="$rw_n" -v ss="$sl_s" -v sn="$sl_n" \
    'BEGIN { printf "FileStreamSink / raw writing the file: steady %.3f\n", sn / ss / (rn / rs) }'
done
