#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit, integration and end-to-end tests.
# End-to-end tests run the real `sluice` binary. Tests on Kafka use the test broker
# (scripts/services/kafka.sh), started here before the tests and stopped on exit; its address
# is passed in SLUICE_KAFKA_BOOTSTRAP. Set SLUICE_KAFKA_BOOTSTRAP yourself to use another
# broker (then none is started). The tests of SASL authentication use a second broker that
# requires it (SLUICE_KAFKA_AUTH_BOOTSTRAP, `kafka.sh start-auth`), handled the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

STOP_MAIN=
STOP_AUTH=
cleanup() {
    if [ -n "$STOP_MAIN" ]; then scripts/services/kafka.sh stop; fi
    if [ -n "$STOP_AUTH" ]; then scripts/services/kafka.sh stop-auth; fi
}
trap cleanup EXIT

if [ -z "${SLUICE_KAFKA_BOOTSTRAP:-}" ]; then
    echo "==> starting the Kafka test broker"
    port="${SLUICE_KAFKA_PORT:-19092}"
    if scripts/services/kafka.sh status; then
        # Someone else's broker: use it, leave it running.
        SLUICE_KAFKA_BOOTSTRAP="127.0.0.1:$port"
    else
        SLUICE_KAFKA_BOOTSTRAP="$(scripts/services/kafka.sh start "$port" | tail -n 1)"
        STOP_MAIN=1
    fi
    export SLUICE_KAFKA_BOOTSTRAP
    echo "    broker at $SLUICE_KAFKA_BOOTSTRAP"
fi
if [ -z "${SLUICE_KAFKA_AUTH_BOOTSTRAP:-}" ]; then
    echo "==> starting the Kafka test broker that requires SASL authentication"
    port="${SLUICE_KAFKA_AUTH_PORT:-19093}"
    if scripts/services/kafka.sh status-auth; then
        # Someone else's broker: use it, leave it running.
        SLUICE_KAFKA_AUTH_BOOTSTRAP="127.0.0.1:$port"
    else
        SLUICE_KAFKA_AUTH_BOOTSTRAP="$(scripts/services/kafka.sh start-auth "$port" | tail -n 1)"
        STOP_AUTH=1
    fi
    export SLUICE_KAFKA_AUTH_BOOTSTRAP
    echo "    broker at $SLUICE_KAFKA_AUTH_BOOTSTRAP"
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked --no-fail-fast
