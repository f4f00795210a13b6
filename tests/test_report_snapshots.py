"""Snapshots of the report: the sample's terminal summary, HTML page and Jupyter view, and the same
with a since-the-last-run, a status regression and a balance tie-out, compared whole with the
files under tests/snapshots/.

A change to the report shows here as a diff of what a reader sees. When it is intended, rewrite
the files and review them like code::

    PAYRECON_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_report_snapshots.py
    git diff tests/snapshots

The embedded PNG charts are replaced by a placeholder (their bytes change with matplotlib's
version; tests/test_report.py checks they are PNGs) and so is payrecon's version in the footer.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from conftest import reconcile_sample

from payrecon import __version__
from payrecon.core.result import Reconciliation
from payrecon.report.html import render_html
from payrecon.report.model import ReportModel, build_model
from payrecon.report.text import render_text

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("PAYRECON_UPDATE_SNAPSHOTS") == "1"
HOW = (
    "If the change is intended, rewrite the snapshots with\n"
    "    PAYRECON_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_report_snapshots.py\n"
    "and review `git diff tests/snapshots` like code."
)


def normalized(html: str) -> str:
    """``html`` without what varies by machine: the PNG bytes and payrecon's version."""
    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,PNG", html)
    return html.replace(f"payrecon {__version__}.", "payrecon VERSION.")


def check_snapshot(name: str, text: str) -> None:
    """``text`` equals tests/snapshots/``name``, or (PAYRECON_UPDATE_SNAPSHOTS=1) becomes it."""
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"no snapshot tests/snapshots/{name} yet.\n{HOW}")
    want = path.read_text(encoding="utf-8")
    if text != want:
        diff = difflib.unified_diff(
            want.splitlines(), text.splitlines(), f"snapshots/{name}", "rendered", lineterm=""
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(f"the report differs from tests/snapshots/{name}:\n{shown}\n\n{HOW}")


@pytest.fixture(scope="module")
def sample() -> Reconciliation:
    return reconcile_sample()


def _money(values: list[str | None]) -> pd.Series:
    return pd.Series(
        pa.array([Decimal(v) if v else None for v in values], pa.decimal128(30, 8)),
        dtype=pd.ArrowDtype(pa.decimal128(30, 8)),
    )


def _times(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True)).astype("datetime64[us, UTC]")


@pytest.fixture(scope="module")
def recorded(sample: Reconciliation) -> Reconciliation:
    """The sample as a recorded second run: changes since the last one, one payout that went
    from SUCCESS to FAILED, and a tie-out with a gap in EUR and nothing in flight in USD."""
    text = "string"
    changes = pd.DataFrame(
        {
            "id_payout": pd.Series(["PO-1003", "PO-1009", "PO-1001"], dtype=text),
            "change": pd.Series(["resolved", "new", "still_open"], dtype=text),
            "category_before": pd.Series(["fee_mismatch", None, "amount_mismatch"], dtype=text),
            "category_now": pd.Series(
                ["matched", "status_mismatch", "amount_mismatch"], dtype=text
            ),
            "open_since": _times(["2026-11-19T12:00:00Z", "2026-11-20T12:00:00Z", None]),
            "runs_open": pd.Series([2, 1, 3], dtype="Int64"),
            "source_row": pd.Series([4, 10, 2], dtype="Int64"),
            "issues_now": pd.Series(["matched", "status_mismatch", "amount_mismatch"], dtype=text),
        }
    )
    regressions = pd.DataFrame(
        {
            "id_payout": pd.Series(["PO-1009"], dtype=text),
            "status_before": pd.Series(["SUCCESS"], dtype=text),
            "seen_before": _times(["2026-11-19T12:00:00Z"]),
            "status_now": pd.Series(["FAILED"], dtype=text),
            "seen_now": _times(["2026-11-20T12:00:00Z"]),
        }
    )
    balances = pd.DataFrame(
        {
            "currency": pd.Series(["EUR", "USD"], dtype=text),
            "platform_pending_payout_amount": _money(["125.50", "0"]),
            "processing_seen_amount": _money(["100.00", "0"]),
            "processing_seen_count": pd.Series([2, 0], dtype="Int64"),
            "processing_fees_seen": _money(["1.20", "0"]),
            "gap": _money(["25.50", "0"]),
            "balance": _money(["1000000.00", "5000.00"]),
            "available_balance": _money(["999874.50", "5000.00"]),
            "pending_settlement_amount": _money(["0", "0"]),
            "last_balance_movement": _times(["2026-11-20T11:59:00Z", None]),
            "note": pd.Series(["payouts in flight that neither the ledger nor --ids names", ""]),
        }
    )
    return dataclasses.replace(
        sample,
        changes=changes,
        regressions=regressions,
        balances=balances,
        run_name="nightly",
        previous_run_at=datetime(2026, 11, 19, 12, 0, tzinfo=UTC),
    )


