"""Step 5: what a row carries beside its category: the flags of ``issues`` (in the order of
:data:`~payrecon.core.categories.FLAGS`), the columns they explain, and ``duplicate_role``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import fraction_fits
from payrecon.core._align import ResultRows
from payrecon.core._checks import not_fetched
from payrecon.core._inputs import Column, flat, to_numpy_mask
from payrecon.core._tolerance import Tolerance, tolerance_per_row
from payrecon.core.categories import DUPLICATE_ROLES
from payrecon.core.fees import FeeSchedule
from payrecon.platform import ZERO_DECIMAL_CURRENCIES
from payrecon.statuses._table import MONEY_TYPE, TEXT


@dataclass(frozen=True)
class Flags:
    """The flag masks in the order of ``FLAGS``, and the columns that go with them."""

    fee_schedule_mismatch: np.ndarray
    amount_precision: np.ndarray
    test_payment: np.ndarray
    not_fetched: np.ndarray
    status_regressed: np.ndarray
    expected_fee: Column  # what the fee schedule gives (null without one)
    status_history: pa.Array  # the regression's story, on flagged rows
    regressions: pd.DataFrame  # the regressions that name a row of this result

    def masks(self) -> list[np.ndarray]:
        return [
            self.fee_schedule_mismatch,
            self.amount_precision,
            self.test_payment,
            self.not_fetched,
            self.status_regressed,
        ]


def flags(
    rows: ResultRows,
    fee_schedule: FeeSchedule | None,
    fee_tolerance: Tolerance,
    regressions: pd.DataFrame | None,
) -> Flags:
    """Every flag of every row."""
    schedule_mismatch, expected_fee = fee_schedule_mismatch(rows, fee_schedule, fee_tolerance)
    regressed, history, named = status_regressed(rows, regressions)
    return Flags(
        fee_schedule_mismatch=schedule_mismatch,
        amount_precision=amount_precision(rows),
        test_payment=rows.found & to_numpy_mask(rows.platform["is_test"]),
        not_fetched=not_fetched(rows),
        status_regressed=regressed,
        expected_fee=expected_fee,
        status_history=history,
        regressions=named,
    )


def fee_schedule_mismatch(
    rows: ResultRows, fee_schedule: FeeSchedule | None, fee_tolerance: Tolerance
) -> tuple[np.ndarray, Column]:
    """The platform's fee is not what the fee schedule gives, beyond the fee tolerance; and the
    schedule's fee per row."""
    if fee_schedule is None:
        return np.zeros(rows.total, dtype=bool), pa.nulls(rows.total, MONEY_TYPE)
    amount, currency = rows.platform["amount"], rows.platform_currency
    expected = fee_schedule.expected_fees(amount, currency, rows.platform["payment_method_code"])
    zero = pa.scalar(Decimal(0), MONEY_TYPE)
    fee = pc.coalesce(rows.platform["fee_amount"], zero)
    off_by = pc.abs(pc.cast(pc.subtract(fee, expected), MONEY_TYPE))
    beyond = to_numpy_mask(pc.greater(off_by, tolerance_per_row(fee_tolerance, currency)))
    return rows.fetched_ok & beyond, expected


def amount_precision(rows: ResultRows) -> np.ndarray:
    """The platform amount has more fraction digits than its currency allows."""
    zero_decimal = pa.array(sorted(ZERO_DECIMAL_CURRENCIES), TEXT)
    no_cents = to_numpy_mask(pc.is_in(rows.platform_currency, value_set=zero_decimal))
    amount = flat(rows.platform["amount"])
    fits = np.where(no_cents, fraction_fits(amount, 0), fraction_fits(amount, 2))
    return rows.fetched_ok & amount.is_valid().to_numpy(zero_copy_only=False) & ~fits


def status_regressed(
    rows: ResultRows, regressions: pd.DataFrame | None
) -> tuple[np.ndarray, pa.Array, pd.DataFrame]:
    """The ``status_regressed`` mask, the ``status_history`` column, and the regressions that
    name a row of this result (:mod:`payrecon.core._regressions`)."""
    from payrecon.core._regressions import describe, empty

    if regressions is None or len(regressions) == 0:
        return np.zeros(rows.total, dtype=bool), pa.nulls(rows.total, TEXT), empty()
    table = regressions.drop_duplicates("id_payout", keep="last").reset_index(drop=True)
    ids = pa.array(table["id_payout"].astype(object).tolist(), TEXT)
    at = pc.index_in(rows.row_id, value_set=ids)
    hit = rows.found & to_numpy_mask(at.is_valid())
    texts = pa.array([describe(r) for _, r in table.iterrows()], TEXT)
    at_np = pc.fill_null(at, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    history = pc.take(texts, pa.array(at_np, mask=~hit))
    named = np.unique(at_np[hit])
    return hit, history, table.iloc[named].reset_index(drop=True)


def duplicate_roles(rows: ResultRows, duplicate: np.ndarray, agreements: np.ndarray) -> pa.Array:
    """``kept`` for the copy of each duplicated id that agrees with the platform on most of
    amount, currency and status (``agreements``, 0-3; all three when one does), the earliest
    booked (then the first in the file) among equals; ``extra`` for the other copies; empty on
    every other row."""
    at = np.flatnonzero(duplicate)
    if not len(at):
        return pa.nulls(rows.total, TEXT)
    codes = rows.match.ledger_codes  # duplicates are ledger rows: one code each
    dates = pc.cast(pc.take(rows.ledger.date, pa.array(at)), pa.int64())
    date_key = pc.fill_null(dates, np.iinfo(np.int64).max).to_numpy(zero_copy_only=False)
    order = np.lexsort((at, date_key, -agreements[at].astype(np.int64), codes[at]))
    sorted_codes = codes[at][order]
    first = np.ones(len(at), dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    role = np.ones(rows.total, dtype=np.int64)  # extra
    role[at[order][first]] = 0  # kept
    return pc.take(pa.array(DUPLICATE_ROLES, TEXT), pa.array(role, mask=~duplicate))
