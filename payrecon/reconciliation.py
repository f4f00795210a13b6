"""The result of a reconciliation: its tables, its metadata, and the ways it is written out.

A frozen dataclass in the manner of datacompy's report data: everything a report needs is computed
here (counts, totals, exceptions), so a template only lays it out. Money in the CSV files is plain
decimal text, exact, with the currency's usual decimals when that loses nothing (``12.50 EUR``,
``10000 IDR``) and every digit otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from payrecon.categories import ADVICE, CATEGORIES
from payrecon.frames import MONEY_TYPE
from payrecon.platform import ZERO_DECIMAL_CURRENCIES


def _plain_money_text(values: pa.Array) -> pa.Array:
    """Exact text with trailing zeros dropped (the general, slower path: regular expressions)."""
    text = pc.cast(values, pa.string())
    # Arrow writes zero as "0E-8" and magnitudes below 1e-6 in scientific notation: zero by regex,
    # the (rare) others through Decimal, exactly.
    text = pc.replace_substring_regex(text, r"^-?0E-?[0-9]+$", "0")
    sci = pc.fill_null(pc.match_substring(text, "E"), False)
    if pc.any(sci).as_py():
        idx = np.flatnonzero(sci.to_numpy(zero_copy_only=False))
        py = text.to_pylist()
        for i in idx:
            py[i] = format(Decimal(py[i]), "f")
        text = pa.array(py, pa.string())
    text = pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1")
    return pc.replace_substring_regex(text, r"\.$", "")


def money_text(values: pa.Array, currency: pa.Array | None = None) -> pa.Array:
    """Exact decimal text for a money column: with the currency's decimals (2, or 0 for
    zero-decimal currencies) where that loses nothing, else every significant digit.

    The common case is two casts per column (to the currency's scale, then to text); only values
    that need more digits, or have no currency, take the slower general path.
    """
    if values.null_count == len(values):
        return pa.nulls(len(values), pa.string())
    if currency is None:
        return _plain_money_text(values)
    zero_dec = pc.fill_null(
        pc.is_in(currency, value_set=pa.array(sorted(ZERO_DECIMAL_CURRENCIES))), False
    )
    precision = values.type.precision
    cents = pc.cast(values, pa.decimal128(precision, 2), safe=False)
    fits2 = pc.fill_null(pc.equal(pc.cast(cents, values.type), values), False)
    text = pc.cast(cents, pa.string())  # the one costly cast: "1234.50"
    if pc.any(zero_dec).as_py():
        whole = pc.cast(values, pa.decimal128(precision, 0), safe=False)
        fits0 = pc.and_(
            zero_dec, pc.fill_null(pc.equal(pc.cast(whole, values.type), values), False)
        )
        text = pc.if_else(
            fits0, pc.utf8_slice_codeunits(text, 0, -3), text
        )  # "10000.00" -> "10000"
        fits = pc.if_else(zero_dec, fits0, fits2)
    else:
        fits = fits2
    fits = pc.and_(fits, pc.fill_null(currency.is_valid(), False))
    rest = pc.and_(pc.invert(fits), values.is_valid())
    out = text
    if pc.any(rest).as_py():
        slow = _plain_money_text(pc.filter(values, rest))
        out = pc.replace_with_mask(out, rest, slow)
    return pc.if_else(values.is_valid(), out, pa.scalar(None, pa.string()))


_HMS: pa.Array | None = None


def _hms_table() -> pa.Array:
    """``"HH:MM:SS"`` for every second of a day, built once: formatting becomes one ``take``."""
    global _HMS
    if _HMS is None:
        _HMS = pa.array(
            [f"{h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60) for x in range(60)],
            pa.string(),
        )
    return _HMS


def iso_text(values: pa.Array) -> pa.Array:
    """UTC timestamps as ISO 8601 text (``2026-10-28T15:29:57Z``, microseconds when present).

    Built from integer arithmetic, the few distinct days and a table of the day's seconds,
    because pyarrow's ``strftime`` takes about a second per million values.
    """
    us = pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.int64())
    raw = pc.fill_null(us, 0).to_numpy(zero_copy_only=False)
    day_us = 86_400_000_000
    days = np.floor_divide(raw, day_us)
    of_day = raw - days * day_us
    uniq, inverse = np.unique(days, return_inverse=True)
    day_text = pa.array(np.datetime_as_string(uniq.astype("datetime64[D]")), pa.string())
    date = pc.take(day_text, pa.array(inverse.astype(np.int64)))
    hms = pc.take(_hms_table(), pa.array(of_day // 1_000_000))
    micros = of_day % 1_000_000
    parts: list[pa.Array | pa.Scalar] = [date, pa.scalar("T"), hms]
    if micros.any():
        parts += [pa.scalar("."), pc.utf8_lpad(pc.cast(pa.array(micros), pa.string()), 6, "0")]
    text = pc.binary_join_element_wise(*parts, pa.scalar("Z"), "")
    return pc.if_else(values.is_valid(), text, pa.scalar(None, pa.string()))


def _arrow_column(series: pd.Series) -> pa.Array:
    arr = (
        pa.array(series.array)
        if hasattr(series.array, "__arrow_array__")
        else pa.array(series, from_pandas=True)
    )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def frame_to_text_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as an arrow table of text ready for CSV: money exact, times ISO 8601 UTC."""
    cols: dict[str, pa.Array] = {}
    for name in frame.columns:
        arr = _arrow_column(frame[name])
        if arr.type == MONEY_TYPE or pa.types.is_decimal(arr.type):
            cur_name = _currency_for(name, frame)
            cur = _arrow_column(frame[cur_name]) if cur_name else None
            cols[name] = money_text(arr, cur)
        elif pa.types.is_timestamp(arr.type):
            cols[name] = iso_text(arr)
        else:
            cols[name] = arr
    return pa.table(cols)


def _currency_for(money_column: str, frame: pd.DataFrame) -> str | None:
    """Which currency column prices a money column of the rows or summary table."""
    if money_column.startswith("ledger_") and "ledger_currency" in frame.columns:
        return "ledger_currency"
    if money_column.startswith(("platform_", "expected_")) and "platform_currency" in frame.columns:
        return "platform_currency"
    for c in ("ledger_currency", "platform_currency"):
        if c in frame.columns:
            return c
    if "section" in frame.columns and "key" in frame.columns:
        return "key"
    return None


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a result table as CSV (exact money text); fast enough for millions of rows."""
    path = Path(path)
    pacsv.write_csv(frame_to_text_table(frame), path)
    return path


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`payrecon.reconcile` found.

    Attributes
    ----------
    rows
        One row per ledger row, then one per platform payout no ledger row names
        (columns: :data:`payrecon.reconcile.ROW_COLUMNS`).
    summary
        ``section == "category"``: one row per category with its ``count`` (all ten, in order);
        ``section == "currency"``: per currency (``key``) the exact sums ``ledger_amount``,
        ``platform_amount``, ``amount_difference`` (ledger - platform), ``ledger_fee``,
        ``platform_fee``, ``fee_difference``, and ``count`` of rows. A payout that several ledger
        rows name counts once on the platform side.
    exceptions
        The rows that need a person (see :mod:`payrecon.reconcile`).
    ledger_source, base_url, generated_at, period, tolerances, fee_schedule
        Where the data came from, when, the ledger's date range, and the settings used.
    """

    rows: pd.DataFrame
    summary: pd.DataFrame
    exceptions: pd.DataFrame
    ledger_source: str | None = None
    base_url: str | None = None
    generated_at: datetime | None = None
    period: tuple[pd.Timestamp, pd.Timestamp] | None = None
    tolerances: dict[str, Any] = field(default_factory=dict)
    fee_schedule: bool = False

    def explain(self, id_payout: str, *, store: Any = None, client: Any = None) -> Any:
        """One payout's story: its detail (fetched fresh with ``client``, else the ``store``'s),
        the status changes and callbacks the store saw, and the rows here that name it.

        Returns a :class:`payrecon.story.PayoutStory` (HTML in Jupyter, ``print`` for text).
        """
        from payrecon.story import gather_story

        return gather_story(id_payout, client=client, store=store, ledger=self.rows)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per category, every category present, in order."""
        part = self.summary[self.summary["section"] == "category"]
        return {str(k): int(v) for k, v in zip(part["key"], part["count"], strict=True)}

    @property
    def totals(self) -> pd.DataFrame:
        """The per-currency part of the summary, indexed by currency."""
        part = self.summary[self.summary["section"] == "currency"].drop(columns="section")
        return part.rename(columns={"key": "currency"}).set_index("currency")

    def to_csv(self, directory: str | Path) -> dict[str, Path]:
        """Write ``rows.csv``, ``summary.csv`` and ``exceptions.csv`` into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        return {
            "rows": write_csv(self.rows, out / "rows.csv"),
            "summary": write_csv(self.summary, out / "summary.csv"),
            "exceptions": write_csv(self.exceptions, out / "exceptions.csv"),
        }

    def to_html(self, path: str | Path, *, max_exceptions: int = 500) -> Path:
        """Write the HTML report: one self-contained file (CSS inline, charts embedded as PNG, no
        script), with what was reconciled, counts, exact totals per currency, charts and the
        ``max_exceptions`` worst exceptions (see :mod:`payrecon.report.html`)."""
        from payrecon.report.html import render_report

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_report(self, max_exceptions=max_exceptions), encoding="utf-8")
        return path

    def to_excel(self, path: str | Path) -> Path:
        """Write an ``.xlsx`` workbook: sheets Summary, Exceptions (worst first), Rows and About;
        money as numbers with the currency's decimals (see :mod:`payrecon.report.excel`)."""
        from payrecon.report.excel import write_workbook

        return write_workbook(self, path)

    def report_data(self, *, max_exceptions: int = 500) -> dict[str, Any]:
        """Everything the report shows, as plain values (money as exact text)."""
        totals = frame_to_text_table(
            self.summary[self.summary["section"] == "currency"]
        ).to_pylist()
        shown = self.exceptions.head(max_exceptions)
        return {
            "ledger_source": self.ledger_source,
            "base_url": self.base_url,
            "generated_at": self.generated_at.isoformat(timespec="seconds")
            if self.generated_at
            else None,
            "period": tuple(t.isoformat() for t in self.period) if self.period else None,
            "tolerances": self.tolerances,
            "fee_schedule": self.fee_schedule,
            "n_rows": len(self.rows),
            "n_exceptions": len(self.exceptions),
            "categories": [
                {"name": c, "count": self.counts.get(c, 0), "advice": ADVICE[c]} for c in CATEGORIES
            ],
            "totals": totals,
            "exception_columns": list(shown.columns),
            "exceptions": frame_to_text_table(shown).to_pylist(),
            "exceptions_shown": len(shown),
        }

    def summary_text(self) -> str:
        """One screen for a terminal: rows per category and the exact totals per currency."""
        counts = self.counts
        n_ledger = int(self.rows["source_row"].notna().sum())
        lines = [
            f"reconciled {n_ledger:,} ledger rows and {len(self.rows) - n_ledger:,} platform-only "
            f"payouts: {len(self.exceptions):,} need a person"
        ]
        lines += [f"  {c:<20} {n:>12,}" for c, n in counts.items() if n]
        table = frame_to_text_table(self.summary[self.summary["section"] == "currency"]).to_pylist()
        if table:
            lines.append(
                f"  {'currency':<10} {'ledger amount':>20} {'platform amount':>20} "
                f"{'difference':>18}"
            )
        for t in table:
            lines.append(
                f"  {t['key']:<10} {t['ledger_amount']:>20} {t['platform_amount']:>20} "
                f"{t['amount_difference']:>18}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from payrecon.report.html import render_summary

        return render_summary(self)

    def __repr__(self) -> str:
        nonzero = ", ".join(f"{k}={v}" for k, v in self.counts.items() if v)
        return f"<Reconciliation {len(self.rows)} rows: {nonzero}>"


__all__ = ["Reconciliation", "frame_to_text_table", "money_text", "write_csv"]