def test_text_summary_snapshot(sample: Reconciliation) -> None:
    check_snapshot("sample.txt", sample.summary_text() + "\n")


def test_html_report_snapshot(sample: Reconciliation, tmp_path: Path) -> None:
    html = sample.to_html(tmp_path / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 5  # the placeholder hides real charts
    check_snapshot("sample.html", normalized(html))


def test_jupyter_view_snapshot(sample: Reconciliation) -> None:
    check_snapshot("sample_jupyter.html", normalized(sample._repr_html_()))


def test_recorded_run_snapshots(recorded: Reconciliation) -> None:
    """Since the last run, the regression and the tie-out, in the terminal and on the page."""
    check_snapshot("recorded.txt", recorded.summary_text() + "\n")
    check_snapshot("recorded.html", normalized(render_html(build_model(recorded))))


def test_renderers_read_the_model_and_change_nothing(
    recorded: Reconciliation, tmp_path: Path
) -> None:
    from payrecon.report.excel import write_workbook

    model = build_model(recorded, max_exceptions=5, sheets=True)
    before = dataclasses.replace(model)  # the same parts, a new outer record
    rows = recorded.rows.copy()
    text = render_text(model)
    page = render_html(model)
    write_workbook(model, tmp_path / "r.xlsx")
    assert model == before and render_text(model) == text and render_html(model) == page
    pd.testing.assert_frame_equal(recorded.rows, rows)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.n_exceptions = 0  # type: ignore[misc]
    # the page and the terminal show the model's numbers, and only the worst five exceptions
    assert len(model.exceptions) == 5 and model.n_exceptions == 19
    assert "The first 5 of 19 are shown" in page
    assert f"{model.n_exceptions:,} need a person" in text


def test_the_model_is_built_in_one_place(sample: Reconciliation) -> None:
    """The Jupyter view and the page are the same template over the same kind of model."""
    model: ReportModel = build_model(sample, max_exceptions=20)
    assert normalized(render_html(model, full_page=False)) == normalized(sample._repr_html_())
    assert render_text(build_model(sample, max_exceptions=0)) == sample.summary_text()


def test_the_result_does_not_import_the_report() -> None:
    """The import direction is one way: the report depends on the result, never the reverse."""
    code = (
        "import sys, payrecon.core.result\n"
        "bad = sorted(m for m in sys.modules if m.startswith('payrecon.report'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_only_the_workbook_needs_every_exception_in_order(
    recorded: Reconciliation, tmp_path: Path
) -> None:
    from payrecon.report.excel import write_workbook
    from payrecon.report.order import worst_first

    full = build_model(recorded, max_exceptions=5, sheets=True)
    lean = build_model(recorded, max_exceptions=5)
    assert lean.sheets == () and lean.exceptions == full.exceptions
    assert render_text(lean) == render_text(full) and render_html(lean) == render_html(full)
    everything = worst_first(recorded.exceptions)
    pd.testing.assert_frame_equal(worst_first(recorded.exceptions, 5), everything.iloc[:5])
    with pytest.raises(ValueError, match="sheets=True"):
        write_workbook(lean, tmp_path / "r.xlsx")
