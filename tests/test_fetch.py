"""Bulk fetch over real HTTP against the sandbox, with faults on: every id comes back right."""

from __future__ import annotations

import csv
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from payrecon.client._fetch import unique_ids
from payrecon.client.records import FetchOutcome, PayoutDetail
from payrecon.errors import CredentialsError
from payrecon.sandbox import Faults, Merchant, SandboxConfig, running
from payrecon.statuses._table import MONEY, STATUS_COLUMNS

STATUSES = ("SUCCESS", "FAILED", "REFUSED", "PROCESSING")


def seed(sb, tmp_path: Path, n: int, prefix: str = "PO") -> dict[str, tuple[str, Decimal]]:
    """Seed ``n`` payouts with mixed statuses and exact amounts; return id -> (status, amount)."""
    expected: dict[str, tuple[str, Decimal]] = {}
    path = tmp_path / f"seed-{prefix}.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id_payout", "amount", "currency", "status"])
        for i in range(n):
            pid = f"{prefix}-{i:05d}"
            status = STATUSES[i % len(STATUSES)]
            amount = Decimal(f"{1000 + i}.{i % 100:02d}")
            expected[pid] = (status, amount)
            w.writerow([pid, amount, "USD", status])
    assert sb.seed(path) == n
    return expected


def check_tokens(stats, valid_ids: set[str], cap: int) -> None:
    """No token names an operation beyond the ids it serves, nor more than the cap."""
    assert stats.token_operations, "no token was issued"
    for ops in stats.token_operations:
        assert 1 <= len(ops) <= cap
        for op in ops:
            method, _, path = op.partition(" ")
            assert method == "GET", op
            assert path.startswith("/payouts/")
            assert path.removeprefix("/payouts/") in valid_ids, op


def test_fetch_with_faults_gets_every_id_right(tmp_path: Path) -> None:
    faults = Faults(
        error_500_rate=0.05,
        error_429_rate=0.05,
        error_401_rate=0.02,
        token_lifetime=2.0,
        max_operations=37,
        random_seed=11,
    )
    with running(SandboxConfig(final_after=0)) as sb:
        expected = seed(sb, tmp_path, 500)
        missing = [f"GONE-{i}" for i in range(10)]
        invalid = ["../auth-tokens", "a b", ""]
        ids = [*expected, *missing, *invalid, *list(expected)[:50], *missing[:3]]
        client = sb.client(concurrency=64, seed=3)
        sb.faults.error_500_rate = faults.error_500_rate
        sb.faults.error_429_rate = faults.error_429_rate
        sb.faults.error_401_rate = faults.error_401_rate
        sb.faults.token_lifetime = faults.token_lifetime
        sb.faults.max_operations = faults.max_operations
        sb.faults.random_seed = faults.random_seed
        outcomes = client.fetch(ids, progress=False)
        stats = sb.stats()

    order, _ = unique_ids(ids)
    assert [o.id_payout for o in outcomes] == order
    by_id = {o.id_payout: o for o in outcomes}
    for pid, (status, amount) in expected.items():
        o = by_id[pid]
        assert o.error == "" and o.http_status == 200, (pid, o.error)
        assert o.detail is not None and o.detail.status == status
        assert o.detail.amount == amount and isinstance(o.detail.amount, Decimal)
    for pid in missing:
        assert (by_id[pid].error, by_id[pid].http_status) == ("not_found", 410)
    for pid in invalid:
        assert (by_id[pid].error, by_id[pid].http_status) == ("invalid_id", None)

    # The faults really happened, and were absorbed.
    assert stats.count("GET", "payout", 500) > 0
    assert stats.count("GET", "payout", 429) > 0
    assert stats.count("GET", "payout", 401) > 0
    assert stats.count("POST", "auth-tokens", 400) > 0  # a token request refused as too big
    # No payout fetched twice after its answer arrived.
    merchant = client.merchant_code
    assert all(stats.gets_ok.get((merchant, pid)) == 1 for pid in expected)
    assert sum(stats.gets_ok.values()) == len(expected)
    # Least privilege: every token names only GETs of ids asked for, at most 37 of them.
    check_tokens(stats, set(expected) | set(missing), cap=37)
    assert stats.tokens_issued > (len(expected) + len(missing)) / 25  # renewals happened


