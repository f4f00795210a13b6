"""Which records of an export are transactions, and why the others are set aside.

A row that carries a payout id is a transaction (unless ``[rows] keep`` filters it). Of the rest,
the first reason that fits, in this order, sets a row aside:

``header``    the header again (a page break in a list export)
``total``     ``Total``/``TOTAL``/``Total for ...``/``Subtotal``/``Summe``/``Gesamt`` in a cell,
              or SAP's ``*``/``**`` subtotal marks
``balance``   opening/closing/beginning/ending balance, brought/carried forward, ``Saldo``
``rule``      cells of dashes, equals signs or underscores only
``section``   no money: a heading before the last transaction (``Checking``, ``Bank (THB)``)
``footer``    no money, after the last transaction (``Accrual Basis Monday, ...``)
``no_amount`` no money and several cells: none of the above, but nothing to reconcile either
``filtered``  excluded by ``[rows] keep``

Rows above the header are ``preamble``; rows with money but no payout id in the direction
opposite to the payouts are ``other_direction`` (decided later, once amounts are read). Blank
lines and rows whose every cell is empty are not rows. Everything here is cheap on a machine
export: rows with an id skip the text rules, and those are nearly all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.errors import InputError, Problem
from payrecon.ledger._source import Source
from payrecon.ledger.mapping import MONEY_ROLES, Mapping, split_header_currency
from payrecon.statuses._table import TEXT

_TOTAL = re.compile(
    r"^(?:grand\s*)?(?:sub-?\s*)?totals?\b|^summe\b|^gesamt|^zwischensumme|^jumlah\s+(?:total|"
    r"keseluruhan)|^tổng\s+cộng|^รวม|^\*+$|^\*+\s",
    re.IGNORECASE,
)
_BALANCE = re.compile(
    r"(?:opening|closing|beginning|ending|starting|start|end|final)\s+balance|balance\s+"
    r"(?:b/f|c/f|brought|carried|forward)|(?:brought|carried)\s+forward|^(?:anfangs|end|schluss|"
    r"alter|neuer)?saldo\b|^saldo|kontostand|saldo\s+(?:awal|akhir)|^solde|saldo\s+(?:inicial|final)",
    re.IGNORECASE,
)
_RULE = re.compile(r"^[-=_*.|+~\s]+$")

#: Every reason a row can be set aside for, in the order they are tried (documented above).
REASONS = (
    "preamble",
    "header",
    "total",
    "balance",
    "rule",
    "section",
    "footer",
    "no_amount",
    "filtered",
    "other_direction",
)


#: Each row's reason as a small integer (a million-row export costs a million bytes, not a
#: million string objects): 0 a transaction, -1 nothing (all cells empty), else ``REASONS[c - 1]``.
TRANSACTION, BLANK = 0, -1
CODE = {r: i + 1 for i, r in enumerate(REASONS)}


def text(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column as trimmed-able text, never missing (CSV columns come as read: no copy)."""
    arr = col
    if pa.types.is_dictionary(arr.type):
        arr = pc.cast(arr, arr.type.value_type)
    if arr.type != TEXT:
        arr = pc.cast(arr, TEXT)
    return pc.fill_null(arr, "") if arr.null_count else arr


@dataclass(frozen=True)
class RowPlan:
    """What each record is: ``reason[i]`` is a code (:data:`CODE`; 0 a transaction)."""

    ids: pa.Array | pa.ChunkedArray  # the payout id of each record ("" where none)
    reason: np.ndarray  # int8 codes
    section_currency: list[str | None] | None  # the currency of the section each record is in


def plan_rows(src: Source, m: Mapping, *, file: str) -> RowPlan:
    """Classify every record of ``src`` under the resolved mapping ``m``."""
    table, cols = src.table, m.columns
    n = table.num_rows
    ids = trimmed = pc.utf8_trim_whitespace(text(table[cols["id_payout"]]))
    if m.id_pattern:
        found = pc.struct_field(pc.extract_regex(ids, f"(?P<id>{m.id_pattern})"), "id")
        ids = pc.fill_null(found, "")
    reason = np.zeros(n, dtype=np.int8)
    has_id = pc.not_equal(ids, "").to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    id_header = src.layout.raw_header[src.layout.header.index(cols["id_payout"])]
    if id_header and n:
        again = pc.equal(ids if not m.id_pattern else trimmed, id_header)
        if pc.any(again).as_py():
            reason[again.to_numpy(zero_copy_only=False)] = CODE["header"]
    rest = np.flatnonzero(~has_id & (reason == TRANSACTION))
    section_currency: list[str | None] | None = None
    if len(rest):
        section_currency = _classify_rest(src, m, rest, has_id, reason)
    if m.keep:
        kept = _kept(table, m, file=file)
        reason[(reason == TRANSACTION) & ~kept] = CODE["filtered"]
    return RowPlan(ids, reason, section_currency)


