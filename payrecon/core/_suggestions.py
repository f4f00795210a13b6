"""Suggested matches for ledger money that has no usable payout id.

Some ledger rows book money under an id that cannot be followed: blank (``no_payout_id``), broken
(``invalid_id``: a typo such as ``PO 1234``), or one the platform does not know
(``missing_on_platform``: a digit swapped). Meanwhile the platform holds payouts that no ledger
row names (``missing_in_ledger``). Very often these are the same money. This module proposes
pairs, never confirms them: a person does (``--confirmed``, :mod:`payrecon.core._confirmed`).

A ledger row and a platform payout are candidates when

* their currencies agree (a ledger row without a currency fits any),
* their amounts agree within the amount tolerance (exactly, by default), and
* the ledger's date is within ``window`` days of the payout's ``createdAt`` or ``processedAt``
  (a row without a date fits any day, at a lower score).

Then, in this order:

1. **one to one**: each ledger row's best candidate (fewest days apart, then smallest amount
   difference) is suggested when it is strictly better than the row's second best and no other
   row's best is the same payout. Ties are ambiguous and give no suggestion (saying so);
2. **one to several**: a ledger row left without a candidate, and the payouts left unsuggested of
   its currency within the window (at most :data:`POOL_MAX` of them), are searched for two or
   three payouts whose amounts sum to the row's; exactly one such group is suggested, several are
   ambiguous. A payout claimed by two rows' groups is suggested to neither;
3. every row left without a suggestion gets its **nearest** payout of the same currency by amount,
   with the gaps (amount, days), so the analyst sees how far off the closest one is.

Score: 1.0 for the same amount on the same day, less 0.1 a day apart, 0.1 for an amount that
differs within the tolerance, 0.1 for each payout beyond the first in a group, 0.2 without a ledger
date, 0.2 without a ledger currency; never below 0.05.

Vectorised: amounts are compared as the decimals' own integers (:func:`~payrecon.amounts.
int64_units`), candidates are found with ``numpy.searchsorted`` per currency, and only the few
rows with a small pool run the (bounded) search for groups. Amounts beyond 92 billion are left
out (they do not fit those integers).

The code reads in that order: :func:`suggest` builds both sides as integers
(:mod:`payrecon.core._suggest_records`), then runs ``_one_to_one``, ``one_to_several``
(:mod:`payrecon.core._suggest_groups`) and ``_nearest``, each filling in one
:class:`~payrecon.core._suggest_records.Picks`; then the words (``_explain_suggested``,
``_explain_unsuggested``) and the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import MONEY_TYPE
from payrecon.core._align import ResultRows
from payrecon.core._inputs import flat, to_numpy_mask
from payrecon.core._suggest_groups import POOL_MAX, one_to_several
from payrecon.core._suggest_records import NO_DAY, Picks, Sides, both_sides, day_gap, plural
from payrecon.core._tolerance import Tolerance, tolerance_per_row
from payrecon.core.categories import CATEGORIES

#: Default ``--match-window``: days between the ledger's date and the payout's.
DEFAULT_WINDOW = 3
#: A ledger row with more candidates than this (same currency and amount, in the window) gets
#: none: that many equal payouts cannot be told apart.
MAX_CANDIDATES = 20
#: Ledger categories whose id cannot be followed; ``fetch_error`` rows count only when their id
#: broke the id rule (``invalid_id``) or was blank. ``no_payout_id`` is the category the ledger
#: reader gives money booked without an id.
CANDIDATE_CATEGORIES = ("missing_on_platform", "no_payout_id")
INVALID_ID = "invalid_id"

COLUMNS = (
    "source_row",
    "ledger_id",
    "ledger_category",
    "ledger_amount",
    "ledger_currency",
    "ledger_date",
    "suggested_id_payout",
    "suggested_amount",
    "score",
    "reasons",
    "nearest_id_payout",
    "nearest_amount_gap",
    "nearest_days_gap",
)


def _ranges(lo: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(lo[i], lo[i] + counts[i])`` for every ``i``."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return starts + np.arange(total, dtype=np.int64)


def suggest(
    ledger: pa.Table,
    platform: pa.Table,
    *,
    tolerance: pa.Array | pa.Scalar,
    window: int = DEFAULT_WINDOW,
) -> pd.DataFrame:
    """Suggestions for ``ledger``'s rows among ``platform``'s payouts (see the module docstring).

    Parameters
    ----------
    ledger
        The candidate ledger rows: ``source_row``, ``id_payout``, ``category``, ``error``,
        ``ledger_amount``, ``ledger_currency``, ``ledger_date``.
    platform
        The payouts no ledger row names: ``id_payout``, ``platform_amount``,
        ``platform_currency``, ``platform_created_at``, ``platform_processed_at``.
    tolerance
        The absolute amount tolerance: one decimal scalar, or one per ledger row.
    window
        Days allowed between the ledger's date and the payout's.

    Returns
    -------
    pandas.DataFrame
        One row per ledger row, in ledger order (columns :data:`COLUMNS`).
    """
    if window < 0:
        raise ValueError("the match window must be zero or more days")
    sides = both_sides(ledger, platform, tolerance)
    picks = Picks.none(ledger.num_rows)
    _one_to_one(sides, picks, window)
    one_to_several(sides, picks, window)
    nearest = _nearest(sides, picks)
    why = _why_texts(ledger)
    suggested = _explain_suggested(sides, picks, why)
    _explain_unsuggested(sides, picks, why, window)
    return to_frame(_table(ledger, sides, picks, suggested, _nearest_columns(sides, nearest)))


# -- 1. one to one ---------------------------------------------------------------------------


def _one_to_one(sides: Sides, picks: Picks, window: int) -> None:
    """Most money without a usable id is one payout booked once: suggest each row's best
    candidate, but only when nothing else fits as well, since a wrong pair costs a person more
    than no pair."""
    L, P = sides.ledger, sides.platform
    li, pj, picks.too_many = _amount_candidates(sides)
    gap_d = day_gap(L.day[li], P.day[pj], P.day2[pj])
    keep = gap_d <= window
    li, pj, gap_d = li[keep], pj[keep], gap_d[keep]
    gap_a = np.abs(L.units[li] - P.units[pj])
    picks.had_candidates[li] = True
    if len(li):
        _best_of_each_row(sides, picks, li, pj, gap_d, gap_a)


def _amount_candidates(sides: Sides) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (ledger row, payout) pair of one currency whose amounts agree within the row's
    tolerance, found per currency by ``searchsorted`` on the sorted payout amounts rather than by
    comparing every pair; and the rows with more than :data:`MAX_CANDIDATES` of them, which get
    none (that many equal payouts cannot be told apart)."""
    L, P, tol = sides.ledger, sides.platform, sides.tolerance
    li_all: list[np.ndarray] = []
    pj_all: list[np.ndarray] = []
    too_many = np.zeros(len(L.units), dtype=bool)
    for c in range(len(sides.currencies)):
        pm = np.flatnonzero(P.ok & (P.cur == c))
        lm = np.flatnonzero(L.ok & ((L.cur == c) | (L.cur < 0)))
        if not len(pm) or not len(lm):
            continue
        order = pm[np.argsort(P.units[pm], kind="stable")]
        sorted_units = P.units[order]
        lo = np.searchsorted(sorted_units, L.units[lm] - tol[lm], "left")
        hi = np.searchsorted(sorted_units, L.units[lm] + tol[lm], "right")
        counts = hi - lo
        many = counts > MAX_CANDIDATES
        too_many[lm[many]] = True
        counts = np.where(many, 0, counts)
        li_all.append(np.repeat(lm, counts))
        pj_all.append(order[_ranges(lo, counts)])
    li = np.concatenate([np.zeros(0, np.int64), *li_all])
    pj = np.concatenate([np.zeros(0, np.int64), *pj_all])
    return li, pj, too_many


