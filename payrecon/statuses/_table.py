"""The statuses table: its columns, their dtypes, and its round trip through CSV and Parquet.

Money is ``decimal128(30, 8)`` in pyarrow: exact, summable in one vectorised call, and a value that
would need more than 8 fraction digits fails loudly rather than being rounded. Every column has
the same dtype whatever mix of answers came back (all errors, all successes, empty), so code that
reads the table never has to guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from payrecon.amounts import MONEY_TYPE
from payrecon.client.records import FetchOutcome
from payrecon.statuses._csv import TEXT as TEXT  # what STRING holds: frames wrap, never copy

MONEY = pd.ArrowDtype(MONEY_TYPE)
STRING = pd.StringDtype("pyarrow")
TIMESTAMP = "datetime64[us, UTC]"

#: The statuses table of ``interface.md``, in order, then payrecon's extra columns.
STATUS_COLUMNS: dict[str, Any] = {
    "id_payout": STRING,
    "status": STRING,
    "amount": MONEY,
    "currency": STRING,
    "fee_amount": MONEY,
    "fee_currency": STRING,
    "payment_method_code": STRING,
    "created_at": TIMESTAMP,
    "processed_at": TIMESTAMP,
    "is_test": "boolean",
    "failure_reason_code": STRING,
    "http_status": "Int64",
    "error": STRING,
    # extras: useful in investigations, not part of the binding interface
    "id_payment": STRING,
    "reference": STRING,
    "failure_message": STRING,
    "processor_status": STRING,
    "from_store": "boolean",
}
MONEY_COLUMNS = tuple(c for c, t in STATUS_COLUMNS.items() if t is MONEY)
TIME_COLUMNS = tuple(c for c, t in STATUS_COLUMNS.items() if t == TIMESTAMP)


def pandas_type(typ: pa.DataType) -> Any:
    """The pandas dtype a result table's arrow column becomes (``types_mapper``): text as
    strings, money exact, integers, booleans and floats nullable; ``None`` (numpy's own) for
    timestamps."""
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return STRING
    if pa.types.is_decimal(typ):
        return MONEY
    if pa.types.is_boolean(typ):
        return pd.BooleanDtype()
    if pa.types.is_integer(typ):
        return pd.Int64Dtype()
    if pa.types.is_floating(typ):
        return pd.Float64Dtype()
    return None


def money_series(values: Iterable[Decimal | str | None], name: str | None = None) -> pd.Series:
    """An exact money column from ``Decimal``s, decimal strings or ``None``."""
    cleaned = [None if v is None or v == "" else Decimal(v) for v in values]
    return pd.Series(pa.array(cleaned, type=MONEY_TYPE), dtype=MONEY, name=name)


def _row(o: FetchOutcome) -> dict[str, Any]:
    d = o.detail
    if d is None:
        return {
            "id_payout": o.id_payout,
            "http_status": o.http_status,
            "error": o.error or "",
            "from_store": o.from_store,
        }
    return {
        "id_payout": o.id_payout,
        "status": d.status,
        "amount": d.amount,
        "currency": d.currency,
        "fee_amount": d.fee_amount,
        "fee_currency": d.fee_currency,
        "payment_method_code": d.payment_method_code,
        "created_at": d.created_at,
        "processed_at": d.processed_at,
        "is_test": d.is_test,
        "failure_reason_code": d.failure_reason_code,
        "http_status": o.http_status,
        "error": o.error or "",
        "id_payment": d.id_payment,
        "reference": d.reference,
        "failure_message": d.failure_message,
        "processor_status": d.processor_status,
        "from_store": o.from_store,
    }


def statuses_frame(outcomes: Iterable[FetchOutcome]) -> pd.DataFrame:
    """The statuses table, one row per outcome in the order given."""
    rows = [_row(o) for o in outcomes]
    return conform({c: [r.get(c) for r in rows] for c in STATUS_COLUMNS})


def conform(data: dict[str, list[Any]] | pd.DataFrame) -> pd.DataFrame:
    """Coerce columns to the table's dtypes, adding any that are missing (as all-missing)."""
    src = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    n = len(src)
    out: dict[str, pd.Series] = {}
    for col, dtype in STATUS_COLUMNS.items():
        if col not in src.columns and col != "error":
            out[col] = _all_missing(dtype, src.index)  # typed at once, no per-row Python
            continue
        values = src[col] if col in src.columns else pd.Series([None] * n, dtype=object)
        if values.dtype == dtype and col != "error":
            out[col] = values  # already right (e.g. from the vectorised CSV reader)
        elif dtype is MONEY and values.dtype == MONEY:
            out[col] = values
        elif dtype is MONEY:
            out[col] = money_series(
                [None if pd.isna(v) else v for v in values.astype(object)]
                if values.dtype != MONEY
                else values.astype(object).where(values.notna(), None),
                name=col,
            )
            out[col].index = src.index
        elif dtype == TIMESTAMP and values.dtype == TIMESTAMP:
            out[col] = values
        elif dtype == TIMESTAMP:
            out[col] = pd.to_datetime(values, utc=True, format="ISO8601").astype(TIMESTAMP)
        elif col == "error":
            out[col] = values.astype(STRING)
            if out[col].hasnans:  # only then: filling copies the column
                out[col] = out[col].fillna("")
        elif dtype == "boolean" and values.dtype != "boolean":
            out[col] = values.map(_to_bool, na_action="ignore").astype("boolean")
        elif dtype == "Int64" and values.dtype.kind not in "iu":
            out[col] = pd.to_numeric(values, errors="raise").astype("Int64")
        else:
            out[col] = values.astype(dtype)
    frame = pd.DataFrame(out, index=src.index)
    extra = [c for c in src.columns if c not in STATUS_COLUMNS]
    return pd.concat([frame, src[extra]], axis=1) if extra else frame


def _all_missing(dtype: Any, index: pd.Index) -> pd.Series:
    if dtype is MONEY:
        return pd.Series(
            pd.arrays.ArrowExtensionArray(pa.nulls(len(index), MONEY_TYPE)), index=index
        )
    if dtype == TIMESTAMP:
        return pd.Series(pd.NaT, index=index, dtype=TIMESTAMP)
    return pd.Series(pd.NA, index=index, dtype=dtype)


_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def _to_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def write_statuses(frame: pd.DataFrame, path: str | Path) -> None:
    """Write the table as ``.csv`` or ``.parquet`` (decimals kept).

    The CSV is written by :func:`payrecon.csvout.write_csv`, like every CSV payrecon writes: money
    as exact decimal text with the currency's decimals, times as ISO 8601 UTC, and text a
    spreadsheet would read as a formula quoted (:mod:`payrecon.cellsafe`); :func:`read_statuses`
    reads it back exactly.
    """
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        from payrecon.csvout import write_csv

        write_csv(frame, path)  # the one CSV writer: exact money, text safe to open
    else:
        from payrecon.errors import InputError

        raise InputError(f"{path}: the statuses table must be written as .csv or .parquet")


def read_statuses(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_statuses` (or by hand) back with exact dtypes."""
    path = Path(path)
    parquet = path.suffix.lower() == ".parquet"
    if parquet:
        return conform(pd.read_parquet(path))
    from payrecon.statuses._csv import read_statuses_table

    return statuses_from_table(read_statuses_table(path))


def statuses_from_table(table: pa.Table) -> pd.DataFrame:
    """The statuses table from what :func:`~payrecon.statuses._csv.read_statuses_table` read:
    typed columns wrapped as they are, text ones converted column by column."""
    return conform(
        pd.DataFrame(
            {
                col: _statuses_column(table[col], STATUS_COLUMNS.get(col))
                for col in table.column_names
            },
            copy=False,
        )
    )


def _statuses_column(arr: pa.ChunkedArray, dtype: Any) -> pd.Series:
    """One column read from CSV (typed, or text when the strict pass failed) in its dtype."""
    import pyarrow.compute as pc

    typed = not pa.types.is_large_string(arr.type)
    if dtype is MONEY:
        money = arr if typed else pc.cast(arr, MONEY_TYPE)
        return pd.Series(pd.arrays.ArrowExtensionArray(money), dtype=MONEY)
    if dtype == "Int64":
        ints = arr if typed else pc.cast(arr, pa.int64())
        return pd.Series(pd.Int64Dtype().__from_arrow__(ints))
    if dtype == TIMESTAMP:
        if not typed:
            try:
                arr = pc.cast(arr, pa.timestamp("us", tz="UTC"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return pd.Series(pd.arrays.ArrowStringArray(arr))  # conform parses the rest
        return pd.Series(arr.to_pandas()).astype(TIMESTAMP)
    if dtype == "boolean":
        if not typed:
            low = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
            arr = pc.if_else(
                pc.is_in(low, value_set=pa.array(sorted(_TRUE))),
                True,
                pc.if_else(
                    pc.is_in(low, value_set=pa.array(sorted(_FALSE))),
                    False,
                    pa.scalar(None, pa.bool_()),
                ),
            )
        return pd.Series(pd.BooleanDtype().__from_arrow__(arr))
    if not typed:
        return pd.Series(pd.arrays.ArrowStringArray(arr))
    return pd.Series(pd.arrays.ArrowExtensionArray(arr)).astype(STRING)
