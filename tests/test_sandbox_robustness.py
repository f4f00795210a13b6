"""Hostile input: malformed JSON, huge bodies, odd paths and methods, raw garbage, 200 at once.

Each must get a 4xx (or, for the concurrency test, the right 200), never a 5xx, a crash or a hang;
the sandbox keeps serving afterwards.
"""

from __future__ import annotations

import asyncio
import re
import socket
from decimal import Decimal

import aiohttp
import pytest
import requests
from sandbox_helpers import VERSION, bearer, create, detail, token

from payrecon.client.records import loads
from payrecon.sandbox import Faults, Sandbox, SandboxConfig, running

BAD_JSON = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"\xff\xfe\x00garbage",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b"1" * 5000,  # an integer over Python's 4,300-digit limit
    b"[" * 100_000,  # nesting deep enough to blow a recursive parser
    b'{"paymentRequested": {"money": {"amount": 1' + b"0" * 5000 + b', "currencyCode": "IDR"}}}',
]


@pytest.mark.parametrize("body", BAD_JSON, ids=range(len(BAD_JSON)))
def test_malformed_bodies_are_400(sandbox: Sandbox, body: bytes) -> None:
    r = requests.post(f"{sandbox.base_url}/auth-tokens", headers=VERSION, data=body)
    assert r.status_code == 400
    tok = token(sandbox, ["POST /payouts/J-1"])
    r = requests.post(f"{sandbox.base_url}/payouts/J-1", headers=bearer(tok), data=body)
    assert r.status_code == 400
    assert set(r.json()) == {"description"}


def test_huge_bodies_are_413_and_the_server_carries_on(sandbox: Sandbox) -> None:
    tok = token(sandbox, ["POST /payouts/H-1"])
    huge = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for path, headers in (("/auth-tokens", VERSION), ("/payouts/H-1", bearer(tok))):
        try:
            r = requests.post(f"{sandbox.base_url}{path}", headers=headers, data=huge)
        except requests.ConnectionError:
            continue  # the server may close the connection before the client finishes sending
        assert r.status_code == 413
    assert create(sandbox, "H-2").status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/payouts", 404),
        ("GET", "/payouts/", 404),
        ("GET", "/payouts/a/b", 404),
        ("GET", "/PAYOUTS/x", 404),
        ("GET", "/payins/x", 404),
        ("GET", "/auth-tokens/x", 404),
        ("GET", "/../../etc/passwd", 404),
        ("GET", "/payouts/%00", 400),
        ("GET", "/payouts/" + "x" * 5000, 400),
        ("POST", "/payouts/!availablePaymentOptions", 400),
        ("GET", "/auth-tokens", 405),
        ("PUT", "/payouts/x", 405),
        ("DELETE", "/payouts/x", 405),
        ("PATCH", "/payouts/x", 405),
        ("OPTIONS", "/payouts/x", 405),
        ("HEAD", "/payouts/x", 405),
        ("POST", "/openapi.json", 405),
    ],
)
def test_odd_paths_and_methods_are_4xx(
    sandbox: Sandbox, method: str, path: str, status: int
) -> None:
    r = requests.request(method, f"{sandbox.base_url}{path}", headers=VERSION, data=b"{}")
    assert r.status_code == status
    if method != "HEAD":
        assert set(r.json()) == {"description"}


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"BREW /payouts/x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /payouts/x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /auth-tokens HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello on the plain port
    ],
)
def test_raw_garbage_gets_a_4xx_or_a_close_never_a_hang(sandbox: Sandbox, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as sock:
        sock.sendall(raw)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    if answer:
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer[:80]
    assert create(sandbox, "G-1").status_code in (201, 409)


def test_200_concurrent_gets_are_all_answered_right() -> None:
    # A little latency keeps all 200 calls in flight at the same time.
    config = SandboxConfig(final_after=0, faults=Faults(latency=0.2))
    with running(config) as sb:
        sb.faults.latency = 0.0
        ids = [f"CC-{i:03d}" for i in range(200)]
        amounts = {i: f"{100 + n}.{n % 100:02d}" for n, i in enumerate(ids)}
        for i in ids:
            assert create(sb, i, amount=amounts[i], currency="USD").status_code == 201
        tok = token(sb, [f"GET /payouts/{i}" for i in ids])
        sb.faults.latency = 0.2
        sb.reset_stats()

        async def one(http: aiohttp.ClientSession, id_payout: str) -> tuple[int, bytes]:
            async with http.get(f"{sb.base_url}/payouts/{id_payout}", headers=bearer(tok)) as r:
                return r.status, await r.read()

        async def all_at_once() -> list[tuple[int, bytes]]:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                return await asyncio.gather(*(one(http, i) for i in ids))

        answers = asyncio.run(all_at_once())
        stats = sb.stats()
    for id_payout, (status, body) in zip(ids, answers, strict=True):
        assert status == 200
        data = loads(body)
        assert data["paymentMethodResponse"]["idPayout"] == id_payout
        assert data["paymentRequested"]["money"]["amount"] == Decimal(amounts[id_payout])
    assert stats.count("GET", "payout", 200) == 200
    assert all(stats.gets_ok[(sb.merchant_code, i)] == 1 for i in ids)


def test_the_openapi_document_is_never_faulted() -> None:
    faults = Faults(error_500_rate=1.0, error_429_rate=0.0, latency=0.0)
    with running(SandboxConfig(faults=faults)) as sb:
        assert requests.get(f"{sb.base_url}/openapi.json").status_code == 200
        assert requests.get(f"{sb.base_url}/payouts/x", headers=VERSION).status_code == 500
        sb.faults.error_500_rate = 0.0
        assert create(sb, "F-1").status_code == 201
        assert detail(sb, "F-1")["process"]["status"] == "PROCESSING"


def test_an_oversized_authorization_header_is_400_and_configurable() -> None:
    ops = [f"GET /payouts/{'X' * 40}-{i:04d}" for i in range(400)]  # a ~30 KB token
    with running() as sb:
        tok = token(sb, ops)
        r = requests.get(f"{sb.base_url}/payouts/{'X' * 40}-0000", headers=bearer(tok))
        assert r.status_code == 400
    with running(SandboxConfig(max_header=64 * 1024)) as sb:
        tok = token(sb, ops)
        r = requests.get(f"{sb.base_url}/payouts/{'X' * 40}-0000", headers=bearer(tok))
        assert r.status_code == 410
