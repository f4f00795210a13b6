"""Absolute tolerances for amounts and fees: one value for all rows, or one per currency."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from payrecon.statuses._table import MONEY_TYPE

#: The key of a per-currency tolerance that applies to every other currency.
ANY_CURRENCY = "*"

Tolerance = Decimal | int | str | Mapping[str, Decimal | int | str] | None


def tolerance_per_row(tol: Tolerance, currency: pa.Array) -> pa.Array | pa.Scalar:
    """Absolute tolerance: one value (a scalar) or ``{currency: value, "*": default}`` (per row)."""
    if not isinstance(tol, Mapping):
        return pa.scalar(Decimal(str(tol if tol is not None else 0)), MONEY_TYPE)
    default = pa.scalar(Decimal(str(tol.get(ANY_CURRENCY, 0))), MONEY_TYPE)
    out: pa.Array = pa.repeat(default, len(currency))
    cur = pc.fill_null(currency, "")
    for key, value in tol.items():
        if key != ANY_CURRENCY:
            hit = pc.equal(cur, key.strip().upper())
            out = pc.if_else(hit, pa.scalar(Decimal(str(value)), MONEY_TYPE), out)
    return out


def describe_tolerance(tol: Tolerance) -> Any:
    """The tolerance as the result's metadata shows it (text, per currency when per currency)."""
    if isinstance(tol, Mapping):
        return {k: str(v) for k, v in tol.items()}
    return str(tol if tol is not None else 0)
