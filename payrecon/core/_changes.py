"""Changes since the last run: what is new, what was resolved, what is still open, and for how long.

The same ledger is reconciled every morning, and what a controller needs first is the difference
from yesterday. Each ``reconcile`` that uses a store records its run (when, which ledger, the
counts, and every exception open at it) under a name: ``--run-name``, by default the ledger
file's name, so two ledgers reconciled into one store keep two histories. This run's exceptions
are then compared with the previous run of the same name, one entry per **key**: the payout id,
or ``row N`` (the ledger line) for an exception without one. Each key gets one ``change``:

``new``
    open now, not at the previous run (every exception of a name's first run is new);
``changed``
    open at both, in another category now (``category_before`` -> ``category_now``);
``still_open``
    open at both, in the same category;
``resolved``
    open at the previous run, not now (``category_now`` says what it is now: ``matched``,
    ``pending``, or empty when the row is gone from the ledger).

``open_since`` is when the key was first seen open in its current streak (the start of the first
run that found it open, with no run between that found it closed) and ``runs_open`` how many runs
in a row found it open. A key resolved and then open again is new again.

Pure but for :func:`record_run`, which reads the previous run from the store and writes this one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from payrecon.core.categories import CATEGORIES

if TYPE_CHECKING:
    from payrecon.core.result import Reconciliation
    from payrecon.store._store import Store

#: The kinds of change, in the order the report and changes.csv list them.
CHANGES = ("new", "changed", "resolved", "still_open")
COLUMNS = (
    "id_payout",
    "change",
    "category_before",
    "category_now",
    "open_since",
    "runs_open",
    "source_row",
    "issues_now",
)


@dataclass(frozen=True)
class OpenItem:
    """One exception open at a run, by key (the payout id, else ``row N``)."""

    key: str
    id_payout: str | None
    source_row: int | None
    category: str
    issues: str
    open_since: datetime
    runs_open: int

    def as_tuple(self) -> tuple[str, str | None, int | None, str, str, str, int]:
        return (
            self.key,
            self.id_payout,
            self.source_row,
            self.category,
            self.issues,
            self.open_since.astimezone(UTC).isoformat(timespec="microseconds"),
            self.runs_open,
        )

    @classmethod
    def from_tuple(cls, t: Sequence[object]) -> OpenItem:
        key, pid, row, category, issues, since, runs = t
        return cls(
            str(key),
            None if pid is None else str(pid),
            None if row is None else int(row),  # type: ignore[call-overload]
            str(category),
            str(issues),
            datetime.fromisoformat(str(since)),
            int(runs),  # type: ignore[call-overload]
        )


def key_of(id_payout: object, source_row: object) -> str:
    """The key of an exception: its payout id, or ``row N`` when it has none."""
    pid = "" if id_payout is None or pd.isna(id_payout) else str(id_payout).strip()
    if pid:
        return pid
    if source_row is None or pd.isna(source_row):
        return "row ?"
    return f"row {int(str(source_row))}"


def open_now(exceptions: pd.DataFrame, started_at: datetime) -> dict[str, OpenItem]:
    """The exceptions of a result by key (the first row of a key when several share it, as the
    copies of a duplicated booking do), as if first seen at ``started_at``."""
    out: dict[str, OpenItem] = {}
    cols = zip(
        exceptions["id_payout"].tolist(),
        exceptions["source_row"].tolist(),
        exceptions["category"].tolist(),
        exceptions["issues"].tolist(),
        strict=True,
    )
    for pid, row, category, issues in cols:
        key = key_of(pid, row)
        if key in out:
            continue
        has_id = pid is not None and not pd.isna(pid) and str(pid).strip() != ""
        out[key] = OpenItem(
            key,
            str(pid).strip() if has_id else None,
            None if row is None or pd.isna(row) else int(row),
            str(category),
            "" if issues is None or pd.isna(issues) else str(issues),
            started_at,
            1,
        )
    return out


def diff(
    previous: Sequence[OpenItem] | None,
    now: Mapping[str, OpenItem],
    category_now: Mapping[str, str],
) -> tuple[pd.DataFrame, list[OpenItem]]:
    """Compare the exceptions open now with those open at the previous run.

    Parameters
    ----------
    previous
        The previous run's open items (``None``: there was no previous run).
    now
        This run's open items by key (:func:`open_now`), each first seen now.
    category_now
        For keys open before and not now: their category now, when the ledger still has them.

    Returns
    -------
    (changes, open_items)
        The changes table (:data:`COLUMNS`, in :data:`CHANGES` order, then category order) and
        this run's open items with ``open_since`` and ``runs_open`` carried over.
    """
    before = {item.key: item for item in previous or ()}
    records: list[dict[str, object]] = []
    carried: list[OpenItem] = []
    for key, item in now.items():
        old = before.get(key)
        if old is None:
            change, since, runs = "new", item.open_since, 1
        else:
            change = "changed" if old.category != item.category else "still_open"
            since, runs = old.open_since, old.runs_open + 1
        kept = dataclasses.replace(item, open_since=since, runs_open=runs)
        carried.append(kept)
        records.append(_record(kept, change, None if old is None else old.category, item))
    for key, old in before.items():
        if key not in now:
            records.append(_record(old, "resolved", old.category, None, category_now.get(key)))
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    order = {c: i for i, c in enumerate(CHANGES)}
    records.sort(
        key=lambda r: (
            order[str(r["change"])],
            rank.get(str(r["category_now"] or r["category_before"]), len(rank)),
            str(r["id_payout"] or ""),
            r["source_row"] if isinstance(r["source_row"], int) else -1,
        )
    )
    return _frame(records), carried


def _record(
    item: OpenItem,
    change: str,
    before: str | None,
    now: OpenItem | None,
    category_now: str | None = None,
) -> dict[str, object]:
    return {
        "id_payout": item.id_payout,
        "change": change,
        "category_before": before,
        "category_now": now.category if now is not None else category_now,
        "open_since": item.open_since,
        "runs_open": item.runs_open,
        "source_row": item.source_row,
        "issues_now": now.issues if now is not None else None,
    }


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    from payrecon.statuses._table import STRING, TIMESTAMP

    def col(name: str) -> list[object]:
        return [r[name] for r in records]

    return pd.DataFrame(
        {
            "id_payout": pd.Series(col("id_payout"), dtype=STRING),
            "change": pd.Series(col("change"), dtype=STRING),
            "category_before": pd.Series(col("category_before"), dtype=STRING),
            "category_now": pd.Series(col("category_now"), dtype=STRING),
            "open_since": pd.to_datetime(
                pd.Series(col("open_since"), dtype=object), utc=True
            ).astype(TIMESTAMP),
            "runs_open": pd.Series(col("runs_open"), dtype="Int64"),
            "source_row": pd.Series(col("source_row"), dtype="Int64"),
            "issues_now": pd.Series(col("issues_now"), dtype=STRING),
        }
    )


def default_run_name(ledger: str | Path | None) -> str:
    """A run's name when none is given: the ledger file's name (``ledger.csv``)."""
    return Path(str(ledger)).name if ledger else "ledger"


def _categories_of(rows: pd.DataFrame, keys: Sequence[str]) -> dict[str, str]:
    """The current category of each key (its first row), for keys no longer open."""
    if not keys:
        return {}
    wanted = set(keys)
    ids = rows["id_payout"]
    hit = rows[ids.isin(list(wanted))]
    out: dict[str, str] = {}
    for pid, category in zip(hit["id_payout"].tolist(), hit["category"].tolist(), strict=True):
        out.setdefault(str(pid).strip(), str(category))
    by_row = [k for k in wanted if k.startswith("row ") and k[4:].isdigit()]
    if by_row:
        lines = rows["source_row"]
        hit = rows[lines.isin([int(k[4:]) for k in by_row])]
        for pid, line, category in zip(
            hit["id_payout"].tolist(),
            hit["source_row"].tolist(),
            hit["category"].tolist(),
            strict=True,
        ):
            if key_of(pid, line) == f"row {int(line)}":
                out.setdefault(f"row {int(line)}", str(category))
    return out


def record_run(store: Store, rec: Reconciliation, *, name: str | None = None) -> Reconciliation:
    """Record ``rec`` as a run of ``name`` in ``store`` and return it with its :attr:`changes`
    against the previous run of that name (``name`` defaults to the ledger file's name)."""
    run_name = name or default_run_name(rec.ledger_source)
    started = rec.generated_at or datetime.now(UTC)
    last = store.last_run(run_name)
    previous = None if last is None else [OpenItem.from_tuple(t) for t in last[1]]
    now = open_now(rec.exceptions, started)
    gone = [] if previous is None else [i.key for i in previous if i.key not in now]
    changes, carried = diff(previous, now, _categories_of(rec.rows, gone))
    counts = {**{k: v for k, v in rec.counts.items() if v}, **rec.flag_counts}
    store.record_run(
        name=run_name,
        started_at=started,
        ledger=rec.ledger_source,
        rows=len(rec.rows),
        counts={k: v for k, v in counts.items() if v},
        open_items=[item.as_tuple() for item in carried],
    )
    return dataclasses.replace(
        rec,
        changes=changes,
        run_name=run_name,
        previous_run_at=None if last is None else last[0],
    )


def new_count(rec: Reconciliation, word: str | None = None) -> int:
    """How many changes are ``new`` (and carry ``word``, a category or flag, in their issues)."""
    if rec.changes is None or len(rec.changes) == 0:
        return 0
    new = rec.changes[rec.changes["change"] == "new"]
    if word is None:
        return len(new)
    words = new["issues_now"].fillna("").str.split(";")
    return int(words.map(lambda ws: word in ws).sum())


__all__ = [
    "CHANGES",
    "COLUMNS",
    "OpenItem",
    "default_run_name",
    "diff",
    "key_of",
    "new_count",
    "open_now",
    "record_run",
]
