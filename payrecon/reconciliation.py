"""The result of a reconciliation: its tables, its metadata, and the ways it is written out.

A frozen dataclass in the manner of datacompy's report data: everything a report needs is computed
here (counts, totals, exceptions), so a template only lays it out. Money in the CSV files is plain
decimal text, exact, with the currency's usual decimals when that loses nothing (``12.50 EUR``,
``10000 IDR``) and every digit otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from payrecon.categories import ADVICE, CATEGORIES, FLAGS
from payrecon.csvout import frame_to_text_table, money_text, write_csv


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`payrecon.reconcile` found.

    Attributes
    ----------
    rows
        One row per ledger row, then one per platform payout no ledger row names
        (columns: :data:`payrecon.compare.ROW_COLUMNS`).
    summary
        ``section == "category"``: one row per category with its ``count`` (all of them, in order);
        ``section == "currency"``: per currency (``key``) the exact sums ``ledger_amount``,
        ``platform_amount``, ``amount_difference`` (ledger - platform), ``ledger_fee``,
        ``platform_fee``, ``fee_difference``, and ``count`` of rows. A payout that several ledger
        rows name counts once on the platform side. ``section == "set_aside"``: rows of the file
        set aside by reason (``key``); ``section == "rows"``: ``read`` = ``ledger`` + ``set_aside``.
    set_aside
        The rows of the ledger file that are not ledger rows: ``source_row``, ``reason``, ``line``
        (see :mod:`payrecon.ledger`); empty for a ledger table made by hand.
    exceptions
        The rows that need a person (see :mod:`payrecon.compare`).
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
    set_aside: pd.DataFrame = field(default_factory=lambda: _no_rows_set_aside())

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
    def flag_counts(self) -> dict[str, int]:
        """Rows carrying each extra flag of ``issues`` (:data:`~payrecon.categories.FLAGS`).

        Every flagged row is an exception, so only the exceptions are read, not every row.
        """
        issues = self.exceptions["issues"].fillna("")
        return {flag: int(issues.str.contains(flag, regex=False).sum()) for flag in FLAGS}

    @property
    def totals(self) -> pd.DataFrame:
        """The per-currency part of the summary, indexed by currency."""
        part = self.summary[self.summary["section"] == "currency"].drop(columns="section")
        return part.rename(columns={"key": "currency"}).set_index("currency")

    @property
    def set_aside_counts(self) -> dict[str, int]:
        """Rows of the ledger file set aside, by reason."""
        part = self.summary[self.summary["section"] == "set_aside"]
        return {str(k): int(v) for k, v in zip(part["key"], part["count"], strict=True)}

    def rows_line(self) -> str:
        """The conservation line: rows read = ledger rows + set aside (by reason)."""
        aside = self.set_aside_counts
        n_aside = sum(aside.values())
        n_ledger = int(self.rows["source_row"].notna().sum())
        why = ", ".join(f"{k} {v:,}" for k, v in aside.items())
        return (
            f"rows read {n_ledger + n_aside:,} = ledger rows {n_ledger:,} + set aside {n_aside:,}"
            + (f" ({why})" if why else "")
        )

    def to_csv(self, directory: str | Path) -> dict[str, Path]:
        """Write ``rows.csv``, ``summary.csv``, ``exceptions.csv`` and ``set_aside.csv`` into
        ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        return {
            "rows": write_csv(self.rows, out / "rows.csv"),
            "summary": write_csv(self.summary, out / "summary.csv"),
            "exceptions": write_csv(self.exceptions, out / "exceptions.csv"),
            "set_aside": write_csv(self.set_aside, out / "set_aside.csv"),
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
        lines.append(f"  {self.rows_line()}")
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


def _no_rows_set_aside() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_row": pd.Series([], dtype="int64"),
            "reason": pd.Series([], dtype="string[pyarrow]"),
            "line": pd.Series([], dtype="string[pyarrow]"),
        }
    )


__all__ = ["Reconciliation", "frame_to_text_table", "money_text", "write_csv"]
