"""The report of a reconciliation as data: frozen dataclasses built once by :func:`build_model`.

Every view of a result renders from this one model and none of them computes or changes it:
the HTML page and the Jupyter view (:mod:`payrecon.report.html`, a jinja2 template), the Excel
workbook (:mod:`payrecon.report.excel`) and the terminal summary (:mod:`payrecon.report.text`).
So a number the page shows is the number the terminal prints, and a new line in the report is one
new field here plus one line per renderer.

Money is exact decimal text (as in the CSV files), never a float. The tables the workbook writes
whole (rows, exceptions worst first, the extra tables) are carried as the result's frames, read
only. The dependency runs one way: this package imports the result's module, the result reaches
the report only inside the methods that render (``to_html``, ``summary_text``, ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from payrecon import __version__
from payrecon.amounts import at_currency_scale
from payrecon.core._balances import gaps
from payrecon.core.categories import ADVICE, CATEGORIES, QUIET
from payrecon.csvout import frame_to_text_table
from payrecon.report.order import moving_changes, worst_first

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation
    from payrecon.report.figures import Chart

#: A table cell as the report shows it: exact text for money and times, else the plain value.
Cell = Any

#: Rows shown at most in each of the report's smaller tables (changes, suggestions, ...).
MAX_LISTED = 200

#: The flags the category table lists beside the categories (``status_regressed`` has its own
#: section, since the last run).
LISTED_FLAGS = ("fee_schedule_mismatch", "amount_precision", "test_payment")


@dataclass(frozen=True)
class Source:
    """What was reconciled, when, and with which settings."""

    ledger_source: str | None
    base_url: str | None
    period: tuple[datetime, datetime] | None
    generated_at: datetime | None
    amount_tolerance: str
    fee_tolerance: str
    fee_schedule: bool


@dataclass(frozen=True)
class CategoryLine:
    """One category: rows in it and what a person should do about them."""

    name: str
    count: int
    advice: str


@dataclass(frozen=True)
class CurrencyTotals:
    """Exact sums per currency; differences are ledger minus platform."""

    currency: str
    count: Cell
    ledger_amount: str | None
    platform_amount: str | None
    amount_difference: str | None
    ledger_fee: str | None
    platform_fee: str | None
    fee_difference: str | None


@dataclass(frozen=True)
class ExceptionRow:
    """One row that needs a person, with its flags split out and its category's advice."""

    id_payout: str | None
    category: str | None
    issues: str | None
    source_row: Cell
    ledger_currency: str | None
    platform_currency: str | None
    ledger_amount: str | None
    platform_amount: str | None
    amount_diff: str | None
    ledger_fee: str | None
    platform_fee: str | None
    fee_diff: str | None
    expected_fee: str | None
    ledger_status: str | None
    platform_status: str | None
    failure_reason_code: str | None
    error: str | None
    duplicate_role: str | None
    status_history: str | None
    flags: tuple[str, ...] = ()
    advice: str = ""


#: The exception table's columns, in order (all the rest is in rows.csv).
EXCEPTION_COLUMNS = tuple(
    f.name for f in dataclasses.fields(ExceptionRow) if f.name not in ("flags", "advice")
)


@dataclass(frozen=True)
class RegressionRow:
    """A payout seen final in one status and now in another."""

    id_payout: str | None
    status_before: str | None
    seen_before: str | None
    status_now: str | None
    seen_now: str | None


@dataclass(frozen=True)
class ChangeRow:
    """One exception that is new, changed or resolved since the previous run."""

    change: str
    id_payout: str | None
    source_row: Cell
    category_before: str | None
    category_now: str | None
    open_since: str | None
    runs_open: Cell


@dataclass(frozen=True)
class ChangeSummary:
    """Since the last run of the same name: counts per kind and the rows that moved."""

    run_name: str | None
    previous_run_at: datetime | None
    counts: tuple[tuple[str, int], ...]
    rows: tuple[ChangeRow, ...]
    n_moving: int


@dataclass(frozen=True)
class SuggestionRow:
    """A ledger row whose id cannot be followed, with a suggested (or the nearest) payout."""

    source_row: Cell
    ledger_id: str | None
    ledger_currency: str | None
    ledger_amount: str | None
    ledger_date: str | None
    suggested_id_payout: str | None
    score: Cell
    reasons: str | None
    nearest_id_payout: str | None
    nearest_amount_gap: str | None
    nearest_days_gap: Cell


