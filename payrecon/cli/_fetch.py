"""``payrecon fetch IDS --out FILE``: its options, and the command as named steps.

Whatever happens once the ids are read (refused credentials, an unreachable platform, Ctrl-C),
the statuses table is written with every id in it (ids not fetched say ``interrupted``) before
the command says how it ended: the table and the store keep what was fetched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from payrecon.cli._options import add_platform_options, add_store_options
from payrecon.errors import EXIT_OK, EXIT_PLATFORM, InputError, PlatformError

if TYPE_CHECKING:
    import pandas as pd

    from payrecon.cli._options import Subcommands
    from payrecon.client.records import FetchOutcome


def add_fetch_parser(sub: Subcommands) -> None:
    """``payrecon fetch IDS --out FILE`` (interface.md), then the platform and the store."""
    p = sub.add_parser("fetch", help="fetch the status of every payout id in a file")
    p.add_argument(
        "ids", type=Path, help="text file (one id a line) or CSV with an id_payout column"
    )
    p.add_argument("--out", type=Path, required=True, help="statuses table (.csv or .parquet)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_platform_options(p)
    add_store_options(p)
    p.set_defaults(func=cmd_fetch)


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch every id in IDS into the statuses table at ``--out``; a one-screen summary on
    stdout, then how the run ended."""
    import time

    from payrecon.client._fetch import summarise
    from payrecon.client.ids import read_ids

    _check_output(args.out)
    ids = read_ids(args.ids)
    started = time.monotonic()
    fetched = _fetch(args, ids)
    frame = _write_table(args.out, fetched.outcomes)
    print(summarise(frame, listed=len(ids), seconds=time.monotonic() - started, out=args.out))
    if fetched.failure is not None:
        raise fetched.failure
    return _how_it_ended(args, fetched.outcomes)


def _check_output(out: Path) -> None:
    """``--out`` can be written as a statuses table: checked now, not after an hour of calls."""
    from payrecon.cli._outputs import check_output_file

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"--out {out}: the statuses table is written as .csv or .parquet")
    check_output_file(out, "--out")


@dataclass(frozen=True)
class _Fetched:
    """Every id's outcome, and the platform error that stopped the run early (None: none did)."""

    outcomes: list[FetchOutcome]
    failure: PlatformError | None


def _fetch(args: argparse.Namespace, ids: list[str]) -> _Fetched:
    """Fetch through the store; a platform error that stops the run still hands back every id's
    outcome so far (``exc.outcomes``), to be written before it is raised."""
    from payrecon.client._client import Client
    from payrecon.store._store import open_store

    with Client.from_env(base_url=args.base_url) as client:
        store = open_store(
            None if args.no_store else args.store,
            base_url=client.base_url,
            merchant_code=client.merchant_code,
        )
        try:
            outcomes = client.fetch(
                ids, sink=store, refresh=args.refresh, progress=False if args.no_progress else None
            )
        except PlatformError as exc:
            if getattr(exc, "outcomes", None) is None:
                raise
            return _Fetched(exc.outcomes, exc)  # type: ignore[attr-defined]
        finally:
            if store is not None:
                store.close()
    return _Fetched(outcomes, None)


def _write_table(out: Path, outcomes: list[FetchOutcome]) -> pd.DataFrame:
    """The statuses table, written whole or not at all; returns the frame for the summary."""
    from payrecon.cli._outputs import write_whole
    from payrecon.statuses._table import statuses_frame, write_statuses

    frame = statuses_frame(outcomes)
    write_whole(out, lambda tmp: write_statuses(frame, tmp))
    return frame


def _how_it_ended(args: argparse.Namespace, outcomes: list[FetchOutcome]) -> int:
    """Interrupted (130/143), the platform answered no id at all (3), or done (0); ids the store
    answered and ids refused by the id rule say nothing about the platform."""
    from payrecon.client._fetch import INTERRUPTED

    errors = [o.error for o in outcomes if not o.from_store and o.error != "invalid_id"]
    if INTERRUPTED in errors:
        print("payrecon: interrupted; ids not fetched are marked 'interrupted'", file=sys.stderr)
        return args.interrupts.exit_code()
    if errors and all(e == "transport_error" for e in errors):
        print("payrecon: platform: no answer for any id", file=sys.stderr)
        return EXIT_PLATFORM
    return EXIT_OK


__all__ = ["add_fetch_parser", "cmd_fetch"]
