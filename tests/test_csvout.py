"""The fast paths of big runs give what the plain paths give: CSV text written in parallel slices,
tables read in many chunks, amounts cast in one step, statuses parsed straight into their types."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from contract import MONEY_TYPE, TEXT

from payrecon import csvout
from payrecon.amounts import fraction_fits, parse_amounts
from payrecon.core import reconcile
from payrecon.ledger import read_ledger
from payrecon.statuses import read_statuses, write_statuses

D = Decimal
DATA = Path(__file__).resolve().parent.parent / "data"
UTC = pa.timestamp("us", tz="UTC")


def _sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        read_ledger(DATA / "ledger.csv", DATA / "mapping.toml"),
        read_statuses(DATA / "statuses_sample.csv"),
    )


def _rechunked(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    """The same frame with every Arrow-backed column cut into chunks of ``size`` rows."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.array, pd.arrays.ArrowExtensionArray):
            arr = pa.chunked_array(pa.array(col.array)).combine_chunks()
            chunks = [arr.slice(i, size) for i in range(0, len(arr), size)]
            out[name] = pd.Series(
                type(col.array)(pa.chunked_array(chunks, arr.type)), index=frame.index
            )
        else:
            out[name] = col
    new = pd.DataFrame(out)
    new.attrs = frame.attrs
    return new


def test_chunked_inputs_reconcile_like_contiguous_ones(tmp_path: Path) -> None:
    led, st = _sample()
    ids = ["PO-2026-0033", "NEVER-FETCHED"]
    whole = reconcile(led, st, ids=ids)
    chunked = reconcile(_rechunked(led, 3), _rechunked(st, 4), ids=ids)
    assert any(
        isinstance(pa.array(c.array), pa.ChunkedArray) and pa.array(c.array).num_chunks > 1
        for _, c in _rechunked(st, 4).items()
    )
    pd.testing.assert_frame_equal(whole.rows, chunked.rows)
    pd.testing.assert_frame_equal(whole.summary, chunked.summary)
    a, b = whole.to_csv(tmp_path / "a"), chunked.to_csv(tmp_path / "b")
    assert a["rows"].read_bytes() == b["rows"].read_bytes()


def test_slices_write_the_file_one_pass_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = reconcile(*_sample())
    one = rec.to_csv(tmp_path / "one")["rows"].read_bytes()
    monkeypatch.setattr(csvout, "PARALLEL_ROWS", 1)
    monkeypatch.setattr(csvout, "SLICE_ROWS", 7)
    sliced = rec.to_csv(tmp_path / "sliced")["rows"].read_bytes()
    assert sliced == one
    assert one.count(b"\n") == len(rec.rows) + 1


