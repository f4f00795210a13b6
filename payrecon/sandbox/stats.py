"""What the sandbox saw, for tests and benchmarks: requests by kind and status, tokens, callbacks.

The recorder lives on the event loop and is written on every request, so it only increments
counters; ``snapshot()`` copies them into a frozen ``SandboxStats`` a test can read at leisure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    """One callback attempt: ``http_status`` None means no answer (``error`` says why)."""

    merchant: str
    id_payout: str
    url: str
    attempt: int
    http_status: int | None
    error: str | None
    at: float


@dataclass(frozen=True)
class SandboxStats:
    """A snapshot of what the sandbox has seen since it started (or since ``reset_stats``).

    Attributes
    ----------
    requests
        Count per (method, route kind, HTTP status); kinds are ``auth-tokens``, ``payout``,
        ``openapi`` and ``other``.
    token_operations
        The ``operations`` of every token issued, in order.
    tokens_per_merchant
        Tokens issued per merchant code.
    gets_ok
        ``GET /payouts/{id}`` answered 200, per (merchant, id).
    get_attempts
        Every ``GET /payouts/{id}`` that reached the sandbox, per id, whatever the answer.
    callbacks
        Every callback attempt, in order.
    """

    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    token_operations: list[list[str]] = field(default_factory=list)
    tokens_per_merchant: dict[str, int] = field(default_factory=dict)
    gets_ok: dict[tuple[str, str], int] = field(default_factory=dict)
    get_attempts: dict[str, int] = field(default_factory=dict)
    callbacks: list[CallbackAttempt] = field(default_factory=list)

    def count(
        self, method: str | None = None, kind: str | None = None, status: int | None = None
    ) -> int:
        """Requests matching every filter given."""
        return sum(
            n
            for (m, k, s), n in self.requests.items()
            if (method is None or m == method)
            and (kind is None or k == kind)
            and (status is None or s == status)
        )

    @property
    def tokens_issued(self) -> int:
        return len(self.token_operations)


class Recorder:
    """Mutable counters behind ``SandboxStats``; used only from the sandbox's event loop."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.token_operations: list[list[str]] = []
        self.tokens_per_merchant: Counter[str] = Counter()
        self.gets_ok: Counter[tuple[str, str]] = Counter()
        self.get_attempts: Counter[str] = Counter()
        self.callbacks: list[CallbackAttempt] = []

    def snapshot(self) -> SandboxStats:
        return SandboxStats(
            requests=dict(self.requests),
            token_operations=[list(ops) for ops in self.token_operations],
            tokens_per_merchant=dict(self.tokens_per_merchant),
            gets_ok=dict(self.gets_ok),
            get_attempts=dict(self.get_attempts),
            callbacks=list(self.callbacks),
        )
