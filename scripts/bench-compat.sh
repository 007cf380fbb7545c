#!/usr/bin/env bash
# Issue 13: create-order throughput and latency through each compatible API next to the native
# REST API, in one run on one database (what the signature check and the compat record cost).
# Each loadgen mode signs every request as that API's merchants do (HashNut: HMAC-SHA256 over
# uuid + timestamp + body, a fresh uuid each; QieJiao: MD5 of the sorted parameters and key).
#
#   scripts/bench-compat.sh [sqlite|postgres ...]   (default: both)
#   BENCH_SECONDS=10 BENCH_CONCURRENCY=32 PAYIN_BIN=target/release/payin scripts/bench-compat.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONCURRENCY="${BENCH_CONCURRENCY:-32}"
ADDRESSES="${BENCH_ADDRESSES:-200000}"
PG_ADMIN="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
PORT="${BENCH_PORT:-18184}"
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)

if [ -z "${PAYIN_BIN:-}" ]; then cargo build --release --locked --bin payin; fi
cargo bench --locked -p payin-http --bench loadgen --no-run 2>/dev/null
BIN="${PAYIN_BIN:-target/release/payin}"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
loadgen() { cargo bench -q --locked -p payin-http --bench loadgen -- "$@"; }

awk -v n="$ADDRESSES" 'BEGIN { for (i = 1; i <= n; i++) printf "0x%040x\n", i }' > "$work/addresses.txt"
# Orders are accepted only on a watched chain; nothing answers on the discard port, so the
# figures are the API's. Rate limiting off: one key (one merchant) sends everything.
printf '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n[rate_limit]\nenabled = false\n' > "$work/payin.toml"
export PAYIN_CONFIG="$work/payin.toml"

echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); binary $BIN (tree at commit $(git rev-parse --short HEAD)); $CONCURRENCY in flight, ${SECONDS_PER_RUN}s each"
for backend in "${backends[@]}"; do
    case "$backend" in
        sqlite) db="sqlite://$work/bench.db" ;;
        postgres)
            name="payin_bench_compat_$$"
            psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" 2>/dev/null
            db="${PG_ADMIN%/*}/$name" ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    export PAYIN_DATABASE_URL="$db"
    key=$($BIN keys create --name bench)
    hashnut=$($BIN compat hashnut add --name bench | sed -E 's/^[A-Z_]+=//' | paste -sd: -)
    qiejiao=$($BIN compat qiejiao add --name bench | sed -E 's/^[A-Z_]+=//' | paste -sd: -)
    $BIN pool import --protocol evm "$work/addresses.txt" >/dev/null
    RUST_LOG=warn $BIN serve --listen "127.0.0.1:$PORT" 2>>"$work/serve.log" &
    server=$!
    url="http://127.0.0.1:$PORT"
    for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done

    echo "== $backend ($ADDRESSES addresses in the pool)"
    loadgen create-max "$url" "$key" "$CONCURRENCY" "$SECONDS_PER_RUN"
    loadgen hashnut-max "$url" "$hashnut" "$CONCURRENCY" "$SECONDS_PER_RUN"
    loadgen qiejiao-max "$url" "$qiejiao" "$CONCURRENCY" "$SECONDS_PER_RUN"
    kill -TERM $server; wait $server || true
    [ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name" 2>/dev/null || true
done
