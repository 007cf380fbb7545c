"""What the merchants of tests/compat/ share that is not a merchant's code: the check printer,
waiting for something to arrive, and the sandbox's own REST calls (paying on the dev chain)."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Callable

CHECKS = 0


def check(cond: bool, what: str, detail: object = None) -> None:
    global CHECKS
    if not cond:
        raise AssertionError(f"{what} -- observed: {detail!r}")
    CHECKS += 1
    print(f"  ok   {what}", flush=True)


def checks() -> int:
    """How many checks passed so far."""
    return CHECKS


def wait_for(what: str, pred: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def api(sandbox: Any, method: str, path: str, body: dict | None = None) -> dict:
    """A PayIn REST call with the sandbox's API key (`/dev/simulate-payment` and the like)."""
    req = urllib.request.Request(sandbox.api_url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {sandbox.api_key}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["data"]
