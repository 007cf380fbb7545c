#!/usr/bin/env python3
"""PayIn's MCP server as an AI agent sees it, through the official Python MCP SDK (`mcp`).

Usage:
    python3 tests/mcp/agent.py --payin target/debug/payin --transport stdio|http [--keep-going]

It starts its own `payin dev` sandbox (a local anvil chain, chain id "local") in a temporary
directory and a local webhook receiver, connects to the MCP server over the chosen transport

- stdio: `payin --database-url sqlite://DIR/payin.db mcp` (embedded, sharing the sandbox's
  database; the sandbox runs the chain watcher and the webhook delivery),
- http:  the sandbox's own streamable HTTP endpoint /mcp with `Authorization: Bearer <key>`,

and then checks (a) discovery (tools, annotations, schemas, resources, templates, prompts),
(b) an agent's checkout flow end to end (webhook endpoint, order, simulated on-chain payment,
completion, the signed order.completed webhook received and verified), and (c) bad arguments
for every tool family (isError results with the REST error envelope naming the field, the
session still usable afterwards).

Exits 0 when everything passed; otherwise non-zero with a message naming the first failure
(with --keep-going: every failed check is listed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.server
import json
import logging
import os
import re
import secrets
import shutil
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payin_sandbox import Sandbox  # noqa: E402

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

EXPECTED_TOOLS = {
    "create_payment_link",
    "get_payment_link",
    "list_payment_links",
    "publish_payment_link",
    "archive_payment_link",
    "rotate_webhook_secret",
    "get_event",
    "get_webhook_endpoint",
    "create_order",
    "get_order",
    "list_orders",
    "bind_deposit_address",
    "get_deposit_reference",
    "list_deposit_references",
    "list_deposits",
    "unbind_deposit_address",
    "list_chains",
    "get_pool_status",
    "import_addresses",
    "add_xpub",
    "list_xpubs",
    "get_config",
    "set_config",
    "create_webhook_endpoint",
    "list_webhook_endpoints",
    "delete_webhook_endpoint",
    "list_events",
    "list_webhook_deliveries",
    "resend_event",
    "verify_webhook_signature",
    "simulate_payment",
    "mine_blocks",
}
EXPECTED_RESOURCES = {
    "payin://docs/api-reference",
    "payin://docs/webhook-guide",
    "payin://openapi.json",
    "payin://events",
}
EXPECTED_TEMPLATES = {"payin://orders/{orderId}", "payin://deposits/references/{depositReference}"}
EXPECTED_PROMPTS = {"integrate_checkout", "add_deposit_wallet", "handle_webhooks", "migrate_to_rest_api"}

CALL_TIMEOUT = 60.0  # seconds for any single MCP request
POLL_TIMEOUT = 30.0  # seconds for the order to complete / the webhook to be delivered


# --------------------------------------------------------------------------------------------
# reporting


class CheckFailed(Exception):
    pass


class Checks:
    """Prints each step; raises on the first failure unless keep_going (then collects)."""

    def __init__(self, keep_going: bool) -> None:
        self.keep_going = keep_going
        self.failures: list[str] = []
        self.passed = 0

    def step(self, text: str) -> None:
        print(f"\n== {text}", flush=True)

    def ok(self, text: str) -> None:
        self.passed += 1
        print(f"  ok   {text}", flush=True)

    def fail(self, text: str) -> None:
        print(f"  FAIL {text}", flush=True)
        self.failures.append(text)
        if not self.keep_going:
            raise CheckFailed(text)

    def check(self, cond: bool, text: str, detail: Any = None) -> bool:
        if cond:
            self.ok(text)
        else:
            msg = text if detail is None else f"{text} -- observed: {short(detail)}"
            self.fail(msg)
        return bool(cond)


class SdkWarnings(logging.Handler):
    """Collects what the SDK logs at WARNING and above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def short(value: Any, limit: int = 900) -> str:
    if not isinstance(value, str):
        try:
            value = json.dumps(value, default=str)
        except Exception:  # noqa: BLE001
            value = repr(value)
    return value if len(value) <= limit else value[:limit] + "…"


