"""The statuses table's columns and dtypes as the interface promises them, spelled out here.

Tests compare what payrecon produces with these, not with the package's own constants: a test
that checked ``dtype == payrecon.statuses._table.MONEY`` would pass even if that constant
turned into a float, and a column dropped from the package's list would vanish from the test too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

#: Money in tables: exact decimals, 30 digits with 8 after the point (docs/contributing.md).
MONEY_TYPE = pa.decimal128(30, 8)
MONEY = pd.ArrowDtype(MONEY_TYPE)
#: Text in tables: what pandas' ``string[pyarrow]`` holds (docs/performance.md).
TEXT = pa.large_string()
STRING = pd.StringDtype("pyarrow")
UTC_TIME = "datetime64[us, UTC]"

#: The interface's columns in its order, then the extras documented beside them.
STATUS_COLUMNS: dict[str, Any] = {
    "id_payout": STRING,
    "status": STRING,
    "amount": MONEY,
    "currency": STRING,
    "fee_amount": MONEY,
    "fee_currency": STRING,
    "payment_method_code": STRING,
    "created_at": UTC_TIME,
    "processed_at": UTC_TIME,
    "is_test": "boolean",
    "failure_reason_code": STRING,
    "http_status": "Int64",
    "error": STRING,
    "id_payment": STRING,
    "reference": STRING,
    "failure_message": STRING,
    "processor_status": STRING,
    "from_store": "boolean",
}


def dtypes_of(frame: pd.DataFrame) -> dict[str, Any]:
    """The frame's dtypes by column, comparable with :data:`STATUS_COLUMNS`."""
    return {str(c): t for c, t in frame.dtypes.items()}
