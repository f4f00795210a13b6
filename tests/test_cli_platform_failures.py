"""When the platform is why a run fails, exit 3; when a signal stops it, keep what it fetched.

The command runs as its own process (``python -m payrecon``) where the exit code and the signal
handling are what is tested; the platform is the sandbox, over loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_helpers import stored_rows, wait_for_stored

from payrecon.cli import main
from payrecon.sandbox import Faults, Sandbox, SandboxConfig, running
from payrecon.statuses import read_statuses
from payrecon.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"


def seed(sb: Sandbox, folder: Path, n: int) -> list[str]:
    ids = [f"SIG-{i:04d}" for i in range(n)]
    path = folder / "seed.csv"
    path.write_text(
        "id_payout,amount,currency,status\n"
        + "".join(f"{pid},{i + 1}.50,USD,SUCCESS\n" for i, pid in enumerate(ids))
    )
    sb.seed(path)
    return ids


def command(sb: Sandbox, *args: str, cwd: Path, **env: str) -> subprocess.Popen[str]:
    environ = {
        **os.environ,
        "PAYRECON_BASE_URL": sb.base_url,
        "PAYRECON_MERCHANT_CODE": sb.merchant_code,
        "PAYRECON_SECRET": sb.secret,
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "payrecon", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Sandbox]:
    """Answers take 0.2 s: a run of 1000 ids lasts long enough to be stopped part-way."""
    with running(SandboxConfig(final_after=0, faults=Faults(latency=0.2))) as sb:
        yield sb


# --------------------------------------------------------------------------- exit 3


@pytest.mark.parametrize("cmd", ["fetch", "reconcile"])
def test_token_endpoint_failing_every_time_is_exit_3(tmp_path: Path, cmd: str) -> None:
    with running(SandboxConfig(final_after=0, faults=Faults(error_500_rate=1.0))) as sb:
        ids = seed(sb, tmp_path, 3)
        (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
        args = (
            ["fetch", "ids.txt", "--out", "out.csv"]
            if cmd == "fetch"
            else ["reconcile", str(DATA / "ledger.csv"), "--out", "rec"]
        )
        proc = command(sb, *args, "--no-progress", cwd=tmp_path, PAYRECON_MAX_RETRIES="1")
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert "payrecon: platform:" in err and "/auth-tokens" in err
    if cmd == "fetch":  # the table is still written, every id in it
        table = read_statuses(tmp_path / "out.csv")
        assert table["id_payout"].tolist() == ids and set(table["error"]) == {"interrupted"}
    else:
        assert not (tmp_path / "rec" / "report.html").exists()


# --------------------------------------------------------------------------- SIGTERM


def test_sigterm_mid_fetch_writes_the_table_keeps_the_store_and_exits_143(
    slow: Sandbox, tmp_path: Path
) -> None:
    ids = seed(slow, tmp_path, 1000)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    store = tmp_path / "s.db"
    proc = command(
        slow, "fetch", "ids.txt", "--out", "out.csv", "--store", str(store), cwd=tmp_path
    )
    wait_for_stored(proc, store, 20)
    proc.send_signal(signal.SIGTERM)  # what cron timeouts, systemd and docker stop send
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "interrupted" in err
    table = read_statuses(tmp_path / "out.csv")
    assert table["id_payout"].tolist() == ids  # every id, in order
    fetched = table[table["error"] == ""]
    assert 20 <= len(fetched) < len(ids)
    assert set(table.loc[table["error"] != "", "error"]) == {"interrupted"}
    with Store.open_readonly(store) as kept:  # every answer received is in the store too
        assert set(fetched["id_payout"]) <= set(kept.statuses()["id_payout"])


def test_sigterm_mid_reconcile_keeps_the_store_and_writes_no_report(
    slow: Sandbox, tmp_path: Path
) -> None:
    ids = seed(slow, tmp_path, 1000)
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "id_payout,amount,currency\n"
        + "".join(f"{pid},{i + 1}.50,USD\n" for i, pid in enumerate(ids))
    )
    store = tmp_path / "s.db"
    proc = command(
        slow, "reconcile", str(ledger), "--out", "rec", "--store", str(store), cwd=tmp_path
    )
    wait_for_stored(proc, store, 20)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "no report written" in err and str(store) in err
    assert not (tmp_path / "rec" / "report.html").exists()
    assert stored_rows(store) >= 20


# --------------------------------------------------------------------------- odd details


ODD = {
    # Valid RFC 3339, in forms the guide does not show: all must be read.
    "ODD-LOWER": {"process": {"createdAt": "2024-05-02t08:15:00.5z"}},
    "ODD-OFFSET": {"process": {"createdAt": "2024-05-02T15:15:00+07:00"}},
    "ODD-SPACE": {"process": {"createdAt": "2024-05-02 08:15:00.123456789Z"}},
    "ODD-LEAP": {"process": {"createdAt": "2016-12-31T23:59:60Z"}},
    # Not readable: that payout's row says so; the others are unharmed.
    "BAD-WHEN": {"process": {"createdAt": "yesterday"}},
    "BAD-AMOUNT": {"paymentRequested": {"money": {"amount": "12.50"}}},
    "BAD-STATUS": {"process": {"status": None}},
}


def test_a_detail_the_parser_cannot_read_is_that_payouts_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    faults = Faults(detail_patches=ODD)
    with running(SandboxConfig(final_after=0, faults=faults)) as sb:
        seed_file = tmp_path / "seed.csv"
        seed_file.write_text(
            "id_payout,amount,currency,status\nPLAIN,10.00,USD,SUCCESS\n"
            + "".join(f"{pid},10.00,USD,SUCCESS\n" for pid in ODD)
        )
        sb.seed(seed_file)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", sb.merchant_code)
        monkeypatch.setenv("PAYRECON_SECRET", sb.secret)
        (tmp_path / "ids.txt").write_text("\n".join(["PLAIN", *ODD]) + "\n")
        code = main(["fetch", "ids.txt", "--out", "out.csv", "--base-url", sb.base_url])
    assert code == 0, capsys.readouterr().err
    table = read_statuses(tmp_path / "out.csv").set_index("id_payout")
    assert table.loc["PLAIN", "status"] == "SUCCESS" and table.loc["PLAIN", "error"] == ""
    when = table["created_at"]
    assert when["ODD-LOWER"] == datetime(2024, 5, 2, 8, 15, 0, 500000, tzinfo=UTC)
    assert when["ODD-OFFSET"] == datetime(2024, 5, 2, 8, 15, tzinfo=UTC)
    assert when["ODD-SPACE"] == datetime(2024, 5, 2, 8, 15, 0, 123456, tzinfo=UTC)
    assert when["ODD-LEAP"] == datetime(2017, 1, 1, tzinfo=UTC)
    for pid in ("BAD-WHEN", "BAD-AMOUNT", "BAD-STATUS"):
        assert table.loc[pid, "error"] == "bad_response" and table.loc[pid, "http_status"] == 200
    assert table.loc["ODD-LOWER", "amount"] == Decimal("10.00")
    with Store.open_readonly(tmp_path / "payrecon.db") as store:
        kept = store.unreadable_answers().set_index("id_payout")["body"]
    assert set(kept.index) == {"BAD-WHEN", "BAD-AMOUNT", "BAD-STATUS"}
    assert '"createdAt":"yesterday"' in kept["BAD-WHEN"].replace(" ", "")
    assert '"amount":"12.50"' in kept["BAD-AMOUNT"].replace(" ", "")
