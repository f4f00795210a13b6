"""Arrow's memory pool for a big run: jemalloc, which reuses the pages it frees.

A million-row reconciliation allocates and frees a few hundred large columns. mimalloc (arrow's
default on Linux) gives freed pages back to the system at once, so each next column faults fresh
pages in again; on a virtual machine that is the slowest part of the run. jemalloc keeps freed
pages and reuses them: about a second less system time on a million rows (``bench/reconcile.py``).
"""

from __future__ import annotations

import contextlib
import os

import pyarrow as pa


def reuse_freed_memory() -> None:
    """Make jemalloc arrow's default pool, unless ``ARROW_DEFAULT_MEMORY_POOL`` chose one.

    Arrays already allocated stay valid (each remembers its pool). A pyarrow built without
    jemalloc (Windows wheels) keeps its default.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


__all__ = ["reuse_freed_memory"]
