"""From the classified records to the ledger table: money, sign, currency, status and date.

Only the transaction rows are parsed (set-aside rows keep their text as they were), so a
``Total`` row's ``1.553.000,00-`` never becomes a bad cell. What is decided from the data rather
than stated by the mapping (decimal mark, sign convention, date order, where the currency came
from) is recorded in ``ledger.attrs["payrecon"]`` for ``payrecon inspect`` and the command to say.

:func:`build` reads as the steps in order; which column is which comes from
:mod:`payrecon.ledger._columns`, the decimal mark, amounts and sign from
:mod:`payrecon.ledger._money`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import currency_tokens, parse_amounts
from payrecon.currency import currency_of_token, known_codes
from payrecon.errors import InputError, Problem
from payrecon.ledger._columns import resolve
from payrecon.ledger._dates import parse_dates
from payrecon.ledger._money import direction, signed_amounts, vote_decimal
from payrecon.ledger._rows import CODE, REASONS, TRANSACTION, RowPlan, plan_rows, text
from payrecon.ledger._source import Source
from payrecon.ledger.mapping import MONEY_ROLES, Mapping, split_header_currency
from payrecon.statuses._table import MONEY, MONEY_TYPE, STRING, TEXT

RAW_PREFIX = "raw."
LEDGER_COLUMNS = (
    "source_row",
    "id_payout",
    "amount",
    "currency",
    "fee",
    "status",
    "status_mapped",
    "date",
)


@dataclass(frozen=True)
class SetAside:
    """Rows read but not ledger rows, with their reason and raw line. Immutable: pandas copies a
    frame's ``attrs`` deeply on every operation, and this one is shared instead of copied."""

    source_row: tuple[int, ...]
    reason: tuple[str, ...]
    line: tuple[str, ...]

    def __deepcopy__(self, memo: dict[int, Any]) -> SetAside:
        return self

    def __len__(self) -> int:
        return len(self.source_row)

    def counts(self) -> dict[str, int]:
        """Rows set aside by reason, in :data:`REASONS` order."""
        c = Counter(self.reason)
        return {r: c[r] for r in REASONS if c[r]}

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "source_row": pd.Series(self.source_row, dtype="int64"),
                "reason": pd.Series(self.reason, dtype=STRING),
                "line": pd.Series(self.line, dtype=STRING),
            }
        )


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transactions:
    """The rows that are parsed (the transaction rows; set-aside rows keep their text): where
    they are in the source table, their cells, their lines in the file and their payout ids."""

    at: np.ndarray
    table: pa.Table
    lines: np.ndarray
    ids: pa.Array

    def keep(self, mask: np.ndarray) -> _Transactions:
        """Only the rows where ``mask`` holds."""
        kept = pa.array(mask)
        return _Transactions(
            self.at[mask], self.table.filter(kept), self.lines[mask], self.ids.filter(kept)
        )


@dataclass
class _Found:
    """What the reader finds on its way: the cells it cannot read (all of them are reported at
    once), and what it decided from the data rather than the mapping (for ``inspect``)."""

    problems: list[Problem] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


_FLIPS: dict[str, Callable[[Any], Any]] = {
    "as_is": lambda a: a,
    "abs": pc.abs,
    "negate": pc.negate,
}


def build(src: Source, m: Mapping, *, file: str) -> pd.DataFrame:
    """The ledger table (see :mod:`payrecon.ledger`) with its rows set aside in its attrs.

    The steps, in ``docs/ledger.md``'s order: the columns and the rows, the money (decimal mark,
    then sign), the fee, the currency, the status, the dates; then every bad cell at once, or the
    table.
    """
    m = resolve(src, m, file=file)
    plan = plan_rows(src, m, file=file)
    rows = _transactions(src, plan)
    found = _Found()
    signed, decimal = _signed_money(src, m, rows, file, found)
    rows, signed, sign = _sign(m, rows, signed, plan.reason, found)
    _wide_rows(src, rows, file, found)
    amount = _FLIPS[sign](signed)
    fee = _fee(m, rows, decimal, _FLIPS[sign], file, found)
    currency = _currency(m, rows, plan, file, found)
    status, status_mapped = _status(m, rows)
    dates = _dates(src, m, rows, decimal, file, found)
    _stop_on_bad_cells(found.problems, src, file)
    frame = pd.DataFrame(
        {
            "source_row": pd.Series(rows.lines, dtype="int64"),
            "id_payout": _series(rows.ids, STRING),
            "amount": _series(amount, MONEY),
            "currency": _series(currency, STRING),
            "fee": _series(fee, MONEY),
            "status": _series(status, STRING),
            "status_mapped": _series(status_mapped, STRING),
            "date": dates.reset_index(drop=True),
            **_raw_columns(rows.table),
        }
    )
    frame.attrs["payrecon"] = _attrs(src, m, file, frame, _set_aside(src, plan.reason), found.facts)
    return frame