class MemorySink:
    """An in-memory OutcomeSink: knows some final details; records what arrives, and where."""

    def __init__(self, known: Mapping[str, PayoutDetail]) -> None:
        self.known = dict(known)
        self.recorded: list[FetchOutcome] = []
        self.threads: set[int] = set()
        self.asked: list[str] = []

    def known_final(self, ids: Sequence[str]) -> Mapping[str, PayoutDetail]:
        self.asked = list(ids)
        return {i: d for i, d in self.known.items() if i in set(ids)}

    def record(self, outcome: FetchOutcome) -> None:
        self.threads.add(threading.get_ident())
        self.recorded.append(outcome)


def test_sink_skips_known_final_and_records_each_answer(tmp_path: Path) -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        expected = seed(sb, tmp_path, 40)
        client = sb.client(concurrency=8)
        first = client.fetch(list(expected)[:10], progress=False)
        sink = MemorySink({o.id_payout: o.detail for o in first if o.detail is not None})
        sb.reset_stats()
        outcomes = client.fetch([*expected, "bad id"], sink=sink, progress=False)
        stats = sb.stats()
        refreshed = client.fetch(list(expected)[:10], sink=sink, refresh=True, progress=False)

    assert "bad id" not in sink.asked  # invalid ids never reach the store either
    from_store = [o for o in outcomes if o.from_store]
    assert [o.id_payout for o in from_store] == list(expected)[:10]
    assert all(o.http_status == 200 and o.detail is not None for o in from_store)
    # Nothing was requested for them, and everything else was recorded once, from this thread.
    assert not any((client.merchant_code, pid) in stats.gets_ok for pid in list(expected)[:10])
    assert sorted(o.id_payout for o in sink.recorded[:30]) == sorted(list(expected)[10:])
    assert sink.threads == {threading.get_ident()}
    assert not any(o.from_store for o in refreshed)


def test_interrupt_returns_every_id(tmp_path: Path) -> None:
    class InterruptingSink(MemorySink):
        def record(self, outcome: FetchOutcome) -> None:
            super().record(outcome)
            if len(self.recorded) == 20:
                raise KeyboardInterrupt

    with running(SandboxConfig(final_after=0, faults=Faults(latency=0.01))) as sb:
        expected = seed(sb, tmp_path, 400)
        client = sb.client(concurrency=4)
        sink = InterruptingSink({})
        outcomes = client.fetch(list(expected), sink=sink, progress=False)

    assert [o.id_payout for o in outcomes] == list(expected)
    fetched = [o for o in outcomes if o.error == ""]
    interrupted = [o for o in outcomes if o.error == "interrupted"]
    assert len(fetched) >= 20 and interrupted
    assert len(fetched) + len(interrupted) == len(expected)
    # What was fetched was recorded; what was not fetched carries no status. The one answer
    # whose recording the interrupt cut short is ``interrupted`` in the table (the store may or
    # may not have it): the table never shows an answer the store lacks.
    recorded = {o.id_payout for o in sink.recorded}
    assert {o.id_payout for o in fetched} <= recorded
    assert len(recorded - {o.id_payout for o in fetched}) <= 1
    assert all(o.detail is None and o.http_status is None for o in interrupted)


