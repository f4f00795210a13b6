"""Booking dates as exports write them, read by one format decided from the whole column.

``03/04/2024`` is the 3rd of April in Germany and March 4th in the US; a cell alone cannot say.
The column can: the formats are tried in turn on every cell, and the one that reads them all wins
(a ``13/04`` somewhere rules month-first out). When both orders read every cell, the export's
other habits decide (a decimal comma or ``;`` means day first), and the reader says it guessed.
Two-digit years are read as 20xx by ``%y``'s rule (00-68 -> 20xx). Naive times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.errors import Problem
from payrecon.statuses._table import TIMESTAMP

_TIMES = ("", " %H:%M", " %H:%M:%S")
_DAY_FIRST = ("%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d-%m-%y")
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m.%d.%Y")
_NEUTRAL = (
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)


@dataclass(frozen=True)
class DateReading:
    """The column read, and how."""

    values: pd.Series  # datetime64[us, UTC]
    problems: list[Problem]
    order: str  # "iso", "day first", "month first", "typed", "none", or the format given
    guessed: bool  # both orders read every cell; the export's habits decided


def parse_dates(
    col: pa.ChunkedArray | pa.Array,
    *,
    date_format: str | None,
    dayfirst: bool | None,
    prefer_dayfirst: bool,
    column: str,
    file: str,
    rows: np.ndarray,
) -> DateReading:
    """Read a date column; cells no format reads become problems naming row and column."""
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        return _typed(col)
    trimmed = pc.utf8_trim_whitespace(pc.fill_null(pc.cast(col, pa.large_string()), ""))
    if not date_format:
        iso = _iso_cast(trimmed)
        if iso is not None:
            return iso
    text = pd.Series(pd.arrays.ArrowExtensionArray(trimmed)).astype(object)
    blank = text.eq("")
    values = text.where(~blank)
    if date_format:
        parsed, order, guessed = _read_as(values, date_format), date_format, False
    else:
        parsed, order, guessed = _one_format(values, blank, dayfirst, prefer_dayfirst)
    bad = parsed.isna() & ~blank
    problems = [
        Problem(file, int(rows[i]), column, f"not a date: {text.iloc[i]!r}")
        for i in np.flatnonzero(bad.to_numpy())
    ]
    return DateReading(parsed.astype(TIMESTAMP), problems, order, guessed)


def _typed(col: pa.ChunkedArray | pa.Array) -> DateReading:
    """Dates the file already typed (Excel, Parquet): nothing to decide."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    ser = pd.Series(pd.arrays.ArrowExtensionArray(arr)).astype(object)
    return DateReading(pd.to_datetime(ser, utc=True).astype(TIMESTAMP), [], "typed", False)


def _iso_cast(trimmed: pa.Array | pa.ChunkedArray) -> DateReading | None:
    """ISO 8601 (the usual machine export) in one arrow cast, naive meaning UTC; ``None`` when
    some cell is not ISO, for the column-wide search."""
    blank = pc.equal(trimmed, "")
    try:
        naive = pc.cast(pc.if_else(blank, None, trimmed), pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    utc = pc.assume_timezone(naive, timezone="UTC")
    return DateReading(pd.Series(utc.to_pandas()).astype(TIMESTAMP), [], "iso", False)


def _read_as(values: pd.Series, fmt: str) -> pd.Series:
    """Every cell read by ``fmt``; cells it does not read are missing."""
    return pd.to_datetime(values, format=fmt, utc=True, errors="coerce")


@dataclass(frozen=True)
class _Best:
    """The format that read the most cells so far, and where its order stood in the search."""

    read: int
    rank: int  # 0: the preferred order, 1: the other, 2: unambiguous formats
    label: str
    values: pd.Series


def _one_format(
    values: pd.Series, blank: pd.Series, dayfirst: bool | None, prefer_dayfirst: bool
) -> tuple[pd.Series, str, bool]:
    """ISO 8601 first; else the format that reads every cell (or the most), in the preferred
    order first; the cells no format reads are tried one by one (``format="mixed"``), so only a
    truly unreadable cell is a problem. Returns the dates, the order and whether it was a guess.
    """
    filled = int((~blank).sum())
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
    order, guessed = "iso", False
    if int(parsed.notna().sum()) < filled:
        best = _best_format(values, filled, dayfirst, prefer_dayfirst)
        if best is not None and best.read > int(parsed.notna().sum()):
            parsed, order = best.values, best.label
            guessed = _both_orders_read(values, best, dayfirst, filled)
        if int(parsed.notna().sum()) < filled:
            left = parsed.isna() & ~blank
            parsed.loc[left] = pd.to_datetime(
                values[left],
                format="mixed",
                dayfirst=bool(dayfirst or prefer_dayfirst),
                utc=True,
                errors="coerce",
            )
    return parsed, order, guessed


def _orders(dayfirst: bool | None, prefer_dayfirst: bool) -> list[tuple[tuple[str, ...], str]]:
    """The format families in the order they are tried: the stated (or preferred) order, the
    other, then the formats no order can misread."""
    day, month = (_DAY_FIRST, "day first"), (_MONTH_FIRST, "month first")
    neutral = (_NEUTRAL, "unambiguous")
    first = dayfirst if dayfirst is not None else prefer_dayfirst
    return [day, month, neutral] if first else [month, day, neutral]


def _best_format(
    values: pd.Series, filled: int, dayfirst: bool | None, prefer_dayfirst: bool
) -> _Best | None:
    """The first format (with or without a time) that reads every cell, else the one that reads
    the most. A stated ``dayfirst`` rules the other order out."""
    best: _Best | None = None
    for rank, (fmts, label) in enumerate(_orders(dayfirst, prefer_dayfirst)):
        if dayfirst is not None and rank == 1:
            continue  # the mapping said which order
        for fmt in (base + t for base in fmts for t in _TIMES):
            got = _read_as(values, fmt)
            ok = int(got.notna().sum())
            if best is None or ok > best.read:
                best = _Best(ok, rank, label, got)
                if ok == filled:
                    return best
    return best


def _both_orders_read(values: pd.Series, best: _Best, dayfirst: bool | None, filled: int) -> bool:
    """Whether the other order would read every cell too: then the export's habits decided, and
    the reader says it guessed."""
    if best.rank != 0 or dayfirst is not None or best.label == "unambiguous":
        return False
    other = _MONTH_FIRST if best.label == "day first" else _DAY_FIRST
    return any(int(_read_as(values, f).notna().sum()) == filled for f in other)


__all__ = ["DateReading", "parse_dates"]
