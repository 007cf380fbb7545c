#!/usr/bin/env bash
# Runs every test of the workspace, on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

export PAYIN_TEST_POSTGRES_URL="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

# The chain tests run a real anvil from npm, the MCP tests the TypeScript SDK (package-lock.json
# pins both); install them if missing.
if [ ! -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] || [ ! -d node_modules/solc ] \
    || [ ! -d node_modules/@modelcontextprotocol/sdk ] || [ ! -d node_modules/playwright-core ]; then
    npm ci --no-audit --no-fund
fi

# Independent Python clients (Standard Webhooks' verifier, the official MCP SDK), what the
# Python package's tests use (pytest, mypy) and the contract fuzzer (schemathesis).
python3 -c 'import standardwebhooks, mcp, pytest, mypy, schemathesis' 2>/dev/null || python3 -m pip install --quiet -r tests/requirements.txt

# The Node package's tools (@napi-rs/cli, TypeScript), pinned by bindings-node/package-lock.json.
if [ ! -d bindings-node/node_modules/@napi-rs/cli ] || [ ! -d bindings-node/node_modules/typescript ]; then
    npm ci --prefix bindings-node --no-audit --no-fund
fi
# The example shop on the package links it (examples/node-package-shop/package-lock.json).
[ -e examples/node-package-shop/node_modules/payin ] || npm ci --prefix examples/node-package-shop --no-audit --no-fund

# `napi build` always passes `--target <host>`, so the Node package's native module is built
# under target/<host>/ (its own artifacts); the rest of the workspace builds in target/debug,
# where the Python package's tests take its native module from.

# One build of every test binary, shared by all suites (it includes the Python package's native
# module, bindings-python, which tests/python_package.rs imports from this target directory); then
# the Node package's native module (relinked from that build) and its TypeScript layer, for
# tests/node_package.rs.
cargo build --workspace --all-targets --locked
(cd bindings-node && npm run build:debug)
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
# nextest runs no doctests: the client's documented usage (what the README shows) must compile.
cargo test --doc -p payin-client --locked
