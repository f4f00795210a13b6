"""What the report's charts show, taken from a :class:`Reconciliation`, and the charts as PNGs.

Sums are exact (pyarrow ``decimal128`` group-bys); they become floats only on their way into a
bar (:mod:`payrecon.report.charts`), and the text printed beside a bar is the exact sum's. Every
function is vectorised, so a million-row reconciliation charts in about a second.

The platform side counts each payout once: a payout that several ledger rows name
(``duplicate_in_ledger``) is one payout on the platform.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from payrecon.amounts import at_currency_scale
from payrecon.csvout import arrow_array
from payrecon.platform import PROCESSING
from payrecon.report import charts

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation


@dataclass(frozen=True)
class Chart:
    """One chart of the report: a title, a sentence on how to read it, the PNG."""

    key: str
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """``data:image/png;base64,...``: the picture inside the HTML, nothing to fetch."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def money_str(value: Decimal | None, currency: str | None) -> str:
    """Exact text: the currency's decimals when that loses nothing (``12.50``), else every digit."""
    return "" if value is None else f"{at_currency_scale(value, currency):f}"


def _for_drawing(value: Decimal | None) -> float:
    """A money sum as a float, to size a bar: never printed, never summed again."""
    return 0.0 if value is None else float(value)


#: The columns the charts read.
CHART_COLUMNS = (
    "id_payout",
    "platform_status",
    "platform_currency",
    "platform_amount",
    "expected_fee",
    "platform_created_at",
    "platform_processed_at",
)


def platform_payouts(rec: Reconciliation) -> pd.DataFrame:
    """The rows that carry a fetched platform payout, each payout once (chart columns only).

    Only ``duplicate_in_ledger`` rows can name a payout twice, so only those are deduplicated:
    a million-row reconciliation is not hashed whole for the sake of a few duplicates.
    """
    rows = rec.rows
    keep = (rows["platform_status"].notna() & (rows["error"].fillna("") == "")).to_numpy(bool)
    dup = (rows["category"] == "duplicate_in_ledger").to_numpy(dtype=bool, na_value=False)
    if dup.any():
        idx = np.flatnonzero(dup)
        again = rows["id_payout"].iloc[idx].duplicated().to_numpy(bool)
        keep[idx[again]] = False
    return rows.loc[keep, [c for c in CHART_COLUMNS if c in rows.columns]]


def amounts_by_status(payouts: pd.DataFrame) -> dict[str, dict[str, Decimal]]:
    """``{currency: {status: exact sum of platform amounts}}``, currencies sorted."""
    if payouts.empty:
        return {}
    table = pa.table(
        {
            "currency": arrow_array(payouts["platform_currency"].fillna("(unknown)")),
            "status": arrow_array(payouts["platform_status"]),
            "amount": arrow_array(payouts["platform_amount"]),
        }
    )
    out: dict[str, dict[str, Decimal]] = {}
    for rec in table.group_by(["currency", "status"]).aggregate([("amount", "sum")]).to_pylist():
        out.setdefault(rec["currency"], {})[rec["status"]] = rec["amount_sum"] or Decimal(0)
    return {c: out[c] for c in sorted(out)}


def expected_fees(payouts: pd.DataFrame) -> dict[str, Decimal]:
    """Per currency, the exact sum of the fees the fee schedule gives (where a rule covers)."""
    have = payouts.loc[payouts["expected_fee"].notna()]
    if have.empty:
        return {}
    table = pa.table(
        {
            "currency": arrow_array(have["platform_currency"].fillna("(unknown)")),
            "fee": arrow_array(have["expected_fee"]),
        }
    )
    grouped = table.group_by("currency").aggregate([("fee", "sum")]).to_pylist()
    return {r["currency"]: r["fee_sum"] for r in grouped}


