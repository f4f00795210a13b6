"""reconcile: every row once, the first category that applies, exact differences and sums."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from contract import MONEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payrecon.core import reconcile
from payrecon.core.categories import CATEGORIES
from payrecon.core.fees import FeeRule, FeeSchedule
from payrecon.ledger import read_ledger
from payrecon.statuses import conform

D = Decimal
DATA = Path(__file__).resolve().parent.parent / "data"


def ledger(rows: list[dict[str, Any]], status: bool = True, fee: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if not status:
        frame = frame.drop(columns=[c for c in ("status",) if c in frame.columns])
    if not fee:
        frame = frame.drop(columns=[c for c in ("fee",) if c in frame.columns])
    frame["amount"] = pd.Series(frame["amount"].tolist(), dtype=object)
    return frame


def statuses(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base = {
        "status": "SUCCESS",
        "currency": "EUR",
        "http_status": 200,
        "error": "",
        "is_test": False,
    }
    full = []
    for r in rows:
        row = {**base, **r}
        if row["error"]:
            for k in ("status", "currency", "is_test"):
                row.setdefault(k, None)
                if k not in r:
                    row[k] = None
        full.append(row)
    return conform(pd.DataFrame(full))


def one(
    ledger_rows: list[dict[str, Any]], status_rows: list[dict[str, Any]], **kw: Any
) -> pd.DataFrame:
    return reconcile(ledger(ledger_rows), statuses(status_rows), **kw).rows


def L(i: str, amount: str = "10", **kw: Any) -> dict[str, Any]:
    return {
        "id_payout": i,
        "amount": D(amount),
        "currency": "EUR",
        "fee": D("1"),
        "status": "SUCCESS",
        **kw,
    }


def P(i: str, amount: str = "10", **kw: Any) -> dict[str, Any]:
    return {"id_payout": i, "amount": D(amount), "fee_amount": D("1"), **kw}


@pytest.mark.parametrize(
    ("led", "plat", "category", "issues"),
    [
        ([L("a")], [P("a")], "matched", "matched"),
        ([L("a"), L("a", "11")], [P("a")], "duplicate_in_ledger", "duplicate_in_ledger"),
        (
            [L("a")],
            [{"id_payout": "a", "http_status": 410, "error": "not_found"}],
            "missing_on_platform",
            "missing_on_platform",
        ),
        ([L("a")], [{"id_payout": "a", "error": "invalid_id"}], "fetch_error", "fetch_error"),
        ([L("a")], [], "fetch_error", "fetch_error;not_fetched"),
        ([L("a", currency="USD")], [P("a", "11")], "currency_mismatch", "currency_mismatch"),
        (
            [L("a", status="SUCCESS")],
            [P("a", status="FAILED")],
            "status_mismatch",
            "status_mismatch",
        ),
        ([L("a", "10.01")], [P("a", "10")], "amount_mismatch", "amount_mismatch"),
        ([L("a", fee=D("1.5"))], [P("a")], "fee_mismatch", "fee_mismatch"),
        ([L("a", status="PROCESSING")], [P("a", status="PROCESSING")], "pending", "pending"),
        (
            [L("a", "9", status="PROCESSING")],
            [P("a", status="PROCESSING")],
            "amount_mismatch",
            "amount_mismatch;pending",
        ),
        (
            [L("a", "9", fee=D(2), status="REFUSED")],
            [P("a", status="FAILED")],
            "status_mismatch",
            "status_mismatch;amount_mismatch;fee_mismatch",
        ),
    ],
)
def test_each_category(
    led: list[dict[str, Any]], plat: list[dict[str, Any]], category: str, issues: str
) -> None:
    rows = one(led, plat)
    assert rows["category"].iloc[0] == category
    assert rows["issues"].iloc[0] == issues


def test_duplicates_list_every_issue_and_every_row() -> None:
    rows = one([L("a", "9"), L("a")], [P("a")])
    assert rows["category"].tolist() == ["duplicate_in_ledger"] * 2
    assert rows["issues"].tolist() == ["duplicate_in_ledger;amount_mismatch", "duplicate_in_ledger"]


def test_platform_only_payouts_become_rows() -> None:
    rows = one(
        [L("a")],
        [
            P("a"),
            P("b", is_test=True),
            {"id_payout": "c", "http_status": 410, "error": "not_found"},
        ],
        ids=["d", "a", "b", "d"],
    )
    assert rows["id_payout"].tolist() == ["a", "b", "c", "d"]
    assert rows["category"].tolist() == [
        "matched",
        "missing_in_ledger",
        "missing_on_platform",
        "fetch_error",
    ]
    assert rows["issues"].tolist()[1] == "missing_in_ledger;test_payment"
    assert rows["issues"].tolist()[3] == "fetch_error;not_fetched"
    assert rows["source_row"].isna().tolist() == [False, True, True, True]


def test_without_a_status_column_only_failed_and_refused_count() -> None:
    led = ledger([L("a"), L("b"), L("c"), L("d")], status=False)
    st_ = statuses(
        [
            P("a", status="FAILED"),
            P("b", status="REFUSED"),
            P("c", status="PROCESSING"),
            P("d", status="SOMETHING_NEW"),
        ]
    )
    rows = reconcile(led, st_).rows
    assert rows["category"].tolist() == ["status_mismatch", "status_mismatch", "pending", "matched"]


def test_blank_status_cell_is_treated_like_no_status() -> None:
    rows = one(
        [L("a", status=None), L("b", status=None)],
        [P("a", status="SUCCESS"), P("b", status="FAILED")],
    )
    assert rows["category"].tolist() == ["matched", "status_mismatch"]


def test_without_a_fee_column_fees_are_not_compared() -> None:
    led = ledger([L("a")], fee=False)
    rows = reconcile(led, statuses([P("a", fee_amount=D(5))])).rows
    assert rows["category"].tolist() == ["matched"]
    assert rows["fee_diff"].isna().all()


def test_tolerances_absolute_and_per_currency() -> None:
    led = [L("a", "10.01"), L("b", "10005", currency="IDR")]
    plat = [P("a", "10"), P("b", "10000", currency="IDR")]
    assert one(led, plat)["category"].tolist() == ["amount_mismatch"] * 2
    rows = one(led, plat, tolerance={"EUR": "0.01", "IDR": 5})
    assert rows["category"].tolist() == ["matched", "matched"]
    rows = one(led, plat, tolerance={"*": "0.01"})
    assert rows["category"].tolist() == ["matched", "amount_mismatch"]


def test_diffs_are_exact_and_signed_ledger_minus_platform() -> None:
    rows = one([L("a", "0.3", fee=D("0.1"))], [P("a", "0.1", fee_amount=D("0.3"))])
    assert rows["amount_diff"].dtype == MONEY
    assert rows["amount_diff"].iloc[0] == D("0.2")
    assert rows["fee_diff"].iloc[0] == D("-0.2")


def test_flags_fee_schedule_precision_and_test() -> None:
    schedule = FeeSchedule((FeeRule("EUR", percent=D(1)),))
    rows = one(
        [L("a", fee=D("0.10")), L("b", "10.005", fee=D("0.10")), L("c", fee=D("0.5"))],
        [
            P("a", fee_amount=D("0.10")),
            P("b", "10.005", fee_amount=D("0.10")),
            P("c", fee_amount=D("0.5"), is_test=True),
        ],
        fee_schedule=schedule,
    )
    assert rows["issues"].tolist() == [
        "matched",
        "matched;amount_precision",
        "matched;fee_schedule_mismatch;test_payment",
    ]
    assert rows["expected_fee"].tolist() == [D("0.10"), D("0.10"), D("0.10")]


def test_exceptions_are_what_needs_a_person() -> None:
    rec = reconcile(
        ledger([L("a"), L("b", "9"), L("c", status="PROCESSING")]),
        statuses([P("a"), P("b"), P("c", status="PROCESSING"), P("t", is_test=True)]),
    )
    assert rec.exceptions["id_payout"].tolist() == ["b", "t"]
    assert rec.exceptions.index.tolist() == [1, 3]  # their rows' labels in rec.rows
    assert rec.flag_counts == {
        "fee_schedule_mismatch": 0,
        "amount_precision": 0,
        "test_payment": 1,
        "not_fetched": 0,
        "status_regressed": 0,
    }


def test_sums_are_exact_where_binary_floats_drift() -> None:
    n = 10_000
    led = ledger([L(f"id{i}", "0.1", fee=D("0.01")) for i in range(n)])
    plat = statuses([P(f"id{i}", "0.1", fee_amount=D("0.01")) for i in range(n)])
    rec = reconcile(led, plat)
    assert sum([0.1] * n) != 1000.0  # the float sum drifts...
    totals = rec.totals.loc["EUR"]
    assert totals["ledger_amount"] == D("1000")  # ...the money sum does not
    assert totals["platform_amount"] == D("1000")
    assert totals["amount_difference"] == 0
    assert totals["ledger_fee"] == D("100")
    assert rec.counts["matched"] == n


def test_summary_counts_every_category_and_platform_payouts_once() -> None:
    rec = reconcile(
        ledger([L("a", "5"), L("a", "5"), L("b", "1", currency="IDR")]),
        statuses([P("a", "10"), P("b", "1", currency="IDR"), P("c", "0.1")]),
    )
    assert list(rec.counts) == list(CATEGORIES)
    assert rec.counts["duplicate_in_ledger"] == 2 and rec.counts["missing_in_ledger"] == 1
    eur = rec.totals.loc["EUR"]
    assert (eur["ledger_amount"], eur["platform_amount"]) == (D("10"), D("10.1"))
    assert eur["amount_difference"] == D("-0.1")
    assert rec.totals.loc["IDR", "count"] == 1


def test_float_money_is_refused() -> None:
    led = pd.DataFrame({"id_payout": ["a"], "amount": [0.1]})
    with pytest.raises(TypeError, match="binary floats"):
        reconcile(led, statuses([P("a")]))


def test_outputs(tmp_path: Path) -> None:
    led = read_ledger(DATA / "ledger.csv", DATA / "mapping.toml")
    from payrecon.statuses import read_statuses

    rec = reconcile(led, read_statuses(DATA / "statuses_sample.csv"))
    written = rec.to_csv(tmp_path)
    back = pd.read_csv(written["rows"], dtype=str, keep_default_na=False)
    assert len(back) == len(rec.rows)
    assert back["ledger_amount"].iloc[0] == "3500.00"  # exact text, the currency's decimals
    summary = pd.read_csv(written["summary"], dtype=str)
    assert summary["section"].tolist().count("category") == len(CATEGORIES)
    html = rec.to_html(tmp_path / "report.html").read_text()
    assert "duplicate_in_ledger" in html and "PO-2026-0099" in html
    assert "<table" in rec._repr_html_() and "<html" not in rec._repr_html_()
    assert rec.period is not None and rec.ledger_source is not None


# -- properties ------------------------------------------------------------------------------

IDS = [f"P{i}" for i in range(8)]
money = st.decimals(min_value=D("0"), max_value=D("100"), places=2)
ledger_row = st.fixed_dictionaries(
    {
        "id_payout": st.sampled_from(IDS),
        "amount": money,
        "currency": st.sampled_from(["EUR", "IDR", None]),
        "fee": st.one_of(st.none(), money),
        "status": st.sampled_from(["SUCCESS", "FAILED", "PROCESSING", None]),
    }
)
platform_row = st.fixed_dictionaries(
    {
        "id_payout": st.sampled_from(IDS),
        "kind": st.sampled_from(["ok", "ok", "ok", "not_found", "timeout"]),
        "amount": money,
        "currency": st.sampled_from(["EUR", "IDR"]),
        "fee_amount": st.one_of(st.none(), money),
        "status": st.sampled_from(["SUCCESS", "FAILED", "REFUSED", "PROCESSING"]),
        "is_test": st.booleans(),
    }
)


def _reference(
    lrows: list[dict[str, Any]],
    prow: dict[str, Any] | None,
    has_status: bool,
    is_ledger: bool,
    n_same: int,
) -> list[str]:
    """The categories that apply to one row, from interface.md, one row at a time in Decimal."""
    applies = []
    lrow = lrows[0] if lrows else None
    if is_ledger and n_same > 1:
        applies.append("duplicate_in_ledger")
    kind = prow["kind"] if prow else None
    if kind == "not_found":
        applies.append("missing_on_platform")
    if prow is None or kind == "timeout":
        applies.append("fetch_error")
    if not is_ledger and kind == "ok":
        applies.append("missing_in_ledger")
    if is_ledger and kind == "ok":
        assert lrow is not None and prow is not None
        cur_mm = lrow["currency"] is not None and lrow["currency"] != prow["currency"]
        if cur_mm:
            applies.append("currency_mismatch")
        said = has_status and lrow["status"] is not None
        if (said and lrow["status"] != prow["status"]) or (
            not said and prow["status"] in ("FAILED", "REFUSED")
        ):
            applies.append("status_mismatch")
        if not cur_mm and lrow["amount"] != prow["amount"]:
            applies.append("amount_mismatch")
        if not cur_mm and (lrow["fee"] or 0) != (prow["fee_amount"] or 0):
            applies.append("fee_mismatch")
        if prow["status"] == "PROCESSING" and (not said or lrow["status"] == "PROCESSING"):
            applies.append("pending")
    return applies or ["matched"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lrows=st.lists(ledger_row, max_size=12),
    prows=st.lists(platform_row, max_size=10),
    has_status=st.booleans(),
)
def test_every_row_once_and_the_first_category_that_applies(
    lrows: list[dict[str, Any]], prows: list[dict[str, Any]], has_status: bool
) -> None:
    plat_by_id: dict[str, dict[str, Any]] = {}
    for p in prows:
        plat_by_id[p["id_payout"]] = p  # the last row of an id wins
    status_rows = []
    for p in prows:
        if p["kind"] == "ok":
            status_rows.append({k: v for k, v in p.items() if k != "kind"})
        else:
            status_rows.append(
                {
                    "id_payout": p["id_payout"],
                    "error": p["kind"],
                    "http_status": 410 if p["kind"] == "not_found" else None,
                }
            )
    frame = pd.DataFrame(lrows, columns=["id_payout", "amount", "currency", "fee", "status"])
    frame["amount"] = pd.Series([r["amount"] for r in lrows], dtype=object)
    frame["source_row"] = range(2, len(lrows) + 2)
    if not has_status:
        frame = frame.drop(columns="status")
    rec = reconcile(frame, statuses(status_rows) if status_rows else statuses([]).iloc[0:0])
    rows = rec.rows

    # every ledger row exactly once, in order; every platform-only payout exactly once
    assert rows["source_row"].dropna().astype(int).tolist() == list(range(2, len(lrows) + 2))
    ledger_ids = {r["id_payout"] for r in lrows}
    only = rows[rows["source_row"].isna()]["id_payout"].tolist()
    assert sorted(only) == sorted(set(plat_by_id) - ledger_ids)
    assert len(only) == len(set(only))
    assert len(rows) == len(lrows) + len(only)

    counts = pd.Series([r["id_payout"] for r in lrows]).value_counts() if lrows else {}
    for i, row in enumerate(rows.itertuples(index=False)):
        is_ledger = i < len(lrows)
        prow = plat_by_id.get(row.id_payout)
        lr = [lrows[i]] if is_ledger else []
        n_same = int(counts[row.id_payout]) if is_ledger else 0
        expected = _reference(lr, prow, has_status, is_ledger, n_same)
        assert row.category == expected[0], (i, expected, row)
        words = row.issues.split(";")
        assert words[: len(expected)] == expected
        assert set(words[len(expected) :]) <= {
            "test_payment",
            "not_fetched",
            "amount_precision",
            "fee_schedule_mismatch",
        }
    assert sum(rec.counts.values()) == len(rows)
    # every flagged row is an exception: flag_counts reads only those, and must miss none
    assert set(rec.exceptions.index) <= set(rows.index)
    for flag, n in rec.flag_counts.items():
        assert n == sum(flag in str(w).split(";") for w in rows["issues"]), flag
