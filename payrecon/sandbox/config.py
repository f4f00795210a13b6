"""The emulator's settings: merchants, timings, rate limit, and the faults a test can switch on.

``SandboxConfig`` is fixed for a sandbox's life; ``Faults`` is deliberately mutable, because a test
or a notebook turns faults on and off while the sandbox runs (``sb.faults.error_500_rate = 0.2``)
and the next request sees the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: The demo merchant. Its secret belongs to the emulator alone and guards nothing real, so it may
#: be printed (``payrecon sandbox`` shows it); a real merchant's secret never is.
DEMO_MERCHANT_CODE = "demo-merchant"
DEMO_SECRET = "demo-secret-for-the-local-sandbox-only"  # noqa: S105 (the emulator's own demo pair)

#: Latency profiles measured on the real hosts (platform-api.md §5.7), in seconds.
LATENCY_PROFILES: dict[str, dict[str, float]] = {
    "live": {"median": 0.660, "p90": 0.816, "p99": 1.1, "max": 5.9},
    "sandbox": {"median": 0.327, "p90": 0.465, "p99": 0.677, "max": 5.3},
}


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant the sandbox knows: its code and its secret key. The repr hides the secret."""

    code: str
    secret: str = field(repr=False)
    active: bool = True


@dataclass(slots=True)
class Faults:
    """Faults injected into business calls (``/payouts/...``); never into ``/openapi.json``.

    Mutable on purpose: setting an attribute on ``sb.faults`` takes effect for the next request.
    ``POST /auth-tokens`` gets only ``latency`` and ``error_500_rate`` (its documented statuses have
    no 401 and no 429), plus the token-shaping faults ``token_lifetime`` and ``max_operations``.

    Attributes
    ----------
    latency
        Seconds added to every business call (fixed), unless ``latency_profile`` is set.
    latency_profile
        ``"live"`` or ``"sandbox"``: a lognormal delay fitted to the real host's median and p90,
        with rare long tails up to the measured maximum (§5.7).
    error_500_rate, error_429_rate, error_401_rate
        Share of business calls answered 500, 429 or 401 at random: load the client did not
        cause (another process on the merchant, the platform's own). They do not use up the
        rate limit.
    error_429_retry_after
        The ``Retry-After`` seconds sent with those random 429s; ``None`` sends none.
    detail_patches
        Payout id -> a JSON merge patch (RFC 7396) applied to that payout's detail before it
        is sent: a field in an unusual but valid form (``"createdAt": "2024-05-02t08:15:00z"``)
        or one the client cannot read (an amount sent as a string). ``None`` in the patch
        removes the field. Only values that are exact JSON (``Decimal`` for numbers) may go in.
    token_lifetime
        Cap on a token's life in seconds (may be under 60): its ``exp`` claim still tells the truth.
    max_operations
        A token request naming more operations than this is refused with 400 "too many operations".
    random_seed
        Seed for the fault and latency draws, for repeatable runs (read once, at start).
    """

    latency: float = 0.0
    latency_profile: str | None = None
    error_500_rate: float = 0.0
    error_429_rate: float = 0.0
    error_401_rate: float = 0.0
    error_429_retry_after: float | None = 1.0
    detail_patches: dict[str, Any] = field(default_factory=dict)
    token_lifetime: float | None = None
    max_operations: int | None = None
    random_seed: int | None = None


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How a sandbox behaves. Defaults follow the documented platform and the interface.

    Attributes
    ----------
    merchants
        Merchants the sandbox knows; the first is the default one (``sb.merchant_code``).
    final_after
        Seconds a created payout stays ``PROCESSING`` before its final status (0: final at once).
    callback_interval, callback_attempts, callback_timeout
        Callback delivery: attempts in all (1 + 4 retries, §5.1), seconds between them, and the
        time allowed for one attempt.
    callback_on_create
        Also send a callback when a payout is created (``PROCESSING``); off by default, the
        platform promising the *final* status to the callback URL.
    callback_remote
        Deliver callbacks to hosts other than loopback. Off by default, so the guide's
        ``https://callback.example.com`` is never contacted from a test; such callbacks are recorded
        as ``skipped`` in the stats.
    rate_limit, rate_burst
        Business calls a second per merchant (a token bucket) and the bucket's size
        (default ``max(1, rate_limit / 10)``); above it: 429.
    rate_limit_retry_after
        Whether those 429s carry ``Retry-After`` (the whole seconds until the bucket has a token
        again). The platform documents no such header (platform-api.md §5.5), so a client must
        cope without it: ``False`` is the documented platform, ``True`` a kinder one.
    max_body
        Request bodies larger than this many bytes get 413.
    max_header
        Longest request line or header line, in bytes (400 above). 8190 is aiohttp's default
        and nginx's usual buffer size; a token naming hundreds of operations can pass it.
    faults
        The faults to start with; ``sb.faults`` is the live copy.
    opening_balance
        What each currency account of ``GET /balances`` opens with, before payouts
        (:mod:`payrecon.sandbox.balances`).
    """

    merchants: tuple[Merchant, ...] = (Merchant(DEMO_MERCHANT_CODE, DEMO_SECRET),)
    final_after: float = 5.0
    callback_interval: float = 120.0
    callback_attempts: int = 5
    callback_timeout: float = 10.0
    callback_on_create: bool = False
    callback_remote: bool = False
    rate_limit: float | None = None
    rate_burst: float | None = None
    rate_limit_retry_after: bool = True
    max_body: int = 1024 * 1024
    max_header: int = 8190
    faults: Faults = field(default_factory=Faults)
    opening_balance: Decimal = Decimal("1000000000")

    def __post_init__(self) -> None:
        if not self.merchants:
            raise ValueError("a sandbox needs at least one merchant")
        codes = [m.code for m in self.merchants]
        if len(set(codes)) != len(codes):
            raise ValueError("merchant codes must be unique")
        if self.final_after < 0 or self.callback_interval < 0 or self.callback_attempts < 1:
            raise ValueError("final_after and callback_interval must be >= 0, attempts >= 1")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("rate_limit must be positive (or None for no limit)")

    @property
    def burst(self) -> float:
        """The rate-limit bucket size actually used."""
        if self.rate_burst is not None:
            return max(1.0, self.rate_burst)
        return max(1.0, (self.rate_limit or 0.0) / 10)