def _best_of_each_row(
    sides: Sides,
    picks: Picks,
    li: np.ndarray,
    pj: np.ndarray,
    gap_d: np.ndarray,
    gap_a: np.ndarray,
) -> None:
    """Each row's best pair (fewest days apart, then smallest amount gap) is suggested unless
    its second best is as good (a tie) or another row's best is the same payout (contested):
    both are ambiguous."""
    order = np.lexsort((gap_a, gap_d, li))
    li, pj, gap_d, gap_a = li[order], pj[order], gap_d[order], gap_a[order]
    first = np.ones(len(li), dtype=bool)
    first[1:] = li[1:] != li[:-1]
    tie = np.zeros(len(li), dtype=bool)
    tie[1:] = (~first[1:]) & (gap_d[1:] == gap_d[:-1]) & (gap_a[1:] == gap_a[:-1])
    # a tie right after a row's first pair makes that row ambiguous
    tie_first = np.zeros(len(li), dtype=bool)
    tie_first[:-1] = first[:-1] & tie[1:]
    picks.ambiguous[li[tie_first]] = True
    best = first & ~picks.ambiguous[li]
    bl, bp = li[best], pj[best]
    claimed = np.bincount(bp, minlength=len(sides.platform.units))
    contested = claimed[bp] > 1
    picks.ambiguous[bl[contested]] = True
    no_date = sides.ledger.day == NO_DAY
    for i, j, d, a in zip(
        bl[~contested],
        bp[~contested],
        gap_d[best][~contested],
        gap_a[best][~contested],
        strict=True,
    ):
        picks.chosen[int(i)] = [int(j)]
        picks.score[i] = 1.0 - 0.1 * d - (0.1 if a else 0.0)
        parts = [
            f"same amount{' within tolerance' if a else ''}",
            "no ledger date" if no_date[i] else f"{plural(int(d), 'day')} apart",
        ]
        picks.reasons[i] = "; ".join(parts)


