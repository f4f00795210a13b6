"""The HTML report of a :class:`~payrecon.reconciliation.Reconciliation`, from a jinja2 template.

One self-contained file: the CSS sits in a ``<style>`` element, the charts are PNGs inside
``data:image/png;base64,...`` URIs, and there is no script and no address of anything to fetch, so
the page reads the same from a mail attachment, a file share or an air-gapped laptop, and prints.

The template only lays out :func:`report_view`: the numbers are
:meth:`Reconciliation.report_data`'s (exact text) and the exceptions are ordered here, worst first.
Autoescaping is on: ids and status words come from users' files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Environment, PackageLoader, select_autoescape

from payrecon import __version__
from payrecon.categories import ADVICE, CATEGORIES, QUIET
from payrecon.csvout import arrow_array

if TYPE_CHECKING:
    from payrecon.reconciliation import Reconciliation

_env = Environment(
    loader=PackageLoader("payrecon.report", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def group_digits(text: str | None) -> str:
    """``-1234567.50`` as ``-1,234,567.50``: exact decimal text grouped by thousands for reading.

    A text operation on the exact value (never through a number), so no digit can change.
    """
    if text is None:
        return ""
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, frac = body.partition(".")
    if not whole.isdigit():
        return text
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ",".join(groups) + dot + frac


_env.filters["money"] = group_digits

#: The exception table's columns, in order (all the rest is in rows.csv).
EXCEPTION_COLUMNS = (
    "id_payout",
    "category",
    "issues",
    "source_row",
    "ledger_currency",
    "platform_currency",
    "ledger_amount",
    "platform_amount",
    "amount_diff",
    "ledger_fee",
    "platform_fee",
    "fee_diff",
    "expected_fee",
    "ledger_status",
    "platform_status",
    "failure_reason_code",
    "error",
    "duplicate_role",
    "status_history",
)

#: Rows shown at most in each of the report's smaller tables (changes, suggestions).
MAX_LISTED = 200


def worst_first(exceptions: pd.DataFrame) -> pd.DataFrame:
    """Exceptions in the order a person should work through them.

    Status regressions first (money may have left and come back), then by category in
    ``interface.md``'s order (a duplicate booking before a fee difference; rows that are only
    flagged, such as a test payment, last), then by currency, then the largest absolute amount
    difference first, then the largest amount. Amounts in different currencies are not compared
    with each other: without exchange rates that comparison would mean nothing.
    """
    if len(exceptions) < 2:
        return exceptions
    code = pd.Categorical(exceptions["category"], categories=list(CATEGORIES)).codes
    if "issues" in exceptions.columns:
        issues = pc.fill_null(arrow_array(exceptions["issues"]).cast(pa.string()), "")
    else:  # a frame without flags: nothing regressed
        issues = pa.array([""] * len(exceptions), pa.string())
    regressed = pc.match_substring(issues, "status_regressed")
    diff = arrow_array(exceptions["amount_diff"])
    amount = pc.coalesce(
        arrow_array(exceptions["platform_amount"]), arrow_array(exceptions["ledger_amount"])
    )
    currency = pc.coalesce(
        arrow_array(exceptions["ledger_currency"]), arrow_array(exceptions["platform_currency"])
    )
    table = pa.table(
        {
            "regressed": pc.cast(regressed, pa.int8()),
            "code": pa.array(np.asarray(code, dtype=np.int64)),
            "currency": pc.fill_null(pc.cast(currency, pa.string()), "~"),
            "diff": pc.abs(diff),
            "amount": pc.abs(amount),
            "pos": pa.array(np.arange(len(exceptions), dtype=np.int64)),
        }
    )
    order = pc.sort_indices(
        table,
        sort_keys=[
            ("regressed", "descending", "at_end"),
            ("code", "ascending", "at_end"),
            ("currency", "ascending", "at_end"),
            ("diff", "descending", "at_end"),
            ("amount", "descending", "at_end"),
            ("pos", "ascending", "at_end"),
        ],
    )
    return exceptions.iloc[order.to_numpy()]


def report_view(
    rec: Reconciliation, *, max_exceptions: int = 500, with_charts: bool = True
) -> dict[str, Any]:
    """Everything the template shows: ``report_data()`` plus charts and ordered exceptions."""
    from payrecon.reconciliation import frame_to_text_table

    data = rec.report_data(max_exceptions=0)
    ordered = worst_first(rec.exceptions)
    shown = ordered.head(max_exceptions)
    columns = [c for c in EXCEPTION_COLUMNS if c in shown.columns]
    exc_rows = frame_to_text_table(shown[columns]).to_pylist() if len(shown) else []
    for r in exc_rows:
        words = (r.get("issues") or "").split(";")
        r["flags"] = [w for w in words[1:] if w]
        r["advice"] = ADVICE.get(r.get("category") or "", "")
    counts = rec.counts
    n_quiet = sum(counts.get(q, 0) for q in QUIET)
    generated = rec.generated_at
    data.update(
        version=__version__,
        generated_text=generated.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if generated else None,
        exceptions=exc_rows,
        exceptions_shown=len(exc_rows),
        exception_columns=columns,
        n_ledger_rows=int(rec.rows["source_row"].notna().sum()),
        n_platform_only=int(rec.rows["source_row"].isna().sum()),
        n_quiet=n_quiet,
        flag_counts={
            flag: n
            for flag, n in rec.flag_counts.items()
            if flag in ("fee_schedule_mismatch", "amount_precision", "test_payment")
        },
        flag_advice={
            f: ADVICE[f] for f in ("fee_schedule_mismatch", "amount_precision", "test_payment")
        },
        charts=[],
    )
    data.update(_recurring_view(rec))
    if with_charts:
        from payrecon.report.figures import build_charts

        data["charts"] = [
            {"key": c.key, "title": c.title, "caption": c.caption, "src": c.data_uri}
            for c in build_charts(rec)
        ]
    return data


def _text_rows(frame: pd.DataFrame | None, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
    from payrecon.reconciliation import frame_to_text_table

    if frame is None or len(frame) == 0:
        return []
    return frame_to_text_table(frame.head(limit)).to_pylist()


def _in_flight(balances: pd.DataFrame | None) -> pd.DataFrame:
    """The tie-out's currencies with anything in flight, or a gap: the others say nothing."""
    if balances is None:
        return pd.DataFrame()
    busy = (
        balances["platform_pending_payout_amount"].fillna(0).astype(object).ne(0)
        | balances["processing_seen_count"].fillna(0).ne(0)
        | balances["gap"].isna()
        | balances["gap"].fillna(0).astype(object).ne(0)
    )
    return balances[busy.to_numpy(dtype=bool)]


