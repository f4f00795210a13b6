"""Messy amount text parses exactly, or is reported by row and column; never via a float."""

from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payrecon.amounts import parse_amount, parse_amounts


@pytest.mark.parametrize(
    ("text", "kw", "expected"),
    [
        ("1.234.567,89", {"decimal": ","}, "1234567.89"),
        ("1 234,56", {"decimal": ","}, "1234.56"),
        ("1\u00a0234,5", {"decimal": ","}, "1234.5"),
        ("1\u202f234.5", {}, "1234.5"),
        ("1,234,567.89", {}, "1234567.89"),
        ("1'234.50", {}, "1234.50"),
        ("EUR 12.50", {}, "12.50"),
        ("12 EUR", {}, "12"),
        ("€12", {}, "12"),
        ("$ -3.10", {}, "-3.10"),
        ("(12.50)", {}, "-12.50"),
        ("12.50-", {}, "-12.50"),
        ("\u22125", {}, "-5"),
        ("-0", {}, "0"),
        ("+3", {}, "3"),
        (".5", {}, "0.5"),
        ("5.", {}, "5"),
        ("0012", {}, "12"),
        ("1.23456789", {}, "1.23456789"),
        ("-1.234", {"decimal": ","}, "-1234"),
        ("1.234", {"decimal": ",", "thousands": "."}, "1234"),
        ("  7,5 ", {"decimal": ","}, "7.5"),
    ],
)
def test_messy_amounts_parse_exactly(text: str, kw: dict[str, str], expected: str) -> None:
    assert parse_amount(text, **kw) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "1,23",
        "abc",
        "--5",
        "(5",
        "5)",
        "EUR5USD",
        "1.123456789",
        "-(5)",
        "+-5",
        "1..2",
        "12a",
        "1" * 23,
        "1,2345",
        "1e5",
        "0x10",
        "bad0",
        "12 eur",
    ],
)
def test_unreadable_amounts_are_problems(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)


def test_problems_name_row_and_column_and_blanks_count() -> None:
    values = pa.array(["1.00", "x", "", None, "2,5,"])
    money, problems = parse_amounts(values, column="Amount", file="l.csv", rows=[2, 3, 4, 5, 6])
    assert [(p.row, p.column) for p in problems] == [
        (3, "Amount"),
        (4, "Amount"),
        (5, "Amount"),
        (6, "Amount"),
    ]
    assert "not an amount: 'x'" in problems[0].message
    assert problems[1].message == "amount is blank"
    assert money.to_pylist()[0] == Decimal("1.00")
    assert money.null_count == 4


def test_optional_column_keeps_blanks_as_missing() -> None:
    money, problems = parse_amounts(
        pa.array(["", "1"]), column="Fee", file="f", rows=[2, 3], required=False
    )
    assert problems == []
    assert money.to_pylist() == [None, Decimal("1")]


def test_typed_numbers_read_by_their_exact_text() -> None:
    money, _ = parse_amounts(
        pa.array([0.1, 1234.56, None]), column="a", file="f", rows=[1, 2, 3], required=False
    )
    assert money.to_pylist() == [Decimal("0.1"), Decimal("1234.56"), None]
    money, _ = parse_amounts(
        pa.array([Decimal("1.10")], pa.decimal128(10, 2)), column="a", file="f", rows=[1]
    )
    assert money.to_pylist() == [Decimal("1.10")]


@settings(max_examples=200, deadline=None)
@given(
    value=st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), places=2),
    style=st.sampled_from(["plain", "eu", "us", "paren", "trailing", "code"]),
)
def test_any_amount_written_any_way_reads_back_exactly(value: Decimal, style: str) -> None:
    sign, body = ("-" if value < 0 else ""), abs(value)
    us = f"{body:,.2f}"
    eu = us.replace(",", " ").replace(".", ",").replace(" ", ".")
    if style == "plain":
        text, kw = f"{value:.2f}", {}
    elif style == "eu":
        text, kw = sign + eu, {"decimal": ","}
    elif style == "us":
        text, kw = sign + us, {}
    elif style == "paren":
        text, kw = (f"({us})" if sign else us), {}
    elif style == "trailing":
        text, kw = eu + sign, {"decimal": ","}
    else:
        text, kw = f"EUR {sign}{us}", {}
    assert parse_amount(text, **kw) == value