# -- 3. the nearest payout -------------------------------------------------------------------


def _nearest(sides: Sides, picks: Picks) -> np.ndarray:
    """For every row left without a suggestion, the payout of its currency nearest by amount
    (-1: none), so the analyst sees how far off the closest one is."""
    L, P = sides.ledger, sides.platform
    nearest = np.full(len(L.units), -1, dtype=np.int64)
    unsuggested = picks.unsuggested()
    for c in range(len(sides.currencies)):
        pm = np.flatnonzero(P.ok & (P.cur == c))
        lm = np.flatnonzero(L.ok & (L.cur == c) & unsuggested)
        if not len(pm) or not len(lm):
            continue
        order = pm[np.argsort(P.units[pm], kind="stable")]
        su = P.units[order]
        at = np.searchsorted(su, L.units[lm])
        left = np.clip(at - 1, 0, len(su) - 1)
        right = np.clip(at, 0, len(su) - 1)
        pick_right = np.abs(su[right] - L.units[lm]) < np.abs(su[left] - L.units[lm])
        nearest[lm] = order[np.where(pick_right, right, left)]
    return nearest


# -- the words and the table -----------------------------------------------------------------


def _why_texts(ledger: pa.Table) -> list[str]:
    """Why each ledger row's id cannot be followed, in words (one arrow pass per case): every
    row's reasons start with it, so the analyst knows what the suggestion stands in for."""
    ids = flat(ledger["id_payout"]).cast(pa.string())
    category = flat(ledger["category"]).cast(pa.string())
    error = flat(ledger["error"])
    quoted = pc.binary_join_element_wise("'", pc.fill_null(ids, ""), "'", "")
    blank = pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(ids)), 0), True)
    invalid = pc.fill_null(pc.equal(error, INVALID_ID), False)
    gone = pc.fill_null(pc.equal(category, "missing_on_platform"), False)
    text = pc.binary_join_element_wise("ledger id ", quoted, " cannot be followed", "")
    text = pc.if_else(
        gone, pc.binary_join_element_wise("the platform does not know ledger id ", quoted, ""), text
    )
    text = pc.if_else(
        invalid,
        pc.binary_join_element_wise("ledger id ", quoted, " breaks the platform's id rule", ""),
        text,
    )
    return pc.if_else(blank, pa.scalar("the ledger row has no payout id"), text).to_pylist()


