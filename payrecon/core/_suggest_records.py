"""The records the stages of :mod:`payrecon.core._suggestions` share: both sides of the search as
integers (the ledger rows whose id cannot be followed, the payouts no ledger row names), and what
the stages have decided for each ledger row so far.

Every stage of :mod:`payrecon.core._suggestions` compares amounts, currencies and days, many
times over; building them once here as numpy integers (amounts as the decimals' own units,
currencies numbered once across both sides, dates as days since 1970) keeps the stages exact and
free of arrow's decimal kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import MONEY_TYPE, int64_units
from payrecon.core._inputs import flat

_DAY_US = 86_400 * 1_000_000
NO_DAY = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Side:
    """One side's candidates as numpy columns (``ok``: amount present and within int64)."""

    units: np.ndarray
    ok: np.ndarray
    cur: np.ndarray  # currency code, -1 when unknown
    day: np.ndarray  # days since 1970 (UTC), NO_DAY when unknown
    day2: np.ndarray  # a second date (processedAt), NO_DAY when unknown


@dataclass(frozen=True)
class Sides:
    """Both sides as the stages compare them: numpy columns with the currencies numbered once
    across both (so "same currency" is an integer comparison), and the arrow columns the table
    shows."""

    ledger: Side
    platform: Side
    tolerance: np.ndarray  # the amount tolerance of each ledger row, in units
    currencies: list[str]  # currency code -> its text
    ledger_amount: pa.Array
    ledger_currency: pa.Array
    platform_amount: pa.Array
    platform_ids: pa.Array


def _days(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    us = pc.cast(pc.cast(values, pa.timestamp("us", tz="UTC")), pa.int64())
    arr = pc.fill_null(us, NO_DAY).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(arr == NO_DAY, NO_DAY, np.floor_divide(arr, _DAY_US))


def money(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return flat(pc.cast(arr, MONEY_TYPE))


def day_gap(a: np.ndarray, b: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Days between ``a`` and the nearer of ``b`` / ``b2``; 0 where ``a`` is unknown."""
    big = np.iinfo(np.int64).max // 4
    g1 = np.where((a == NO_DAY) | (b == NO_DAY), big, np.abs(a - b))
    g2 = np.where((a == NO_DAY) | (b2 == NO_DAY), big, np.abs(a - b2))
    gap = np.minimum(g1, g2)
    return np.where(a == NO_DAY, 0, gap)


def both_sides(ledger: pa.Table, platform: pa.Table, tolerance: pa.Array | pa.Scalar) -> Sides:
    """The stages compare integers: amounts as the decimals' own units, currencies as numbers,
    dates as days. Building them once here keeps every stage free of arrow's decimal kernels."""
    n_l = ledger.num_rows
    l_amount = money(ledger["ledger_amount"])
    p_amount = money(platform["platform_amount"])
    l_units, l_ok = _units(l_amount)
    p_units, p_ok = _units(p_amount)
    l_cur = flat(ledger["ledger_currency"]).cast(pa.string())
    codes, currencies = _currency_codes(
        l_cur, flat(platform["platform_currency"]).cast(pa.string())
    )
    no_second_date = np.full(n_l, NO_DAY, np.int64)
    ledger_side = Side(l_units, l_ok, codes[:n_l], _days(ledger["ledger_date"]), no_second_date)
    platform_side = Side(
        p_units,
        p_ok,
        codes[n_l:],
        _days(platform["platform_created_at"]),
        _days(platform["platform_processed_at"]),
    )
    tol_units = _tolerance_units(tolerance, n_l)
    p_ids = flat(platform["id_payout"]).cast(pa.string())
    return Sides(
        ledger_side, platform_side, tol_units, currencies, l_amount, l_cur, p_amount, p_ids
    )


def _units(amount: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~payrecon.amounts.int64_units`, also for an empty side."""
    if len(amount) == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    return int64_units(amount)


def _tolerance_units(tolerance: pa.Array | pa.Scalar, n: int) -> np.ndarray:
    """The tolerance of each of ``n`` ledger rows in the amounts' units."""
    if isinstance(tolerance, pa.Scalar):
        return np.full(n, int(Decimal(tolerance.as_py() or 0).scaleb(MONEY_TYPE.scale)))
    return int64_units(money(tolerance))[0] if n else np.zeros(0, np.int64)


def _currency_codes(ledger: pa.Array, platform: pa.Array) -> tuple[np.ndarray, list[str]]:
    """One number per currency across both sides (-1 when unknown), and the currency of each."""
    enc = pc.dictionary_encode(pa.chunked_array([ledger, platform], pa.string()))
    codes = np.concatenate(
        [np.zeros(0, np.int64)]
        + [
            pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
            for c in enc.chunks
        ]
    )
    currencies = enc.chunk(0).dictionary.to_pylist() if enc.num_chunks else []
    return codes, currencies


@dataclass
class Picks:
    """What the stages decide for each ledger row, filled in stage by stage."""

    chosen: dict[int, list[int]]  # ledger row -> payouts suggested
    score: np.ndarray
    reasons: list[str]
    had_candidates: np.ndarray  # one-to-one candidates within the window
    too_many: np.ndarray  # more than MAX_CANDIDATES payouts of its amount
    ambiguous: np.ndarray  # one-to-one candidates that tie, or a best another row shares

    @classmethod
    def none(cls, n: int) -> Picks:
        """Nothing decided yet for ``n`` ledger rows."""
        no = np.zeros(n, dtype=bool)
        return cls({}, np.zeros(n), [""] * n, no.copy(), no.copy(), no.copy())

    def unsuggested(self) -> np.ndarray:
        """The rows no stage has suggested a payout for."""
        left = np.ones(len(self.score), dtype=bool)
        left[list(self.chosen)] = False
        return left


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


__all__ = ["NO_DAY", "Picks", "Side", "Sides", "both_sides", "day_gap", "money", "plural"]
