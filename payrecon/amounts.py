"""Messy amount text from ledger exports, parsed exactly into the money dtype.

Ledger exports write money in every local habit: ``1.234.567,89``, ``1 234,56``, ``EUR 12.50``,
``(12.50)`` and ``12.50-`` for negatives, ``€12``, ``−5`` with a Unicode minus. This module turns a
whole column of such text into ``decimal128(30, 8)`` in a handful of vectorised pyarrow calls (one
regular expression extracts sign, currency and number; the number is normalised to ``1234.56`` and
cast), so a million cells take well under a second and no value ever passes through a binary float.

A cell that does not read as a number is not guessed at: it becomes a
:class:`~payrecon.errors.Problem`
naming its row and column, and the caller decides (``read_ledger`` stops the load with all of them).
The rules, strictly:

* whitespace anywhere (spaces, no-break and thin spaces) is ignored: it is a grouping habit;
* a currency code (three capital letters) or symbol may stand before or after the number;
* a sign may be a leading ``-``/``+``/``−``, a trailing ``-``, or parentheses around the whole;
  two of them on one cell is a problem rather than a double negative;
* ``decimal`` is the decimal mark (``.`` or ``,``); ``thousands`` the grouping mark. When
  ``thousands`` is not given, the other of ``.``/``,`` (and ``'``) is accepted as a grouping mark
  only in well-formed groups of three (``1,234,567.89``), so ``1,23`` with decimal ``.`` is a
  problem, not 123;
* at most 8 fraction digits (trailing zeros aside) and 22 integer digits (the money dtype's
  range).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.errors import Problem
from payrecon.platform import currency_decimals

#: Money everywhere in payrecon: exact, summable in one vectorised call, and a value that would
#: need more than 8 fraction digits fails loudly rather than being rounded.
MONEY_TYPE = pa.decimal128(30, 8)

#: Currency symbols accepted beside a number (codes are any three capital letters).
CURRENCY_SYMBOLS = "$€£¥₹₫₩₽₱฿₦₴₺₪₡₲₵₸"
_WS = r"[\s\x{00A0}\x{2007}\x{202F}\x{2009}]+"
_MINUS = "\u2212\u2013-"  # Unicode minus, en dash, hyphen-minus (last: literal in a [class])
_MAX_FRACTION = MONEY_TYPE.scale
_MAX_INTEGER = MONEY_TYPE.precision - MONEY_TYPE.scale


def _number_pattern(decimal: str, thousands: str | None) -> str:
    """The regex (RE2) of one unsigned number under the export's decimal and grouping marks."""
    d = re.escape(decimal)
    if thousands is not None:
        groupers = [thousands]
    else:
        groupers = [g for g in (",", ".", "'") if g != decimal]
    grouped = "|".join(rf"[0-9]{{1,3}}(?:{re.escape(g)}[0-9]{{3}})+" for g in groupers)
    return rf"(?:{grouped}|[0-9]+)(?:{d}[0-9]*)?|{d}[0-9]+"


#: Currency tokens a cell may carry beside its number (after white space is squeezed out):
#: a code, a one-character symbol, or a local abbreviation (``Rp``, ``RM``, ``Rs.``, ``S$``).
CURRENCY_TOKEN = rf"(?:[A-Z]{{3}}|Rp\.?|RP|Rs\.?|RM|US\$|S\$|A\$|HK\$|R\$|[{CURRENCY_SYMBOLS}])"


def _cell_pattern(decimal: str, thousands: str | None) -> str:
    cur = CURRENCY_TOKEN
    sign = rf"[+{_MINUS}]"
    return (
        rf"^(?P<open>\()?(?P<lead>{sign})?(?P<cur1>{cur})?(?P<lead2>{sign})?"
        rf"(?P<num>{_number_pattern(decimal, thousands)})"
        rf"(?P<cur2>{cur})?(?P<trail>[{_MINUS}])?(?P<close>\))?$"
    )


