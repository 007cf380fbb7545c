"""`payin dev` as the MCP client programs start it: a sandbox (local anvil chain "local", test
tokens, a pool, an API key, REST + MCP over HTTP, watcher and webhook delivery) on a database in a
temporary directory, stopped with SIGTERM. Shared by tests/mcp/agent.py and scripts/bench-mcp.py.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `npm ci` puts anvil here; PAYIN_ANVIL overrides it.
ANVIL_DEFAULT = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"


class Sandbox:
    """`payin dev` in a temporary directory, stopped with SIGTERM."""

    def __init__(self, payin: str, prefix: str = "payin-mcp-", db_url: str | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.payin = payin
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        # Its own SQLite database unless given one (e.g. a fresh PostgreSQL database).
        self.db_url = db_url or f"sqlite://{self.dir / 'payin.db'}"
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen[str] | None = None
        self.api_url = ""  # http://127.0.0.1:PORT/api/v1
        self.root_url = ""  # http://127.0.0.1:PORT
        self.api_key = ""
        self.banner: list[str] = []
        self.stderr_path = self.dir / "dev.stderr.log"

    @staticmethod
    def env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYIN_") and k != "RUST_LOG"}
        env["PAYIN_ANVIL"] = os.environ.get("PAYIN_ANVIL") or str(ANVIL_DEFAULT)
        env["PAYIN_TICK_MS"] = "100"
        return env

    def start(self, timeout: float = 120.0) -> None:
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [self.payin, "--database-url", self.db_url, "dev", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env={**self.env(), **self.extra_env},
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not (self.api_url and self.api_key):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"payin dev printed no API URL/key within {timeout}s: {self.banner}\n{self.stderr_tail()}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"payin dev exited ({self.proc.wait()}) before its banner:\n{self.stderr_tail()}")
            self.banner.append(line.rstrip("\n"))
            m = re.match(r"\s*API URL:\s+(\S+)", line)
            if m:
                self.api_url = m.group(1)
                self.root_url = self.api_url.removesuffix("/api/v1").rstrip("/")
            m = re.match(r"\s*API key:\s+(\S+)", line)
            if m:
                self.api_key = m.group(1)

    def stderr_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        code = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                print(f"  (payin dev pid {self.proc.pid} ignored SIGTERM for 20 s; killing it)", flush=True)
                self.proc.kill()
                code = self.proc.wait()
        elif self.proc:
            code = self.proc.returncode
        with contextlib.suppress(Exception):
            self._stderr.close()
        return code
