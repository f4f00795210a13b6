"""Step 6: the result: the category of each row (the first mask that applies), ``issues``, the rows
and exceptions frames, the summary and its proof, the suggestions, and the metadata, as one
:class:`~payrecon.core.result.Reconciliation`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.core._align import ResultRows
from payrecon.core._conservation import with_proof
from payrecon.core._flags import Flags, duplicate_roles
from payrecon.core._inputs import Column
from payrecon.core._suggestions import suggestions
from payrecon.core._summary import conservation_proof, summarise
from payrecon.core._tolerance import Tolerance, describe_tolerance
from payrecon.core.categories import CATEGORIES, FLAGS, QUIET
from payrecon.core.fees import FeeSchedule
from payrecon.core.result import Reconciliation
from payrecon.statuses._table import TEXT, TIMESTAMP, pandas_type

if TYPE_CHECKING:
    from payrecon.ledger import SetAside

#: The columns of ``Reconciliation.rows``, in order.
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


@dataclass(frozen=True)
class RunInfo:
    """What the caller says about the run, carried into the result (and its report)."""

    tolerance: Tolerance
    fee_tolerance: Tolerance
    fee_schedule: FeeSchedule | None
    match_window: int
    ledger_source: str | None
    base_url: str | None
    generated_at: datetime | None
    set_aside: Mapping[str, int] | None  # reason -> rows, when not the reader's own count
    rows_read: int | None


def assemble(
    rows: ResultRows,
    categories: Mapping[str, np.ndarray],
    flags: Flags,
    amount_diff: Column,
    fee_diff: Column,
    run: RunInfo,
) -> Reconciliation:
    """The :class:`Reconciliation` of the rows, given each category's mask (in the order of
    :data:`CATEGORIES`, ``matched`` left out) and the flags."""
    if tuple(categories) != CATEGORIES[:-1]:
        raise ValueError(f"categories out of order: {list(categories)}")
    masks = list(categories.values())
    code = np.select(masks, list(range(len(masks))), default=len(masks)).astype(np.int8)
    columns = _row_columns(rows, categories, code, flags, amount_diff, fee_diff)
    needs_a_person = (
        ~np.isin(code, [CATEGORIES.index(q) for q in QUIET])
        | flags.fee_schedule_mismatch
        | flags.amount_precision
        | flags.test_payment
        | flags.status_regressed
    )
    info = rows.ledger.reader_info
    aside, set_aside, rows_read = _set_aside(info, run)
    summary, money_in, money_by_category = summarise(
        code,
        columns,
        rows.currency,
        rows.fetched_ok & rows.first_of_id,
        rows.in_ledger,
        aside.counts(),
        rows.ledger.has_fee,
    )
    table = pa.table({name: columns[name] for name in ROW_COLUMNS})
    rows_df = rows_frame(table)
    # Filtered in arrow, a few rows out of many: cheaper than pandas' ``.loc`` on every column.
    exceptions = rows_frame(
        table.filter(pa.array(needs_a_person)), index=np.flatnonzero(needs_a_person)
    )
    proof = conservation_proof(rows, code, money_in, money_by_category, set_aside, rows_read)
    return Reconciliation(
        rows=rows_df,
        summary=with_proof(summary, proof),
        exceptions=exceptions,
        ledger_source=run.ledger_source or info.get("source"),
        base_url=run.base_url,
        generated_at=run.generated_at or datetime.now(UTC),
        period=_period(rows.ledger.date),
        tolerances={
            "amount": describe_tolerance(run.tolerance),
            "fee": describe_tolerance(run.fee_tolerance),
        },
        fee_schedule=run.fee_schedule is not None,
        set_aside=aside.frame(),
        suggestions=suggestions(rows, table, code, run.tolerance, run.match_window),
        regressions=flags.regressions,
        conservation=proof,
        match_window=run.match_window,
    )


def _row_columns(
    rows: ResultRows,
    categories: Mapping[str, np.ndarray],
    code: np.ndarray,
    flags: Flags,
    amount_diff: Column,
    fee_diff: Column,
) -> dict[str, Column]:
    """Every column of :data:`ROW_COLUMNS`, in arrow."""
    masks = [*categories.values(), code == len(categories), *flags.masks()]
    # Which copy of a duplicated booking agrees with the platform (the one to keep): count
    # agreement on currency, amount and status.
    comparable = rows.in_both & ~categories["currency_mismatch"]
    agreements = (
        comparable.astype(np.int8)
        + (comparable & ~categories["amount_mismatch"]).astype(np.int8)
        + (rows.in_both & ~categories["status_mismatch"]).astype(np.int8)
    )
    platform = rows.platform
    return {
        "id_payout": rows.row_id,
        "category": pc.take(pa.array(CATEGORIES, TEXT), pa.array(code)),
        "issues": issues_column(masks, [*CATEGORIES, *FLAGS]),
        "source_row": rows.padded(rows.ledger.source_row),
        "ledger_amount": rows.ledger_amount,
        "platform_amount": platform["amount"],
        "amount_diff": amount_diff,
        "ledger_currency": rows.ledger_currency,
        "platform_currency": rows.platform_currency,
        "ledger_fee": rows.ledger_fee,
        "platform_fee": platform["fee_amount"],
        "fee_diff": fee_diff,
        "expected_fee": flags.expected_fee,
        "ledger_status": rows.padded(rows.ledger.status),
        "ledger_status_mapped": rows.ledger_status_mapped,
        "platform_status": platform["status"],
        "ledger_date": rows.padded(rows.ledger.date),
        "platform_created_at": platform["created_at"],
        "platform_processed_at": platform["processed_at"],
        "payment_method_code": platform["payment_method_code"],
        "is_test": platform["is_test"],
        "failure_reason_code": platform["failure_reason_code"],
        "http_status": platform["http_status"],
        "error": pc.if_else(
            pa.array(flags.not_fetched), pa.scalar("not_fetched", TEXT), platform["error"]
        ),
        "duplicate_role": duplicate_roles(rows, categories["duplicate_in_ledger"], agreements),
        "status_history": flags.status_history,
    }


def _set_aside(
    info: Mapping[str, Any], run: RunInfo
) -> tuple[SetAside, Mapping[str, int], int | None]:
    """The rows the reader set aside, and the counts the proof uses: the caller's when given,
    else the reader's own (with its count of rows read)."""
    from payrecon.ledger import SetAside  # the reader's record of the rows it set aside

    aside = info.get("set_aside")
    if not isinstance(aside, SetAside):
        aside = SetAside((), (), ())
    set_aside, rows_read = run.set_aside, run.rows_read
    if set_aside is None:
        set_aside = aside.counts()
        if rows_read is None and "rows_read" in info:
            rows_read = int(info["rows_read"])
    return aside, set_aside, rows_read


