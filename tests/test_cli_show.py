"""``payrecon show ID``: one payout's story, from the platform, the store and the ledger.

The story itself is a pure function (tested first, on hand-made parts); the command is then run
in-process against the sandbox over loopback, with its credentials in the environment.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from payrecon.cli import main
from payrecon.client.records import FetchOutcome, PayoutDetail, loads
from payrecon.sandbox import SandboxConfig, running
from payrecon.store import Store
from payrecon.store.story import payout_story

DETAIL = loads(
    '{"paymentRequested": {"money": {"amount": 10.50, "currencyCode": "USD"}},'
    ' "process": {"status": "FAILED", "createdAt": "2024-03-01T10:00:00Z", "isTest": true,'
    ' "failureReasons": {"failureReasonCode": "BALANCE_INSUFFICIENT", "message": "no funds"}},'
    ' "fee": {"amount": 0.25, "currencyCode": "USD"},'
    ' "paymentMethodResponse": {"paymentMethodCode": "BANK_TRANSFER", "idPayment": "PAY-9"}}'
)


def test_story_tells_detail_history_callbacks_and_ledger_rows() -> None:
    history = pd.DataFrame(
        {
            "id_payout": ["S-1", "OTHER", "S-1"],
            "seen_at": pd.to_datetime(
                ["2024-03-01T10:00:01Z", "2024-03-01T10:00:02Z", "2024-03-01T10:01:00Z"], utc=True
            ),
            "previous_status": [None, None, "PROCESSING"],
            "status": ["PROCESSING", "SUCCESS", "FAILED"],
            "source": ["fetch", "fetch", "callback"],
        }
    )
    callbacks = pd.DataFrame(
        {
            "id_payout": ["S-1"],
            "received_at": pd.to_datetime(["2024-03-01T10:00:59Z"], utc=True),
            "remote": ["10.1.2.3"],
            "body": ['{"idEntity": "S-1"}'],
            "error": [""],
        }
    )
    ledger = pd.DataFrame(
        {
            "source_row": [2, 3, 4],
            "id_payout": ["S-1", "OTHER", "S-1"],
            "amount": [Decimal("10.50"), Decimal(1), Decimal("10.50")],
            "status": ["<b>PAID</b>", "PAID", "PAID"],
            "raw.Secret Column": ["x", "y", "z"],
        }
    )
    story = payout_story(
        "S-1",
        detail=PayoutDetail.from_json("S-1", DETAIL),
        history=history,
        callbacks=callbacks,
        ledger=ledger,
    )
    assert len(story.history) == 2 and list(story.ledger_rows["source_row"]) == [2, 4]  # type: ignore[index]
    text = story.to_text()
    assert "Payout S-1" in text
    assert "status FAILED" in text and "10.50 USD" in text and "fee 0.25 USD" in text
    assert "BALANCE_INSUFFICIENT no funds" in text and "idPayment PAY-9" in text
    assert "(first seen) PROCESSING" in text and "PROCESSING -> FAILED  via callback" in text
    assert "from 10.1.2.3" in text
    assert "Ledger rows naming it (2)" in text
    assert "raw." not in text and "OTHER" not in text
    html = story.to_html()
    assert "&lt;b&gt;PAID&lt;/b&gt;" in html and "<b>PAID</b>" not in html
    assert story._repr_html_() == html


def test_story_without_detail_store_or_ledger() -> None:
    story = payout_story("X-1", note="not found on the platform (410 Gone)")
    text = story.to_text()
    assert "not found on the platform" in text and "No detail known." in text
    assert "Status changes seen (0)" in text and "Ledger rows" not in text
    assert story.detail_source == "none"


# -- the command, against the sandbox ----------------------------------------------------------


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    with running(SandboxConfig(final_after=0.3)) as sb:
        monkeypatch.chdir(tmp_path)  # no stray .env; the store lands here
        monkeypatch.setenv("PAYRECON_BASE_URL", sb.base_url)
        monkeypatch.setenv("PAYRECON_MERCHANT_CODE", sb.merchant_code)
        monkeypatch.setenv("PAYRECON_SECRET", sb.secret)
        yield sb


def _store(sb: Any, path: Path = Path("payrecon.db")) -> Store:
    return Store(path, base_url=sb.base_url, merchant_code=sb.merchant_code)


def test_show_tells_the_whole_story(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime

    client = sandbox.client()
    client.create_payout(
        "SHOW-1",
        amount=Decimal("10000"),
        currency="IDR",
        account={"accountName": "Budi", "accountNumber": "1234567890"},
        operator="BNK_000",
    )
    with _store(sandbox) as store:
        store.record(FetchOutcome("SHOW-1", client.get_payout("SHOW-1"), 200))  # PROCESSING
        store.record_callback("SHOW-1", datetime.now(UTC), '{"idEntity": "SHOW-1"}', "127.0.0.9")
    deadline = time.monotonic() + 30
    while sandbox.payout_state("SHOW-1")["status"] == "PROCESSING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    Path("ledger.csv").write_text(
        "Merchant Order ID;Amount;Currency\nSHOW-1;10.000;IDR\nOTHER-1;5;IDR\n"
    )
    Path("m.toml").write_text(
        '[columns]\nid_payout = "Merchant Order ID"\namount = "Amount"\ncurrency = "Currency"\n'
        '[parse]\ndelimiter = ";"\nthousands = "."\n'
    )
    code = main(["show", "SHOW-1", "--ledger", "ledger.csv", "--mapping", "m.toml"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Detail (now, from the platform)" in out and "status SUCCESS" in out
    assert "amount 10000 IDR" in out
    assert "(first seen) PROCESSING" in out and "PROCESSING -> SUCCESS  via fetch" in out
    assert "Callbacks received (1)" in out and "127.0.0.9" in out
    assert "Ledger rows naming it (1)" in out and "OTHER-1" not in out
    assert sandbox.secret not in out + err
    with Store.open_readonly("payrecon.db") as store:  # the fresh detail was recorded
        assert store.history("SHOW-1")["status"].tolist() == ["PROCESSING", "SUCCESS"]


def test_show_a_payout_the_platform_lacks(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with _store(sandbox) as store:
        store.record(FetchOutcome("GONE-1", PayoutDetail.from_json("GONE-1", DETAIL), 200))
    assert main(["show", "GONE-1"]) == 0
    out = capsys.readouterr().out
    assert "not found on the platform" in out
    assert "Detail (as the store last saw it)" in out and "status FAILED" in out


def test_show_without_a_store_leaves_no_file(
    sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "NOPE-1"]) == 0
    out = capsys.readouterr().out
    assert "not found on the platform" in out and "no store at payrecon.db" in out
    assert not Path("payrecon.db").exists()


@pytest.mark.parametrize("bad", ["has space", "x" * 251, "a/b"])
def test_show_refuses_a_bad_id(sandbox: Any, bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", bad]) == 2
    assert "id rule" in capsys.readouterr().err
    assert sandbox.stats().count(kind="payout") == 0


def test_show_on_a_corrupted_store_is_a_clear_error(
    sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("payrecon.db").write_bytes(b"\x00garbage, not SQLite\x00" * 500)
    assert main(["show", "ANY-1"]) == 2
    err = capsys.readouterr().err
    assert "corrupted" in err and "payrecon.db" in err and "Traceback" not in err


def test_show_on_another_platforms_store_names_both(
    sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Store("payrecon.db", base_url="https://api.echelonpay.com", merchant_code="LIVE-M").close()
    assert main(["show", "ANY-1"]) == 2
    err = capsys.readouterr().err
    assert "api.echelonpay.com" in err and sandbox.base_url in err and "Traceback" not in err


def test_show_on_a_locked_store_is_a_clear_error(
    sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _store(sandbox).close()
    other = sqlite3.connect("payrecon.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer, holding the lock past the wait
    try:
        assert main(["show", "ANY-1"]) == 2
    finally:
        other.execute("ROLLBACK")
        other.close()
    err = capsys.readouterr().err
    assert "locked by another writer" in err and "Traceback" not in err


def test_known_ids_show_up_as_missing_in_ledger_and_explain_tells_why(
    sandbox: Any, tmp_path: Path
) -> None:
    from payrecon.core import reconcile
    from payrecon.ledger import read_ledger

    seed = tmp_path / "seed.csv"
    seed.write_text(
        "id_payout,amount,currency,status\nBOOKED-1,5.00,USD,SUCCESS\nUNBOOKED-1,9.00,USD,SUCCESS\n"
    )
    sandbox.seed(seed)
    Path("ledger.csv").write_text("id_payout,amount,currency\nBOOKED-1,5.00,USD\n")
    ledger = read_ledger("ledger.csv")
    client = sandbox.client(progress=False)
    with _store(sandbox) as store:
        store.register(["UNBOOKED-1"], "callback")  # e.g. the platform called back about it
        known = store.known_ids()
        ids = list(dict.fromkeys([*ledger["id_payout"], *known]))
        statuses = client.fetch_statuses(ids, store=store)
        rec = reconcile(ledger, statuses, ids=known)
        by_id = dict(zip(rec.rows["id_payout"], rec.rows["category"], strict=True))
        assert by_id == {"BOOKED-1": "matched", "UNBOOKED-1": "missing_in_ledger"}
        story = rec.explain("UNBOOKED-1", store=store)
    text = story.to_text()
    assert "Reconciliation rows naming it (1)" in text and "missing_in_ledger" in text
    assert "Detail (as the store last saw it)" in text and "amount 9.00 USD" in text
    assert "(first seen) SUCCESS  via fetch" in text
    # without a store, the reconciliation's own rows tell what the platform answered
    alone = rec.explain("UNBOOKED-1")
    assert alone.detail_source == "reconciliation"
    text = alone.to_text()
    assert "Detail (as fetched for this reconciliation)" in text
    assert "status SUCCESS" in text and "amount 9.00 USD" in text
    assert "as fetched for this reconciliation" in alone.to_html()
    assert rec.explain("NEVER-SEEN").detail is None  # nothing known: nothing made up