@dataclass(frozen=True)
class Suggestions:
    """The suggested matches: how many rows, how many got one, the first rows."""

    n_rows: int
    n_suggested: int
    match_window: int | None
    rows: tuple[SuggestionRow, ...]


@dataclass(frozen=True)
class BalanceRow:
    """One currency of the balance tie-out."""

    currency: str | None
    platform_pending_payout_amount: str | None
    processing_seen_amount: str | None
    processing_seen_count: Cell
    processing_fees_seen: str | None
    gap: str | None
    balance: str | None
    available_balance: str | None
    note: str | None


@dataclass(frozen=True)
class TieOut:
    """The balance tie-out: the currencies with anything in flight (or a gap), how many others
    say nothing, and the gaps at their currency's scale."""

    rows: tuple[BalanceRow, ...]
    n_quiet: int
    gaps: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ProofLine:
    """One equation of the conservation proof, as text."""

    key: str
    left_label: str
    left: str
    right_label: str
    right: str
    terms: str
    holds: bool


@dataclass(frozen=True)
class Proof:
    """The conservation proof: its equations, whether all hold, and its terminal text."""

    holds: bool
    lines: tuple[ProofLine, ...]
    text: str


@dataclass(frozen=True, eq=False)
class Sheet:
    """A table the workbook writes whole (the result's own frame, read only; compared by
    identity, as a frame has no single truth value)."""

    title: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class ReportModel:
    """Everything any view of a reconciliation shows (see the module docstring)."""

    version: str
    source: Source
    n_rows: int
    n_ledger_rows: int
    n_platform_only: int
    n_exceptions: int
    n_quiet: int
    rows_read: str
    categories: tuple[CategoryLine, ...]
    flags: tuple[CategoryLine, ...]
    n_status_regressed: int
    totals: tuple[CurrencyTotals, ...]
    exceptions: tuple[ExceptionRow, ...]
    changes: ChangeSummary | None
    regressions: tuple[RegressionRow, ...]
    regression_advice: str
    suggestions: Suggestions | None
    tie_out: TieOut | None
    proof: Proof | None
    sheets: tuple[Sheet, ...]
    charts: tuple[Chart, ...] = ()


R = TypeVar("R")


def _text_rows(
    cls: type[R], frame: pd.DataFrame | None, limit: int | None = MAX_LISTED
) -> tuple[R, ...]:
    """The first ``limit`` rows (``None``: all) of ``frame`` as ``cls`` records: money and times
    as exact text, a column the frame lacks as ``None``; fields with defaults are left to them."""
    if frame is None or len(frame) == 0 or limit == 0:
        return ()
    names = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]  # type: ignore[arg-type]
    shown = frame.head(limit) if limit is not None else frame
    records = frame_to_text_table(shown[[n for n in names if n in shown.columns]]).to_pylist()
    return tuple(cls(**{n: r.get(n) for n in names}) for r in records)


def _source(rec: Reconciliation) -> Source:
    return Source(
        ledger_source=rec.ledger_source,
        base_url=rec.base_url,
        period=(rec.period[0].to_pydatetime(), rec.period[1].to_pydatetime())
        if rec.period
        else None,
        generated_at=rec.generated_at,
        amount_tolerance=str(rec.tolerances.get("amount", "")),
        fee_tolerance=str(rec.tolerances.get("fee", "")),
        fee_schedule=rec.fee_schedule,
    )


def _exceptions(ordered: pd.DataFrame, limit: int) -> tuple[ExceptionRow, ...]:
    rows = _text_rows(ExceptionRow, ordered, limit)
    return tuple(
        dataclasses.replace(
            r,
            flags=tuple(w for w in (r.issues or "").split(";")[1:] if w),
            advice=ADVICE.get(r.category or "", ""),
        )
        for r in rows
    )


def _changes(rec: Reconciliation) -> ChangeSummary | None:
    if rec.changes is None:
        return None
    moving = moving_changes(rec.changes)
    return ChangeSummary(
        run_name=rec.run_name,
        previous_run_at=rec.previous_run_at,
        counts=tuple(rec.change_counts.items()),
        rows=_text_rows(ChangeRow, moving),
        n_moving=len(moving),
    )


