#!/usr/bin/env bash
# Source produce path on Kafka: N records into topics of the test broker
# (scripts/services/kafka.sh, or $SLUICE_KAFKA_BOOTSTRAP), each Sluice run beside a plain
# librdkafka producer (crates/kafka/examples/raw_produce.rs, sluice-kafka's producer settings)
# sending the same bytes in the same round:
#   1. raw_produce: every line of a file of N 100-byte lines as one record value (no key);
#   2. sluice standalone, FileStreamSource reading the same file (StringConverter) with its
#      default batch.size (2,000 lines per poll, as in Kafka: larger polls measured slower,
#      their records no longer fit the caches between polling, converting and sending);
#   3. raw_produce --keyed: Datagen's own records (keys and values, byte for byte; taken once,
#      before the rounds, from a Datagen run on the embedded log with the same seed);
#   4. sluice standalone, DatagenConnector (quickstart orders, random.seed=1, string keys,
#      values through $DATAGEN_VALUE_CONVERTER: `json` (default) is JsonConverter with
#      schemas.enable=false, ~145-byte JSON objects; `string` is StringConverter, the
#      Struct's ~150-byte Java text), on Kafka;
#   5. the same Datagen run on the embedded log, so Datagen's own cost is known.
# Every topic has 3 partitions; file records have no key, Datagen's have their order id (the
# same partitioner places both sides' records alike); the clients have the same settings
# (sluice-kafka's defaults: idempotent, acks=all, librdkafka's batching: linger.ms=5,
# batch.size 1 MB, no compression).
#
# Two figures per run:
#   steady:    from the first acknowledged record to the last (raw: the producer's first and
#              last delivery report; Sluice: the first sample of /metrics
#              source_record_write_total above zero, sampled every 5 ms by
#              crates/kafka/examples/progress.rs, with the records written by then left out,
#              to the time the worker reports for its last acknowledgement,
#              source_task_last_write_timestamp_seconds; after the first sample the stopwatch
#              scrapes every 100 ms, so that its cost, which a producer timing itself does not
#              pay, stays out of the run);
#   whole run: from the process start to the last acknowledged record (start-up, connecting).
# Beside them, the CPU time the client process used (user + system, all threads, start-up
# included): on this 2-core machine the broker, the client and other work share the cores,
# so CPU per record shows where the rate goes. The same per thread (the raw producer reports
# its own), with the broker's CPU during the run when `ss` finds the broker's process.
#
#   scripts/bench/kafka-source.sh [LINES] [ROUNDS]      (default 2000000 lines, 1 round)
#
# With ROUNDS > 1 the runs repeat (1-5, 1-5, ...) on fresh topics. Prints records/s and MB/s
# of each, and each Sluice run's ratio to its raw producer of the same round (target >= 0.90).
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-2000000}
ROUNDS=${2:-1}
DATAGEN_VALUE_CONVERTER=${DATAGEN_VALUE_CONVERTER:-json}
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
  cargo build --release --quiet -p sluice-kafka --example raw_produce --example progress
fi
BIN=$TARGET/release/sluice
RAW=$TARGET/release/examples/raw_produce
PROGRESS=$TARGET/release/examples/progress

echo "Generating $LINES lines of 100 bytes in $WORK ..."
perl -e 'my $n = shift; for my $i (1..$n) { printf "%099d\n", $i }' "$LINES" > "$WORK/in.txt"
BYTES=$(stat -c %s "$WORK/in.txt")
# The record values are the lines without their newline.
VALUE_BYTES=$((BYTES - LINES))

now() { date +%s.%N; }
# "first=F first_value=V last=L" and a start time -> "steady_seconds steady_records whole_seconds"
figures() { # progress-line start
  awk -v line="$1" -v t0="$2" -v n="$LINES" 'BEGIN {
    split(line, kv, /[ =]/); f = kv[2]; v = kv[4]; l = kv[6];
    printf "%.6f %d %.6f\n", l - f, n - v, l - t0 }'
}
rate() { # label seconds records bytes-per-record
  awk -v l="$1" -v s="$2" -v n="$3" -v b="$4" \
    'BEGIN { printf "  %-26s %8.3f s %10.0f records/s %7.1f MB/s\n", l, s, n / s, n * b / s / 1e6 }'
}
# Three partitions per topic, created before the run.
create() { "$BIN" topics --bootstrap-server "$B" create "$1" --partitions 3 >/dev/null; }

