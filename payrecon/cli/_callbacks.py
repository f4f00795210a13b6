"""``payrecon callbacks``: receive the platform's callbacks into the store, or count them.

The receiver itself is :mod:`payrecon.receiver._receiver` (docs/callbacks.md); this module turns
options into its limits, says where it listens, and sums up when it stops.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from payrecon.cli._options import add_platform_options
from payrecon.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from payrecon.cli._options import Subcommands
    from payrecon.client._client import Client
    from payrecon.receiver._receiver import ReceiverLimits
    from payrecon.store._store import Store


def add_callbacks_parser(sub: Subcommands) -> None:
    """``payrecon callbacks --port N [--store PATH]`` (interface.md), and the receiver's limits."""
    p = sub.add_parser("callbacks", help="receive the platform's callbacks into the store")
    p.add_argument("--port", type=int, help="port to listen on (0: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    add_platform_options(p)
    p.add_argument("--store", type=Path, default=Path("payrecon.db"))
    _add_receiver_options(p)
    p.set_defaults(func=cmd_callbacks)


def _add_receiver_options(p: argparse.ArgumentParser) -> None:
    """The callback receiver's limits (docs/callbacks.md); unset ones keep ReceiverLimits'
    defaults (not imported here: that would load aiohttp for every command)."""
    p.add_argument("--stats", action="store_true", help="print the store's callback counts, exit")
    p.add_argument("--callback-key", type=Path, help="signing key (default: beside the store)")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="proxy address or CIDR whose X-Forwarded-For names the sender (repeatable)",
    )
    p.add_argument(
        "--budget", type=float, help="platform calls a second for confirming unknown ids (2)"
    )
    p.add_argument("--batch", type=int, help="unknown ids confirmed under one token (20)")
    p.add_argument("--park", type=int, help="unknown ids that may wait for confirmation (10000)")
    p.add_argument(
        "--sender-rate", type=float, help="requests a second per sender, unless signed (20)"
    )
    p.add_argument("--max-connections", type=int, help="open connections at most (512)")


def cmd_callbacks(args: argparse.Namespace) -> int:
    """Receive callbacks until Ctrl-C / SIGTERM; the first line printed is the URL listened on.
    With ``--stats``, print what the receiver counted on the store instead."""
    if args.stats:
        return _print_callback_stats(args.store)
    if args.port is None:
        raise InputError("callbacks: --port is required (0 for a free port), or use --stats")
    from payrecon.client._client import Client
    from payrecon.receiver._keys import load_or_create_key
    from payrecon.receiver._receiver import serve_forever, stats_log
    from payrecon.store._store import Store

    limits = _receiver_limits(args)
    key = load_or_create_key(args.callback_key) if args.callback_key else None
    stats_log.setLevel(logging.INFO)  # the counts line, once a minute, without -v
    with Client.from_env(base_url=args.base_url) as client:
        store = Store(args.store, base_url=client.base_url, merchant_code=client.merchant_code)
        with store:
            stats = serve_forever(
                store,
                client,
                host=args.host,
                port=args.port,
                on_ready=_announcer(client, store),
                limits=limits,
                callback_key=key,
            )
    print(
        f"payrecon: {stats.accepted} callback(s) accepted ({stats.signed} signed, {stats.known} "
        f"known, {stats.parked} parked), {stats.refused} refused, {stats.limited} limited, "
        f"{stats.dropped} dropped; {stats.fetched + stats.confirmed} payout(s) fetched, "
        f"{stats.rejected} rejected, {stats.fetch_failures} fetch(es) failed",
        file=sys.stderr,
    )
    return EXIT_OK


def _receiver_limits(args: argparse.Namespace) -> ReceiverLimits:
    """The options given over :class:`ReceiverLimits`' defaults, each tried now (the proxies
    parsed, the rates made into buckets) so a bad one is a usage error before listening."""
    import dataclasses

    from payrecon.receiver._guard import TokenBucket, parse_networks
    from payrecon.receiver._receiver import ReceiverLimits

    given = {
        "budget_rate": args.budget,
        "batch": args.batch,
        "park_capacity": args.park,
        "sender_rate": args.sender_rate,
        "max_connections": args.max_connections,
    }
    try:
        limits = dataclasses.replace(
            ReceiverLimits(),
            trusted_proxies=tuple(args.trusted_proxy),
            **{k: v for k, v in given.items() if v is not None},
        )
        if args.sender_rate is not None:
            limits = dataclasses.replace(limits, sender_burst=max(args.sender_rate * 5, 1.0))
        parse_networks(limits.trusted_proxies)
        TokenBucket(limits.budget_rate, limits.batch + 1)
        TokenBucket(limits.sender_rate, limits.sender_burst)
    except ValueError as exc:
        raise InputError(f"callbacks: {exc}") from None
    return limits


def _announcer(client: Client, store: Store) -> Callable[[object], None]:
    """Once listening: the URL on stdout (scripts read it), what it receives for on stderr."""

    def ready(receiver: object) -> None:
        url = getattr(receiver, "url", "")
        print(url, flush=True)
        print(
            f"payrecon: receiving callbacks for {client.base_url} (merchant "
            f"{client.merchant_code}) into {store.path}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )

    return ready


def _print_callback_stats(path: Path) -> int:
    """``payrecon callbacks --stats``: the receiver's lifetime counts kept in the store."""
    from payrecon.receiver._receiver import COUNTERS
    from payrecon.store._callbacks import callback_report
    from payrecon.store._store import Store

    if not path.is_file():
        raise InputError(f"callbacks --stats: no store at {path}")
    with Store.open_readonly(path) as store:
        report = callback_report(store)
    print(f"callbacks received into {path} (since the store was created):")
    for name in COUNTERS:
        print(f"  {name:<22} {report.get(name, 0):>10}")
    print("kept in the store now:")
    for name in ("stored_accepted", "stored_parked", "stored_refused", "stored_refused_bytes"):
        print(f"  {name:<22} {report[name]:>10}")
    return EXIT_OK


__all__ = ["add_callbacks_parser", "cmd_callbacks"]
