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
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import MONEY_TYPE, int64_units
from payrecon.core._align import ResultRows
from payrecon.core._inputs import flat, to_numpy_mask
from payrecon.core._tolerance import Tolerance, tolerance_per_row
from payrecon.core.categories import CATEGORIES

#: Default ``--match-window``: days between the ledger's date and the payout's.
DEFAULT_WINDOW = 3
#: A ledger row with more candidates than this (same currency and amount, in the window) gets
#: none: that many equal payouts cannot be told apart.
MAX_CANDIDATES = 20
#: Largest pool of payouts searched for a group summing to one ledger row.
POOL_MAX = 24
#: Pools at most this size are also searched for groups of three.
TRIPLE_POOL_MAX = 16
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

_DAY_US = 86_400 * 1_000_000
_NO_DAY = np.iinfo(np.int64).min


@dataclass(frozen=True)
class _Side:
    """One side's candidates as numpy columns (``ok``: amount present and within int64)."""

    units: np.ndarray
    ok: np.ndarray
    cur: np.ndarray  # currency code, -1 when unknown
    day: np.ndarray  # days since 1970 (UTC), _NO_DAY when unknown
    day2: np.ndarray  # a second date (processedAt), _NO_DAY when unknown


def _days(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    us = pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.int64())
    arr = pc.fill_null(us, _NO_DAY).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(arr == _NO_DAY, _NO_DAY, np.floor_divide(arr, _DAY_US))


