#!/usr/bin/env bash
# Issue 10's side-by-side table: get_order through every client, in one run against one local
# `payin serve` (release, SQLite): the raw Rust client, the Python package (sync, and async with
# 32 in flight) against requests/httpx, and the Node package against `fetch`.
# Builds the release gateway, the Rust client's bench, the Node package (release), installs the
# Python package (release build) with the pinned comparison clients into a virtual environment
# under the target directory, then runs scripts/bench-python.py with --rust-bench and --node.
#
#   scripts/bench-clients.sh [--calls 5000] [--concurrency 32] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."

target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
cargo build --release --locked --bin payin
rust_bench=$(cargo bench --locked -p payin-client --bench get_order --no-run 2>&1 \
    | sed -nE 's/.*Executable .*\((.*get_order-[0-9a-f]+)\).*/\1/p' | tail -1)
[ -x "$rust_bench" ] || rust_bench="$PWD/$rust_bench"
(cd bindings-node && { [ -d node_modules ] || npm ci --silent; } && npm run --silent build)
venv="$target/bench-python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The package as `pip install ./bindings-python` builds it (release), into the same target dir.
CARGO_TARGET_DIR="$target" "$venv/bin/pip" install --quiet --force-reinstall --no-deps ./bindings-python
"$venv/bin/pip" install --quiet requests==2.34.2 httpx==0.28.1
"$venv/bin/python" scripts/bench-python.py --payin "$target/release/payin" --rust-bench "$rust_bench" --node "$@"
