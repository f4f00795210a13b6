"""Scheduled runs of reconcile: --fail-on exit codes, --dated folders, the one-line log summary,
and the check options (--fee-schedule, --tolerance, --include-known)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from conftest import OFFLINE_RECONCILE

from payrecon.cli import main
from payrecon.cli._schedule import dated_folder, parse_fail_on
from payrecon.errors import EXIT_FOUND
from payrecon.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"
OFFLINE = OFFLINE_RECONCILE
LOG_LINE = re.compile(
    r"^payrecon reconcile: (\d+) rows, (\d+) exceptions \((.*)\), .*report=(\S+)$"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*OFFLINE, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("missing_on_platform,status_mismatch", EXIT_FOUND),  # both are in the sample
        ("amount_mismatch", EXIT_FOUND),
        ("test_payment", EXIT_FOUND),  # a flag: rows carrying it
        ("exceptions", EXIT_FOUND),  # any row that needs a person
        ("amount_precision", 0),  # a flag the sample does not raise
        (" fee_mismatch , pending ", EXIT_FOUND),  # spaces are fine
    ],
)
def test_fail_on(
    fail_on: str, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got, _out, err = run(capsys, "--out", str(tmp_path), "--fail-on", fail_on)
    assert got == code
    assert (tmp_path / "report.html").is_file()  # the report is written either way
    if code:
        assert "--fail-on: found" in err
    else:
        assert "--fail-on" not in err


def test_fail_on_passes_when_the_category_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the sample's one amount_mismatch is 0.45 EUR: a 0.50 EUR tolerance clears it
    out = ["--out", str(tmp_path)]
    assert run(capsys, *out, "--fail-on", "amount_mismatch")[0] == EXIT_FOUND
    assert run(capsys, *out, "--fail-on", "amount_mismatch", "--tolerance", "EUR=0.5")[0] == 0
    code, _, err = run(
        capsys, *out, "--fail-on", "amount_mismatch,fee_mismatch", "--tolerance", "EUR=0.5"
    )
    assert code == EXIT_FOUND and "found fee_mismatch=1 " in err


@pytest.mark.parametrize("bad", ["missing", "matched,bogus", ",", "not_fetched"])
def test_fail_on_unknown_word_is_a_usage_error(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, "--out", str(tmp_path / "o"), "--fail-on", bad)
    assert code == 2
    assert "--fail-on" in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_one_line_summary_is_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "--out", str(tmp_path), "--fail-on", "status_mismatch")
    assert code == EXIT_FOUND
    last = out.strip().splitlines()[-1]
    m = LOG_LINE.match(last)
    assert m, last
    assert (int(m[1]), int(m[2])) == (43, 19)
    assert "duplicate_in_ledger=2" in m[3] and "status_mismatch=1" in m[3]
    assert "matched" not in m[3]  # quiet categories are outside the brackets
    assert "matched=28" in last and "pending=4" in last
    assert Path(m[4]) == tmp_path / "report.html"


FAIL_ON_STATUS = ("--fail-on", "status_mismatch")


def test_the_command_as_a_process_keeps_its_exit_code_and_output(tmp_path: Path) -> None:
    # A scheduler sees the process (payrecon.cli.run, not main):
    # the exit code and every line printed, to a pipe, must arrive.
    proc = subprocess.run(
        [sys.executable, "-m", "payrecon", *OFFLINE, "--out", str(tmp_path), *FAIL_ON_STATUS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == EXIT_FOUND, proc.stderr
    assert proc.stdout.startswith("reconciled 40 ledger rows")
    assert LOG_LINE.match(proc.stdout.strip().splitlines()[-1])
    assert "--fail-on: found status_mismatch=1" in proc.stderr


def test_a_reader_that_stops_reading_gets_no_traceback(tmp_path: Path) -> None:
    # `payrecon reconcile ... | head -1`: the pipe closes while the command still has lines to print
    proc = subprocess.Popen(
        [sys.executable, "-m", "payrecon", *OFFLINE, "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # "ledger columns found ...", printed before the work
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    proc.wait(timeout=120)
    assert first.startswith("reconciled") or first.startswith("ledger")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode in (0, 141)  # 0 only if it had printed everything already


def test_dated_writes_a_new_folder_per_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--out", str(tmp_path), "--dated")
    assert code == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{6}Z", folder.name)
    assert {p.name for p in folder.iterdir()} >= {
        "rows.csv", "summary.csv", "exceptions.csv", "report.html", "report.xlsx",
    }  # fmt: skip
    assert f"report={folder / 'report.html'}" in out.strip().splitlines()[-1]


def test_dated_folder_name() -> None:
    when = datetime(2026, 11, 23, 9, 45, 12, tzinfo=UTC)
    assert dated_folder(Path("out"), when) == Path("out/2026-11-23T094512Z")
    assert parse_fail_on("pending, pending,matched") == ("pending", "matched")


def test_tolerance_and_fee_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "--out", str(tmp_path / "a"))
    base = pd.read_csv(tmp_path / "a" / "rows.csv", dtype=str, keep_default_na=False)
    # PO-2026-0027 is off by -0.45 EUR: inside a 0.50 EUR tolerance, outside 0.40
    for tol, category in (("EUR=0.50,*=0", "matched"), ("0.40", "amount_mismatch")):
        code, _, _ = run(capsys, "--out", str(tmp_path / tol), "--tolerance", tol)
        assert code == 0
        rows = pd.read_csv(tmp_path / tol / "rows.csv", dtype=str, keep_default_na=False)
        assert set(rows.loc[rows["id_payout"] == "PO-2026-0027", "category"]) == {category}
    assert set(base.loc[base["id_payout"] == "PO-2026-0027", "category"]) == {"amount_mismatch"}

    code, _, _ = run(
        capsys, "--out", str(tmp_path / "f"), "--fee-schedule", str(DATA / "fee_schedule.toml")
    )
    assert code == 0
    rows = pd.read_csv(tmp_path / "f" / "rows.csv", dtype=str, keep_default_na=False)
    assert rows["expected_fee"].ne("").any()
    assert "fee schedule checked" in (tmp_path / "f" / "report.html").read_text()
    about = {
        r[0].value: r[1].value
        for r in openpyxl.load_workbook(tmp_path / "f" / "report.xlsx")["About"].iter_rows()
    }
    assert about["fee schedule checked"] == "yes"


@pytest.mark.parametrize("tol", ["abc", "-1", "EUR=", "=1"])
def test_bad_tolerance_is_a_usage_error(
    tol: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--out", str(tmp_path), f"--tolerance={tol}")
    assert code == 2 and "--tolerance" in err


def test_include_known_adds_the_stores_ids(cli_sandbox: Any, tmp_path: Path) -> None:
    # PO-2026-0010 is on the platform and not in the ledger; the store learnt of it (created)
    with Store(
        tmp_path / "s.db", base_url=cli_sandbox.base_url, merchant_code=cli_sandbox.merchant_code
    ) as st:
        st.register(["PO-2026-0010"], "created")
    args = ["reconcile", str(DATA / "ledger.csv"), "--mapping", str(DATA / "mapping.toml")]
    args += ["--store", str(tmp_path / "s.db"), "--no-progress"]
    assert main([*args, "--out", "plain"]) == 0
    assert main([*args, "--out", "known", "--include-known"]) == 0
    plain = pd.read_csv(tmp_path / "plain" / "rows.csv", dtype=str)
    known = pd.read_csv(tmp_path / "known" / "rows.csv", dtype=str)
    assert "PO-2026-0010" not in set(plain["id_payout"])
    row = known[known["id_payout"] == "PO-2026-0010"]
    assert row["category"].tolist() == ["missing_in_ledger"]
    assert main([*args, "--out", "x", "--include-known", "--no-store"]) == 2


def test_large_reconciliations_skip_excel_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import payrecon.report.excel

    monkeypatch.setattr(payrecon.report.excel, "AUTO_EXCEL_ROWS", 10)  # the sample has 43 rows
    code, _, err = run(capsys, "--out", str(tmp_path / "a"))
    assert code == 0 and not (tmp_path / "a" / "report.xlsx").exists()
    assert "report.xlsx not written: 43 rows" in err  # a diagnostic: stderr
    code, _, _ = run(capsys, "--out", str(tmp_path / "b"), "--excel")
    assert code == 0 and (tmp_path / "b" / "report.xlsx").is_file()
