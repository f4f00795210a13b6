"""Fine-grained tokens: each names exactly the operations its calls need, and no more.

``POST /auth-tokens`` takes the merchant code, the secret, a validity and a list of ``operations``
(``"GET /payouts/X"``), and answers ``{"token": "<JWT>"}`` with no expiry field
(platform-api.md §2.1): the expiry is the JWT's own ``exp``, read here without verifying the
signature (the key is the platform's, not ours; we only need to know when to renew).

Least privilege is the caller's choice of operations; this module keeps it while coping with a
platform that refuses large requests: a refusal that is not about the credentials halves the
number of operations asked for at once (for this request and every later one) and goes on.
Wrong credentials (403, or 406 ``MERCHANT_NOT_FOUND`` / ``MERCHANT_INACTIVE``) raise
:class:`~payrecon.errors.CredentialsError` at once: retrying cannot help.

The transport (how a request reaches the platform, with retries) is injected, so the batching and
halving logic can be unit-tested and the client owns the one retry loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from payrecon.errors import CredentialsError, PlatformError, TokenRequestRejected
from payrecon.platform import TOKEN_VALIDITY_MAX, TOKEN_VALIDITY_MIN

log = logging.getLogger("payrecon.auth")

#: 406 codes of POST /auth-tokens that mean "these credentials will never work" (§2.1).
CREDENTIAL_CODES = frozenset({"MERCHANT_NOT_FOUND", "MERCHANT_INACTIVE"})


@dataclass(frozen=True, slots=True)
class Token:
    """One bearer token and what it allows. The repr hides the token text.

    ``expires_at`` is on the local monotonic clock: the token's lifetime (``exp - iat``, both on
    the platform's clock) added to the local time it was received, so clock skew between us and
    the platform does not matter. Without ``iat`` the ``exp`` is compared with the local wall
    clock instead.
    """

    value: str = field(repr=False)
    operations: frozenset[str]
    expires_at: float
    lifetime: float

    def needs_renewal(self, now: float, margin: float | None = None) -> bool:
        """True when the token has less than ``margin`` seconds left (default: a fifth of its
        lifetime, at most 30 s), so a call never leaves with a token about to lapse."""
        if margin is None:
            margin = min(30.0, 0.2 * self.lifetime)
        return now >= self.expires_at - margin

    def __repr__(self) -> str:
        left = self.expires_at - time.monotonic()
        return f"Token(operations={len(self.operations)}, expires_in={left:.0f}s)"


def token_from_jwt(value: str, operations: Sequence[str], *, received_at: float) -> Token:
    """Read ``exp`` (and ``iat``) from a token without verifying the platform's signature."""
    try:
        claims: dict[str, Any] = jwt.decode(
            value, options={"verify_signature": False, "verify_exp": False}
        )
    except jwt.PyJWTError as exc:
        raise PlatformError(
            f"the platform's token is not a readable JWT ({type(exc).__name__})",
            method="POST",
            path="/auth-tokens",
        ) from None
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise PlatformError(
            "the platform's token has no numeric exp claim", method="POST", path="/auth-tokens"
        )
    # Two estimates of the time left, each wrong in its own way; take the shorter. ``exp - iat``
    # ignores clock skew but overstates by up to 1 s when ``iat`` is whole seconds; ``exp`` less
    # our wall clock is exact when the clocks agree and short (safe) when ours runs ahead.
    by_wall = float(exp) - time.time()
    iat = claims.get("iat")
    if isinstance(iat, int | float) and not isinstance(iat, bool) and exp > iat:
        lifetime = min(float(exp - iat), max(by_wall, 0.5 * float(exp - iat)))
    else:
        lifetime = max(0.0, by_wall)
    return Token(
        value=value,
        operations=frozenset(operations),
        expires_at=received_at + lifetime,
        lifetime=lifetime,
    )


#: ``mint(operations, validity_secs) -> token text``; raises CredentialsError,
#: TokenRequestRejected (refused for its content) or TransportError.
MintFn = Callable[[Sequence[str], int], str]


@dataclass(frozen=True, slots=True)
class Issued:
    """What :meth:`TokenProvider.issue` got: tokens covering the operations, and any refused."""

    tokens: list[Token]
    rejected: dict[str, TokenRequestRejected]


