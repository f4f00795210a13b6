"""The store's tables, and the migrations that bring an older store file up to date.

The schema version lives in ``PRAGMA user_version``: 0 is a file no payrecon has touched, and
``len(MIGRATIONS)`` is the version this payrecon writes. Each migration is a list of statements
run in one transaction together with the ``user_version`` bump, so a store is never left half
migrated. Append to ``MIGRATIONS``; never edit one that has shipped.

Money is ``TEXT`` holding the platform's decimal exactly as parsed (``str(Decimal)``), never
``REAL``: SQLite's REAL is a binary float. Timestamps are ISO 8601 text in UTC, which sorts in time
order. The merchant secret has no column anywhere: a store is scoped by base URL and merchant code.
"""

from __future__ import annotations

from typing import Final

_V1: Final = [
    # One row per store: which platform and merchant it belongs to, so sandbox and live data
    # never mix in one file.
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    # The register of every id payrecon knows of, and how it first learned of it.
    """CREATE TABLE known_ids (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id_payout     TEXT NOT NULL UNIQUE,
        source        TEXT NOT NULL,
        first_seen_at TEXT NOT NULL
    )""",
    # The latest answer the platform gave for each payout. The detail columns hold the latest
    # detail (200) and are kept when a later fetch fails; last_error says what that failure was.
    """CREATE TABLE payouts (
        id_payout           TEXT PRIMARY KEY,
        status              TEXT,
        amount              TEXT,
        currency            TEXT,
        fee_amount          TEXT,
        fee_currency        TEXT,
        payment_method_code TEXT,
        id_payment          TEXT,
        reference           TEXT,
        created_at          TEXT,
        processed_at        TEXT,
        is_test             INTEGER,
        failure_reason_code TEXT,
        failure_message     TEXT,
        failed_at           TEXT,
        processor_status    TEXT,
        raw_json            TEXT,
        http_status         INTEGER,
        detail_fetched_at   TEXT,
        last_error          TEXT NOT NULL DEFAULT '',
        last_http_status    INTEGER,
        last_fetched_at     TEXT NOT NULL
    ) WITHOUT ROWID""",
    # Every status change seen, with when it was seen and by which path (fetch or callback).
    """CREATE TABLE status_changes (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id_payout       TEXT NOT NULL,
        previous_status TEXT,
        status          TEXT NOT NULL,
        seen_at         TEXT NOT NULL,
        source          TEXT NOT NULL
    )""",
    "CREATE INDEX status_changes_by_id ON status_changes (id_payout, seq)",
    # Every callback received, accepted or not (error says why one was refused).
    """CREATE TABLE callbacks (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id_payout   TEXT,
        received_at TEXT NOT NULL,
        remote      TEXT NOT NULL DEFAULT '',
        body        TEXT NOT NULL,
        error       TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX callbacks_by_id ON callbacks (id_payout, seq)",
]

_V2_CALLBACKS: Final = [
    # Callbacks for ids payrecon does not know, unsigned, waiting for the platform to confirm
    # them (payrecon.receiver._receiver): one row per id however often it was called back, and at
    # most
    # the receiver's bound of rows, so a flood of forged ids cannot grow the store.
    """CREATE TABLE parked_callbacks (
        id_payout   TEXT PRIMARY KEY,
        first_at    TEXT NOT NULL,
        last_at     TEXT NOT NULL,
        repeats     INTEGER NOT NULL DEFAULT 1,
        remote      TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID""",
    # What the callback receiver counted over its life: parked, dropped, refused, budget spent...
    """CREATE TABLE callback_counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX callbacks_refused ON callbacks (error, seq)",
    # A callback used to put its id on the register before the platform confirmed it, so forged
    # ids reached `reconcile --include-known`. Take off the ids only a callback named and the
    # platform never answered with a detail, and the not-found rows they left.
    """DELETE FROM payouts WHERE raw_json IS NULL AND id_payout IN
        (SELECT id_payout FROM known_ids WHERE source = 'callback')""",
    """DELETE FROM known_ids WHERE source = 'callback' AND id_payout NOT IN
        (SELECT id_payout FROM payouts WHERE raw_json IS NOT NULL)""",
]


_V3_RUNS: Final = [
    # One row per recorded reconcile run: its name (the ledger's file name unless --run-name),
    # when, which ledger, and its counts (JSON: category and flag -> rows).
    """CREATE TABLE runs (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ledger     TEXT,
        rows       INTEGER NOT NULL,
        exceptions INTEGER NOT NULL,
        counts     TEXT NOT NULL
    )""",
    "CREATE INDEX runs_by_name ON runs (name, seq)",
    # The exceptions open at each run, one per key (the payout id, or the ledger row of an
    # exception without one), with when it was first seen open and for how many runs in a row.
    """CREATE TABLE run_exceptions (
        run_seq    INTEGER NOT NULL,
        key        TEXT NOT NULL,
        id_payout  TEXT,
        source_row INTEGER,
        category   TEXT NOT NULL,
        issues     TEXT NOT NULL,
        open_since TEXT NOT NULL,
        runs_open  INTEGER NOT NULL,
        PRIMARY KEY (run_seq, key)
    )""",
]


_V4_UNREADABLE: Final = [
    # Answers the client could not read (a 200 whose body breaks the documented types), as
    # received: that payout's row says bad_response, and this is the evidence to look at.
    """CREATE TABLE unreadable_answers (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id_payout   TEXT NOT NULL,
        received_at TEXT NOT NULL,
        http_status INTEGER,
        body        TEXT NOT NULL
    )""",
    "CREATE INDEX unreadable_answers_by_id ON unreadable_answers (id_payout, seq)",
]

#: Migrations in order; ``MIGRATIONS[i]`` takes a store from version ``i`` to ``i + 1``.
MIGRATIONS: Final[list[list[str]]] = [_V1, _V2_CALLBACKS, _V3_RUNS, _V4_UNREADABLE]

#: The schema version this payrecon writes.
SCHEMA_VERSION: Final = len(MIGRATIONS)

#: The tables every payrecon store has (from version 1 on); a version-0 file holding other
#: tables is someone else's.
TABLES: Final = frozenset({"meta", "known_ids", "payouts", "status_changes", "callbacks"})