PORT=$((20000 + RANDOM % 20000))
worker() { # file backend-line
  cat > "$1" <<PROPS
$2
offset.storage.file.filename=$WORK/connect.offsets
offset.flush.interval.ms=10000
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
listeners=http://127.0.0.1:$PORT
PROPS
}
worker "$WORK/kafka.properties" "bootstrap.servers=$B"
worker "$WORK/embedded.properties" "embedded.log.dir=$WORK/data"

# Runs sluice with one connector until N records are acknowledged; prints the figures
# and leaves its threads' CPU (and the broker's) in $WORK/threads.txt.
run_sluice() { # worker-file connector-file
  rm -f "$WORK/connect.offsets"
  local t0 line cpu b0
  b0=$(broker_cpu)
  t0=$(now)
  RUST_LOG=warn "$BIN" standalone "$1" "$2" &
  PID=$!
  if ! line=$("$PROGRESS" metrics "127.0.0.1:$PORT" \
      sluice_connect_source_task_source_record_write_total "$LINES" "$PID" \
      --last-at sluice_connect_source_task_last_write_timestamp_seconds); then
    kill -TERM "$PID" 2>/dev/null || true
    exit 1
  fi
  cpu=$(cpu_of "$PID")
  run_threads process "$PID" "$b0" > "$WORK/threads.txt"
  kill -TERM "$PID"; wait "$PID" || true
  PID=
  echo "$(figures "$line" "$t0") $cpu"
}

datagen_props() { # topic
  cat > "$WORK/datagen.properties" <<PROPS
name=bench-datagen
connector.class=DatagenConnector
kafka.topic=$1
quickstart=orders
iterations=$LINES
max.interval=0
random.seed=1
PROPS
  case "$DATAGEN_VALUE_CONVERTER" in
    json) printf '%s\n' "value.converter=org.apache.kafka.connect.json.JsonConverter" \
            "value.converter.schemas.enable=false" >> "$WORK/datagen.properties" ;;
    string) ;;
    *) echo "DATAGEN_VALUE_CONVERTER must be json or string" >&2; exit 1 ;;
  esac
}

# Runs Datagen on a fresh embedded log (topic bench-datagen); leaves the log in $WORK/data.
run_datagen_embedded() {
  datagen_props bench-datagen
  rm -rf "$WORK/data"
  "$BIN" topics --data-dir "$WORK/data" create bench-datagen --partitions 3 >/dev/null
  run_sluice "$WORK/embedded.properties" "$WORK/datagen.properties"
}

# Datagen's records as KEY<TAB>VALUE lines for `raw_produce --keyed`: the keys and values
# Datagen wrote to the embedded log. Seeded runs make the same records every time.
echo "Recording Datagen's $LINES records ($DATAGEN_VALUE_CONVERTER values) for the raw producer ..."
run_datagen_embedded >/dev/null
"$BIN" topics --data-dir "$WORK/data" consume bench-datagen --from-beginning --format json |
  python3 -c '
import json, sys
out = sys.stdout
for line in sys.stdin:
    r = json.loads(line)
    k, v = r["key"], r["value"]
    # consume escapes backslashes and control characters; Datagen writes neither.
    if any(c in s for s in (k, v) for c in "\\\t\n"):
        sys.exit("a Datagen record holds an escaped character: " + line)
    out.write(k + "\t" + v + "\n")
' > "$WORK/datagen.txt"
rm -rf "$WORK/data"
DG_RECORDS=$(wc -l < "$WORK/datagen.txt")
if [ "$DG_RECORDS" -ne "$LINES" ]; then
  echo "expected $LINES Datagen records, the embedded log held $DG_RECORDS" >&2
  exit 1
fi
# Key and value bytes (each line less its TAB and newline).
DG_BYTES=$(($(stat -c %s "$WORK/datagen.txt") - 2 * LINES))

declare -a RESULTS THREADS
for round in $(seq 1 "$ROUNDS"); do
  RUN=$(date +%s%N)
  create "bench-raw-$RUN"
  b0=$(broker_cpu)
  t0=$(now)
  out=$(/usr/bin/time -f "cpu=%U+%S" -o "$WORK/time.txt" "$RAW" "$B" "bench-raw-$RUN" "$WORK/in.txt")
  RAW_F="$(figures "$(echo "$out" | grep '^first=')" "$t0") $(awk -F'[=+]' '{ print $2 + $3 }' "$WORK/time.txt")"
  RAW_T=$(run_threads reported "$out" "$b0")

  create "bench-file-$RUN"
  cat > "$WORK/file.properties" <<PROPS
