"""The reconciliation core: a ledger table and a statuses table in, a :class:`Reconciliation` out.

Pure and vectorised: no I/O, no per-row Python, money exact (``decimal128``) throughout. The steps,
one private module each:

1. ``_inputs``: the two frames as arrow columns (arrow-backed pandas columns without a copy).
2. ``_match``: every id numbered once by hashing (``dictionary_encode``); matching ledger rows to
   statuses rows is then integer arithmetic on those numbers. When the statuses table starts with
   the ledger's ids in first-seen order (as ``payrecon fetch`` writes it), only the ledger's ids
   are hashed.
3. ``_align``: the result rows (ledger rows, then the payouts no ledger row names, then ``ids``
   the statuses table lacks), the platform's columns taken into that order.
4. ``_checks``: one function per category, in ``interface.md``'s order, each a boolean mask.
5. ``_flags``: the flags beside the categories, and ``duplicate_role``.
6. ``_assemble``: the category is the first mask that applies (``numpy.select``), ``issues`` one
   string per distinct combination of masks, the rows and exceptions frames; ``_summary`` sums
   per currency (on a side thread, beside the frames) and proves conservation.

The rules (``interface.md`` fixes the words and their order; the rest is documented here):

* One result row per ledger row (ledger order, ``source_row`` kept), then one per statuses row
  (and per ``ids`` entry) that no ledger row names, in statuses order.
* ``duplicate_in_ledger``: the id is on more than one ledger row; every such row gets it, and the
  platform payout counts once in the sums.
* ``no_payout_id``: a ledger row with money and a blank id (a bank charge, a transfer booked by
  hand). Nothing is fetched for it and no other check applies.
* ``missing_on_platform``: the fetch said ``not_found`` (410 Gone).
* ``fetch_error``: any other fetch error (``invalid_id``, ``timeout``, ...), or a ledger id (or an
  ``ids`` entry) the statuses table does not hold at all: flagged ``not_fetched``.
* ``missing_in_ledger``: a fetched payout that no ledger row names.
* ``currency_mismatch``: both sides have a currency and they differ. Amounts in two currencies are
  not compared: ``amount_diff`` and ``fee_diff`` stay empty on such rows.
* ``status_mismatch``: the ledger's mapped status differs from the platform's. Where the ledger
  has no status column, or the row's status cell is blank, only ``FAILED`` / ``REFUSED`` count.
* ``amount_mismatch``: ``|ledger - platform| > tolerance`` (absolute, per currency; default 0).
* ``fee_mismatch``: the ledger has a fee column and ``|ledger fee - platform fee| > fee tolerance``;
  a blank fee on either side counts as zero (a fee the ledger did not book is a difference).
* ``pending``: the platform says ``PROCESSING`` and the ledger agrees or says nothing.
* ``matched``: none of the above.

Flags after the category words in ``issues``: ``fee_schedule_mismatch`` (the platform's fee is not
what the fee schedule gives, beyond the fee tolerance), ``amount_precision`` (the platform amount
has more fraction digits than its currency allows), ``test_payment`` (``is_test``),
``not_fetched`` (see ``fetch_error``).

``exceptions`` are the rows that need a person: every category but ``matched`` and ``pending``,
plus rows carrying ``fee_schedule_mismatch``, ``amount_precision`` or ``test_payment``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd

from payrecon.categories import CATEGORIES, EXCEPTION_FLAGS, FLAGS
from payrecon.core._align import align
from payrecon.core._assemble import ROW_COLUMNS, RunInfo, assemble
from payrecon.core._checks import (
    amount_difference,
    amount_mismatch,
    currency_mismatch,
    duplicate_in_ledger,
    fee_difference,
    fee_mismatch,
    fetch_error,
    missing_in_ledger,
    missing_on_platform,
    no_payout_id,
    pending,
    status_mismatch,
)
from payrecon.core._flags import flags
from payrecon.core._inputs import ledger_columns
from payrecon.core._suggestions import DEFAULT_WINDOW
from payrecon.core._tolerance import Tolerance
from payrecon.fees import FeeSchedule
from payrecon.reconciliation import Reconciliation


def reconcile(
    ledger: pd.DataFrame,
    statuses: pd.DataFrame,
    *,
    ids: Iterable[str] | None = None,
    tolerance: Tolerance = None,
    fee_tolerance: Tolerance = None,
    fee_schedule: FeeSchedule | None = None,
    has_status: bool | None = None,
    has_fee: bool | None = None,
    ledger_source: str | None = None,
    base_url: str | None = None,
    generated_at: datetime | None = None,
    regressions: pd.DataFrame | None = None,
    match_window: int = DEFAULT_WINDOW,
    set_aside: Mapping[str, int] | None = None,
    rows_read: int | None = None,
    check: bool = True,
) -> Reconciliation:
    """Reconcile a ledger table against a statuses table.

    Parameters
    ----------
    ledger
        From :func:`payrecon.read_ledger`, or any frame with ``id_payout`` and ``amount`` (exact:
        ``Decimal`` or the money dtype) and optionally ``currency``, ``fee``, ``status`` /
        ``status_mapped``, ``date``, ``source_row``.
    statuses
        The statuses table (:mod:`payrecon.frames`). Payouts in it that no ledger row names become
        ``missing_in_ledger`` rows (or ``missing_on_platform`` / ``fetch_error`` if their fetch
        failed). A duplicated id keeps its last row (the latest fetch).
    ids
        Ids the platform has that the ledger may lack (the ``--ids`` file); any the statuses table
        does not hold become ``fetch_error`` rows flagged ``not_fetched``.
    tolerance, fee_tolerance
        Absolute tolerances for amounts and fees: one value for all, or ``{"IDR": 1, "*": 0}``
        per currency. Default exact; ``fee_tolerance`` defaults to ``tolerance``.
    fee_schedule
        When given, each fetched payout's fee is checked against it (``fee_schedule_mismatch``).
    has_status, has_fee
        Whether the ledger has a status / fee column; default: what ``read_ledger`` recorded, else
        whether the column exists.
    ledger_source, base_url, generated_at
        Metadata carried into the result and its report.
    regressions
        Payouts the store saw in one final status and now sees in another
        (:func:`payrecon.regressions.from_store`); their rows get the flag ``status_regressed``
        and the column ``status_history``.
    match_window
        Days between a ledger row's date and a payout's for a suggested match
        (:mod:`payrecon.core._suggestions`).
    set_aside, rows_read
        The rows the ledger reader set aside (reason -> count) and the rows it read in all, for
        the conservation proof (:mod:`payrecon.conservation`).
    check
        Raise :class:`~payrecon.errors.ConservationError` when the proof fails (the command line
        passes ``False``, writes its outputs, then checks).

    Returns
    -------
    Reconciliation
        ``rows``, ``summary``, ``exceptions``, ``suggestions``, ``conservation`` and metadata;
        see the module docstring for the rules.
    """
    if fee_tolerance is None:
        fee_tolerance = tolerance
    rows = align(ledger_columns(ledger, has_status, has_fee), statuses, ids)
    currency_differs = currency_mismatch(rows)
    comparable = rows.in_both & ~currency_differs  # amounts in two currencies are not compared
    amount_diff = amount_difference(rows, comparable)
    fee_diff = fee_difference(rows, comparable)
    categories = {  # interface.md's order: a row's category is the first that applies
        "duplicate_in_ledger": duplicate_in_ledger(rows),
        "no_payout_id": no_payout_id(rows),
        "missing_on_platform": missing_on_platform(rows),
        "fetch_error": fetch_error(rows),
        "missing_in_ledger": missing_in_ledger(rows),
        "currency_mismatch": currency_differs,
        "status_mismatch": status_mismatch(rows),
        "amount_mismatch": amount_mismatch(rows, amount_diff, comparable, tolerance),
        "fee_mismatch": fee_mismatch(rows, fee_diff, comparable, fee_tolerance),
        "pending": pending(rows),
    }  # and "matched": none of the above
    run = RunInfo(
        tolerance=tolerance,
        fee_tolerance=fee_tolerance,
        fee_schedule=fee_schedule,
        match_window=match_window,
        ledger_source=ledger_source,
        base_url=base_url,
        generated_at=generated_at,
        set_aside=set_aside,
        rows_read=rows_read,
    )
    flagged = flags(rows, fee_schedule, fee_tolerance, regressions)
    result = assemble(rows, categories, flagged, amount_diff, fee_diff, run)
    if check and result.conservation is not None:  # always set here
        result.conservation.verify()
    return result


__all__ = ["CATEGORIES", "EXCEPTION_FLAGS", "FLAGS", "ROW_COLUMNS", "reconcile"]