def _money(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return flat(pc.cast(arr, MONEY_TYPE))


def _day_gap(a: np.ndarray, b: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Days between ``a`` and the nearer of ``b`` / ``b2``; 0 where ``a`` is unknown."""
    big = np.iinfo(np.int64).max // 4
    g1 = np.where((a == _NO_DAY) | (b == _NO_DAY), big, np.abs(a - b))
    g2 = np.where((a == _NO_DAY) | (b2 == _NO_DAY), big, np.abs(a - b2))
    gap = np.minimum(g1, g2)
    return np.where(a == _NO_DAY, 0, gap)


def _ranges(lo: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(lo[i], lo[i] + counts[i])`` for every ``i``."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return starts + np.arange(total, dtype=np.int64)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _units_text(units: int) -> str:
    return format(Decimal(units).scaleb(-MONEY_TYPE.scale).normalize(), "f")


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
    n_l, n_p = ledger.num_rows, platform.num_rows
    l_amount = _money(ledger["ledger_amount"])
    p_amount = _money(platform["platform_amount"])
    l_units, l_ok = int64_units(l_amount) if n_l else (np.zeros(0, np.int64), np.zeros(0, bool))
    p_units, p_ok = int64_units(p_amount) if n_p else (np.zeros(0, np.int64), np.zeros(0, bool))
    if isinstance(tolerance, pa.Scalar):
        tol_units = np.full(n_l, int(Decimal(tolerance.as_py() or 0).scaleb(MONEY_TYPE.scale)))
    else:
        tol_arr = _money(tolerance)
        tol_units = int64_units(tol_arr)[0] if n_l else np.zeros(0, np.int64)
    l_cur_arr = flat(ledger["ledger_currency"]).cast(pa.string())
    p_cur_arr = flat(platform["platform_currency"]).cast(pa.string())
    enc = pc.dictionary_encode(pa.chunked_array([l_cur_arr, p_cur_arr], pa.string()))
    codes = np.concatenate(
        [np.zeros(0, np.int64)]
        + [
            pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
            for c in enc.chunks
        ]
    )
    dictionary = enc.chunk(0).dictionary.to_pylist() if enc.num_chunks else []
    L = _Side(
        l_units,
        l_ok,
        codes[:n_l],
        _days(ledger["ledger_date"]),
        np.full(n_l, _NO_DAY, np.int64),
    )
    P = _Side(
        p_units,
        p_ok,
        codes[n_l:],
        _days(platform["platform_created_at"]),
        _days(platform["platform_processed_at"]),
    )

    chosen: dict[int, list[int]] = {}  # ledger row -> payouts suggested
    score = np.zeros(n_l)
    reasons: list[str] = [""] * n_l
    had_candidates = np.zeros(n_l, dtype=bool)

    # -- 1. one to one ------------------------------------------------------------------------
    li_all: list[np.ndarray] = []
    pj_all: list[np.ndarray] = []
    too_many = np.zeros(n_l, dtype=bool)
    for c in range(len(dictionary)):
        pm = np.flatnonzero(P.ok & (P.cur == c))
        lm = np.flatnonzero(L.ok & ((L.cur == c) | (L.cur < 0)))
        if not len(pm) or not len(lm):
            continue
        order = pm[np.argsort(P.units[pm], kind="stable")]
        sorted_units = P.units[order]
        lo = np.searchsorted(sorted_units, L.units[lm] - tol_units[lm], "left")
        hi = np.searchsorted(sorted_units, L.units[lm] + tol_units[lm], "right")
        counts = hi - lo
        many = counts > MAX_CANDIDATES
        too_many[lm[many]] = True
        counts = np.where(many, 0, counts)
        li_all.append(np.repeat(lm, counts))
        pj_all.append(order[_ranges(lo, counts)])
    li = np.concatenate([np.zeros(0, np.int64), *li_all])
    pj = np.concatenate([np.zeros(0, np.int64), *pj_all])
    gap_d = _day_gap(L.day[li], P.day[pj], P.day2[pj])
    keep = gap_d <= window
    li, pj, gap_d = li[keep], pj[keep], gap_d[keep]
    gap_a = np.abs(L.units[li] - P.units[pj])
    had_candidates[li] = True
    ambiguous = np.zeros(n_l, dtype=bool)
    if len(li):
        order = np.lexsort((gap_a, gap_d, li))
        li, pj, gap_d, gap_a = li[order], pj[order], gap_d[order], gap_a[order]
        first = np.ones(len(li), dtype=bool)
        first[1:] = li[1:] != li[:-1]
        tie = np.zeros(len(li), dtype=bool)
        tie[1:] = (~first[1:]) & (gap_d[1:] == gap_d[:-1]) & (gap_a[1:] == gap_a[:-1])
        # a tie right after a row's first pair makes that row ambiguous
        tie_first = np.zeros(len(li), dtype=bool)
        tie_first[:-1] = first[:-1] & tie[1:]
        ambiguous[li[tie_first]] = True
        best = first & ~ambiguous[li]
        bl, bp = li[best], pj[best]
        claimed = np.bincount(bp, minlength=n_p)
        contested = claimed[bp] > 1
        ambiguous[bl[contested]] = True
        for i, j, d, a in zip(
            bl[~contested],
            bp[~contested],
            gap_d[best][~contested],
            gap_a[best][~contested],
            strict=True,
        ):
            chosen[int(i)] = [int(j)]
            score[i] = 1.0 - 0.1 * d - (0.1 if a else 0.0)
            parts = [
                f"same amount{' within tolerance' if a else ''}",
                "no ledger date" if L.day[i] == _NO_DAY else f"{_plural(int(d), 'day')} apart",
            ]
            reasons[i] = "; ".join(parts)

    # -- 2. one to several --------------------------------------------------------------------
    used = np.zeros(n_p, dtype=bool)
    for js in chosen.values():
        used[js] = True
    groups: dict[int, list[int]] = {}
    several_ambiguous: set[int] = set()
    for c in range(len(dictionary)):
        pm = np.flatnonzero(P.ok & ~used & (P.cur == c) & (P.day != _NO_DAY))
        lm = np.flatnonzero(L.ok & ~had_candidates & ~too_many & (L.cur == c) & (L.day != _NO_DAY))
        if len(pm) < 2 or not len(lm):
            continue
        order = pm[np.argsort(P.day[pm], kind="stable")]
        days = P.day[order]
        lo = np.searchsorted(days, L.day[lm] - window, "left")
        hi = np.searchsorted(days, L.day[lm] + window, "right")
        sizes = hi - lo
        for k in np.flatnonzero((sizes >= 2) & (sizes <= POOL_MAX)):
            i = int(lm[k])
            pool = order[lo[k] : hi[k]]
            target, tol = int(L.units[i]), int(tol_units[i])
            pool = pool[(P.units[pool] > 0) & (P.units[pool] <= target + tol)]
            found = _groups(pool, P.units, target, tol)
            if len(found) == 1:
                groups[i] = found[0]
            elif len(found) > 1:
                several_ambiguous.add(i)
                reasons[i] = f"ambiguous: {len(found)} groups of payouts sum to the amount"
    claim = np.zeros(n_p, dtype=np.int64)
    for js in groups.values():
        claim[js] += 1
    for i, js in groups.items():
        if (claim[js] > 1).any():
            several_ambiguous.add(i)
            reasons[i] = "ambiguous: its payouts also sum to another ledger row's amount"
            continue
        chosen[i] = js
        total = int(P.units[js].sum())
        d = int(max(_day_gap(np.full(len(js), L.day[i]), P.day[js], P.day2[js])))
        score[i] = 1.0 - 0.1 * (len(js) - 1) - 0.1 * d - (0.1 if total != L.units[i] else 0.0)
        reasons[i] = (
            f"{len(js)} payouts sum to the amount"
            f"{' within tolerance' if total != L.units[i] else ''}; "
            f"at most {_plural(d, 'day')} apart"
        )

    # -- 3. the nearest payout for every row left without one ---------------------------------
    nearest = np.full(n_l, -1, dtype=np.int64)
    unsuggested = np.ones(n_l, dtype=bool)
    unsuggested[list(chosen)] = False
    for c in range(len(dictionary)):
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

    # -- the table ----------------------------------------------------------------------------
    p_id_arr = flat(platform["id_payout"]).cast(pa.string())
    l_id_arr = flat(ledger["id_payout"]).cast(pa.string())
    why = _why_texts(
        l_id_arr, flat(ledger["category"]).cast(pa.string()), flat(ledger["error"])
    ).to_pylist()
    suggested: list[str | None] = [None] * n_l
    suggested_units: list[int | None] = [None] * n_l
    l_cur = l_cur_arr.to_pylist()
    for i, js in chosen.items():
        suggested[i] = ";".join(str(p_id_arr[j].as_py()) for j in js)
        suggested_units[i] = int(P.units[js].sum())
        extra = []
        if l_cur[i] is None:
            score[i] -= 0.2
            extra.append("no ledger currency")
        if L.day[i] == _NO_DAY:
            score[i] -= 0.2
        cur = l_cur[i] or dictionary[int(P.cur[js[0]])]
        reasons[i] = "; ".join([why[i], cur, reasons[i], *extra])
    fallback = f"no payout of this currency and amount within {_plural(window, 'day')}"
    for i in np.flatnonzero(unsuggested):
        if not L.ok[i]:
            reasons[i] = f"{why[i]}; the amount is missing or too large to match"
        elif reasons[i]:  # set by the search for groups
            reasons[i] = f"{why[i]}; {reasons[i]}"
        elif ambiguous[i]:
            reasons[i] = f"{why[i]}; ambiguous: several payouts fit equally well"
        elif too_many[i]:
            reasons[i] = f"{why[i]}; more than {MAX_CANDIDATES} payouts of this amount fit"
        else:
            reasons[i] = f"{why[i]}; {fallback}"
    score = np.where(unsuggested, np.nan, np.clip(score, 0.05, 1.0))

    near_ok = nearest >= 0
    near_idx = pa.array(np.where(near_ok, nearest, 0), mask=~near_ok)
    near_amount = pc.take(p_amount, near_idx) if n_p else pa.nulls(n_l, MONEY_TYPE)
    gap_amount = pc.cast(pc.subtract(l_amount, near_amount), MONEY_TYPE) if n_l else l_amount
    safe = np.where(near_ok, nearest, 0)
    near_gap = _day_gap(L.day, P.day[safe], P.day2[safe]) if n_p else np.zeros(n_l, np.int64)
    near_days = np.where(near_ok & (L.day != _NO_DAY), near_gap, -1)
    near_ids = pc.take(p_id_arr, near_idx) if n_p else pa.nulls(n_l, pa.string())
    suggested_amount = pa.array(
        [None if u is None else Decimal(u).scaleb(-MONEY_TYPE.scale) for u in suggested_units],
        MONEY_TYPE,
    )
    table = pa.table(
        {
            "source_row": flat(ledger["source_row"]).cast(pa.int64()),
            "ledger_id": l_id_arr,
            "ledger_category": flat(ledger["category"]).cast(pa.string()),
            "ledger_amount": l_amount,
            "ledger_currency": l_cur_arr,
            "ledger_date": flat(ledger["ledger_date"]),
            "suggested_id_payout": pa.array(suggested, pa.string()),
            "suggested_amount": suggested_amount,
            "score": pa.array(np.round(score, 2), mask=np.isnan(score)),
            "reasons": pa.array(reasons, pa.string()),
            "nearest_id_payout": near_ids,
            "nearest_amount_gap": pc.if_else(
                pa.array(near_ok), gap_amount, pa.scalar(None, MONEY_TYPE)
            ),
            "nearest_days_gap": pa.array(near_days, mask=near_days < 0),
        }
    )
    return to_frame(table)


def _why_texts(ids: pa.Array, category: pa.Array, error: pa.Array) -> pa.Array:
    """Why each ledger row's id cannot be followed, in words (one arrow pass per case)."""
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
    return pc.if_else(blank, pa.scalar("the ledger row has no payout id"), text)


def _groups(pool: np.ndarray, units: np.ndarray, target: int, tol: int) -> list[list[int]]:
    """Groups of two (and, in small pools, three) payouts of ``pool`` whose amounts sum to
    ``target`` within ``tol``; at most two are returned (two already mean ambiguous)."""
    u = units[pool]
    k = len(pool)
    found: list[list[int]] = []
    if k < 2:
        return found
    s2 = u[:, None] + u[None, :]
    hit = np.triu(np.abs(s2 - target) <= tol, 1)
    for a, b in zip(*np.nonzero(hit), strict=True):
        found.append([int(pool[a]), int(pool[b])])
        if len(found) > 1:
            return found
    if k <= TRIPLE_POOL_MAX:
        for a, b, c in combinations(range(k), 3):
            if abs(int(u[a]) + int(u[b]) + int(u[c]) - target) <= tol:
                found.append([int(pool[a]), int(pool[b]), int(pool[c])])
                if len(found) > 1:
                    return found
    return found


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
