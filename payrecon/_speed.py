"""The one switch that turns each speed trick off: ``PAYRECON_SPEED_OFF=name[,name]``.

Every trick costs code a reader has to get past, so each one must show its worth on the bench:
switched off, the results are the same, only slower, and ``bench/reconcile.py --each`` runs the
command with each off in turn beside the normal run (``docs/performance.md`` has the table).
Kept apart from the command line so that the core, which reads it, depends on nothing above it.
"""

from __future__ import annotations

import os

from payrecon.errors import ConfigError

#: The environment variable that names speed tricks to switch off, comma-separated.
SPEED_OFF = "PAYRECON_SPEED_OFF"

#: Every speed trick, with where it lives. ``docs/performance.md`` gives what each is worth.
TRICKS: dict[str, str] = {
    "jemalloc": "arrow allocates from jemalloc (runtime.reuse_freed_memory)",
    "early_statuses": "a thread parses the statuses CSV while the ledger is read (cli._reconcile)",
    "side_imports": "a thread imports the report modules while the core runs (cli._reconcile)",
    "parallel_write": "the CSV files are written beside report.html (cli._reconcile)",
    "aligned_match": "a statuses table in ledger order is matched without a join (core._match)",
    "parallel_csv": "big CSVs are serialised in slices on two threads (csvout)",
}


def speed_trick(name: str) -> bool:
    """Whether the speed trick ``name`` is on: all are, unless ``PAYRECON_SPEED_OFF`` names it.

    Read at each use (a dictionary look-up), so tests and the bench can set it per run.
    """
    if name not in TRICKS:
        raise ValueError(f"no speed trick {name!r}")  # a typo in payrecon itself
    return name not in switched_off()


def switched_off() -> frozenset[str]:
    """The tricks ``PAYRECON_SPEED_OFF`` names; a name that is no trick is a ConfigError."""
    names = {n.strip() for n in os.environ.get(SPEED_OFF, "").split(",") if n.strip()}
    unknown = sorted(names - TRICKS.keys())
    if unknown:
        raise ConfigError(
            f"{SPEED_OFF}: no speed trick {', '.join(unknown)}; known: {', '.join(TRICKS)}"
        )
    return frozenset(names)


__all__ = ["SPEED_OFF", "TRICKS", "speed_trick", "switched_off"]
