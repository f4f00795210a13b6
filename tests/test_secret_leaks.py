"""The merchant secret appears nowhere: outputs, logs at DEBUG, reprs, tracebacks, files.

A distinctive canary secret is used with faults on, so every code path that could leak it
(retries, renewals, refusals, transport failures) runs at least once.
"""

from __future__ import annotations

import logging
import pickle
import socket
import traceback
from decimal import Decimal
from pathlib import Path

import pytest

from payrecon.cli import main
from payrecon.client import Client
from payrecon.config import Settings
from payrecon.errors import PayreconError
from payrecon.sandbox import Merchant, SandboxConfig, running

CANARY = "CANARY-s3cr3t-4f9a1b7e"
WRONG = "WRONG-CANARY-s3cr3t-77c2"
ACCOUNT = {"accountName": "Test account", "accountNumber": "1"}


def chain_text(exc: BaseException) -> str:
    """Everything an exception shows: the formatted traceback, and each link's repr and vars."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        parts += [repr(link), str(link), repr(vars(link))]
        link = link.__cause__ or link.__context__
    return "\n".join(parts)


def test_secret_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    config = SandboxConfig(final_after=0, merchants=(Merchant("leak-test", CANARY),))
    shown: list[str] = []
    with running(config) as sb:
        client = sb.client(concurrency=8)
        shown += [repr(client), str(client)]
        for i in range(30):
            client.create_payout(
                f"L-{i}", amount=Decimal("10.5"), currency="USD", account=ACCOUNT, operator="B_1"
            )
        sb.faults.error_500_rate = 0.1
        sb.faults.error_429_rate = 0.1
        sb.faults.error_401_rate = 0.1
        sb.faults.token_lifetime = 1.0
        sb.faults.max_operations = 7
        frame = client.fetch_statuses([f"L-{i}" for i in range(30)] + ["GONE", "a b"])
        shown += [frame.to_string(), repr(client.tokens), repr(client.throttle)]
        sb.faults.error_500_rate = sb.faults.error_429_rate = sb.faults.error_401_rate = 0
        failures: list[BaseException] = []
        for call in (
            lambda: client.get_payout("GONE"),
            lambda: client.create_payout(
                "L-0", amount=Decimal("1"), currency="USD", account=ACCOUNT, operator="B_1"
            ),
            lambda: client.create_payout(
                "L-X", amount=Decimal("1.001"), currency="USD", account=ACCOUNT, operator="B_1"
            ),
            lambda: Client(sb.base_url, "leak-test", WRONG).get_payout("L-1"),
            lambda: Client(sb.base_url, "nobody", CANARY).get_payout("L-1"),
        ):
            with pytest.raises(PayreconError) as info:
                call()
            failures.append(info.value)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        with pytest.raises(PayreconError) as info:
            Client(dead, "leak-test", CANARY, max_retries=0).get_payout("L-1")
        failures.append(info.value)
        shown += [chain_text(f) for f in failures]
        with pytest.raises(TypeError):
            pickle.dumps(client)

        # The command line, at -vv, writing a table and a store.
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", "leak-test")
        monkeypatch.setenv("PAYRECON_SECRET", CANARY)
        (tmp_path / "ids.txt").write_text("L-1\nL-2\nGONE\n")
        for out in ("out.csv", "out.parquet"):
            argv = ["-vv", "fetch", "ids.txt", "--out", out, "--base-url", sb.base_url]
            assert main([*argv, "--store", "s.db"]) == 0
        monkeypatch.setenv("PAYRECON_SECRET", WRONG)
        assert main([*argv, "--no-store"]) == 3

    shown.append(repr(Settings.load(base_url="echelonpay", env_file=None)))
    captured = capsys.readouterr()
    shown += [captured.out, captured.err]
    shown += [r.getMessage() for r in caplog.records]
    shown += [logging.Formatter().format(r) for r in caplog.records]
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.is_file()]
    assert len(caplog.records) > 100  # DEBUG really was on
    assert any("urllib3" in r.name for r in caplog.records)
    for text in shown:
        assert CANARY not in text and WRONG not in text
        assert "Bearer" not in text and "eyJ" not in text  # nor the tokens it buys
    for data in files:
        assert CANARY.encode() not in data and WRONG.encode() not in data
