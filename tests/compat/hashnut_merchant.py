#!/usr/bin/env python3
"""A HashNut merchant's integration, written from the seed's text alone (seed 002, "订单端点"),
with the request signature of HashNut's SDK as ../shared/compat.md describes it — no PayIn code.

    python3 tests/compat/hashnut_merchant.py --payin target/debug/payin [--database-url URL]

Starts `payin dev` (on its own SQLite database, or on URL), makes the merchant's credentials with
`payin compat hashnut add`, runs the merchant's callBackUrl handler as HashNut's demos write it
(answer `success`, then re-query the order with its accessSign and trust only that; its first
answer is `fail`, so the gateway must retry), and checks what the merchant's code relies on:
create on `erc20` and `tron-trc20`, the pay URL the seed constructs, paying on the dev chains,
the callbacks, query with every field of the seed, the return to frontendCallbackUrl, signature
failures, stale timestamps, replayed uuids, duplicates and bad parameters. Exits 0 when all passed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid as uuidlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mcp"))
from payin_sandbox import Sandbox  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import api, check, checks, wait_for  # noqa: E402


QUERY_FIELDS = {
    "merchantAddress", "chain", "chainCode", "coinCode", "createChannel", "accessChannel",
    "merchantOrderId", "payOrderId", "tokenAddress", "receiptAddress", "amount", "state",
    "accessSign", "payTxId", "confirmCount", "walletConnectEnable", "bridgeServerAddress",
    "eip712ChainId", "chainId", "callBackUrl", "createTime", "rate", "obtainAmount", "platformFee",
}


# --- The merchant's code, from the seed and compat.md ------------------------------------------


def sign(secret: str, uuid: str, timestamp: str, body: str) -> str:
    """hashnut-request-sign = Base64(HMAC-SHA256(secret, uuid + timestamp + body))."""
    mac = hmac.new(secret.encode(), (uuid + timestamp + body).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class HashNut:
    def __init__(self, base: str, access_key_id: str, secret: str) -> None:
        self.base, self.access_key_id, self.secret = base, access_key_id, secret

    def _post(self, path: str, body: str, headers: dict[str, str]) -> tuple[int, dict]:
        req = urllib.request.Request(self.base + path, data=body.encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        for k, v in headers.items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def signed_headers(self, body: str, uuid: str | None = None, timestamp: str | None = None,
                       secret: str | None = None) -> dict[str, str]:
        uuid = uuid or str(uuidlib.uuid4())
        timestamp = timestamp or str(int(time.time() * 1000))
        return {
            "hashnut-request-uuid": uuid,
            "hashnut-request-timestamp": timestamp,
            "hashnut-request-sign": sign(secret or self.secret, uuid, timestamp, body),
        }

    def create(self, headers: dict[str, str] | None = None, **fields: object) -> tuple[int, dict]:
        body = json.dumps({"accessKeyId": self.access_key_id, **fields})
        return self._post("/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey", body,
                          headers if headers is not None else self.signed_headers(body))

    def query(self, merchant_order_id: str, pay_order_id: str, access_sign: str) -> tuple[int, dict]:
        body = json.dumps({"merchantOrderId": merchant_order_id, "payOrderId": pay_order_id, "accessSign": access_sign})
        return self._post("/api/v3.0.0/pay/queryPayOrderWithAccessSign", body, {})


class CallbackHandler(BaseHTTPRequestHandler):
    """HashNut's webhook demo: read `{payOrderId, merchantOrderId, accessSign, state}`, answer
    `success`, then query the order with its accessSign and trust only that. The first callback
    of each order is answered `fail` on purpose."""

    client: HashNut | None = None
    received: list[dict] = []
    queried: list[dict] = []
    seen: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        data = json.loads(body)
        with self.lock:
            first = data["payOrderId"] not in self.seen
            self.seen.add(data["payOrderId"])
            self.received.append(data)
        answer = b"fail" if first else b"success"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if not first and self.client:
            _, r = self.client.query(data["merchantOrderId"], data["payOrderId"], data["accessSign"])
            with self.lock:
                self.queried.append(r.get("data") or {})

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payin", default="target/debug/payin")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    sandbox = Sandbox(args.payin, prefix="payin-hashnut-", db_url=args.database_url)
    sandbox.start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), CallbackHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    try:
        run(args.payin, sandbox, callback)
    finally:
        server.shutdown()
        print(f"payin dev stopped ({sandbox.stop()})")
    print(f"PASSED ({checks()} checks)")


def run(payin: str, sandbox: Sandbox, callback: str) -> None:
    out = subprocess.run(
        [payin, "--database-url", sandbox.db_url, "compat", "hashnut", "add", "--name", "shop"],
        capture_output=True, text=True, env=Sandbox.env(), check=True,
    ).stdout
    creds = dict(line.split("=", 1) for line in out.strip().splitlines())
    check(set(creds) == {"ACCESS_KEY_ID", "SECRET"}, "`payin compat hashnut add` prints ACCESS_KEY_ID=… and SECRET=…", out)
    hn = HashNut(sandbox.root_url, creds["ACCESS_KEY_ID"], creds["SECRET"])
    CallbackHandler.client = hn

    for chain_code, address_prefix in [("erc20", "0x"), ("tron-trc20", "T")]:
        mid = f"order-{chain_code}-{int(time.time() * 1000)}"
        status, r = hn.create(merchantOrderId=mid, chainCode=chain_code, coinCode="usdt", amount=0.01,
                              callBackUrl=callback, frontendCallbackUrl="https://shop.example/payment/success")
        check(status == 200 and r["code"] == 0 and r["msg"] == "success", f"{chain_code}: create answers code 0", r)
        d = r["data"]
        check(d["merchantOrderId"] == mid and len(d["accessSign"]) == 64 and d["accessSign"].isupper(),
              f"{chain_code}: payOrderId, a 64-hex accessSign, merchantOrderId echoed", d)

        # The pay URL exactly as the seed constructs it opens the hosted payment page.
        pay_url = (f"{sandbox.root_url}/pay?accessSign={d['accessSign']}&merchantOrderId={d['merchantOrderId']}"
                   f"&payOrderId={d['payOrderId']}&chainCode={chain_code}")
        with urllib.request.urlopen(pay_url, timeout=10) as page:
            html = page.read().decode()
        check(page.status == 200 and "0.01" in html, f"{chain_code}: the seed's pay URL opens the payment page", html[:200])

        status, r = hn.query(mid, d["payOrderId"], d["accessSign"])
        q = r["data"]
        check(status == 200 and r["code"] == 0 and QUERY_FIELDS <= set(q), f"{chain_code}: query answers every field of the seed", sorted(QUERY_FIELDS - set(q)))
        check(q["state"] == 0 and q["chainCode"] == chain_code and q["coinCode"] == "usdt", f"{chain_code}: unpaid is state 0", q)
        check(q["receiptAddress"].startswith(address_prefix) and q["amount"] == 0.01 and isinstance(q["confirmCount"], str),
              f"{chain_code}: receiptAddress, amount as a number, confirmCount as a string", q)

        paid = api(sandbox, "POST", "/dev/simulate-payment", {"orderId": d["payOrderId"]})
        wait_for(f"{chain_code}: a callback answered `success` and the order re-queried as HashNut's demos do",
                 lambda: [x for x in CallbackHandler.queried if x.get("payOrderId") == d["payOrderId"] and x.get("state") == 4])
        # The first callback was answered `fail`: it is sent again until answered `success`.
        ours = lambda: [c for c in CallbackHandler.received if c["payOrderId"] == d["payOrderId"]]  # noqa: E731
        failed_state = ours()[0]["state"]
        wait_for(f"{chain_code}: the callback answered `fail` (state {failed_state}) is sent again",
                 lambda: len([c for c in ours() if c["state"] == failed_state]) >= 2, timeout=120)
        calls = ours()
        check(all(set(c) == {"payOrderId", "merchantOrderId", "accessSign", "state"} for c in calls),
              f"{chain_code}: callbacks carry payOrderId, merchantOrderId, accessSign, state", calls)
        check(any(c["state"] == 4 for c in calls), f"{chain_code}: state 4 (success) is among the callbacks", calls)
        status, r = hn.query(mid, d["payOrderId"], d["accessSign"])
        q = r["data"]
        check(q["state"] == 4 and q["payTxId"] == paid["txHash"] and int(q["confirmCount"]) >= 1,
              f"{chain_code}: query says success with payTxId and confirmCount", q)

    # Refusals with the seed's envelope.
    body = json.dumps({"accessKeyId": hn.access_key_id, "merchantOrderId": "x-1", "chainCode": "erc20", "coinCode": "usdt", "amount": 1})
    status, r = hn.create(headers=hn.signed_headers(body, secret="not-the-secret"), merchantOrderId="x-1", chainCode="erc20", coinCode="usdt", amount=1)
    check(status == 401 and r["code"] == -2 and r["data"] is None, "a wrong signature is 401 code -2", r)
    stale = str(int(time.time() * 1000) - 10 * 60 * 1000)
    status, r = hn.create(headers=hn.signed_headers(body, timestamp=stale), merchantOrderId="x-1", chainCode="erc20", coinCode="usdt", amount=1)
    check(status == 401 and r["code"] == -2, "a timestamp ten minutes old is refused", r)
    headers = hn.signed_headers(body)
    first = hn._post("/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey", body, headers)
    replay = hn._post("/api/v3.0.0/pay/createPayOrderOnSplitWalletWithApiKey", body, headers)
    check(first[0] == 200 and replay[0] == 401 and replay[1]["code"] == -2, "the same signed request replayed is refused", (first, replay))
    status, r = hn.create(merchantOrderId="x-1", chainCode="erc20", coinCode="usdt", amount=1)
    check(status != 200 and r["code"] != 0, "a duplicate merchantOrderId is refused", r)
    for field, value in [("amount", 0.001), ("chainCode", "solana"), ("coinCode", "USDT"), ("coinCode", "MockUSDT")]:
        fields = {"merchantOrderId": f"x-{field}-{value}", "chainCode": "erc20", "coinCode": "usdt", "amount": 1, field: value}
        status, r = hn.create(**fields)
        check(status == 400 and r["code"] == -2, f"{field}={value!r} is 400 code -2", r)
    status, r = hn.query("x-1", first[1]["data"]["payOrderId"], "0" * 64)
    check(r["code"] != 0 and r["data"] is None, "a query with the wrong accessSign is refused", r)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        print(f"FAILED: {type(e).__name__}: {e}", flush=True)
        import traceback

        traceback.print_exc()
        sys.exit(1)