@dataclass(frozen=True)
class _Suggested:
    """The suggested payouts of each row: their ids joined by ``;``, and their amounts' sum."""

    ids: list[str | None]
    units: list[int | None]


def _explain_suggested(sides: Sides, picks: Picks, why: list[str]) -> _Suggested:
    """A suggestion is read by a person deciding whether to confirm it: its reasons start with
    why the row needs one and its currency, and a row missing a date or currency scores lower."""
    L, P = sides.ledger, sides.platform
    n = len(L.units)
    suggested = _Suggested([None] * n, [None] * n)
    l_cur = sides.ledger_currency.to_pylist()
    for i, js in picks.chosen.items():
        suggested.ids[i] = ";".join(str(sides.platform_ids[j].as_py()) for j in js)
        suggested.units[i] = int(P.units[js].sum())
        extra = []
        if l_cur[i] is None:
            picks.score[i] -= 0.2
            extra.append("no ledger currency")
        if L.day[i] == NO_DAY:
            picks.score[i] -= 0.2
        cur = l_cur[i] or sides.currencies[int(P.cur[js[0]])]
        picks.reasons[i] = "; ".join([why[i], cur, picks.reasons[i], *extra])
    return suggested


def _explain_unsuggested(sides: Sides, picks: Picks, why: list[str], window: int) -> None:
    """A row without a suggestion says why not, the first that applies: no usable amount, an
    ambiguous group (said by the search), tied or contested candidates, too many candidates,
    or none at all."""
    fallback = f"no payout of this currency and amount within {plural(window, 'day')}"
    reasons = picks.reasons
    for i in np.flatnonzero(picks.unsuggested()):
        if not sides.ledger.ok[i]:
            reasons[i] = f"{why[i]}; the amount is missing or too large to match"
        elif reasons[i]:  # set by the search for groups
            reasons[i] = f"{why[i]}; {reasons[i]}"
        elif picks.ambiguous[i]:
            reasons[i] = f"{why[i]}; ambiguous: several payouts fit equally well"
        elif picks.too_many[i]:
            reasons[i] = f"{why[i]}; more than {MAX_CANDIDATES} payouts of this amount fit"
        else:
            reasons[i] = f"{why[i]}; {fallback}"


def _nearest_columns(sides: Sides, nearest: np.ndarray) -> dict[str, pa.Array]:
    """The nearest payout's id and its gaps to the row (amount: ledger - payout; days), empty
    where there is none or, for days, where the row has no date."""
    L, P = sides.ledger, sides.platform
    n_l, n_p = len(L.units), len(P.units)
    near_ok = nearest >= 0
    near_idx = pa.array(np.where(near_ok, nearest, 0), mask=~near_ok)
    l_amount = sides.ledger_amount
    near_amount = pc.take(sides.platform_amount, near_idx) if n_p else pa.nulls(n_l, MONEY_TYPE)
    gap_amount = pc.cast(pc.subtract(l_amount, near_amount), MONEY_TYPE) if n_l else l_amount
    safe = np.where(near_ok, nearest, 0)
    near_gap = day_gap(L.day, P.day[safe], P.day2[safe]) if n_p else np.zeros(n_l, np.int64)
    near_days = np.where(near_ok & (L.day != NO_DAY), near_gap, -1)
    near_ids = pc.take(sides.platform_ids, near_idx) if n_p else pa.nulls(n_l, pa.string())
    return {
        "nearest_id_payout": near_ids,
        "nearest_amount_gap": pc.if_else(
            pa.array(near_ok), gap_amount, pa.scalar(None, MONEY_TYPE)
        ),
        "nearest_days_gap": pa.array(near_days, mask=near_days < 0),
    }


