#!/usr/bin/env bash
# Memory of `payin serve` under a flood of idle connections (connections that send nothing):
# its RSS before, the peak while they are open, and after they have been closed. Prints the
# figures kept in BENCHMARKS.md (issue 9).
#
#   scripts/bench-connections.sh [CONNECTIONS] [HOLD_SECONDS]     (default: 2000 for 20 s)
#   PAYIN_BIN=/path/to/other/payin scripts/bench-connections.sh   (another build, e.g. a baseline)
#
# The load generator holds each connection until the server closes it or HOLD_SECONDS pass;
# a server without a header-read timeout keeps them all until then.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${1:-2000}"
HOLD="${2:-20}"
PORT="${BENCH_PORT:-18182}"

if [ -z "${PAYIN_BIN:-}" ]; then cargo build --release --locked --bin payin; fi
cargo bench --locked -p payin-http --bench loadgen --no-run 2>/dev/null
BIN="${PAYIN_BIN:-target/release/payin}"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
loadgen() { cargo bench -q --locked -p payin-http --bench loadgen -- "$@"; }

awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "0x%040x\n", i }' > "$work/addresses.txt"
printf '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n' > "$work/payin.toml"
export PAYIN_CONFIG="$work/payin.toml" PAYIN_DATABASE_URL="sqlite://$work/bench.db"
key=$($BIN keys create --name bench)
$BIN pool import --protocol evm "$work/addresses.txt" >/dev/null
RUST_LOG=warn $BIN serve --listen "127.0.0.1:$PORT" 2>"$work/serve.log" &
server=$!
url="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }

echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); binary $BIN (tree at commit $(git rev-parse --short HEAD))"
# Warm up: the pools, caches and allocator arenas an ordinary load uses.
loadgen create-max "$url" "$key" 16 3 >/dev/null
sleep 2
before=$(rss)
loadgen idle "$url" - "$CONNECTIONS" "$HOLD" > "$work/idle.txt" &
flood=$!
peak=$before
while kill -0 $flood 2>/dev/null; do
    now=$(rss)
    peak=$(awk -v a="$peak" -v b="$now" 'BEGIN { print (b > a ? b : a) }')
    sleep 0.2
done
wait $flood
cat "$work/idle.txt"
sleep 5
after=$(rss)
# The server still answers.
curl -sf "$url/health" >/dev/null || echo "the server no longer answers /health"
echo "RSS: before ${before} MiB; peak with ${CONNECTIONS} idle connections ${peak} MiB; 5 s after they closed ${after} MiB"
