"""Step 1: the ledger and statuses frames as arrow columns, and the options that depend on them.

Arrow-backed pandas columns are taken as they are (no copy, chunks kept); money is taken exactly
(``Decimal`` or the money dtype, never a binary float); a missing column is a column of nulls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.statuses._table import MONEY_TYPE, TEXT

Column: TypeAlias = pa.Array | pa.ChunkedArray

#: Result rows carry timestamps in this arrow type.
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


def flat(arr: Column) -> pa.Array:
    """One contiguous array (copied only when it really is in several chunks)."""
    if isinstance(arr, pa.ChunkedArray):
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def chunks(arr: Column) -> list[pa.Array]:
    """The arrays a column is made of (one for a plain array)."""
    return arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]


def to_numpy_mask(mask: Column, missing: bool = False) -> np.ndarray:
    """A boolean arrow column as a numpy mask, nulls read as ``missing``."""
    return pc.fill_null(mask, missing).to_numpy(zero_copy_only=False)


def _arrow(series: pd.Series, typ: pa.DataType) -> Column:
    """A pandas column as arrow data of ``typ`` (money: exact, never via float). Arrow-backed
    columns come as they are, chunks and all: no copy."""
    arr = series.array
    if isinstance(arr, pd.arrays.ArrowExtensionArray | pd.arrays.ArrowStringArray):
        out = pa.array(arr)  # the arrow data itself, no conversion
    elif typ == MONEY_TYPE:
        vals = [
            None if v is None or (not isinstance(v, str | Decimal) and pd.isna(v)) else v
            for v in series.astype(object)
        ]
        if any(isinstance(v, float) for v in vals):
            raise TypeError(f"column {series.name!r} holds binary floats; money must be exact")
        out = pa.array([None if v is None else Decimal(str(v)) for v in vals], MONEY_TYPE)
    elif series.dtype != object:
        out = pa.array(series, from_pandas=True)  # datetimes, masked ints and booleans, strings
    else:
        out = pa.array(series.where(series.notna(), None), from_pandas=True)
    if isinstance(out, pa.ChunkedArray) and out.num_chunks == 1:
        out = out.chunk(0)
    if out.type != typ:
        out = pc.cast(out, typ)
    return out


def column(frame: pd.DataFrame, name: str, typ: pa.DataType) -> Column:
    """``frame[name]`` as arrow data of ``typ``; all nulls when the frame lacks the column."""
    if name in frame.columns:
        return _arrow(frame[name], typ)
    return pa.nulls(len(frame), typ)


@dataclass(frozen=True)
class LedgerColumns:
    """The ledger's columns in arrow, cleaned the way every check reads them."""

    ids: Column  # trimmed; a missing id is a blank one
    amount: Column
    currency: Column  # trimmed, upper case
    fee: Column
    status: Column  # as booked
    status_mapped: (
        Column  # after the mapping's status_map (else the status upper-cased); blank: null
    )
    source_row: pa.Array  # the row's line in the file
    date: Column
    has_status: bool  # the ledger has a status column
    has_fee: bool  # the ledger has a fee column
    reader_info: Mapping[str, Any]  # what read_ledger recorded in ``attrs["payrecon"]``

    def __len__(self) -> int:
        return len(self.ids)


def ledger_columns(
    ledger: pd.DataFrame, has_status: bool | None, has_fee: bool | None
) -> LedgerColumns:
    """The ledger frame as :class:`LedgerColumns`; ``has_status`` / ``has_fee`` default to what
    ``read_ledger`` recorded, else to whether the column exists."""
    attrs = ledger.attrs.get("payrecon")
    info: dict[str, Any] = attrs if isinstance(attrs, dict) else {}
    if "id_payout" not in ledger.columns or "amount" not in ledger.columns:
        raise ValueError("the ledger table needs id_payout and amount columns")
    if has_status is None:
        has_status = bool(
            info.get("has_status", "status" in ledger.columns or "status_mapped" in ledger.columns)
        )
    if has_fee is None:
        has_fee = bool(info.get("has_fee", "fee" in ledger.columns))
    # a missing id is a blank one (a frame made by hand may hold None): one key for both
    ids = pc.fill_null(pc.utf8_trim_whitespace(column(ledger, "id_payout", TEXT)), "")
    status = column(ledger, "status", TEXT)
    if "status_mapped" in ledger.columns:
        mapped = column(ledger, "status_mapped", TEXT)
    else:
        mapped = pc.utf8_upper(pc.utf8_trim_whitespace(status))
    mapped = pc.if_else(pc.equal(pc.fill_null(mapped, ""), ""), pa.scalar(None, TEXT), mapped)
    if "source_row" in ledger.columns:
        source_row = pa.array(ledger["source_row"].to_numpy(dtype=np.int64))
    else:
        source_row = pa.array(np.arange(2, len(ledger) + 2, dtype=np.int64))
    return LedgerColumns(
        ids=ids,
        amount=column(ledger, "amount", MONEY_TYPE),
        currency=pc.utf8_upper(pc.utf8_trim_whitespace(column(ledger, "currency", TEXT))),
        fee=column(ledger, "fee", MONEY_TYPE),
        status=status,
        status_mapped=mapped,
        source_row=source_row,
        date=column(ledger, "date", UTC_TIMESTAMP),
        has_status=has_status,
        has_fee=has_fee,
        reader_info=info,
    )
