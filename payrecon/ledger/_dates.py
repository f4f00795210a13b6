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
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        ser = pd.Series(pd.arrays.ArrowExtensionArray(arr)).astype(object)
        return DateReading(pd.to_datetime(ser, utc=True).astype(TIMESTAMP), [], "typed", False)
    trimmed = pc.utf8_trim_whitespace(pc.fill_null(pc.cast(col, pa.large_string()), ""))
    blank_arr = pc.equal(trimmed, "")
    if not date_format:
        # ISO 8601 (the usual machine export) parses in one arrow cast; naive means UTC.
        try:
            naive = pc.cast(pc.if_else(blank_arr, None, trimmed), pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            utc = pc.assume_timezone(naive, timezone="UTC")
            return DateReading(pd.Series(utc.to_pandas()).astype(TIMESTAMP), [], "iso", False)
    text = pd.Series(pd.arrays.ArrowExtensionArray(trimmed)).astype(object)
    blank = text.eq("")
    values = text.where(~blank)
    filled = int((~blank).sum())

    def attempt(fmt: str) -> pd.Series:
        return pd.to_datetime(values, format=fmt, utc=True, errors="coerce")

    order, guessed = date_format or "none", False
    if date_format:
        parsed = attempt(date_format)
    else:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        order = "iso"
        if int(parsed.notna().sum()) < filled:
            best: tuple[int, int, str, pd.Series] | None = None
            firsts = (
                (True, False)
                if (dayfirst if dayfirst is not None else prefer_dayfirst)
                else (False, True)
            )
            for rank, (fmts, label) in enumerate(
                [
                    (
                        _DAY_FIRST if firsts[0] else _MONTH_FIRST,
                        "day first" if firsts[0] else "month first",
                    ),
                    (
                        _MONTH_FIRST if firsts[0] else _DAY_FIRST,
                        "month first" if firsts[0] else "day first",
                    ),
                    (_NEUTRAL, "unambiguous"),
                ]
            ):
                if dayfirst is not None and rank == 1:
                    continue  # the mapping said which order
                for base in fmts:
                    for t in _TIMES:
                        got = attempt(base + t)
                        ok = int(got.notna().sum())
                        if best is None or ok > best[0]:
                            best = (ok, rank, label, got)
                        if ok == filled:
                            break
                    if best is not None and best[0] == filled:
                        break
                if best is not None and best[0] == filled:
                    break
            if best is not None and best[0] > int(parsed.notna().sum()):
                parsed, order = best[3], best[2]
                if best[1] == 0 and dayfirst is None and best[2] != "unambiguous":
                    # Would the other order read every cell too? Then the export's habits decided.
                    other = _MONTH_FIRST if best[2] == "day first" else _DAY_FIRST
                    guessed = any(int(attempt(f).notna().sum()) == filled for f in other)
            if int(parsed.notna().sum()) < filled:
                left = parsed.isna() & ~blank
                parsed.loc[left] = pd.to_datetime(
                    values[left],
                    format="mixed",
                    dayfirst=bool(dayfirst or prefer_dayfirst),
                    utc=True,
                    errors="coerce",
                )
    bad = parsed.isna() & ~blank
    problems = [
        Problem(file, int(rows[i]), column, f"not a date: {text.iloc[i]!r}")
        for i in np.flatnonzero(bad.to_numpy())
    ]
    return DateReading(parsed.astype(TIMESTAMP), problems, order, guessed)


__all__ = ["DateReading", "parse_dates"]
