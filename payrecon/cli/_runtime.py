"""Process settings for a big run: arrow's memory pool, slow imports done on the side, and the
one switch that turns each speed trick off.

A million-row reconciliation allocates and frees a few hundred large columns. mimalloc (arrow's
default on Linux) gives freed pages back to the system at once, so each next column faults fresh
pages in again; on a virtual machine that is the slowest part of the run. jemalloc keeps freed
pages and reuses them: about a second less system time on a million rows (``bench/reconcile.py``).

The report's charts need matplotlib, a quarter of a second to import. While the tables are
reconciled (mostly arrow, outside the GIL, and mostly on one core) a thread imports it; while the
files are read both cores are busy already.

Every trick costs code a reader has to get past, so each one must show its worth on the bench:
``PAYRECON_SPEED_OFF=name[,name]`` switches the named ones off (the results are the same, only
slower), and ``bench/reconcile.py --each`` runs the command with each off in turn beside the
normal run. ``docs/performance.md`` has the measured table.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading

from payrecon._speed import SPEED_OFF, TRICKS, speed_trick, switched_off


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


def import_on_the_side(*modules: str) -> threading.Thread:
    """Start importing ``modules`` in a daemon thread; a later ``import`` waits for it or finds
    it done. An import that fails here is left for that later ``import`` to raise."""

    def run() -> None:
        for name in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)

    thread = threading.Thread(target=run, name="payrecon-imports", daemon=True)
    thread.start()
    return thread


__all__ = [
    "SPEED_OFF",
    "TRICKS",
    "import_on_the_side",
    "reuse_freed_memory",
    "speed_trick",
    "switched_off",
]
