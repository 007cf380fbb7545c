#!/usr/bin/env bash
# The hosted pages under people watching them (issue 12): 200 viewers (VIEWERS) each open one
# order's page, then poll its status every 2 s as the page does, for SECONDS; then as many
# shoppers open a payment link's page and reload it every 2 s. Prints the answer times for page
# renders and status polls, and each page's weight.
#
#   scripts/bench-pages.sh [VIEWERS] [SECONDS]      (default: 200 for 30 s)
#   PAYIN_BIN=/path/to/other/payin scripts/bench-pages.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VIEWERS="${1:-200}"
SECONDS_RUN="${2:-30}"
PORT="${BENCH_PORT:-18183}"
if [ -z "${PAYIN_BIN:-}" ]; then cargo build --release --locked --bin payin; fi
cargo bench --locked -p payin-http --bench loadgen --no-run 2>/dev/null
BIN="${PAYIN_BIN:-target/release/payin}"
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

# A watched chain with a token contract (so the QR holds an EIP-681 transfer); nothing answers
# on the discard port, so the figures are the pages'. Rate limiting off: one address polls.
printf '[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n[rate_limit]\nenabled = false\n' > "$work/payin.toml"
export PAYIN_CONFIG="$work/payin.toml" PAYIN_DATABASE_URL="sqlite://$work/bench.db"
key=$($BIN keys create --name bench)
printf '0x%040x\n' 1 2 3 > "$work/addresses.txt"
$BIN pool import --protocol evm "$work/addresses.txt" >/dev/null
RUST_LOG=warn $BIN serve --listen "127.0.0.1:$PORT" 2>"$work/serve.log" &
server=$!
url="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
order_id=$(curl -sf "$url/api/v1/orders" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"orderReference":"bench-page-1","amount":"12.50","currency":"USDT","chainId":"ethereum","paymentWindowMinutes":60}' \
    | sed -E 's/.*"orderId":"(ord_[a-z0-9]+)".*/\1/')

echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); binary $BIN (tree at commit $(git rev-parse --short HEAD))"
for lang in en zh-CN; do
    curl -s "$url/pay/$order_id" -H "Accept-Language: $lang" -o "$work/page.html"
    bytes=$(wc -c < "$work/page.html")
    gz=$(gzip -9 -c "$work/page.html" | wc -c)
    # Anything the browser would fetch from elsewhere: src/href attributes or url() with a scheme.
    external=$({ grep -Eoi '(src|href)="(https?:)?//[^"]*"|url\((https?:)?//[^)]*\)' "$work/page.html" || true; } | wc -l)
    echo "order page ($lang): $bytes bytes ($gz gzipped), external requests: $external"
done
cargo bench -q --locked -p payin-http --bench loadgen -- viewers "$url" - "$VIEWERS" "$SECONDS_RUN" "$order_id"

# A published link with two currencies and an inventory (each render counts its orders).
link=$(curl -sf "$url/api/v1/payment-links" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"title":"Bench ticket","description":"One seat at the bench","amount":"25.00","inventoryTotal":100,"currencies":[{"currency":"USDT","chainId":"ethereum"},{"currency":"USDC","chainId":"ethereum"}]}')
link_id=$(printf '%s' "$link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
slug=$(printf '%s' "$link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["slug"])')
curl -sf -X POST "$url/api/v1/payment-links/$link_id/publish" -H "Authorization: Bearer $key" >/dev/null
for lang in en zh-CN; do
    curl -s "$url/checkout/$slug" -H "Accept-Language: $lang" -o "$work/link.html"
    bytes=$(wc -c < "$work/link.html")
    gz=$(gzip -9 -c "$work/link.html" | wc -c)
    external=$({ grep -Eoi '(src|href)="(https?:)?//[^"]*"|url\((https?:)?//[^)]*\)' "$work/link.html" || true; } | wc -l)
    echo "link page ($lang): $bytes bytes ($gz gzipped), external requests: $external"
done
cargo bench -q --locked -p payin-http --bench loadgen -- link-viewers "$url" - "$VIEWERS" "$SECONDS_RUN" "$slug"