def _as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Numbers that arrive already typed (Parquet, Excel) become their exact decimal text."""
    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return values
    if pa.types.is_decimal(t) or pa.types.is_integer(t):
        return pc.cast(values, pa.string())
    if pa.types.is_floating(t):
        # A float column is already binary; its shortest round-trip text is the value the
        # exporting program showed, and we read that text exactly (no arithmetic on the float).
        return pa.array(
            [None if v is None else format(Decimal(repr(v)), "f") for v in values.to_pylist()],
            type=pa.string(),
        )
    return pc.cast(values, pa.string())


def parse_amounts(
    values: pa.Array | pa.ChunkedArray,
    *,
    column: str,
    file: str,
    rows: Sequence[int] | np.ndarray,
    decimal: str = ".",
    thousands: str | None = None,
    required: bool = True,
) -> tuple[pa.Array, list[Problem]]:
    """Parse a column of amount text into exact money.

    Parameters
    ----------
    values
        The column as read (text, or numbers already typed by Parquet/Excel).
    column, file, rows
        Where the cells came from, to name them in problems; ``rows[i]`` is cell ``i``'s row.
    decimal, thousands
        The export's decimal mark and grouping mark (``None``: groups of three in the other mark).
    required
        When true, a blank cell is a problem; otherwise it becomes a missing value.

    Returns
    -------
    (money, problems)
        ``money`` is ``decimal128(30, 8)`` with nulls where a cell was blank or bad; ``problems``
        lists every bad cell in row order.
    """
    if decimal not in {".", ","}:
        raise ValueError(f"decimal mark must be '.' or ',', not {decimal!r}")
    text = _as_text(values)
    plain = _plain_cast(text, decimal)
    if plain is not None:
        return plain, []
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    squeezed = pc.replace_substring_regex(text, _WS, "")
    blank = pc.fill_null(pc.equal(squeezed, ""), True)
    parts = pc.extract_regex(squeezed, _cell_pattern(decimal, thousands))
    signs = _signs(parts)
    number = _number(parts, decimal)
    bad = _bad_cells(parts, blank, signs, number)
    money = _exact_money(number.plain, signs.negative, pc.or_(bad, blank))
    return money, _problems(text, bad, blank if required else None, column, file, rows)


def _plain_cast(text: pa.Array | pa.ChunkedArray, decimal: str) -> pa.Array | None:
    """A clean machine export (``-1234.56`` everywhere) in one check and one cast, chunk by chunk
    as read (no copy of the text); ``None`` when the column needs the general path.

    Arrow's decimal cast reads exactly the plain forms and refuses the rest (blanks, spaces,
    marks, too many digits) but for one: exponents (``1e5``), which are not amounts here.
    """
    clean = decimal == "." and len(text) > 0 and text.null_count == 0
    if not clean or pc.any(pc.match_substring(text, "e", ignore_case=True)).as_py():
        return None
    try:
        money = pc.cast(text, MONEY_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # something else: the general path says which cells, and why
    return money.combine_chunks() if isinstance(money, pa.ChunkedArray) else money


def _part(parts: pa.Array, name: str) -> pa.Array:
    """Whether each cell has the named part of :func:`_cell_pattern` (false where none matched)."""
    return pc.fill_null(pc.not_equal(pc.struct_field(parts, name), ""), False)


@dataclass(frozen=True)
class _Signs:
    """Each cell's signs: how many say negative (a leading or trailing minus, parentheses), and
    the combinations that make a cell bad rather than a double negative."""

    count: pa.Array  # int8: the minus signs and a pair of parentheses
    negative: pa.Array  # at least one
    unbalanced: pa.Array  # one parenthesis without the other
    plus_too: pa.Array  # a plus sign beside a minus


def _signs(parts: pa.Array) -> _Signs:
    opened, closed = _part(parts, "open"), _part(parts, "close")
    lead1, lead2, trail = (
        pc.struct_field(parts, "lead"),
        pc.struct_field(parts, "lead2"),
        pc.struct_field(parts, "trail"),
    )
    minus = f"[{_MINUS}]"
    neg_counts = [
        pc.cast(pc.fill_null(pc.match_substring_regex(s, minus), False), pa.int8())
        for s in (lead1, lead2, trail)
    ]
    parens = pc.and_(opened, closed)
    count = pc.add(
        pc.add(pc.add(neg_counts[0], neg_counts[1]), neg_counts[2]), pc.cast(parens, pa.int8())
    )
    plus = pc.or_(
        pc.fill_null(pc.equal(lead1, "+"), False), pc.fill_null(pc.equal(lead2, "+"), False)
    )
    plus_too = pc.and_(plus, pc.fill_null(pc.greater(count, 0), False))
    negative = pc.fill_null(pc.greater(count, 0), False)
    return _Signs(count, negative, pc.xor(opened, closed), plus_too)


@dataclass(frozen=True)
class _Number:
    """Each cell's number as plain ``1234.56`` text, and whether it exceeds the money dtype."""

    plain: pa.Array
    too_precise: pa.Array  # more than 8 significant fraction digits
    too_large: pa.Array  # more than 22 integer digits


