"""SIGTERM handled as Ctrl-C is: the run stops, writes what it has, and says which it was.

Cron timeouts, ``systemd stop``, ``docker stop`` and ``kill`` send SIGTERM; Python's default
for it is to die on the spot, which left a fetch without its table where Ctrl-C wrote one.
Inside :func:`terminate_as_interrupt`, SIGTERM raises :class:`Terminated`, a
``KeyboardInterrupt``, so every path that copes with Ctrl-C (the bulk fetch returns what it
has, ids not fetched say ``interrupted``; the store keeps every answer) copes with it too. The
exit code tells the two apart, as shells do: 128 + the signal's number, 130 for SIGINT and
143 for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as after Ctrl-C."""


@dataclass
class Interrupts:
    """Which stopping signal arrived last (``None`` when none did, or only Ctrl-C)."""

    signal: int | None = None

    def exit_code(self) -> int:
        """128 + the signal's number: 143 for SIGTERM, 130 for Ctrl-C (SIGINT)."""
        return 128 + (self.signal or signal.SIGINT)


@contextmanager
def terminate_as_interrupt() -> Iterator[Interrupts]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread."""
    seen = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield seen  # only the main thread may set handlers; callers there get the default
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        seen.signal = signum
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["Interrupts", "Terminated", "terminate_as_interrupt"]
