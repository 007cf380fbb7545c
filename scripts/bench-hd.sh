#!/usr/bin/env bash
# Issue 11 figures: HD derivation addresses/s (EVM and Tron), and pool top-up latency under a
# burst of 200 creations on an HD pool of 50 (SQLite, and PostgreSQL when reachable), next to
# the same burst on a pool that needs no top-up. Release build (`cargo bench`).
#
#   scripts/bench-hd.sh [DERIVATIONS]          (default 20000 per protocol)
#   PAYIN_TEST_POSTGRES_URL=postgres://… scripts/bench-hd.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PAYIN_TEST_POSTGRES_URL="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); tree at commit $(git rev-parse --short HEAD)"
RUST_LOG=warn cargo bench -q --locked -p payin-core --bench hd -- "${1:-20000}"
