"""Changes since the last run (pure), the run history in the store, and regressions from it."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from payrecon.client.records import FetchOutcome, PayoutDetail
from payrecon.core import from_store
from payrecon.core._changes import OpenItem, diff, key_of, open_now
from payrecon.store import Store

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def item(key: str, category: str, since: datetime = T0, runs: int = 1) -> OpenItem:
    return OpenItem(key, key, None, category, category, since, runs)


def test_each_kind_of_change() -> None:
    before = [
        item("A", "amount_mismatch", T0 - timedelta(days=2), 3),
        item("B", "status_mismatch", T0 - timedelta(days=1), 1),
        item("C", "fee_mismatch"),
    ]
    now = {
        k: item(k, c, T0 + timedelta(days=1))
        for k, c in [("A", "amount_mismatch"), ("B", "amount_mismatch"), ("D", "missing_in_ledger")]
    }
    changes, carried = diff(before, now, {"C": "matched"})
    got = changes.set_index("id_payout")
    assert changes["change"].tolist() == ["new", "changed", "resolved", "still_open"]
    assert got.loc["D", "change"] == "new" and got.loc["D", "runs_open"] == 1
    assert got.loc["B", "category_before"] == "status_mismatch"
    assert got.loc["B", "category_now"] == "amount_mismatch" and got.loc["B", "runs_open"] == 2
    assert got.loc["C", "category_now"] == "matched" and pd.isna(got.loc["C", "issues_now"])
    assert got.loc["A", "runs_open"] == 4
    assert got.loc["A", "open_since"] == pd.Timestamp(T0 - timedelta(days=2))
    by_key = {i.key: i for i in carried}
    assert set(by_key) == {"A", "B", "D"}  # resolved ones are not carried
    assert by_key["A"].open_since == T0 - timedelta(days=2) and by_key["D"].runs_open == 1


def test_first_run_everything_is_new_and_a_reopened_key_is_new_again() -> None:
    now = {"A": item("A", "amount_mismatch")}
    changes, _ = diff(None, now, {})
    assert changes["change"].tolist() == ["new"]
    changes, carried = diff([], now, {})
    assert changes["change"].tolist() == ["new"] and carried[0].runs_open == 1


def test_keys_are_ids_or_ledger_lines_and_duplicates_count_once() -> None:
    assert key_of("PO-1 ", 5) == "PO-1"
    assert key_of("", 7) == "row 7" and key_of(None, 8) == "row 8"
    exceptions = pd.DataFrame(
        {
            "id_payout": ["D", "D", "", None],
            "source_row": [2, 3, 4, 5],
            "category": ["duplicate_in_ledger"] * 2 + ["fetch_error"] * 2,
            "issues": ["duplicate_in_ledger"] * 2 + ["fetch_error;not_fetched"] * 2,
        }
    )
    items = open_now(exceptions, T0)
    assert list(items) == ["D", "row 4", "row 5"]
    assert items["D"].source_row == 2 and items["row 4"].id_payout is None


def test_the_store_keeps_runs_and_the_last_ones_exceptions(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db", base_url="http://x", merchant_code="m") as store:
        assert store.last_run("daily") is None
        for day in range(3):
            store.record_run(
                name="daily",
                started_at=T0 + timedelta(days=day),
                ledger="ledger.csv",
                rows=10,
                counts={"matched": 9, "amount_mismatch": 1},
                open_items=[item("A", "amount_mismatch", T0, day + 1).as_tuple()],
                keep_runs=2,
            )
        store.record_run(name="other", started_at=T0, ledger=None, rows=0, counts={}, open_items=[])
        last = store.last_run("daily")
        assert last is not None
        when, items = last
        assert when == T0 + timedelta(days=2)
        (a,) = [OpenItem.from_tuple(t) for t in items]
        assert a.runs_open == 3 and a.open_since == T0 and a.category == "amount_mismatch"
        runs = store.runs("daily")
        assert runs["started_at"].tolist() == [
            pd.Timestamp(T0 + timedelta(days=d)) for d in range(3)
        ]
        assert store.last_run("other") == (T0, [])
    # older runs' exceptions are pruned and the runs themselves kept: only the file shows it
    with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as conn:
        kept = conn.execute("SELECT COUNT(DISTINCT run_seq) FROM run_exceptions").fetchone()[0]
    assert kept == 2


def _answer(pid: str, status: str) -> FetchOutcome:
    body = {
        "paymentRequested": {"money": {"amount": 10, "currencyCode": "EUR"}},
        "process": {"status": status, "createdAt": "2026-11-10T09:00:00Z", "isTest": False},
        "fee": {"amount": 1, "currencyCode": "EUR"},
        "paymentMethodResponse": {"idPayout": pid},
    }
    return FetchOutcome(pid, PayoutDetail.from_json(pid, body), 200, "")


def test_regressions_are_read_from_the_status_history(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db", base_url="http://x", merchant_code="m") as store:
        for pid, statuses in {
            "R-1": ["PROCESSING", "SUCCESS", "FAILED"],  # a reversal
            "R-2": ["SUCCESS", "PROCESSING", "REFUSED"],  # through PROCESSING: still one
            "R-3": ["PROCESSING", "SUCCESS"],  # the normal life of a payout
            "R-4": ["FAILED", "SUCCESS", "FAILED"],  # back and forth: now FAILED, was SUCCESS
            "R-5": ["SUCCESS", "PROCESSING"],  # not final now: not (yet) a regression
        }.items():
            for status in statuses:
                store.record(_answer(pid, status))
        found = from_store(store).set_index("id_payout")
        assert found["status_before"].to_dict() == {
            "R-1": "SUCCESS",
            "R-2": "SUCCESS",
            "R-4": "SUCCESS",
        }
        assert found["status_now"].to_dict() == {"R-1": "FAILED", "R-2": "REFUSED", "R-4": "FAILED"}
        assert (found["seen_before"] < found["seen_now"]).all()
