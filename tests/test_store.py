"""The SQLite store on its own: exact round trips, history, scope, and clear errors.

Answers are built by hand here (no platform needed); ``test_incremental.py`` drives the store
through the real client and the sandbox.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from contract import STATUS_COLUMNS, dtypes_of
from hypothesis import given
from hypothesis import strategies as st

from payrecon.client.records import FetchOutcome, PayoutDetail, loads
from payrecon.errors import StoreError
from payrecon.store import Store, open_store
from payrecon.store._store import dumps_exact

URL = "http://127.0.0.1:9/"
MERCHANT = "M-TEST"


def body(status: str, amount: str = "10000.50", currency: str = "USD") -> dict[str, Any]:
    text = (
        '{"paymentRequested": {"money": {"amount": AMOUNT, "currencyCode": "CUR"}},'
        ' "process": {"status": "STATUS", "createdAt": "2024-03-01T10:00:00.123Z",'
        ' "processedAt": "2024-03-01T10:05:00Z", "isTest": true, "processorStatus": "ACCEPTED"},'
        ' "fee": {"amount": 0.10, "currencyCode": "CUR"},'
        ' "paymentMethodResponse": {"paymentMethodCode": "BANK_TRANSFER", "idPayment": "P-1",'
        ' "reference": "R-1"}, "futureField": [1, 2.50, null, "x"]}'
    )
    text = text.replace("AMOUNT", amount).replace("CUR", currency).replace("STATUS", status)
    return loads(text)  # type: ignore[no-any-return]


def answer(pid: str, status: str, **kw: str) -> FetchOutcome:
    return FetchOutcome(pid, PayoutDetail.from_json(pid, body(status, **kw)), 200)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "s.db", base_url=URL, merchant_code=MERCHANT) as s:
        yield s


def test_detail_round_trips_exactly(store: Store) -> None:
    original = answer("A-1", "SUCCESS", amount="12345678901234567.12345678")
    store.record(original)
    again = store.known_final(["A-1"])["A-1"]
    assert again == original.detail  # every parsed field, and the raw JSON, equal
    assert again.amount == Decimal("12345678901234567.12345678")
    assert again.raw["futureField"][1] == Decimal("2.50")  # unknown fields kept exactly


def test_statuses_table_has_the_contract_dtypes(store: Store) -> None:
    store.record(answer("A-1", "SUCCESS", amount="0.10"))
    store.record(FetchOutcome("A-2", None, 410, "not_found"))
    table = store.statuses()
    assert list(table.columns) == list(STATUS_COLUMNS)
    assert dtypes_of(table) == STATUS_COLUMNS  # the same table a fetch writes
    assert table["id_payout"].tolist() == ["A-1", "A-2"]
    assert table["amount"].iloc[0] == Decimal("0.10")
    assert table["from_store"].all()
    assert table["error"].tolist() == ["", "not_found"]
    assert table["http_status"].tolist() == [200, 410]
    assert table["is_test"].iloc[0]
    assert bool(table["status"].isna().iloc[1])


def test_statuses_for_chosen_ids_keeps_their_order(store: Store) -> None:
    for pid in ["A", "B", "C"]:
        store.record(answer(pid, "SUCCESS"))
    table = store.statuses(["C", "nope", "A"], fetched_at=True)
    assert table["id_payout"].tolist() == ["C", "A"]
    assert table["fetched_at"].notna().all()


def test_only_final_statuses_are_known_final(store: Store) -> None:
    store.record(answer("P", "PROCESSING"))
    store.record(answer("S", "SUCCESS"))
    store.record(answer("F", "FAILED"))
    store.record(answer("R", "REFUSED"))
    store.record(answer("N", "SOME_NEW_STATUS"))
    store.record(FetchOutcome("G", None, 410, "not_found"))
    assert set(store.known_final(["P", "S", "F", "R", "N", "G", "unknown"])) == {"S", "F", "R"}


def test_history_records_changes_not_repeats(store: Store) -> None:
    store.record(answer("A", "PROCESSING"))
    store.record(answer("A", "PROCESSING"))
    store.record(answer("A", "SUCCESS"), source="callback")
    store.record(answer("A", "SUCCESS"))
    h = store.history("A")
    assert h["status"].tolist() == ["PROCESSING", "SUCCESS"]
    assert h["previous_status"].isna().tolist() == [True, False]
    assert h["previous_status"].iloc[1] == "PROCESSING"
    assert h["source"].tolist() == ["fetch", "callback"]
    assert h["seen_at"].is_monotonic_increasing
    assert str(h["seen_at"].dtype) == "datetime64[us, UTC]"
    assert len(store.history()) == 2


def test_a_failed_refetch_keeps_the_detail(store: Store) -> None:
    store.record(answer("A", "PROCESSING"))
    store.record(FetchOutcome("A", None, 503, "server_error"))
    row = store.statuses().iloc[0]
    assert row["status"] == "PROCESSING" and row["error"] == "" and row["http_status"] == 200
    assert store.detail("A") is not None


def test_nothing_is_recorded_for_ids_never_sent_or_served_from_the_store(store: Store) -> None:
    store.record(FetchOutcome("bad id!", None, None, "invalid_id"))
    store.record(FetchOutcome("ok", None, None, "invalid_id"))
    d = answer("S", "SUCCESS").detail
    store.record(FetchOutcome("S", d, 200, from_store=True))
    assert store.counts()["payouts"] == 0
    assert store.known_ids() == []


def test_register_of_known_ids(store: Store) -> None:
    assert store.register(["A", "B", "A", "not valid!"], "imported") == 2
    assert store.register(["B", "C"], "created") == 1
    store.record(answer("D", "SUCCESS"))
    store.record_callback("E", datetime.now(UTC), '{"idEntity": "E"}', "127.0.0.1")
    assert store.known_ids() == ["A", "B", "C", "D"]  # a callback alone is no payout
    store.record(FetchOutcome("F", None, 410, "not_found"))
    assert store.known_ids() == ["A", "B", "C", "D"]  # nor an id the platform does not have
    store.record(answer("E", "SUCCESS"), source="callback")  # the platform's 200 confirms it
    assert store.known_ids() == ["A", "B", "C", "D", "E"]
    assert store.known_ids("imported") == ["A", "B"]  # B keeps its first source
    assert store.known_ids("callback") == ["E"]
    with pytest.raises(ValueError, match="source"):
        store.register(["X"], "guessed")  # type: ignore[arg-type]


def test_callbacks_kept_accepted_and_refused(store: Store) -> None:
    t = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    store.record_callback("A", t, '{"idEntity": "A"}', "10.0.0.1")
    store.record_callback(None, t, "not json", "10.0.0.2", error="not_json")
    store.record_callback("A", t, '{"idEntity": "A"}', "10.0.0.1")
    cb = store.callbacks()
    assert len(cb) == 3 and cb["error"].tolist() == ["", "not_json", ""]
    assert len(store.callbacks("A")) == 2
    assert cb["received_at"].iloc[0] == t
    assert store.known_ids() == []  # a callback is a hint: only the platform's 200 registers


def test_pending_callbacks_are_those_newer_than_the_last_fetch(store: Store) -> None:
    old = datetime(2000, 1, 1, tzinfo=UTC)
    store.record_callback("OLD", old, "{}", "")
    store.record(answer("OLD", "SUCCESS"))  # fetched after its callback
    store.record(answer("NEW", "PROCESSING"))
    store.record_callback("NEW", datetime(2999, 1, 1, tzinfo=UTC), "{}", "")
    store.record_callback("NEVER", old, "{}", "")
    store.record_callback(None, old, "junk", "", error="not_json")
    assert store.pending_callback_ids() == ["NEW", "NEVER"]


def schema_version(path: Path) -> int:
    """The schema version a store file carries (SQLite's ``user_version``)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_reopen_keeps_everything_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, base_url=URL, merchant_code=MERCHANT) as s:
        s.record(answer("A", "SUCCESS"))
    created = schema_version(path)
    with Store(path, base_url=URL.rstrip("/"), merchant_code=MERCHANT) as s:
        assert set(s.known_final(["A"])) == {"A"}
    assert schema_version(path) == created > 0  # stamped when made, kept when reopened
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT typeof(amount) FROM payouts").fetchone()[0] == "text"
    conn.close()


def test_open_store_none_means_no_store(tmp_path: Path) -> None:
    assert open_store(None, base_url=URL, merchant_code=MERCHANT) is None
    s = open_store(tmp_path / "x.db", base_url=URL, merchant_code=MERCHANT)
    assert isinstance(s, Store)
    s.close()


def test_another_platform_or_merchant_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, base_url="https://api.sandbox.aopay.io", merchant_code="M1").close()
    with pytest.raises(StoreError) as err:
        Store(path, base_url="https://api.echelonpay.com", merchant_code="M1")
    assert "api.sandbox.aopay.io" in str(err.value) and "api.echelonpay.com" in str(err.value)
    with pytest.raises(StoreError, match="merchant M2"):
        Store(path, base_url="https://api.sandbox.aopay.io", merchant_code="M2")


