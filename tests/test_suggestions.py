"""Suggested matches, and which copy of a duplicated booking to keep: reconcile's own inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from payrecon.core import reconcile
from payrecon.statuses import conform

D = Decimal


def ledger(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["amount"] = pd.Series([r["amount"] for r in rows], dtype=object)
    frame["source_row"] = range(2, len(rows) + 2)
    frame["date"] = pd.to_datetime(frame["date"], utc=True)
    return frame


def L(pid: str, amount: str, date: str = "2026-11-10", cur: str = "EUR", **kw: Any) -> dict:
    return {"id_payout": pid, "amount": D(amount), "currency": cur, "date": date, **kw}


def P(pid: str, amount: str, created: str = "2026-11-10T09:00:00Z", cur: str = "EUR", **kw: Any):
    return {
        "id_payout": pid,
        "amount": D(amount),
        "currency": cur,
        "status": "SUCCESS",
        "fee_amount": D("1"),
        "created_at": created,
        "processed_at": created,
        "http_status": 200,
        "error": "",
        "is_test": False,
        **kw,
    }


def G(pid: str, error: str = "not_found") -> dict[str, Any]:
    return {"id_payout": pid, "error": error, "http_status": 410 if error == "not_found" else None}


def suggestions(led: pd.DataFrame, plat: list[dict[str, Any]], **kw: Any) -> pd.DataFrame:
    ids = [p["id_payout"] for p in plat]
    rec = reconcile(led, conform(pd.DataFrame(plat)), ids=ids, **kw)
    assert rec.suggestions is not None
    return rec.suggestions.set_index("source_row")


def test_one_to_one_for_a_typo_a_gone_id_and_a_blank_id() -> None:
    led = ledger(
        L("PO 17", "120.00"),  # breaks the id rule
        L("PO-99", "75.50", "2026-11-12"),  # the platform answers 410
        L("", "33.10", "2026-11-14"),  # no id at all
        L("PO-1", "10.00"),  # fine
    )
    plat = [
        P("PO-17", "120.00"),
        P("PO-98", "75.50", "2026-11-11T23:00:00Z"),
        P("PO-50", "33.10", "2026-11-14T10:00:00Z"),
        P("PO-1", "10.00"),
        G("PO-99"),
        G("PO 17", "invalid_id"),
        G("", "invalid_id"),
    ]
    s = suggestions(led, plat)
    assert list(s.index) == [2, 3, 4]  # the usable row is no candidate
    assert s.loc[2, "suggested_id_payout"] == "PO-17" and s.loc[2, "score"] == 1.0
    assert "breaks the platform's id rule" in s.loc[2, "reasons"]
    assert s.loc[3, "suggested_id_payout"] == "PO-98" and s.loc[3, "score"] == 0.9
    assert "1 day apart" in s.loc[3, "reasons"] and "does not know" in s.loc[3, "reasons"]
    assert s.loc[4, "suggested_id_payout"] == "PO-50"
    assert "has no payout id" in s.loc[4, "reasons"]
    assert s.loc[4, "suggested_amount"] == D("33.10")


def test_a_missing_id_is_a_blank_one() -> None:
    led = ledger(L("PO-1", "10.00"), L(None, "33.10"))  # None: a frame made by hand
    s = suggestions(led, [P("PO-1", "10.00"), P("PO-50", "33.10")])
    assert s.loc[3, "suggested_id_payout"] == "PO-50"
    assert "has no payout id" in s.loc[3, "reasons"]


def test_one_to_several_with_two_and_with_three_payouts() -> None:
    led = ledger(L("BATCH 1", "300.00"), L("BATCH 2", "60.00", "2026-11-20"))
    plat = [
        P("A", "100.00"),
        P("B", "200.00", "2026-11-11T08:00:00Z"),
        P("C", "10.00", "2026-11-20T01:00:00Z"),
        P("D", "20.00", "2026-11-20T02:00:00Z"),
        P("E", "30.00", "2026-11-21T03:00:00Z"),
        G("BATCH 1", "invalid_id"),
        G("BATCH 2", "invalid_id"),
    ]
    s = suggestions(led, plat)
    assert s.loc[2, "suggested_id_payout"] == "A;B"
    assert s.loc[2, "suggested_amount"] == D("300.00")
    assert "2 payouts sum to the amount" in s.loc[2, "reasons"]
    assert s.loc[3, "suggested_id_payout"] == "C;D;E"
    assert s.loc[3, "score"] < s.loc[2, "score"] < 1


@pytest.mark.parametrize(
    ("led", "plat", "why"),
    [
        (  # two payouts fit one row equally well
            ledger(L("X 1", "50.00")),
            [P("A", "50.00"), P("B", "50.00"), G("X 1", "invalid_id")],
            "ambiguous: several payouts fit equally well",
        ),
        (  # one payout fits two rows equally well
            ledger(L("X 1", "50.00"), L("X 2", "50.00")),
            [P("A", "50.00"), G("X 1", "invalid_id"), G("X 2", "invalid_id")],
            "ambiguous",
        ),
        (  # two groups sum to the amount
            ledger(L("X 1", "30.00")),
            [
                P("A", "10.00"),
                P("B", "20.00"),
                P("C", "5.00"),
                P("D", "25.00"),
                G("X 1", "invalid_id"),
            ],
            "ambiguous: 2 groups of payouts sum to the amount",
        ),
    ],
)
def test_none_when_ambiguous(led: pd.DataFrame, plat: list[dict[str, Any]], why: str) -> None:
    s = suggestions(led, plat)
    assert s["suggested_id_payout"].isna().all()
    assert all(why in r for r in s["reasons"])


def test_currency_tolerance_and_window() -> None:
    led = ledger(
        L("X 1", "50.00", cur="USD"),  # only a EUR payout of that amount
        L("X 2", "70.00", "2026-11-01"),  # the payout is 9 days later
        L("X 3", "80.01"),  # one cent off: fits with a tolerance
    )
    plat = [
        P("A", "50.00"),
        P("B", "70.00", "2026-11-10T00:00:00Z"),
        P("C", "80.00"),
        *(G(f"X {i}", "invalid_id") for i in (1, 2, 3)),
    ]
    s = suggestions(led, plat)
    assert s["suggested_id_payout"].isna().all()
    assert s.loc[3, "nearest_id_payout"] == "B" and s.loc[3, "nearest_days_gap"] == 9
    assert s.loc[3, "nearest_amount_gap"] == D("0")
    assert s.loc[4, "nearest_id_payout"] == "C" and s.loc[4, "nearest_amount_gap"] == D("0.01")
    assert pd.isna(s.loc[2, "nearest_id_payout"])  # nothing in USD at all
    wider = suggestions(led, plat, tolerance=D("0.01"), match_window=10)
    assert wider.loc[3, "suggested_id_payout"] == "B" and wider.loc[3, "score"] == pytest.approx(
        0.1
    )
    assert wider.loc[4, "suggested_id_payout"] == "C"
    assert "within tolerance" in wider.loc[4, "reasons"]


# -- duplicates ------------------------------------------------------------------------------


def roles(led: pd.DataFrame, plat: list[dict[str, Any]]) -> list[Any]:
    rec = reconcile(led, conform(pd.DataFrame(plat)))
    rows = rec.rows[rec.rows["source_row"].notna()]
    return rows["duplicate_role"].fillna("-").tolist()


def test_the_copy_that_agrees_is_kept() -> None:
    led = ledger(
        L("A", "10.00", status="SUCCESS"),
        L("A", "100.00", status="SUCCESS"),  # the platform's amount
        L("B", "5.00"),
    )
    assert roles(led, [P("A", "100.00"), P("B", "5.00")]) == ["extra", "kept", "-"]


def test_the_earliest_of_agreeing_copies_is_kept_then_the_first_in_the_file() -> None:
    led = ledger(
        L("A", "10.00", "2026-11-12"),
        L("A", "10.00", "2026-11-11"),
        L("A", "10.00", "2026-11-11"),
    )
    assert roles(led, [P("A", "10.00")]) == ["extra", "kept", "extra"]


def test_without_a_full_agreement_the_closest_copy_is_kept() -> None:
    led = ledger(
        L("A", "10.00", cur="USD", status="FAILED"),  # agrees on nothing
        L("A", "11.00", status="SUCCESS"),  # currency and status agree
        L("A", "10.00", cur="USD", status="SUCCESS"),  # status only
    )
    assert roles(led, [P("A", "10.00")]) == ["extra", "kept", "extra"]
    gone = roles(led, [G("A")])  # the platform has none of them: the first is kept
    assert gone == ["kept", "extra", "extra"]
