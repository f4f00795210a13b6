"""The callback receiver facing strangers: signatures, rates, the budget, slow and idle sockets.

Everything is real HTTP on loopback against the in-process sandbox; the platform calls the
receiver are counted by the sandbox. No assertion is about speed: deadlines only bound the waits.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from callback_helpers import sandbox_fixture, store_fixture, wait_for  # noqa: F401
from callback_helpers import seed as seed_rows

from payrecon.errors import ConfigError
from payrecon.receiver import ReceiverLimits, run_receiver
from payrecon.receiver._guard import client_address, parse_networks
from payrecon.receiver._keys import SIG_PARAM, key_for_store, key_path_for, load_or_create_key
from payrecon.store import Store

ACCOUNT = {"accountName": "A N Other", "accountNumber": "12345678"}
ROOT = Path(__file__).resolve().parent.parent


def seed(sb: Any, tmp_path: Path, ids: list[str]) -> None:
    seed_rows(sb, tmp_path, [(i, "10.00", "SUCCESS") for i in ids])


def gets(sb: Any, ids: list[str]) -> int:
    attempts = sb.stats().get_attempts
    return sum(attempts.get(i, 0) for i in ids)


# -- signed callback URLs ---------------------------------------------------------------------


def test_the_key_is_private_kept_beside_the_store_and_signs_per_id(tmp_path: Path) -> None:
    key = key_for_store(tmp_path / "p.db")
    path = key_path_for(tmp_path / "p.db")
    assert path == tmp_path / "p.db.callback-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path).secret == key.secret  # read back, not made again
    assert key.secret.hex() not in repr(key)
    url = key.signed_url("https://cb.example.com/hook?team=a", "PO-1")
    assert url.startswith("https://cb.example.com/hook?team=a&payrecon_sig=")
    sig = url.rsplit("=", 1)[1]
    assert key.verify("PO-1", sig) and not key.verify("PO-2", sig)
    assert key.signed_url("https://cb.example.com", "PO-1").startswith("https://cb.example.com/?")
    path.write_text("not a key\n")
    with pytest.raises(ConfigError, match="not a payrecon callback key"):
        load_or_create_key(path)


def test_signed_callbacks_are_trusted_wrong_ones_refused_missing_ones_unsigned(
    sandbox: Any, store: Store, tmp_path: Path
) -> None:
    client = sandbox.client()
    seed(sandbox, tmp_path, ["ELSEWHERE-1"])
    with run_receiver(store, client) as receiver:
        url = receiver.url + "hook"
        accepted = client.create_payout(
            "SIGNED-1",
            amount=Decimal("100.00"),
            currency="USD",
            operator="BNK_000",
            account=ACCOUNT,
            callback_url=url,
            store=store,
        )
        assert accepted.id_payout == "SIGNED-1"
        registered = sandbox.payout_state("SIGNED-1")["callback_url"]
        assert f"?{SIG_PARAM}=" in registered  # the platform got a signed URL
        wait_for(lambda: "SIGNED-1" in store.known_final(["SIGNED-1"]))
        # a right signature for another id does not transfer: refused, logged, not fetched
        sig = registered.rsplit("=", 1)[1]
        forged = requests.post(
            f"{url}?{SIG_PARAM}={sig}", json={"idEntity": "ELSEWHERE-1"}, timeout=10
        )
        garbage = requests.post(
            f"{url}?{SIG_PARAM}=AAAA", json={"idEntity": "SIGNED-1"}, timeout=10
        )
        # no signature: an unknown id is parked and confirmed by the platform, within budget
        unsigned = requests.post(url, json={"idEntity": "ELSEWHERE-1"}, timeout=10)
        assert receiver.wait_settled(30)
        stats = receiver.stats()
    assert sandbox.stats().callbacks[-1].http_status == 200
    assert (forged.status_code, garbage.status_code, unsigned.status_code) == (403, 403, 200)
    assert stats.signed >= 1 and stats.bad_signature == 2 and stats.parked == 1
    assert stats.confirmed == 1
    errors = store.callbacks()["error"].tolist()
    assert errors.count("bad_signature") == 2
    assert store.known_ids("created") == ["SIGNED-1"]
    assert store.known_ids("callback") == ["ELSEWHERE-1"]  # confirmed by a 200: a payout now
    assert gets(sandbox, ["ELSEWHERE-1"]) == 1  # the forged signature cost no call


# -- per-sender limits and the trusted proxy ----------------------------------------------------


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"  # not a proxy
    assert client_address("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"  # no proxy trusted
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1", proxies) == (
        "198.51.100.7"  # the left entries are the sender's own words
    )
    assert client_address("127.0.0.1", None, proxies) == "127.0.0.1"


def test_each_sender_has_its_rate_behind_a_trusted_proxy(sandbox: Any, store: Store) -> None:
    limits = ReceiverLimits(sender_rate=0.1, sender_burst=5, trusted_proxies=("127.0.0.1",))
    with run_receiver(store, sandbox.client(), limits=limits) as receiver, requests.Session() as s:

        def post(n: int, sender: str) -> int:
            headers = {"X-Forwarded-For": f"9.9.9.9, {sender}"}
            body = {"idEntity": f"U-{sender.replace('.', '_')}-{n}"}
            return s.post(receiver.url, json=body, headers=headers, timeout=10).status_code

        first = Counter(post(n, "198.51.100.1") for n in range(8))
        second = Counter(post(n, "198.51.100.2") for n in range(3))
        health = s.get(receiver.url, timeout=10).status_code
        stats = receiver.stats()
    assert first == {200: 5, 429: 3}
    assert second == {200: 3}  # another sender, its own bucket
    assert health == 200  # health checks are not limited
    assert stats.limited == 3
    assert set(store.callbacks()["remote"]) <= {"198.51.100.1", "198.51.100.2"}


# -- the budget ---------------------------------------------------------------------------------


def test_unknown_ids_cost_at_most_the_budget_in_batches_naming_only_their_ids(
    sandbox: Any, store: Store, tmp_path: Path
) -> None:
    real = [f"ELSE-{n}" for n in range(3)]
    seed(sandbox, tmp_path, real)
    forged = [f"FORGED-{n:03d}" for n in range(120)]
    limits = ReceiverLimits(budget_rate=20.0, batch=10, sender_burst=1000, park_capacity=100)
    sandbox.reset_stats()
    with run_receiver(store, sandbox.client(), limits=limits) as receiver, requests.Session() as s:
        started = time.monotonic()
        codes = Counter(
            s.post(receiver.url, json={"idEntity": pid}, timeout=10).status_code
            for pid in [*forged[:50], *real, *forged[50:], *forged[:20]]  # with repeats
        )
        assert receiver.wait_settled(60)
        elapsed = time.monotonic() - started
        stats = receiver.stats()
    calls = sandbox.stats().count(kind="auth-tokens") + sandbox.stats().count(kind="payout")
    assert calls <= limits.batch + 1 + limits.budget_rate * elapsed
    assert calls == stats.budget_calls
    for ops in sandbox.stats().token_operations:  # one token per batch, only that batch's GETs
        assert 1 <= len(ops) <= limits.batch
        assert all(op.startswith("GET /payouts/") for op in ops)
    assert codes[503] == stats.dropped > 0  # the parking area is bounded: the rest wait outside
    assert stats.coalesced > 0  # repeats cost nothing
    assert stats.confirmed == 3
    assert sorted(store.known_ids()) == real  # forged ids never reach the register
    assert set(store.callbacks()["error"]) == {"", "not_found"}


# -- slow, idle and too many connections ----------------------------------------------------------


def _open(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if data:
        sock.sendall(data)
    return sock


def _how_it_ends(sock: socket.socket) -> str:
    """``eof`` or ``reset`` when the server closed the connection; ``open`` if it was still
    holding it when the socket's timeout ran out."""
    try:
        while sock.recv(4096):
            pass
        return "eof"
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "open"
    finally:
        sock.close()