def _number(parts: pa.Array, decimal: str) -> _Number:
    num = pc.struct_field(parts, "num")
    digits_only = pc.replace_substring_regex(num, rf"[^0-9{re.escape(decimal)}]", "")
    plain = pc.replace_substring(digits_only, decimal, ".") if decimal != "." else digits_only
    int_part = pc.replace_substring_regex(plain, r"\..*$", "")
    frac_part = pc.replace_substring_regex(plain, r"^[^.]*\.?", "")
    int_len = pc.utf8_length(pc.replace_substring_regex(int_part, "^0+", ""))
    significant = pc.replace_substring_regex(frac_part, "0+$", "")  # 1.500000000 is 1.5
    too_precise = pc.greater(pc.utf8_length(significant), _MAX_FRACTION)
    too_large = pc.greater(int_len, _MAX_INTEGER)
    return _Number(plain, too_precise, too_large)


def _bad_cells(parts: pa.Array, blank: pa.Array, signs: _Signs, number: _Number) -> pa.Array:
    """The cells that are not blank and not an amount by the module's rules: no match, two
    signs, a lone parenthesis, a plus beside a minus, two currencies, too many digits."""
    two_currencies = pc.and_(_part(parts, "cur1"), _part(parts, "cur2"))
    return pc.and_(
        pc.invert(blank),
        pc.or_(
            pc.invert(parts.is_valid()),
            pc.fill_null(
                pc.or_(
                    pc.or_(pc.greater(signs.count, 1), signs.unbalanced),
                    pc.or_(
                        pc.or_(signs.plus_too, two_currencies),
                        pc.or_(number.too_precise, number.too_large),
                    ),
                ),
                True,
            ),
        ),
    )


def _exact_money(plain: pa.Array, negative: pa.Array, missing: pa.Array) -> pa.Array:
    """The plain numbers cast exactly to the money dtype and signed; null where ``missing``.
    ``.5`` reads as 0.5 and ``5.`` as 5: both halves are normalised before the cast."""
    normal = pc.replace_substring_regex(pc.replace_substring_regex(plain, r"^\.", "0."), r"\.$", "")
    safe = pc.if_else(missing, pa.scalar("0"), normal)
    money = pc.cast(safe, MONEY_TYPE)
    money = pc.if_else(negative, pc.negate(money), money)
    return pc.if_else(missing, pa.scalar(None, MONEY_TYPE), money)


def _problems(
    text: pa.Array,
    bad: pa.Array,
    blank: pa.Array | None,
    column: str,
    file: str,
    rows: Sequence[int] | np.ndarray,
) -> list[Problem]:
    """Every bad cell (and, where amounts are required, every ``blank`` one) by row and column,
    in row order; the loop runs over the bad cells only."""
    problems: list[Problem] = []
    row_arr = np.asarray(rows)
    for idx in np.flatnonzero(bad.to_numpy(zero_copy_only=False)):
        problems.append(
            Problem(file, int(row_arr[idx]), column, f"not an amount: {text[idx].as_py()!r}")
        )
    if blank is not None:
        for idx in np.flatnonzero(blank.to_numpy(zero_copy_only=False)):
            problems.append(Problem(file, int(row_arr[idx]), column, "amount is blank"))
        problems.sort(key=lambda p: p.row or 0)
    return problems


