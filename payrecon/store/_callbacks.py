"""The callback receiver's part of the store: parked ids, refused bodies under a cap, counters.

Kept apart from :mod:`payrecon.store._store` (which keeps what the platform *said*) because all of
this
is about what strangers *sent*, and every table here is bounded:

* ``parked_callbacks``: unknown, unsigned ids waiting for the platform to confirm them, one row
  per id (repeats only bump a count), at most the receiver's parking capacity;
* refused and rejected callbacks (``callbacks`` rows with an ``error``): bodies cut to
  :data:`KEPT_BODY` characters, and the oldest dropped once they pass ``refused_cap`` bytes, so
  one client sending junk cannot fill the disk;
* ``callback_counters``: what the receiver counted over its life (``payrecon callbacks --stats``).

:meth:`CallbackBook.is_known` runs on the receiver's event loop for every callback, so it has a
read-only connection of its own: SQLite's write-ahead log lets it read while the store's
connection writes, and it never waits for the store's lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from payrecon.client.records import FetchOutcome
from payrecon.errors import StoreError
from payrecon.store._store import Store, _iso, now_utc

#: Characters of a refused body that are kept (enough to see what was sent).
KEPT_BODY: Final = 1024
#: What one refused row costs besides its body, for the cap (row, index entries, timestamps).
ROW_OVERHEAD: Final = 128
_COST: Final = f"length(body) + {ROW_OVERHEAD}"
#: Drop the oldest refused rows beyond ``?`` bytes (newest kept first).
_TRIM: Final = (
    "DELETE FROM callbacks WHERE seq IN (SELECT seq FROM (SELECT seq,"  # noqa: S608
    f" SUM({_COST}) OVER (ORDER BY seq DESC) AS kept FROM callbacks"
    " WHERE error != '') WHERE kept > ?)"
)


@dataclass(frozen=True, slots=True)
class ParkedCallback:
    """An unknown id's callbacks, waiting for the platform to confirm the id."""

    id_payout: str
    first_at: datetime
    last_at: datetime
    repeats: int = 1
    remote: str = ""
    body: str = ""


@dataclass(frozen=True, slots=True)
class RefusedCallback:
    """A callback answered 4xx (or an id the platform rejected), as it will be kept."""

    received_at: datetime
    body: str
    remote: str
    reason: str
    id_payout: str | None = None


