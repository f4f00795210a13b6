"""The orders a person works through the report in: exceptions worst first, changes by kind.

One small module so the HTML page, the Jupyter view and the Excel workbook sort the same way
and none of them imports another renderer for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.core._changes import CHANGES
from payrecon.core.categories import CATEGORIES
from payrecon.csvout import arrow_array


def worst_first(exceptions: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Exceptions in the order a person should work through them (only the ``limit`` worst, when
    given: a report lists a few hundred of tens of thousands, and taking every row of a wide
    frame in the new order costs more than the sort).

    Status regressions first (money may have left and come back), then by category in
    ``interface.md``'s order (a duplicate booking before a fee difference; rows that are only
    flagged, such as a test payment, last), then by currency, then the largest absolute amount
    difference first, then the largest amount. Amounts in different currencies are not compared
    with each other: without exchange rates that comparison would mean nothing.
    """
    if len(exceptions) < 2:
        return exceptions if limit is None else exceptions.iloc[:limit]
    code = pd.Categorical(exceptions["category"], categories=list(CATEGORIES)).codes
    if "issues" in exceptions.columns:
        issues = pc.fill_null(arrow_array(exceptions["issues"]).cast(pa.string()), "")
    else:  # a frame without flags: nothing regressed
        issues = pa.array([""] * len(exceptions), pa.string())
    regressed = pc.match_substring(issues, "status_regressed")
    diff = arrow_array(exceptions["amount_diff"])
    amount = pc.coalesce(
        arrow_array(exceptions["platform_amount"]), arrow_array(exceptions["ledger_amount"])
    )
    currency = pc.coalesce(
        arrow_array(exceptions["ledger_currency"]), arrow_array(exceptions["platform_currency"])
    )
    table = pa.table(
        {
            "regressed": pc.cast(regressed, pa.int8()),
            "code": pa.array(np.asarray(code, dtype=np.int64)),
            "currency": pc.fill_null(pc.cast(currency, pa.string()), "~"),
            "diff": pc.abs(diff),
            "amount": pc.abs(amount),
            "pos": pa.array(np.arange(len(exceptions), dtype=np.int64)),
        }
    )
    order = pc.sort_indices(
        table,
        sort_keys=[
            ("regressed", "descending", "at_end"),
            ("code", "ascending", "at_end"),
            ("currency", "ascending", "at_end"),
            ("diff", "descending", "at_end"),
            ("amount", "descending", "at_end"),
            ("pos", "ascending", "at_end"),
        ],
    )
    return exceptions.iloc[order.to_numpy()[:limit]]


def moving_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The changes worth reading (new, changed, resolved; not ``still_open``), in
    :data:`~payrecon.core._changes.CHANGES`' order, stable within a kind."""
    order = {c: i for i, c in enumerate(CHANGES)}
    moving = changes[changes["change"] != "still_open"]
    return moving.iloc[np.argsort(moving["change"].map(order).to_numpy(), kind="stable")]


__all__ = ["moving_changes", "worst_first"]
