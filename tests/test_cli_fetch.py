"""``payrecon fetch IDS --out FILE``: the table, the summary, the exit codes of interface.md."""

from __future__ import annotations

import csv
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from contract import MONEY

from payrecon.cli import main
from payrecon.sandbox import Sandbox, SandboxConfig, running
from payrecon.statuses import read_statuses

ENV = ("PAYRECON_BASE_URL", "PAYRECON_MERCHANT_CODE", "PAYRECON_SECRET", "PAYRECON_MAX_RETRIES")


@pytest.fixture
def sb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A seeded sandbox, its credentials in the environment, and a clean working directory."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    with running(SandboxConfig(final_after=0)) as sandbox:
        seed = tmp_path / "seed.csv"
        with seed.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id_payout", "amount", "currency", "status"])
            for i, status in enumerate(["SUCCESS", "FAILED", "PROCESSING", "REFUSED"]):
                w.writerow([f"C-{i}", f"{i}0.5{i}", "USD", status])
        sandbox.seed(seed)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", sandbox.merchant_code)
        monkeypatch.setenv("PAYRECON_SECRET", sandbox.secret)
        yield sandbox


def write_ids(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_fetch_to_csv_with_summary(sb: Sandbox, tmp_path: Path, capsys) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["C-0", "  C-1 ", "", "C-2", "C-3", "C-0", "GONE", "a b"])
    code = main(["fetch", str(ids), "--out", "out.csv", "--base-url", sb.base_url, "--no-store"])
    out = capsys.readouterr().out
    assert code == 0
    table = read_statuses(tmp_path / "out.csv")
    assert table["id_payout"].tolist() == ["C-0", "C-1", "C-2", "C-3", "GONE", "a b"]
    assert table["status"].tolist()[:4] == ["SUCCESS", "FAILED", "PROCESSING", "REFUSED"]
    assert table["amount"].dtype == MONEY and table.loc[1, "amount"] == Decimal("10.51")
    assert table["error"].tolist()[4:] == ["not_found", "invalid_id"]
    assert "7 id(s) listed, 6 unique" in out
    assert "SUCCESS 1" in out and "not_found 1" in out and "invalid_id 1" in out
    assert len(out.splitlines()) <= 24  # one screen


def test_fetch_csv_ids_to_parquet_with_store(sb: Sandbox, tmp_path: Path, capsys) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("note,id_payout\nx,C-0\ny,C-2\nz,C-3\n", encoding="utf-8")
    args = ["fetch", str(ids), "--out", "o/out.parquet", "--base-url", sb.base_url]
    assert main([*args, "--store", "s.db"]) == 0
    sb.reset_stats()
    assert main([*args, "--store", "s.db"]) == 0  # again: final ones come from the store
    table = read_statuses(tmp_path / "o" / "out.parquet")
    assert table["from_store"].tolist() == [True, False, True]  # C-2 is still PROCESSING
    assert sb.stats().count("GET") == 1
    assert table["amount"].dtype == MONEY


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("note,id\nx,C-0\n", "ids.csv", "id_payout"),
        (None, "missing.txt", "cannot read"),
        (b"C-0\n\xff\xfe\n", "ids.txt", "row 2"),
    ],
)
def test_bad_input_is_exit_2(
    sb: Sandbox, tmp_path: Path, capsys, content: str | bytes | None, name: str, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    code = main(["fetch", str(path), "--out", "out.csv", "--base-url", sb.base_url])
    err = capsys.readouterr().err
    assert code == 2
    assert name in err and message in err
    assert not (tmp_path / "out.csv").exists()


def test_usage_errors_are_exit_2(sb: Sandbox, tmp_path: Path, capsys) -> None:
    ids = write_ids(tmp_path / "ids.txt", ["C-0"])
    assert main(["fetch", str(ids), "--out", "out.xlsx", "--base-url", sb.base_url]) == 2
    assert main(["fetch", str(ids), "--out", "out.csv"]) == 2  # no host named anywhere
    assert "PAYRECON_BASE_URL" in capsys.readouterr().err
    assert main(["fetch", str(ids), "--out", "out.csv", "--base-url", "nowhere"]) == 2


def test_refused_credentials_exit_3_and_keep_every_id(
    sb: Sandbox, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYRECON_SECRET", "wrong-secret")
    ids = write_ids(tmp_path / "ids.txt", ["C-0", "C-1", "bad id"])
    code = main(["fetch", str(ids), "--out", "out.csv", "--base-url", sb.base_url, "--no-store"])
    err = capsys.readouterr().err
    assert code == 3 and "refused" in err
    table = read_statuses(tmp_path / "out.csv")
    assert table["error"].tolist() == ["interrupted", "interrupted", "invalid_id"]


def test_unreachable_platform_exit_3(
    sb: Sandbox, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PAYRECON_MAX_RETRIES", "0")
    ids = write_ids(tmp_path / "ids.txt", ["C-0"])
    url = f"http://127.0.0.1:{port}"
    assert main(["fetch", str(ids), "--out", "out.csv", "--base-url", url, "--no-store"]) == 3
    assert "platform" in capsys.readouterr().err


def test_read_ids_forms(tmp_path: Path) -> None:
    from payrecon.client.ids import read_ids
    from payrecon.errors import InputError

    text = write_ids(tmp_path / "a.txt", ["\ufeffP-1", "  P-2  ", "", "a b", "P-1"])
    assert read_ids(text) == ["P-1", "P-2", "a b", "P-1"]  # invalid and repeated ids are kept
    header_only = write_ids(tmp_path / "b.txt", ["id_payout", "P-3"])
    assert read_ids(header_only) == ["P-3"]  # a one-column CSV without the .csv suffix
    quoted = tmp_path / "c.csv"
    quoted.write_text('id_payout,memo\n"P-4","a, b"\n,blank\n" P-5 ",x\n', encoding="utf-8")
    assert read_ids(quoted) == ["P-4", "P-5"]
    empty = tmp_path / "d.txt"
    empty.write_text("", encoding="utf-8")
    assert read_ids(empty) == []
    with pytest.raises(InputError) as info:
        read_ids(tmp_path)  # a folder
    assert str(tmp_path) in str(info.value)


QUIET_OUT = ("--out", "out.csv", "--no-store", "--no-progress")


def test_ctrl_c_on_a_slow_platform_exits_at_once_and_keeps_every_id(tmp_path: Path) -> None:
    # Calls in flight when Ctrl-C comes take 30 s to answer; the command must not wait for them
    # after writing what it has (the process leaves without joining their threads). The bound on
    # the wait below is shorter than those 30 s: a run that waited for its calls fails it.
    import os
    import signal
    import subprocess
    import sys
    import time

    from payrecon.sandbox import Faults

    ids = write_ids(tmp_path / "ids.txt", [f"SLOW-{i}" for i in range(50)])
    with running(SandboxConfig(final_after=0, faults=Faults(latency=30.0))) as slow:
        env = {
            **os.environ,
            "PAYRECON_BASE_URL": slow.base_url,
            "PAYRECON_MERCHANT_CODE": slow.merchant_code,
            "PAYRECON_SECRET": slow.secret,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "payrecon", "-v", "fetch", str(ids), *QUIET_OUT],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        started = ""
        while "50 to fetch" not in started:  # logged as the calls (the token call first) begin
            line = proc.stderr.readline()
            assert line, f"the command ended first: {started}"
            started += line
        time.sleep(1.0)  # the token call (slow too) is in flight
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=25)
    assert proc.returncode == 130, started + err
    table = read_statuses(tmp_path / "out.csv")
    assert len(table) == 50 and set(table["error"]) == {"interrupted"}
