"""The callback receiver over real HTTP: the sandbox calls it, it records and fetches.

Everything runs on loopback: the sandbox in-process, the receiver on a free port, the real client
fetching each announced payout. Waiting is for completion with a generous bound, never a timed
assertion.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from callback_helpers import sandbox_fixture, seed, store_fixture, wait_for  # noqa: F401

from payrecon.client import Client
from payrecon.receiver import CallbackReceiver, ReceiverLimits, run_receiver
from payrecon.receiver._receiver import parse_callback
from payrecon.store import Store


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"idEntity": "PO-1"}', ("PO-1", "")),
        (b'{"idEntity": "PO-1", "somethingNew": 1.5}', ("PO-1", "")),
        (b"not json", (None, "not_json")),
        (b"", (None, "not_json")),
        (b"\xff\xfe", (None, "not_utf8")),
        (b'["PO-1"]', (None, "not_an_object")),
        (b'{"id": "PO-1"}', (None, "no_idEntity")),
        (b'{"idEntity": 12}', (None, "idEntity_not_a_string")),
        (b'{"idEntity": "../etc/passwd"}', (None, "idEntity_breaks_id_rule")),
        (b'{"idEntity": ""}', (None, "idEntity_breaks_id_rule")),
        (b'{"idEntity": "' + b"x" * 251 + b'"}', (None, "idEntity_breaks_id_rule")),
        (b"[" * 5000 + b"]" * 5000, (None, "too_deep")),
        (b'{"idEntity": "PO-1", "n": ' + b"[" * 33 + b"]" * 33 + b"}", (None, "too_deep")),
        (b'{"idEntity": "PO-1", "s": "' + b"[" * 100 + b'"}', ("PO-1", "")),  # text, not depth
    ],
)
def test_parse_callback(body: bytes, expected: tuple[str | None, str]) -> None:
    assert parse_callback(body) == expected


def test_platform_callbacks_are_recorded_and_their_payouts_fetched(
    sandbox: Any, store: Store
) -> None:
    client = sandbox.client()
    with run_receiver(store, client) as receiver:
        url = receiver.url + "payrecon/callbacks"  # any path the merchant registered
        for pid, amount in [("CB-OK", "100.00"), ("CB-FAIL", "113.00")]:
            client.create_payout(
                pid,
                amount=Decimal(amount),
                currency="USD",
                account={"accountName": "A N Other", "accountNumber": "12345678"},
                operator="BNK_000",
                callback_url=url,
            )
        wait_for(lambda: len(store.known_final(["CB-OK", "CB-FAIL"])) == 2)
        assert receiver.wait_idle(30)
    table = store.statuses(["CB-OK", "CB-FAIL"])
    assert table["status"].tolist() == ["SUCCESS", "FAILED"]
    assert table["amount"].tolist() == [Decimal("100.00"), Decimal("113.00")]
    cbs = store.callbacks()
    assert set(cbs["id_payout"]) == {"CB-OK", "CB-FAIL"}
    assert (cbs["error"] == "").all()
    assert "callback" in store.history("CB-OK")["source"].tolist()
    delivered = [c for c in sandbox.stats().callbacks if c.http_status == 200]
    assert len(delivered) >= 2  # the platform saw exactly 200 and stopped retrying


def test_200_concurrent_callbacks_with_repeats_are_each_recorded_once(
    sandbox: Any, store: Store, tmp_path: Path
) -> None:
    ids = [f"CC-{n:03d}" for n in range(50)]
    seed(sandbox, tmp_path, [(i, "10.00", "SUCCESS") for i in ids])
    store.register(ids, "imported")  # known ids: fetched at once, not parked
    sent = [ids[n % 50] for n in range(200)]  # every id 4 times
    random.Random(7).shuffle(sent)
    client = sandbox.client()
    roomy = ReceiverLimits(sender_burst=1000)  # one sender here; the limit has its own test
    with run_receiver(store, client, workers=4, limits=roomy) as receiver:
        start = threading.Barrier(50)

        def post(pid: str) -> int:
            with requests.Session() as s:
                with contextlib.suppress(threading.BrokenBarrierError):
                    start.wait(timeout=10)
                return s.post(receiver.url, json={"idEntity": pid}, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            codes = list(pool.map(post, sent))
        assert receiver.wait_idle(60)
        stats = receiver.stats()
    assert codes == [200] * 200
    cbs = store.callbacks()
    assert len(cbs) == 200  # every callback recorded, none twice
    assert Counter(cbs["id_payout"]) == Counter(sent)
    assert sorted(store.known_ids()) == ids  # the register holds each id once
    assert set(store.known_final(ids)) == set(ids)  # and every detail was fetched
    history = store.history()
    assert Counter(history["id_payout"]) == Counter(ids)  # one status change each, no repeats
    attempts = sandbox.stats().get_attempts
    assert all(1 <= attempts.get(i, 0) <= 4 for i in ids)  # repeats never fetched more often
    assert stats.accepted == stats.known == 200
    assert stats.fetched == sum(attempts.get(i, 0) for i in ids)
    assert stats.parked == 0 and stats.budget_calls == 0  # nothing went to the unknown lane


def test_bad_bodies_get_400_are_kept_and_never_stop_the_receiver(
    sandbox: Any, store: Store
) -> None:
    with run_receiver(store, sandbox.client()) as receiver:
        url = receiver.url
        bad = [
            b"not json",
            b'{"idEntity": "has space"}',
            b'{"idEntity": null}',
            b"[1, 2]",
            b"\xff\xfe\x00",
            b'{"idEntity": "' + b"A" * 300 + b'"}',
            b"[" * 30_000 + b"]" * 30_000,  # deeply nested: refused unparsed, not a 500
            b'{"idEntity": "PO-1", "x": ' + b"[" * 40 + b"]" * 40 + b"}",
        ]
        codes = [requests.post(url, data=b, timeout=10).status_code for b in bad]
        too_big = requests.post(url, data=b"x" * (70 * 1024), timeout=10).status_code
        health = requests.get(url + "healthz", timeout=10)
        assert receiver.stats().refused == len(bad) + 1
    assert codes == [400] * len(bad)
    assert too_big == 413
    assert health.status_code == 200
    cbs = store.callbacks()
    assert len(cbs) == len(bad) + 1
    assert cbs["id_payout"].isna().all()
    assert cbs["error"].tolist() == [
        "not_json",
        "idEntity_breaks_id_rule",
        "idEntity_not_a_string",
        "not_an_object",
        "not_utf8",
        "idEntity_breaks_id_rule",
        "too_deep",
        "too_deep",
        "too_large",
    ]
    assert cbs["body"].str.len().max() <= 1024  # kept cut short, to 1 KiB
    assert store.known_ids() == []
    assert sandbox.stats().get_attempts == {}  # nothing valid was sent: nothing fetched


def test_a_callback_for_a_payout_the_platform_lacks_is_a_rejected_callback(
    sandbox: Any, store: Store
) -> None:
    with run_receiver(store, sandbox.client()) as receiver:
        r = requests.post(receiver.url + "x/y?z=1", json={"idEntity": "NO-SUCH"}, timeout=10)
        assert receiver.wait_settled(30)
        stats = receiver.stats()
    assert r.status_code == 200
    assert stats.parked == 1 and stats.rejected == 1 and stats.confirmed == 0
    assert store.statuses(["NO-SUCH"]).empty  # not a payout
    assert store.known_ids() == []  # so never in reconcile --include-known
    cbs = store.callbacks("NO-SUCH")
    assert cbs["error"].tolist() == ["not_found"]


def _unreachable_url() -> str:
    """A loopback address where nothing listens: a platform that is down."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize(
    ("trouble", "word"),
    [("down", "transport_error"), ("5xx", "server_error"), ("timeout", "transport_error")],
)
def test_a_callback_the_platform_cannot_confirm_is_kept_with_its_error_and_is_no_payout(
    sandbox: Any, store: Store, tmp_path: Path, trouble: str, word: str
) -> None:
    """The platform has the payout, but cannot say so while the receiver asks: the callback is
    kept with the fetch's error word (the same words a bulk fetch writes), and the id does not
    enter the register, the statuses or the history on the word of a callback alone."""
    seed(sandbox, tmp_path, [("CB-T", "5.00", "SUCCESS")])
    if trouble == "down":
        client = Client(_unreachable_url(), sandbox.merchant_code, sandbox.secret, max_retries=0)
    elif trouble == "5xx":
        sandbox.faults.error_500_rate = 1.0  # token requests and GETs alike
        client = sandbox.client(max_retries=0)
    else:
        sandbox.faults.latency = 1.0  # longer than the client waits for an answer
        client = sandbox.client(max_retries=0, timeout=(5, 0.2))
    one_at_a_time = ReceiverLimits(batch=1)  # a lone id is asked about at once, not gathered
    with client, run_receiver(store, client, limits=one_at_a_time) as receiver:
        r = requests.post(receiver.url + "hook", json={"idEntity": "CB-T"}, timeout=10)
        assert receiver.wait_settled(30)
        stats = receiver.stats()
    assert r.status_code == 200  # answered at once: the platform has no reason to retry
    assert stats.confirmed == 0 and stats.rejected == 1
    assert store.callbacks("CB-T")["error"].tolist() == [word]
    assert store.known_ids() == []
    assert store.statuses(["CB-T"]).empty and store.history("CB-T").empty


