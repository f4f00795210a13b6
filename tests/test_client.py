"""The client over real HTTP: the sandbox for the platform's behaviour, a loopback stub for the
answers the sandbox does not give (406 as one object, a lost 201, Retry-After), so each documented
shape is exercised without mocking the HTTP stack away."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from payrecon import __version__
from payrecon.client import Client
from payrecon.client._client import Backoff
from payrecon.errors import (
    BadRequest,
    BusinessError,
    ConfigError,
    CredentialsError,
    DuplicatePayout,
    InputError,
    PayoutNotFound,
    TransportError,
    Unauthorized,
)
from payrecon.sandbox import Merchant, SandboxConfig, running

ACCOUNT = {"accountName": "Test account", "accountNumber": "11223344"}
DETAIL = {
    "paymentRequested": {"money": {"amount": Decimal("12.34"), "currencyCode": "USD"}},
    "process": {"status": "SUCCESS", "createdAt": "2024-05-02T08:15:00.000Z", "isTest": True},
    "fee": {"amount": Decimal("0.1"), "currencyCode": "USD"},
    "paymentMethodResponse": {"idPayout": "S-1", "paymentMethodCode": "BANK_TRANSFER"},
}


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, default=str).replace('"12.34"', "12.34").replace('"0.1"', "0.1").encode()


class Stub:
    """A loopback HTTP server answering from a script: (method, path prefix) -> answers in turn."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[tuple[int, dict[str, str], bytes]]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: dict[str, list[bytes]] = {}  # path -> the bodies sent to it, in turn
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stub.bodies.setdefault(self.path, []).append(self.rfile.read(length))
                stub.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = 500, {}, b'{"description": "unscripted"}'
                for (method, prefix), answers in stub.script.items():
                    if method == self.command and self.path.startswith(prefix) and answers:
                        status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                        break
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def on(self, method: str, prefix: str, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.script[(method, prefix)] = list(answers)


def token_answer() -> tuple[int, dict[str, str], bytes]:
    import time

    import jwt

    now = int(time.time())
    claims = {"exp": now + 600, "iat": now, "operations": [], "sub": "m", "jti": str(now)}
    token = jwt.encode(claims, "k" * 32, algorithm="HS256")
    return 200, {}, json.dumps({"token": token}).encode()


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    s.thread.start()
    s.on("POST", "/auth-tokens", token_answer())
    try:
        yield s
    finally:
        s.server.shutdown()
        s.server.server_close()
        s.thread.join()


class RecordingBackoff(Backoff):
    """The real backoff policy, noting each wait it chose (the test checks choices, not time)."""

    def __init__(self) -> None:
        super().__init__(base=0.01, cap=0.05)
        object.__setattr__(self, "delays", [])

    def delay(self, retry: int, answer: Any, rng: Any) -> float:
        d = super().delay(retry, answer, rng)
        self.delays.append(d)  # type: ignore[attr-defined]
        return d


# --------------------------------------------------------------------------- against the sandbox


def test_get_and_create_typed_and_exact() -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        client = sb.client()
        accepted = client.create_payout(
            "TST-223344",
            amount=Decimal("10000"),
            currency="IDR",
            account=ACCOUNT,
            operator="BNK_000",
            email="customer@test.com",
            callback_url="http://127.0.0.1:9/cb",
        )
        assert accepted.id_payout == "TST-223344" and accepted.amount == Decimal("10000")
        detail = client.get_payout("TST-223344")
        cases = {"P-13": "1013", "P-66": "2066", "P-99": "99", "P-OK": "12.34"}
        for pid, amount in cases.items():
            client.create_payout(
                pid, amount=Decimal(amount), currency="USD", account=ACCOUNT, operator="BNK_000"
            )
        statuses = {pid: client.get_payout(pid).status for pid in cases}
        exact = client.get_payout("P-OK")
        tokens = sb.stats().token_operations
    assert detail.status == "SUCCESS" and detail.amount == Decimal("10000")
    assert isinstance(detail.fee_amount, Decimal) and detail.created_at.tzinfo is not None
    assert statuses == {
        "P-13": "FAILED",
        "P-66": "REFUSED",
        "P-99": "PROCESSING",
        "P-OK": "SUCCESS",
    }
    assert exact.amount == Decimal("12.34") and isinstance(exact.amount, Decimal)
    # A creation's token names the POST and the GET of that one payout; a read's, the GET only.
    assert tokens[0] == ["POST /payouts/TST-223344", "GET /payouts/TST-223344"]
    assert tokens[1] == ["GET /payouts/TST-223344"]


def test_typed_errors_from_the_sandbox() -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        client = sb.client()
        with pytest.raises(PayoutNotFound) as gone:
            client.get_payout("NO-SUCH-PAYOUT")
        with pytest.raises(BusinessError) as business:
            client.create_payout(
                "IDR-FRACTION",
                amount=Decimal("42.05"),
                currency="IDR",
                account=ACCOUNT,
                operator="BNK_000",
            )
        client.create_payout(
            "DUP-1", amount=Decimal("5"), currency="USD", account=ACCOUNT, operator="BNK_000"
        )
        with pytest.raises(DuplicatePayout) as dup:
            client.create_payout(
                "DUP-1", amount=Decimal("5"), currency="USD", account=ACCOUNT, operator="BNK_000"
            )
        with pytest.raises(BadRequest):
            client.create_payout(
                "NO-OPERATOR", amount=Decimal("5"), currency="USD", account=ACCOUNT
            )
        requests_before = sum(sb.stats().requests.values())
        for bad in ("../auth-tokens", "a b", "x" * 251):
            with pytest.raises(InputError):
                client.get_payout(bad)
        with pytest.raises(InputError):
            client.create_payout("F-1", amount=1.5, currency="USD", account=ACCOUNT)  # type: ignore[arg-type]
        assert sum(sb.stats().requests.values()) == requests_before  # nothing was sent
    assert gone.value.status == 410
    assert business.value.code == "CURRENCY_PRECISION_EXCEEDED"
    assert business.value.attr_code == "amount"
    assert dup.value.status == 409


def test_created_payouts_go_on_the_stores_register(tmp_path: Path) -> None:
    from payrecon.store import Store

    with running(SandboxConfig(final_after=0)) as sb:
        client = sb.client()
        with Store(tmp_path / "s.db", base_url=sb.base_url, merchant_code=sb.merchant_code) as st:
            create = {"currency": "USD", "account": ACCOUNT, "operator": "BNK_000", "store": st}
            client.create_payout("REG-1", amount=Decimal("5"), **create)
            with pytest.raises(DuplicatePayout):  # refused: registered once, by the first call
                client.create_payout("REG-1", amount=Decimal("5"), **create)
            with pytest.raises(BusinessError):  # refused: never created, never registered
                client.create_payout("REG-2", amount=Decimal("0.001"), **create)
            client.create_payout("REG-3", amount=Decimal("7"), **{**create, "store": None})
            assert st.known_ids() == ["REG-1"]
            assert st.known_ids("created") == ["REG-1"]


def test_wrong_credentials_are_clear() -> None:
    config = SandboxConfig(
        merchants=(Merchant("m-one", "right-secret"), Merchant("m-off", "off-secret", active=False))
    )
    with running(config) as sb:
        for code, secret in (
            ("m-one", "wrong"),
            ("nobody", "right-secret"),
            ("m-off", "off-secret"),
        ):
            with (
                Client(sb.base_url, code, secret) as client,
                pytest.raises(CredentialsError, match="refused"),
            ):
                client.get_payout("ANY-1")
        assert sb.stats().count("GET") == 0


def test_401_renews_the_token_then_gives_up() -> None:
    with running(SandboxConfig(final_after=0)) as sb:
        client = sb.client()
        client.create_payout(
            "R-1", amount=Decimal("7"), currency="USD", account=ACCOUNT, operator="BNK_000"
        )
        sb.faults.error_401_rate = 1.0
        sb.reset_stats()
        with pytest.raises(Unauthorized):
            client.get_payout("R-1")
        stats = sb.stats()
    assert stats.count("GET", "payout", 401) == 4  # the first try and three renewals
    assert stats.tokens_issued == 4


def test_unreachable_platform_is_a_transport_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backoff = RecordingBackoff()
    url = f"http://127.0.0.1:{port}"
    with (
        Client(url, "m", "s", max_retries=2, backoff=backoff) as client,
        pytest.raises(TransportError),
    ):
        client.get_payout("P-1")
    assert len(backoff.delays) == 2  # connection errors are retried, then given up


# --------------------------------------------------------------------------- against a stub


def test_headers_on_every_call(stub: Stub) -> None:
    stub.on("GET", "/payouts/", (200, {}, _dump(DETAIL)))
    with Client(stub.base_url, "m", "s") as client:
        client.get_payout("S-1")
    assert [(m, p) for m, p, _ in stub.seen] == [("POST", "/auth-tokens"), ("GET", "/payouts/S-1")]
    for method, _path, headers in stub.seen:
        assert headers["X-API-Version"] == "2"
        assert headers["Accept"] == "application/json"
        assert f"payrecon/{__version__}" in headers["User-Agent"]
        assert ("Authorization" in headers) == (method == "GET")


def test_calls_in_flight_reuse_their_connections(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each call in flight gets a connection that goes back into the pool afterwards: none is
    thrown away for want of room (urllib3 warns when it does), so a long fetch does not open a
    new connection per call. The default pool (10) is smaller than these 16 calls."""
    from payrecon.sandbox import Faults

    ids = [f"POOL-{i}" for i in range(120)]
    seed = tmp_path / "seed.csv"
    seed.write_text(
        "id_payout,amount,currency,status\n" + "".join(f"{i},1,USD,SUCCESS\n" for i in ids)
    )
    caplog.set_level(logging.WARNING, logger="urllib3")
    with running(SandboxConfig(final_after=0, faults=Faults(latency=0.2))) as sb:
        sb.seed(seed)
        table = sb.client(concurrency=16).fetch_statuses(ids, progress=False)
    assert table["error"].tolist() == [""] * len(ids)
    assert not [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()]


@pytest.mark.parametrize(
    "body",
    [
        {"code": "BALANCE_INSUFFICIENT", "attrCode": "amount", "description": "no money"},
        [{"code": "BALANCE_INSUFFICIENT", "attrCode": "amount", "description": "no money"}],
    ],
)
def test_406_as_object_or_list(stub: Stub, body: Any) -> None:
    stub.on("POST", "/payouts/", (406, {}, json.dumps(body).encode()))
    with Client(stub.base_url, "m", "s") as client, pytest.raises(BusinessError) as info:
        client.create_payout(
            "S-2", amount=Decimal("1"), currency="USD", account=ACCOUNT, operator="BNK_000"
        )
    assert (info.value.code, info.value.attr_code) == ("BALANCE_INSUFFICIENT", "amount")


def test_retry_after_is_honoured_and_400_not_retried(stub: Stub) -> None:
    stub.on(
        "GET",
        "/payouts/S-3",
        (429, {"Retry-After": "0.3"}, b"{}"),
        (503, {}, b""),
        (200, {}, _dump(DETAIL)),
    )
    stub.on("GET", "/payouts/S-4", (400, {}, b'{"description": "bad"}'))
    backoff = RecordingBackoff()
    with Client(stub.base_url, "m", "s", backoff=backoff) as client:
        assert client.get_payout("S-3").amount == Decimal("12.34")
        with pytest.raises(BadRequest):
            client.get_payout("S-4")
    assert len(backoff.delays) == 2
    assert 0.3 <= backoff.delays[0] <= 0.4  # Retry-After, plus a little jitter
    assert backoff.delays[1] <= 0.05  # the 503: exponential backoff, capped
    assert sum(1 for _, p, _ in stub.seen if p == "/payouts/S-4") == 1


def test_lost_201_then_409_counts_as_accepted(stub: Stub) -> None:
    stub.on("POST", "/payouts/S-1", (500, {}, b""), (409, {}, b'{"description": "dup"}'))
    stub.on("GET", "/payouts/S-1", (200, {}, _dump(DETAIL)))
    with Client(stub.base_url, "m", "s", backoff=RecordingBackoff()) as client:
        accepted = client.create_payout(
            "S-1", amount=Decimal("12.34"), currency="USD", account=ACCOUNT, operator="BNK_000"
        )
        with pytest.raises(DuplicatePayout):  # a different amount: a real duplicate
            client.create_payout(
                "S-1", amount=Decimal("99"), currency="USD", account=ACCOUNT, operator="BNK_000"
            )
    assert accepted.amount == Decimal("12.34")


def test_body_is_exact_json(stub: Stub) -> None:
    stub.on("POST", "/payouts/", (201, {}, b"{}"))
    with Client(stub.base_url, "m", "s") as client:
        client.create_payout(
            "S-5",
            amount=Decimal("0.10000000000000000001"),
            currency="USDT",
            account={"accountNumber": "abc", "accountName": ""},
            method="CRYPTO_TRANSFER",
            operator="OP_1",
            remark="",
        )
    bodies = stub.bodies["/payouts/S-5"]  # as it arrived on the wire
    sent = json.loads(bodies[0], parse_float=Decimal)
    assert sent["paymentRequested"]["money"]["amount"] == Decimal("0.10000000000000000001")
    assert b"0.10000000000000000001" in bodies[0]
    assert sent["paymentMethod"] == {
        "paymentMethodCode": "CRYPTO_TRANSFER",
        "account": {"accountNumber": "abc"},
        "paymentOperatorCode": "OP_1",
    }  # empty fields omitted


def test_bad_detail_bodies(stub: Stub) -> None:
    too_fine = _dump(DETAIL).replace(b"12.34", b"12.123456789")
    stub.on("GET", "/payouts/S-6", (200, {}, b"<html>oops</html>"))
    stub.on("GET", "/payouts/S-7", (200, {}, too_fine))
    with Client(stub.base_url, "m", "s") as client:
        outcomes = client.fetch(["S-6", "S-7"], progress=False)
    assert [(o.error, o.http_status) for o in outcomes] == [("bad_response", 200)] * 2


def test_from_env_and_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAYRECON_BASE_URL", "PAYRECON_MERCHANT_CODE", "PAYRECON_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        Client.from_env()
    (tmp_path / ".env").write_text(
        "PAYRECON_BASE_URL=echelonpay-sandbox\nPAYRECON_MERCHANT_CODE=M1\n"
        "PAYRECON_SECRET=env-file-secret-value\nPAYRECON_CONCURRENCY=200\n"
    )
    with Client.from_env() as client:
        assert client.base_url == "https://api.sandbox.echelonpay.com"
        assert client.concurrency == 200
        assert "env-file-secret-value" not in repr(client)
    with Client.from_env(base_url="http://127.0.0.1:1", concurrency=5) as client:
        assert (client.base_url, client.concurrency) == ("http://127.0.0.1:1", 5)
