"""Step 4: one function per category of ``interface.md``, in its order, each a boolean mask over
the result rows (:class:`~payrecon.core._align.ResultRows`).

A mask says whether the category *applies* to a row; the row's category is the first that applies
(``numpy.select`` in :mod:`payrecon.core._assemble`) and ``issues`` lists them all.
``matched`` is what is left, so it has no function here.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.core._align import ResultRows
from payrecon.core._inputs import to_numpy_mask
from payrecon.core._tolerance import Tolerance, tolerance_per_row
from payrecon.platform import FAILED, PROCESSING, REFUSED
from payrecon.statuses._table import MONEY_TYPE, TEXT

_ZERO = pa.scalar(Decimal(0), MONEY_TYPE)
_NO_MONEY = pa.scalar(None, MONEY_TYPE)


def duplicate_in_ledger(rows: ResultRows) -> np.ndarray:
    """The id is on more than one ledger row (every such row; a blank id is no id)."""
    mask = np.zeros(rows.total, dtype=bool)
    n_ledger = len(rows.ledger)
    if n_ledger:
        named_by = rows.match.ledger_count[rows.match.ledger_codes]
        mask[:n_ledger] = (named_by > 1) & ~rows.blank_id[:n_ledger]
    return mask


def no_payout_id(rows: ResultRows) -> np.ndarray:
    """A ledger row with money and a blank id: nothing to fetch, nothing else to check."""
    return rows.blank_id


def missing_on_platform(rows: ResultRows) -> np.ndarray:
    """The platform answered 410 Gone for the id."""
    return rows.gone


def not_fetched(rows: ResultRows) -> np.ndarray:
    """An id (of the ledger or of ``ids``) the statuses table does not hold at all."""
    return ~rows.found & ~rows.blank_id


def fetch_error(rows: ResultRows) -> np.ndarray:
    """The fetch failed for a reason other than 410 Gone, or the id was never fetched."""
    failed = rows.found & ~rows.no_error & ~rows.gone
    return not_fetched(rows) | failed


def missing_in_ledger(rows: ResultRows) -> np.ndarray:
    """A payout the platform answered that no ledger row names."""
    return ~rows.in_ledger & rows.fetched_ok


def currency_mismatch(rows: ResultRows) -> np.ndarray:
    """Ledger and platform both name a currency, and they differ."""
    differs = pc.not_equal(rows.ledger_currency, rows.platform_currency)
    return rows.in_both & to_numpy_mask(differs)


def status_mismatch(rows: ResultRows) -> np.ndarray:
    """The ledger's (mapped) status differs from the platform's; where the ledger says nothing,
    only a payout that failed on the platform (``FAILED`` / ``REFUSED``) counts."""
    platform_status = rows.platform["status"]
    failed = to_numpy_mask(pc.is_in(platform_status, value_set=pa.array([FAILED, REFUSED], TEXT)))
    if not rows.ledger.has_status:
        return rows.in_both & failed
    # a status the ledger states against a platform that states none differs too
    differs = to_numpy_mask(pc.not_equal(rows.ledger_status_mapped, platform_status), missing=True)
    return rows.in_both & np.where(rows.ledger_says_status, differs, failed)


def amount_difference(rows: ResultRows, comparable: np.ndarray) -> pa.Array:
    """``ledger - platform`` amount, exact; null on rows whose amounts are not comparable."""
    difference = _money_sub(rows.ledger_amount, rows.platform["amount"])
    return pc.if_else(pa.array(comparable), difference, _NO_MONEY)


def amount_mismatch(
    rows: ResultRows, difference: pa.Array, comparable: np.ndarray, tolerance: Tolerance
) -> np.ndarray:
    """``|ledger amount - platform amount|`` is beyond the tolerance of the row's currency."""
    allowed = tolerance_per_row(tolerance, rows.currency)
    return comparable & to_numpy_mask(pc.greater(pc.abs(difference), allowed))


def fee_difference(rows: ResultRows, comparable: np.ndarray) -> pa.Array:
    """``ledger - platform`` fee, a blank fee counting as zero; null where not comparable or the
    ledger has no fee column."""
    if not rows.ledger.has_fee:
        return pa.nulls(rows.total, MONEY_TYPE)
    ledger_fee = pc.coalesce(rows.ledger_fee, _ZERO)
    difference = _money_sub(ledger_fee, pc.coalesce(rows.platform["fee_amount"], _ZERO))
    return pc.if_else(pa.array(comparable), difference, _NO_MONEY)


def fee_mismatch(
    rows: ResultRows, difference: pa.Array, comparable: np.ndarray, tolerance: Tolerance
) -> np.ndarray:
    """The ledger has a fee column and ``|ledger fee - platform fee|`` is beyond the tolerance."""
    if not rows.ledger.has_fee:
        return np.zeros(rows.total, dtype=bool)
    allowed = tolerance_per_row(tolerance, rows.currency)
    return comparable & to_numpy_mask(pc.greater(pc.abs(difference), allowed))


def pending(rows: ResultRows) -> np.ndarray:
    """The platform still says ``PROCESSING`` and the ledger agrees or says nothing."""
    processing = to_numpy_mask(pc.equal(rows.platform["status"], PROCESSING))
    agrees = ~rows.ledger_says_status | to_numpy_mask(
        pc.equal(rows.ledger_status_mapped, PROCESSING)
    )
    return rows.in_both & processing & agrees


def _money_sub(a: pa.Array, b: pa.Array) -> pa.Array:
    """``a - b`` in the money type (arrow widens a decimal difference by one digit)."""
    return pc.cast(pc.subtract(a, b), MONEY_TYPE)
