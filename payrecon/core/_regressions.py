"""Status regressions: payouts the platform reported in one final status and now reports in another.

The platform never documents whether a final status can change (platform-api.md §9.9), but a
reversal (``SUCCESS`` then ``FAILED`` or ``REFUSED``, or back) is exactly the case where money may
have left and come back, and the ledger, booked on the first answer, is now wrong in a way that
yesterday's reconciliation could not see. The store keeps every status change it saw, with when it
was seen, so a regression is read off that history:

* the payout's latest status is final, and
* an earlier status in its history is final and different: the latest such one is ``before``.

A payout seen ``SUCCESS``, then ``PROCESSING``, then ``FAILED`` counts too (``before`` is
``SUCCESS``). The store only learns of a change when it asks again: final payouts are not
refetched unless ``--refresh`` is given or the platform's callback announces a change (see
``payrecon callbacks``), so the routine in ``docs/recurring.md`` runs the receiver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from payrecon.platform import FINAL_STATUSES
from payrecon.statuses._table import STRING, TIMESTAMP

if TYPE_CHECKING:
    from payrecon.store._store import Store

#: Columns of a regressions table.
COLUMNS = ("id_payout", "status_before", "seen_before", "status_now", "seen_now")


def empty() -> pd.DataFrame:
    """A regressions table with no rows (the columns and dtypes of :func:`find`)."""
    return _EMPTY.copy()


def _frame(records: list[tuple[object, ...]]) -> pd.DataFrame:
    data = {name: [r[i] for r in records] for i, name in enumerate(COLUMNS)}
    return pd.DataFrame(
        {
            "id_payout": pd.Series(data["id_payout"], dtype=STRING),
            "status_before": pd.Series(data["status_before"], dtype=STRING),
            "seen_before": pd.Series(data["seen_before"], dtype=object).astype(TIMESTAMP),
            "status_now": pd.Series(data["status_now"], dtype=STRING),
            "seen_now": pd.Series(data["seen_now"], dtype=object).astype(TIMESTAMP),
        }
    )


_EMPTY = _frame([])


def find(history: pd.DataFrame) -> pd.DataFrame:
    """The regressions in a status history (``Store.history()``'s columns: ``id_payout``,
    ``seen_at``, ``status``, oldest first). One row per regressed payout, in first-seen order:
    ``status_before`` and ``seen_before`` (the latest earlier final status that differs from
    now, and when it was first seen), ``status_now`` and ``seen_now``."""
    out: list[tuple[object, ...]] = []
    if len(history) == 0:
        return _frame(out)
    for pid, part in history.groupby("id_payout", sort=False):
        statuses = part["status"].tolist()
        seen = part["seen_at"].tolist()
        now, seen_now = statuses[-1], seen[-1]
        if now not in FINAL_STATUSES:
            continue
        for status, when in zip(reversed(statuses[:-1]), reversed(seen[:-1]), strict=True):
            if status in FINAL_STATUSES and status != now:
                out.append((pid, status, when, now, seen_now))
                break
    return _frame(out)


def from_store(store: Store) -> pd.DataFrame:
    """The regressions the store's history holds (reads only payouts with two final statuses)."""
    return find(store.final_flip_history())


def describe(row: pd.Series) -> str:
    """``SUCCESS (seen 2026-11-19 06:00:01 UTC) -> FAILED (seen 2026-11-20 06:00:02 UTC)``."""

    def when(t: object) -> str:
        return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S UTC") if pd.notna(t) else "?"

    return (
        f"{row['status_before']} (seen {when(row['seen_before'])}) -> "
        f"{row['status_now']} (seen {when(row['seen_now'])})"
    )


__all__ = ["COLUMNS", "describe", "empty", "find", "from_store"]
