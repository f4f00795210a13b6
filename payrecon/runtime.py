"""Process settings for a big run: arrow's memory pool, and the switch for speed tricks.

A million-row reconciliation allocates and frees a few hundred large columns. mimalloc (arrow's
default on Linux) gives freed pages back to the system at once, so each next column faults fresh
pages in again; on a virtual machine that is the slowest part of the run. jemalloc keeps freed
pages and reuses them: the command runs about a fifth faster (``bench/reconcile.py --each``).

Every speed trick costs code a reader has to get past, so each one must show its worth on the
bench: ``PAYRECON_SPEED_OFF=name[,name]`` switches the named ones off (the results are the same,
only slower), and ``bench/reconcile.py --each`` runs the command with each off in turn beside the
normal run. A trick worth less than 5% of the million-row run is removed, switch and all;
``docs/performance.md`` has the measured table, kept and removed.
"""

from __future__ import annotations

import contextlib
import os

from payrecon.errors import ConfigError

#: The environment variable that names speed tricks to switch off, comma-separated.
SPEED_OFF = "PAYRECON_SPEED_OFF"

#: Every speed trick still in the code, with where it lives (``docs/performance.md``: its worth).
TRICKS: dict[str, str] = {
    "jemalloc": "arrow allocates from jemalloc (runtime.reuse_freed_memory)",
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


def reuse_freed_memory() -> None:
    """Make jemalloc arrow's default pool, unless ``ARROW_DEFAULT_MEMORY_POOL`` chose one.

    Arrays already allocated stay valid (each remembers its pool). A pyarrow built without
    jemalloc (Windows wheels) keeps its default.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or not speed_trick("jemalloc"):
        return
    import pyarrow as pa

    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


__all__ = [
    "SPEED_OFF",
    "TRICKS",
    "reuse_freed_memory",
    "speed_trick",
    "switched_off",
]