def test_slow_headers_and_slow_bodies_are_cut_off(sandbox: Any, store: Store) -> None:
    limits = ReceiverLimits(header_timeout=0.5, body_timeout=0.5)
    with run_receiver(store, sandbox.client(), limits=limits) as receiver:
        port = receiver.port
        slow_head = _open(port, b"POST / HTTP/1.1\r\nHost: x\r\n")
        slow_body = _open(
            port,
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{",
        )
        answer = b""
        while chunk := slow_body.recv(4096):
            answer += chunk
        slow_body.close()
        assert answer.startswith(b"HTTP/1.1 408")
        assert _how_it_ends(slow_head) in ("eof", "reset")  # closed by the server
        wait_for(lambda: receiver.stats().header_timeouts >= 1)
        assert requests.get(receiver.url, timeout=10).status_code == 200
    assert "body_timeout" in store.callbacks()["error"].tolist()


def test_at_the_connection_cap_idle_connections_make_room(sandbox: Any, store: Store) -> None:
    seed_ids = ["CAP-1"]
    store.register(seed_ids, "imported")
    limits = ReceiverLimits(max_connections=16, header_timeout=60)
    with run_receiver(store, sandbox.client(), limits=limits) as receiver:
        idle = [_open(receiver.port, b"POST / HTTP/1.1\r\n") for _ in range(40)]
        try:
            r = requests.post(receiver.url, json={"idEntity": "CAP-1"}, timeout=10)
            stats = receiver.stats()
        finally:
            for sock in idle:
                sock.close()
    assert r.status_code == 200
    assert stats.connections_evicted >= 40 - 16


def _receiver_process(sandbox: Any, tmp_path: Path, nofile: int | None) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PAYRECON_BASE_URL": sandbox.base_url,
        "PAYRECON_MERCHANT_CODE": sandbox.merchant_code,
        "PAYRECON_SECRET": sandbox.secret,
    }
    code = (
        "import resource, sys\n"
        f"n = {nofile!r}\n"
        "if n: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))\n"
        "from payrecon.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, "callbacks", "--port", "0", "--store", "cb.db"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def test_under_a_descriptor_limit_it_keeps_answering_and_logs_quietly(
    sandbox: Any, tmp_path: Path
) -> None:
    seed(sandbox, tmp_path, ["FD-1"])
    proc = _receiver_process(sandbox, tmp_path, nofile=128)
    held: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        for _ in range(300):  # far more than 128 descriptors, each sending half a request
            try:
                held.append(_open(port, b"POST / HTTP/1.1\r\nContent-Length: 50\r\n"))
            except OSError:
                break
        codes = []
        for _ in range(10):  # the platform retries a callback that got no 200
            try:
                r = requests.post(url + "cb", json={"idEntity": "FD-1"}, timeout=10)
                codes.append(r.status_code)
                if r.status_code == 200:
                    break
            except requests.RequestException:
                codes.append(0)
                time.sleep(0.5)
        health = requests.get(url, timeout=10).status_code
    finally:
        for sock in held:
            sock.close()
        code, err = _stop(proc)
    assert codes[-1] == 200
    assert health == 200
    assert code == 0, err[-2000:]
    assert len(err) < 20_000  # one quiet line per kind of trouble, not one per event
    assert "Traceback" not in err