def _raw_columns(table: pa.Table) -> dict[str, pd.Series]:
    """Every column of the file as text beside the parsed ones (``raw.<name>``), so a person can
    see what the row said."""
    return {RAW_PREFIX + name: _series(text(table[name]), STRING) for name in table.column_names}


def _transactions(src: Source, plan: RowPlan) -> _Transactions:
    """The transaction rows of the plan; the whole table, uncopied, when every row is one (a
    machine export)."""
    at = np.flatnonzero(plan.reason == TRANSACTION)
    if len(at) == src.table.num_rows:
        return _Transactions(at, src.table, src.rows, plan.ids)
    taken = pa.array(at, pa.int64())
    return _Transactions(at, src.table.take(taken), src.rows[at], pc.take(plan.ids, taken))


def _money_roles(m: Mapping) -> list[str]:
    return [r for r in MONEY_ROLES if r in m.columns]


def _signed_money(
    src: Source, m: Mapping, rows: _Transactions, file: str, found: _Found
) -> tuple[pa.Array, str]:
    """Each row's amount as booked, and the decimal mark: voted on a sample of the money cells
    (fee included) unless the mapping says, then one parse (and a second with the other mark
    when the first leaves cells unread)."""
    money_roles = _money_roles(m)
    voters = [*money_roles, *(["fee"] if "fee" in m.columns else [])]
    decimal = m.decimal or vote_decimal(
        [rows.table[m.columns[r]] for r in voters], prefer_comma=src.layout.delimiter == ";"
    )
    signed, bad, decimal = signed_amounts(rows.table, m, money_roles, rows.lines, decimal, file)
    found.problems += bad
    found.facts["decimal"] = decimal
    found.facts["decimal_detected"] = m.decimal is None
    return signed, decimal


def _sign(
    m: Mapping, rows: _Transactions, signed: pa.Array, reason: np.ndarray, found: _Found
) -> tuple[_Transactions, pa.Array, str]:
    """The sign convention, read off the rows that carry an id (payouts booked negative are
    compared by magnitude), and the rows without an id booked the other way set aside as
    ``other_direction``: money coming in is not a payout. Their bad cells go with them."""
    out_negative, other = direction(signed, rows.ids)
    sign = m.amount_sign or ("abs" if out_negative else "as_is")
    found.facts["sign"] = sign
    found.facts["sign_detected"] = m.amount_sign is None
    found.facts["payouts_booked"] = "negative" if out_negative else "positive"
    if not other.any():
        return rows, signed, sign
    reason[rows.at[other]] = CODE["other_direction"]
    keep = ~other
    rows = rows.keep(keep)
    kept_lines = set(rows.lines.tolist())
    found.problems[:] = [p for p in found.problems if p.row in kept_lines]
    return rows, signed.filter(pa.array(keep)), sign


def _wide_rows(src: Source, rows: _Transactions, file: str, found: _Found) -> None:
    """A transaction row with more fields than the header is a bad row, not a guess: its cells
    may have slid one column over (an unquoted delimiter in a cell)."""
    wide = src.wide[rows.at] if len(src.wide) else src.wide
    width = len(src.layout.header)
    for i in np.flatnonzero(wide):
        found.problems.append(
            Problem(
                file, int(rows.lines[i]), None, f"more fields than the header's {width} columns"
            )
        )


def _fee(
    m: Mapping,
    rows: _Transactions,
    decimal: str,
    flip: Callable[[Any], Any],
    file: str,
    found: _Found,
) -> pa.Array:
    """The fee column read like the money (same decimal mark, same sign), blank cells allowed;
    all missing when the ledger has no fee column."""
    if "fee" not in m.columns:
        return pa.nulls(len(rows.lines), MONEY_TYPE)
    name = m.columns["fee"]
    fee, bad = parse_amounts(
        rows.table[name],
        column=name,
        file=file,
        rows=rows.lines,
        decimal=decimal,
        thousands=m.thousands,
        required=False,
    )
    found.problems += bad
    return flip(fee)


