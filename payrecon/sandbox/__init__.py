"""``payrecon.sandbox``: a local emulator of the payouts platform, faithful to its documented API.

It issues the platform's HS256 operation tokens, accepts and serves payouts, moves them from
``PROCESSING`` to a final status by amount rules, charges fees from a schedule, sends callbacks
with retries, and injects faults (latency, 500s, 429s, revoked or short-lived tokens) on demand.
It shares nothing with the client but ``payrecon.platform``'s documented facts.

>>> from payrecon.sandbox import running, SandboxConfig   # doctest: +SKIP
>>> with running(SandboxConfig(final_after=0.5)) as sb:
...     sb.base_url
"""

from payrecon.sandbox.config import DEMO_MERCHANT_CODE, DEMO_SECRET, Faults, Merchant, SandboxConfig
from payrecon.sandbox.server import Sandbox, running
from payrecon.sandbox.stats import CallbackAttempt, SandboxStats

__all__ = [
    "DEMO_MERCHANT_CODE",
    "DEMO_SECRET",
    "CallbackAttempt",
    "Faults",
    "Merchant",
    "Sandbox",
    "SandboxConfig",
    "SandboxStats",
    "running",
]
