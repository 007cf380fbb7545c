#!/usr/bin/env bash
# Issue 13 figures: amount-tail allocation of shared-address orders — 200 concurrent creations
# of one amount on ONE shared address (on one engine, and split over two engines = replicas),
# next to the same burst of pool orders. SQLite, and PostgreSQL when reachable. Release build.
#
#   scripts/bench-tails.sh [ROUNDS]          (default 3)
#   PAYIN_TEST_POSTGRES_URL=postgres://… scripts/bench-tails.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PAYIN_TEST_POSTGRES_URL="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); tree at commit $(git rev-parse --short HEAD)"
RUST_LOG=warn cargo bench -q --locked -p payin-core --bench tails -- "${1:-3}"