def _status(m: Mapping, rows: _Transactions) -> tuple[pa.Array, pa.Array]:
    """The status words as written, and mapped through ``[status_map]`` (trimmed, any case), so
    the core compares platform statuses; all missing when the ledger has no status column."""
    if "status" not in m.columns:
        missing = pa.nulls(len(rows.lines), TEXT)
        return missing, missing
    status = _blank_to_null(text(rows.table[m.columns["status"]]))
    return status, _map_words(pc.utf8_upper(pc.utf8_trim_whitespace(status)), m.status_lookup())


def _dates(
    src: Source, m: Mapping, rows: _Transactions, decimal: str, file: str, found: _Found
) -> pd.Series:
    """The booking dates, one format for the whole column (:mod:`payrecon.ledger._dates`); a
    decimal comma or ``;`` tips an undecidable column to day first. All missing without a
    date column."""
    if "date" not in m.columns:
        return pd.Series(pd.NaT, index=range(len(rows.lines)), dtype="datetime64[us, UTC]")
    name = m.columns["date"]
    reading = parse_dates(
        rows.table[name],
        date_format=m.date_format,
        dayfirst=m.dayfirst,
        prefer_dayfirst=decimal == "," or src.layout.delimiter == ";",
        column=name,
        file=file,
        rows=rows.lines,
    )
    found.problems += reading.problems
    found.facts["dates"] = reading.order
    found.facts["dates_guessed"] = reading.guessed
    return reading.values


def _stop_on_bad_cells(problems: list[Problem], src: Source, file: str) -> None:
    """A ledger with unreadable cells is not loaded: every bad cell is named at once, in row
    order, with the likely fix, rather than reconciling a ledger with holes in it."""
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InputError(
            f"{file}: cells that cannot be read; the ledger was not loaded"
            + _cell_hint(problems, src),
            problems,
        )


def _attrs(
    src: Source,
    m: Mapping,
    file: str,
    frame: pd.DataFrame,
    set_aside: SetAside,
    facts: dict[str, Any],
) -> dict[str, Any]:
    """What ``payrecon inspect`` and the command say about the read: where each setting came
    from, what was detected, and the rows set aside (counted in the conservation proof)."""
    return {
        "source": file,
        "mapping": m.source,
        "columns": dict(m.columns),
        "detected": m.detected,
        "has_currency": facts["currency_from"] != "none",
        "has_fee": "fee" in m.columns,
        "has_status": "status" in m.columns,
        "kind": src.kind,
        "encoding": src.encoding,
        "encoding_detected": src.encoding_detected,
        "delimiter": src.layout.delimiter,
        "header_line": src.layout.header_line,
        "header_detected": src.layout.detected,
        "header": list(src.layout.header),
        "keep": {k: list(v) for k, v in m.keep.items()},
        "id_pattern": m.id_pattern,
        "thousands": m.thousands,
        "rows_read": len(frame) + len(set_aside),
        "set_aside": set_aside,
        **facts,
    }


def _currency(m: Mapping, rows: _Transactions, plan: RowPlan, file: str, found: _Found) -> pa.Array:
    """Each row's currency, from the first place that names it: its column, else a code or
    symbol in its money cell, its section heading, the money column's header, ``[parse]
    currency``. Where it came from is a fact ``inspect`` shows."""
    if "currency" in m.columns:
        found.facts["currency_from"] = "column"
        return _currency_column(m, rows, file, found)
    fallbacks = _currency_fallbacks(m, rows, plan)
    if not fallbacks:
        found.facts["currency_from"] = "none"
        return pa.nulls(len(rows.lines), TEXT)
    found.facts["currency_from"] = "+".join(k for k, _ in fallbacks)
    return pc.coalesce(*[f for _, f in fallbacks])


