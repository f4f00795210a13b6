"""The SQLite store: what the platform said about each payout, kept so reruns are incremental.

The platform answers one payout per call and has no list endpoint, so refetching payouts that are
already final is pure waste, and a run cut off halfway must not start over. A :class:`Store` keeps

* the latest detail of each payout (the parsed fields, and the raw JSON exactly as parsed),
* every status change, with when it was seen and whether a fetch or a callback brought it,
* every callback received (refused ones too, with why), and
* the register of ids payrecon knows of (created through it, named in callbacks, imported, fetched).

It satisfies :class:`payrecon.client.records.OutcomeSink`, so ``client.fetch(ids, sink=store)``
skips
payouts the store knows as final and commits each answer as it arrives.

Durability. Each :meth:`Store.record` is one short transaction, committed before it returns, in
SQLite's write-ahead-log mode with ``synchronous=NORMAL``: a process killed with SIGKILL loses
nothing it had recorded (the commit is in the log file the moment it returns). A power cut may
drop the last few commits; ``durable=True`` (``synchronous=FULL``) closes that too, at the cost of
an fsync per answer. Losing one only costs a refetch on the next run, never a wrong answer.

Concurrency. One :class:`Store` holds one connection guarded by a lock, so the fetching thread and
the callback receiver's threads may share it. Other processes (a notebook reading while a fetch
writes) open their own, ideally with :meth:`Store.open_readonly`: the write-ahead log lets readers
read a consistent snapshot while a writer commits. Two writers take turns; one that waits longer
than ``busy_timeout`` seconds gets a :class:`~payrecon.errors.StoreError` saying it is locked.

Scope. A store belongs to one platform base URL and one merchant code, written when it is created;
opening it for another raises :class:`~payrecon.errors.StoreError` naming both, so sandbox and live
data never mix. The merchant secret is never stored.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

import pandas as pd

from payrecon import __version__
from payrecon.client.records import FetchOutcome, PayoutDetail, UnreadableDetail, loads
from payrecon.errors import StoreError
from payrecon.platform import FINAL_STATUSES, is_valid_id
from payrecon.statuses._table import STRING, TIMESTAMP, conform
from payrecon.store._schema import MIGRATIONS, SCHEMA_VERSION, TABLES

Source = Literal["created", "callback", "imported", "fetched"]
SOURCES: Final = ("created", "callback", "imported", "fetched")

#: Where ``fetch`` and ``reconcile`` keep their store unless told otherwise (``interface.md``).
DEFAULT_STORE_PATH: Final = Path("payrecon.db")

#: Columns of ``payouts`` that :meth:`Store.statuses` reads, in order.
_ROW_COLUMNS: Final = (
    "id_payout",
    "status",
    "amount",
    "currency",
    "fee_amount",
    "fee_currency",
    "payment_method_code",
    "created_at",
    "processed_at",
    "is_test",
    "failure_reason_code",
    "http_status",
    "last_error",
    "last_http_status",
    "id_payment",
    "reference",
    "failure_message",
    "processor_status",
    "detail_fetched_at",
    "last_fetched_at",
)
#: Columns of :meth:`Store.history`, with their dtypes.
_HISTORY_COLUMNS: Final = {
    "id_payout": STRING,
    "seen_at": TIMESTAMP,
    "previous_status": STRING,
    "status": STRING,
    "source": STRING,
}
_CHUNK: Final = 500  # ids per IN (...) query, well under SQLite's bound on variables
_FINAL_SQL: Final = ",".join(f"'{s}'" for s in sorted(FINAL_STATUSES))


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def dumps_exact(value: Any) -> str:
    """JSON text for a body parsed by :func:`payrecon.client.records.loads`, ``Decimal`` kept exact.

    The standard encoder refuses ``Decimal``, and turning one into a float to please it would be
    the very rounding the store exists to avoid; so containers are walked here and each
    ``Decimal`` is written as the number it is.
    """
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{dumps_exact(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    return json.dumps(value)


#: Longest unreadable answer kept whole; a longer one keeps its first this many bytes.
_MAX_BODY: Final = 1 << 20


def _body_text(content: bytes) -> str:
    """An answer's body as text for the store: UTF-8 where it is, escapes where it is not."""
    return content[:_MAX_BODY].decode("utf-8", errors="backslashreplace")


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


