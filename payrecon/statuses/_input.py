"""A statuses table the user names (``reconcile --statuses``): checked first, refused in one line.

The file may be anything: a table ``payrecon fetch`` wrote, one written by hand, another tool's
export, a ledger given by mistake, an empty file, binary data. :func:`check_statuses_file` looks
at its start before anything reads it whole (binary data, an empty file, a Parquet file that is
not one, a header without ``id_payout`` and ``status``), and :func:`read_checked` turns a value
the table's types cannot hold into an :class:`~payrecon.errors.InputError` naming the file, the
row and the column, instead of a traceback from deep inside pyarrow or pandas.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from payrecon._sniff import SNIFF_BYTES, refuse_binary
from payrecon.errors import InputError, Problem

if TYPE_CHECKING:
    import pandas as pd

#: The columns without which a file is not a statuses table (the others may be missing).
REQUIRED: Final = ("id_payout", "status")
WHAT = "statuses table"
_PARQUET_MAGIC: Final = b"PAR1"

T = TypeVar("T")


def check_statuses_file(path: Path) -> None:
    """Refuse, in one line naming the file, what cannot be a statuses table; read little."""
    if not path.is_file():
        raise InputError(
            f"{path}: {WHAT} not found" if not path.exists() else f"{path}: not a file"
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file, not a {WHAT}")
    if path.suffix.lower() == ".parquet":
        _check_parquet(path)
        return
    head = refuse_binary(path, WHAT)
    if head.startswith(_PARQUET_MAGIC):
        raise InputError(f"{path}: a Parquet file; name it .parquet to read it as one")
    first = head.split(b"\n", 1)[0]
    if len(first) >= SNIFF_BYTES:
        problem = Problem(str(path), 1, None, f"no header line in its first {SNIFF_BYTES} bytes")
        raise InputError(f"{path}: not a {WHAT}", [problem])
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = Problem(str(path), 1, None, f"not UTF-8 text (byte {exc.start})")
        raise InputError(f"{path}: cannot decode the {WHAT}", [problem]) from None
    header = [h.strip() for h in next(csv.reader([text]), [])]
    _check_columns(path, header, row=1)


def _check_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with path.open("rb") as fh:
        magic = fh.read(len(_PARQUET_MAGIC))
    if magic != _PARQUET_MAGIC:
        raise InputError(f"{path}: not a Parquet file (it does not start with PAR1)")
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({_short(exc)})") from None
    _check_columns(path, names, row=None)


def _check_columns(path: Path, names: list[str], row: int | None) -> None:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        found = ", ".join(repr(n[:40]) for n in names[:8]) or "none"
        more = f" and {len(names) - 8} more" if len(names) > 8 else ""
        problem = Problem(str(path), row, missing[0], f"no such column (columns: {found}{more})")
        raise InputError(f"{path}: not a payrecon {WHAT}", [problem])


def read_checked(path: Path, read: Callable[[], T]) -> T:
    """``read()``, with any failure to type the table's values turned into an ``InputError``
    naming the file, and the row and column of the first value that does not fit."""
    import pyarrow as pa

    try:
        return read()
    except (pa.ArrowException, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        where = _locate(path)
        if where is not None:
            raise InputError(f"{path}: not a valid {WHAT}", [where]) from None
        raise InputError(f"{path}: not a valid {WHAT} ({_short(exc)})") from None


def _locate(path: Path) -> Problem | None:
    """The first row and column that break the table's types, by reading the file as text
    and typing one column at a time; a row with the wrong number of cells comes first."""
    import pandas as pd

    from payrecon.statuses._table import STATUS_COLUMNS, conform

    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            first_row = 0
        else:
            bad = _ragged_row(path)
            if bad is not None:
                return bad
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            first_row = 2  # the header is row 1
    except Exception:  # the file cannot even be read as text: say so without a location
        return None
    for column in (c for c in STATUS_COLUMNS if c in frame.columns):
        values = frame[column]
        if _types(conform, values) is None:
            continue
        index = _first_bad(conform, values)
        shown = repr(values.iloc[index])
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        row = index + first_row if first_row else None
        where = f"row {index + 1}" if row is None else None
        message = f"{shown} is not a valid {column}" + (f" ({where})" if where else "")
        return Problem(str(path), row, column, message)
    return None


def _types(conform: Callable[[pd.DataFrame], object], values: pd.Series) -> Exception | None:
    try:
        conform(values.to_frame())
    except Exception as exc:  # any failure: this column's values do not fit its type
        return exc
    return None


def _first_bad(conform: Callable[[pd.DataFrame], object], values: pd.Series) -> int:
    """Index of the first value that does not fit, by halving (a failing prefix's end)."""
    low, high = 0, len(values)  # values[:low] fit; values[:high] do not
    while high - low > 1:
        mid = (low + high) // 2
        if _types(conform, values.iloc[:mid]) is None:
            low = mid
        else:
            high = mid
    return low


def _ragged_row(path: Path) -> Problem | None:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for cells in reader:
            if cells and len(cells) != len(header):
                message = f"{len(cells)} cells, the header has {len(header)}"
                return Problem(str(path), reader.line_num, None, message)
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["REQUIRED", "check_statuses_file", "read_checked"]