name=bench-file-source
connector.class=FileStreamSource
file=$WORK/in.txt
topic=bench-file-$RUN
PROPS
  FILE_F=$(run_sluice "$WORK/kafka.properties" "$WORK/file.properties")
  FILE_T=$(cat "$WORK/threads.txt")

  create "bench-rawdg-$RUN"
  b0=$(broker_cpu)
  t0=$(now)
  out=$(/usr/bin/time -f "cpu=%U+%S" -o "$WORK/time.txt" "$RAW" --keyed "$B" "bench-rawdg-$RUN" "$WORK/datagen.txt")
  RAWDG_F="$(figures "$(echo "$out" | grep '^first=')" "$t0") $(awk -F'[=+]' '{ print $2 + $3 }' "$WORK/time.txt")"
  RAWDG_T=$(run_threads reported "$out" "$b0")

  create "bench-datagen-$RUN"
  datagen_props "bench-datagen-$RUN"
  DATAGEN_F=$(run_sluice "$WORK/kafka.properties" "$WORK/datagen.properties")
  DATAGEN_T=$(cat "$WORK/threads.txt")

  EMBEDDED_F=$(run_datagen_embedded)
  rm -rf "$WORK/data"

  RESULTS+=("$RAW_F|$FILE_F|$RAWDG_F|$DATAGEN_F|$EMBEDDED_F")
  THREADS+=("$RAW_T|$FILE_T|$RAWDG_T|$DATAGEN_T")
done

echo
echo "source -> Kafka ($B), $LINES records ($(nproc) cores), $ROUNDS round(s);" \
  "Datagen values: $DATAGEN_VALUE_CONVERTER, $((DG_BYTES / LINES)) key+value bytes per record"
for i in "${!RESULTS[@]}"; do
  IFS='|' read -r RAW_F FILE_F RAWDG_F DATAGEN_F EMBEDDED_F <<<"${RESULTS[$i]}"
  IFS='|' read -r RAW_T FILE_T RAWDG_T DATAGEN_T <<<"${THREADS[$i]}"
  read -r raw_s raw_n raw_w raw_c <<<"$RAW_F"
  read -r file_s file_n file_w file_c <<<"$FILE_F"
  read -r rdg_s rdg_n rdg_w rdg_c <<<"$RAWDG_F"
  read -r dg_s dg_n dg_w dg_c <<<"$DATAGEN_F"
  read -r em_s em_n em_w em_c <<<"$EMBEDDED_F"
  per=$((VALUE_BYTES / LINES))
  dper=$((DG_BYTES / LINES))
  echo "steady state (first acknowledged record to last):"
  rate "raw producer, file lines" "$raw_s" "$raw_n" "$per"
  rate "sluice FileStreamSource" "$file_s" "$file_n" "$per"
  rate "raw producer, Datagen's" "$rdg_s" "$rdg_n" "$dper"
  rate "sluice Datagen -> Kafka" "$dg_s" "$dg_n" "$dper"
  rate "sluice Datagen -> embedded" "$em_s" "$em_n" "$dper"
  echo "whole run (process start to last acknowledged record):"
  rate "raw producer, file lines" "$raw_w" "$LINES" "$per"
  rate "sluice FileStreamSource" "$file_w" "$LINES" "$per"
  rate "raw producer, Datagen's" "$rdg_w" "$LINES" "$dper"
  rate "sluice Datagen -> Kafka" "$dg_w" "$LINES" "$dper"
  rate "sluice Datagen -> embedded" "$em_w" "$LINES" "$dper"
  echo "client CPU (whole run): raw $raw_c s, File $file_c s, raw Datagen's $rdg_c s," \
    "Datagen -> Kafka $dg_c s, Datagen -> embedded $em_c s"
  echo "CPU seconds by thread (whole run), and the broker's during the run:"
  printf '  %-26s %s\n' "raw producer, file lines" "$RAW_T" "sluice FileStreamSource" "$FILE_T" \
    "raw producer, Datagen's" "$RAWDG_T" "sluice Datagen -> Kafka" "$DATAGEN_T"
  awk -v rs="$raw_s" -v rn="$raw_n" -v fs="$file_s" -v fn="$file_n" \
      -v gs="$rdg_s" -v gn="$rdg_n" -v ds="$dg_s" -v dn="$dg_n" \
      -v rw="$raw_w" -v fw="$file_w" -v gw="$rdg_w" -v dw="$dg_w" \
    'BEGIN {
      printf "File / raw: steady %.3f, whole run %.3f   Datagen / raw: steady %.3f, whole run %.3f\n",
        (fn / fs) / (rn / rs), rw / fw, (dn / ds) / (gn / gs), gw / dw }'
done