@pytest.mark.parametrize("parallel", [False, True])
def test_values_needing_quotes_are_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    if parallel:
        monkeypatch.setattr(csvout, "PARALLEL_ROWS", 1)
        monkeypatch.setattr(csvout, "SLICE_ROWS", 2)
    table = pa.table(
        {
            "id_payout": ["A", "B,1", 'C"2', "D\n3", ""],
            "ledger_amount": pa.array([D("1.5"), D("2"), None, D("-0.05"), D("100")], MONEY_TYPE),
            "ledger_currency": ["EUR", "IDR", "EUR", None, "JPY"],
        }
    )
    path = csvout.write_table(table, tmp_path / "q.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back["id_payout"].tolist() == ["A", "B,1", 'C"2', "D\n3", ""]
    assert back["ledger_amount"].tolist() == ["1.50", "2", "", "-0.05", "100"]


def test_unquoted_when_nothing_needs_quotes(tmp_path: Path) -> None:
    table = pa.table({"a": ["x", "y"], "b": [1, 2]})
    text = csvout.write_table(table, tmp_path / "u.csv").read_text()
    assert text.splitlines()[1:] == ["x,1", "y,2"]


def test_money_text_with_the_currency_decimals_and_every_digit_otherwise() -> None:
    values = pa.array(
        [
            D("12.5"),
            D("10000"),
            D("10000.5"),
            D("0.001"),
            D("-0.05"),
            None,
            D("12345678901234567890.12"),
            D("12345678901234567890.123"),
            D("7"),
        ],
        MONEY_TYPE,
    )
    currency = pa.array(["EUR", "IDR", "IDR", "EUR", "USD", "EUR", "EUR", "EUR", None])
    assert csvout.money_text(values, currency).to_pylist() == [
        "12.50",
        "10000",
        "10000.5",
        "0.001",
        "-0.05",
        None,
        "12345678901234567890.12",
        "12345678901234567890.123",
        "7",
    ]


def test_iso_text() -> None:
    values = pa.array([0, None, 1_800_000_000_000_000], UTC)
    assert csvout.iso_text(values).to_pylist() == [
        "1970-01-01T00:00:00Z",
        None,
        "2027-01-15T08:00:00Z",
    ]
    micros = pa.array([1, 1_000_000], UTC)
    assert csvout.iso_text(micros).to_pylist() == [
        "1970-01-01T00:00:00.000001Z",
        "1970-01-01T00:00:01.000000Z",
    ]


def test_fraction_fits_beyond_int64() -> None:
    values = pa.array(
        [D("1.5"), None, D("-2"), D("0.001"), D("12345678901234567890.12"), D("1E+21")],
        MONEY_TYPE,
    )
    assert fraction_fits(values, 2).tolist() == [True, False, True, False, True, True]
    assert fraction_fits(values, 0).tolist() == [False, False, True, False, False, True]


@pytest.mark.parametrize(
    "cells",
    [
        ["1.5", "1.500000000", "-.5", "+2", "007"],  # the one-cast path
        ["1.5", "1.500000000", "-.5", "+2", "007", "EUR 3"],  # the general path
    ],
)
def test_fast_and_general_amount_paths_agree(cells: list[str]) -> None:
    money, problems = parse_amounts(
        pa.array(cells), column="a", file="f", rows=list(range(2, len(cells) + 2))
    )
    assert problems == []
    assert money.to_pylist()[:5] == [D("1.5"), D("1.5"), D("-0.5"), D("2"), D("7")]


@pytest.mark.parametrize("extra", [[], ["EUR 3"]])
def test_exponents_are_not_amounts_on_either_path(extra: list[str]) -> None:
    cells = ["1e5", "2", *extra]
    _, problems = parse_amounts(pa.array(cells), column="a", file="f", rows=[2, 3, 4][: len(cells)])
    assert [p.row for p in problems] == [2]


def test_statuses_written_then_read_keep_their_types(tmp_path: Path) -> None:
    st = read_statuses(DATA / "statuses_sample.csv")
    write_statuses(st, tmp_path / "s.csv")
    back = read_statuses(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(st, back)


def test_statuses_in_loose_forms_still_read(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "id_payout,status,amount,currency,created_at,is_test,http_status,error\n"
        "A,SUCCESS,1.50,EUR,2026-10-01T10:00:00,yes,200,\n"  # naive time, 'yes'
        "B,,,,,,410,not_found\n"
    )
    st = read_statuses(path)
    assert st["amount"].tolist()[0] == D("1.5")
    assert st["is_test"].tolist()[0] is True
    assert str(st["created_at"].iloc[0]) == "2026-10-01 10:00:00+00:00"
    assert st["error"].tolist() == ["", "not_found"]


def test_text_reused_from_agreeing_columns_is_the_text_itself() -> None:
    ledger = [D("12.5"), D("10000"), D("7"), D("0.001"), None, D("3"), D("1")]
    platform = [D("12.5"), D("10000"), D("7"), D("0.001"), D("4"), D("3.10"), D("1")]
    table = pa.table(
        {
            "ledger_amount": pa.array(ledger, MONEY_TYPE),
            "platform_amount": pa.array(platform, MONEY_TYPE),
            "amount_diff": pa.array([D(0), D(0), D(0), D(0), None, D("-0.1"), D(0)], MONEY_TYPE),
            "ledger_currency": ["EUR", "IDR", None, "EUR", None, "EUR", "JPY"],
            "platform_currency": ["EUR", "IDR", "EUR", "EUR", "USD", "EUR", "EUR"],
        }
    )
    text = csvout.text_table(table)
    for money, cur in (
        ("ledger_amount", "ledger_currency"),
        ("platform_amount", "platform_currency"),
        ("amount_diff", "ledger_currency"),
    ):
        plain = csvout.money_text(table[money].combine_chunks(), table[cur].combine_chunks())
        assert text[money].to_pylist() == plain.to_pylist()
    assert text["platform_amount"].to_pylist()[:3] == ["12.50", "10000", "7.00"]
    assert text["amount_diff"].to_pylist() == ["0.00", "0", "0", "0.00", None, "-0.10", "0"]


@pytest.mark.parametrize(
    ("ledger_ids", "status_ids", "extra"),
    [
        (["a", "b", "a", "c"], ["a", "b", "c"], []),
        (["a", "b", "a", "c"], ["a", "b", "c", "x", "b", "x", "y"], ["c", "x", "z", "a", "w"]),
        (["a", "b"], ["a", "b", "a", "a"], ["q"]),
        (["a", "b"], ["b", "a", "x"], []),  # not in first-seen order: the general path
        (["a", "b", "c"], ["a", "b"], ["c"]),  # a ledger id the table lacks
        ([], ["x"], ["y"]),
    ],
)
def test_match_of_a_fetched_table_is_the_general_match(
    monkeypatch: pytest.MonkeyPatch,
    ledger_ids: list[str],
    status_ids: list[str],
    extra: list[str],
) -> None:
    from payrecon.core import _match as rc

    args = (
        pa.chunked_array([pa.array(ledger_ids[:1], TEXT), pa.array(ledger_ids[1:], TEXT)]),
        pa.array(status_ids, TEXT),
        pa.array(extra, TEXT),
    )
    fast = rc.match_ids(*args)
    monkeypatch.setenv("PAYRECON_SPEED_OFF", "aligned_match")
    slow = rc.match_ids(*args)
    assert fast.status_row.tolist() == slow.status_row.tolist()
    assert fast.unnamed_rows.tolist() == slow.unnamed_rows.tolist()
    assert fast.new_ids.to_pylist() == slow.new_ids.to_pylist()
    assert fast.ledger_count[fast.ledger_codes].tolist() == (
        slow.ledger_count[slow.ledger_codes].tolist()
    )
    assert (np.diff(fast.ledger_codes) > 0).tolist() == (np.diff(slow.ledger_codes) > 0).tolist()