def test_reader_reads_while_a_writer_holds_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, base_url=URL, merchant_code=MERCHANT) as writer:
        writer.record(answer("A", "SUCCESS"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("DELETE FROM payouts")  # uncommitted: a reader must not see it
        with Store.open_readonly(path) as reader:
            assert reader.statuses()["id_payout"].tolist() == ["A"]
            assert (reader.base_url, reader.merchant_code) == (URL.rstrip("/"), MERCHANT)
            with pytest.raises(StoreError, match="read-only"):
                reader.record(answer("B", "SUCCESS"))
        other.execute("ROLLBACK")
        other.close()


def test_locked_by_another_writer_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, base_url=URL, merchant_code=MERCHANT).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Store(path, base_url=URL, merchant_code=MERCHANT, busy_timeout=0.05) as s:
            with pytest.raises(StoreError, match="locked by another writer"):
                s.record(answer("A", "SUCCESS"))
            assert s.counts()["payouts"] == 0  # reads still work under WAL
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database at all, just some text" * 100)
    with pytest.raises(StoreError, match="not a payrecon store, or it is corrupted"):
        Store(path, base_url=URL, merchant_code=MERCHANT)
    with pytest.raises(StoreError, match="corrupted"):
        Store.open_readonly(path)


def test_damaged_pages_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, base_url=URL, merchant_code=MERCHANT) as s:
        for i in range(300):
            s.record(answer(f"A{i}", "SUCCESS"))
    conn = sqlite3.connect(path)  # fold the log into the main file, then damage it
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[2 * page : len(data)] = b"\xa5" * (len(data) - 2 * page)
    path.write_bytes(bytes(data))
    with (
        pytest.raises(StoreError, match="corrupted"),
        Store(path, base_url=URL, merchant_code=MERCHANT) as s,
    ):
        s.statuses()


