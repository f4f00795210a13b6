"""Step 3: the result's rows, ledger and platform side by side.

One result row per ledger row (ledger order), then one per statuses row no ledger row names (in
statuses order), then one per ``ids`` entry the statuses table lacks. The platform's columns are
taken into that order with one ``take`` each; the ledger's are padded with nulls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.core._inputs import (
    UTC_TIMESTAMP,
    Column,
    LedgerColumns,
    chunks,
    column,
    to_numpy_mask,
)
from payrecon.core._match import IdMatch, match_ids
from payrecon.statuses._table import MONEY_TYPE, TEXT

#: The fetch error of a payout the platform answered 410 Gone.
NOT_FOUND = "not_found"

#: Tables with at least this many rows take the platform's columns on two threads.

#: The statuses columns a result row carries, with their arrow types.
_PLATFORM_COLUMNS: dict[str, pa.DataType] = {
    "status": TEXT,
    "amount": MONEY_TYPE,
    "currency": TEXT,
    "fee_amount": MONEY_TYPE,
    "error": TEXT,
    "payment_method_code": TEXT,
    "is_test": pa.bool_(),
    "created_at": UTC_TIMESTAMP,
    "processed_at": UTC_TIMESTAMP,
    "failure_reason_code": TEXT,
    "http_status": pa.int64(),
}


@dataclass(frozen=True)
class ResultRows:
    """Every result row's ledger side, platform side, and the facts the checks start from."""

    ledger: LedgerColumns  # the ledger's own columns (its rows only)
    match: IdMatch
    row_id: Column
    # the ledger side, null on the platform's own rows
    ledger_amount: Column
    ledger_currency: Column
    ledger_fee: Column
    ledger_status_mapped: Column
    # the platform side, null where the row names no fetched payout
    platform: dict[str, Column]  # every column of _PLATFORM_COLUMNS, as fetched
    platform_currency: Column  # upper case
    currency: Column  # the row's currency: the ledger's, else the platform's
    status_table_ids: Column  # the statuses table's ids (trimmed), in its order
    in_ledger: np.ndarray  # a ledger row
    blank_id: np.ndarray  # a ledger row with money and no payout id: nothing to look up
    found: np.ndarray  # the statuses table holds the row's id
    no_error: np.ndarray  # the fetch had no error (or the row has no platform side)
    first_of_id: np.ndarray  # the id's first ledger row (every platform row)
    ledger_says_status: np.ndarray  # the ledger has a status column and a status on this row

    @property
    def total(self) -> int:
        return len(self.in_ledger)

    # Derived masks, computed once on first use (a frozen dataclass still caches these).
    @cached_property
    def fetched_ok(self) -> np.ndarray:
        """A payout the platform answered."""
        return self.found & self.no_error

    @cached_property
    def in_both(self) -> np.ndarray:
        """A ledger row whose payout the platform answered: the rows the value checks compare."""
        return self.in_ledger & self.fetched_ok

    @cached_property
    def gone(self) -> np.ndarray:
        """The platform answered 410 Gone for the row's id."""
        return self.found & to_numpy_mask(pc.equal(self.platform["error"], NOT_FOUND))

    def padded(self, ledger_column: Column) -> Column:
        """A ledger column with nulls for the rows the platform adds."""
        return _pad(ledger_column, self.total)


def align(ledger: LedgerColumns, statuses: pd.DataFrame, ids: Iterable[str] | None) -> ResultRows:
    """Match the ledger's ids with the statuses table's and lay out the result rows."""
    status_ids = pc.utf8_trim_whitespace(column(statuses, "id_payout", TEXT))
    extra = [] if ids is None else list(dict.fromkeys(str(i).strip() for i in ids))
    match = match_ids(ledger.ids, status_ids, pa.array(extra, TEXT))
    n_ledger, n_unnamed, n_new = len(ledger), len(match.unnamed_rows), len(match.new_ids)
    total = n_ledger + n_unnamed + n_new
    status_row = pa.array(  # per result row: its statuses row, or null
        np.concatenate([match.status_row, match.unnamed_rows, np.full(n_new, -1, dtype=np.int64)]),
        mask=np.concatenate(
            [match.status_row < 0, np.zeros(n_unnamed, dtype=bool), np.ones(n_new, dtype=bool)]
        ),
    )
    platform = {
        name: pc.take(column(statuses, name, kind), status_row)
        for name, kind in _PLATFORM_COLUMNS.items()
    }
    row_id = pa.chunked_array(
        [
            *chunks(ledger.ids),
            *chunks(pc.take(status_ids, pa.array(match.unnamed_rows, pa.int64()))),
            match.new_ids,
        ],
        TEXT,
    )
    in_ledger = np.zeros(total, dtype=bool)
    in_ledger[:n_ledger] = True
    blank_id = np.zeros(total, dtype=bool)
    blank_id[:n_ledger] = to_numpy_mask(pc.equal(ledger.ids, ""), missing=True)
    first_of_id = np.ones(total, dtype=bool)
    if n_ledger:  # codes number ids as they first appear
        codes = match.ledger_codes
        seen_before = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
        first_of_id[:n_ledger] = codes > seen_before

    ledger_currency = _pad(ledger.currency, total)
    platform_currency = pc.utf8_upper(platform["currency"])
    status_mapped = _pad(ledger.status_mapped, total)
    if ledger.has_status:
        says_status = to_numpy_mask(status_mapped.is_valid())
    else:
        says_status = np.zeros(total, dtype=bool)
    return ResultRows(
        ledger=ledger,
        match=match,
        row_id=row_id,
        ledger_amount=_pad(ledger.amount, total),
        ledger_currency=ledger_currency,
        ledger_fee=_pad(ledger.fee, total),
        ledger_status_mapped=status_mapped,
        platform=platform,
        platform_currency=platform_currency,
        currency=pc.coalesce(ledger_currency, platform_currency),
        status_table_ids=status_ids,
        in_ledger=in_ledger,
        blank_id=blank_id,
        found=to_numpy_mask(status_row.is_valid()) & ~blank_id,
        no_error=to_numpy_mask(pc.equal(platform["error"], ""), missing=True),
        first_of_id=first_of_id,
        ledger_says_status=says_status,
    )


def _pad(ledger_column: Column, total: int) -> Column:
    """A ledger column, then nulls up to ``total`` rows."""
    extra = total - len(ledger_column)
    if not extra:
        return ledger_column
    return pa.chunked_array([*chunks(ledger_column), pa.nulls(extra, ledger_column.type)])
