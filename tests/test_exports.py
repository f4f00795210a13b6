"""Real ledger exports, read exactly: every payout row and amount, every row set aside and why.

The fixtures in tests/fixtures/exports/ copy the layouts that finance tools really write
(QuickBooks Online, Xero, SAP, ING, Sparkasse, DKB, PayPal, Starling, Odoo and an Indonesian
export; README.md there says which facts each reproduces and where they come from). Each is
read three ways: with the mapping a user would write, with only its [columns] (plus the
[rows] rules where the file mixes other money movements or hides the id in free text), and
with no mapping at all. All three must give the expectation in NAME.expected.json;
"expected_without_keep" replaces it for the read without a mapping where the user's
[rows] keep changes the outcome.
"""

from __future__ import annotations

import codecs
import importlib.util
import json
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"
FIXTURES = sorted(p.name.removesuffix(".expected.json") for p in EXPORTS.glob("*.expected.json"))
MODES = ("mapping", "columns", "none")

#: (fixture, mode) pairs a careful human could not read right either; none so far. Each entry
#: says why; it is marked xfail(strict=False), never skipped.
HUMAN_CANNOT_TELL: dict[tuple[str, str], str] = {}

Row = tuple[Any, ...]


def _expected(name: str, mode: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXPORTS / f"{name}.expected.json").read_text("utf-8"))
    if mode == "none" and "expected_without_keep" in data:
        return {**data, **data["expected_without_keep"]}
    return data


def _mapping(name: str, mode: str) -> str | None:
    if mode == "none":
        return None
    suffix = ".mapping.toml" if mode == "mapping" else ".columns.toml"
    return str(EXPORTS / f"{name}{suffix}")


def _cases() -> list[Any]:
    cases = []
    for name in FIXTURES:
        for mode in MODES:
            marks = []
            if (name, mode) in HUMAN_CANNOT_TELL:
                reason = HUMAN_CANNOT_TELL[(name, mode)]
                marks.append(pytest.mark.xfail(strict=False, reason=reason))
            cases.append(pytest.param(name, mode, id=f"{name}-{mode}", marks=marks))
    return cases


def _magnitude(value: object) -> Decimal:
    """Payouts booked as money out compare by magnitude; the digits must match exactly."""
    return abs(Decimal(str(value)))


def _diff(what: str, name: str, mode: str, want: list[Row], got: list[Row]) -> str:
    missing = [r for r in want if r not in got]
    extra = [r for r in got if r not in want]
    lines = [f"{name} read with {mode}: {what} differ"]
    lines += [f"  expected, not read: {r}" for r in missing]
    lines += [f"  read, not expected: {r}" for r in extra]
    if not missing and not extra:
        lines.append(f"  same rows, other order: expected {want}, read {got}")
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "mode"), _cases())
def test_export_is_read_exactly(name: str, mode: str) -> None:
    from payrecon import read_ledger
    from payrecon.ledger import set_aside

    expected = _expected(name, mode)
    ledger = read_ledger(EXPORTS / expected["file"], mapping=_mapping(name, mode))
    aside = set_aside(ledger)

    ids = ledger["id_payout"].astype(str)
    paid = ledger[ids != ""]
    unpaid = ledger[ids == ""]

    want_payouts = [
        (p["source_row"], p["id_payout"], Decimal(p["amount"]), p["currency"])
        for p in expected["payouts"]
    ]
    got_payouts = [
        (int(r.source_row), str(r.id_payout), _magnitude(r.amount), str(r.currency))
        for r in paid.itertuples()
    ]
    assert got_payouts == want_payouts, _diff("payouts", name, mode, want_payouts, got_payouts)

    want_unpaid = [(p["source_row"], Decimal(p["amount"])) for p in expected["no_payout_id"]]
    got_unpaid = [(int(r.source_row), _magnitude(r.amount)) for r in unpaid.itertuples()]
    assert got_unpaid == want_unpaid, _diff(
        "rows with money and no payout id", name, mode, want_unpaid, got_unpaid
    )

    want_aside = [(s["source_row"], s["reason"]) for s in expected["set_aside"]]
    got_aside = [(int(r.source_row), str(r.reason)) for r in aside.itertuples()]
    assert got_aside == want_aside, _diff("rows set aside", name, mode, want_aside, got_aside)

    blank_lines = [int(r.source_row) for r in aside.itertuples() if not str(r.line).strip()]
    assert not blank_lines, f"{name}/{mode}: set-aside rows without their raw line: {blank_lines}"
    assert len(ledger) + len(aside) == expected["rows_read"], (
        f"{name}/{mode}: rows read {expected['rows_read']} != "
        f"{len(ledger)} ledger rows + {len(aside)} set aside"
    )


# ------------------------------------------------- the fixtures themselves, no reader involved


def _decode(path: Path, mapping: dict[str, Any]) -> str:
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return raw.decode("utf-16")
    if raw.startswith(codecs.BOM_UTF8):
        return raw.decode("utf-8-sig")
    return raw.decode(mapping.get("parse", {}).get("encoding", "utf-8"))


def _is_row(line: str) -> bool:
    """A line counts unless it is blank or every cell in it is empty ('""', ',,,')."""
    return bool(line.strip().strip('";,|\t'))


@pytest.mark.parametrize("name", FIXTURES)
def test_expectation_accounts_for_every_line(name: str) -> None:
    """rows_read = every non-empty line but the header; each line is named once, in file order."""
    expected = json.loads((EXPORTS / f"{name}.expected.json").read_text("utf-8"))
    mapping = tomllib.loads((EXPORTS / f"{name}.mapping.toml").read_text("utf-8"))
    path = EXPORTS / expected["file"]
    if path.suffix == ".xlsx":
        sheet = pd.read_excel(path, header=None, dtype=object)
        sheet_rows = sheet.notna().any(axis=1)
        numbers = [int(i) + 1 for i in sheet.index[sheet_rows]]
    else:
        lines = _decode(path, mapping).splitlines()
        numbers = [n for n, line in enumerate(lines, 1) if _is_row(line)]
    header = expected["header_row"]
    assert mapping["parse"]["header_row"] == header
    assert header in numbers
    for variant in [expected, expected.get("expected_without_keep", expected)]:
        named = sorted(
            [p["source_row"] for p in variant["payouts"]]
            + [p["source_row"] for p in variant["no_payout_id"]]
            + [s["source_row"] for s in variant["set_aside"]]
        )
        assert named == [n for n in numbers if n != header]
        assert variant["rows_read"] == len(named)
        assert all(
            s["reason"] == "preamble" for s in variant["set_aside"] if s["source_row"] < header
        )


def test_generator_writes_the_committed_bytes(tmp_path: Path) -> None:
    """make_exports.py is the source of the fixtures: rerunning it changes nothing."""
    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS / "make_exports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    module.main(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(
        p.name for p in EXPORTS.iterdir() if p.is_file() and p.suffix not in {".py", ".md", ".pyc"}
    )
    assert written == committed
    changed = [n for n in written if (tmp_path / n).read_bytes() != (EXPORTS / n).read_bytes()]
    assert not changed, f"rerun make_exports.py and commit: {changed}"