class Store:
    """A payrecon store on disk (SQLite): open it, read it as DataFrames, feed it answers.

    Parameters
    ----------
    path
        The store file; created, with its schema, when it does not exist.
    base_url, merchant_code
        The platform and merchant this store belongs to. A new store records them; an existing
        one must match them (the trailing ``/`` of the URL does not count).
    busy_timeout
        Seconds to wait for another writer before giving up with :class:`StoreError`.
    durable
        ``True`` makes each commit survive a power cut too (``synchronous=FULL``), not only a
        killed process; slower, one fsync per answer.

    Examples
    --------
    >>> with Store("payrecon.db", base_url=client.base_url, merchant_code="M1") as store:
    ...     client.fetch(ids, sink=store)            # final payouts come from the store
    ...     store.statuses()                         # the statuses table, from_store=True
    """

    def __init__(
        self,
        path: str | Path,
        *,
        base_url: str,
        merchant_code: str,
        busy_timeout: float = 5.0,
        durable: bool = False,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.readonly = False
        self._lock = threading.RLock()
        self._conn = self._connect(readonly=False)
        try:
            with self._errors("opening"):
                self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
                self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._migrate(base_url.rstrip("/"), merchant_code)
                self.base_url, self.merchant_code = self._scope()
            self._check_scope(base_url.rstrip("/"), merchant_code)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open_readonly(cls, path: str | Path, *, busy_timeout: float = 5.0) -> Store:
        """Open an existing store only to read it (a notebook beside a running fetch).

        Its scope is read from the file, so no credentials are needed. Writing raises
        :class:`StoreError`.
        """
        self = cls.__new__(cls)
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.readonly = True
        self._lock = threading.RLock()
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no store there")
        self._conn = self._connect(readonly=True)
        try:
            with self._errors("opening"):
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0 or version > SCHEMA_VERSION:
                    self._check_version(version)
                self.base_url, self.merchant_code = self._scope()
        except BaseException:
            self._conn.close()
            raise
        return self

    # -- opening ---------------------------------------------------------------------------

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                conn = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=self.busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                _create_private(self.path)
                conn = sqlite3.connect(
                    self.path,
                    timeout=self.busy_timeout,
                    isolation_level=None,  # we say BEGIN and COMMIT ourselves
                    check_same_thread=False,  # shared across threads under self._lock
                )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from exc
        return conn

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: this store has schema version {version}, written by a newer "
                f"payrecon; this one (version {__version__}) reads up to {SCHEMA_VERSION}"
            )
        if version == 0:
            raise StoreError(f"{self.path}: not a payrecon store (it has no payrecon schema)")

    def _migrate(self, base_url: str, merchant_code: str) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            self._check_version(version)
        with self._tx():
            # Another process may have migrated between our read and our write lock.
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                names = {
                    r[0]
                    for r in self._conn.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                        " AND name NOT LIKE 'sqlite_%'"
                    )
                }
                if names:
                    raise StoreError(
                        f"{self.path}: not a payrecon store (it holds other tables: "
                        f"{', '.join(sorted(names)[:5])})"
                    )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if version == 0:
                self._conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("base_url", base_url),
                        ("merchant_code", merchant_code),
                        ("created_at", _iso(now_utc()) or ""),
                        ("created_by", f"payrecon {__version__}"),
                    ],
                )

    def _scope(self) -> tuple[str, str]:
        names = {
            r[0]
            for r in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if not names >= TABLES:
            raise StoreError(f"{self.path}: not a payrecon store (tables are missing)")
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        if "base_url" not in meta or "merchant_code" not in meta:
            raise StoreError(f"{self.path}: not a payrecon store (its scope is missing)")
        return meta["base_url"], meta["merchant_code"]

    def _check_scope(self, base_url: str, merchant_code: str) -> None:
        if (self.base_url, self.merchant_code) != (base_url, merchant_code):
            self._conn.close()
            raise StoreError(
                f"{self.path}: this store belongs to {self.base_url} (merchant "
                f"{self.merchant_code}), not to {base_url} (merchant {merchant_code}); "
                "use another --store path for this platform or merchant"
            )

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's errors into a :class:`StoreError` a person can act on."""
        try:
            yield
        except sqlite3.Error as exc:
            text = str(exc)
            low = text.lower()
            if "locked" in low or "busy" in low:
                msg = (
                    f"{self.path}: the store is locked by another writer (waited "
                    f"{self.busy_timeout:g} s while {doing}); let the other payrecon process "
                    "finish, or use another --store path"
                )
            elif "not a database" in low or "malformed" in low or "corrupt" in low:
                msg = (
                    f"{self.path}: not a payrecon store, or it is corrupted ({text}); move it "
                    "aside and run again to start a new store"
                )
            elif "readonly" in low or "read-only" in low:
                msg = f"{self.path}: the store is read-only here ({text})"
            else:
                msg = f"{self.path}: store error while {doing}: {text}"
            raise StoreError(msg) from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front so it never deadlocks."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; it cannot be written")
        if self._conn.in_transaction:
            # A write interrupted (Ctrl-C, SIGTERM) between its BEGIN and its ``try`` left its
            # transaction open; what it wrote was never committed, so it is dropped here.
            self._conn.execute("ROLLBACK")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            if self._conn.in_transaction:  # SQLite may have rolled back already
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """Lock, translate errors, and run one transaction: ``with self._write(...) as c:``."""
        with self._lock, self._errors(doing), self._tx() as conn:
            yield conn

    # -- writing ---------------------------------------------------------------------------

    def register(self, ids: Iterable[str], source: Source) -> int:
        """Add ids to the register of payouts payrecon knows of; returns how many were new.

        ``source`` says how payrecon learned of them: ``created`` (through it), ``callback``,
        ``imported`` (from a file) or ``fetched``. An id already known keeps its first source.
        Ids that break the platform's id rule cannot be payouts and are skipped.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        now = _iso(now_utc())
        rows = [(i, source, now) for i in dict.fromkeys(ids) if is_valid_id(i)]
        with self._write("registering ids") as c:
            before = c.total_changes
            c.executemany(
                "INSERT OR IGNORE INTO known_ids (id_payout, source, first_seen_at)"
                " VALUES (?, ?, ?)",
                rows,
            )
            return int(c.total_changes - before)

    def record(self, outcome: FetchOutcome, *, source: str = "fetch") -> None:
        """Keep one platform answer, committed before this returns (the ``OutcomeSink`` hook).

        A detail replaces the payout's latest detail and, when its status differs from the one
        stored, adds a status change seen now, and puts the id on the register (only a 200 does:
        an id the platform never confirmed is no payout). An error (``not_found``, a failed
        fetch) is noted as the payout's last error without dropping the detail it had. Answers
        served from the store, and ids that were never sent (``invalid_id``), are not recorded.
        """
        if outcome.from_store or not is_valid_id(outcome.id_payout):
            return
        if outcome.detail is None and outcome.http_status is None and outcome.error == "invalid_id":
            return
        now = _iso(now_utc())
        pid = outcome.id_payout
        with self._write("recording an answer") as c:
            d = outcome.detail
            if outcome.unreadable is not None:
                c.execute(
                    "INSERT INTO unreadable_answers (id_payout, received_at, http_status, body)"
                    " VALUES (?, ?, ?, ?)",
                    (pid, now, outcome.http_status, _body_text(outcome.unreadable)),
                )
            if d is not None:  # only the platform's 200 puts an id on the register
                c.execute(
                    "INSERT OR IGNORE INTO known_ids (id_payout, source, first_seen_at)"
                    " VALUES (?, ?, ?)",
                    (pid, "callback" if source == "callback" else "fetched", now),
                )
            if d is None:
                c.execute(
                    "INSERT INTO payouts (id_payout, last_error, last_http_status,"
                    " last_fetched_at) VALUES (?, ?, ?, ?) ON CONFLICT (id_payout) DO UPDATE SET"
                    " last_error=excluded.last_error, last_http_status=excluded.last_http_status,"
                    " last_fetched_at=excluded.last_fetched_at",
                    (pid, outcome.error or "error", outcome.http_status, now),
                )
                return
            row = c.execute("SELECT status FROM payouts WHERE id_payout=?", (pid,)).fetchone()
            previous = None if row is None else row[0]
            values = (
                pid,
                d.status,
                _dec(d.amount),
                d.currency,
                _dec(d.fee_amount),
                d.fee_currency,
                d.payment_method_code,
                d.id_payment,
                d.reference,
                _iso(d.created_at),
                _iso(d.processed_at),
                None if d.is_test is None else int(d.is_test),
                d.failure_reason_code,
                d.failure_message,
                _iso(d.failed_at),
                d.processor_status,
                dumps_exact(d.raw),
                outcome.http_status,
                now,
                "",
                outcome.http_status,
                now,
            )
            c.execute(_UPSERT_DETAIL, values)
            if previous != d.status:
                c.execute(
                    "INSERT INTO status_changes (id_payout, previous_status, status, seen_at,"
                    " source) VALUES (?, ?, ?, ?, ?)",
                    (pid, previous, d.status, now, source),
                )

    def record_run(
        self,
        *,
        name: str,
        started_at: datetime,
        ledger: str | None,
        rows: int,
        counts: Mapping[str, int],
        open_items: Sequence[tuple[str, str | None, int | None, str, str, str, int]],
        keep_runs: int = 60,
    ) -> int:
        """Keep one reconcile run and the exceptions open at it; returns the run's number.

        ``open_items`` are ``(key, id_payout, source_row, category, issues, open_since,
        runs_open)`` (see :mod:`payrecon.core._changes`). Runs are kept for ever; the open
        exceptions
        only of the last ``keep_runs`` runs of each name (only the latest is read).
        """
        with self._write("recording a run") as c:
            cur = c.execute(
                "INSERT INTO runs (name, started_at, ledger, rows, exceptions, counts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, _iso(started_at), ledger, rows, len(open_items), json.dumps(dict(counts))),
            )
            seq = int(cur.lastrowid or 0)
            c.executemany(
                "INSERT INTO run_exceptions (run_seq, key, id_payout, source_row, category,"
                " issues, open_since, runs_open) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(seq, *item) for item in open_items],
            )
            c.execute(
                "DELETE FROM run_exceptions WHERE run_seq IN (SELECT seq FROM runs WHERE name=?"
                " ORDER BY seq DESC LIMIT -1 OFFSET ?)",
                (name, keep_runs),
            )
            return seq

    def last_run(
        self, name: str
    ) -> tuple[datetime, list[tuple[str, str | None, int | None, str, str, str, int]]] | None:
        """When the latest run of ``name`` started and the exceptions open at it (the tuples of
        :meth:`record_run`), or ``None`` when no run of that name was recorded."""
        rows = self._read(
            "SELECT seq, started_at FROM runs WHERE name=? ORDER BY seq DESC LIMIT 1", (name,)
        )
        if not rows:
            return None
        seq, started = rows[0]
        items = self._read(
            "SELECT key, id_payout, source_row, category, issues, open_since, runs_open"
            " FROM run_exceptions WHERE run_seq=? ORDER BY rowid",
            (seq,),
        )
        return datetime.fromisoformat(started), [tuple(r) for r in items]

    def runs(self, name: str | None = None) -> pd.DataFrame:
        """The recorded reconcile runs (one name's, or all), oldest first: ``name``,
        ``started_at``, ``ledger``, ``rows``, ``exceptions``, ``counts`` (JSON text)."""
        sql = "SELECT name, started_at, ledger, rows, exceptions, counts FROM runs"
        rows = (
            self._read(sql + " ORDER BY seq")
            if name is None
            else self._read(sql + " WHERE name=? ORDER BY seq", (name,))
        )
        columns = {
            "name": STRING,
            "started_at": TIMESTAMP,
            "ledger": STRING,
            "rows": "Int64",
            "exceptions": "Int64",
            "counts": STRING,
        }
        return _frame(rows, columns)

    def record_callback(
        self,
        id_payout: str | None,
        received_at: datetime,
        body_text: str,
        remote: str = "",
        *,
        error: str = "",
    ) -> int:
        """Keep one callback as received; returns its sequence number.

        ``error`` is empty for an accepted callback, else why it was refused (then ``id_payout``
        may be ``None``). A callback is a hint, never a fact: it does not put its id on the
        register; the platform's 200 for the fetch that follows does (:meth:`record`).
        """
        with self._write("recording a callback") as c:
            cur = c.execute(
                "INSERT INTO callbacks (id_payout, received_at, remote, body, error)"
                " VALUES (?, ?, ?, ?, ?)",
                (id_payout, _iso(received_at), remote, body_text, error),
            )
            return int(cur.lastrowid or 0)

    def remember_pace(self, limit: float) -> None:
        """Keep the rate limit a fetch met (calls a second), for the next fetch to start from
        (``PaceMemory``; the client's pacer explains why). One value per store: a store is one
        platform and one merchant, and the limit is the merchant's."""
        if not math.isfinite(limit) or limit <= 0:
            return
        rows = [("pace_limit", f"{limit:.1f}"), ("pace_learned_at", _iso(now_utc()) or "")]
        with self._write("remembering the pace") as conn:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)

    # -- reading ---------------------------------------------------------------------------

    def learned_pace(self) -> float | None:
        """The rate limit the last fetch met, or ``None`` (``PaceMemory``)."""
        rows = self._read("SELECT value FROM meta WHERE key='pace_limit'")
        try:
            limit = float(rows[0][0]) if rows else math.nan
        except ValueError:
            return None
        return limit if math.isfinite(limit) and limit > 0 else None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors("reading"):
            return self._conn.execute(sql, params).fetchall()

    def _read_for(self, sql: str, id_payout: str | None) -> list[tuple[Any, ...]]:
        """``sql`` in sequence order, for one payout or for all."""
        if id_payout is None:
            return self._read(sql + " ORDER BY seq")
        return self._read(sql + " WHERE id_payout=? ORDER BY seq", (id_payout,))

    def known_final(self, ids: Sequence[str]) -> dict[str, PayoutDetail]:
        """The stored details of those ``ids`` whose latest status is final (``OutcomeSink``).

        Details are rebuilt from the raw JSON kept, so they equal what the platform's answer
        parsed to when it was received.
        """
        out: dict[str, PayoutDetail] = {}
        wanted = [i for i in dict.fromkeys(ids) if isinstance(i, str)]
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT id_payout, raw_json FROM payouts WHERE id_payout IN ({marks})"  # noqa: S608
                f" AND status IN ({_FINAL_SQL}) AND raw_json IS NOT NULL",
                chunk,
            )
            for pid, raw in rows:
                detail = _stored_detail(pid, raw)
                if detail is not None:
                    out[pid] = detail
        return out

    def detail(self, id_payout: str) -> PayoutDetail | None:
        """The latest detail stored for one payout, or ``None``."""
        rows = self._read("SELECT raw_json FROM payouts WHERE id_payout=?", (id_payout,))
        if not rows or rows[0][0] is None:
            return None
        return _stored_detail(id_payout, rows[0][0])

    def unreadable_answers(self, id_payout: str | None = None) -> pd.DataFrame:
        """Answers the client could not read (``bad_response`` rows), as received."""
        rows = self._read_for(
            "SELECT seq, id_payout, received_at, http_status, body FROM unreadable_answers",
            id_payout,
        )
        columns = {
            "seq": "Int64",
            "id_payout": STRING,
            "received_at": TIMESTAMP,
            "http_status": "Int64",
            "body": STRING,
        }
        return _frame(rows, columns)

    def known_ids(self, source: Source | None = None) -> list[str]:
        """Every id in the register, first seen first (``reconcile --include-known``)."""
        if source is None:
            rows = self._read("SELECT id_payout FROM known_ids ORDER BY seq")
        else:
            rows = self._read(
                "SELECT id_payout FROM known_ids WHERE source=? ORDER BY seq", (source,)
            )
        return [r[0] for r in rows]

    def statuses(
        self, ids: Sequence[str] | None = None, *, fetched_at: bool = False
    ) -> pd.DataFrame:
        """The statuses table from the latest answers kept, with ``from_store=True``.

        Parameters
        ----------
        ids
            Only these ids, in this order (ids the store never saw are left out); default every
            payout the store has an answer for, in the order payrecon first learned of them (ids
            the platform never confirmed, such as ``not_found`` ones, last).
        fetched_at
            Add a ``fetched_at`` column: when the answer shown was received.
        """
        cols = ", ".join(f"p.{c}" for c in _ROW_COLUMNS) + ", p.raw_json IS NOT NULL"
        if ids is None:
            rows = self._read(
                f"SELECT {cols} FROM payouts p LEFT JOIN known_ids k USING (id_payout)"  # noqa: S608
                " ORDER BY k.seq IS NULL, k.seq, p.last_fetched_at, p.id_payout"
            )
        else:
            wanted = list(dict.fromkeys(ids))
            found: dict[str, tuple[Any, ...]] = {}
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                for r in self._read(
                    f"SELECT {cols} FROM payouts p WHERE p.id_payout IN ({marks})",  # noqa: S608
                    chunk,
                ):
                    found[r[0]] = r
            rows = [found[i] for i in wanted if i in found]
        names = [*_ROW_COLUMNS, "has_detail"]
        data: dict[str, list[Any]] = {n: [r[i] for r in rows] for i, n in enumerate(names)}
        has = data.pop("has_detail")
        last_error, last_http = data.pop("last_error"), data.pop("last_http_status")
        detail_at, last_at = data.pop("detail_fetched_at"), data.pop("last_fetched_at")
        data["http_status"] = [
            h if d else lh for h, lh, d in zip(data["http_status"], last_http, has, strict=True)
        ]
        data["error"] = ["" if d else e for e, d in zip(last_error, has, strict=True)]
        data["is_test"] = [None if v is None else bool(v) for v in data["is_test"]]
        data["from_store"] = [True] * len(rows)
        frame = conform(data)
        if fetched_at:
            when = [a if d else b for a, b, d in zip(detail_at, last_at, has, strict=True)]
            frame["fetched_at"] = pd.to_datetime(
                pd.Series(when, dtype=object), utc=True, format="ISO8601"
            ).astype(TIMESTAMP)
        return frame

    def history(self, id_payout: str | None = None) -> pd.DataFrame:
        """Status changes seen (one payout's, or all), oldest first.

        Columns: ``id_payout``, ``seen_at`` (UTC), ``previous_status`` (missing for the first
        status seen), ``status``, ``source`` (``fetch`` or ``callback``: what brought it).
        """
        sql = "SELECT id_payout, seen_at, previous_status, status, source FROM status_changes"
        return _frame(self._read_for(sql, id_payout), _HISTORY_COLUMNS)

    def final_flip_history(self) -> pd.DataFrame:
        """The status history (columns of :meth:`history`) of only those payouts seen in two
        different final statuses: what :mod:`payrecon.core._regressions` reads, without loading the
        history of every payout."""
        sql = (
            "SELECT id_payout, seen_at, previous_status, status, source FROM status_changes"  # noqa: S608
            " WHERE id_payout IN (SELECT id_payout FROM status_changes"
            f" WHERE status IN ({_FINAL_SQL}) GROUP BY id_payout"
            " HAVING COUNT(DISTINCT status) > 1) ORDER BY seq"
        )
        return _frame(self._read(sql), _HISTORY_COLUMNS)

    def callbacks(self, id_payout: str | None = None) -> pd.DataFrame:
        """Callbacks received (one payout's, or all), oldest first.

        Columns: ``id_payout``, ``received_at`` (UTC), ``remote`` (the sender's address),
        ``body`` (as received), ``error`` (empty when accepted, else why it was refused).
        """
        sql = "SELECT id_payout, received_at, remote, body, error FROM callbacks"
        rows = self._read_for(sql, id_payout)
        return _frame(
            rows,
            {
                "id_payout": STRING,
                "received_at": TIMESTAMP,
                "remote": STRING,
                "body": STRING,
                "error": STRING,
            },
        )

    def pending_callback_ids(self) -> list[str]:
        """Ids with an accepted callback newer than the last fetch of their detail.

        A receiver that stopped between recording a callback and fetching the payout picks
        these up when it starts again, so no callback's news is lost.
        """
        rows = self._read(
            "SELECT c.id_payout FROM callbacks c LEFT JOIN payouts p USING (id_payout)"
            " WHERE c.error = '' AND c.id_payout IS NOT NULL GROUP BY c.id_payout"
            " HAVING MAX(c.received_at) > COALESCE(MAX(p.last_fetched_at), '')"
            " ORDER BY MIN(c.seq)"
        )
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        """How many rows each part of the store holds (known ids, payouts, changes, callbacks)."""
        out = {}
        for table in ("known_ids", "payouts", "status_changes", "callbacks"):
            out[table] = int(self._read(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608
        return out

    # -- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = ", read-only" if self.readonly else ""
        return (
            f"Store({str(self.path)!r}, base_url={self.base_url!r}, "
            f"merchant_code={self.merchant_code!r}{mode})"
        )


_UPSERT_DETAIL: Final = (
    "INSERT INTO payouts (id_payout, status, amount, currency, fee_amount, fee_currency,"
    " payment_method_code, id_payment, reference, created_at, processed_at, is_test,"
    " failure_reason_code, failure_message, failed_at, processor_status, raw_json, http_status,"
    " detail_fetched_at, last_error, last_http_status, last_fetched_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id_payout) DO UPDATE SET status=excluded.status, amount=excluded.amount,"
    " currency=excluded.currency, fee_amount=excluded.fee_amount,"
    " fee_currency=excluded.fee_currency, payment_method_code=excluded.payment_method_code,"
    " id_payment=excluded.id_payment, reference=excluded.reference,"
    " created_at=excluded.created_at, processed_at=excluded.processed_at,"
    " is_test=excluded.is_test, failure_reason_code=excluded.failure_reason_code,"
    " failure_message=excluded.failure_message, failed_at=excluded.failed_at,"
    " processor_status=excluded.processor_status, raw_json=excluded.raw_json,"
    " http_status=excluded.http_status, detail_fetched_at=excluded.detail_fetched_at,"
    " last_error=excluded.last_error, last_http_status=excluded.last_http_status,"
    " last_fetched_at=excluded.last_fetched_at"
)


def _stored_detail(id_payout: str, raw: str) -> PayoutDetail | None:
    """A detail rebuilt from the JSON kept; ``None`` (fetch it again) if this payrecon cannot
    read what an older one stored."""
    try:
        return PayoutDetail.from_json(id_payout, loads(raw))
    except (UnreadableDetail, ValueError):
        return None


def _frame(rows: list[tuple[Any, ...]], columns: dict[str, Any]) -> pd.DataFrame:
    data = {name: [r[i] for r in rows] for i, name in enumerate(columns)}
    out: dict[str, pd.Series] = {}
    for name, dtype in columns.items():
        values = pd.Series(data[name], dtype=object)
        if dtype == TIMESTAMP:
            out[name] = pd.to_datetime(values, utc=True, format="ISO8601").astype(TIMESTAMP)
        else:
            out[name] = values.astype(dtype)
    return pd.DataFrame(out)


def _create_private(path: Path) -> None:
    """Create an empty store file readable and writable by its owner only (0600).

    A store holds what the platform said about every payout and the callbacks strangers sent, so
    nobody else on the machine should read it. SQLite gives the ``-wal`` and ``-shm`` files it
    makes beside it the same permissions. An existing file is left as it is.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # let sqlite3 report why the path cannot be opened
    os.close(fd)


def open_store(
    path: Path | None, *, base_url: str, merchant_code: str, busy_timeout: float = 5.0
) -> Store | None:
    """The store a command should use: ``None`` when ``path`` is ``None`` (``--no-store``)."""
    if path is None:
        return None
    return Store(path, base_url=base_url, merchant_code=merchant_code, busy_timeout=busy_timeout)


__all__ = ["DEFAULT_STORE_PATH", "SOURCES", "Store", "dumps_exact", "open_store"]
