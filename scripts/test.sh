#!/usr/bin/env bash
# Runs every test of the workspace, on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

export PAYIN_TEST_POSTGRES_URL="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# One build of every test binary, shared by all suites.
cargo build --workspace --all-targets --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