def test_sigterm_stops_it_cleanly_with_slow_connections_open(sandbox: Any, tmp_path: Path) -> None:
    seed(sandbox, tmp_path, ["TERM-1", "TERM-2"])
    with Store(
        tmp_path / "cb.db", base_url=sandbox.base_url, merchant_code=sandbox.merchant_code
    ) as s:
        s.register(["TERM-1"], "imported")  # known: fetched at once; TERM-2 is parked
    sandbox.faults.latency = 2.0  # fetches are under way when the signal comes
    proc = _receiver_process(sandbox, tmp_path, nofile=None)
    held = []
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1].strip("/"))
        held = [_open(port, b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n{") for _ in range(20)]
        for pid in ("TERM-1", "TERM-2"):
            r = requests.post(url + "cb", json={"idEntity": pid}, timeout=10)
            assert r.status_code == 200
    finally:
        code, err = _stop(proc)
        for sock in held:
            sock.close()
    assert code == 0, err[-2000:]
    assert "Traceback" not in err
    with Store.open_readonly(tmp_path / "cb.db") as s:  # what it had received is kept:
        assert s.callbacks()["id_payout"].tolist()[:1] == ["TERM-1"]  # known: recorded at once
    # TERM-2 was parked (unless a slow machine let its confirmation finish before the signal):
    # the next start confirms it, so a stop loses no callback either way
    sandbox.faults.latency = 0.0
    with Store(
        tmp_path / "cb.db", base_url=sandbox.base_url, merchant_code=sandbox.merchant_code
    ) as s:
        with run_receiver(s, sandbox.client(), limits=ReceiverLimits(batch=1)) as receiver:
            assert receiver.wait_settled(30)
        assert sorted(s.callbacks()["id_payout"]) == ["TERM-1", "TERM-2"]
        assert sorted(s.known_ids()) == ["TERM-1", "TERM-2"]


def test_refused_bodies_are_kept_cut_short_under_a_total_cap(sandbox: Any, store: Store) -> None:
    limits = ReceiverLimits(refused_cap=20_000, sender_burst=1000)
    with run_receiver(store, sandbox.client(), limits=limits) as receiver, requests.Session() as s:
        for n in range(100):
            s.post(receiver.url, data=f"{n:03d}".encode() + b"x" * 5000, timeout=10)
        stats = receiver.stats()
        wait_for(lambda: receiver.stats().refused_trimmed > 0)
    kept = store.callbacks()
    assert stats.refused == 100
    assert kept["body"].str.len().max() <= 1024
    assert (kept["body"].str.len() + 128).sum() <= 20_000
    numbers = sorted(int(body[:3]) for body in kept["body"])
    assert 0 < len(numbers) < 100
    assert numbers == list(range(100 - len(numbers), 100))  # the oldest went, the newest are kept


def test_the_budget_is_a_small_share_of_the_limit_once_the_client_found_it() -> None:
    import threading

    from payrecon.client.records import FetchOutcome
    from payrecon.receiver._confirm import Confirmer, ParkingArea
    from payrecon.receiver._guard import TokenBucket

    area = ParkingArea(10)
    budget = TokenBucket(2.0, 21)
    asked: list[list[str]] = []

    def fetch(ids: list[str], stop: threading.Event) -> list[FetchOutcome]:
        asked.append(ids)
        return [FetchOutcome(i, None, 410, "not_found") for i in ids]

    limit: list[float | None] = [None]
    confirmer = Confirmer(
        area, budget, fetch, lambda p, o: False, gather=0.0, platform_limit=lambda: limit[0]
    )
    from datetime import UTC, datetime

    confirmer.start()
    try:
        area.add("U-1", datetime.now(UTC), "127.0.0.1")
        wait_for(lambda: len(asked) == 1 and not area.busy())
        assert asked == [["U-1"]] and budget.rate == 2.0  # no limit known: the configured rate
        limit[0] = 10.0  # the client met 429s at about 10 calls a second
        area.add("U-2", datetime.now(UTC), "127.0.0.1")
        wait_for(lambda: len(asked) == 2 and not area.busy())
        assert asked[1] == ["U-2"] and budget.rate == 0.5  # 5 % of it
        assert area.add("U-1", datetime.now(UTC), "x") == "coalesced"  # just rejected: not again
    finally:
        confirmer.close()