def dump(model: Any) -> dict[str, Any]:
    """An SDK model as the wire JSON (camelCase aliases)."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


# --------------------------------------------------------------------------------------------
# the sandbox and the webhook receiver


class Receiver:
    """A webhook endpoint on 127.0.0.1: records raw body bytes and headers, answers 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with outer.lock:
                    outer.received.append(
                        {"path": self.path, "headers": list(self.headers.items()), "body": body, "at": time.time()}
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/payin"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)


# --------------------------------------------------------------------------------------------
# MCP helpers


class Agent:
    def __init__(self, session: ClientSession, checks: Checks) -> None:
        self.s = session
        self.c = checks

    async def call(self, name: str, args: dict[str, Any] | None) -> dict[str, Any]:
        """tools/call; returns the result as wire JSON (isError, structuredContent, content)."""
        try:
            res = await asyncio.wait_for(self.s.call_tool(name, args), CALL_TIMEOUT)
        except asyncio.TimeoutError:
            raise CheckFailed(f"{name}({short(args)}) did not answer within {CALL_TIMEOUT}s") from None
        return dump(res)

    async def ok(self, name: str, args: dict[str, Any] | None) -> dict[str, Any]:
        """A call that must succeed; returns its structuredContent."""
        try:
            res = await self.call(name, args)
        except CheckFailed:
            raise
        except Exception as e:  # the SDK raises when structuredContent violates outputSchema
            raise CheckFailed(f"{name}({short(args)}) raised in the SDK: {type(e).__name__}: {e}") from e
        if res.get("isError"):
            raise CheckFailed(f"{name}({short(args)}) returned isError: {short(res.get('structuredContent') or res)}")
        sc = res.get("structuredContent")
        if not isinstance(sc, dict):
            raise CheckFailed(f"{name}({short(args)}) returned no structuredContent object: {short(res)}")
        return sc

    async def expect_error(
        self,
        name: str,
        args: dict[str, Any],
        *,
        code: str | None = None,
        field: str | None = None,
        field_prefix: str | None = None,
        label: str | None = None,
    ) -> dict[str, Any] | None:
        label = label or f"{name} {short(args, 120)}"
        try:
            res = await self.call(name, args)
        except CheckFailed as e:
            self.c.fail(f"{label}: {e}")
            return None
        except Exception as e:  # e.g. a JSON-RPC error instead of an isError result
            self.c.fail(f"{label}: expected an isError result, the SDK raised {type(e).__name__}: {e}")
            return None
        if not res.get("isError"):
            self.c.fail(f"{label}: expected isError true -- observed: {short(res)}")
            return res.get("structuredContent") or {}
        problems = []
        # The REST error envelope travels as the JSON text of the result (not as
        # structuredContent, which clients may check against the success output schema).
        if res.get("structuredContent") is not None:
            problems.append("an error result carries structuredContent (clients validate it against the outputSchema)")
        try:
            sc = json.loads(res["content"][0]["text"])
        except (KeyError, IndexError, TypeError, ValueError) as e:
            sc = {}
            problems.append(f"the error text is not the JSON error envelope ({e})")
        if not isinstance(sc, dict) or sc.get("success") is not False or not sc.get("code"):
            problems.append("no REST error envelope (success false, code) in the error text")
        if code is not None and sc.get("code") != code:
            problems.append(f"code {sc.get('code')!r} != {code!r}")
        if field is not None and sc.get("field") != field:
            problems.append(f"field {sc.get('field')!r} != {field!r}")
        if field_prefix is not None and not str(sc.get("field") or "").startswith(field_prefix):
            problems.append(f"field {sc.get('field')!r} does not start with {field_prefix!r}")
        want = ", ".join(x for x in [code and f"code {code}", field and f"field {field}", field_prefix and f"field {field_prefix}…"] if x)
        if problems:
            self.c.fail(f"{label}: {'; '.join(problems)} -- observed: {short(sc)}")
        else:
            self.c.ok(f"{label} -> isError {want or ''} (code={sc.get('code')}, field={sc.get('field')})")
        return sc


def text_of(read_result: Any) -> str:
    parts = []
    for item in read_result.contents:
        t = getattr(item, "text", None)
        if t is not None:
            parts.append(t)
        else:
            blob = getattr(item, "blob", None)
            if blob is not None:
                parts.append(base64.b64decode(blob).decode("utf-8", "replace"))
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# (a) discovery


async def discovery(agent: Agent, c: Checks, root_url: str) -> None:
    s = agent.s
    c.step("a) discovery: tools")
    tools = {t.name: dump(t) for t in (await s.list_tools()).tools}
    names = set(tools)
    c.check(
        names == EXPECTED_TOOLS and len(tools) == 32,
        f"list_tools has exactly the 32 tools ({len(tools)} listed)",
        {"missing": sorted(EXPECTED_TOOLS - names), "unexpected": sorted(names - EXPECTED_TOOLS)},
    )
    bad_schema = [n for n, t in tools.items() if (t.get("inputSchema") or {}).get("type") != "object"]
    c.check(not bad_schema, "every tool's inputSchema has type object", bad_schema)
    for n in ["get_order", "list_orders", "list_chains"]:
        ann = (tools.get(n) or {}).get("annotations") or {}
        c.check(ann.get("readOnlyHint") is True, f"{n}: readOnlyHint true", ann)
    for n in ["delete_webhook_endpoint", "unbind_deposit_address"]:
        ann = (tools.get(n) or {}).get("annotations") or {}
        c.check(ann.get("destructiveHint") is True, f"{n}: destructiveHint true", ann)
    out = (tools.get("create_order") or {}).get("outputSchema")
    c.check(isinstance(out, dict) and out.get("type") == "object", "create_order has an outputSchema (type object)", out)
    no_output = sorted(n for n, t in tools.items() if not t.get("outputSchema"))
    print(f"  info tools without outputSchema: {no_output or 'none'}")

    c.step("a) discovery: resources")
    resources = {r.uri if isinstance(r.uri, str) else str(r.uri): dump(r) for r in (await s.list_resources()).resources}
    c.check(set(resources) == EXPECTED_RESOURCES, "list_resources has the 4 URIs", sorted(resources))
    for uri in sorted(EXPECTED_RESOURCES):
        try:
            body = text_of(await asyncio.wait_for(s.read_resource(uri), CALL_TIMEOUT))
        except Exception as e:  # noqa: BLE001
            c.fail(f"read {uri}: {type(e).__name__}: {e}")
            continue
        if not c.check(len(body.strip()) > 0, f"read {uri}: {len(body)} characters"):
            continue
        if uri == "payin://openapi.json":
            try:
                doc = json.loads(body)
                c.check(isinstance(doc, dict) and "paths" in doc, f"{uri} is JSON with paths ({len(doc.get('paths', {}))})")
            except ValueError as e:
                c.fail(f"{uri} is not JSON: {e}")
        if uri == "payin://events":
            try:
                events = json.loads(body)
                c.check(isinstance(events, list) and len(events) == 12
                        and any("payment.unmatched" in json.dumps(e) for e in events),
                        "payin://events is a list of 12 events, payment.unmatched among them",
                        len(events) if isinstance(events, list) else type(events).__name__)
            except ValueError as e:
                c.fail(f"{uri} is not JSON: {e}")
    templates = {t.uri_template for t in (await s.list_resource_templates()).resource_templates}
    c.check(templates == EXPECTED_TEMPLATES, "list_resource_templates has the 2 templates", sorted(templates))

    c.step("a) discovery: prompts")
    prompts = {p.name for p in (await s.list_prompts()).prompts}
    c.check(prompts == EXPECTED_PROMPTS, "list_prompts has the 4 prompts", sorted(prompts))
    got = await asyncio.wait_for(
        s.get_prompt("integrate_checkout", {"language": "python", "framework": "fastapi"}), CALL_TIMEOUT
    )
    text = "\n".join(getattr(m.content, "text", "") or "" for m in got.messages)
    c.check("/api/v1/orders" in text, f"integrate_checkout(python, fastapi) mentions /api/v1/orders ({len(text)} chars)")
    c.check("webhook-signature" in text, "integrate_checkout(python, fastapi) mentions webhook-signature")
    urls = sorted(set(re.findall(r"https?://[^\s`'\")]+/api/v1", text)))
    print(f"  info API URLs in the prompt: {urls}; the running server: {root_url}/api/v1")
    c.check(f"{root_url}/api/v1" in text, f"integrate_checkout points at the running server's API {root_url}/api/v1", urls)


# --------------------------------------------------------------------------------------------
# (b) the agent flow


async def poll(what: str, timeout: float, fn) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        done, last = await fn()
        if done:
            return last
        await asyncio.sleep(0.25)
    raise CheckFailed(f"{what}: not within {timeout:.0f}s -- last seen: {short(last)}")


async def agent_flow(agent: Agent, c: Checks, receiver: Receiver, root_url: str) -> None:
    c.step("b) agent flow: webhook endpoint")
    created = await agent.ok(
        "create_webhook_endpoint", {"url": receiver.url, "description": "MCP agent test receiver"}
    )
    # The REST data of POST /webhooks: the endpoint with its one-time secret (flat), or
    # {endpoint, secret}; accept both shapes.
    endpoint = created.get("endpoint") if isinstance(created.get("endpoint"), dict) else created
    endpoint_id = endpoint.get("id")
    secret = created.get("secret") or endpoint.get("secret")
    c.check(bool(endpoint_id) and str(endpoint_id).startswith("whe_"), f"endpoint id {endpoint_id}", created)
    c.check(isinstance(secret, str) and secret.startswith("whsec_"), "signing secret whsec_… returned", created)
    print(f"  info create_webhook_endpoint result keys: {sorted(created)}")

    c.step("b) agent flow: create_order on chain local")
    chains = await agent.ok("list_chains", {})
    c.check(any(ch.get("chainId") == "local" or ch.get("id") == "local" for ch in chains.get("chains", [])),
            "list_chains includes chain local", [ch.get("chainId") or ch.get("id") for ch in chains.get("chains", [])])
    reference = f"AGENT-{int(time.time())}-{secrets.token_hex(4)}"
    order = await agent.ok(
        "create_order",
        {"orderReference": reference, "amount": "10.00", "currency": "USDT", "chainId": "local",
         "metadata": {"test": "agent.py"}},
    )
    order_id = order.get("orderId")
    c.check(bool(order_id), f"order {order_id} created for {reference}", order)
    c.check(order.get("status") == "pending", "order status pending", order.get("status"))
    c.check(bool(re.fullmatch(r"0x[0-9a-fA-F]{40}", str(order.get("address")))), f"order address {order.get('address')}")
    c.check(order.get("chainId") == "local" and order.get("currency") == "USDT", "order chainId local, currency USDT",
            {k: order.get(k) for k in ("chainId", "currency")})
    c.check(Decimal(str(order.get("amount"))) == Decimal("10.00"), f"order amount {order.get('amount')}")
    print(f"  info paymentUrl: {order.get('paymentUrl')}")

    c.step("b) agent flow: simulate_payment")
    paid = await agent.ok("simulate_payment", {"orderId": order_id})
    tx = paid.get("txHash")
    c.check(bool(re.fullmatch(r"0x[0-9a-fA-F]{64}", str(tx))), f"simulate_payment txHash {tx} (block {paid.get('blockNumber')})", paid)

    c.step("b) agent flow: order completes")
    t0 = time.monotonic()

    async def completed():
        o = await agent.ok("get_order", {"orderId": order_id})
        return o.get("status") == "completed", o

    done = await poll(f"get_order {order_id} status completed", POLL_TIMEOUT, completed)
    print(f"  info completed after {time.monotonic() - t0:.2f}s: txHash {done.get('txHash')}, "
          f"confirmations {done.get('confirmations')}, completedAt {done.get('completedAt')}")
    c.check(Decimal(str(done.get("amountReceived"))) == Decimal("10.00"), f"amountReceived {done.get('amountReceived')} == 10.00")
    c.check(done.get("txHash") == tx, "order txHash is the simulated payment's", {"order": done.get("txHash"), "sent": tx})
    by_ref = await agent.ok("get_order", {"orderReference": reference})
    c.check(by_ref.get("orderId") == order_id and by_ref.get("status") == "completed",
            "get_order by orderReference: same order, completed", {k: by_ref.get(k) for k in ("orderId", "status")})
    res = await asyncio.wait_for(agent.s.read_resource(f"payin://orders/{order_id}"), CALL_TIMEOUT)
    try:
        as_resource = json.loads(text_of(res))
    except ValueError:
        as_resource = {}
    c.check(as_resource.get("status") == "completed" and as_resource.get("orderId") == order_id,
            f"resource payin://orders/{order_id} shows completed", text_of(res)[:300])
    listed = await agent.ok("list_orders", {"orderReference": reference, "status": "completed"})
    c.check([o.get("orderId") for o in listed.get("orders", [])] == [order_id],
            "list_orders {orderReference, status completed} finds exactly it", listed.get("pagination"))

    c.step("b) agent flow: webhook delivered")

    async def delivered():
        d = await agent.ok("list_webhook_deliveries", {"endpointId": endpoint_id, "limit": 100})
        mine = [x for x in d.get("deliveries", []) if x.get("eventType") == "order.completed"]
        return any(x.get("status") == "succeeded" for x in mine), d.get("deliveries")

    deliveries = await poll("an order.completed delivery to the endpoint with status succeeded", POLL_TIMEOUT, delivered)
    delivery = next(x for x in deliveries if x.get("eventType") == "order.completed" and x.get("status") == "succeeded")
    attempts = delivery.get("attempts")
    n_attempts = len(attempts) if isinstance(attempts, list) else attempts
    c.ok(f"delivery {delivery.get('id')} of {delivery.get('eventId')} succeeded after {n_attempts} attempt(s)")
    c.check(delivery.get("endpointId") == endpoint_id, "delivery endpointId is the endpoint", delivery.get("endpointId"))
    print(f"  info deliveries to the endpoint: {[(x.get('eventType'), x.get('status')) for x in deliveries]}")

    # the receiver's copy of that delivery
    def find_received():
        for r in receiver.snapshot():
            try:
                body = json.loads(r["body"])
            except ValueError:
                continue
            if body.get("type") == "order.completed" and (body.get("data") or {}).get("orderId") == order_id:
                return r, body
        return None

    deadline = time.monotonic() + 5
    found = find_received()
    while found is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        found = find_received()
    if found is None:
        c.fail(f"the receiver got no order.completed body for {order_id}; got "
               f"{[r['body'][:120] for r in receiver.snapshot()]}")
        return
    received, body = found
    headers = {k: v for k, v in received["headers"]}
    lower = {k.lower(): v for k, v in headers.items()}
    c.ok(f"receiver got order.completed for {order_id} ({len(received['body'])} bytes) at {received['path']}")
    missing = [h for h in ["webhook-id", "webhook-timestamp", "webhook-signature", "x-payin-signature"] if h not in lower]
    c.check(not missing, "delivery carries webhook-id, webhook-timestamp, webhook-signature, X-PayIn-Signature",
            {"missing": missing, "headers": sorted(headers)})
    c.check(body.get("id") == delivery.get("eventId"), "webhook body id is the delivery's eventId",
            {"body.id": body.get("id"), "eventId": delivery.get("eventId"), "webhook-id": lower.get("webhook-id")})
    print(f"  info webhook-id header {lower.get('webhook-id')!r}, eventId {delivery.get('eventId')!r}")
    # One order has one payment page: the URL an agent got from the MCP tools is the one the
    # merchant's backend receives in the webhook (and the one of the running deployment).
    hook_url = (body.get("data") or {}).get("paymentUrl")
    c.check(hook_url == done.get("paymentUrl"), "the webhook's data.paymentUrl is the order's paymentUrl from get_order",
            {"webhook": hook_url, "get_order": done.get("paymentUrl")})
    c.check(str(done.get("paymentUrl") or "").startswith(f"{root_url}/pay/"),
            f"paymentUrl is on the running server {root_url}", done.get("paymentUrl"))

    event = await agent.ok("get_event", {"eventId": delivery.get("eventId")})
    c.check(event == body, "get_event returns exactly the webhook body the receiver got",
            {"get_event": event, "received": body})
    hook = await agent.ok("get_webhook_endpoint", {"webhookId": endpoint_id})
    c.check(hook.get("id") == endpoint_id and "secret" not in hook,
            "get_webhook_endpoint shows the endpoint without its secret", hook)

    c.step("b) agent flow: verify_webhook_signature")
    raw = received["body"].decode("utf-8")
    v = await agent.ok("verify_webhook_signature", {"payload": raw, "headers": headers, "secret": secret})
    c.check(v.get("valid") is True, "the delivery verifies (valid true)", v)
    c.check(set(v.get("schemes") or []) == {"standard-webhooks", "payin"},
            f"both schemes verified: {v.get('schemes')}", v)

    # one changed byte of the body (an ASCII letter/digit in the middle turned into another)
    pos = next(i for i in range(len(raw) // 2, len(raw)) if raw[i].isalnum())
    tampered = raw[:pos] + ("A" if raw[pos] != "A" else "B") + raw[pos + 1:]
    v = await agent.ok("verify_webhook_signature", {"payload": tampered, "headers": headers, "secret": secret})
    c.check(v.get("valid") is False, "one changed body byte: valid false", v)
    c.check("signature mismatch" in str(v.get("reason", "")).lower(), f"reason mentions signature mismatch: {v.get('reason')!r}", v)

    wrong = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    v = await agent.ok("verify_webhook_signature", {"payload": raw, "headers": headers, "secret": wrong})
    c.check(v.get("valid") is False, f"wrong secret: valid false (reason {v.get('reason')!r})", v)

    # Without a receiver: the headers PayIn recorded for the attempt, the event's stored body.
    sent = (delivery.get("attempts") or [{}])[-1].get("headers") or {}
    c.check({k.lower(): v for k, v in sent.items()} == {k: lower[k] for k in
             ("webhook-id", "webhook-timestamp", "webhook-signature", "x-payin-signature")},
            "the delivery's attempt lists exactly the signature headers the receiver got", sent)
    v = await agent.ok("verify_webhook_signature", {"eventId": delivery.get("eventId"), "headers": sent, "secret": secret})
    c.check(v.get("valid") is True and set(v.get("schemes") or []) == {"standard-webhooks", "payin"},
            "eventId + the attempt's headers verify against the secret (no receiver needed)", v)
    v = await agent.ok("verify_webhook_signature", {"eventId": delivery.get("eventId"), "headers": sent, "secret": wrong})
    c.check(v.get("valid") is False, "... and a wrong secret does not", v)

    rotated = await agent.ok("rotate_webhook_secret", {"webhookId": endpoint_id, "keepPreviousHours": 1})
    c.check(str(rotated.get("secret", "")).startswith("whsec_") and rotated.get("secret") != secret
            and rotated.get("previousSecretExpiresAt"), "rotate_webhook_secret returns a new secret and the overlap", rotated)
    await agent.expect_error("rotate_webhook_secret", {"webhookId": endpoint_id, "keepPreviousHours": 200},
                             field="keepPreviousHours", label="rotate_webhook_secret beyond a week")


# --------------------------------------------------------------------------------------------
# (c) bad arguments


async def bad_arguments(agent: Agent, c: Checks) -> None:
    c.step("c) bad arguments: orders")
    base = {"orderReference": f"BAD-{secrets.token_hex(4)}", "amount": "10.00", "currency": "USDT", "chainId": "local"}
    await agent.expect_error("create_order", {**base, "amount": 10}, code="INVALID_AMOUNT", field="amount",
                             label="create_order amount 10 (a number)")
    no_ref = {k: v for k, v in base.items() if k != "orderReference"}
    await agent.expect_error("create_order", no_ref, code="VALIDATION_ERROR", field="orderReference",
                             label="create_order without orderReference")
    await agent.expect_error("create_order", {**base, "foo": "bar"}, code="VALIDATION_ERROR", field="foo",
                             label="create_order with unknown argument foo")
    await agent.expect_error("get_order", {}, field="orderId", label="get_order {}")
    await agent.expect_error("get_order", {"orderId": "ord_nope"}, code="ORDER_NOT_FOUND")
    await agent.expect_error("list_orders", {"limit": -1}, field="limit")
    await agent.expect_error("list_orders", {"status": "weird"}, field="status")

    c.step("c) bad arguments: deposits")
    await agent.expect_error("bind_deposit_address", {"depositReference": "u1"}, field="chainId")
    await agent.expect_error("get_deposit_reference", {"depositReference": "nobody"}, code="DEPOSIT_REFERENCE_NOT_FOUND")

    c.step("c) bad arguments: pool and settings")
    await agent.expect_error("import_addresses", {"protocol": "evm", "addresses": ["0x12"]}, field_prefix="addresses")
    sc = await agent.expect_error("set_config", {"key": "nope", "value": 1})
    if sc:
        print(f"  info set_config unknown key: code={sc.get('code')!r} field={sc.get('field')!r} "
              f"statusCode={sc.get('statusCode')!r} message={sc.get('message')!r}")

    c.step("c) bad arguments: webhooks and events")
    await agent.expect_error("create_webhook_endpoint", {"url": "ftp://x"}, field="url")
    await agent.expect_error("resend_event", {"eventId": "evt_nope"}, code="NOT_FOUND")
    await agent.expect_error("verify_webhook_signature", {"payload": "{}", "headers": {}}, field="secret",
                             label="verify_webhook_signature without secret")
    await agent.expect_error("verify_webhook_signature", {"headers": {}, "secret": "whsec_x"}, field="payload",
                             label="verify_webhook_signature without payload or eventId")
    await agent.expect_error("verify_webhook_signature", {"payload": "{}", "eventId": "evt_x", "headers": {},
                                                          "secret": "whsec_x"}, field="eventId",
                             label="verify_webhook_signature with both payload and eventId")
    await agent.expect_error("verify_webhook_signature", {"eventId": "evt_nope", "headers": {}, "secret": "whsec_x"},
                             code="NOT_FOUND", label="verify_webhook_signature of an unknown event")

    c.step("c) bad arguments: dev chain")
    await agent.expect_error("simulate_payment", {}, field="orderId")
    await agent.expect_error("mine_blocks", {"blocks": 0}, field="blocks")

    c.step("c) the session still works")
    chains = await agent.ok("list_chains", {})
    c.check(len(chains.get("chains", [])) > 0, f"list_chains after the errors: {len(chains.get('chains', []))} chain(s)")


# --------------------------------------------------------------------------------------------


def check_http_auth(sandbox: Sandbox, c: Checks) -> None:
    c.step("http: /mcp needs the API key")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "agent.py", "version": "0"}}}).encode()
    req = urllib.request.Request(
        f"{sandbox.root_url}/mcp", data=body, method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    c.check(status == 401, f"POST /mcp without Authorization -> HTTP {status}")


async def run(args: argparse.Namespace, c: Checks, sandbox: Sandbox, receiver: Receiver) -> None:
    if args.transport == "stdio":
        errlog_path = sandbox.dir / "mcp.stderr.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYIN_") and k != "RUST_LOG"}
        # This process registers the endpoint: like `payin dev` (which delivers), it must allow
        # the receiver's loopback address, which the SSRF guard refuses by default.
        config = sandbox.dir / "mcp.toml"
        config.write_text('[webhooks]\nallow_private = ["127.0.0.0/8"]\n')
        params = StdioServerParameters(
            command=args.payin,
            args=["--database-url", sandbox.db_url, "--config", str(config), "mcp", "--public-url", sandbox.root_url],
            env=env,
        )
        print(f"connecting over stdio: {args.payin} --database-url {sandbox.db_url} --config {config} mcp")
        with open(errlog_path, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (r, w):
                async with ClientSession(r, w) as session:
                    await session_checks(session, c, receiver, sandbox.root_url)
    else:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        check_http_auth(sandbox, c)
        url = f"{sandbox.root_url}/mcp"
        print(f"connecting over streamable HTTP: {url}")
        async with httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
            timeout=httpx2.Timeout(30.0, read=300.0),
        ) as http:
            async with streamable_http_client(url, http_client=http) as (r, w):
                async with ClientSession(r, w) as session:
                    await session_checks(session, c, receiver, sandbox.root_url)


