"""The sandbox's life in-process and as ``payrecon sandbox``: start, serve, stop cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from sandbox_helpers import VERSION, create, detail, token

import payrecon.sandbox as sandbox_pkg
from payrecon.sandbox import (
    DEMO_MERCHANT_CODE,
    DEMO_SECRET,
    Merchant,
    Sandbox,
    SandboxConfig,
    running,
)
from payrecon.sandbox.openapi import document

ROOT = Path(__file__).resolve().parent.parent


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_public_names() -> None:
    assert {"running", "Sandbox", "SandboxConfig", "Faults", "Merchant"} <= set(sandbox_pkg.__all__)


def test_running_binds_loopback_and_stops_cleanly() -> None:
    before = {t.ident for t in threading.enumerate()}
    with running() as sb:
        assert sb.base_url.startswith("http://127.0.0.1:")
        assert sb.merchant_code == DEMO_MERCHANT_CODE and sb.secret == DEMO_SECRET
        port = sb.port
        assert _port_open(port)
        assert DEMO_SECRET not in repr(sb) and DEMO_SECRET not in repr(sb.config)
    assert not _port_open(port)
    assert {t.ident for t in threading.enumerate()} <= before
    with pytest.raises(RuntimeError):
        _ = sb.base_url


def test_two_sandboxes_run_side_by_side() -> None:
    with running() as a, running() as b:
        assert a.port != b.port
        assert create(a, "X-1").status_code == 201
        assert b.payout_state("X-1") is None


def test_a_handle_can_be_started_and_stopped_by_hand() -> None:
    sb = Sandbox(SandboxConfig(final_after=0))
    sb.start()
    try:
        assert create(sb, "HB-1").status_code == 201
        state = sb.payout_state("HB-1")
        assert state is not None and state["status"] == "SUCCESS"
        with pytest.raises(RuntimeError):
            sb.start()
    finally:
        sb.stop()
    sb.stop()  # stopping twice is harmless


def test_openapi_document_is_served_as_built(sandbox: Sandbox) -> None:
    r = requests.get(f"{sandbox.base_url}/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    served = r.json()
    assert served == json.loads(json.dumps(document()))
    assert set(served["paths"]) == {"/auth-tokens", "/payouts/{idPayout}", "/balances"}


def test_sb_client_reads_a_payout_through_the_real_client() -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        assert create(sb, "CL-1", amount="42.05", currency="USD").status_code == 201
        client = sb.client()
        got = client.get_payout("CL-1")
        assert got.status == "SUCCESS"
        assert str(got.amount) == "42.05"
        assert sb.stats().gets_ok[(sb.merchant_code, "CL-1")] == 1


def _start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PAYRECON_")}
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "payrecon", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=ROOT,
    )


def _stop(proc: subprocess.Popen[str], signum: int) -> tuple[int, str, str]:
    proc.send_signal(signum)
    code = proc.wait(timeout=20)
    assert proc.stdout is not None and proc.stderr is not None
    # Read through the same buffered objects readline() used, so no line is lost.
    with proc.stdout, proc.stderr:
        return code, proc.stdout.read(), proc.stderr.read()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_its_url_first_and_stops_with_0(signum: int) -> None:
    proc = _start_cli("--final-after", "0", "--seed", "data/payouts.csv")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert DEMO_SECRET in proc.stdout.readline()  # the demo pair is shown
        assert "Ctrl-C" in proc.stdout.readline()
        assert proc.stdout.readline().startswith("seeded 40 payouts")
        assert requests.get(f"{url}/openapi.json", timeout=10).status_code == 200
    finally:
        code, _, err = _stop(proc, signum)
    assert code == 0, err


def test_cli_takes_the_merchant_from_the_environment_and_never_prints_its_secret() -> None:
    secret = "s3cr3t-from-env-never-printed"
    proc = _start_cli(env={"PAYRECON_MERCHANT_CODE": "acme", "PAYRECON_SECRET": secret})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert "acme" in proc.stdout.readline()
        body = {"merchantCode": "acme", "secret": secret, "operations": ["GET /payouts/x"]}
        r = requests.post(f"{url}/auth-tokens", headers=VERSION, data=json.dumps(body), timeout=10)
        assert r.status_code == 200
        sb_like = type("S", (), {"base_url": url, "merchant_code": "acme", "secret": secret})
        tok = token(sb_like, ["GET /payouts/x"])  # type: ignore[arg-type]
        assert tok
    finally:
        code, out, err = _stop(proc, signal.SIGTERM)
    assert code == 0
    assert secret not in out and secret not in err


def test_cli_refuses_a_busy_port() -> None:
    with running() as sb:
        proc = subprocess.run(
            [sys.executable, "-m", "payrecon", "sandbox", "--port", str(sb.port)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
        )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr


def test_merchant_repr_hides_the_secret() -> None:
    assert "hidden-value" not in repr(Merchant("m", "hidden-value"))
    assert detail  # imported helper kept for symmetry with other sandbox tests