def test_someone_elses_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a payrecon store"):
        Store(path, base_url=URL, merchant_code=MERCHANT)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, base_url=URL, merchant_code=MERCHANT).close()
    newer = schema_version(path) + 1  # one past what this payrecon writes
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={newer}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer payrecon"):
        Store(path, base_url=URL, merchant_code=MERCHANT)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        Store(tmp_path / "no" / "such" / "s.db", base_url=URL, merchant_code=MERCHANT)


def test_threads_may_share_one_store(store: Store) -> None:
    def work(n: int) -> None:
        for i in range(50):
            store.record(answer(f"T{n}-{i}", "SUCCESS"))
            store.record_callback(f"T{n}-{i}", datetime.now(UTC), "{}", "")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = store.counts()
    assert counts == {"known_ids": 400, "payouts": 400, "status_changes": 400, "callbacks": 400}


def test_repr_names_scope_only(store: Store) -> None:
    assert "M-TEST" in repr(store) and "127.0.0.1" in repr(store)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(), kids, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_dumps_exact_round_trips(value: Any) -> None:
    again = loads(dumps_exact(value))
    assert again == value
    # and the same types: a Decimal stays a Decimal (or an int when it was written as one)
    if isinstance(value, Decimal):
        assert isinstance(again, Decimal | int)


def test_a_write_cut_short_by_a_signal_does_not_wedge_the_store(tmp_path: Path) -> None:
    # What SIGTERM (turned into KeyboardInterrupt) leaves when it lands between a write's BEGIN
    # and its ``try``: an open transaction holding half a write. The next write, on the way out
    # of the interrupted fetch, used to fail ("cannot start a transaction within a transaction")
    # and the command exited 2 instead of writing its table.
    with open_store(tmp_path / "s.db", base_url=URL, merchant_code=MERCHANT) as store:
        assert store is not None
        store._conn.execute("BEGIN IMMEDIATE")
        store._conn.execute(
            "INSERT INTO known_ids (id_payout, source, first_seen_at)"
            " VALUES ('HALF', 'fetched', '')"
        )
        store.register(["PO-1"], "imported")
        store.remember_pace(123.4)
        assert store.known_ids() == ["PO-1"]  # the half write was never committed: gone
        assert store.learned_pace() == 123.4
