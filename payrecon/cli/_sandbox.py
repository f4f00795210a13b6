"""``payrecon sandbox``: run the platform emulator (:mod:`payrecon.sandbox`) in the foreground.

The command only turns options into a :class:`~payrecon.sandbox.SandboxConfig`, picks the
merchant whose credentials it accepts, and says where it listens. It imports neither pandas nor
the client: an emulator that shared the client's code could not catch its mistakes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from payrecon.errors import ConfigError

if TYPE_CHECKING:
    from payrecon.cli._options import Subcommands
    from payrecon.sandbox import Merchant, SandboxConfig


def add_sandbox_parser(sub: Subcommands) -> None:
    """``payrecon sandbox [--port N]`` (interface.md), and the emulator's faults and pace."""
    p = sub.add_parser("sandbox", help="run the local platform emulator in the foreground")
    p.add_argument("--port", type=int, default=0, help="port (0 or none: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    p.add_argument("--seed", type=Path, help="CSV of payouts that already exist (data/payouts.csv)")
    p.add_argument("--final-after", type=float, default=5.0, help="seconds until a payout is final")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added per business call")
    p.add_argument("--latency-profile", choices=("live", "sandbox"), help="measured latency")
    p.add_argument("--rate-limit", type=float, help="calls a second per merchant")
    p.add_argument("--error-500-rate", type=float, default=0.0, help="share of calls answered 500")
    p.add_argument(
        "--error-429-rate", type=float, default=0.0, help="share of calls answered 429 at random"
    )
    p.add_argument(
        "--error-429-retry-after",
        type=_retry_after_arg,
        default=1.0,
        metavar="SECONDS|none",
        help="Retry-After of those random 429s (default 1; none: no header)",
    )
    p.add_argument(
        "--no-retry-after",
        action="store_true",
        help="rate-limit 429s carry no Retry-After, as the documented platform",
    )
    p.add_argument("--fault-seed", type=int, help="seed of the latency and fault draws")
    p.add_argument("--callback-interval", type=float, default=120.0, help="seconds between retries")
    p.set_defaults(func=cmd_sandbox)


def _retry_after_arg(text: str) -> float | None:
    """``--error-429-retry-after``: seconds, or ``none`` for no header."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds or 'none': {text!r}") from None
    if not 0 <= value < 86400:
        raise argparse.ArgumentTypeError(f"must be 0..86400 seconds: {text!r}")
    return value


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; the first line printed is the URL, then whose credentials it takes."""
    from payrecon.sandbox.server import serve_forever

    merchant, note = _merchant()
    config = _config(args, merchant)
    return serve_forever(
        config, port=args.port, host=args.host, seed=args.seed, announce=_announcer(note)
    )


def _merchant() -> tuple[Merchant, str]:
    """The merchant from ``PAYRECON_MERCHANT_CODE`` / ``PAYRECON_SECRET`` (environment or
    ``.env``) when both are set, else the emulator's demo pair; and the line that says which."""
    import os

    from dotenv import dotenv_values

    from payrecon.sandbox import DEMO_MERCHANT_CODE, DEMO_SECRET, Merchant

    env = {**dotenv_values(".env"), **os.environ}
    code, secret = env.get("PAYRECON_MERCHANT_CODE"), env.get("PAYRECON_SECRET")
    if code and secret:
        return Merchant(code, secret), f"merchant {code} (secret from PAYRECON_SECRET)"
    # the emulator's own demo pair guards nothing real, so it is shown
    note = (
        f"demo merchant: PAYRECON_MERCHANT_CODE={DEMO_MERCHANT_CODE} PAYRECON_SECRET={DEMO_SECRET}"
    )
    return Merchant(DEMO_MERCHANT_CODE, DEMO_SECRET), note


def _config(args: argparse.Namespace, merchant: Merchant) -> SandboxConfig:
    """The options as a config; a value the emulator refuses is a usage error (exit 2)."""
    from payrecon.sandbox import Faults, SandboxConfig

    try:
        faults = Faults(
            latency=args.latency,
            latency_profile=args.latency_profile,
            error_500_rate=args.error_500_rate,
            error_429_rate=args.error_429_rate,
            error_429_retry_after=args.error_429_retry_after,
            random_seed=args.fault_seed,
        )
        return SandboxConfig(
            merchants=(merchant,),
            final_after=args.final_after,
            callback_interval=args.callback_interval,
            rate_limit=args.rate_limit,
            rate_limit_retry_after=not args.no_retry_after,
            faults=faults,
        )
    except ValueError as exc:
        raise ConfigError(f"sandbox settings: {exc}") from None


def _announcer(note: str) -> Callable[[str], None]:
    """What the server prints as it starts: its lines, and after the URL (the first line, which
    scripts read) whose credentials it takes and how to stop it."""

    def announce(line: str) -> None:
        print(line, flush=True)
        if line.startswith("http"):
            print(note, flush=True)
            print("Ctrl-C stops it.", flush=True)

    return announce


__all__ = ["add_sandbox_parser", "cmd_sandbox"]
