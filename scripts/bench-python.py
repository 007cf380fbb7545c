#!/usr/bin/env python3
"""get_order through the Python package `payin` against what users would otherwise write.

    scripts/bench-clients.sh           (builds, installs, then runs this with the right Python)
    python3 scripts/bench-python.py --payin target/release/payin [--calls 5000] [--warmup 200]
                                    [--concurrency 32] [--rounds 3]

Starts `payin serve` (SQLite, in a temporary directory) with one order, then in one run, in
this order and repeated `--rounds` times (the best round of each is printed, and every round):

- payin.Client:        N sequential `client.orders.get(id)` (a typed Order with Decimal amounts),
- requests.Session:    N sequential `session.get(url).json()` (a dict),
- payin.AsyncClient:   N calls by `--concurrency` tasks on one client, `await client.orders.get(id)`,
- httpx.AsyncClient:   N calls by `--concurrency` tasks on one client, `(await c.get(url)).json()`,

each after `--warmup` unmeasured calls. With `--rust-bench BIN` and `--node`, each round also runs
the raw Rust client (`http-api/client/benches/get_order.rs`: sequential, and `--concurrency` tasks)
and `scripts/bench-node.mjs` (the npm package and Node `fetch`; medians of its one round) against the
same gateway, so every client is measured in one run (`scripts/bench-clients.sh` does all this). Per call latency is measured around each call
(perf_counter); calls/s is N over the wall time of the N calls. Both clients of a pair keep
their connections alive (one pool per client). Prints the Python, package and library versions
and the machine.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import requests

import payin


def start_gateway(binary, work):
    env = dict(os.environ, PAYIN_DATABASE_URL="sqlite://" + os.path.join(work, "bench.db"), RUST_LOG="warn")
    config = os.path.join(work, "payin.toml")
    with open(config, "w") as f:
        # Orders are accepted only on a watched chain. No node answers on the discard port: the
        # watcher retries with backoff in the background, and the figures are the API's.
        f.write('[chains.ethereum]\nrpc_urls = ["http://127.0.0.1:9"]\n')
        # One key makes every call here: its quota would turn the figures into 429s and waits.
        f.write("[rate_limit]\nenabled = false\n")
    env["PAYIN_CONFIG"] = config
    for name in ("PAYIN_LISTEN", "PAYIN_API_KEY", "PAYIN_BASE_URL"):
        env.pop(name, None)
    key = subprocess.run([binary, "keys", "create", "--name", "bench"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(work, "addresses.txt"), "w") as f:
        f.writelines("0x{:040x}\n".format(i) for i in range(1, 101))
    subprocess.run([binary, "pool", "import", "--protocol", "evm", os.path.join(work, "addresses.txt")], env=env, check=True, capture_output=True)
    env["RUST_LOG"] = "info"
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], env=env, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, found.group(1), key
    raise SystemExit("payin serve did not start")


def summary(latencies, wall):
    latencies = sorted(latencies)
    return {
        "calls_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def sequential(call, n, warmup):
    for _ in range(warmup):
        call()
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t)
    return summary(latencies, time.perf_counter() - started)


async def concurrent(call, n, warmup, concurrency):
    await asyncio.gather(*(call() for _ in range(warmup)))
    latencies = []
    remaining = [n]

    async def worker():
        while remaining[0] > 0:
            remaining[0] -= 1
            t = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--payin", default="target/release/payin")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rust-bench", help="the built get_order bench of payin-client")
    parser.add_argument("--node", action="store_true", help="also run scripts/bench-node.mjs")
    args = parser.parse_args()

    print(
        "machine: {} cores; Python {} ({}); payin {} (native module {}); requests {}; httpx {}".format(
            os.cpu_count(),
            platform.python_version(),
            platform.python_implementation(),
            payin.__version__,
            os.path.basename(payin._native.__file__),
            requests.__version__,
            httpx.__version__,
        )
    )
    with tempfile.TemporaryDirectory() as work:
        server, base, key = start_gateway(args.payin, work)
        try:
            client = payin.Client(api_key=key, base_url=base)
            order = client.orders.create(order_reference="bench-1", amount="10.00", currency="USDT", chain_id="ethereum")
            url = "{}/api/v1/orders/{}".format(base, order.order_id)
            headers = {"Authorization": "Bearer " + key}
            session = requests.Session()
            session.headers.update(headers)
            assert session.get(url).json()["data"]["orderId"] == order.order_id

            def requests_get():
                r = session.get(url)
                r.raise_for_status()
                return r.json()

            async def payin_async():
                aclient = payin.AsyncClient(api_key=key, base_url=base)
                return await concurrent(lambda: aclient.orders.get(order.order_id), args.calls, args.warmup, args.concurrency)

            async def httpx_async(limits=httpx.Limits()):
                async with httpx.AsyncClient(headers=headers, limits=limits) as hclient:

                    async def get():
                        r = await hclient.get(url)
                        r.raise_for_status()
                        return r.json()

                    return await concurrent(get, args.calls, args.warmup, args.concurrency)

            runs = {
                "payin.Client (sequential)": lambda: sequential(lambda: client.orders.get(order.order_id), args.calls, args.warmup),
                "requests.Session (sequential)": lambda: sequential(requests_get, args.calls, args.warmup),
                "payin.AsyncClient ({} concurrent)".format(args.concurrency): lambda: asyncio.run(payin_async()),
                "httpx.AsyncClient ({} concurrent)".format(args.concurrency): lambda: asyncio.run(httpx_async()),
                # httpx keeps 20 idle connections by default: with more calls in flight it opens and
                # closes connections all along. The same with a pool that keeps them all:
                "httpx.AsyncClient ({} concurrent, keep-alive {})".format(args.concurrency, args.concurrency): lambda: asyncio.run(
                    httpx_async(httpx.Limits(max_keepalive_connections=args.concurrency))),
            }
            def external(command):
                out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                return json.loads(out.strip().splitlines()[-1])

            common = [base, key, order.order_id]
            if args.rust_bench:
                rust = {}

                def rust_run(mode):
                    if mode == "sequential":
                        rust.update(external([args.rust_bench, *common, str(args.calls), str(args.concurrency), str(args.warmup)]))
                    return rust.pop(mode)

                runs["payin-client, Rust (sequential)"] = lambda: rust_run("sequential")
                runs["payin-client, Rust ({} concurrent)".format(args.concurrency)] = lambda: rust_run("concurrent")
            if args.node:
                node = {}

                def node_run(name, concurrent_):
                    if not node:
                        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-node.mjs")
                        node.update(external(["node", script, "--base", base, "--key", key, "--order", order.order_id,
                                              "--json", "--rounds", "1", "--calls", str(args.calls),
                                              "--concurrency", str(args.concurrency)]))
                    figures = node[name] if not concurrent_ else {
                        "calls_per_s": node[name]["concurrent_calls_per_s"], "p50_ms": float("nan"), "p99_ms": float("nan")}
                    if concurrent_ and name == "fetch":
                        node.clear()
                    return figures

                runs["payin npm package (sequential)"] = lambda: node_run("package", False)
                runs["Node fetch (sequential)"] = lambda: node_run("fetch", False)
                runs["payin npm package ({} in flight)".format(args.concurrency)] = lambda: node_run("package", True)
                runs["Node fetch ({} in flight)".format(args.concurrency)] = lambda: node_run("fetch", True)
            results = {name: [] for name in runs}
            for round_ in range(args.rounds):
                for name, run in runs.items():
                    figure = run()
                    results[name].append(figure)
                    print("round {} {:<48} {:>8.0f} calls/s  p50 {:.3f} ms  p99 {:.3f} ms".format(
                        round_ + 1, name, figure["calls_per_s"], figure["p50_ms"], figure["p99_ms"]), flush=True)
            print("\nbest round of {} ({} calls each, {} warm-up):".format(args.rounds, args.calls, args.warmup))
            print("| client | calls/s | p50 | p99 |\n|---|---|---|---|")
            for name, figures in results.items():
                best = max(figures, key=lambda f: f["calls_per_s"])
                ms = lambda v: "–" if v != v else "{:.3f} ms".format(v)  # NaN: not measured per call
                print("| {} | {:,.0f} | {} | {} |".format(name, best["calls_per_s"], ms(best["p50_ms"]), ms(best["p99_ms"])))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
