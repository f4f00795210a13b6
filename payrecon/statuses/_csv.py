"""The statuses table's CSV file read into arrow: typed in one pass, no per-cell Python.

Kept apart from :mod:`payrecon.statuses._table` because it needs no pandas: ``payrecon reconcile``
starts
reading the file on a second core while the first is still importing pandas (a quarter of a
second that would otherwise leave that core idle).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from payrecon.amounts import MONEY_TYPE
from payrecon.cellsafe import unescape_text

#: Arrow types the CSV reader parses straight into (a clean table: one pass, no text kept).
CSV_TYPES: dict[str, pa.DataType] = {
    "amount": MONEY_TYPE,
    "fee_amount": MONEY_TYPE,
    "created_at": pa.timestamp("us", tz="UTC"),
    "processed_at": pa.timestamp("us", tz="UTC"),
    "http_status": pa.int64(),
    "is_test": pa.bool_(),
    "from_store": pa.bool_(),
}

#: Text is ``large_string`` throughout payrecon: what pandas' ``string[pyarrow]`` holds, so a
#: frame wraps arrow text columns instead of copying them (re-exported by
#: :mod:`payrecon.statuses._table`).
TEXT = pa.large_string()


def read_statuses_table(path: str | Path) -> pa.Table:
    """Read a statuses CSV with pyarrow (multithreaded, money exact).

    A table as :func:`payrecon.statuses._table.write_statuses` writes it parses in one pass
    straight into
    :data:`CSV_TYPES` (decimals, UTC timestamps, integers, booleans). Anything else (a naive
    time, ``yes`` for true, ...) fails that strict pass and is read as text, for
    :func:`payrecon.statuses._table.statuses_from_table` to convert column by column. The quote
    payrecon's
    writers put before text a spreadsheet would read as a formula is removed again.
    """
    path = Path(path)
    header = _csv_header(path)
    read_options = pacsv.ReadOptions(block_size=1 << 22)
    common = {
        "strings_can_be_null": True,
        "null_values": [""],
        "quoted_strings_can_be_null": True,
    }
    try:
        table = pacsv.read_csv(
            path,
            read_options=read_options,
            convert_options=pacsv.ConvertOptions(
                column_types={c: CSV_TYPES.get(c, TEXT) for c in header},
                true_values=["True", "true", "TRUE"],
                false_values=["False", "false", "FALSE"],
                **common,
            ),
        )
    except pa.ArrowInvalid:
        table = pacsv.read_csv(
            path,
            read_options=read_options,
            convert_options=pacsv.ConvertOptions(column_types={c: TEXT for c in header}, **common),
        )
    return _unquoted(table)


def _unquoted(table: pa.Table) -> pa.Table:
    """Text cells with the quote payrecon's CSV writers put before formula characters removed
    (:func:`payrecon.cellsafe.unescape_text`), so ids and text read back as they were."""
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        plain = unescape_text(column)
        if plain is not column:
            table = table.set_column(i, name, plain)
    return table


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(csv.reader(fh), [])


__all__ = ["CSV_TYPES", "TEXT", "read_statuses_table"]