def _table(
    ledger: pa.Table,
    sides: Sides,
    picks: Picks,
    suggested: _Suggested,
    nearest: dict[str, pa.Array],
) -> pa.Table:
    """The suggestions table (:data:`COLUMNS`): scores rounded and bounded to [0.05, 1], empty
    where nothing is suggested."""
    unsuggested = picks.unsuggested()
    score = np.where(unsuggested, np.nan, np.clip(picks.score, 0.05, 1.0))
    suggested_amount = pa.array(
        [None if u is None else Decimal(u).scaleb(-MONEY_TYPE.scale) for u in suggested.units],
        MONEY_TYPE,
    )
    return pa.table(
        {
            "source_row": flat(ledger["source_row"]).cast(pa.int64()),
            "ledger_id": flat(ledger["id_payout"]).cast(pa.string()),
            "ledger_category": flat(ledger["category"]).cast(pa.string()),
            "ledger_amount": sides.ledger_amount,
            "ledger_currency": sides.ledger_currency,
            "ledger_date": flat(ledger["ledger_date"]),
            "suggested_id_payout": pa.array(suggested.ids, pa.string()),
            "suggested_amount": suggested_amount,
            "score": pa.array(np.round(score, 2), mask=np.isnan(score)),
            "reasons": pa.array(picks.reasons, pa.string()),
            **nearest,
        }
    )


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The suggestions table in pandas: text as strings, money exact, integers nullable."""
    from payrecon.statuses._table import TIMESTAMP, pandas_type

    frame = table.select(list(COLUMNS)).to_pandas(types_mapper=pandas_type)
    if frame["ledger_date"].dtype != TIMESTAMP:
        frame["ledger_date"] = frame["ledger_date"].astype(TIMESTAMP)
    return frame


def empty() -> pd.DataFrame:
    """A suggestions table with no rows."""
    schema = {
        "source_row": pa.int64(),
        "ledger_id": pa.string(),
        "ledger_category": pa.string(),
        "ledger_amount": MONEY_TYPE,
        "ledger_currency": pa.string(),
        "ledger_date": pa.timestamp("us", tz="UTC"),
        "suggested_id_payout": pa.string(),
        "suggested_amount": MONEY_TYPE,
        "score": pa.float64(),
        "reasons": pa.string(),
        "nearest_id_payout": pa.string(),
        "nearest_amount_gap": MONEY_TYPE,
        "nearest_days_gap": pa.int64(),
    }
    return to_frame(pa.table({k: pa.array([], t) for k, t in schema.items()}))


def suggestions(
    rows: ResultRows, table: pa.Table, code: np.ndarray, tolerance: Tolerance, window: int
) -> pd.DataFrame:
    """Ledger rows whose id cannot be followed (blank, ``invalid_id``, ``missing_on_platform``,
    ``no_payout_id``) against the payouts no ledger row names (:func:`suggest`)."""
    in_ledger = rows.in_ledger
    words = [CATEGORIES.index(w) for w in CANDIDATE_CATEGORIES if w in CATEGORIES]
    ledger_side = in_ledger & np.isin(code, words)
    # A blank or broken id is never fetched, so it is a fetch_error row: look only at those.
    failed = np.flatnonzero(in_ledger & (code == CATEGORIES.index("fetch_error")))
    if len(failed):
        at = pa.array(failed)
        ids = pc.take(rows.ledger.ids, at)
        blank = to_numpy_mask(pc.equal(pc.utf8_length(ids), 0), missing=True)
        invalid = to_numpy_mask(pc.equal(pc.take(table["error"], at), INVALID_ID))
        ledger_side[failed] |= blank | invalid
    platform_side = code == CATEGORIES.index("missing_in_ledger")
    ledger = table.filter(pa.array(ledger_side))
    tol = tolerance_per_row(tolerance, flat(ledger["ledger_currency"]))
    return suggest(ledger, table.filter(pa.array(platform_side)), tolerance=tol, window=window)


__all__ = [
    "CANDIDATE_CATEGORIES",
    "COLUMNS",
    "DEFAULT_WINDOW",
    "MAX_CANDIDATES",
    "POOL_MAX",
    "empty",
    "suggest",
    "suggestions",
]