class TokenProvider:
    """Mints tokens for lists of operations, at most ``max_operations`` per token.

    ``max_operations`` is shared by every later request: once the platform refuses 100 and
    takes 50, asking for 100 again would only waste a round trip each batch.

    Parameters
    ----------
    mint
        The call that performs ``POST /auth-tokens`` (the client's, with its retries).
    max_operations
        Operations per token to start with (100 by default in the client).
    validity
        ``validitySecs`` asked for, within the documented 60..3600.
    clock
        Monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        mint: MintFn,
        *,
        max_operations: int = 100,
        validity: int = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_operations < 1:
            raise ValueError("max_operations must be at least 1")
        if not TOKEN_VALIDITY_MIN <= validity <= TOKEN_VALIDITY_MAX:
            raise ValueError(
                f"token validity must be {TOKEN_VALIDITY_MIN}..{TOKEN_VALIDITY_MAX} seconds"
            )
        self._mint = mint
        self._lock = threading.Lock()
        self._max_operations = max_operations
        self.validity = validity
        self.clock = clock
        self.minted = 0

    @property
    def max_operations(self) -> int:
        """Operations per token currently asked for (halved after each refusal for size)."""
        return self._max_operations

    def _halve(self, tried: int) -> int:
        with self._lock:
            # Another thread may have halved already; never grow back, never below 1.
            self._max_operations = max(1, min(self._max_operations, tried // 2))
            return self._max_operations

    def issue(self, operations: Sequence[str]) -> Issued:
        """Tokens that together name exactly ``operations``, each no more than the cap.

        A refusal that is not about credentials halves the cap and splits the request; an
        operation refused on its own is reported in ``rejected`` rather than raised, so one odd
        operation does not sink the others.

        Raises
        ------
        CredentialsError
            The merchant code or secret was refused: stop the run.
        TransportError
            The platform could not be reached (after the client's retries).
        """
        tokens: list[Token] = []
        rejected: dict[str, TokenRequestRejected] = {}
        todo: list[list[str]] = [list(dict.fromkeys(operations))]
        while todo:
            ops = todo.pop(0)
            cap = self._max_operations
            if len(ops) > cap:
                todo[:0] = [ops[i : i + cap] for i in range(0, len(ops), cap)]
                continue
            sent_at = self.clock()  # the lifetime counts from the request: err on the safe side
            try:
                value = self._mint(ops, self.validity)
            except CredentialsError:
                raise
            except TokenRequestRejected as exc:
                if len(ops) == 1:
                    log.warning("token request refused for one operation: %s", exc)
                    rejected[ops[0]] = exc
                    continue
                new_cap = self._halve(len(ops))
                log.info(
                    "token request for %d operations refused (%s); asking for %d at most",
                    len(ops),
                    exc.status,
                    new_cap,
                )
                todo[:0] = [ops[i : i + new_cap] for i in range(0, len(ops), new_cap)]
                continue
            tokens.append(token_from_jwt(value, ops, received_at=sent_at))
            self.minted += 1
        return Issued(tokens=tokens, rejected=rejected)

    def __repr__(self) -> str:
        return f"TokenProvider(max_operations={self._max_operations}, validity={self.validity})"


class TokenSet:
    """The tokens that serve one group of operations (a batch of ids), renewed as needed.

    Renewal names only the operations still *pending* (whose answers have not arrived), so a
    renewed token never names a payout that is already done. Renewal is single-flight: the first
    thread to find a token stale mints its successor while the others wait, then all use it.
    """

    def __init__(self, provider: TokenProvider, operations: Sequence[str], issued: Issued) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._pending: set[str] = set(operations)
        self._tokens: dict[str, Token] = {}
        self._rejected: dict[str, TokenRequestRejected] = dict(issued.rejected)
        self._absorb(issued)

    @classmethod
    def issue(cls, provider: TokenProvider, operations: Sequence[str]) -> TokenSet:
        """Mint tokens for ``operations`` now and keep them."""
        return cls(provider, operations, provider.issue(operations))

    @property
    def operations(self) -> list[str]:
        return list(self._tokens) + list(self._rejected)

    def rejection(self, operation: str) -> TokenRequestRejected | None:
        """Why the platform would not name ``operation`` in any token, if it would not."""
        return self._rejected.get(operation)

    def _absorb(self, issued: Issued) -> None:
        for token in issued.tokens:
            for op in token.operations:
                self._tokens[op] = token
        self._rejected.update(issued.rejected)

    def _renew(self, stale: Token) -> None:
        ops = sorted(op for op in self._pending if self._tokens.get(op) is stale)
        if ops:
            self._absorb(self._provider.issue(ops))

    def bearer(self, operation: str) -> str:
        """The token text to send for ``operation``, renewed first when it is about to lapse.

        Raises
        ------
        TokenRequestRejected
            The platform would not issue a token naming this operation.
        """
        with self._lock:
            token = self._tokens.get(operation)
            if token is None:
                rejected = self._rejected.get(operation)
                if rejected is not None:
                    raise rejected
                raise KeyError(f"no token was asked for {operation!r}")
            if token.needs_renewal(self._provider.clock()):
                self._renew(token)
                token = self._tokens.get(operation)
                if token is None:
                    raise self._rejected[operation]
            return token.value

    def renew_after_401(self, operation: str, sent: str | None) -> None:
        """The platform said 401 to ``sent``: renew unless another thread already has."""
        with self._lock:
            token = self._tokens.get(operation)
            if token is not None and token.value == sent:
                self._renew(token)

    def done(self, operation: str) -> None:
        """The answer for ``operation`` arrived: later renewals leave it out."""
        with self._lock:
            self._pending.discard(operation)

    def __repr__(self) -> str:
        tokens = len({id(t) for t in self._tokens.values()})
        return f"TokenSet(pending={len(self._pending)}, tokens={tokens})"