def _period(dates: Column) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last booking date of the ledger, if it has any."""
    dates = dates.drop_null()
    if not len(dates):
        return None
    lo, hi = pc.min_max(dates).values()
    return (pd.Timestamp(lo.as_py()), pd.Timestamp(hi.as_py()))


def issues_column(masks: list[np.ndarray], labels: list[str]) -> pa.Array:
    """``;``-joined labels of the masks true on each row, built once per distinct combination."""
    bits = np.zeros(len(masks[0]), dtype=np.int64)
    for i, mask in enumerate(masks):
        bits |= mask.astype(np.int64) << i
    combos = np.flatnonzero(np.bincount(bits, minlength=1 << len(masks)))
    slot = np.zeros(1 << len(masks), dtype=np.int64)
    slot[combos] = np.arange(len(combos))
    texts = [";".join(lab for i, lab in enumerate(labels) if int(c) >> i & 1) for c in combos]
    return pc.take(pa.array(texts, TEXT), pa.array(slot[bits]))


def rows_frame(table: pa.Table, index: np.ndarray | None = None) -> pd.DataFrame:
    """The rows table in pandas, labelled by row position in the whole result (``index``)."""
    frame = table.to_pandas(types_mapper=pandas_type)
    if index is not None:
        frame.index = pd.Index(index)
    for name in ROW_COLUMNS:
        if pa.types.is_timestamp(table[name].type) and frame[name].dtype != TIMESTAMP:
            frame[name] = frame[name].astype(TIMESTAMP)
    return frame