def test_callbacks_recorded_but_not_fetched_are_fetched_on_restart(
    sandbox: Any, store: Store, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    seed(sandbox, tmp_path, [("RS-1", "5.00", "REFUSED")])
    store.record_callback("RS-1", datetime.now(UTC), '{"idEntity": "RS-1"}', "127.0.0.1")
    assert store.pending_callback_ids() == ["RS-1"]
    receiver = CallbackReceiver(store, sandbox.client())
    with receiver:
        assert receiver.wait_idle(30)
    assert store.statuses(["RS-1"])["status"].tolist() == ["REFUSED"]
    assert store.pending_callback_ids() == []


def test_a_store_that_cannot_be_written_gets_503_so_the_platform_retries(
    sandbox: Any, store: Store, tmp_path: Path
) -> None:
    import sqlite3

    store.register(["LOCKED-1"], "imported")  # known: committed before the 200
    slow = Store(
        store.path, base_url=store.base_url, merchant_code=store.merchant_code, busy_timeout=0.05
    )
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with run_receiver(slow, sandbox.client()) as receiver:
            r = requests.post(receiver.url, json={"idEntity": "LOCKED-1"}, timeout=10)
    finally:
        other.execute("ROLLBACK")
        other.close()
        slow.close()
    assert r.status_code == 503
    assert sandbox.stats().get_attempts == {}  # not recorded, so not fetched


def test_the_callbacks_command_receives_until_sigterm(sandbox: Any, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    seed(sandbox, tmp_path, [("CLI-1", "7.00", "SUCCESS")])
    env = {
        **os.environ,
        "PAYRECON_BASE_URL": sandbox.base_url,
        "PAYRECON_MERCHANT_CODE": sandbox.merchant_code,
        "PAYRECON_SECRET": sandbox.secret,
    }
    path = tmp_path / "cb.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "payrecon", "-v", "callbacks", "--port", "0", "--store", str(path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url, timeout=10).status_code == 200
        assert (
            requests.post(url + "hook", json={"idEntity": "CLI-1"}, timeout=10).status_code == 200
        )
        assert requests.post(url + "hook", data=b"{oops", timeout=10).status_code == 400

        def fetched() -> bool:
            with Store.open_readonly(path) as s:
                return "CLI-1" in s.known_final(["CLI-1"])

        wait_for(fetched)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "1 callback(s) accepted (0 signed, 0 known, 1 parked), 1 refused" in err
    assert "1 payout(s) fetched" in err
    assert "callbacks: 2 received, 1 accepted" in err  # the counts line, without -v
    assert "not_json" in err  # the refused body was logged
    assert sandbox.secret not in err
    with Store.open_readonly(path) as s:
        assert len(s.callbacks()) == 2


def test_the_stats_view_reads_the_counts_from_the_store(
    sandbox: Any, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from payrecon.cli import main

    with run_receiver(store, sandbox.client()) as receiver:
        requests.post(receiver.url, json={"idEntity": "ST-1"}, timeout=10)
        requests.post(receiver.url, json={"idEntity": "ST-1"}, timeout=10)
        requests.post(receiver.url, data=b"nope", timeout=10)
        assert receiver.wait_settled(30)
    assert main(["callbacks", "--stats", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    counts = {
        line.split()[0]: int(line.split()[1]) for line in out.splitlines() if line.startswith("  ")
    }
    assert counts["received"] == 3 and counts["parked"] == 1 and counts["coalesced"] == 1
    assert counts["refused"] == 1 and counts["rejected"] == 1 and counts["budget_calls"] == 2
    assert counts["stored_parked"] == 0 and counts["stored_refused_bytes"] > 0


def test_a_failed_fetch_is_stored_with_the_words_a_bulk_fetch_writes(
    sandbox: Any, store: Store
) -> None:
    from payrecon.statuses import statuses_frame

    store.register(["ERR-1"], "imported")
    sandbox.faults.error_429_rate = 1.0  # every GET throttled (tokens still issued)
    sandbox.faults.error_429_retry_after = 0.05  # the words and counts, not the waits, matter
    client = sandbox.client(max_retries=1)
    with run_receiver(store, client) as receiver:
        requests.post(receiver.url, json={"idEntity": "ERR-1"}, timeout=10)
        assert receiver.wait_idle(30)
        stats = receiver.stats()
    by_receiver = sandbox.stats().get_attempts["ERR-1"]
    by_fetch = statuses_frame(client.fetch(["ERR-1"], progress=False))
    assert store.statuses(["ERR-1"])["error"].tolist() == by_fetch["error"].tolist()
    assert by_fetch["error"].tolist() == ["rate_limited"]
    assert stats.fetch_failures == 1
    # the client's one retry loop, run once by each path: the same number of GETs each
    assert by_receiver > 1
    assert sandbox.stats().get_attempts["ERR-1"] == 2 * by_receiver


def test_an_older_store_loses_the_ids_only_a_callback_ever_named(tmp_path: Path) -> None:
    import sqlite3

    from payrecon.client.records import FetchOutcome

    path = tmp_path / "old.db"
    with Store(path, base_url="http://x", merchant_code="M") as s:
        s.register(["REAL-1"], "imported")
        s.record(FetchOutcome("GONE-1", None, 410, "not_found"))
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE parked_callbacks")
    conn.execute("DROP TABLE callback_counters")
    conn.execute("DROP INDEX callbacks_refused")
    conn.execute("DROP TABLE run_exceptions")  # version 3's tables: not in a version-1 store
    conn.execute("DROP TABLE runs")
    conn.execute("DROP TABLE unreadable_answers")  # version 4's
    conn.execute(
        "INSERT INTO known_ids (id_payout, source, first_seen_at)"
        " VALUES ('FORGED-1', 'callback', '')"
    )
    conn.execute(
        "INSERT INTO payouts (id_payout, last_error, last_fetched_at)"
        " VALUES ('FORGED-1', 'not_found', '')"
    )
    conn.execute("PRAGMA user_version=1")  # as payrecon 0.1 left it after a flood
    conn.commit()
    conn.close()
    with Store(path, base_url="http://x", merchant_code="M") as s:
        assert s.known_ids() == ["REAL-1"]
        assert s.statuses()["id_payout"].tolist() == ["GONE-1"]  # a fetch's own 410 stays
