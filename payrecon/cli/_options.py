"""Options that several commands share, so each is spelled and explained once.

Each command's module adds its own options (``add_<command>_parser``); these are the ones a
command takes because it talks to the platform or keeps a store.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    #: What ``build_parser`` hands each ``add_<command>_parser``: the ``COMMAND`` choices.
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def add_platform_options(p: argparse.ArgumentParser) -> None:
    """``--base-url``: every command that calls the platform takes it (interface.md)."""
    p.add_argument("--base-url", help="platform base URL or preset (default: $PAYRECON_BASE_URL)")


def add_store_options(p: argparse.ArgumentParser) -> None:
    """``--store``, ``--no-store``, ``--refresh``: the commands that fetch keep what they fetch."""
    p.add_argument("--store", type=Path, default=Path("payrecon.db"), help="SQLite store path")
    p.add_argument("--no-store", action="store_true", help="do not read or write a store")
    p.add_argument(
        "--refresh", action="store_true", help="refetch payouts the store knows as final"
    )


__all__ = ["add_platform_options", "add_store_options"]
