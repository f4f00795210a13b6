"""Every bad input and output ends in exit 2 and one line naming the file, before any platform call.

Each test checks the exit code, the message (what, and where: file, row, column), that nothing
reached the platform when the input was wrong, and that nothing already on disk was lost.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from payrecon.cli import main
from payrecon.sandbox import Sandbox, SandboxConfig, running

DATA = Path(__file__).resolve().parent.parent / "data"
LEDGER = str(DATA / "ledger.csv")
STATUSES = str(DATA / "statuses_sample.csv")


@pytest.fixture
def sb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox named by the environment, seeded from data/payouts.csv, in a clean folder."""
    monkeypatch.chdir(tmp_path)
    with running(SandboxConfig(final_after=0)) as sandbox:
        sandbox.seed(DATA / "payouts.csv")
        monkeypatch.setenv("PAYRECON_BASE_URL", sandbox.base_url)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", sandbox.merchant_code)
        monkeypatch.setenv("PAYRECON_SECRET", sandbox.secret)
        sandbox.reset_stats()
        yield sandbox


def calls(sb: Sandbox) -> int:
    """Requests the sandbox saw, of any kind."""
    return sum(sb.stats().requests.values())


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def ids_file(tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("PO-2026-0001\nPO-2026-0002\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- fetch --out


@pytest.mark.parametrize("case", ["parent is a file", "out is a folder"])
def test_fetch_out_that_cannot_be_written_fails_before_any_call(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    blocker = tmp_path / "report.txt"
    blocker.write_text("an earlier report\n")
    folder = tmp_path / "tables.csv"  # a folder, whatever its name says
    folder.mkdir()
    out = blocker / "out.csv" if case == "parent is a file" else folder
    code = main(["fetch", str(ids_file(tmp_path)), "--out", str(out), "--no-store"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2
    assert "--out" in line and str(out) in line
    assert ("is a file" in line) if case == "parent is a file" else ("is a folder" in line)
    assert calls(sb) == 0  # found before the first call, not after every id was fetched
    assert blocker.read_text() == "an earlier report\n" and list(folder.iterdir()) == []


def test_fetch_keeps_the_previous_table_until_the_new_one_is_whole(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("the previous table\n")
    # A bad ids file: the run stops before writing, and the previous table is still there.
    bad = tmp_path / "bad.csv"
    bad.write_text("note,id\nx,1\n")
    assert main(["fetch", str(bad), "--out", str(out), "--no-store"]) == 2
    assert out.read_text() == "the previous table\n"
    assert main(["fetch", str(ids_file(tmp_path)), "--out", str(out), "--no-store"]) == 0
    assert pd.read_csv(out)["id_payout"].tolist() == ["PO-2026-0001", "PO-2026-0002"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


# --------------------------------------------------------------------------- ids files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00" * 300_000, "binary data"),
        (b"PO-1\n" + b"\x00" * 100_000, "binary data"),
        ("\ufeffid_payout\nPO-1\n".encode("utf-16"), "UTF-16"),
        (b"PO-1\nPO-2\n\xff\xfe\n", "row 3"),
    ],
)
def test_ids_file_that_is_not_text_exits_2(
    sb: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(content)
    code = main(["fetch", str(ids), "--out", "out.csv"])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and str(ids) in line and message in line
    assert calls(sb) == 0 and not (tmp_path / "out.csv").exists()


def test_a_huge_line_or_too_many_ids_is_refused_with_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payrecon.client import ids as ids_module
    from payrecon.errors import InputError

    monkeypatch.setattr(ids_module, "MAX_LINE_BYTES", 4096)
    one_line = tmp_path / "one-line.txt"
    one_line.write_bytes(b"x" * 3_000_000)  # no newline anywhere: a 3 MB "line"
    with pytest.raises(InputError, match=r"row 1: longer than 4096 bytes"):
        ids_module.read_ids(one_line)
    monkeypatch.setattr(ids_module, "MAX_IDS", 1000)
    many = tmp_path / "many.csv"
    many.write_text("id_payout\n" + "".join(f"P-{i}\n" for i in range(5000)))
    with pytest.raises(InputError, match="more than 1,000 ids"):
        ids_module.read_ids(many)


def test_a_binary_stream_is_refused_after_reading_its_start(tmp_path: Path) -> None:
    # A named pipe that would give NULs for ever: reading it whole would never end (and fill
    # memory); refusing it from its first bytes ends at once. The writer stops when we close.
    from payrecon.client.ids import read_ids
    from payrecon.errors import InputError

    fifo = tmp_path / "ids.fifo"
    os.mkfifo(fifo)
    stop = threading.Event()

    def endless() -> None:
        try:
            with fifo.open("wb") as fh:
                # the ids and the first NULs in one write, so the first bytes the reader gets
                # hold both (two writes let it see only the ids first, under load)
                fh.write(b"PO-1\nPO-2\n" + b"\x00" * 65536)
                while not stop.is_set():
                    fh.write(b"\x00" * 65536)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    try:
        # A pipe hands over what was written so far, so the first read may hold only the ids
        # (seen under load); then row 3 is refused for its length instead. Either way the
        # reading stops at row 3, which is the point.
        with pytest.raises(InputError, match=r"ids.fifo: .*row 3: (NUL byte|longer than)"):
            read_ids(fifo)
    finally:
        stop.set()
        writer.join(timeout=10)
    assert not writer.is_alive()


# --------------------------------------------------------------------------- reconcile


def test_reconcile_out_naming_a_file_fails_before_any_call(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "report"
    taken.write_text("keep me\n")
    code = main(["reconcile", LEDGER, "--out", str(taken)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "--out" in line and "is a file" in line
    assert taken.read_text() == "keep me\n"
    assert calls(sb) == 0


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 40)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("ledger.csv", lambda p: p.write_bytes((DATA / "ledger.csv").read_bytes()), "id_payout"),
        ("other.csv", lambda p: p.write_text("payout,state\nPO-1,paid\n"), "id_payout"),
        ("garbage.csv", _garbage, "binary data"),
        ("empty.csv", lambda p: p.write_bytes(b""), "empty file"),
        ("missing.csv", lambda p: None, "not found"),
        ("fake.parquet", lambda p: p.write_text("id_payout,status\n"), "not a Parquet file"),
        (
            "typed.csv",
            lambda p: p.write_text("id_payout,status,amount\nA,SUCCESS,1.5\nB,SUCCESS,12,50\n"),
            "row 3: 4 cells",
        ),
        (
            "cell.csv",
            lambda p: p.write_text("id_payout,status,amount\nA,SUCCESS,1.5\nB,SUCCESS,abc\n"),
            "row 3, column 'amount'",
        ),
        (
            "when.csv",
            lambda p: p.write_text("id_payout,status,created_at\nA,SUCCESS,last week\n"),
            "row 2, column 'created_at'",
        ),
    ],
)
def test_reconcile_statuses_that_are_not_a_statuses_table_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, make, message: str
) -> None:
    path = tmp_path / name
    make(path)
    out = tmp_path / "out"
    code = main(["reconcile", LEDGER, "--statuses", str(path), "--out", str(out)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and str(path) in line and message in line, line
    assert not (out / "report.html").exists()


@pytest.mark.parametrize("option", ["--mapping", "--fee-schedule"])
@pytest.mark.parametrize("content", [b"\x00" * 5000, bytes(range(128, 256)) * 10])
def test_binary_toml_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, content: bytes
) -> None:
    path = tmp_path / "odd.toml"
    path.write_bytes(content)
    out = tmp_path / "out"
    code = main(["reconcile", LEDGER, "--statuses", STATUSES, "--out", str(out), option, str(path)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and str(path) in line
    assert "binary data" in line or "not UTF-8" in line
    assert not (out / "report.html").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e999999999", "does not fit an amount"),
        ("0.000000001", "does not fit an amount"),
        ("IDR=1,USD=1e30", "does not fit an amount"),
        ("-1", "non-negative"),
        ("NaN", "non-negative"),
        ("lots", "not an amount"),
    ],
)
def test_tolerance_that_is_no_amount_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    out = tmp_path / "out"
    code = main(
        ["reconcile", LEDGER, "--statuses", STATUSES, "--out", str(out), "--tolerance", value]
    )
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "--tolerance" in line and message in line
    assert not out.exists()  # refused before the output folder was even made


# --------------------------------------------------------------------------- callbacks


def test_callbacks_port_in_use_exits_2_before_any_call(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["callbacks", "--port", str(port), "--store", str(tmp_path / "s.db")])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and f"127.0.0.1:{port}" in line and "cannot listen" in line
    assert calls(sb) == 0
