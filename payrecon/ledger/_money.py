"""The money columns of a ledger export: which decimal mark they use, what each row's signed
amount is, and which way the payouts are booked.

Exports write money in local habits and do not say which: ``1.155,00`` and ``1,155.00`` are the
same amount, and a payout is money out (negative) in a bank statement but positive in a payout
list. The cells themselves tell (:func:`vote_decimal`, :func:`direction`); a mapping that says
overrides them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import MONEY_TYPE, parse_amounts
from payrecon.errors import Problem
from payrecon.ledger.mapping import Mapping

#: How many cells of a money column the decimal-mark vote reads.
_SAMPLE = 20_000

_COMMA_DECIMAL = r"\d,\d{1,2}\)?[-−]?$|\d\.\d{3},\d"
_DOT_DECIMAL = r"\d\.\d{1,2}\)?[-−]?$|\d,\d{3}\.\d"
_DOT_GROUPS = r"^[^,]*\d\.\d{3}\)?[-−]?$"


def vote_decimal(columns: list[pa.ChunkedArray | pa.Array], *, prefer_comma: bool) -> str:
    """``,`` or ``.``: which the money text itself shows (``-62,3``, ``1.155,00`` vs
    ``1,719.50``); ``1.155`` alone shows nothing, so a ``;``-separated file's habit decides."""
    comma = dot = groups = 0
    for col in columns:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        sample = col.slice(0, _SAMPLE)
        comma += pc.sum(pc.match_substring_regex(sample, _COMMA_DECIMAL)).as_py() or 0
        dot += pc.sum(pc.match_substring_regex(sample, _DOT_DECIMAL)).as_py() or 0
        groups += pc.sum(pc.match_substring_regex(sample, _DOT_GROUPS)).as_py() or 0
    if comma > dot:
        return ","
    if dot > comma:
        return "."
    return "," if prefer_comma and groups else "."


def direction(signed: pa.Array, ids: Any) -> tuple[bool, np.ndarray]:
    """Whether the payouts are booked negative (most rows with an id are), and which rows have
    no id and money the other way (incoming transfers, top-ups): those are not payouts."""
    n = len(signed)
    none = np.zeros(n, dtype=bool)
    lo, hi = (v.as_py() for v in pc.min_max(signed).values())
    if (hi is not None and hi <= 0) or (lo is not None and lo >= 0):
        # one direction throughout (a machine export): nothing the other way to set aside
        return hi is not None and hi < 0, none
    has_id = pc.not_equal(ids, "").to_numpy(zero_copy_only=False)
    zero = pa.scalar(0, MONEY_TYPE)
    neg = pc.fill_null(pc.less(signed, zero), False).to_numpy(zero_copy_only=False)
    pos = pc.fill_null(pc.greater(signed, zero), False).to_numpy(zero_copy_only=False)
    out_negative = int((neg & has_id).sum()) > int((pos & has_id).sum())
    if not has_id.any():
        return out_negative, none
    return out_negative, ~has_id & (pos if out_negative else neg)


def signed_amounts(
    sub: pa.Table, m: Mapping, roles: list[str], rows: np.ndarray, decimal: str, file: str
) -> tuple[pa.Array, list[Problem], str]:
    """The signed amount of each row: the amount column, or debit - credit (the one filled).

    A voted decimal mark can be wrong where the sample said little; when the mapping states
    neither mark, a read that leaves cells unread is tried again with the other mark, and the
    one with fewer bad cells wins."""
    amount, bad = _signed_with(sub, m, roles, rows, decimal, file)
    if bad and m.decimal is None and m.thousands is None:
        other = "," if decimal == "." else "."
        amount2, bad2 = _signed_with(sub, m, roles, rows, other, file)
        if len(bad2) < len(bad):
            return amount2, bad2, other
    return amount, bad, decimal


def _signed_with(
    sub: pa.Table, m: Mapping, roles: list[str], rows: np.ndarray, mark: str, file: str
) -> tuple[pa.Array, list[Problem]]:
    """The signed amounts read with the decimal mark ``mark``, and the bad cells."""
    if "amount" in roles:
        return parse_amounts(
            sub[m.columns["amount"]],
            column=m.columns["amount"],
            file=file,
            rows=rows,
            decimal=mark,
            thousands=m.thousands,
        )
    return _debit_minus_credit(sub, m, roles, rows, mark, file)


def _debit_minus_credit(
    sub: pa.Table, m: Mapping, roles: list[str], rows: np.ndarray, mark: str, file: str
) -> tuple[pa.Array, list[Problem]]:
    """Ledgers with two money columns fill one per row: the amount is debit - credit, either
    may be blank (or absent from the mapping), but a row with both blank has no amount."""
    parts, bad = [], []
    for role in ("debit", "credit"):
        if role in roles:
            got, b = parse_amounts(
                sub[m.columns[role]],
                column=m.columns[role],
                file=file,
                rows=rows,
                decimal=mark,
                thousands=m.thousands,
                required=False,
            )
            parts.append(got)
            bad += b
        else:
            parts.append(pa.nulls(len(rows), MONEY_TYPE))
    debit, credit = parts
    zero = pa.scalar(0, MONEY_TYPE)
    both_blank = pc.and_(debit.is_null(), credit.is_null()).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(both_blank):
        cols = " / ".join(m.columns[r] for r in roles)
        bad.append(Problem(file, int(rows[i]), cols, "amount is blank (debit and credit)"))
    amount = pc.cast(pc.subtract(pc.coalesce(debit, zero), pc.coalesce(credit, zero)), MONEY_TYPE)
    return amount, sorted(bad, key=lambda p: p.row or 0)


__all__ = ["direction", "signed_amounts", "vote_decimal"]
