#!/usr/bin/env python3
"""A QieJiao merchant's integration, written from the seed's text alone (seed 003, "订单接口"),
with the signature of the epay family as ../shared/compat.md describes it — no PayIn code.

    python3 tests/compat/qiejiao_merchant.py --payin target/debug/payin [--database-url URL]

Starts `payin dev` (on its own SQLite database, or on URL), makes the merchant's credentials with
`payin compat qiejiao add`, runs the merchant's notify_url handler (the seed's PHP handler,
ported as is: read the POST, verify the signature, echo `success`; its first answer is `fail`,
so the gateway must retry), and checks what the merchant's code relies on:
create (USDT and CNY, scanpay 1 and 0, TRC20 and ERC20), paying on the dev chains, the signed
notification, query, supplement with the real transaction hash and with forged ones, signature
failures, unknown merchants, duplicates, type 2 and bad parameters. Exits 0 when all passed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mcp"))
from payin_sandbox import Sandbox  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import api, check, checks, wait_for  # noqa: E402


# --- The merchant's code, from the seed and compat.md ------------------------------------------


def sign(params: dict[str, str], key: str) -> str:
    """签名: drop empty values and `signature`, sort keys, k=v joined with &, append the key, MD5."""
    items = sorted((k, str(v)) for k, v in params.items() if k != "signature" and v not in (None, ""))
    text = "&".join(f"{k}={v}" for k, v in items) + key
    return hashlib.md5(text.encode()).hexdigest().upper()


class QieJiao:
    """What a merchant writes against 'POST /api/pay/create', 'GET /api/pay/query' and
    'POST /api/pay/supplement': JSON bodies, `{code, msg, data}` answers."""

    def __init__(self, base: str, pid: str, key: str) -> None:
        self.base, self.pid, self.key = base, pid, key

    def _send(self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json") -> tuple[int, dict]:
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def post(self, path: str, params: dict, signed: bool = True, form: bool = False, key: str | None = None) -> tuple[int, dict]:
        params = {"pid": self.pid, **params}
        if signed:
            params["signature"] = sign({k: v for k, v in params.items()}, key or self.key)
        if form:
            return self._send("POST", path, urllib.parse.urlencode(params).encode(), "application/x-www-form-urlencoded")
        return self._send("POST", path, json.dumps(params).encode())

    def create(self, **params: object) -> tuple[int, dict]:
        return self.post("/api/pay/create", {k: str(v) for k, v in params.items()})

    def query(self, order_no: str) -> tuple[int, dict]:
        q = urllib.parse.urlencode({"pid": self.pid, "order_no": order_no})
        return self._send("GET", f"/api/pay/query?{q}")

    def supplement(self, order_no: str, tx_hash: str, payer: str | None = None) -> tuple[int, dict]:
        params = {"order_no": order_no, "hash": tx_hash}
        if payer:
            params["p_addr"] = payer
        return self.post("/api/pay/supplement", params)


class NotifyHandler(BaseHTTPRequestHandler):
    """The seed's `notifyHandler`, ported as is: get the POST data, verify the signature,
    answer `success`; an exception answers `fail`. The first notification of each order is
    answered `fail` on purpose (the gateway must retry until `success`)."""

    key = ""
    received: list[dict[str, str]] = []
    seen: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length).decode()
        try:
            # $data = $this->request->post();
            if self.headers.get("Content-Type", "").startswith("application/json"):
                data = {k: str(v) for k, v in json.loads(raw).items()}
            else:
                data = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
            # if (!$this->verifySignature($data)) throw new Exception('签名验证失败');
            if sign(data, self.key) != data.get("signature", "").upper():
                raise ValueError("签名验证失败")
            with self.lock:
                first = data["order_no"] not in self.seen
                self.seen.add(data["order_no"])
                self.received.append(data)
            answer = "fail" if first else "success"
        except Exception as e:  # noqa: BLE001 -- the PHP handler's catch-all
            print(f"  notify handler: {e}", flush=True)
            answer = "fail"
        body = answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# --- The run ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payin", default="target/debug/payin")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()

    import tempfile

    config = Path(tempfile.mkdtemp(prefix="payin-qiejiao-config-")) / "payin.toml"
    # A fixed CNY/USDT rate (the rate provider's test double is the engine tests' business).
    config.write_text('[rates]\ncny_usdt = "7.20"\n')
    sandbox = Sandbox(args.payin, prefix="payin-qiejiao-", db_url=args.database_url,
                      extra_env={"PAYIN_CONFIG": str(config)})
    sandbox.start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotifyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    notify_url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    try:
        run(args.payin, sandbox, notify_url)
    finally:
        server.shutdown()
        code = sandbox.stop()
        print(f"payin dev stopped ({code})")
    print(f"PASSED ({checks()} checks)")


def run(payin: str, sandbox: Sandbox, notify_url: str) -> None:
    # Credentials, shell-sourceable, shown once.
    out = subprocess.run(
        [payin, "--database-url", sandbox.db_url, "compat", "qiejiao", "add", "--name", "shop"],
        capture_output=True, text=True, env=Sandbox.env(), check=True,
    ).stdout
    creds = dict(line.split("=", 1) for line in out.strip().splitlines())
    check(set(creds) == {"PID", "KEY"} and creds["PID"].isdigit(), "`payin compat qiejiao add` prints PID=… and KEY=…", out)
    NotifyHandler.key = creds["KEY"]
    qj = QieJiao(sandbox.root_url, creds["PID"], creds["KEY"])

    # 1. A USDT order on ERC20 (chain_type 2), order information returned (scanpay 1).
    no = f"QJ{int(time.time() * 1000)}"
    status, r = qj.create(chain_type=2, order_no=no, amount="10.00", currency="USDT", type=1, scanpay=1,
                          notify_url=notify_url, return_url="https://shop.example/return",
                          param='{"user_id": "123"}')
    check(status == 200 and r["code"] == 200 and r["msg"] == "success", "create: code 200, msg success", r)
    d = r["data"]
    check(set(d) == {"plat_order_no", "u_addr", "u_type", "amount", "expire_time"}, "scanpay 1 answers plat_order_no, u_addr, u_type, amount, expire_time", d)
    check(d["u_addr"].startswith("0x") and len(d["u_addr"]) == 42, "u_addr is an ERC20 address", d["u_addr"])
    check(d["u_type"] == "ERC20" and d["amount"] == "10.00", "u_type ERC20, amount 10.00 USDT", d)
    check(isinstance(d["expire_time"], int) and d["expire_time"] > time.time(), "expire_time is a future Unix timestamp (seconds)", d["expire_time"])

    # The payer pays on the dev chain; the notification arrives signed, is answered `fail`
    # once, and is retried until `success`.
    paid = api(sandbox, "POST", "/dev/simulate-payment", {"orderId": d["plat_order_no"]})
    notes = wait_for("two notifications of the order", lambda: [n for n in NotifyHandler.received if n["order_no"] == no][1:] and
                     [n for n in NotifyHandler.received if n["order_no"] == no])
    n = notes[-1]
    check(len(notes) >= 2, "answered `fail`, the notification is sent again", len(notes))
    check(n["pid"] == creds["PID"] and n["plat_order_no"] == d["plat_order_no"] and n["order_no"] == no,
          "the notification names pid, plat_order_no and order_no", n)
    check(n["status"] == "paid" and n["amount"] == "10.00" and n["chain_type"] == "2", "status paid, amount 10.00, chain_type 2", n)
    check(n["param"] == '{"user_id": "123"}', "param is echoed as sent", n["param"])
    check(int(n["paytime"]) >= int(n["createtime"]) > 0, "paytime and createtime are Unix seconds", n)
    check(n["signature"] == sign(n, creds["KEY"]) and n["signature"].isupper(), "the notification's signature verifies (upper-case MD5)", n["signature"])

    status, r = qj.query(no)
    q = r["data"]
    check(status == 200 and q["status"] == "paid" and q["order_no"] == no and q["plat_order_no"] == d["plat_order_no"], "query: the order is paid", r)
    check(q["u_type"] == "ERC20" and isinstance(q["paytime"], int) and isinstance(q["createtime"], int), "query: u_type, paytime, createtime", q)

    # Supplement with the real transaction: checked on chain, already paid → the order again.
    status, r = qj.supplement(no, paid["txHash"], paid["from"])
    check(status == 200 and r["data"]["status"] == "paid", "supplement with the paying tx hash answers the paid order", r)
    forged = "0x" + "ab" * 32
    status, r = qj.supplement(no, forged)
    check(status == 422 and r["code"] == 422 and "not found" in r["msg"], "a forged hash is refused (422) saying it was not found", r)

    # 2. A CNY order on TRC20 (chain_type 1): converted at the configured rate.
    no_cny = f"{no}-CNY"
    status, r = qj.create(chain_type=1, order_no=no_cny, amount="72.00", currency="CNY", notify_url=notify_url)
    check(status == 200 and r["data"]["u_type"] == "TRC20" and r["data"]["u_addr"].startswith("T"), "a TRC20 order pays to a T… address", r)
    check(r["data"]["amount"] == "10.00" or r["data"]["amount"].startswith("10."), "72.00 CNY at 7.20 is 10 USDT", r["data"]["amount"])
    # Another order's transaction does not pay this one.
    status, r2 = qj.supplement(no_cny, paid["txHash"])
    check(status == 422, "another order's tx hash is refused (422)", r2)
    api(sandbox, "POST", "/dev/simulate-payment", {"orderId": r["data"]["plat_order_no"]})
    n = wait_for("the CNY order's notification", lambda: [x for x in NotifyHandler.received if x["order_no"] == no_cny and x.get("status") == "paid"][1:2])[0]
    check(n["cny_amount"] in ("72.00", "72") and n["chain_type"] == "1", "its notification carries cny_amount and chain_type 1", n)
    check(n["signature"] == sign(n, creds["KEY"]), "and verifies", n["signature"])

    # 3. scanpay 0: the URL of the hosted page, in Chinese.
    status, r = qj.create(chain_type=2, order_no=f"{no}-URL", amount="1.5", currency="USDT", scanpay=0)
    check(status == 200 and set(r["data"]) == {"url", "plat_order_no"}, "scanpay 0 answers url and plat_order_no", r)
    with urllib.request.urlopen(r["data"]["url"], timeout=10) as page:
        html = page.read().decode()
    check('lang="zh-CN"' in html and "1.5" in html, "the url opens the hosted page in Chinese", html[:200])

    # 4. What is refused, with the seed's codes.
    status, r = qj.create(chain_type=2, order_no=no, amount="10.00", currency="USDT")
    check(status == 409 and r["code"] == 409, "a duplicate order_no is 409", r)
    status, r = qj.create(chain_type=2, order_no=f"{no}-T2", amount="10.00", type=2, plat="OKX")
    check(status == 422 and "not supported" in r["msg"], "type 2 (exchange-internal) is a clear 422", r)
    status, r = qj.post("/api/pay/create", {"chain_type": "2", "order_no": f"{no}-BAD", "amount": "10"}, key="wrong-key")
    check(status == 403 and r["code"] == 403 and "signature" in r["msg"], "a wrong signature is 403", r)
    status, r = qj.post("/api/pay/create", {"chain_type": "2", "order_no": f"{no}-NOSIG", "amount": "10"}, signed=False)
    check(status == 422 and "signature" in r["msg"], "no signature is 422 naming it", r)
    status, r = QieJiao(sandbox.root_url, "99999999", creds["KEY"]).create(chain_type=2, order_no=f"{no}-PID", amount="1")
    check(status == 403 and "pid" in r["msg"], "an unknown pid is 403", r)
    for field, value, params in [
        ("amount", "abc", {"chain_type": 2, "order_no": f"{no}-A1"}),
        ("amount", "-1", {"chain_type": 2, "order_no": f"{no}-A2"}),
        ("chain_type", "9", {"amount": "1", "order_no": f"{no}-C1"}),
        ("currency", "EUR", {"chain_type": 2, "amount": "1", "order_no": f"{no}-E1"}),
        ("scanpay", "2", {"chain_type": 2, "amount": "1", "order_no": f"{no}-S1"}),
    ]:
        status, r = qj.create(**{**params, field: value})
        check(status == 422 and r["msg"].startswith(f"{field}:"), f"{field}={value!r} is 422 naming {field}", r)
    status, r = qj.create(chain_type=2, order_no=f"{no}-NOAMT")
    check(status == 422 and r["msg"].startswith("amount:"), "a missing amount is 422 naming it", r)
    # Form-encoded works as JSON does.
    status, r = qj.post("/api/pay/create", {"chain_type": "2", "order_no": f"{no}-FORM", "amount": "2.25", "currency": "USDT"}, form=True)
    check(status == 200 and r["data"]["amount"] == "2.25", "a form-encoded create works", r)
    status, r = qj.query("no-such-order")
    check(status == 404 and r["code"] == 404, "query of an unknown order_no is 404", r)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        print(f"FAILED: {type(e).__name__}: {e}", flush=True)
        import traceback

        traceback.print_exc()
        sys.exit(1)
