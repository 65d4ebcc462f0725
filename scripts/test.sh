#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit, integration and end-to-end tests.
# End-to-end tests run the real `sluice` binary. Tests on Kafka use the test broker
# (scripts/services/kafka.sh), started here before the tests and stopped on exit; its address
# is passed in SLUICE_KAFKA_BOOTSTRAP. Set SLUICE_KAFKA_BOOTSTRAP yourself to use another
# broker (then none is started).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SLUICE_KAFKA_BOOTSTRAP:-}" ]; then
    echo "==> starting the Kafka test broker"
    port="${SLUICE_KAFKA_PORT:-19092}"
    if scripts/services/kafka.sh status; then
        # Someone else's broker: use it, leave it running.
        SLUICE_KAFKA_BOOTSTRAP="127.0.0.1:$port"
    else
        SLUICE_KAFKA_BOOTSTRAP="$(scripts/services/kafka.sh start "$port" | tail -n 1)"
        trap 'scripts/services/kafka.sh stop' EXIT
    fi
    export SLUICE_KAFKA_BOOTSTRAP
    echo "    broker at $SLUICE_KAFKA_BOOTSTRAP"
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked --no-fail-fast
