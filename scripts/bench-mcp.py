#!/usr/bin/env python3
"""Latency of PayIn's MCP server as an MCP client sees it (official Python SDK `mcp`).

    python3 scripts/bench-mcp.py [--payin target/release/payin] [--calls 1000] [--warmup 20]
                                 [--transports stdio,http]

Starts a `payin dev` sandbox (local anvil chain "local") in a temporary directory, then for each
transport

- stdio: `payin --database-url sqlite://DIR/payin.db mcp` (embedded engine on the sandbox's
  database; the sandbox keeps running the watcher and webhook delivery),
- http:  the sandbox's streamable HTTP endpoint /mcp with `Authorization: Bearer <key>`,

measures N sequential calls (one at a time, after `--warmup` unmeasured calls) of

- get_order of one existing order, and
- create_order (unique orderReference, "1.00" USDT on chain local),

and prints p50 / p99 / mean latency per call and calls per second. Every figure includes the
SDK's own work (JSON-RPC framing, pydantic parsing, output-schema validation of each result),
so it is an upper bound of the server's share. The pool of `payin dev` has 1000 addresses; 5000
random watch-only EVM addresses are imported first (import_addresses) so the creations do not
exhaust it. Peak RSS (VmHWM) of the `payin dev` and `payin mcp` processes is printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "mcp"))
from payin_sandbox import Sandbox  # noqa: E402


class SdkNotes(logging.Handler):
    """What the SDK logs at WARNING+ (e.g. its view of the session DELETE answer), printed at the end."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def vm_hwm(pid: int) -> str:
    """Peak RSS of a live process, from /proc/<pid>/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                kib = int(line.split()[1])
                return f"{kib / 1024:.1f} MiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unreadable"


def child_pids(name: str, exclude: int | None) -> list[int]:
    """This process's direct children whose command is `name` (the stdio server), but `exclude`."""
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...
        comm = stat[stat.index("(") + 1: stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == me and comm == name[:15] and int(entry.name) != exclude:
            out.append(int(entry.name))
    return out


async def call_ok(session: ClientSession, name: str, args: dict[str, Any]) -> dict[str, Any]:
    res = await session.call_tool(name, args)
    if res.is_error or not isinstance(res.structured_content, dict):
        raise SystemExit(f"{name}({args}) failed: {res.structured_content or res.content}")
    return res.structured_content


def pct(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    return sorted_ms[max(0, min(len(sorted_ms) - 1, math.ceil(q * len(sorted_ms)) - 1))]


async def measure(session: ClientSession, transport: str, tool: str, make_args, n: int, warmup: int) -> dict[str, Any]:
    for i in range(warmup):
        await call_ok(session, tool, make_args(f"w{i}"))
    samples = []
    started = time.perf_counter()
    for i in range(n):
        args = make_args(str(i))
        t0 = time.perf_counter()
        await call_ok(session, tool, args)
        samples.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - started
    samples.sort()
    row = {
        "transport": transport, "tool": tool, "n": n,
        "p50": pct(samples, 0.50), "p99": pct(samples, 0.99), "mean": statistics.fmean(samples),
        "rate": n / wall,
    }
    print(f"  {transport:<6} {tool:<12} n={n} p50 {row['p50']:.2f} ms, p99 {row['p99']:.2f} ms, "
          f"mean {row['mean']:.2f} ms, {row['rate']:.0f} calls/s", flush=True)
    return row


async def bench_session(session: ClientSession, transport: str, order_id: str, args: argparse.Namespace) -> list[dict]:
    await session.initialize()
    await session.list_tools()  # caches the output schemas the SDK validates results against
    run = secrets.token_hex(3)
    rows = [
        await measure(session, transport, "get_order", lambda _i: {"orderId": order_id}, args.calls, args.warmup),
        await measure(
            session, transport, "create_order",
            lambda i: {"orderReference": f"BENCH-{transport}-{run}-{i}", "amount": "1.00", "currency": "USDT",
                       "chainId": "local"},
            args.calls, args.warmup,
        ),
    ]
    return rows


async def main_async(args: argparse.Namespace, sandbox: Sandbox) -> tuple[list[dict], dict[str, str]]:
    rows: list[dict] = []
    rss: dict[str, str] = {}
    params = StdioServerParameters(command=args.payin, args=["--database-url", sandbox.db_url, "mcp", "--public-url", sandbox.root_url], env=Sandbox.env())
    errlog = open(sandbox.dir / "mcp.stderr.log", "w")

    # setup through an embedded session: addresses for the creations, one order to read
    async with stdio_client(params, errlog=errlog) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            need = len(args.transports) * (args.calls + args.warmup)
            extra = max(args.import_addresses, need)
            imported = await call_ok(s, "import_addresses", {
                "protocol": "evm", "addresses": ["0x" + secrets.token_hex(20) for _ in range(extra)]})
            pool = await call_ok(s, "get_pool_status", {})
            evm = next((p for p in pool["pools"] if p.get("protocol") == "evm"), {})
            print(f"imported {imported.get('imported')} addresses; evm pool: {evm.get('available')} available")
            order = await call_ok(s, "create_order", {"orderReference": f"BENCH-READ-{secrets.token_hex(4)}",
                                                      "amount": "1.00", "currency": "USDT", "chainId": "local"})
            order_id = order["orderId"]

    for transport in args.transports:
        print(f"\n{transport}: {args.calls} sequential calls per tool after {args.warmup} warm-up calls", flush=True)
        if transport == "stdio":
            async with stdio_client(params, errlog=errlog) as (r, w):
                async with ClientSession(r, w) as s:
                    rows += await bench_session(s, "stdio", order_id, args)
                    pids = child_pids(Path(args.payin).name, sandbox.proc.pid if sandbox.proc else None)
                    rss["payin mcp (stdio, embedded)"] = ", ".join(f"{vm_hwm(p)} (pid {p})" for p in pids) or "not found"
        else:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {sandbox.api_key}"},
                                          timeout=httpx2.Timeout(30.0, read=300.0)) as http:
                async with streamable_http_client(f"{sandbox.root_url}/mcp", http_client=http) as (r, w):
                    async with ClientSession(r, w) as s:
                        rows += await bench_session(s, "http", order_id, args)
    assert sandbox.proc
    rss["payin dev (REST + MCP over HTTP + watcher)"] = f"{vm_hwm(sandbox.proc.pid)} (pid {sandbox.proc.pid})"
    errlog.close()
    return rows, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payin", default=str(ROOT / "target/release/payin"), help="payin binary (default: the release build)")
    ap.add_argument("--calls", type=int, default=1000, help="measured calls per tool and transport (default 1000)")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured calls first (default 20)")
    ap.add_argument("--transports", default="stdio,http", help="comma-separated: stdio, http (default both)")
    ap.add_argument("--import-addresses", type=int, default=5000, help="random EVM addresses imported first (default 5000)")
    args = ap.parse_args()
    args.payin = str(Path(args.payin).resolve())
    args.transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    if any(t not in ("stdio", "http") for t in args.transports):
        ap.error("--transports takes stdio and/or http")
    if not os.access(args.payin, os.X_OK):
        print(f"{args.payin} is not an executable (build it: cargo build --release --bin payin)", file=sys.stderr)
        return 2

    import platform
    import mcp

    version = subprocess.run([args.payin, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version} ({args.payin}); python {platform.python_version()}, mcp SDK "
          f"{getattr(mcp, '__version__', None) or _dist_version('mcp')}; {os.cpu_count()} cores")
    notes = SdkNotes()
    logging.getLogger("mcp").addHandler(notes)
    sandbox = Sandbox(args.payin, prefix="payin-bench-mcp-")
    started = time.monotonic()
    try:
        sandbox.start()
        print(f"payin dev at {sandbox.root_url} (pid {sandbox.proc.pid if sandbox.proc else '?'})")
        rows, rss = asyncio.run(main_async(args, sandbox))
    finally:
        sandbox.stop()
    shutil.rmtree(sandbox.dir, ignore_errors=True)

    print("\n| transport | tool | n | p50 ms | p99 ms | mean ms | calls/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['transport']} | {r['tool']} | {r['n']} | {r['p50']:.2f} | {r['p99']:.2f} | {r['mean']:.2f} | {r['rate']:.0f} |")
    print("\npeak RSS (VmHWM):")
    for k, v in rss.items():
        print(f"  {k}: {v}")
    if notes.messages:
        print("\nSDK warnings: " + "; ".join(sorted(set(notes.messages))))
    print(f"\n(total {time.monotonic() - started:.1f}s)")
    return 0


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