def test_statuses_types_stable_whatever_the_mix(tmp_path: Path) -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        expected = seed(sb, tmp_path, 8)
        client = sb.client(concurrency=4)
        frames = {
            "mixed": client.fetch_statuses([*expected, "NOPE", "a/b"], progress=False),
            "all_errors": client.fetch_statuses(["NOPE", "a/b"], progress=False),
            "all_ok": client.fetch_statuses(list(expected), progress=False),
            "empty": client.fetch_statuses([], progress=False),
        }
    for name, frame in frames.items():
        assert list(frame.columns) == list(STATUS_COLUMNS), name
        for col, dtype in STATUS_COLUMNS.items():
            assert frame[col].dtype == dtype, (name, col, frame[col].dtype)
    mixed = frames["mixed"]
    assert mixed["amount"].dtype == MONEY
    assert mixed.loc[0, "amount"] == Decimal("1000.00")
    assert str(mixed["created_at"].dtype) == "datetime64[us, UTC]"
    assert mixed["error"].tolist()[-2:] == ["not_found", "invalid_id"]
    assert pd.isna(mixed.loc[len(mixed) - 1, "http_status"])


def test_wrong_credentials_stop_the_run_at_once(tmp_path: Path) -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        expected = seed(sb, tmp_path, 30)
        from payrecon.client._client import Client

        with (
            Client(sb.base_url, sb.merchant_code, "not-the-secret") as client,
            pytest.raises(CredentialsError) as info,
        ):
            client.fetch([*expected, "x y"], progress=False)
        stats = sb.stats()
    partial = info.value.outcomes  # type: ignore[attr-defined]
    assert [o.id_payout for o in partial] == [*expected, "x y"]
    assert {o.error for o in partial} == {"interrupted", "invalid_id"}
    assert stats.count("GET") == 0
    # Stopped at once: no retry of a refused credential (one request per minting worker at most).
    assert stats.count("POST", "auth-tokens") <= 4


def test_many_merchants_stay_apart(tmp_path: Path) -> None:
    """A token is the merchant's own: another merchant's client sees 410 for these ids."""
    config = SandboxConfig(
        final_after=0,
        merchants=(Merchant("m-one", "secret-one"), Merchant("m-two", "secret-two")),
    )
    with running(config) as sb:
        expected = seed(sb, tmp_path, 5)
        from payrecon.client._client import Client

        with Client(sb.base_url, "m-two", "secret-two") as other:
            outcomes = other.fetch(list(expected), progress=False)
    assert {o.error for o in outcomes} == {"not_found"}


HOSTILE_IDS = [
    "../auth-tokens",
    "a b",
    "x?y=1",
    "%2e%2e",
    "ünïcødé",
    "名前",
    "x" * 300,
    "x" * 251,
    "a/b",
    "",
    " PO-00001",
    "PO-00001\n",
    "GET /payouts/PO-00001",
    "#frag",
    "PO-00001;rm",
    "\u200bPO-00001",
]


def test_hostile_ids_never_reach_the_wire(tmp_path: Path) -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        expected = seed(sb, tmp_path, 3)
        client = sb.client(concurrency=4)
        only_bad = client.fetch(HOSTILE_IDS, progress=False)
        nothing_sent = sum(sb.stats().requests.values())
        longest = "y" * 250  # the longest id the rule allows is sent (and is simply not found)
        mixed = client.fetch([*HOSTILE_IDS, *expected, longest], progress=False)
        stats = sb.stats()
    assert nothing_sent == 0  # not even a token request
    assert [(o.id_payout, o.error, o.http_status) for o in only_bad] == [
        (i, "invalid_id", None) for i in HOSTILE_IDS
    ]
    by_id = {o.id_payout: o for o in mixed}
    assert all(by_id[i].error == "invalid_id" for i in HOSTILE_IDS)
    assert all(by_id[i].error == "" for i in expected)
    assert by_id[longest].error == "not_found"
    sent = set(expected) | {longest}
    assert set(stats.get_attempts) <= sent
    check_tokens(stats, sent, cap=100)


def test_non_string_ids() -> None:
    order, valid = unique_ids([123, "123", None, 1.5, True, "A"])
    assert order == ["123", "None", "1.5", "True", "A"]
    assert valid == ["123", "A"]


