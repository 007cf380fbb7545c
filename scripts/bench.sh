#!/usr/bin/env bash
# HTTP benchmarks of `payin serve` on SQLite and on PostgreSQL, driven by a separate
# load-generator process (http-api/benches/loadgen.rs). Prints the figures kept in BENCHMARKS.md.
#
#   scripts/bench.sh [sqlite|postgres ...]      (default: both)
#   BENCH_SECONDS=10 BENCH_CONCURRENCY=64 BENCH_RATE=500 scripts/bench.sh
#   PAYIN_BIN=/path/to/other/payin scripts/bench.sh   (benchmark another build, e.g. a baseline)
#   BENCH_RATE_LIMIT=1 scripts/bench.sh sqlite       (also: create-order throughput with rate
#                                                    limiting off, on above the load, on at the
#                                                    default quota; same run, same database)
#
# The figures above run with rate limiting off (`[rate_limit] enabled = false`), so they stay
# comparable with builds that had none: one API key would otherwise be held to its quota.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-64}"
RATE="${BENCH_RATE:-500}"
ADDRESSES="${BENCH_ADDRESSES:-200000}"
PG_ADMIN="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
PORT="${BENCH_PORT:-18181}"
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)

if [ -z "${PAYIN_BIN:-}" ]; then cargo build --release --locked --bin payin; fi
cargo bench --locked -p payin-http --bench loadgen --no-run 2>/dev/null
BIN="${PAYIN_BIN:-target/release/payin}"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
loadgen() { cargo bench -q --locked -p payin-http --bench loadgen -- "$@"; }

awk -v n="$ADDRESSES" 'BEGIN { for (i = 1; i <= n; i++) printf "0x%040x\n", i }' > "$work/addresses.txt"
# Orders are accepted only on a watched chain. No node answers on the discard port: the watcher
# just retries with backoff in the background, and the figures are the API's.
printf '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n' > "$work/chains.toml"
# Rate limiting off, if this build has it (older builds refuse the unknown table).
config() { # config NAME [RATE_LIMIT_TOML]: a config file with the chains and that [rate_limit]
    { cat "$work/chains.toml"; printf '[rate_limit]\n%s\n' "$2"; } > "$work/$1.toml"
    echo "$work/$1.toml"
}
export PAYIN_CONFIG
PAYIN_CONFIG=$(config off 'enabled = false')
PAYIN_DATABASE_URL="sqlite://$work/probe.db" $BIN pool status >/dev/null 2>&1 || PAYIN_CONFIG="$work/chains.toml"
start_server() { # start_server CONFIG
    PAYIN_CONFIG="$1" RUST_LOG=warn $BIN serve --listen "127.0.0.1:$PORT" 2>>"$work/serve.log" &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
}
stop_server() { kill -TERM $server; wait $server || true; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ); binary $BIN (tree at commit $(git rev-parse --short HEAD))"
for backend in "${backends[@]}"; do
    case "$backend" in
        sqlite) db="sqlite://$work/bench.db" ;;
        postgres)
            name="payin_bench_$$"
            psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" 2>/dev/null
            db="${PG_ADMIN%/*}/$name" ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    export PAYIN_DATABASE_URL="$db"
    key=$($BIN keys create --name bench)
    $BIN pool import --protocol evm "$work/addresses.txt" >/dev/null
    start_server "$PAYIN_CONFIG"
    url="http://127.0.0.1:$PORT"

    echo "== $backend ($ADDRESSES addresses in the pool)"
    loadgen create-rate "$url" "$key" "$RATE" "$SECONDS_PER_RUN"
    loadgen create-max "$url" "$key" "$CONCURRENCY" "$SECONDS_PER_RUN"
    order_id=$(curl -s "$url/api/v1/orders?limit=1" -H "Authorization: Bearer $key" | sed -E 's/.*"orderId":"(ord_[a-z0-9]+)".*/\1/')
    loadgen get-max "$url" "$key" "$CONCURRENCY" "$SECONDS_PER_RUN" "$order_id"
    echo "server peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$server/status)"

    stop_server

    if [ "${BENCH_RATE_LIMIT:-0}" = 1 ]; then
        echo "-- create-order throughput, rate limiting off / on above the load / on at the default quota"
        for limits in 'enabled = false' 'api_key = { requests = 1000000000, window_seconds = 60 }' ''; do
            start_server "$(config limits "$limits")"
            echo "[rate_limit] ${limits:-(defaults)}"
            loadgen create-max "$url" "$key" "$CONCURRENCY" "$SECONDS_PER_RUN"
            stop_server
        done
    fi
    if [ "$backend" = postgres ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"; fi
done
