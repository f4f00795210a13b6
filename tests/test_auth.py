"""Token batching: least privilege, halving on refusal, expiry from the JWT, one renewal a time."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence

import jwt
import pytest

from payrecon.client._auth import Token, TokenProvider, TokenSet, token_from_jwt
from payrecon.errors import CredentialsError, PlatformError, TokenRequestRejected

KEY = "the-platform-signing-key-that-we-never-get-to-see"


def make_jwt(ops: Sequence[str], lifetime: float = 600, iat: float | None = None) -> str:
    iat = int(time.time()) if iat is None else iat
    jti = str(uuid.uuid4())  # a UUID, as the platform's tokens carry (§2.3)
    claims = {"operations": list(ops), "iat": iat, "exp": iat + lifetime, "sub": "m", "jti": jti}
    return jwt.encode(claims, KEY, algorithm="HS256")


class FakeMint:
    """Stands in for POST /auth-tokens (pure logic only: the HTTP path is tested elsewhere)."""

    def __init__(self, max_ops: int = 1000, lifetime: float = 600, refuse: set[str] = frozenset()):
        self.max_ops, self.lifetime, self.refuse = max_ops, lifetime, refuse
        self.requests: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, ops: Sequence[str], validity: int) -> str:
        with self.lock:
            self.requests.append(list(ops))
        if len(ops) > self.max_ops:
            raise TokenRequestRejected("too many operations", status=400)
        if any(op in self.refuse for op in ops):
            raise TokenRequestRejected("odd operation", status=406, code="OPERATION_INVALID")
        return make_jwt(ops, self.lifetime)


def ops(n: int) -> list[str]:
    return [f"GET /payouts/P{i}" for i in range(n)]


def test_each_token_names_exactly_its_batch() -> None:
    mint = FakeMint()
    issued = TokenProvider(mint, max_operations=100).issue(ops(250))
    assert [len(t.operations) for t in issued.tokens] == [100, 100, 50]
    assert set().union(*(t.operations for t in issued.tokens)) == set(ops(250))
    assert mint.requests == [ops(250)[:100], ops(250)[100:200], ops(250)[200:]]


def test_refused_as_too_big_halves_and_remembers() -> None:
    mint = FakeMint(max_ops=37)
    provider = TokenProvider(mint, max_operations=100)
    issued = provider.issue(ops(100))
    assert provider.max_operations == 25
    assert all(len(t.operations) <= 25 for t in issued.tokens)
    assert set().union(*(t.operations for t in issued.tokens)) == set(ops(100))
    refused_before = sum(len(r) > 37 for r in mint.requests)
    provider.issue(ops(60))  # the next batch asks for 25 at once straight away
    assert sum(len(r) > 37 for r in mint.requests) == refused_before


def test_one_refused_operation_does_not_sink_the_others() -> None:
    mint = FakeMint(refuse={"GET /payouts/P3"})
    issued = TokenProvider(mint, max_operations=8).issue(ops(8))
    assert set(issued.rejected) == {"GET /payouts/P3"}
    assert set().union(*(t.operations for t in issued.tokens)) == set(ops(8)) - {"GET /payouts/P3"}


def test_credentials_error_stops_at_once() -> None:
    calls = []

    def mint(ops: Sequence[str], validity: int) -> str:
        calls.append(ops)
        raise CredentialsError("refused")

    with pytest.raises(CredentialsError):
        TokenProvider(mint).issue(ops(300))
    assert len(calls) == 1


def test_expiry_from_the_token_itself() -> None:
    token = token_from_jwt(make_jwt(ops(1), lifetime=600), ops(1), received_at=1000.0)
    assert token.lifetime == pytest.approx(600, abs=1.5)
    assert not token.needs_renewal(1000.0 + 500)
    assert token.needs_renewal(1000.0 + 590)  # within the margin (30 s for a 10-minute token)
    # A clock skew of an hour changes nothing: exp - iat is the lifetime.
    skewed = make_jwt(ops(1), lifetime=600, iat=int(time.time()) - 3600)
    assert token_from_jwt(skewed, ops(1), received_at=0.0).lifetime >= 300
    assert "eyJ" not in repr(token)
    with pytest.raises(PlatformError):
        token_from_jwt("not-a-jwt", ops(1), received_at=0.0)


def test_validity_bounds() -> None:
    with pytest.raises(ValueError):
        TokenProvider(FakeMint(), validity=30)
    with pytest.raises(ValueError):
        TokenProvider(FakeMint(), max_operations=0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_renewal_names_only_pending_operations() -> None:
    clock = Clock()
    mint = FakeMint(lifetime=60)
    provider = TokenProvider(mint, max_operations=100, clock=clock)
    tokens = TokenSet.issue(provider, ops(10))
    first = tokens.bearer("GET /payouts/P0")
    for op in ops(10)[:6]:
        tokens.done(op)
    clock.now = 55.0  # inside the renewal margin
    second = tokens.bearer("GET /payouts/P7")
    assert second != first
    assert mint.requests[-1] == sorted(ops(10)[6:])  # only the 4 still pending
    assert tokens.bearer("GET /payouts/P8") == second  # shared, not renewed again


def test_401_renewal_is_single_flight() -> None:
    mint = FakeMint()
    provider = TokenProvider(mint, max_operations=100)
    tokens = TokenSet.issue(provider, ops(5))
    stale = tokens.bearer("GET /payouts/P1")
    barrier = threading.Barrier(8)

    def hit() -> None:
        barrier.wait()
        tokens.renew_after_401("GET /payouts/P1", stale)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mint.requests) == 2  # the first issue and exactly one renewal
    assert tokens.bearer("GET /payouts/P1") != stale


def test_token_repr_hides_value() -> None:
    t = Token(value="eyJsecret.token", operations=frozenset(ops(2)), expires_at=0, lifetime=1)
    assert "eyJ" not in repr(t)
