"""The HTML report and the Excel workbook hold the right numbers, charts and nothing to fetch."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import SAMPLE_COUNTS, reconcile_sample
from matplotlib.figure import Figure

from payrecon.core import reconcile
from payrecon.core.categories import CATEGORIES
from payrecon.core.fees import FeeRule, FeeSchedule
from payrecon.core.result import Reconciliation
from payrecon.report import charts
from payrecon.report.figures import processing_ages
from payrecon.report.html import group_digits
from payrecon.report.order import worst_first
from payrecon.statuses import conform

D = Decimal
DATA = Path(__file__).resolve().parent.parent / "data"
PNG = b"\x89PNG\r\n\x1a\n"
CHARTS = ("categories", "amounts_by_status", "fees", "processing_time", "aging")


class Cells(HTMLParser):
    """Text of every table cell by the id of its row, and every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._row: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr":
            self._row = a.get("id")
            if self._row:
                self.rows[self._row] = []
        elif tag in ("td", "th") and self._row:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row and self._cell is not None:
            self.rows[self._row].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Cells:
    p = Cells()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def sample() -> Reconciliation:
    return reconcile_sample()


@pytest.fixture(scope="module")
def sample_html(sample: Reconciliation, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = sample.to_html(tmp_path_factory.mktemp("report") / "report.html")
    return path.read_text(encoding="utf-8")


def test_report_states_what_was_reconciled(sample_html: str) -> None:
    text = re.sub(r"<[^>]+>", " ", sample_html)
    text = " ".join(text.split())
    assert "Ledger data/ledger.csv" in text
    assert "Platform http://127.0.0.1:9/" in text
    assert "Ledger period 2026-10-28 to" in text
    assert "Reconciled 2026-11-20 12:00:00 UTC" in text
    assert "19 need a person" in text


def test_report_counts_by_category(sample_html: str) -> None:
    rows = parse(sample_html).rows
    for category in CATEGORIES:
        name, count, _advice = rows[f"cat-{category}"]
        assert (name, int(count)) == (category, SAMPLE_COUNTS[category])
    assert rows["flag-test_payment"][1] == "10"


def test_report_totals_are_exact(sample_html: str, sample: Reconciliation) -> None:
    rows = parse(sample_html).rows
    # ledger amount, platform amount, difference, ledger fee, platform fee, fee difference
    assert rows["total-EUR"] == [
        "EUR", "8", "3,530.81", "1,971.70", "1,559.11", "31.66", "24.91", "6.75",
    ]  # fmt: skip
    assert rows["total-IDR"][2:5] == ["8,503,028", "8,567,028", "-64,000"]
    assert rows["total-USD"][2:5] == ["17,333.10", "2,333.10", "15,000.00"]
    # every total row is the summary's exact text, only grouped by thousands
    totals = sample.totals
    for currency, t in totals.iterrows():
        shown = rows[f"total-{currency}"][2:]
        for text, column in zip(shown, ["ledger_amount", "platform_amount"], strict=False):
            value = t[column]
            assert D(text.replace(",", "")) == value


def test_report_embeds_each_chart_as_png(sample_html: str) -> None:
    tags = parse(sample_html).tags
    imgs = [a["src"] for t, a in tags if t == "img"]
    assert len(imgs) == len(CHARTS)
    for key in CHARTS:
        assert f'id="chart-{key}"' in sample_html
    for src in imgs:
        assert src is not None and src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)