def _recurring_view(rec: Reconciliation) -> dict[str, Any]:
    """Changes since the last run, regressions, suggestions, the tie-out and the proof."""
    from payrecon.changes import CHANGES

    changes = rec.changes
    listed = None
    if changes is not None:
        order = {c: i for i, c in enumerate(CHANGES)}
        moving = changes[changes["change"] != "still_open"]
        listed = moving.iloc[np.argsort(moving["change"].map(order).to_numpy(), kind="stable")]
    suggestions = rec.suggestions
    proof = rec.conservation
    return {
        "tracked": changes is not None,
        "run_name": rec.run_name,
        "previous_run": rec.previous_run_at.strftime("%Y-%m-%d %H:%M UTC")
        if rec.previous_run_at
        else None,
        "change_counts": rec.change_counts,
        "changes": _text_rows(listed),
        "changes_listed": 0 if listed is None else min(len(listed), MAX_LISTED),
        "changes_moving": 0 if listed is None else len(listed),
        "regressions": _text_rows(rec.regressions),
        "suggestions": _text_rows(suggestions),
        "n_suggestions": 0 if suggestions is None else len(suggestions),
        "n_suggested": 0
        if suggestions is None
        else int(suggestions["suggested_id_payout"].notna().sum()),
        "match_window": rec.match_window,
        "balances": _text_rows(_in_flight(rec.balances)),
        "balances_quiet": 0
        if rec.balances is None
        else len(rec.balances) - len(_in_flight(rec.balances)),
        "regression_advice": ADVICE["status_regressed"],
        "proof": proof.report_rows() if proof is not None else [],
        "proof_holds": proof is None or proof.holds,
    }


def render_report(rec: Reconciliation, *, max_exceptions: int = 500) -> str:
    """The whole report page: what was reconciled, counts, exact totals, charts, exceptions."""
    return _env.get_template("report.html").render(
        data=report_view(rec, max_exceptions=max_exceptions), full_page=True
    )


def render_summary(rec: Reconciliation) -> str:
    """The Jupyter view: the same page body without charts, with the 20 worst exceptions."""
    return _env.get_template("report.html").render(
        data=report_view(rec, max_exceptions=20, with_charts=False), full_page=False
    )


__all__ = [
    "EXCEPTION_COLUMNS",
    "group_digits",
    "render_report",
    "render_summary",
    "report_view",
    "worst_first",
]