def _suggestions(rec: Reconciliation) -> Suggestions | None:
    s = rec.suggestions
    if s is None:
        return None
    return Suggestions(
        n_rows=len(s),
        n_suggested=int(s["suggested_id_payout"].notna().sum()),
        match_window=rec.match_window,
        rows=_text_rows(SuggestionRow, s),
    )


def _in_flight(balances: pd.DataFrame) -> pd.DataFrame:
    """The tie-out's currencies with anything in flight, or a gap: the others say nothing."""
    busy = (
        balances["platform_pending_payout_amount"].fillna(0).astype(object).ne(0)
        | balances["processing_seen_count"].fillna(0).ne(0)
        | balances["gap"].isna()
        | balances["gap"].fillna(0).astype(object).ne(0)
    )
    return balances[busy.to_numpy(dtype=bool)]


def _tie_out(rec: Reconciliation) -> TieOut | None:
    if rec.balances is None:
        return None
    busy = _in_flight(rec.balances)
    return TieOut(
        rows=_text_rows(BalanceRow, busy),
        n_quiet=len(rec.balances) - len(busy),
        gaps=tuple((c, str(at_currency_scale(g, c))) for c, g in gaps(rec.balances).items()),
    )


def _proof(rec: Reconciliation) -> Proof | None:
    proof = rec.conservation
    if proof is None:
        return None
    return Proof(
        holds=proof.holds,
        lines=tuple(ProofLine(**r) for r in proof.report_rows()),  # type: ignore[arg-type]
        text=proof.text(),
    )


def _sheets(rec: Reconciliation, ordered: pd.DataFrame) -> tuple[Sheet, ...]:
    """The workbook's tables: Summary, Exceptions (worst first), Rows, then the extra tables."""
    return (
        Sheet("Summary", rec.summary),
        Sheet("Exceptions", ordered),
        Sheet("Rows", rec.rows),
        *(Sheet(name.capitalize(), frame) for name, frame in rec.extra_tables().items()),
    )


def build_model(
    rec: Reconciliation, *, max_exceptions: int = 500, charts: bool = False, sheets: bool = False
) -> ReportModel:
    """The report of ``rec``: counts, exact totals, the ``max_exceptions`` worst exceptions,
    since the last run, suggestions, the tie-out, the proof, the PNG charts when ``charts``
    (matplotlib; the only slow part) and the workbook's tables when ``sheets`` (every exception
    in order, every row: only the workbook shows them, so the other views skip the work)."""
    counts = rec.counts
    flag_counts = rec.flag_counts
    ordered = worst_first(rec.exceptions, None if sheets else max_exceptions)
    n_ledger = int(rec.rows["source_row"].notna().sum())
    drawn: tuple[Chart, ...] = ()
    if charts:
        from payrecon.report.figures import build_charts

        drawn = tuple(build_charts(rec))
    return ReportModel(
        version=__version__,
        source=_source(rec),
        n_rows=len(rec.rows),
        n_ledger_rows=n_ledger,
        n_platform_only=len(rec.rows) - n_ledger,
        n_exceptions=len(rec.exceptions),
        n_quiet=sum(counts.get(q, 0) for q in QUIET),
        rows_read=rec.rows_line(),
        categories=tuple(CategoryLine(c, counts.get(c, 0), ADVICE[c]) for c in CATEGORIES),
        flags=tuple(CategoryLine(f, flag_counts.get(f, 0), ADVICE[f]) for f in LISTED_FLAGS),
        n_status_regressed=flag_counts.get("status_regressed", 0),
        totals=_text_rows(CurrencyTotals, rec.totals.reset_index(), None),
        exceptions=_exceptions(ordered, max_exceptions),
        changes=_changes(rec),
        regressions=_text_rows(RegressionRow, rec.regressions),
        regression_advice=ADVICE["status_regressed"],
        suggestions=_suggestions(rec),
        tie_out=_tie_out(rec),
        proof=_proof(rec),
        sheets=_sheets(rec, ordered) if sheets else (),
        charts=drawn,
    )


__all__ = [
    "EXCEPTION_COLUMNS",
    "LISTED_FLAGS",
    "MAX_LISTED",
    "BalanceRow",
    "CategoryLine",
    "ChangeRow",
    "ChangeSummary",
    "CurrencyTotals",
    "ExceptionRow",
    "Proof",
    "ProofLine",
    "RegressionRow",
    "ReportModel",
    "Sheet",
    "Source",
    "SuggestionRow",
    "Suggestions",
    "TieOut",
    "build_model",
]