def test_report_is_self_contained(sample_html: str) -> None:
    low = sample_html.lower()
    assert "<script" not in low
    assert "<link" not in low and "@import" not in low and "url(" not in low
    for tag, attrs in parse(sample_html).tags:
        for name in ("src", "href", "data", "srcset", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith(("data:", "#")), (tag, name, value)
    # the only address in the page is the platform's, as text
    assert re.findall(r"https?://[^\s<\"]+", sample_html) == ["http://127.0.0.1:9/"]


def test_exceptions_worst_first_and_all_in_the_csv(
    sample: Reconciliation, sample_html: str, tmp_path: Path
) -> None:
    ordered = worst_first(sample.exceptions)
    assert sorted(ordered.index) == sorted(sample.exceptions.index)
    codes = [CATEGORIES.index(c) for c in ordered["category"]]
    assert codes == sorted(codes)
    assert ordered["category"].iloc[0] == "duplicate_in_ledger"
    # the page shows them in that order
    shown = re.findall(r'<tr class="row-([a-z_]+)">', sample_html)
    assert shown == list(ordered["category"])
    # a short page says where the rest are; the CSV holds every one
    short = sample.to_html(tmp_path / "short.html", max_exceptions=3).read_text()
    assert len(re.findall(r'<tr class="row-', short)) == 3
    assert "first 3 of 19" in short
    files = sample.to_csv(tmp_path)
    assert len(pd.read_csv(files["exceptions"])) == len(sample.exceptions) == 19


def test_worst_first_orders_by_difference_within_a_category() -> None:
    frame = pd.DataFrame(
        {
            "category": ["amount_mismatch"] * 3 + ["duplicate_in_ledger"],
            "amount_diff": pd.array([D("1"), D("-50"), D("3"), None], dtype=object),
            "ledger_amount": [D(1)] * 4,
            "platform_amount": [D(1)] * 4,
            "ledger_currency": ["EUR"] * 4,
            "platform_currency": ["EUR"] * 4,
            "id_payout": ["a", "b", "c", "d"],
        }
    )
    for col in ("amount_diff", "ledger_amount", "platform_amount"):
        frame[col] = conform(pd.DataFrame({"amount": frame[col]}))["amount"]
    assert worst_first(frame)["id_payout"].tolist() == ["d", "b", "c", "a"]


def test_group_digits_keeps_every_digit() -> None:
    assert group_digits("-1234567.50") == "-1,234,567.50"
    assert group_digits("999") == "999"
    assert group_digits("1000") == "1,000"
    assert group_digits("0.00000001") == "0.00000001"
    assert group_digits(None) == ""
    assert group_digits("n/a") == "n/a"


def _exact_rec() -> Reconciliation:
    """Amounts a binary float would get wrong, and more digits than a currency allows."""
    ledger = pd.DataFrame(
        {
            "id_payout": ["A", "B", "C", "D"],
            "amount": [D("0.10"), D("0.20"), D("123456789012.34"), D("10000")],
            "currency": ["USD", "USD", "USD", "IDR"],
            "fee": [D("0.01"), D("0.02"), D("1.00"), D("2600")],
            "status": ["SUCCESS"] * 4,
        }
    )
    statuses = conform(
        pd.DataFrame(
            {
                "id_payout": ["A", "B", "C", "D"],
                "status": ["SUCCESS", "SUCCESS", "SUCCESS", "PROCESSING"],
                "amount": [D("0.10"), D("0.20"), D("123456789012.33"), D("10000")],
                "currency": ["USD", "USD", "USD", "IDR"],
                "fee_amount": [D("0.01"), D("0.025"), D("1.00"), D("2600")],
                "created_at": pd.to_datetime(
                    [
                        "2026-11-01T10:00:00Z",
                        "2026-11-01T11:00:00Z",
                        "2026-11-02T09:00:00Z",
                        "2026-11-19T12:00:00Z",
                    ],
                    utc=True,
                ),
                "processed_at": pd.to_datetime(
                    ["2026-11-01T10:03:00Z", "2026-11-01T11:00:30Z", "2026-11-02T12:00:00Z", None],
                    utc=True,
                ),
                "http_status": [200] * 4,
                "error": [""] * 4,
                "is_test": [False] * 4,
                "payment_method_code": ["BANK_TRANSFER"] * 4,
            }
        )
    )
    schedule = FeeSchedule((FeeRule("USD", percent=D("1.5"), fixed=D("0.30")),))
    return reconcile(
        ledger,
        statuses,
        fee_schedule=schedule,
        generated_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    )


def test_report_money_is_exact_where_floats_would_not_be(tmp_path: Path) -> None:
    rec = _exact_rec()
    rows = parse(rec.to_html(tmp_path / "r.html").read_text()).rows
    assert rows["total-USD"][2:] == [
        "123,456,789,012.64", "123,456,789,012.63", "0.01", "1.03", "1.035", "-0.005",
    ]  # fmt: skip
    assert rows["total-IDR"][2:] == ["10,000", "10,000", "0", "2,600", "2,600", "0"]


def test_excel_workbook_reads_back(tmp_path: Path) -> None:
    rec = _exact_rec()
    path = rec.to_excel(tmp_path / "report.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Exceptions", "Rows", "Suggestions", "About"]

    rows_ws = wb["Rows"]
    header = [c.value for c in rows_ws[1]]
    assert header[:3] == ["id_payout", "category", "issues"]
    col = {name: i for i, name in enumerate(header)}
    by_id = {r[col["id_payout"]].value: r for r in rows_ws.iter_rows(min_row=2)}
    big = by_id["C"][col["ledger_amount"]]
    assert isinstance(big.value, int | float) and big.number_format == "#,##0.00"
    assert D(str(big.value)) == D("123456789012.34")  # 14 significant digits: exact in Excel
    idr = by_id["D"][col["platform_amount"]]
    assert (idr.value, idr.number_format) == (10000, "#,##0")
    fee = by_id["B"][col["platform_fee"]]  # more digits than USD allows: all of them shown
    assert (D(str(fee.value)), fee.number_format) == (D("0.025"), "#,##0.000")
    created = by_id["D"][col["platform_created_at"]]
    assert created.value == datetime(2026, 11, 19, 12, 0) and created.number_format.startswith(
        "yyyy-mm-dd"
    )
    assert by_id["A"][col["category"]].value == "matched"

    summary = pd.read_excel(path, sheet_name="Summary", dtype={"key": str})
    cats = summary[summary["section"] == "category"].set_index("key")["count"]
    assert {k: int(v) for k, v in cats.items() if v} == {k: v for k, v in rec.counts.items() if v}
    usd = summary[(summary["section"] == "currency") & (summary["key"] == "USD")].iloc[0]
    assert D(str(usd["amount_difference"])) == D("0.01")

    exceptions = pd.read_excel(path, sheet_name="Exceptions")
    assert len(exceptions) == len(rec.exceptions)
    assert list(exceptions["category"]) == list(worst_first(rec.exceptions)["category"])
    about = {r[0].value: r[1].value for r in wb["About"].iter_rows()}
    assert about["fee schedule checked"] == "yes" and about["rows"] == 4


def test_excel_of_the_sample(sample: Reconciliation, tmp_path: Path) -> None:
    path = sample.to_excel(tmp_path / "s.xlsx")
    rows = pd.read_excel(path, sheet_name="Rows")
    assert len(rows) == len(sample.rows) == 43
    ws = openpyxl.load_workbook(path)["Summary"]
    eur = next(r for r in ws.iter_rows(min_row=2) if r[1].value == "EUR")
    values = [c.value for c in eur[3:6]]
    assert [D(str(v)).quantize(D("0.01")) for v in values] == [
        D("3530.81"), D("1971.70"), D("1559.11"),
    ]  # fmt: skip
    assert {c.number_format for c in eur[3:9]} == {"#,##0.00"}


def _draw(fn: Any, *args: Any) -> Figure:
    fig = Figure()
    ax = fig.add_subplot()
    fn(ax, *args)
    return fig


def test_charts_draw_what_they_are_given() -> None:
    fig = _draw(charts.categories_bar, {"matched": 5, "fee_mismatch": 2, "pending": 0})
    ax = fig.axes[0]
    assert [round(p.get_width()) for p in ax.patches] == [5, 2, 0]
    fig = _draw(charts.aging, np.array([0.5, 2.0, 30.0, 100.0, 200.0, 200.0]))
    assert [round(p.get_height()) for p in fig.axes[0].patches] == [1, 1, 0, 1, 1, 2]
    fig = _draw(charts.amounts_by_status, {"EUR": {"SUCCESS": 3.0, "FAILED": 1.0}}, {"EUR": "4"})
    widths = sorted(round(p.get_width(), 2) for p in fig.axes[0].patches)
    assert widths == [0.25, 0.75]
    fig = _draw(charts.processing_times, [])
    assert fig.axes[0].texts[0].get_text() == "no processed payouts"


def test_chart_data_from_the_reconciliation() -> None:
    rec = _exact_rec()
    from payrecon.report.figures import amounts_by_status, platform_payouts, processing_seconds

    payouts = platform_payouts(rec)
    sums = amounts_by_status(payouts)
    assert sums["USD"] == {"SUCCESS": D("123456789012.63")}
    assert sums["IDR"] == {"PROCESSING": D("10000")}
    assert sorted(processing_seconds(payouts).tolist()) == [30.0, 180.0, 10800.0]
    assert processing_ages(payouts, rec.generated_at).tolist() == [24.0]
    png = charts.figure_png(lambda ax: charts.aging(ax, [1.0]))
    assert png.startswith(PNG)


def test_jupyter_view_is_the_summary_without_charts(sample: Reconciliation) -> None:
    html = sample._repr_html_()
    assert 'id="cat-matched"' in html and "<img" not in html and "<script" not in html
    assert len(re.findall(r'<tr class="row-', html)) == 19
