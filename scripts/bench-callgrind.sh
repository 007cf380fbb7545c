#!/usr/bin/env bash
# Server instructions per request, counted by valgrind's callgrind: repeatable for the same
# binary whatever else the machine is doing, so two builds compare without a quiet machine.
# Starts `payin serve` under callgrind, warms it up, zeroes the counters, drives it with the load
# generator for a fixed time, and prints total instructions / requests served.
#
#   scripts/bench-callgrind.sh BIN [sqlite|postgres] [get|create]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1; backend=${2:-sqlite}; mode=${3:-get}; SECS=${SECONDS_PER_RUN:-15}; PORT=${BENCH_PORT:-18195}
PG_ADMIN="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
cargo bench --locked -p payin-http --bench loadgen --no-run 2>/dev/null
loadgen() { cargo bench -q --locked -p payin-http --bench loadgen -- "$@"; }
work=$(mktemp -d); server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "0x%040x\n", i }' > "$work/addresses.txt"
printf '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n' > "$work/payin.toml"
export PAYIN_CONFIG="$work/payin.toml"
case $backend in
    sqlite) db="sqlite://$work/cg.db" ;;
    postgres) psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS payin_cg WITH (FORCE)" -c "CREATE DATABASE payin_cg" 2>/dev/null
              db="${PG_ADMIN%/*}/payin_cg" ;;
esac
export PAYIN_DATABASE_URL=$db
key=$($bin keys create --name cg)
$bin pool import --protocol evm "$work/addresses.txt" >/dev/null
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$bin" serve --listen "127.0.0.1:$PORT" 2>"$work/serve.log" & server=$!
url="http://127.0.0.1:$PORT"
for _ in $(seq 300); do curl -sf "$url/health" >/dev/null && break; sleep 0.5; done
id=$(curl -s -X POST "$url/api/v1/orders" -H "Authorization: Bearer $key" -H 'content-type: application/json' \
    -d '{"orderReference":"cg","amount":"10","currency":"USDT","chainId":"ethereum"}' | sed -E 's/.*"orderId":"(ord_[a-z0-9]+)".*/\1/')
run() { if [ "$mode" = get ]; then loadgen get-max "$url" "$key" 8 "$1" "$id"; else loadgen create-max "$url" "$key" 8 "$1"; fi; }
run 3 >/dev/null
callgrind_control -z $server >/dev/null 2>&1
out=$(run "$SECS")
callgrind_control -d $server >/dev/null 2>&1
sleep 1
requests=$(echo "$out" | sed -E 's/.*: ([0-9]+) requests.*/\1/')
total=$(callgrind_annotate --threshold=100 --auto=no "$work"/cg.out.1 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$bin $backend $mode: $total instructions / $requests requests = $((total / requests)) per request"
kill $server; wait $server 2>/dev/null || true; server=
[ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS payin_cg WITH (FORCE)" || true