async def payment_scenarios(agent: Agent, c: Checks) -> None:
    """simulate_payment's other scenarios, each judged by what the engine then shows."""

    async def order_of(amount: str) -> dict[str, Any]:
        reference = f"SCENARIO-{secrets.token_hex(6)}"
        return await agent.ok(
            "create_order", {"orderReference": reference, "amount": amount, "currency": "USDT", "chainId": "local"}
        )

    async def settled(order_id: str, want_received: str, want_status: str) -> dict[str, Any]:
        async def check():
            o = await agent.ok("get_order", {"orderId": order_id})
            got = Decimal(str(o.get("amountReceived") or "0"))
            return got == Decimal(want_received) and o.get("status") == want_status, o

        return await poll(f"order {order_id}: amountReceived {want_received}, status {want_status}", POLL_TIMEOUT, check)

    c.step("d) payment scenarios: partial")
    o = await order_of("4.00")
    paid = await agent.ok("simulate_payment", {"orderId": o["orderId"], "scenario": "partial"})
    c.check(Decimal(str(paid.get("amount"))) == Decimal("2"), f"partial sends half: {paid.get('amount')}", paid)
    await settled(o["orderId"], "2", "pending")
    c.ok("a partial payment leaves the order pending with amountReceived 2.00")

    c.step("d) payment scenarios: over")
    o = await order_of("10.00")
    paid = await agent.ok("simulate_payment", {"orderId": o["orderId"], "scenario": "over"})
    c.check(Decimal(str(paid.get("amount"))) == Decimal("11"), f"over sends 10% more: {paid.get('amount')}", paid)
    await settled(o["orderId"], "11", "completed")
    c.ok("an overpayment completes the order with amountReceived 11.00")

    c.step("d) payment scenarios: a deposit address, then confirmations")
    user = f"agent-user-{secrets.token_hex(4)}"
    bound = await agent.ok("bind_deposit_address", {"depositReference": user, "protocol": "evm"})
    paid = await agent.ok("simulate_payment", {"address": bound["address"], "amount": "7.25", "currency": "USDC"})
    c.check(paid.get("to", "").lower() == bound["address"].lower() and paid.get("currency") == "USDC",
            "simulate_payment paid the deposit address in USDC", paid)
    mined = await agent.ok("mine_blocks", {"blocks": 3})
    c.check(mined.get("blocksMined") == 3 and mined.get("blockNumber", 0) >= paid["blockNumber"] + 3,
            f"mine_blocks mined 3 blocks past the payment (head {mined.get('blockNumber')})", mined)

    async def deposited():
        d = await agent.ok("list_deposits", {"depositReference": user})
        rows = d.get("deposits", [])
        done = len(rows) == 1 and rows[0].get("status") in ("confirmed", "completed")
        return done, rows

    rows = await poll(f"a confirmed deposit for {user}", POLL_TIMEOUT, deposited)
    c.check(Decimal(str(rows[0]["amount"])) == Decimal("7.25") and rows[0]["txHash"] == paid["txHash"],
            "the deposit is the simulated payment, exactly", rows[0])
    reference = await agent.ok("get_deposit_reference", {"depositReference": user})
    c.check(Decimal(str((reference.get("totalAmount") or {}).get("USDC", "0"))) == Decimal("7.25"),
            "the reference's USDC total is 7.25", reference.get("totalAmount"))

    c.step("d) payment scenarios: late")
    o = await order_of("3.00")
    paid = await agent.ok("simulate_payment", {"orderId": o["orderId"], "scenario": "late"})
    c.check(str(paid.get("blockTime", "")) > str(o.get("expiresAt", "")),
            f"the late payment is mined after expiresAt ({paid.get('blockTime')} > {o.get('expiresAt')})", paid)

    async def late_event():
        events = await agent.ok("list_events", {"type": "order.late_payment", "limit": 100})
        mine = [e for e in events.get("events", []) if (e.get("data") or {}).get("orderId") == o["orderId"]]
        return bool(mine), events.get("events")

    await poll(f"an order.late_payment event for {o['orderId']}", POLL_TIMEOUT, late_event)
    after = await agent.ok("get_order", {"orderId": o["orderId"]})
    c.check(Decimal(str(after.get("amountReceived") or "0")) == 0,
            "a late payment is not credited to the order", after.get("amountReceived"))
    c.ok("a late payment raises order.late_payment and credits nothing")


