#!/usr/bin/env bash
# Compares two builds fairly on a machine that is not quiet: alternating runs (A, B, A, B, …) of
# the load generator against each build's own fresh database, so drift hits both alike.
#
#   scripts/bench-ab.sh BIN_A BIN_B [sqlite|postgres] [create|get]
#   ROUNDS=5 SECONDS_PER_RUN=5 scripts/bench-ab.sh /tmp/baseline/payin target/release/payin postgres create
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; backend=${3:-sqlite}; mode=${4:-create}
ROUNDS=${ROUNDS:-5}; SECS=${SECONDS_PER_RUN:-5}; PORT=${BENCH_PORT:-18196}
PG_ADMIN="${PAYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo bench --locked -p payin-http --bench loadgen --no-run 2>/dev/null
loadgen() { cargo bench -q --locked -p payin-http --bench loadgen -- "$@"; }
work=$(mktemp -d); server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "0x%040x\n", i }' > "$work/addresses.txt"
printf '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n' > "$work/payin.toml"
export PAYIN_CONFIG="$work/payin.toml"
echo "A = $A; B = $B; $backend $mode; $ROUNDS rounds of ${SECS}s; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
    for side in A B; do
        bin=$A; [ $side = B ] && bin=$B
        case $backend in
            sqlite) rm -f "$work"/ab.db*; db="sqlite://$work/ab.db" ;;
            postgres) psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS payin_ab WITH (FORCE)" -c "CREATE DATABASE payin_ab" 2>/dev/null
                      db="${PG_ADMIN%/*}/payin_ab" ;;
        esac
        export PAYIN_DATABASE_URL=$db
        key=$($bin keys create --name ab)
        $bin pool import --protocol evm "$work/addresses.txt" >/dev/null
        RUST_LOG=warn $bin serve --listen "127.0.0.1:$PORT" 2>"$work/serve.log" & server=$!
        for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
        url="http://127.0.0.1:$PORT"
        if [ "$mode" = get ]; then
            id=$(curl -s -X POST "$url/api/v1/orders" -H "Authorization: Bearer $key" -H 'content-type: application/json' \
                -d '{"orderReference":"ab","amount":"10","currency":"USDT","chainId":"ethereum"}' | sed -E 's/.*"orderId":"(ord_[a-z0-9]+)".*/\1/')
            echo "$side round $round: $(loadgen get-max "$url" "$key" 64 "$SECS" "$id")"
        else
            echo "$side round $round: $(loadgen create-rate "$url" "$key" 500 "$SECS")"
            echo "$side round $round: $(loadgen create-max "$url" "$key" 64 "$SECS")"
        fi
        kill -TERM $server; wait $server || true; server=
    done
done
[ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS payin_ab WITH (FORCE)" || true