def _currency_column(m: Mapping, rows: _Transactions, file: str, found: _Found) -> pa.Array:
    """The currency column, checked: a code, or an unambiguous symbol turned into its code; any
    other cell is a bad cell. Blank cells take ``[parse] currency`` when given."""
    name = m.columns["currency"]
    raw = pc.utf8_trim_whitespace(text(rows.table[name]))
    cur = pc.utf8_upper(raw)
    distinct = {v for v in pc.unique(raw).to_pylist() if v}  # a handful, in any export
    if not all(v.upper() in known_codes() for v in distinct):
        mapped = []
        for i, v in enumerate(raw.to_pylist()):
            code = currency_of_token(v) if v else ""
            if code is None:
                found.problems.append(
                    Problem(file, int(rows.lines[i]), name, f"not a currency code: {v[:40]!r}")
                )
            mapped.append(code or "")
        cur = pa.array(mapped, TEXT)
    cur = _blank_to_null(cur)
    if m.currency:
        cur = pc.fill_null(cur, m.currency)
    return cur


def _currency_fallbacks(
    m: Mapping, rows: _Transactions, plan: RowPlan
) -> list[tuple[str, pa.Array]]:
    """Without a currency column, every other place that may name a row's currency, best first,
    each a column (null where it says nothing) and its name."""
    n = len(rows.lines)
    money_roles = _money_roles(m)
    fallbacks: list[tuple[str, pa.Array]] = []
    for role in money_roles:
        tokens = currency_tokens(rows.table[m.columns[role]])
        if tokens.null_count < len(tokens):
            mapped = pa.array(
                [None if t is None else currency_of_token(t) for t in tokens.to_pylist()], TEXT
            )
            fallbacks.append(("cells", mapped))
    if plan.section_currency is not None:
        sec = [plan.section_currency[i] for i in rows.at]
        fallbacks.append(("section", pa.array(sec, TEXT)))
    header_codes = [split_header_currency(m.columns[r])[1] for r in money_roles]
    header_code = next((c for c in header_codes if c), None)
    if header_code:
        fallbacks.append(("header", pa.array([header_code] * n, TEXT)))
    if m.currency:
        fallbacks.append(("parse.currency", pa.array([m.currency] * n, TEXT)))
    return fallbacks


def _cell_hint(problems: list[Problem], src: Source) -> str:
    if any("more fields" in p.message for p in problems):
        return (
            ": a row wider than the header often means an unquoted delimiter in a cell, "
            "or the wrong [parse] delimiter"
        )
    if any("not an amount" in p.message for p in problems):
        return (
            ": if such a row is a total, balance or heading, it has a payout id that makes "
            "it look like a payout; [rows] keep or id_pattern can exclude it"
        )
    return ""


def _set_aside(src: Source, reason: np.ndarray) -> SetAside:
    rows: list[int] = []
    why: list[str] = []
    lines: list[str] = []
    for n, t in src.preamble:
        rows.append(n)
        why.append("preamble")
        lines.append(t)
    idx = np.flatnonzero(reason > 0)
    for i in idx:
        line = int(src.rows[i])
        rows.append(line)
        why.append(REASONS[reason[i] - 1])
        lines.append(src.line_text(line))
    return SetAside(tuple(rows), tuple(why), tuple(lines))


def _blank_to_null(arr: Any) -> Any:
    blank = pc.equal(arr, "")
    if not pc.any(blank).as_py():
        return arr
    return pc.if_else(blank, pa.scalar(None, arr.type), arr)


def _map_words(folded: Any, lookup: dict[str, str]) -> Any:
    """Each word through ``lookup``, or itself when absent; blanks stay missing."""
    if lookup:
        keys = pa.array(list(lookup), TEXT)
        vals = pa.array(list(lookup.values()), TEXT)
        idx = pc.index_in(folded, value_set=keys)
        folded = pc.coalesce(pc.take(vals, idx), folded)
    return _blank_to_null(pc.fill_null(folded, ""))


def _series(arr: Any, dtype: Any) -> pd.Series:
    """An arrow column as a pandas column of ``dtype``, wrapping rather than copying."""
    if dtype is STRING:
        if arr.type != TEXT:
            arr = pc.cast(arr, TEXT)
        return pd.Series(pd.arrays.ArrowStringArray(arr))
    return pd.Series(pd.arrays.ArrowExtensionArray(arr)).astype(dtype)


__all__ = ["LEDGER_COLUMNS", "RAW_PREFIX", "SetAside", "build", "resolve"]
