#!/usr/bin/env bash
# get_order through the Python package against requests and httpx (scripts/bench-python.py):
# builds the release gateway, installs the package (release build) with the pinned comparison
# clients into a virtual environment under the target directory, and runs the benchmark.
#
#   scripts/bench-python.sh [--calls 5000] [--concurrency 32] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."

target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
cargo build --release --locked --bin payin
venv="$target/bench-python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The package as `pip install ./bindings-python` builds it (release), into the same target dir.
CARGO_TARGET_DIR="$target" "$venv/bin/pip" install --quiet --force-reinstall --no-deps ./bindings-python
"$venv/bin/pip" install --quiet requests==2.34.2 httpx==0.28.1
"$venv/bin/python" scripts/bench-python.py --payin "$target/release/payin" "$@"
