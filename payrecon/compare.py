"""The reconciliation core: a ledger table and a statuses table in, a :class:`Reconciliation` out.

Pure and vectorised: no I/O, no per-row Python. Ledger rows find their payout with one hash lookup
(``pyarrow.compute.index_in``), every check is a boolean column, the category is ``numpy.select``
over those columns in the order of ``interface.md``, and ``issues`` is one element-wise string join.
Money stays ``decimal128`` throughout, so every difference and sum is exact.

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

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import fraction_fits
from payrecon.categories import CATEGORIES, DUPLICATE_ROLES, EXCEPTION_FLAGS, FLAGS, QUIET
from payrecon.conservation import prove, with_proof
from payrecon.fees import FeeSchedule
from payrecon.frames import MONEY, MONEY_TYPE, STRING, TEXT, TIMESTAMP, pandas_type
from payrecon.platform import FAILED, PROCESSING, REFUSED, ZERO_DECIMAL_CURRENCIES
from payrecon.reconciliation import Reconciliation
from payrecon.suggestions import CANDIDATE_CATEGORIES, DEFAULT_WINDOW, INVALID_ID, suggest

NOT_FOUND = "not_found"
ANY_CURRENCY = "*"
UNKNOWN_CURRENCY = "(unknown)"

Tolerance = Decimal | int | str | Mapping[str, Decimal | int | str] | None

ROW_COLUMNS = (
    "id_payout",
    "category",
    "issues",
    "source_row",
    "ledger_amount",
    "platform_amount",
    "amount_diff",
    "ledger_currency",
    "platform_currency",
    "ledger_fee",
    "platform_fee",
    "fee_diff",
    "expected_fee",
    "ledger_status",
    "ledger_status_mapped",
    "platform_status",
    "ledger_date",
    "platform_created_at",
    "platform_processed_at",
    "payment_method_code",
    "is_test",
    "failure_reason_code",
    "http_status",
    "error",
    "duplicate_role",
    "status_history",
)


#: Tables with at least this many rows do independent column work on two threads.
_PARALLEL_ROWS = 100_000

#: The statuses columns a result row carries, with their arrow types.
_PLATFORM_COLUMNS: dict[str, pa.DataType] = {
    "status": TEXT,
    "amount": MONEY_TYPE,
    "currency": TEXT,
    "fee_amount": MONEY_TYPE,
    "error": TEXT,
    "payment_method_code": TEXT,
    "is_test": pa.bool_(),
    "created_at": pa.timestamp("us", tz="UTC"),
    "processed_at": pa.timestamp("us", tz="UTC"),
    "failure_reason_code": TEXT,
    "http_status": pa.int64(),
}


def _in_parallel(
    fn: Callable[[tuple[str, pa.DataType]], Column],
    items: dict[str, pa.DataType],
    parallel: bool,
) -> dict[str, Column]:
    """``{name: fn((name, type))}``, on two threads when ``parallel``."""
    if not parallel:
        return {name: fn(item) for name, item in zip(items, items.items(), strict=True)}
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return dict(zip(items, pool.map(fn, items.items()), strict=True))


# -- inputs to arrow ---------------------------------------------------------------------------


Column: TypeAlias = pa.Array | pa.ChunkedArray


def _flat(arr: Column) -> pa.Array:
    """One contiguous array (copied only when it really is in several chunks)."""
    if isinstance(arr, pa.ChunkedArray):
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def _chunks(arr: Column) -> list[pa.Array]:
    return arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]


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


def _col(frame: pd.DataFrame, name: str, typ: pa.DataType) -> Column:
    if name in frame.columns:
        return _arrow(frame[name], typ)
    return pa.nulls(len(frame), typ)


def _tolerance_array(tol: Tolerance, currency: pa.Array) -> pa.Array | pa.Scalar:
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


def _tolerance_repr(tol: Tolerance) -> Any:
    if isinstance(tol, Mapping):
        return {k: str(v) for k, v in tol.items()}
    return str(tol if tol is not None else 0)


def _np(mask: Column, missing: bool = False) -> np.ndarray:
    return pc.fill_null(mask, missing).to_numpy(zero_copy_only=False)


def _money_sub(a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.cast(pc.subtract(a, b), MONEY_TYPE)


@dataclass(frozen=True)
class _Match:
    """Which statuses row (if any) each ledger row names, and what the ledger does not name."""

    ledger_codes: np.ndarray  # per ledger row: its id's number, ids numbered as first seen
    ledger_count: np.ndarray  # per id number: ledger rows naming it
    status_row: np.ndarray  # per ledger row: its statuses row (the id's last), or -1
    only: np.ndarray  # statuses rows no ledger row names: each id's last row, in table order
    new_ids: pa.Array  # extra ids neither table holds, in the order given
    status_ids: int  # distinct ids in the statuses table


def _match_aligned(l_id: Column, s_id: Column, extra: pa.Array) -> _Match | None:
    """The statuses table as ``payrecon fetch`` writes it for a ledger: the ledger's ids once each
    in the order they first appear, then any others. Then only the ledger's ids are hashed (the
    others are few): one pass over 1M ids instead of 2M. ``None`` when the table is not so."""
    if len(l_id) == 0 or l_id.null_count or s_id.null_count:
        return None
    enc = pc.dictionary_encode(_flat(l_id))
    ids = enc.dictionary
    u = len(ids)
    if u > len(s_id) or not pc.all(pc.equal(ids, _flat(s_id.slice(0, u)))).as_py():
        return None
    lc = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    chosen = np.arange(u, dtype=np.int64)  # the statuses row of each ledger id
    only = np.zeros(0, dtype=np.int64)
    tail_ids = pa.array([], TEXT)
    tail_known = 0  # distinct tail ids that are ledger ids too
    tail = _flat(s_id.slice(u))
    if len(tail):
        enc_t = pc.dictionary_encode(tail)
        tail_ids = enc_t.dictionary
        last = np.full(len(tail_ids), -1, dtype=np.int64)
        np.maximum.at(
            last,
            enc_t.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            np.arange(len(tail), dtype=np.int64),
        )
        hit = pc.fill_null(pc.index_in(ids, value_set=tail_ids), -1)
        hit_np = hit.to_numpy(zero_copy_only=False).astype(np.int64)
        again = hit_np >= 0
        tail_known = int(again.sum())
        chosen[again] = u + last[hit_np[again]]  # a later row of the same id wins
        named = np.zeros(len(tail_ids), dtype=bool)
        named[hit_np[again]] = True
        only = u + np.sort(last[~named])
    new_ids = extra
    if len(extra):
        known = np.zeros(len(extra), dtype=bool)
        at = pc.fill_null(pc.index_in(ids, value_set=extra), -1).to_numpy(zero_copy_only=False)
        known[at[at >= 0].astype(np.int64)] = True
        known |= _np(pc.is_in(extra, value_set=tail_ids))
        new_ids = extra.filter(pa.array(~known))
    status_ids = u + len(tail_ids) - tail_known
    return _Match(lc, np.bincount(lc, minlength=u), chosen[lc], only, new_ids, status_ids)


def _match(l_id: Column, s_id: Column, extra: pa.Array) -> _Match:
    """Number every id (ledger, statuses, extra) in one hash pass over all of them, chunks as
    they are (one table of 2M ids is faster than two of 1M: each lookup builds its own), then
    match on the numbers."""
    aligned = _match_aligned(l_id, s_id, extra)
    if aligned is not None:
        return aligned
    n, m = len(l_id), len(s_id)
    enc = pc.dictionary_encode(pa.chunked_array([*_chunks(l_id), *_chunks(s_id), extra], TEXT))
    dictionary = enc.chunk(0).dictionary if enc.num_chunks else pa.array([], TEXT)
    codes = np.concatenate(
        [np.zeros(0, np.int64)]
        + [c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in enc.chunks]
    )
    n_codes = len(dictionary)
    lc, sc, ec = codes[:n], codes[n : n + m], codes[n + m :]
    ledger_count = np.bincount(lc, minlength=n_codes)
    chosen = np.full(n_codes, -1, dtype=np.int64)  # each id's statuses row: its last one
    np.maximum.at(chosen, sc, np.arange(m, dtype=np.int64))
    only = np.flatnonzero((chosen[sc] == np.arange(m)) & (ledger_count[sc] == 0))
    new_codes = ec[(chosen[ec] < 0) & (ledger_count[ec] == 0)] if len(ec) else ec
    new_ids = pc.take(dictionary, pa.array(new_codes))
    return _Match(lc, ledger_count, chosen[lc], only, new_ids, int((chosen >= 0).sum()))


# -- the core ----------------------------------------------------------------------------------


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
        (:mod:`payrecon.suggestions`).
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
    info = (
        ledger.attrs.get("payrecon", {}) if isinstance(ledger.attrs.get("payrecon"), dict) else {}
    )
    if "id_payout" not in ledger.columns or "amount" not in ledger.columns:
        raise ValueError("the ledger table needs id_payout and amount columns")
    if has_status is None:
        has_status = bool(
            info.get("has_status", "status" in ledger.columns or "status_mapped" in ledger.columns)
        )
    if has_fee is None:
        has_fee = bool(info.get("has_fee", "fee" in ledger.columns))
    if fee_tolerance is None:
        fee_tolerance = tolerance

    n = len(ledger)
    # a missing id is a blank one (a frame made by hand may hold None): one key for both
    l_id = pc.fill_null(pc.utf8_trim_whitespace(_col(ledger, "id_payout", TEXT)), "")
    l_amount = _col(ledger, "amount", MONEY_TYPE)
    l_currency = pc.utf8_upper(pc.utf8_trim_whitespace(_col(ledger, "currency", TEXT)))
    l_fee = _col(ledger, "fee", MONEY_TYPE)
    l_status = _col(ledger, "status", TEXT)
    if "status_mapped" in ledger.columns:
        l_mapped = _col(ledger, "status_mapped", TEXT)
    else:
        l_mapped = pc.utf8_upper(pc.utf8_trim_whitespace(l_status))
    l_mapped = pc.if_else(pc.equal(pc.fill_null(l_mapped, ""), ""), pa.scalar(None, TEXT), l_mapped)
    if "source_row" in ledger.columns:
        l_row = pa.array(ledger["source_row"].to_numpy(dtype=np.int64))
    else:
        l_row = pa.array(np.arange(2, n + 2, dtype=np.int64))
    l_date = _col(ledger, "date", pa.timestamp("us", tz="UTC"))

    # Ledger ids hashed once into codes numbered in order of first appearance; each statuses id
    # looked up among them once. All matching below is integer arithmetic on those codes.
    s = statuses
    s_id = pc.utf8_trim_whitespace(_col(s, "id_payout", TEXT))
    extra = [] if ids is None else list(dict.fromkeys(str(i).strip() for i in ids))
    match = _match(l_id, s_id, pa.array(extra, TEXT))
    lc, idx_np, only, new = match.ledger_codes, match.status_row, match.only, match.new_ids
    k1, k2 = len(only), len(new)
    total = n + k1 + k2
    take_idx = pa.array(
        np.concatenate([idx_np, only, np.full(k2, -1, dtype=np.int64)]),
        mask=np.concatenate([idx_np < 0, np.zeros(k1, dtype=bool), np.ones(k2, dtype=bool)]),
    )

    # The platform's columns in row order: eleven independent takes, side by side on a big table
    # (arrow releases the GIL).
    platform = _in_parallel(
        lambda item: pc.take(_col(s, *item), take_idx), _PLATFORM_COLUMNS, total >= _PARALLEL_ROWS
    )

    def plat(name: str, typ: pa.DataType) -> Column:
        return platform[name]

    def led(arr: Column) -> Column:  # the ledger's rows, then none for the platform's own
        return pa.chunked_array([*_chunks(arr), pa.nulls(k1 + k2, arr.type)]) if k1 + k2 else arr

    row_id = pa.chunked_array(
        [*_chunks(l_id), *_chunks(pc.take(s_id, pa.array(only, pa.int64()))), new], TEXT
    )
    p_status = plat("status", TEXT)
    p_amount = plat("amount", MONEY_TYPE)
    p_currency = pc.utf8_upper(plat("currency", TEXT))
    p_fee = plat("fee_amount", MONEY_TYPE)
    p_error = plat("error", TEXT)
    p_method = plat("payment_method_code", TEXT)
    p_is_test = plat("is_test", pa.bool_())
    a_amount, a_currency, a_fee = led(l_amount), led(l_currency), led(l_fee)
    a_mapped = led(l_mapped)

    in_ledger = np.zeros(total, dtype=bool)
    in_ledger[:n] = True
    no_id = np.zeros(total, dtype=bool)  # ledger money with no payout id: nothing to look up
    no_id[:n] = _np(pc.equal(l_id, ""), missing=True)
    found = _np(take_idx.is_valid()) & ~no_id
    no_error = _np(pc.equal(p_error, ""), missing=True)
    fetched_ok = found & no_error
    both = in_ledger & fetched_ok

    # ledger ids on several rows; the first row of each id (codes number ids as they first appear)
    dup = np.zeros(total, dtype=bool)
    first_of_id = np.ones(total, dtype=bool)
    if n:
        dup[:n] = (match.ledger_count[lc] > 1) & ~no_id[:n]
        seen_before = np.maximum.accumulate(np.concatenate(([-1], lc[:-1])))
        first_of_id[:n] = lc > seen_before

    gone = _np(pc.equal(p_error, NOT_FOUND))
    missing_on_platform = found & gone
    not_fetched = ~found & ~no_id
    fetch_error = not_fetched | (found & ~no_error & ~gone)
    missing_in_ledger = ~in_ledger & fetched_ok

    cur_mm = both & _np(pc.not_equal(a_currency, p_currency))
    comparable = both & ~cur_mm
    final_bad = _np(pc.is_in(p_status, value_set=pa.array([FAILED, REFUSED], TEXT)))
    if has_status:
        said = _np(a_mapped.is_valid())
        differs = _np(pc.not_equal(a_mapped, p_status), missing=True)  # said, platform silent
        status_mm = both & np.where(said, differs, final_bad)
    else:
        said = np.zeros(total, dtype=bool)
        status_mm = both & final_bad

    key_currency = pc.coalesce(a_currency, p_currency)
    amount_diff = _money_sub(a_amount, p_amount)
    amount_diff = pc.if_else(pa.array(comparable), amount_diff, pa.scalar(None, MONEY_TYPE))
    tol = _tolerance_array(tolerance, key_currency)
    amount_mm = comparable & _np(pc.greater(pc.abs(amount_diff), tol))
    zero = pa.scalar(Decimal(0), MONEY_TYPE)
    if has_fee:
        fee_diff = _money_sub(pc.coalesce(a_fee, zero), pc.coalesce(p_fee, zero))
        fee_diff = pc.if_else(pa.array(comparable), fee_diff, pa.scalar(None, MONEY_TYPE))
        fee_tol = _tolerance_array(fee_tolerance, key_currency)
        fee_mm = comparable & _np(pc.greater(pc.abs(fee_diff), fee_tol))
    else:
        fee_diff = pa.nulls(total, MONEY_TYPE)
        fee_mm = np.zeros(total, dtype=bool)
    processing = _np(pc.equal(p_status, PROCESSING))
    agrees = ~said | _np(pc.equal(a_mapped, PROCESSING))
    pending = both & processing & agrees

    # Which copy of a duplicated booking agrees with the platform: the one to keep.
    agree = (
        (both & ~cur_mm).astype(np.int8)
        + (comparable & ~amount_mm).astype(np.int8)
        + (both & ~status_mm).astype(np.int8)
    )
    duplicate_role = _duplicate_roles(dup, lc, agree, l_date, total)

    conds = [
        dup,
        no_id,
        missing_on_platform,
        fetch_error,
        missing_in_ledger,
        cur_mm,
        status_mm,
        amount_mm,
        fee_mm,
        pending,
    ]
    code = np.select(conds, list(range(len(conds))), default=len(conds)).astype(np.int8)
    category = pc.take(pa.array(CATEGORIES, TEXT), pa.array(code))
    is_matched = code == len(conds)

    # Flags beyond the categories.
    if fee_schedule is not None:
        expected = fee_schedule.expected_fees(p_amount, p_currency, p_method)
        exp_diff = pc.abs(_money_sub(pc.coalesce(p_fee, zero), expected))
        flag_tol = _tolerance_array(fee_tolerance, p_currency)
        schedule_mm = fetched_ok & _np(pc.greater(exp_diff, flag_tol))
    else:
        expected = pa.nulls(total, MONEY_TYPE)
        schedule_mm = np.zeros(total, dtype=bool)
    zero_dec = _np(pc.is_in(p_currency, value_set=pa.array(sorted(ZERO_DECIMAL_CURRENCIES), TEXT)))
    p_amount_flat = _flat(p_amount)
    precision_bad = (
        fetched_ok
        & p_amount_flat.is_valid().to_numpy(zero_copy_only=False)
        & ~np.where(zero_dec, fraction_fits(p_amount_flat, 0), fraction_fits(p_amount_flat, 2))
    )
    test_payment = found & _np(p_is_test)
    regressed, status_history, regression_table = _regressions(regressions, row_id, found, total)
    flags = [schedule_mm, precision_bad, test_payment, not_fetched, regressed]

    issues = _issues([*conds, is_matched, *flags], [*CATEGORIES, *FLAGS])
    rows_arrow: dict[str, pa.Array] = {
        "id_payout": row_id,
        "category": category,
        "issues": issues,
        "source_row": led(l_row),
        "ledger_amount": a_amount,
        "platform_amount": p_amount,
        "amount_diff": amount_diff,
        "ledger_currency": a_currency,
        "platform_currency": p_currency,
        "ledger_fee": a_fee,
        "platform_fee": p_fee,
        "fee_diff": fee_diff,
        "expected_fee": expected,
        "ledger_status": led(l_status),
        "ledger_status_mapped": a_mapped,
        "platform_status": p_status,
        "ledger_date": led(l_date),
        "platform_created_at": plat("created_at", pa.timestamp("us", tz="UTC")),
        "platform_processed_at": plat("processed_at", pa.timestamp("us", tz="UTC")),
        "payment_method_code": p_method,
        "is_test": p_is_test,
        "failure_reason_code": plat("failure_reason_code", TEXT),
        "http_status": plat("http_status", pa.int64()),
        "error": pc.if_else(pa.array(not_fetched), pa.scalar("not_fetched", TEXT), p_error),
        "duplicate_role": duplicate_role,
        "status_history": status_history,
    }
    exc_mask = (
        ~np.isin(code, [CATEGORIES.index(q) for q in QUIET])
        | schedule_mm
        | precision_bad
        | test_payment
        | regressed
    )
    from payrecon.ledger import SetAside  # the reader's record of the rows it set aside

    aside = info.get("set_aside")
    if not isinstance(aside, SetAside):
        aside = SetAside((), (), ())
    aside_counts = aside.counts()
    if set_aside is None:  # the reader's own count of the rows it set aside
        set_aside = aside_counts
        if rows_read is None and "rows_read" in info:
            rows_read = int(info["rows_read"])
    with ThreadPoolExecutor(max_workers=1) as pool:  # the sums beside the frames
        summing = pool.submit(
            _summary,
            code,
            rows_arrow,
            key_currency,
            fetched_ok & first_of_id,
            in_ledger,
            aside_counts,
            has_fee,
        )
        table = pa.table({name: rows_arrow[name] for name in ROW_COLUMNS})
        rows = _rows_frame(table)
        # Filtered in arrow, a few rows out of many: cheaper than pandas' ``.loc`` on every column.
        exceptions = _rows_frame(table.filter(pa.array(exc_mask)), index=np.flatnonzero(exc_mask))
        summary, money_in, money_by_category = summing.result()
    once = found & first_of_id  # each distinct id of the statuses table, once
    errors = p_error.filter(pa.array(once & ~no_error))
    conservation = prove(
        ledger_rows=n,
        ledger_rows_by_category=dict(
            zip(CATEGORIES, np.bincount(code[:n], minlength=len(CATEGORIES)).tolist(), strict=True)
        ),
        money_in=money_in,
        money_by_category=money_by_category,
        # a blank id asked of the platform (a notebook fetching every ledger id) is the ledger's
        # no_payout_id rows' business: not a payout asked, and not one answered either
        asked=match.status_ids - int(bool(no_id.any()) and _np(pc.equal(s_id, "")).any()),
        answered=int((once & no_error).sum()),
        errors={str(v["values"]): int(v["counts"]) for v in pc.value_counts(errors).to_pylist()},
        set_aside=set_aside,
        rows_read=rows_read,
    )
    summary = with_proof(summary, conservation)
    suggestions = _suggestions(table, code, in_ledger, tolerance, match_window, l_id, n)
    dates = l_date.drop_null()
    period = None
    if len(dates):
        lo, hi = pc.min_max(dates).values()
        period = (pd.Timestamp(lo.as_py()), pd.Timestamp(hi.as_py()))
    rec = Reconciliation(
        rows=rows,
        summary=summary,
        exceptions=exceptions,
        ledger_source=ledger_source or info.get("source"),
        base_url=base_url,
        generated_at=generated_at or datetime.now(UTC),
        period=period,
        tolerances={"amount": _tolerance_repr(tolerance), "fee": _tolerance_repr(fee_tolerance)},
        fee_schedule=fee_schedule is not None,
        set_aside=aside.frame(),
        suggestions=suggestions,
        regressions=regression_table,
        conservation=conservation,
        match_window=match_window,
    )
    if check:
        conservation.verify()
    return rec


def _issues(masks: list[np.ndarray], labels: list[str]) -> pa.Array:
    """``;``-joined labels of the masks true on each row, built once per distinct combination."""
    bits = np.zeros(len(masks[0]), dtype=np.int64)
    for i, mask in enumerate(masks):
        bits |= mask.astype(np.int64) << i
    combos = np.flatnonzero(np.bincount(bits, minlength=1 << len(masks)))
    slot = np.zeros(1 << len(masks), dtype=np.int64)
    slot[combos] = np.arange(len(combos))
    texts = [";".join(lab for i, lab in enumerate(labels) if int(c) >> i & 1) for c in combos]
    return pc.take(pa.array(texts, TEXT), pa.array(slot[bits]))


def _rows_frame(table: pa.Table, index: np.ndarray | None = None) -> pd.DataFrame:
    """The rows table in pandas, labelled by row position in the whole result (``index``)."""
    frame = table.to_pandas(types_mapper=pandas_type)
    if index is not None:
        frame.index = pd.Index(index)
    for name in ROW_COLUMNS:
        if pa.types.is_timestamp(table[name].type) and frame[name].dtype != TIMESTAMP:
            frame[name] = frame[name].astype(TIMESTAMP)
    return frame


MoneySums: TypeAlias = dict[str, dict[str, Decimal]]


def _summary(
    code: np.ndarray,
    cols: dict[str, pa.Array],
    key_currency: pa.Array,
    platform_once: np.ndarray,
    in_ledger: np.ndarray,
    set_aside: Mapping[str, int],
    has_fee: bool = True,
) -> tuple[pd.DataFrame, MoneySums, dict[str, dict[str, dict[str, Decimal]]]]:
    """Counts per category (all of them, in order), rows set aside by reason, then exact sums
    per currency; and for the conservation proof, the ledger's money per currency and per
    currency and category."""
    counts = np.bincount(code.astype(np.int64), minlength=len(CATEGORIES))
    records: list[dict[str, Any]] = [
        {"section": "category", "key": c, "count": int(counts[i])} for i, c in enumerate(CATEGORIES)
    ]
    records += [{"section": "set_aside", "key": k, "count": v} for k, v in set_aside.items()]
    # Masked keys instead of filtered tables: rows of the other side group under a null key
    # (dropped below), and the money columns are already null where a side has no value.
    key = pc.fill_null(key_currency, UNKNOWN_CURRENCY)
    null_key = pa.scalar(None, TEXT)
    led = pa.table(
        {
            "currency": pc.if_else(pa.array(in_ledger), key, null_key),
            "amount": cols["ledger_amount"],
            "fee": cols["ledger_fee"],
            "code": pa.array(code),
        }
    )
    p_key = pc.fill_null(cols["platform_currency"], UNKNOWN_CURRENCY)
    plat = pa.table(
        {
            "currency": pc.if_else(pa.array(platform_once), p_key, null_key),
            "amount": cols["platform_amount"],
            "fee": cols["platform_fee"],
        }
    )
    rows_per = pa.table({"currency": key}).group_by("currency").aggregate([("currency", "count")])
    lg = led.group_by("currency").aggregate([("amount", "sum"), ("fee", "sum")])
    pg = plat.group_by("currency").aggregate([("amount", "sum"), ("fee", "sum")])
    sums: dict[str, dict[str, Any]] = {}
    for table, side in ((lg, "ledger"), (pg, "platform")):
        for rec in table.to_pylist():
            if rec["currency"] is None:
                continue
            d = sums.setdefault(rec["currency"], {})
            d[f"{side}_amount"] = rec["amount_sum"]
            d[f"{side}_fee"] = rec["fee_sum"]
    kinds = ("amount", "fee") if has_fee else ("amount",)
    zero = Decimal(0)
    money_in: MoneySums = {k: {} for k in kinds}
    for cur, d in sums.items():
        for k in kinds:
            if "ledger_amount" in d:  # a currency some ledger row has
                money_in[k][cur] = d[f"ledger_{k}"] or zero
    by_cat: dict[str, dict[str, dict[str, Decimal]]] = {k: {} for k in kinds}
    by_code = led.group_by(["currency", "code"]).aggregate([("amount", "sum"), ("fee", "sum")])
    for rec in by_code.to_pylist():
        if rec["currency"] is None:
            continue
        for k in kinds:
            per = by_cat[k].setdefault(rec["currency"], {})
            per[CATEGORIES[rec["code"]]] = rec[f"{k}_sum"] or zero
    n_rows = {r["currency"]: r["currency_count"] for r in rows_per.to_pylist()}
    zero = Decimal(0)
    for cur in sorted(sums, key=lambda c: (c == UNKNOWN_CURRENCY, c)):
        d = sums[cur]
        la, pa_, lf, pf = (
            d.get(k) or zero
            for k in ("ledger_amount", "platform_amount", "ledger_fee", "platform_fee")
        )
        records.append(
            {
                "section": "currency",
                "key": cur,
                "count": n_rows.get(cur, 0),
                "ledger_amount": la,
                "platform_amount": pa_,
                "amount_difference": la - pa_,
                "ledger_fee": lf,
                "platform_fee": pf,
                "fee_difference": lf - pf,
            }
        )
    money_cols = (
        "ledger_amount",
        "platform_amount",
        "amount_difference",
        "ledger_fee",
        "platform_fee",
        "fee_difference",
    )
    frame = pd.DataFrame(
        {
            "section": pd.Series([r["section"] for r in records], dtype=STRING),
            "key": pd.Series([r["key"] for r in records], dtype=STRING),
            "count": pd.Series([r["count"] for r in records], dtype="int64"),
        }
    )
    for c in money_cols:
        frame[c] = pd.Series(pa.array([r.get(c) for r in records], MONEY_TYPE), dtype=MONEY)
    return frame, money_in, by_cat


def _duplicate_roles(
    dup: np.ndarray, codes: np.ndarray, agree: np.ndarray, l_date: Column, total: int
) -> pa.Array:
    """``kept`` for the copy of each duplicated id that agrees with the platform on most of
    amount, currency and status (all three when one does), the earliest booked (then the first
    in the file) among equals; ``extra`` for the other copies; empty on every other row."""
    rows = np.flatnonzero(dup)
    if not len(rows):
        return pa.nulls(total, TEXT)
    dates = pc.cast(pc.take(l_date, pa.array(rows)), pa.int64())
    date_key = pc.fill_null(dates, np.iinfo(np.int64).max).to_numpy(zero_copy_only=False)
    order = np.lexsort((rows, date_key, -agree[rows].astype(np.int64), codes[rows]))
    sorted_codes = codes[rows][order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    role = np.ones(total, dtype=np.int64)  # extra
    role[rows[order][first]] = 0  # kept
    return pc.take(pa.array(DUPLICATE_ROLES, TEXT), pa.array(role, mask=~dup))


def _regressions(
    regressions: pd.DataFrame | None, row_id: Column, found: np.ndarray, total: int
) -> tuple[np.ndarray, pa.Array, pd.DataFrame]:
    """The ``status_regressed`` mask, the ``status_history`` column, and the regressions that
    name a row of this result."""
    from payrecon.regressions import describe, empty

    if regressions is None or len(regressions) == 0:
        return np.zeros(total, dtype=bool), pa.nulls(total, TEXT), empty()
    table = regressions.drop_duplicates("id_payout", keep="last").reset_index(drop=True)
    ids = pa.array(table["id_payout"].astype(object).tolist(), TEXT)
    at = pc.index_in(row_id, value_set=ids)
    hit = found & _np(at.is_valid())
    texts = pa.array([describe(r) for _, r in table.iterrows()], TEXT)
    at_np = pc.fill_null(at, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    history = pc.take(texts, pa.array(at_np, mask=~hit))
    named = np.unique(at_np[hit])
    return hit, history, table.iloc[named].reset_index(drop=True)


def _suggestions(
    table: pa.Table,
    code: np.ndarray,
    in_ledger: np.ndarray,
    tolerance: Tolerance,
    window: int,
    l_id: Column,
    n: int,
) -> pd.DataFrame:
    """Ledger rows whose id cannot be followed (blank, ``invalid_id``, ``missing_on_platform``,
    ``no_payout_id``) against the payouts no ledger row names (:mod:`payrecon.suggestions`)."""
    words = [CATEGORIES.index(w) for w in CANDIDATE_CATEGORIES if w in CATEGORIES]
    ledger_side = in_ledger & np.isin(code, words)
    # A blank or broken id is never fetched, so it is a fetch_error row: look only at those.
    failed = np.flatnonzero(in_ledger & (code == CATEGORIES.index("fetch_error")))
    if len(failed):
        at = pa.array(failed)
        blank = _np(pc.equal(pc.utf8_length(pc.take(l_id, at)), 0), missing=True)
        invalid = _np(pc.equal(pc.take(table["error"], at), INVALID_ID))
        ledger_side[failed] |= blank | invalid
    platform_side = code == CATEGORIES.index("missing_in_ledger")
    ledger = table.filter(pa.array(ledger_side))
    tol = _tolerance_array(tolerance, _flat(ledger["ledger_currency"]))
    return suggest(ledger, table.filter(pa.array(platform_side)), tolerance=tol, window=window)


__all__ = ["CATEGORIES", "EXCEPTION_FLAGS", "FLAGS", "ROW_COLUMNS", "reconcile"]
