#!/usr/bin/env bash
# Issue 9 figures: RPC requests per minute reaching the chain node with one and with three
# `payin serve` replicas on one PostgreSQL database (counted by a proxy on 127.0.0.1 in front of
# anvil), and how long the chain's watcher lease takes to move after `kill -9` of its holder.
# Runs the ignored test `measure_rpc_requests_per_minute_and_lease_failover` of tests/faults.rs
# and prints its figures (about 3 minutes with the defaults).
#
#   scripts/bench-failover.sh
#   BENCH_WINDOW_SECS=60 BENCH_POLL_MS=1000 BENCH_FAILOVER_RUNS=5 scripts/bench-failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PAYIN_TEST_POSTGRES_URL="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export BENCH_WINDOW_SECS="${BENCH_WINDOW_SECS:-60}" BENCH_POLL_MS="${BENCH_POLL_MS:-1000}" BENCH_FAILOVER_RUNS="${BENCH_FAILOVER_RUNS:-5}"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); tree at commit $(git rev-parse --short HEAD)"
cargo test --locked -q --test faults --no-run 2>/dev/null
cargo test --locked -q --test faults -- --ignored --exact measure_rpc_requests_per_minute_and_lease_failover --nocapture 2>&1 \
    | sed -n 's/^figure //p'
