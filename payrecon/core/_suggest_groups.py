"""Suggested matches, stage 2: one ledger row to several payouts.

A ledger row is often several payouts booked as one line. For a row left without a one-to-one
candidate, the unsuggested payouts of its currency within the window form its pool; the pool is
searched for two payouts (and, in small pools, three) whose amounts sum to the row's. The search
is bounded (pools of at most :data:`POOL_MAX` payouts) so that a busy day cannot make it
explode: a pool of 24 has 276 pairs, a pool of 16 has 560 triples.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import numpy as np

from payrecon.core._suggest_records import NO_DAY, Picks, Sides, day_gap, plural

#: Largest pool of payouts searched for a group summing to one ledger row.
POOL_MAX = 24
#: Pools at most this size are also searched for groups of three.
TRIPLE_POOL_MAX = 16


def one_to_several(sides: Sides, picks: Picks, window: int) -> None:
    """One ledger row is often several payouts booked as one transfer: look for two or three
    unsuggested payouts that sum to a row left without a candidate, and suggest the group when
    it is the only one, for this row and for every other."""
    groups = _group_search(sides, picks, window)
    claim = np.zeros(len(sides.platform.units), dtype=np.int64)
    for js in groups.values():
        claim[js] += 1
    L, P = sides.ledger, sides.platform
    for i, js in groups.items():
        if (claim[js] > 1).any():
            picks.reasons[i] = "ambiguous: its payouts also sum to another ledger row's amount"
            continue
        picks.chosen[i] = js
        total = int(P.units[js].sum())
        d = int(max(day_gap(np.full(len(js), L.day[i]), P.day[js], P.day2[js])))
        inexact = total != L.units[i]
        picks.score[i] = 1.0 - 0.1 * (len(js) - 1) - 0.1 * d - (0.1 if inexact else 0.0)
        picks.reasons[i] = (
            f"{len(js)} payouts sum to the amount{' within tolerance' if inexact else ''}; "
            f"at most {plural(d, 'day')} apart"
        )


def _group_search(sides: Sides, picks: Picks, window: int) -> dict[int, list[int]]:
    """The one group of payouts in each row's pool that sums to its amount; a row with several
    such groups gets none, and says so."""
    L, P, tol_units = sides.ledger, sides.platform, sides.tolerance
    groups: dict[int, list[int]] = {}
    for i, pool in _pools(sides, picks, window):
        target, tol = int(L.units[i]), int(tol_units[i])
        pool = pool[(P.units[pool] > 0) & (P.units[pool] <= target + tol)]
        found = _groups(pool, P.units, target, tol)
        if len(found) == 1:
            groups[i] = found[0]
        elif len(found) > 1:
            picks.reasons[i] = f"ambiguous: {len(found)} groups of payouts sum to the amount"
    return groups


def _pools(sides: Sides, picks: Picks, window: int) -> Iterator[tuple[int, np.ndarray]]:
    """Each dated ledger row without a one-to-one candidate, with the unsuggested dated payouts
    of its currency within the window: only pools of 2 to :data:`POOL_MAX` payouts, which keeps
    the search for groups bounded."""
    L, P = sides.ledger, sides.platform
    used = np.zeros(len(P.units), dtype=bool)
    for js in picks.chosen.values():
        used[js] = True
    searchable = L.ok & ~picks.had_candidates & ~picks.too_many & (L.day != NO_DAY)
    for c in range(len(sides.currencies)):
        pm = np.flatnonzero(P.ok & ~used & (P.cur == c) & (P.day != NO_DAY))
        lm = np.flatnonzero(searchable & (L.cur == c))
        if len(pm) < 2 or not len(lm):
            continue
        order = pm[np.argsort(P.day[pm], kind="stable")]
        days = P.day[order]
        lo = np.searchsorted(days, L.day[lm] - window, "left")
        hi = np.searchsorted(days, L.day[lm] + window, "right")
        sizes = hi - lo
        for k in np.flatnonzero((sizes >= 2) & (sizes <= POOL_MAX)):
            yield int(lm[k]), order[lo[k] : hi[k]]


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


__all__ = ["POOL_MAX", "TRIPLE_POOL_MAX", "one_to_several"]
