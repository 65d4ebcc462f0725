# Helpers of the Kafka benchmarks (sourced by kafka-source.sh and kafka-sink.sh).

# CPU seconds (user + system) of a running process, all threads.
cpu_of() { sed 's/.*) //' "/proc/$1/stat" | awk '{ printf "%.2f", ($12 + $13) / 100 }'; }

# "NAME SECONDS, ...": CPU seconds of a running process's threads, summed by thread name,
# largest first (threads under 0.01 s left out). Read from /proc/*/task/*/schedstat, whose
# first field is the time on a CPU in nanoseconds (the user and system times in
# /proc/*/stat count 10 ms ticks, too coarse for a thread that runs 0.3 s).
threads_of() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s\t%s\n' "$(cat "$t/comm" 2>/dev/null)" \
      "$(awk '{ print $1 / 1e9 }' "$t/schedstat" 2>/dev/null)"
  done | awk -F'\t' '$2 != "" { cpu[$1] += $2 }
    END { for (n in cpu) if (cpu[n] >= 0.01) printf "%s\t%.3f\n", n, cpu[n] }' |
    sort -t "$(printf '\t')" -k2 -nr |
    awk -F'\t' '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }'
}

# The pid of the process listening on the port of a HOST:PORT address, if `ss` can tell.
listener_pid() {
  command -v ss >/dev/null || return 0
  { ss -Hltnp "sport = :${1##*:}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 |
    cut -d= -f2; } || true
}

# The broker's CPU seconds so far ("" when its process is unknown), to print what each
# client run cost the broker.
BROKER_PID=""
broker_cpu() {
  if [ -n "$BROKER_PID" ] && [ -r "/proc/$BROKER_PID/stat" ]; then cpu_of "$BROKER_PID"; fi
}
# "; broker S s": the broker's CPU since the reading `$1` of broker_cpu (nothing when
# unknown).
broker_since() {
  local now
  now=$(broker_cpu)
  if [ -n "$1" ] && [ -n "$now" ]; then
    awk -v a="$1" -v b="$now" 'BEGIN { printf "; broker %.2f s", b - a }'
  fi
}

# A run's thread line: a running process's threads (`process PID`) or the `threads:` line a
# raw client printed (`reported OUTPUT`), then the broker's CPU since reading `$3`.
run_threads() { # process PID | reported OUTPUT, broker-cpu-before
  case "$1" in
    process) threads_of "$2" | tr -d '\n' ;;
    reported) echo "$2" | sed -n 's/^threads: //p' | tr -d '\n' ;;
  esac
  broker_since "$3"
}