def test_progress_bar_when_asked(tmp_path: Path, capsys) -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        expected = seed(sb, tmp_path, 5)
        client = sb.client(concurrency=2)
        client.fetch(list(expected), progress=True)
        shown = capsys.readouterr().err
        client.fetch(list(expected))  # default: not a terminal, not Jupyter: silent
        silent = capsys.readouterr().err
    assert "payouts" in shown and "5/5" in shown
    assert silent == ""


def test_calls_in_flight_follow_the_pace_not_a_pool(tmp_path: Path) -> None:
    # At 40 calls a second and half a second a call, Little's law gives 20 in flight (plus the
    # few kept waiting for the pacer): far below the cap of 300, which a fixed pool would fill.
    from payrecon.client._fetch import BulkFetch, queue_target
    from payrecon.client._throttle import AdaptiveRate

    with running(SandboxConfig(final_after=0, faults=Faults(latency=0.5))) as sb:
        expected = seed(sb, tmp_path, 120)
        pacer = AdaptiveRate(initial_rate=40, max_rate=40)
        engine = BulkFetch(sb.client(concurrency=300, throttle=pacer), progress=False)
        outcomes = engine.run(list(expected))
    assert all(o.error == "" for o in outcomes)
    assert engine.peak_in_flight <= 40 * 0.5 * 1.5 + queue_target(40)


def test_calls_in_flight_grow_with_the_latency_up_to_the_cap(tmp_path: Path) -> None:
    # A second a call and no limit: the pacer keeps sending, so calls pile up in flight up to
    # the cap, which holds.
    from payrecon.client._fetch import BulkFetch

    with running(SandboxConfig(final_after=0, faults=Faults(latency=1.0))) as sb:
        expected = seed(sb, tmp_path, 300)
        engine = BulkFetch(sb.client(concurrency=120), progress=False)
        outcomes = engine.run(list(expected))
    assert all(o.error == "" for o in outcomes)
    assert engine.peak_in_flight == 120


def test_random_429s_with_retry_after_cost_their_call_only(tmp_path: Path) -> None:
    # 30 % of calls answered 429 (Retry-After: 0.2) that the client did not cause: every id
    # still comes back (429s have their own retry budget) and the pacer has them as background.
    with running(SandboxConfig(final_after=0, rate_limit=300)) as sb:
        expected = seed(sb, tmp_path, 400)
        sb.faults.error_429_rate = 0.3
        sb.faults.error_429_retry_after = 0.2
        sb.faults.random_seed = 5
        client = sb.client()
        outcomes = client.fetch(list(expected), progress=False)
        stats = client.throttle.stats()
    assert [o.error for o in outcomes if o.error] == []
    assert stats.throttled > 0.2 * len(expected)
    assert 0.15 < stats.background < 0.5


def test_the_store_remembers_the_limit_a_fetch_met_and_the_next_fetch_starts_there(
    tmp_path: Path,
) -> None:
    # A 60/s limit: the first fetch finds it the slow way (slow start, an overshoot, a back-off)
    # and the store keeps it; the next fetch, another client, starts just under it.
    from payrecon.store import open_store

    with running(SandboxConfig(final_after=0, rate_limit=60)) as sb:
        expected = seed(sb, tmp_path, 600)
        ids = list(expected)
        first = sb.client()
        with open_store(
            tmp_path / "s.db", base_url=sb.base_url, merchant_code=first.merchant_code
        ) as s:
            assert s.learned_pace() is None
            assert all(o.error == "" for o in first.fetch(ids[:300], sink=s, progress=False))
            learned = s.learned_pace()
        assert first.throttle.stats().throttled > 0  # it met the limit
        assert learned is not None and 0.8 * 60 <= learned <= 1.3 * 60
        second = sb.client()
        with open_store(
            tmp_path / "s.db", base_url=sb.base_url, merchant_code=second.merchant_code
        ) as s:
            # the first GETs go at the remembered pace, not at the 100/s of a slow start
            outcomes = second.fetch(ids[300:], sink=s, progress=False)
        assert all(o.error == "" for o in outcomes)
        assert second.throttle.stats().throttled < first.throttle.stats().throttled
