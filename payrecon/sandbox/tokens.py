"""Minting and checking the platform's fine-grained HS256 tokens (platform-api.md §2.1, §2.3).

Tokens are signed with a key that belongs to the sandbox (like the real platform's own key), never
with a merchant's secret. The claims are exactly the documented ones: ``operations``, ``exp``,
``jti``, ``iat``, ``sub``. A ``money`` lock is not a claim; the sandbox remembers it by ``jti``.

Checking is on the hot path of every GET, so a verified token's claims are cached by the token
string and only ``exp`` is compared with the clock on later calls.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import jwt

_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token allows: whose it is, until when, which operations, which money."""

    sub: str
    exp: float
    jti: str
    operations: frozenset[str]
    money: tuple[Decimal, str] | None = None


class TokenAuthority:
    """Issues tokens and checks bearer strings; one per sandbox, with its own random key."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._cache: dict[str, Claims] = {}
        self._money: dict[str, tuple[Decimal, str]] = {}

    def mint(
        self,
        merchant_code: str,
        operations: list[str],
        validity: int,
        *,
        money: tuple[Decimal, str] | None = None,
        lifetime_cap: float | None = None,
        now: float | None = None,
    ) -> str:
        """Sign a token for ``operations`` valid ``validity`` seconds (or less under a fault cap).

        ``iat`` is whole seconds as in the guide; ``exp`` is whole too unless a sub-second cap
        asks for a fraction (RFC 7519 NumericDate allows one), so the claim never lies.
        """
        now = time.time() if now is None else now
        iat = int(now)
        exp: float = iat + validity
        if lifetime_cap is not None and now + lifetime_cap < exp:
            capped = now + lifetime_cap
            exp = int(capped) if capped == math.floor(capped) else round(capped, 3)
        jti = str(uuid.uuid4())
        payload = {"operations": list(operations), "exp": exp, "jti": jti, "iat": iat}
        payload["sub"] = merchant_code
        token = jwt.encode(payload, self._key, algorithm="HS256")
        if money is not None:
            self._money[jti] = money
        self._remember(token, Claims(merchant_code, float(exp), jti, frozenset(operations), money))
        return token

    def check(self, token: str, now: float | None = None) -> Claims | None:
        """The claims of a live token this sandbox issued; None when garbled, foreign or expired."""
        claims = self._cache.get(token)
        if claims is None:
            claims = self._decode(token)
            if claims is None:
                return None
            self._remember(token, claims)
        if (time.time() if now is None else now) >= claims.exp:
            return None
        return claims

    def _decode(self, token: str) -> Claims | None:
        try:
            data = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                options={"require": ["exp", "iat", "sub", "jti"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
        ops = data.get("operations")
        if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
            return None
        jti = str(data["jti"])
        return Claims(
            str(data["sub"]), float(data["exp"]), jti, frozenset(ops), self._money.get(jti)
        )

    def _remember(self, token: str, claims: Claims) -> None:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()  # cheap bound; evicted tokens are simply verified again
        self._cache[token] = claims