def _classify_rest(
    src: Source, m: Mapping, rest: np.ndarray, has_id: np.ndarray, reason: np.ndarray
) -> list[str | None] | None:
    """The text rules on the records without a payout id (few, in a real export)."""
    table = src.table
    header = [c.strip() for c in src.layout.raw_header]
    sub = table.take(pa.array(rest))
    cells = [text(sub[name]).to_pylist() for name in table.column_names]
    money_cols = [table.column_names.index(m.columns[r]) for r in MONEY_ROLES if r in m.columns]
    records = [[c[j].strip() for c in cells] for j in range(len(rest))]
    has_money = np.zeros(len(rest), dtype=bool)
    for j, rec in enumerate(records):
        filled = [c for c in rec if c]
        if not filled:
            reason[rest[j]] = BLANK
            continue
        has_money[j] = any(rec[k] for k in money_cols)
        if rec == header[: len(rec)] or filled == [h for h in header if h]:
            reason[rest[j]] = CODE["header"]
        elif any(_TOTAL.search(c) for c in filled):
            reason[rest[j]] = CODE["total"]
        elif any(_BALANCE.search(c) for c in filled):
            reason[rest[j]] = CODE["balance"]
        elif all(_RULE.match(c) for c in filled):
            reason[rest[j]] = CODE["rule"]
    # The last transaction: the last row with an id, or with money and no reason so far.
    money_rows = rest[has_money & (reason[rest] == TRANSACTION)]
    id_rows = np.flatnonzero(has_id)
    last = max(
        int(money_rows.max()) if len(money_rows) else -1, int(id_rows.max()) if len(id_rows) else -1
    )
    for j, rec in enumerate(records):
        i = rest[j]
        if reason[i] or has_money[j]:
            continue
        filled = [c for c in rec if c]
        if i > last:
            reason[i] = CODE["footer"]
        elif len(filled) == 1 or all(not c for c in rec[1:]):
            reason[i] = CODE["section"]
        else:
            reason[i] = CODE["no_amount"]
    sections = [
        (rest[j], records[j]) for j in range(len(rest)) if reason[rest[j]] == CODE["section"]
    ]
    currencies = [(i, _section_currency(rec)) for i, rec in sections]
    if not any(c for _, c in currencies):
        return None
    out: list[str | None] = [None] * table.num_rows
    marks = dict(currencies)
    current: str | None = None
    for i in range(table.num_rows):
        if i in marks:
            current = marks[i]
        out[i] = current
    return out


def _section_currency(rec: list[str]) -> str | None:
    label = next((c for c in rec if c), "")
    return split_header_currency(label)[1]


def _kept(table: pa.Table, m: Mapping, *, file: str) -> np.ndarray:
    """Rows whose every ``keep`` column holds one of its values (trimmed, any case)."""
    kept = np.ones(table.num_rows, dtype=bool)
    for col, values in m.keep.items():
        name = _column_named(table.column_names, col)
        if name is None:
            raise InputError(
                f"{file}: [rows] keep names a column the ledger does not have",
                [Problem(file, None, col, f"not in the header ({', '.join(table.column_names)})")],
            )
        folded = pc.utf8_lower(pc.utf8_trim_whitespace(text(table[name])))
        wanted = pa.array([v.strip().lower() for v in values], TEXT)
        kept &= pc.is_in(folded, value_set=wanted).to_numpy(zero_copy_only=False)
    return kept


def _column_named(columns: list[str], name: str) -> str | None:
    if name in columns:
        return name
    folded = name.strip().casefold()
    return next((c for c in columns if c.strip().casefold() == folded), None)


__all__ = ["BLANK", "CODE", "REASONS", "TRANSACTION", "RowPlan", "plan_rows", "text"]
