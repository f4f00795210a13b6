"""Step 7: the summary (counts per category, rows set aside, exact sums per currency) and the
conservation proof that nothing was lost between the ledger and the categories."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.core._align import ResultRows
from payrecon.core._conservation import Conservation, prove
from payrecon.core._inputs import to_numpy_mask
from payrecon.core.categories import CATEGORIES
from payrecon.statuses._table import MONEY, MONEY_TYPE, STRING, TEXT

#: The currency key of rows that name none on either side.
UNKNOWN_CURRENCY = "(unknown)"


MoneySums: TypeAlias = dict[str, dict[str, Decimal]]  # kind (amount, fee) -> currency -> sum
MoneyByCategory: TypeAlias = dict[str, dict[str, dict[str, Decimal]]]  # ... -> category -> sum

_ZERO = Decimal(0)
_MONEY_COLUMNS = (
    "ledger_amount",
    "platform_amount",
    "amount_difference",
    "ledger_fee",
    "platform_fee",
    "fee_difference",
)


def summarise(
    code: np.ndarray,
    cols: dict[str, pa.Array],
    key_currency: pa.Array,
    platform_once: np.ndarray,
    in_ledger: np.ndarray,
    set_aside: Mapping[str, int],
    has_fee: bool = True,
) -> tuple[pd.DataFrame, MoneySums, MoneyByCategory]:
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
    ledger_side = pa.table(
        {
            "currency": pc.if_else(pa.array(in_ledger), key, null_key),
            "amount": cols["ledger_amount"],
            "fee": cols["ledger_fee"],
            "code": pa.array(code),
        }
    )
    platform_key = pc.fill_null(cols["platform_currency"], UNKNOWN_CURRENCY)
    platform_side = pa.table(
        {
            "currency": pc.if_else(pa.array(platform_once), platform_key, null_key),
            "amount": cols["platform_amount"],
            "fee": cols["platform_fee"],
        }
    )
    rows_per = pa.table({"currency": key}).group_by("currency").aggregate([("currency", "count")])
    sums: dict[str, dict[str, Any]] = {}
    for table, side in ((ledger_side, "ledger"), (platform_side, "platform")):
        summed = table.group_by("currency").aggregate([("amount", "sum"), ("fee", "sum")])
        for rec in summed.to_pylist():
            if rec["currency"] is None:
                continue
            d = sums.setdefault(rec["currency"], {})
            d[f"{side}_amount"] = rec["amount_sum"]
            d[f"{side}_fee"] = rec["fee_sum"]
    money_in, by_category = _money_for_proof(ledger_side, sums, has_fee)
    n_rows = {r["currency"]: r["currency_count"] for r in rows_per.to_pylist()}
    records += _currency_records(sums, n_rows)
    return _summary_frame(records), money_in, by_category


def _money_for_proof(
    ledger_side: pa.Table, sums: dict[str, dict[str, Any]], has_fee: bool
) -> tuple[MoneySums, MoneyByCategory]:
    """The ledger's money per currency, and per currency and category (amounts, and fees when
    the ledger has them)."""
    kinds = ("amount", "fee") if has_fee else ("amount",)
    money_in: MoneySums = {k: {} for k in kinds}
    for cur, d in sums.items():
        for k in kinds:
            if "ledger_amount" in d:  # a currency some ledger row has
                money_in[k][cur] = d[f"ledger_{k}"] or _ZERO
    by_category: MoneyByCategory = {k: {} for k in kinds}
    by_code = ledger_side.group_by(["currency", "code"]).aggregate(
        [("amount", "sum"), ("fee", "sum")]
    )
    for rec in by_code.to_pylist():
        if rec["currency"] is None:
            continue
        for k in kinds:
            per = by_category[k].setdefault(rec["currency"], {})
            per[CATEGORIES[rec["code"]]] = rec[f"{k}_sum"] or _ZERO
    return money_in, by_category


def _currency_records(
    sums: dict[str, dict[str, Any]], n_rows: dict[str, int]
) -> list[dict[str, Any]]:
    """One summary record per currency (the unknown one last): rows, sums and differences."""
    records = []
    for cur in sorted(sums, key=lambda c: (c == UNKNOWN_CURRENCY, c)):
        d = sums[cur]
        la, pa_, lf, pf = (
            d.get(k) or _ZERO
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
    return records


def _summary_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The summary records as the frame ``Reconciliation.summary`` holds."""
    frame = pd.DataFrame(
        {
            "section": pd.Series([r["section"] for r in records], dtype=STRING),
            "key": pd.Series([r["key"] for r in records], dtype=STRING),
            "count": pd.Series([r["count"] for r in records], dtype="int64"),
        }
    )
    for c in _MONEY_COLUMNS:
        frame[c] = pd.Series(pa.array([r.get(c) for r in records], MONEY_TYPE), dtype=MONEY)
    return frame


def conservation_proof(
    rows: ResultRows,
    code: np.ndarray,
    money_in: MoneySums,
    money_by_category: MoneyByCategory,
    set_aside: Mapping[str, int],
    rows_read: int | None,
) -> Conservation:
    """The proof (:mod:`payrecon.core._conservation`): ledger rows and money in equal rows and money
    by category, and every id asked of the platform was answered or failed with a reason."""
    n_ledger = len(rows.ledger)
    once = rows.found & rows.first_of_id  # each distinct id of the statuses table, once
    errors = rows.platform["error"].filter(pa.array(once & ~rows.no_error))
    by_category = np.bincount(code[:n_ledger], minlength=len(CATEGORIES)).tolist()
    # a blank id asked of the platform (a notebook fetching every ledger id) is the ledger's
    # no_payout_id rows' business: not a payout asked, and not one answered either
    blank_asked = (
        bool(rows.blank_id.any()) and to_numpy_mask(pc.equal(rows.status_table_ids, "")).any()
    )
    return prove(
        ledger_rows=n_ledger,
        ledger_rows_by_category=dict(zip(CATEGORIES, by_category, strict=True)),
        money_in=money_in,
        money_by_category=money_by_category,
        asked=rows.match.status_ids - int(blank_asked),
        answered=int((once & rows.no_error).sum()),
        errors={str(v["values"]): int(v["counts"]) for v in pc.value_counts(errors).to_pylist()},
        set_aside=set_aside,
        rows_read=rows_read,
    )
