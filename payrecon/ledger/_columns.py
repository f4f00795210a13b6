"""Which ledger column plays which role: the mapping's names matched to the header, or, without
them, the common names in several languages, and the payout-id column by its content.

A bank's statement often has no id column at all, only a purpose field where the payout id
stands inside other text (``Payout PO-2024-0703 April``): the column whose cells mostly carry
tokens with one prefix is the id column, and that prefix becomes the ``id_pattern`` that takes
the id out of the text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import pyarrow as pa

from payrecon.errors import InputError, Problem
from payrecon.ledger._rows import text
from payrecon.ledger._source import Source
from payrecon.ledger.mapping import REQUIRED_ROLES, Mapping, detect_columns
from payrecon.platform import ID_RULE


def resolve(src: Source, m: Mapping, *, file: str) -> Mapping:
    """The mapping's columns matched to the header (names compared trimmed, any case), or found
    by common names, and the id column by content when no name says.

    A mapping that names no currency column still gets one found by name (``Currency``,
    ``Währung``, ``Mata Uang``): without it no currency is compared, which is never what a
    mapping that merely left it out meant.
    """
    if m.columns:
        return _named_columns(src, m, file)
    return _detected_columns(src, m, file)


def _named_columns(src: Source, m: Mapping, file: str) -> Mapping:
    """The mapping's columns as the header spells them; every name the header lacks is
    reported at once, with the header found, since the header row found may be the wrong one."""
    header = list(src.layout.header)
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
            f"line {src.layout.header_line}: {', '.join(map(repr, header))})" + _header_hint(src),
            missing,
        )
    if "currency" not in cols and m.currency is None:
        guess = detect_columns(header).get("currency")
        if guess is not None and guess not in cols.values():
            cols["currency"] = guess
    return m.with_columns(cols, detected=False)


def _detected_columns(src: Source, m: Mapping, file: str) -> Mapping:
    """Without a mapping's columns: each role by its common names, the id column by content
    when no name says (with the ``id_pattern`` its cells suggest); a required role not found
    stops the read, pointing at the mapping that would settle it."""
    header = list(src.layout.header)
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


__all__ = ["resolve"]
