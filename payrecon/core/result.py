"""The result of a reconciliation: its tables, its metadata, and the ways it is written out.

A frozen dataclass holding the tables and the metadata; the report's view of it (counts, exact
totals, exceptions worst first, ...) is built once by :func:`payrecon.report.model.build_model`
and every renderer lays that out. This module imports nothing from :mod:`payrecon.report` at
import time: the report depends on the result, not the reverse. Money in the CSV files is plain
decimal text, exact, with the currency's usual decimals when that loses nothing (``12.50 EUR``,
``10000 IDR``) and every digit otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from payrecon.core.categories import FLAGS
from payrecon.csvout import frame_to_text_table, money_text, write_csv

if TYPE_CHECKING:
    from payrecon.core._conservation import Conservation


@dataclass(frozen=True)
class Reconciliation:
    """What :func:`payrecon.reconcile` found.

    Attributes
    ----------
    rows
        One row per ledger row, then one per platform payout no ledger row names
        (columns: :data:`payrecon.core.ROW_COLUMNS`).
    summary
        ``section == "category"``: one row per category with its ``count`` (all of them, in order);
        ``section == "currency"``: per currency (``key``) the exact sums ``ledger_amount``,
        ``platform_amount``, ``amount_difference`` (ledger - platform), ``ledger_fee``,
        ``platform_fee``, ``fee_difference``, and ``count`` of rows. A payout that several ledger
        rows name counts once on the platform side. ``section == "set_aside"``: rows of the file
        set aside by reason (``key``).
    set_aside
        The rows of the ledger file that are not ledger rows: ``source_row``, ``reason``, ``line``
        (see :mod:`payrecon.ledger`); empty for a ledger table made by hand.
    exceptions
        The rows that need a person (see :mod:`payrecon.core`).
    ledger_source, base_url, generated_at, period, tolerances, fee_schedule
        Where the data came from, when, the ledger's date range, and the settings used.
    suggestions
        Ledger rows whose id cannot be followed, each with a suggested payout (or group of
        payouts) where one fits, else the nearest one (:mod:`payrecon.core._suggestions`).
    regressions
        Payouts of this result seen in one final status and now in another
        (:mod:`payrecon.core._regressions`): ``id_payout``, ``status_before``, ``seen_before``,
        ``status_now``, ``seen_now``.
    conservation
        The proof that every row and unit of money in came out by category
        (:mod:`payrecon.core._conservation`).
    changes
        What changed since the previous run of the same name (:mod:`payrecon.core._changes`), once
        the
        run is recorded in a store; ``None`` before.
    run_name, previous_run_at
        The run's name and when the previous run of that name was (``None``: the first).
    balances
        The balance tie-out per currency (:mod:`payrecon.core._balances`), when balances were
        fetched.
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
    suggestions: pd.DataFrame | None = None
    regressions: pd.DataFrame | None = None
    conservation: Conservation | None = None
    match_window: int | None = None
    changes: pd.DataFrame | None = None
    run_name: str | None = None
    previous_run_at: datetime | None = None
    balances: pd.DataFrame | None = None

    def explain(self, id_payout: str, *, store: Any = None, client: Any = None) -> Any:
        """One payout's story: its detail (fetched fresh with ``client``, else the ``store``'s),
        the status changes and callbacks the store saw, and the rows here that name it.

        Returns a :class:`payrecon.store.story.PayoutStory` (HTML in Jupyter, ``print`` for text).
        """
        from payrecon.store.story import gather_story

        return gather_story(id_payout, client=client, store=store, ledger=self.rows)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per category, every category present, in order."""
        part = self.summary[self.summary["section"] == "category"]
        return {str(k): int(v) for k, v in zip(part["key"], part["count"], strict=True)}

    @property
    def flag_counts(self) -> dict[str, int]:
        """Rows carrying each extra flag of ``issues`` (:data:`~payrecon.core.categories.FLAGS`).

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

    @property
    def change_counts(self) -> dict[str, int]:
        """Rows of :attr:`changes` per kind (``new``, ``changed``, ``resolved``,
        ``still_open``); empty when the run was not recorded."""
        if self.changes is None:
            return {}
        from payrecon.core._changes import CHANGES

        counts = self.changes["change"].value_counts()
        return {c: int(counts.get(c, 0)) for c in CHANGES}

    def extra_tables(self) -> dict[str, pd.DataFrame]:
        """The tables beside rows, summary and exceptions that this result holds, by file stem:
        ``suggestions`` (always), ``changes`` (once recorded), ``balances`` (when fetched)."""
        tables = {"suggestions": self.suggestions, "changes": self.changes}
        tables["balances"] = self.balances
        return {k: v for k, v in tables.items() if v is not None}

    def to_csv(self, directory: str | Path) -> dict[str, Path]:
        """Write ``rows.csv``, ``summary.csv``, ``exceptions.csv`` and, when this result holds
        them, ``suggestions.csv``, ``changes.csv`` and ``balances.csv`` into ``directory``;
        ``set_aside.csv`` always (the rows of the ledger file that are not ledger rows)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = {
            "rows": write_csv(self.rows, out / "rows.csv"),
            "summary": write_csv(self.summary, out / "summary.csv"),
            "exceptions": write_csv(self.exceptions, out / "exceptions.csv"),
            "set_aside": write_csv(self.set_aside, out / "set_aside.csv"),
        }
        for name, frame in self.extra_tables().items():
            written[name] = write_csv(frame, out / f"{name}.csv")
        return written

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
        from payrecon.report.model import build_model

        return write_workbook(build_model(self, max_exceptions=0, sheets=True), path)

    def summary_text(self) -> str:
        """One screen for a terminal: rows per category and the exact totals per currency, then
        the changes, suggestions, tie-out and proof (see :mod:`payrecon.report.text`)."""
        from payrecon.report.model import build_model
        from payrecon.report.text import render_text

        return render_text(build_model(self, max_exceptions=0))

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
