"""The hand-written stubs: ``mypy --strict`` accepts a merchant's typed code (typed_usage.py and
the code the MCP prompts show) and refuses misuse, and ``stubtest`` finds the stubs true to the
runtime package."""

import os
import subprocess
import sys
import textwrap

import pytest

import payin

pytest.importorskip("mypy")

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(payin.__file__)))


def mypy(*args, tmp_path):
    env = dict(os.environ, MYPYPATH=PACKAGE_ROOT, PYTHONPATH=PACKAGE_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), *args],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
    )


def test_the_package_ships_its_types():
    here = os.path.dirname(payin.__file__)
    for name in ("py.typed", "__init__.pyi", "_client.pyi", "_models.pyi", "_exceptions.pyi", "_webhooks.pyi", "_native.pyi"):
        assert os.path.exists(os.path.join(here, name)), name


def test_mypy_strict_accepts_typed_usage(tmp_path):
    done = mypy("--strict", os.path.join(HERE, "typed_usage.py"), tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_mcp_prompts_python_code_passes_mypy_strict(tmp_path):
    """The modules the MCP prompts show for Python (mcp-server/resources/python) type-check."""
    snippets = os.path.join(HERE, "..", "..", "mcp-server", "resources", "python")
    files = sorted(os.path.join(snippets, f) for f in os.listdir(snippets) if f.endswith(".py"))
    assert len(files) == 3, files
    done = mypy("--strict", *files, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_accepts_the_stubs_themselves(tmp_path):
    done = mypy("--strict", "-p", "payin", tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_refuses_misuse(tmp_path):
    misuse = tmp_path / "misuse.py"
    misuse.write_text(
        textwrap.dedent(
            """
            import payin

            client = payin.Client()
            order = client.orders.create(order_reference="a", amount="1", currency="USDT", chain_id="x")
            as_float: float = order.amount
            client.orders.get(order_id=1)
            client.orders.create(order_reference="a", amount=1.5, currency="USDT", chain_id="x")
            client.orders.list(statuz="pending")
            client.deposits.bind(deposit_reference="u", chain_id="x")
            missing: str = order.completed_at
            page = client.orders.list()
            page.data[0].no_such_field

            async def f(c: payin.AsyncClient) -> payin.Order:
                return c.orders.get("ord_1")
            """
        )
    )
    done = mypy("--strict", str(misuse), tmp_path=tmp_path)
    assert done.returncode == 1
    out = done.stdout
    for line, what in [
        (6, "Decimal"),
        (7, "order_id"),
        (8, "float"),
        (9, "statuz"),
        (10, "No overload variant"),
        (11, "datetime | None"),
        (13, "no_such_field"),
        (16, "Coroutine"),
    ]:
        assert any(l.startswith("misuse.py:{}:".format(line)) and what in l for l in out.splitlines()), (line, what, out)


def test_stubtest_finds_the_stubs_true_to_the_runtime(tmp_path):
    env = dict(os.environ, MYPYPATH=PACKAGE_ROOT, PYTHONPATH=PACKAGE_ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "payin", "--mypy-config-file", os.devnull],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
