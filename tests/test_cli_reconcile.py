"""payrecon reconcile: offline from a statuses table, and over loopback HTTP against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import SAMPLE_COUNTS

from payrecon.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE = ["reconcile", str(DATA / "ledger.csv"), "--mapping", str(DATA / "mapping.toml")]

EXPECTED = SAMPLE_COUNTS  # data/ledger.csv against data/statuses_sample.csv


def offline(ledger: Path, out: Path, *args: str) -> int:
    """``payrecon reconcile LEDGER --statuses <the sample statuses> --out OUT ARGS...``"""
    statuses = str(DATA / "statuses_sample.csv")
    return main(["reconcile", str(ledger), "--statuses", statuses, "--out", str(out), *args])


def _counts(out: Path) -> dict[str, int]:
    summary = pd.read_csv(out / "summary.csv", dtype=str)
    part = summary[summary["section"] == "category"]
    return {k: int(v) for k, v in zip(part["key"], part["count"], strict=True) if int(v)}


def test_offline_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main([*SAMPLE, "--statuses", str(DATA / "statuses_sample.csv"), "--out", str(out)])
    assert code == 0  # discrepancies are not an error
    assert {p.name for p in out.iterdir()} >= {"rows.csv", "summary.csv", "report.html"}
    assert _counts(out) == {k: v for k, v in EXPECTED.items() if v}
    text = capsys.readouterr().out
    assert "duplicate_in_ledger" in text and "need a person" in text
    assert "found by name" not in text  # the mapping named the columns
    rows = pd.read_csv(out / "rows.csv", dtype=str, keep_default_na=False)
    assert rows["source_row"].tolist()[:3] == ["2", "3", "4"]
    assert set(rows.loc[rows["id_payout"] == "PO-2026-0027", "amount_diff"]) == {"-0.45"}


def test_detected_columns_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "l.csv"
    ledger.write_text("idPayout;Amount;Currency\nPO-2026-0026;250,00;EUR\n")
    code = offline(ledger, tmp_path / "o")
    assert code == 0
    err = capsys.readouterr().err  # diagnostics: stderr, beside the results on stdout
    assert "ledger columns found: id_payout = 'idPayout', amount = 'Amount'" in err
    assert "decimal comma" in err


def test_ids_file_adds_payouts_the_ledger_lacks(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("PO-2026-0033\nNEVER-FETCHED\n")
    out = tmp_path / "o"
    assert (
        offline(
            DATA / "ledger.csv", out, "--mapping", str(DATA / "mapping.toml"), "--ids", str(ids)
        )
        == 0
    )
    rows = pd.read_csv(out / "rows.csv", dtype=str, keep_default_na=False)
    last = rows[rows["id_payout"] == "NEVER-FETCHED"]
    assert last["issues"].tolist() == ["fetch_error;not_fetched"]


@pytest.mark.parametrize(
    ("ledger_text", "message"),
    [
        ("id_payout,amount\nA,1\n,2\nC,x\n", "row 4, column 'amount': not an amount: 'x'"),
        ("id_payout,amount\nA,1\nC,x\n", "row 3, column 'amount': not an amount: 'x'"),
        ("id_payout,sum_due\nA,1\n", "cannot tell which column is amount"),
        ("id_payout,amount\nA,1,2\n", "row 2: more fields than the header's 2 columns"),
    ],
)
def test_bad_ledgers_exit_2_naming_the_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger_text: str, message: str
) -> None:
    ledger = tmp_path / "l.csv"
    ledger.write_text(ledger_text)
    code = offline(ledger, tmp_path / "o")
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and str(ledger) in err
    assert not (tmp_path / "o").exists()


def test_missing_statuses_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*SAMPLE, "--statuses", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "statuses table not found" in capsys.readouterr().err


def test_fetches_through_the_sandbox(cli_sandbox: Any, tmp_path: Path) -> None:
    out = tmp_path / "fetched"
    code = main([*SAMPLE, "--out", str(out), "--no-store", "--no-progress"])
    assert code == 0
    rows = pd.read_csv(out / "rows.csv", dtype=str, keep_default_na=False)
    lines = len((DATA / "ledger.csv").read_text().splitlines())
    aside = pd.read_csv(out / "set_aside.csv", dtype=str, keep_default_na=False)
    assert list(aside.columns) == ["source_row", "reason", "line"] and aside.empty
    assert len(rows) == lines - 1  # no --ids: only the ledger's ids were asked for
    by_id = dict(zip(rows["id_payout"], rows["category"], strict=False))
    assert by_id["PO-2026-0099"] == "missing_on_platform"  # 410 Gone over real HTTP
    assert by_id["PO 2026/0100"] == "fetch_error"  # invalid_id: never sent
    assert by_id["PO-2026-0027"] == "amount_mismatch"
    assert by_id["PO-2026-0040"] == "currency_mismatch"
    assert by_id["PO-2026-0004"] == "status_mismatch"
    assert by_id["PO-2026-0026"] == "duplicate_in_ledger"
    assert rows.loc[rows["id_payout"] == "PO 2026/0100", "error"].tolist() == ["invalid_id"]
    assert not Path("payrecon.db").exists()
