#!/usr/bin/env bash
# Issue 11 figure: catch-up scan rate (blocks/s and logs/s) on local-tron — anvil behind the
# test double of a Tron node (java-tron's JSON-RPC: block ids, 5,000-block ranges, result cap) —
# next to the same scan on plain anvil, in one run. Runs the ignored test
# `measure_catch_up_scan_rate_on_local_tron_and_anvil` of core/tests/tron.rs and prints its figures.
#
#   scripts/bench-tron-scan.sh
#   BENCH_TRANSFERS=1000 BENCH_EMPTY_BLOCKS=50000 scripts/bench-tron-scan.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export BENCH_TRANSFERS="${BENCH_TRANSFERS:-300}" BENCH_EMPTY_BLOCKS="${BENCH_EMPTY_BLOCKS:-10000}"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); tree at commit $(git rev-parse --short HEAD)"
cargo test --locked -q -p payin-core --features testing --test tron --no-run 2>/dev/null
cargo test --locked -q -p payin-core --features testing --test tron -- --ignored --exact \
    measure_catch_up_scan_rate_on_local_tron_and_anvil --nocapture 2>&1 \
    | sed -n 's/^figure //p'