class CallbackBook:
    """The receiver's reads and writes on one :class:`~payrecon.store._store.Store`."""

    def __init__(self, store: Store, *, refused_cap: int = 4 * 1024 * 1024) -> None:
        self.store = store
        self.refused_cap = refused_cap
        self._lookup_lock = threading.Lock()
        try:
            uri = f"{store.path.resolve().as_uri()}?mode=ro"
            self._lookup = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{store.path}: cannot open the store to read ({exc})") from exc
        self._refused_bytes = int(
            store._read(f"SELECT COALESCE(SUM({_COST}), 0) FROM callbacks WHERE error != ''")[0][0]  # noqa: S608
        )

    # -- reading ---------------------------------------------------------------------------

    def is_known(self, id_payout: str) -> bool:
        """Whether the id is on the store's register (a payout payrecon knows is real)."""
        try:
            with self._lookup_lock:
                row = self._lookup.execute(
                    "SELECT 1 FROM known_ids WHERE id_payout=?", (id_payout,)
                ).fetchone()
        except sqlite3.Error:
            return False  # treated as unknown: confirmed by the platform, within the budget
        return row is not None

    def parked(self, limit: int) -> list[ParkedCallback]:
        """Parked callbacks left by an earlier run, oldest first (at most ``limit``)."""
        rows = self.store._read(
            "SELECT id_payout, first_at, last_at, repeats, remote FROM parked_callbacks"
            " ORDER BY first_at LIMIT ?",
            (limit,),
        )
        return [
            ParkedCallback(
                r[0], datetime.fromisoformat(r[1]), datetime.fromisoformat(r[2]), r[3], r[4]
            )
            for r in rows
        ]

    @property
    def refused_bytes(self) -> int:
        return self._refused_bytes

    # -- writing ---------------------------------------------------------------------------

    def keep_refused(self, refused: Iterable[RefusedCallback]) -> int:
        """Keep refused callbacks (bodies cut short), then drop the oldest past the cap.

        Returns how many rows were dropped to stay under the cap.
        """
        rows = [
            (r.id_payout, _iso(r.received_at), r.remote, r.body[:KEPT_BODY], r.reason)
            for r in refused
        ]
        if not rows:
            return 0
        with self.store._write("keeping refused callbacks") as c:
            c.executemany(
                "INSERT INTO callbacks (id_payout, received_at, remote, body, error)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            self._refused_bytes += sum(len(r[3]) + ROW_OVERHEAD for r in rows)
            if self._refused_bytes <= self.refused_cap:
                return 0
            keep = int(self.refused_cap * 0.9)  # trim in steps, not on every row
            before = c.total_changes
            c.execute(_TRIM, (keep,))
            dropped = int(c.total_changes - before)
            self._refused_bytes = int(
                c.execute(
                    f"SELECT COALESCE(SUM({_COST}), 0) FROM callbacks WHERE error != ''"  # noqa: S608
                ).fetchone()[0]
            )
            return dropped

    def keep_parked(self, upserts: Iterable[ParkedCallback], gone: Iterable[str]) -> None:
        """Bring the parked table up to date with the receiver's parking area, in one commit."""
        ups = [
            (p.id_payout, _iso(p.first_at), _iso(p.last_at), p.repeats, p.remote) for p in upserts
        ]
        dels = [(i,) for i in gone]
        if not ups and not dels:
            return
        with self.store._write("keeping parked callbacks") as c:
            c.executemany("DELETE FROM parked_callbacks WHERE id_payout=?", dels)
            c.executemany(
                "INSERT INTO parked_callbacks (id_payout, first_at, last_at, repeats, remote)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id_payout) DO UPDATE SET"
                " last_at=excluded.last_at, repeats=excluded.repeats",
                ups,
            )

    def settle(self, parked: ParkedCallback, outcome: FetchOutcome) -> bool:
        """What the platform said about a parked id: a payout (200), or a rejected callback.

        A 200 records the detail (which puts the id on the register) and the callback as
        accepted; anything else keeps the callback as rejected with the fetch's error word
        (``not_found`` for 410), under the refused cap, and no payout. Returns True on a 200.
        """
        confirmed = outcome.detail is not None
        if confirmed:
            self.store.record(outcome, source="callback")
            with self.store._write("recording a confirmed callback") as c:
                c.execute(
                    "INSERT INTO callbacks (id_payout, received_at, remote, body, error)"
                    " VALUES (?, ?, ?, ?, '')",
                    (parked.id_payout, _iso(parked.first_at), parked.remote, parked.body),
                )
                c.execute("DELETE FROM parked_callbacks WHERE id_payout=?", (parked.id_payout,))
            return True
        self.keep_refused(
            [
                RefusedCallback(
                    parked.first_at,
                    parked.body,
                    parked.remote,
                    outcome.error or "error",
                    parked.id_payout,
                )
            ]
        )
        with self.store._write("forgetting a parked callback") as c:
            c.execute("DELETE FROM parked_callbacks WHERE id_payout=?", (parked.id_payout,))
        return False

    def reject_accepted(self, id_payout: str, reason: str) -> None:
        """Mark the accepted callbacks of ``id_payout`` rejected (the platform has no such id)."""
        with self.store._write("rejecting callbacks") as c:
            c.execute(
                "UPDATE callbacks SET error=? WHERE id_payout=? AND error=''", (reason, id_payout)
            )

    def add_counters(self, deltas: Mapping[str, int]) -> None:
        """Add the receiver's counts since the last call to the store's lifetime totals."""
        rows = [(k, v) for k, v in deltas.items() if v]
        if not rows:
            return
        with self.store._write("counting callbacks") as c:
            c.executemany(
                "INSERT INTO callback_counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                rows,
            )

    def close(self) -> None:
        with self._lookup_lock:
            self._lookup.close()


def callback_report(store: Store) -> dict[str, int]:
    """Lifetime counters of the receiver on this store, with what the store holds now.

    Works on a store opened read-only, and on one written by an older payrecon (no counters).
    """
    out: dict[str, int] = {}
    tables = {r[0] for r in store._read("SELECT name FROM sqlite_master WHERE type='table'")}
    if "callback_counters" in tables:
        out.update({k: int(v) for k, v in store._read("SELECT name, value FROM callback_counters")})
    out["stored_parked"] = (
        int(store._read("SELECT COUNT(*) FROM parked_callbacks")[0][0])
        if "parked_callbacks" in tables
        else 0
    )
    refused = store._read(
        f"SELECT COUNT(*), COALESCE(SUM({_COST}), 0) FROM callbacks WHERE error != ''"  # noqa: S608
    )[0]
    out["stored_refused"], out["stored_refused_bytes"] = int(refused[0]), int(refused[1])
    out["stored_accepted"] = int(
        store._read("SELECT COUNT(*) FROM callbacks WHERE error = ''")[0][0]
    )
    return out


__all__ = [
    "KEPT_BODY",
    "CallbackBook",
    "ParkedCallback",
    "RefusedCallback",
    "callback_report",
    "now_utc",
]