async def catalogue_matches_real_events(agent: Agent, c: Checks) -> None:
    """The event catalogue resource shows each type's data with the fields real events carry."""
    c.step("e) the event catalogue matches the events this session caused")
    read = await agent.s.read_resource("payin://events")
    catalogue = {e["type"]: e["example"] for e in json.loads(text_of(read))}
    events = await agent.ok("list_events", {"limit": 100})
    seen: dict[str, dict[str, Any]] = {}
    for event in events.get("events", []):
        seen.setdefault(event["type"], event)
    c.check(len(seen) >= 4, f"this session caused several event types: {sorted(seen)}")
    for kind, event in sorted(seen.items()):
        example = catalogue.get(kind)
        if example is None:
            c.fail(f"{kind} is not in the catalogue")
            continue
        c.check(set(example) == set(event), f"{kind}: the example has the event's top-level fields",
                {"example": sorted(example), "event": sorted(event)})
        c.check(set(example["data"]) == set(event["data"]), f"{kind}: the example's data has the real data's fields",
                {"only in example": sorted(set(example["data"]) - set(event["data"])),
                 "only in real": sorted(set(event["data"]) - set(example["data"]))})


async def session_checks(session: ClientSession, c: Checks, receiver: Receiver, root_url: str) -> None:
    init = await asyncio.wait_for(session.initialize(), CALL_TIMEOUT)
    info = init.server_info
    print(f"initialized: server {info.name} {info.version}, protocol {init.protocol_version}")
    agent = Agent(session, c)
    parts = (
        lambda: discovery(agent, c, root_url),
        lambda: agent_flow(agent, c, receiver, root_url),
        lambda: bad_arguments(agent, c),
        # Last: the late scenario moves the dev chain's clock past an order's grace period.
        lambda: payment_scenarios(agent, c),
        lambda: catalogue_matches_real_events(agent, c),
    )
    for part in parts:
        try:
            await part()
        except CheckFailed as e:
            if not c.keep_going:
                raise
            if str(e) not in c.failures:
                c.fail(str(e))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payin", default="target/debug/payin", help="the payin binary")
    ap.add_argument("--transport", choices=["stdio", "http"], required=True)
    ap.add_argument("--keep-going", action="store_true", help="run every check, list all failures at the end")
    ap.add_argument("--keep-dir", action="store_true", help="keep the sandbox directory (logs, database)")
    args = ap.parse_args()
    args.payin = str(Path(args.payin).resolve())
    if not os.access(args.payin, os.X_OK):
        print(f"FAIL: {args.payin} is not an executable", file=sys.stderr)
        return 2

    c = Checks(args.keep_going)
    sdk_warnings = SdkWarnings()
    logging.getLogger("mcp").addHandler(sdk_warnings)
    started = time.monotonic()
    sandbox = Sandbox(args.payin, prefix="payin-mcp-agent-")
    receiver = Receiver()
    error: str | None = None
    try:
        c.step(f"starting payin dev in {sandbox.dir}")
        sandbox.start()
        print(f"  API {sandbox.api_url}, key {sandbox.api_key[:8]}…, pid {sandbox.proc.pid}")
        receiver.start()
        print(f"  webhook receiver at {receiver.url}")
        asyncio.run(run(args, c, sandbox, receiver))
    except CheckFailed as e:
        error = str(e)
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            error = "interrupted"
        else:
            # anyio wraps errors from inside task groups
            inner = e
            while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
                inner = inner.exceptions[0]
            if isinstance(inner, CheckFailed):
                error = str(inner)
            else:
                traceback.print_exception(e)
                error = f"{type(inner).__name__}: {inner}"
    finally:
        receiver.stop()
        code = sandbox.stop()
        print(f"\npayin dev stopped (exit {code})")
        if error or c.failures:
            print(f"--- payin dev stderr (last lines):\n{sandbox.stderr_tail()}")
            mcp_log = sandbox.dir / "mcp.stderr.log"
            if mcp_log.exists():
                print("--- payin mcp stderr (last lines):\n" + "\n".join(mcp_log.read_text(errors="replace").splitlines()[-20:]))
        if args.keep_dir or error or c.failures:
            print(f"sandbox directory kept: {sandbox.dir}")
        else:
            shutil.rmtree(sandbox.dir, ignore_errors=True)

    elapsed = time.monotonic() - started
    if sdk_warnings.messages:
        # not failures: what the SDK logged about the server's behaviour (e.g. the answer to
        # the session DELETE), for the report
        print("\nSDK warnings:")
        for m in sdk_warnings.messages:
            print(f"  - {m}")
    if error and error not in c.failures:
        c.failures.append(error)
    if c.failures:
        print(f"\nFAILED ({args.transport}, {elapsed:.1f}s): {len(c.failures)} failure(s), {c.passed} check(s) passed")
        for f in c.failures:
            print(f"  - {f}")
        return 1
    print(f"\nPASSED ({args.transport}, {elapsed:.1f}s): {c.passed} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