def fee_bars(rec: Reconciliation, payouts: pd.DataFrame) -> list[charts.FeeBars]:
    """Per currency of the summary: ledger, platform and (with a fee schedule) contract fees."""
    expected = expected_fees(payouts) if rec.fee_schedule else {}
    bars = []
    for currency, t in rec.totals.iterrows():
        cur = str(currency)
        exp = expected.get(cur)
        bars.append(
            charts.FeeBars(
                currency=cur,
                ledger=_for_drawing(t["ledger_fee"]),
                platform=_for_drawing(t["platform_fee"]),
                expected=_for_drawing(exp) if rec.fee_schedule and exp is not None else None,
                difference_text=money_str(t["fee_difference"], cur),
            )
        )
    return bars


def processing_seconds(payouts: pd.DataFrame) -> np.ndarray:
    """Seconds from ``createdAt`` to ``processedAt`` of the payouts that have both."""
    both = payouts["platform_created_at"].notna() & payouts["platform_processed_at"].notna()
    part = payouts.loc[both]
    delta = part["platform_processed_at"] - part["platform_created_at"]
    return np.asarray(delta.dt.total_seconds().to_numpy(dtype=float))


def processing_ages(payouts: pd.DataFrame, as_of: datetime | None) -> np.ndarray:
    """Hours since ``createdAt`` of the payouts still ``PROCESSING``, as of ``as_of`` (now)."""
    now = pd.Timestamp(as_of or datetime.now(UTC))
    if now.tzinfo is None:
        now = now.tz_localize(UTC)
    still = payouts.loc[
        (payouts["platform_status"] == PROCESSING) & payouts["platform_created_at"].notna()
    ]
    return np.asarray(
        ((now - still["platform_created_at"]).dt.total_seconds() / 3600).to_numpy(dtype=float)
    )


def build_charts(rec: Reconciliation) -> list[Chart]:
    """The report's five charts, rendered."""
    payouts = platform_payouts(rec)
    by_status = amounts_by_status(payouts)
    shares = {c: {s: _for_drawing(v) for s, v in d.items()} for c, d in by_status.items()}
    totals_text = {c: money_str(sum(d.values(), Decimal(0)), c) for c, d in by_status.items()}
    seconds = processing_seconds(payouts)
    ages = processing_ages(payouts, rec.generated_at)
    n_cur = max(len(shares), 1)
    out = [
        Chart(
            "categories",
            "Rows by category",
            "Every ledger row and every platform payout no ledger row names, by the first "
            "category that applies. Red bars need a person.",
            charts.figure_png(lambda ax: charts.categories_bar(ax, rec.counts), size=(6.4, 3.4)),
        ),
        Chart(
            "amounts_by_status",
            "Platform amounts by status, per currency",
            "How each currency's payout total (exact, beside its code) splits by status on the "
            "platform; each payout counted once.",
            charts.figure_png(
                lambda ax: charts.amounts_by_status(ax, shares, totals_text),
                size=(6.4, 1.3 + 0.34 * n_cur),
            ),
        ),
        Chart(
            "fees",
            "Fees: ledger and fee schedule against the platform",
            "Per currency, the fees the ledger booked"
            + (" and those the fee schedule gives" if rec.fee_schedule else "")
            + " as a share of what the platform charged; above each currency, the exact difference "
            "(ledger - platform).",
            charts.figure_png(lambda ax: charts.fee_comparison(ax, fee_bars(rec, payouts))),
        ),
        Chart(
            "processing_time",
            "Processing time",
            f"From createdAt to processedAt for {len(seconds):,} final payouts (log scale); "
            "the red lines mark the median and the 90th percentile.",
            charts.figure_png(lambda ax: charts.processing_times(ax, seconds)),
        ),
        Chart(
            "aging",
            "Payouts still processing, by age",
            f"{len(ages):,} payouts were PROCESSING when fetched; their age at the time of this "
            "report. Old ones are worth raising with the platform.",
            charts.figure_png(lambda ax: charts.aging(ax, ages)),
        ),
    ]
    return out


__all__ = [
    "CHART_COLUMNS",
    "Chart",
    "amounts_by_status",
    "build_charts",
    "expected_fees",
    "fee_bars",
    "money_str",
    "platform_payouts",
    "processing_ages",
    "processing_seconds",
]