def currency_tokens(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The currency token written beside each amount (``€``, ``Rp``, ``EUR``), or null."""
    text = _as_text(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    squeezed = pc.replace_substring_regex(text, _WS, "")
    parts = pc.extract_regex(
        squeezed, rf"^[(+{_MINUS}]*(?P<a>{CURRENCY_TOKEN})?[^A-Za-z]*?(?P<b>{CURRENCY_TOKEN})?\)?$"
    )
    a, b = pc.struct_field(parts, "a"), pc.struct_field(parts, "b")
    token = pc.if_else(pc.fill_null(pc.not_equal(a, ""), False), a, b)
    return pc.if_else(pc.fill_null(pc.equal(token, ""), True), pa.scalar(None, pa.string()), token)


def at_currency_scale(value: Decimal, currency: str | None) -> Decimal:
    """``value`` with its currency's decimals when that loses nothing (``12.50`` EUR, ``10000``
    IDR, from ``12.50000000`` and ``10000.00000000``), else with every significant digit."""
    try:
        q = value.quantize(Decimal(1).scaleb(-currency_decimals(currency or "")))
        if q == value:
            return q
    except ArithmeticError:
        pass
    return value.normalize()


def int64_units(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A decimal128 array's unscaled integers (a numpy view of the arrow buffer's low words), and
    which of them are the whole value: not null, and within int64 (amounts below 92 billion at
    scale 8). Numpy arithmetic on these is exact and far faster than arrow's decimal kernels."""
    words = np.frombuffer(values.buffers()[1], dtype=np.int64)
    words = words[2 * values.offset : 2 * (values.offset + len(values))].reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    small = values.is_valid().to_numpy(zero_copy_only=False) & (high == (low >> 63))
    small &= low != np.iinfo(np.int64).min  # its magnitude does not fit int64
    return low, small


def fraction_fits(values: pa.Array, digits: int) -> np.ndarray:
    """Which values of a decimal array have at most ``digits`` fraction digits (nulls: False).

    Read off the 128-bit integers in place (:func:`int64_units`: one ``%`` per value, no new
    arrow array); the rare value beyond int64 is checked by rounding, exactly.
    """
    typ = values.type
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    if not pa.types.is_decimal(typ) or typ.scale <= digits or len(values) == 0:
        return valid
    step = 10 ** (typ.scale - digits)
    if pa.types.is_decimal128(typ):
        low, small = int64_units(values)
        out = small & (low % step == 0)
        big = valid & ~small
    else:
        out, big = np.zeros(len(values), dtype=bool), valid
    if big.any():
        sub = values.filter(pa.array(big))
        same = pc.equal(pc.round(sub, ndigits=digits, round_mode="towards_zero"), sub)
        out[big] = pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    return out


def parse_amount(text: str, *, decimal: str = ".", thousands: str | None = None) -> Decimal:
    """Parse one amount (a convenience for callers and tests); raises ``ValueError`` if bad."""
    money, problems = parse_amounts(
        pa.array([text], pa.string()),
        column="amount",
        file="<value>",
        rows=[1],
        decimal=decimal,
        thousands=thousands,
    )
    if problems:
        raise ValueError(problems[0].message)
    value = money[0].as_py()
    assert isinstance(value, Decimal)
    return value


__all__ = [
    "CURRENCY_SYMBOLS",
    "CURRENCY_TOKEN",
    "MONEY_TYPE",
    "at_currency_scale",
    "currency_tokens",
    "fraction_fits",
    "int64_units",
    "parse_amount",
    "parse_amounts",
]
