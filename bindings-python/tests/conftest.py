"""Fixtures of the package's tests: a live gateway, local servers on 127.0.0.1, references.

The gateway is a real ``payin dev`` (a local chain, REST API, watcher and webhook delivery)
started by the Rust test that runs pytest (tests/python_package.rs), which passes
``PAYIN_TEST_BASE_URL``, ``PAYIN_TEST_API_KEY`` and ``PAYIN_TEST_BIN`` (the ``payin`` binary).
Servers the tests start themselves listen on 127.0.0.1 only.
"""

import http.server
import json
import os
import queue
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

import payin


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail("{} is not set: run these tests through tests/python_package.rs (cargo nextest)".format(name))
    return value


class Gateway:
    def __init__(self, base_url, api_key, binary):
        self.base_url = base_url
        self.api_key = api_key
        self.binary = binary


@pytest.fixture(scope="session")
def gateway():
    """The ``payin dev`` gateway the Rust test started."""
    return Gateway(_env("PAYIN_TEST_BASE_URL"), _env("PAYIN_TEST_API_KEY"), os.environ.get("PAYIN_TEST_BIN"))


@pytest.fixture
def client(gateway):
    return payin.Client(api_key=gateway.api_key, base_url=gateway.base_url)


@pytest.fixture
def ref():
    """Unique references, so tests never collide on the shared gateway."""

    def make(prefix="py"):
        return "{}-{}".format(prefix, uuid.uuid4().hex[:12])

    return make


def wait_for(check, timeout=30.0, interval=0.2, what="the condition"):
    """Polls ``check()`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after {} s waiting for {}".format(timeout, what))
        time.sleep(interval)


def new_evm_address():
    return "0x" + os.urandom(20).hex()


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalServer:
    """An HTTP server on a free port of 127.0.0.1, in a thread, closed by ``close()``."""

    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:{}".format(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class WebhookReceiver(LocalServer):
    """A merchant's webhook endpoint (test double of a shop): keeps each delivery's raw body
    and headers exactly as received, and answers 200."""

    def __init__(self):
        self.deliveries = queue.Queue()
        receiver = self

        class Handler(_QuietHandler):
            def do_POST(self):
                body = self.read_body()
                receiver.deliveries.put((body, list(self.headers.items())))
                self.answer(200, b"ok")

        super().__init__(Handler)

    def next_of(self, event_type, timeout=30.0):
        """The first delivery of ``event_type`` (others received meanwhile are kept aside)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail("no {} delivery within {} s".format(event_type, timeout))
            try:
                body, headers = self.deliveries.get(timeout=remaining)
            except queue.Empty:
                continue
            if json.loads(body).get("type") == event_type:
                return body, headers


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


class DroppingProxy(LocalServer):
    """A proxy to the gateway (test double of a flaky network) that forwards every request
    and answer, except that it drops the answer to the first ``POST`` whose path ends with
    ``drop_path``: the gateway handled it, the client sees the connection close."""

    def __init__(self, upstream, drop_path):
        self.upstream = upstream.rstrip("/")
        self.seen = []
        self.dropped = 0
        proxy = self

        class Handler(_QuietHandler):
            def forward(self):
                body = self.read_body()
                proxy.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                request = urllib_request(proxy.upstream + self.path, self.command, body, self.headers)
                status, headers, answer = request
                if self.command == "POST" and self.path.endswith(drop_path) and proxy.dropped == 0:
                    proxy.dropped += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.answer(status, answer, headers)

            do_GET = do_POST = do_PUT = do_DELETE = forward

        super().__init__(Handler)


def urllib_request(url, method, body, headers):
    """Sends one request upstream; returns (status, headers to pass on, body)."""
    import urllib.error
    import urllib.request

    skip = {"host", "content-length", "connection", "transfer-encoding"}
    req = urllib.request.Request(url, data=body if body else None, method=method)
    for name, value in headers.items():
        if name.lower() not in skip:
            req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, answer, got = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, answer, got = e.code, e.read(), e.headers
    passed = [(k, v) for k, v in got.items() if k.lower() not in skip]
    return status, passed, answer


class ScriptedServer(LocalServer):
    """A server that answers every request with ``status``, ``body`` and ``headers`` (a test
    double of a gateway under load or failing) and counts the requests."""

    def __init__(self, status, body, headers=()):
        self.requests = 0
        server = self

        class Handler(_QuietHandler):
            def reply(self):
                self.read_body()
                server.requests += 1
                self.answer(status, body, headers)

            do_GET = do_POST = do_PUT = do_DELETE = reply

        super().__init__(Handler)


class SilentServer:
    """A listener on 127.0.0.1 that accepts connections and never answers (a hung gateway)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:{}".format(self.sock.getsockname()[1])
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


class ServedGateway:
    """``payin serve`` on its own database with chain ``ethereum-sepolia`` configured and an
    empty address pool (orders answer 503 NO_AVAILABLE_ADDRESSES until addresses are
    imported). Its RPC URL is a closed port of 127.0.0.1: no chain is reached."""

    def __init__(self, binary):
        self.dir = tempfile.TemporaryDirectory()
        config = os.path.join(self.dir.name, "payin.toml")
        with open(config, "w") as f:
            f.write(
                '[chains.ethereum-sepolia]\nrpc_urls = ["http://127.0.0.1:9"]\n\n'
                '[chains.ethereum-sepolia.tokens.USDT]\ncontract = "0x7169d38820dfd117c3fa1f22a697dba58d90ba06"\n'
            )
        env = dict(os.environ)
        for name in ("PAYIN_LISTEN", "PAYIN_API_URL", "RUST_LOG", "PAYIN_API_KEY", "PAYIN_BASE_URL"):
            env.pop(name, None)
        env["PAYIN_DATABASE_URL"] = "sqlite://" + os.path.join(self.dir.name, "payin.db")
        env["PAYIN_CONFIG"] = config
        self.api_key = subprocess.run(
            [binary, "keys", "create", "--name", "python-tests"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0"], env=env, stderr=subprocess.PIPE, text=True
        )
        self.base_url = None
        deadline = time.monotonic() + 30
        for line in self.process.stderr:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.base_url = found.group(1)
                break
            if time.monotonic() > deadline:
                break
        if self.base_url is None:
            self.close()
            pytest.fail("payin serve did not start")
        # Keep reading its log so it never blocks on a full pipe.
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.dir.cleanup()


@pytest.fixture
def empty_gateway(gateway):
    if not gateway.binary:
        pytest.fail("PAYIN_TEST_BIN is not set")
    served = ServedGateway(gateway.binary)
    yield served
    served.close()
