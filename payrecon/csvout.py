"""Result tables as CSV text: money exact, times ISO 8601 UTC, a million rows in under a second.

Money is written as plain decimal text with the currency's usual decimals when that loses nothing
(``12.50`` EUR, ``10000`` IDR) and every significant digit otherwise; never through a binary float.

Why it is fast: the checks run on the decimals' own 128-bit integers
(:func:`~payrecon.amounts.fraction_fits`: "is this a whole number of cents?" is one ``%``), the
text comes from arrow's C++ casts (decimal to text, naive timestamp to text), and a big table is
cut into slices that two threads format and serialise side by side (arrow and numpy release the
GIL) while the calling thread writes the finished bytes in order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from payrecon._speed import speed_trick
from payrecon.amounts import fraction_fits, int64_units
from payrecon.cellsafe import escape_text, unescape_cell
from payrecon.platform import ZERO_DECIMAL_CURRENCIES

#: Tables with at least this many rows are formatted and written in parallel slices.
PARALLEL_ROWS = 100_000
#: Rows per slice: big enough that per-call overhead vanishes, small enough to keep memory flat.
SLICE_ROWS = 1 << 17

_ZERO_DECIMAL = pa.array(sorted(ZERO_DECIMAL_CURRENCIES), pa.string())


# -- money -------------------------------------------------------------------------------------


def _plain_money_text(values: pa.Array) -> pa.Array:
    """Exact text with trailing zeros dropped (the general, slower path: regular expressions)."""
    text = pc.cast(values, pa.string())
    # Arrow writes zero as "0E-8" and magnitudes below 1e-6 in scientific notation: zero by regex,
    # the (rare) others through Decimal, exactly.
    text = pc.replace_substring_regex(text, r"^-?0E-?[0-9]+$", "0")
    sci = pc.fill_null(pc.match_substring(text, "E"), False)
    if pc.any(sci).as_py():
        idx = np.flatnonzero(sci.to_numpy(zero_copy_only=False))
        py = text.to_pylist()
        for i in idx:
            py[i] = format(Decimal(py[i]), "f")
        text = pa.array(py, pa.string())
    text = pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def zero_decimal_mask(currency: pa.Array) -> np.ndarray:
    """Rows whose currency has no minor unit (IDR, INR, VND, JPY, KRW)."""
    return pc.fill_null(pc.is_in(currency, value_set=_ZERO_DECIMAL), False).to_numpy(
        zero_copy_only=False
    )


def money_text(
    values: pa.Array, currency: pa.Array | None = None, *, zero_decimal: np.ndarray | None = None
) -> pa.Array:
    """Exact decimal text for a money column: with the currency's decimals (2, or 0 for
    zero-decimal currencies) where that loses nothing, else every significant digit.

    ``zero_decimal`` may pass :func:`zero_decimal_mask` of ``currency`` when several columns share
    it. The common case is two casts (to the currency's scale, then to text); only values that
    need more digits, or have no currency, take the slower general path.
    """
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.string())
    if currency is None:
        return _plain_money_text(values)
    typ = values.type
    if not pa.types.is_decimal128(typ) or typ.scale < 2:
        return _money_text_by_cast(values, currency)
    if zero_decimal is None:
        zero_decimal = zero_decimal_mask(currency)
    cents, whole = fraction_fits(values, 2), fraction_fits(values, 0)
    has_currency = currency.is_valid().to_numpy(zero_copy_only=False)
    as_whole = zero_decimal & whole
    fits = has_currency & np.where(zero_decimal, whole, cents)
    text = pc.cast(pc.cast(values, pa.decimal128(typ.precision, 2), safe=False), pa.string())
    if as_whole.any():
        # "10000.00" -> "10000" (ASCII: byte slices, 8 times faster than utf8 ones)
        text = pc.if_else(pa.array(as_whole), pc.binary_replace_slice(text, -3, 1 << 62, ""), text)
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    rest = valid & ~fits
    if rest.any():
        slow = _plain_money_text(values.filter(pa.array(rest)))
        text = pc.replace_with_mask(text, pa.array(rest), slow)
    return text


def _money_text_by_cast(values: pa.Array, currency: pa.Array) -> pa.Array:
    """:func:`money_text` for decimal types other than decimal128 with scale >= 2."""
    zero_dec = pc.fill_null(pc.is_in(currency, value_set=_ZERO_DECIMAL), False)
    precision = max(values.type.precision, 3)
    cents = pc.cast(values, pa.decimal128(precision, 2), safe=False)
    fits2 = pc.fill_null(pc.equal(pc.cast(cents, values.type), values), False)
    text = pc.cast(cents, pa.string())
    whole = pc.cast(values, pa.decimal128(precision, 0), safe=False)
    fits0 = pc.and_(zero_dec, pc.fill_null(pc.equal(pc.cast(whole, values.type), values), False))
    text = pc.if_else(fits0, pc.binary_replace_slice(text, -3, 1 << 62, ""), text)
    fits = pc.and_(pc.if_else(zero_dec, fits0, fits2), pc.fill_null(currency.is_valid(), False))
    rest = pc.and_(pc.invert(fits), values.is_valid())
    if pc.any(rest).as_py():
        text = pc.replace_with_mask(text, rest, _plain_money_text(pc.filter(values, rest)))
    return pc.if_else(values.is_valid(), text, pa.scalar(None, pa.string()))


# -- times -------------------------------------------------------------------------------------


def iso_text(values: pa.Array) -> pa.Array:
    """UTC timestamps as ISO 8601 text (``2026-10-28T15:29:57Z``; microseconds, all six digits,
    when any value of the column has them).

    Arrow formats *naive* timestamps in C++ at ~25 ns a value (a time zone costs 30 times that),
    and the values are UTC already, so: drop the zone, format, put the ``T`` and the ``Z`` in.
    """
    us = pc.cast(values, pa.timestamp("us", tz=getattr(values.type, "tz", None)))
    micros = pc.cast(us, pa.int64()).to_numpy(zero_copy_only=False)
    valid = us.is_valid().to_numpy(zero_copy_only=False)
    unit = "us" if bool((micros[valid] % 1_000_000).any()) else "s"
    naive = pc.cast(pc.cast(us, pa.int64()), pa.timestamp("us"))
    text = pc.cast(pc.cast(naive, pa.timestamp(unit), safe=False), pa.string())
    width = 19 if unit == "s" else 26  # "2026-10-28 15:29:57[.123456]": years 0 to 9999
    lengths = pc.min_max(pc.binary_length(text)).values()
    if all(v.as_py() in (None, width) for v in lengths):
        text = pc.binary_replace_slice(text, 10, 11, "T")  # ASCII: byte slices, fast
        return pc.binary_replace_slice(text, width, width, "Z")
    text = pc.replace_substring(text, " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(text, pa.scalar("Z"), "")


# -- tables ------------------------------------------------------------------------------------


def _flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def arrow_column(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A pandas column as arrow data: Arrow-backed columns as they are (chunks and all)."""
    if hasattr(series.array, "__arrow_array__"):
        return pa.array(series.array)
    return pa.array(series, from_pandas=True)


def arrow_array(series: pd.Series) -> pa.Array:
    """A pandas column as one arrow array (copied only if it is in several chunks)."""
    return _flat(arrow_column(series))


def currency_column(money_column: str, names: Sequence[str]) -> str | None:
    """Which currency column prices a money column of the rows, summary or statuses table (the
    CSV files and the Excel workbook follow the same rule)."""
    own = {"amount": "currency", "fee_amount": "fee_currency"}.get(money_column)
    if own is not None and own in names:
        return own
    if money_column.startswith("ledger_") and "ledger_currency" in names:
        return "ledger_currency"
    if money_column.startswith(("platform_", "expected_")) and "platform_currency" in names:
        return "platform_currency"
    for c in ("ledger_currency", "platform_currency", "currency"):
        if c in names:
            return c
    if "section" in names and "key" in names:
        return "key"
    return None


def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A frame's columns as one arrow table (Arrow-backed ones uncopied)."""
    return pa.table({str(name): arrow_column(frame[name]) for name in frame.columns})


class _Written(NamedTuple):
    values: pa.Array
    zero_decimal: np.ndarray
    has_currency: np.ndarray
    text: pa.Array | None = None


#: Reuse text when at least this share of a column's rows already have it.
_REUSE_SHARE = 0.5


def _money_text_reusing(col: _Written, currency: pa.Array, written: list[_Written]) -> pa.Array:
    """:func:`money_text` that formats only what no earlier column of the table already holds.

    Most rows of a reconciliation agree (platform amount = ledger amount, difference zero), and
    the text of a value depends only on the value and on its currency's kind, so the agreeing
    rows take the text already made (or "0" / "0.00") and only the others are formatted.
    """
    values, zero_dec, has_cur = col.values, col.zero_decimal, col.has_currency
    base: pa.Array | None = None
    same = np.zeros(len(values), dtype=bool)
    for prev in written:
        if prev.values.type == values.type and prev.text is not None:
            same = pc.fill_null(pc.equal(values, prev.values), False).to_numpy(zero_copy_only=False)
            same &= (zero_dec == prev.zero_decimal) & (has_cur == prev.has_currency)
            if same.mean() >= _REUSE_SHARE:
                base = prev.text
                break
    if base is None and pa.types.is_decimal128(values.type) and len(values):
        units, small = int64_units(values)
        same = small & (units == 0)  # zero: "0", or "0.00"
        if same.mean() >= _REUSE_SHARE:
            base = pc.if_else(pa.array(zero_dec | ~has_cur), pa.scalar("0"), pa.scalar("0.00"))
    if base is None:
        return money_text(values, currency, zero_decimal=zero_dec)
    rest = pa.array(~same)
    fresh = money_text(values.filter(rest), currency.filter(rest), zero_decimal=zero_dec[~same])
    return pc.replace_with_mask(base, rest, fresh)


def text_table(table: pa.Table, *, csv_safe: bool = False) -> pa.Table:
    """An arrow table as text ready for CSV: money exact, times ISO 8601 UTC, the rest as is.

    ``csv_safe`` quotes text cells a spreadsheet would read as formulas
    (:func:`payrecon.cellsafe.escape_text`); money and times are numbers, never touched.
    """
    names = table.column_names
    cols = {name: _flat(table[name]) for name in names}
    masks: dict[str, np.ndarray] = {}
    out: dict[str, pa.Array] = {}
    written: list[_Written] = []
    for name, arr in cols.items():
        if pa.types.is_decimal(arr.type):
            cur_name = currency_column(name, names)
            cur = cols[cur_name] if cur_name else None
            if cur is None or arr.null_count == len(arr):
                out[name] = money_text(arr, cur)
                continue
            if cur_name not in masks:
                masks[str(cur_name)] = zero_decimal_mask(cur)
            has_cur = cur.is_valid().to_numpy(zero_copy_only=False)
            done = _Written(arr, masks[str(cur_name)], has_cur)
            out[name] = _money_text_reusing(done, cur, written)
            written.append(done._replace(text=out[name]))
        elif pa.types.is_timestamp(arr.type):
            out[name] = iso_text(arr)
        else:
            out[name] = escape_text(arr) if csv_safe else arr
    return pa.table(out)


def frame_to_text_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as an arrow table of text ready for CSV: money exact, times ISO 8601 UTC."""
    return text_table(frame_to_arrow(frame))


def _slices(table: pa.Table, size: int) -> Iterator[pa.Table]:
    for start in range(0, max(table.num_rows, 1), size):
        yield table.slice(start, size)


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write an arrow table (money as decimals, times as timestamps) as CSV text at ``path``.

    Text cells a spreadsheet would read as a formula get a leading ``'`` (OWASP's rule, see
    :mod:`payrecon.cellsafe`); readers of payrecon's CSV files undo it with :func:`unescape_cell`.

    Values are written unquoted when none needs quotes (arrow refuses to write a delimiter,
    quote or line break unquoted; then the file is written again, quoted as needed).
    """
    path = Path(path)
    if table.num_columns > 1:  # one empty cell alone on a line would read as a blank line
        try:
            _write_table(table, path, "none")
            return path
        except pa.ArrowInvalid:
            pass
    _write_table(table, path, "needed")
    return path


def _write_table(table: pa.Table, path: Path, quoting: str) -> None:
    """Big tables go in slices: worker threads format and serialise slices to CSV bytes (arrow
    and numpy release the GIL) while this one writes the finished bytes, in order, so the file
    is the one a single pass would write."""
    if table.num_rows < PARALLEL_ROWS or not speed_trick("parallel_csv"):
        options = pacsv.WriteOptions(quoting_style=quoting)
        pacsv.write_csv(text_table(table, csv_safe=True), path, write_options=options)
        return

    def serialise(part: tuple[int, pa.Table]) -> pa.Buffer:
        index, rows = part
        sink = pa.BufferOutputStream()
        options = pacsv.WriteOptions(include_header=index == 0, quoting_style=quoting)
        pacsv.write_csv(text_table(rows, csv_safe=True), sink, write_options=options)
        return sink.getvalue()

    workers = min(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool, open(path, "wb") as out:
        for chunk in pool.map(serialise, enumerate(_slices(table, SLICE_ROWS))):
            out.write(chunk)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a result table as CSV (exact money text); fast enough for millions of rows."""
    return write_table(frame_to_arrow(frame), path)


__all__ = [
    "arrow_array",
    "arrow_column",
    "currency_column",
    "frame_to_arrow",
    "frame_to_text_table",
    "iso_text",
    "money_text",
    "text_table",
    "unescape_cell",
    "write_csv",
    "write_table",
    "zero_decimal_mask",
]
