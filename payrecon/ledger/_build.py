"""From the classified records to the ledger table: money, sign, currency, status and date.

Only the transaction rows are parsed (set-aside rows keep their text as they were), so a
``Total`` row's ``1.553.000,00-`` never becomes a bad cell. What is decided from the data rather
than stated by the mapping (decimal mark, sign convention, date order, where the currency came
from) is recorded in ``ledger.attrs["payrecon"]`` for ``payrecon inspect`` and the command to say.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from payrecon.amounts import currency_tokens, parse_amounts
from payrecon.currency import currency_of_token, known_codes
from payrecon.errors import InputError, Problem
from payrecon.ledger._dates import parse_dates
from payrecon.ledger._rows import CODE, REASONS, TRANSACTION, RowPlan, plan_rows, text
from payrecon.ledger._source import Source
from payrecon.ledger.mapping import (
    MONEY_ROLES,
    REQUIRED_ROLES,
    Mapping,
    detect_columns,
    split_header_currency,
)
from payrecon.platform import ID_RULE
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
#: How many cells of a money column the decimal-mark vote reads.
_SAMPLE = 20_000


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


# -- columns ----------------------------------------------------------------------------------


def resolve(src: Source, m: Mapping, *, file: str) -> Mapping:
    """The mapping's columns matched to the header (names compared trimmed, any case), or found
    by common names, and the id column by content when no name says.

    A mapping that names no currency column still gets one found by name (``Currency``,
    ``Währung``, ``Mata Uang``): without it no currency is compared, which is never what a
    mapping that merely left it out meant.
    """
    header = list(src.layout.header)
    if m.columns:
        cols: dict[str, str] = {}
        missing: list[Problem] = []
        for role, name in m.columns.items():
            hit = _match_name(header, name)
            if hit is None:
                missing.append(
                    Problem(
                        file,
                        src.layout.header_line or None,
                        name,
                        f"column for {role} not in the ledger's header",
                    )
                )
            else:
                cols[role] = hit
        if missing:
            raise InputError(
                f"{file}: the mapping names columns the ledger does not have (header found at "
                f"line {src.layout.header_line}: {', '.join(map(repr, header))})"
                + _header_hint(src),
                missing,
            )
        if "currency" not in cols and m.currency is None:
            guess = detect_columns(header).get("currency")
            if guess is not None and guess not in cols.values():
                cols["currency"] = guess
        return m.with_columns(cols, detected=False)
    found = detect_columns(header)
    pattern = m.id_pattern
    if "id_payout" in found:
        if pattern is None:
            pattern = _inferred_pattern(src.table, found["id_payout"])
    else:
        by_content = _id_by_content(src.table, exclude=set(found.values()))
        if by_content is not None:
            found["id_payout"], pattern = by_content[0], pattern or by_content[1]
    absent = [r for r in REQUIRED_ROLES if r not in found]
    if "amount" in absent and any(r in found for r in ("debit", "credit")):
        absent.remove("amount")
    if absent:
        raise InputError(
            f"{file}: cannot tell which column is {' or '.join(absent)} (header found at line "
            f"{src.layout.header_line}: {', '.join(map(repr, header))}); name them in a mapping "
            "file's [columns] (payrecon inspect --write-mapping writes one to edit)"
            + _header_hint(src)
        )
    return replace(m.with_columns(found, detected=True), id_pattern=pattern)


#: A payout-id-like token's prefix: letters and a separator, digits to follow (``PO-2024-...``).
_PREFIX = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,8}[-_])(?=[A-Za-z0-9_-]*\d)")


def _cells(table: pa.Table, name: str) -> list[str]:
    return [v.strip() for v in text(table[name].slice(0, 2000)).to_pylist() if v and v.strip()]


def _shared_prefix(values: list[str]) -> tuple[str, float] | None:
    """The token prefix most cells carry, and the share of cells that carry it."""
    counts: Counter[str] = Counter()
    for v in values:
        counts.update({m.group(1) for m in _PREFIX.finditer(v)})
    if not counts or not values:
        return None
    prefix, n = counts.most_common(1)[0]
    return prefix, n / len(values)


def _pattern_for(prefix: str) -> str:
    return re.escape(prefix).replace("\\-", "-") + "[A-Za-z0-9_-]+"


def _inferred_pattern(table: pa.Table, name: str) -> str | None:
    """An ``id_pattern`` for a named id column that mixes payout ids with other text (a bank's
    reference field, QuickBooks' ``Num`` with cheque numbers): most cells share a prefix."""
    values = _cells(table, name)
    shared = _shared_prefix(values)
    if shared is None:
        return None
    prefix, share = shared
    # A bank's reference field is mostly text around the ids; an id column with one id typed
    # wrong ("PO 2026/0100") is not, and that id is reported as invalid, not taken apart.
    dirty = sum(1 for v in values if not ID_RULE.fullmatch(v)) >= 0.2 * len(values)
    # Only where some cells are not ids at all: a clean column (``PO-1``, ``12345``) keeps every
    # id as written, whatever most of them start with.
    return _pattern_for(prefix) if dirty and share >= 0.3 else None


def _id_by_content(table: pa.Table, *, exclude: set[str]) -> tuple[str, str | None] | None:
    """The column that holds payout ids, by content: first one whose cells mostly carry tokens
    with one prefix (``PO-...`` in a purpose field: the pattern comes along), else one whose
    values look like ids (nearly all obey the platform's id rule, distinct, letters and digits
    mixed: amounts and dates break the rule on ``.``, row counters have no letters)."""
    best_prefix: tuple[float, str, str, list[str]] | None = None
    best_clean: tuple[float, str] | None = None
    for name in table.column_names:
        if name in exclude:
            continue
        values = _cells(table, name)
        if len(values) < 2:
            continue
        shared = _shared_prefix(values)
        if (
            shared is not None
            and shared[1] >= 0.3
            and (best_prefix is None or shared[1] > best_prefix[0])
        ):
            best_prefix = (shared[1], name, _pattern_for(shared[0]), values)
        ok = [v for v in values if ID_RULE.fullmatch(v)]
        share = len(ok) / len(values)
        distinct = len(set(ok)) / max(len(ok), 1)
        mixed = sum(1 for v in ok if re.search(r"[A-Za-z]", v) and re.search(r"\d", v))
        if (share >= 0.8 and distinct >= 0.9 and mixed * 2 >= len(ok)) and (
            best_clean is None or share * distinct > best_clean[0]
        ):
            best_clean = (share * distinct, name)
    if best_prefix is not None:
        _, name, pattern, values = best_prefix
        if all(ID_RULE.fullmatch(v) for v in values):
            return name, None  # clean ids: each is taken as written (see _inferred_pattern)
        return name, pattern
    return (best_clean[1], None) if best_clean else None


def _header_hint(src: Source) -> str:
    if src.layout.detected and len([h for h in src.layout.raw_header if h]) <= 2:
        return "; the header found looks like a title: set [parse] header_row"
    return ""


def _match_name(header: list[str], name: str) -> str | None:
    if name in header:
        return name
    folded = name.strip().casefold()
    return next((h for h in header if h.strip().casefold() == folded), None)


# -- the table ----------------------------------------------------------------------------------


def build(src: Source, m: Mapping, *, file: str) -> pd.DataFrame:
    """The ledger table (see :mod:`payrecon.ledger`) with its rows set aside in its attrs."""
    m = resolve(src, m, file=file)
    plan = plan_rows(src, m, file=file)
    reason = plan.reason
    cols = m.columns
    table = src.table
    candidates = np.flatnonzero(reason == TRANSACTION)
    whole = len(candidates) == table.num_rows
    sub = table if whole else table.take(pa.array(candidates, pa.int64()))
    rows = src.rows if whole else src.rows[candidates]
    ids = plan.ids if whole else pc.take(plan.ids, pa.array(candidates, pa.int64()))
    problems: list[Problem] = []
    facts: dict[str, Any] = {}

    # Money: the decimal mark voted on a sample, then one parse (and, unless a mapping said, a
    # second with the other mark when the first leaves cells unread).
    money_roles = [r for r in MONEY_ROLES if r in cols]
    decimal = m.decimal or _vote_decimal(
        [sub[cols[r]] for r in [*money_roles, *(["fee"] if "fee" in cols else [])]],
        prefer_comma=src.layout.delimiter == ";",
    )
    signed, bad, decimal = _money(sub, m, money_roles, rows, decimal, file)
    problems += bad
    facts["decimal"] = decimal
    facts["decimal_detected"] = m.decimal is None

    # Sign: which way the payouts are booked, read off the rows that carry an id.
    out_negative, other = _direction(signed, ids)
    sign = m.amount_sign or ("abs" if out_negative else "as_is")
    facts["sign"] = sign
    facts["sign_detected"] = m.amount_sign is None
    facts["payouts_booked"] = "negative" if out_negative else "positive"
    if other.any():
        reason[candidates[other]] = CODE["other_direction"]
        keep = ~other
        sub, rows, ids = sub.filter(pa.array(keep)), rows[keep], ids.filter(pa.array(keep))
        signed = signed.filter(pa.array(keep))
        candidates = candidates[keep]
        kept_rows = set(rows.tolist())
        problems = [p for p in problems if p.row in kept_rows]  # cells of rows set aside
    wide = src.wide[candidates] if len(src.wide) else src.wide
    for i in np.flatnonzero(wide):
        problems.append(
            Problem(
                file,
                int(rows[i]),
                None,
                f"more fields than the header's {len(src.layout.header)} columns",
            )
        )
    flip: Callable[[Any], Any] = {"as_is": lambda a: a, "abs": pc.abs, "negate": pc.negate}[sign]
    amount = flip(signed)
    if "fee" in cols:
        fee, bad = parse_amounts(
            sub[cols["fee"]],
            column=cols["fee"],
            file=file,
            rows=rows,
            decimal=decimal,
            thousands=m.thousands,
            required=False,
        )
        problems += bad
        fee = flip(fee)
    else:
        fee = pa.nulls(len(rows), MONEY_TYPE)

    currency, bad, facts["currency_from"] = _currency(
        src, m, sub, candidates, plan, money_roles, rows, file
    )
    problems += bad

    if "status" in cols:
        status = _blank_to_null(text(sub[cols["status"]]))
        status_mapped = _map_words(
            pc.utf8_upper(pc.utf8_trim_whitespace(status)), m.status_lookup()
        )
    else:
        status = status_mapped = pa.nulls(len(rows), TEXT)

    if "date" in cols:
        reading = parse_dates(
            sub[cols["date"]],
            date_format=m.date_format,
            dayfirst=m.dayfirst,
            prefer_dayfirst=decimal == "," or src.layout.delimiter == ";",
            column=cols["date"],
            file=file,
            rows=rows,
        )
        problems += reading.problems
        dates = reading.values
        facts["dates"] = reading.order
        facts["dates_guessed"] = reading.guessed
    else:
        dates = pd.Series(pd.NaT, index=range(len(rows)), dtype="datetime64[us, UTC]")

    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InputError(
            f"{file}: cells that cannot be read; the ledger was not loaded"
            + _cell_hint(problems, src),
            problems,
        )

    set_aside = _set_aside(src, reason)
    out: dict[str, Any] = {
        "source_row": pd.Series(rows, dtype="int64"),
        "id_payout": _series(ids, STRING),
        "amount": _series(amount, MONEY),
        "currency": _series(currency, STRING),
        "fee": _series(fee, MONEY),
        "status": _series(status, STRING),
        "status_mapped": _series(status_mapped, STRING),
        "date": dates.reset_index(drop=True),
    }
    for name in sub.column_names:
        out[RAW_PREFIX + name] = _series(text(sub[name]), STRING)
    frame = pd.DataFrame(out)
    frame.attrs["payrecon"] = {
        "source": file,
        "mapping": m.source,
        "columns": dict(cols),
        "detected": m.detected,
        "has_currency": facts["currency_from"] != "none",
        "has_fee": "fee" in cols,
        "has_status": "status" in cols,
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
    return frame


def _direction(signed: pa.Array, ids: Any) -> tuple[bool, np.ndarray]:
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


def _money(
    sub: pa.Table, m: Mapping, roles: list[str], rows: np.ndarray, decimal: str, file: str
) -> tuple[pa.Array, list[Problem], str]:
    """The signed amount of each row: the amount column, or debit - credit (the one filled)."""

    def parse(mark: str) -> tuple[pa.Array, list[Problem]]:
        if "amount" in roles:
            return parse_amounts(
                sub[m.columns["amount"]],
                column=m.columns["amount"],
                file=file,
                rows=rows,
                decimal=mark,
                thousands=m.thousands,
            )
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
        amount = pc.cast(
            pc.subtract(pc.coalesce(debit, zero), pc.coalesce(credit, zero)), MONEY_TYPE
        )
        return amount, sorted(bad, key=lambda p: p.row or 0)

    amount, bad = parse(decimal)
    if bad and m.decimal is None and m.thousands is None:
        other = "," if decimal == "." else "."
        amount2, bad2 = parse(other)
        if len(bad2) < len(bad):
            return amount2, bad2, other
    return amount, bad, decimal


_COMMA_DECIMAL = r"\d,\d{1,2}\)?[-−]?$|\d\.\d{3},\d"
_DOT_DECIMAL = r"\d\.\d{1,2}\)?[-−]?$|\d,\d{3}\.\d"
_DOT_GROUPS = r"^[^,]*\d\.\d{3}\)?[-−]?$"


def _vote_decimal(columns: list[pa.ChunkedArray | pa.Array], *, prefer_comma: bool) -> str:
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


def _currency(
    src: Source,
    m: Mapping,
    sub: pa.Table,
    candidates: np.ndarray,
    plan: RowPlan,
    money_roles: list[str],
    rows: np.ndarray,
    file: str,
) -> tuple[pa.Array, list[Problem], str]:
    """Each row's currency: its column (checked: a code or an unambiguous symbol), else a code
    or symbol in its money cell, its section heading, the money column's header, ``[parse]
    currency``. Returns the column, the bad cells and where it came from."""
    n = len(rows)
    problems: list[Problem] = []
    if "currency" in m.columns:
        name = m.columns["currency"]
        raw = pc.utf8_trim_whitespace(text(sub[name]))
        upper = pc.utf8_upper(raw)
        cur = upper
        distinct = {v for v in pc.unique(raw).to_pylist() if v}  # a handful, in any export
        if not all(v.upper() in known_codes() for v in distinct):
            values = raw.to_pylist()
            mapped = []
            for i, v in enumerate(values):
                code = currency_of_token(v) if v else ""
                if code is None:
                    problems.append(
                        Problem(file, int(rows[i]), name, f"not a currency code: {v[:40]!r}")
                    )
                mapped.append(code or "")
            cur = pa.array(mapped, TEXT)
        cur = _blank_to_null(cur)
        if m.currency:
            cur = pc.fill_null(cur, m.currency)
        return cur, problems, "column"
    fallbacks: list[tuple[str, pa.Array]] = []
    for role in money_roles:
        tokens = currency_tokens(sub[m.columns[role]])
        if tokens.null_count < len(tokens):
            mapped = pa.array(
                [None if t is None else currency_of_token(t) for t in tokens.to_pylist()], TEXT
            )
            fallbacks.append(("cells", mapped))
    if plan.section_currency is not None:
        sec = [plan.section_currency[i] for i in candidates]
        fallbacks.append(("section", pa.array(sec, TEXT)))
    header_codes = [split_header_currency(m.columns[r])[1] for r in money_roles]
    header_code = next((c for c in header_codes if c), None)
    if header_code:
        fallbacks.append(("header", pa.array([header_code] * n, TEXT)))
    if m.currency:
        fallbacks.append(("parse.currency", pa.array([m.currency] * n, TEXT)))
    if not fallbacks:
        return pa.nulls(n, TEXT), problems, "none"
    cur = pc.coalesce(*[f for _, f in fallbacks])
    return cur, problems, "+".join(k for k, _ in fallbacks)


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
