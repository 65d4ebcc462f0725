#!/usr/bin/env bash
# Cost of error handling on the happy path: the file -> topic -> file pipeline of
# file-pipeline.sh run alternately without and with `errors.tolerance=all` and a dead-letter
# queue (with context headers and the error log on) on both connectors, in the same run.
# No record fails, so the difference is what the handler costs when nothing goes wrong.
#
#   scripts/bench/error-handling-overhead.sh [LINES] [REPETITIONS]   (default 2000000 5)
#   MEASURE=callgrind scripts/bench/error-handling-overhead.sh [LINES] [REPETITIONS]
#                                                                     (default 200000 5)
#
# Prints each run (wall time and the worker's CPU time), the median of each setup and the
# ratios (with / without). SLUICE_BIN=path skips the release build and runs that binary.
#
# Wall and CPU time on a shared 2-core machine spread by more than the 2% budget. With
# MEASURE=callgrind each worker runs under `valgrind --tool=callgrind`, which counts the
# instructions the worker executed (all threads, start to shutdown): a count that does not
# depend on what else the machine does, only on the work (thread interleaving still moves it
# a little, since it decides batch sizes). The script then prints instructions per run, the
# medians, the ratio and the extra instructions per record. About 50x slower than a plain
# run, hence the smaller default input.
set -euo pipefail
cd "$(dirname "$0")/../.."
MEASURE=${MEASURE:-wall}
case "$MEASURE" in
  wall) DEFAULT_LINES=2000000 ;;
  callgrind) DEFAULT_LINES=200000; command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; } ;;
  *) echo "MEASURE must be wall or callgrind" >&2; exit 1 ;;
esac
LINES=${1:-$DEFAULT_LINES}
REPS=${2:-5}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/sluice-errbench.XXXXXX)}
trap 'rm -rf "$WORK"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/reltarget}

if [ -z "${SLUICE_BIN:-}" ]; then
  cargo build --release -p sluice --quiet
fi
BIN=${SLUICE_BIN:-$CARGO_TARGET_DIR/release/sluice}

echo "Generating $LINES lines of 100 bytes in $WORK ..."
perl -e 'my $n = shift; for my $i (1..$n) { printf "%099d\n", $i }' "$LINES" > "$WORK/in.txt"
BYTES=$(stat -c %s "$WORK/in.txt")

now() { date +%s.%N; }

cat > "$WORK/worker.properties" <<PROPS
embedded.log.dir=$WORK/data
offset.storage.file.filename=$WORK/connect.offsets
offset.flush.interval.ms=10000
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
consumer.max.poll.records=20000
PROPS

# connectors SETUP: writes the connector files of one setup ("plain" or "errors").
connectors() {
  local extra_source="" extra_sink=""
  if [ "$1" = errors ]; then
    extra_source=$'errors.tolerance=all\nerrors.log.enable=true'
    extra_sink=$'errors.tolerance=all\nerrors.log.enable=true\nerrors.deadletterqueue.topic.name=bench-dlq\nerrors.deadletterqueue.topic.replication.factor=1\nerrors.deadletterqueue.context.headers.enable=true'
  fi
  cat > "$WORK/source.properties" <<PROPS
name=bench-source
connector.class=FileStreamSource
file=$WORK/in.txt
topic=bench
batch.size=20000
$extra_source
PROPS
  cat > "$WORK/sink.properties" <<PROPS
name=bench-sink
connector.class=FileStreamSink
file=$WORK/out.txt
topics=bench
$extra_sink
PROPS
}

# cpu PID: user + system CPU seconds the process used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }

# run SETUP: one pipeline run from scratch; prints its wall and CPU seconds (with
# MEASURE=callgrind: its wall seconds and instructions executed).
run() {
  rm -rf "$WORK/data" "$WORK/connect.offsets" "$WORK/out.txt" "$WORK/callgrind.out"
  connectors "$1"
  sync
  local t0 t1 pid
  local -a under=()
  if [ "$MEASURE" = callgrind ]; then
    under=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --log-file="$WORK/valgrind.log")
  fi
  t0=$(now)
  RUST_LOG=warn "${under[@]}" "$BIN" standalone "$WORK/worker.properties" "$WORK/source.properties" "$WORK/sink.properties" 2>"$WORK/$1.log" &
  pid=$!
  while [ "$(stat -c %s "$WORK/out.txt" 2>/dev/null || echo 0)" -lt "$BYTES" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "sluice exited early:" >&2; cat "$WORK/$1.log" >&2; exit 1; fi
    sleep 0.01
  done
  t1=$(now)
  local c
  c=$(cpu "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  cmp -s "$WORK/in.txt" "$WORK/out.txt" || { echo "OUTPUT DIFFERS ($1)" >&2; exit 1; }
  if [ "$MEASURE" = callgrind ]; then
    c=$(awk '/^(summary|totals):/ { print $2; exit }' "$WORK/callgrind.out")
    [ -n "$c" ] || { echo "no instruction count from callgrind ($1):" >&2; cat "$WORK/valgrind.log" >&2; exit 1; }
  fi
  awk -v a="$t0" -v b="$t1" -v c="$c" 'BEGIN { print b - a, c }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

PLAIN=()
ERRORS=()
PLAIN_CPU=()
ERRORS_CPU=()
for i in $(seq 1 "$REPS"); do
  # Alternate which setup goes first, so drift in the machine's state hits both alike.
  if [ $((i % 2)) -eq 1 ]; then order="plain errors"; else order="errors plain"; fi
  for setup in $order; do
    read -r s c < <(run "$setup")
    if [ "$MEASURE" = callgrind ]; then
      printf "run %d %-7s %8.3f s (under callgrind) %15.0f instructions\n" "$i" "$setup" "$s" "$c"
    else
      printf "run %d %-7s %8.3f s %12.0f records/s %8.3f CPU-s\n" "$i" "$setup" "$s" \
        "$(awk -v n="$LINES" -v s="$s" 'BEGIN { print n / s }')" "$c"
    fi
    if [ "$setup" = plain ]; then PLAIN+=("$s"); PLAIN_CPU+=("$c"); else ERRORS+=("$s"); ERRORS_CPU+=("$c"); fi
  done
done

P=$(printf '%s\n' "${PLAIN[@]}" | median)
E=$(printf '%s\n' "${ERRORS[@]}" | median)
PC=$(printf '%s\n' "${PLAIN_CPU[@]}" | median)
EC=$(printf '%s\n' "${ERRORS_CPU[@]}" | median)
echo
echo "file -> topic -> file, $LINES lines of 100 bytes, $REPS runs each ($(nproc) cores)"
if [ "$MEASURE" = callgrind ]; then
  spread() { sort -g | awk '{ v[NR] = $1 } END { printf "%.0f..%.0f", v[1], v[NR] }'; }
  PR=$(printf '%s\n' "${PLAIN_CPU[@]}" | spread)
  ER=$(printf '%s\n' "${ERRORS_CPU[@]}" | spread)
  awk -v pc="$PC" -v ec="$EC" -v n="$LINES" -v pr="$PR" -v er="$ER" 'BEGIN {
    printf "without error handling:   median %.0f instructions (%.0f per record; runs %s)\n", pc, pc / n, pr
    printf "with tolerance=all + DLQ: median %.0f instructions (%.0f per record; runs %s)\n", ec, ec / n, er
    printf "instructions with / without: %.4f (cost %.2f%%, %.1f instructions per record)\n", ec / pc, (ec / pc - 1) * 100, (ec - pc) / n
  }'
  exit 0
fi
awk -v p="$P" -v e="$E" -v pc="$PC" -v ec="$EC" -v n="$LINES" 'BEGIN {
  printf "without error handling:   median %.3f s, %.0f records/s, %.3f CPU-s\n", p, n / p, pc
  printf "with tolerance=all + DLQ: median %.3f s, %.0f records/s, %.3f CPU-s\n", e, n / e, ec
  printf "throughput with / without: %.4f (cost %.2f%%)\n", p / e, (1 - p / e) * 100
  printf "CPU time with / without:   %.4f (cost %.2f%%)\n", ec / pc, (ec / pc - 1) * 100
}'
# The two runs of one round share the machine's state at the time: the median of the
# per-round CPU ratios is less moved by load that drifts over the whole set.
PAIRED=$(for i in "${!PLAIN_CPU[@]}"; do awk -v p="${PLAIN_CPU[$i]}" -v e="${ERRORS_CPU[$i]}" 'BEGIN { print e / p }'; done | median)
awk -v r="$PAIRED" 'BEGIN { printf "CPU time with / without, median of the per-round ratios: %.4f (cost %.2f%%)\n", r, (r - 1) * 100 }'
