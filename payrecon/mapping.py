"""The ledger mapping: which ledger column means what, and how the export writes its values.

A mapping comes from a TOML file (``interface.md`` fixes its three tables, ``[columns]``,
``[parse]`` and ``[status_map]``) or, when there is none, from the ledger's own header by common
names (:func:`detect_columns`). Either way the result is one frozen :class:`Mapping`, so the reader
never has to ask where a setting came from; ``detected`` says whether columns were guessed, so the
command can show which ones it used.

Unknown keys are errors, not silently ignored: a typo such as ``thousand = "."`` would otherwise
change every amount without a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from payrecon.errors import InputError, Problem
from payrecon.tomlfile import read_toml

#: The roles a ledger column can play; only ``id_payout`` and ``amount`` are required.
ROLES = ("id_payout", "amount", "currency", "fee", "status", "date")
REQUIRED_ROLES = ("id_payout", "amount")

#: Header names recognised without a mapping, best first; compared lower-cased with every
#: character that is not a letter or digit removed (so ``Merchant Order ID`` = ``merchantorderid``).
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "id_payout": (
        "idpayout",
        "payoutid",
        "merchantorderid",
        "orderid",
        "merchantreference",
        "payoutreference",
        "idpayment",
        "paymentid",
        "transactionid",
        "reference",
        "id",
    ),
    "amount": ("amount", "payoutamount", "paymentamount", "amt", "value", "sum", "total"),
    "currency": ("currency", "currencycode", "ccy", "cur", "curr"),
    "fee": ("fee", "feeamount", "fees", "commission", "charge", "charges"),
    "status": ("status", "state", "payoutstatus", "paymentstatus"),
    "date": (
        "date",
        "bookingdate",
        "valuedate",
        "postingdate",
        "transactiondate",
        "createdat",
        "created",
        "paymentdate",
        "payoutdate",
    ),
}

AmountSign = Literal["as_is", "abs", "negate"]
_PARSE_KEYS = {
    "delimiter",
    "decimal",
    "thousands",
    "amount_sign",
    "date_format",
    "dayfirst",
    "encoding",
    "sheet",
    "header_row",
    "currency",
}


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class Mapping:
    """How to read one ledger export.

    Attributes
    ----------
    columns
        Role (``id_payout``, ``amount``, ``currency``, ``fee``, ``status``, ``date``) to the
        ledger's column name. Empty means: find them by common names.
    delimiter
        CSV delimiter; ``None`` sniffs it among ``, ; TAB |`` (falling back to ``,``).
    decimal, thousands
        Decimal mark and grouping mark of amounts (see :mod:`payrecon.amounts`). ``decimal``
        ``None`` (no mapping says) tries ``.`` and, when that leaves cells unread, ``,``.
    amount_sign
        ``"as_is"``; ``"abs"`` for payouts booked as negative debits; ``"negate"`` to flip.
    status_map
        Ledger status word (matched trimmed and case-insensitively) to platform status. Words not
        in the map are compared upper-cased as they are.
    date_format, dayfirst
        ``strftime`` format of the date column, or ``None`` to accept ISO 8601 and common forms.
    encoding
        Text encoding of a CSV file.
    sheet
        Excel sheet name or 0-based index.
    header_row
        1-based line (CSV) or sheet row (Excel) holding the header; rows above it are skipped.
    currency
        The ledger's currency when it has no currency column (a single-currency export).
    source
        Where the mapping came from (a file path, or ``"detected"``), for messages.
    detected
        True when columns were found by common names rather than named by a mapping file.
    """

    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    amount_sign: AmountSign = "as_is"
    status_map: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    dayfirst: bool = False
    encoding: str = "utf-8"
    sheet: str | int = 0
    header_row: int = 1
    currency: str | None = None
    source: str = "defaults"
    detected: bool = False

    def with_columns(self, columns: dict[str, str], *, detected: bool) -> Mapping:
        """A copy with the column roles filled in."""
        return replace(self, columns=dict(columns), detected=detected)

    def status_lookup(self) -> dict[str, str]:
        """``status_map`` with keys trimmed and upper-cased and values upper-cased."""
        return {k.strip().upper(): v.strip().upper() for k, v in self.status_map.items()}


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping TOML file; every mistake in it is reported at once as an ``InputError``."""
    path = Path(path)
    return mapping_from_dict(read_toml(path, "mapping file"), source=str(path))


def mapping_from_dict(doc: MappingABC[str, Any], *, source: str = "<dict>") -> Mapping:
    """Build a :class:`Mapping` from the parsed TOML document (or an equivalent dict)."""
    problems: list[Problem] = []

    def bad(where: str, msg: str) -> None:
        problems.append(Problem(source, None, where, msg))

    for key in doc:
        if key not in {"columns", "parse", "status_map"}:
            bad(key, "unknown table (expected [columns], [parse], [status_map])")
    columns = dict(doc.get("columns", {}))
    for role, col in columns.items():
        if role not in ROLES:
            bad(f"columns.{role}", f"unknown role (expected one of {', '.join(ROLES)})")
        elif not isinstance(col, str) or not col:
            bad(f"columns.{role}", "must be a column name (a non-empty string)")
    if columns:
        for role in REQUIRED_ROLES:
            if role not in columns:
                bad(f"columns.{role}", "is required")
    parse = dict(doc.get("parse", {}))
    for key in parse:
        if key not in _PARSE_KEYS:
            bad(
                f"parse.{key}",
                f"unknown setting (expected one of {', '.join(sorted(_PARSE_KEYS))})",
            )
    kw: dict[str, Any] = {}
    for key in ("delimiter", "decimal", "thousands", "date_format", "encoding", "currency"):
        if key in parse:
            if not isinstance(parse[key], str):
                bad(f"parse.{key}", "must be a string")
            else:
                kw[key] = parse[key]
    if "delimiter" in kw and len(kw["delimiter"]) != 1:
        bad("parse.delimiter", "must be one character")
    if kw.get("decimal", ".") not in {".", ","}:
        bad("parse.decimal", "must be '.' or ','")
    if "thousands" in kw and kw["thousands"] not in {".", ",", " ", "'", ""}:
        bad("parse.thousands", "must be '.', ',', ' ', \"'\" or ''")
    if kw.get("thousands") == "":
        kw["thousands"] = None
    if kw.get("thousands") is not None and kw.get("thousands") == kw.get("decimal"):
        bad("parse.thousands", "must differ from the decimal mark")
    if "currency" in kw:
        kw["currency"] = kw["currency"].strip().upper()
    if "amount_sign" in parse:
        if parse["amount_sign"] not in ("as_is", "abs", "negate"):
            bad("parse.amount_sign", "must be 'as_is', 'abs' or 'negate'")
        else:
            kw["amount_sign"] = parse["amount_sign"]
    if "dayfirst" in parse:
        if not isinstance(parse["dayfirst"], bool):
            bad("parse.dayfirst", "must be true or false")
        else:
            kw["dayfirst"] = parse["dayfirst"]
    if "sheet" in parse:
        if not isinstance(parse["sheet"], str | int) or isinstance(parse["sheet"], bool):
            bad("parse.sheet", "must be a sheet name or a 0-based index")
        else:
            kw["sheet"] = parse["sheet"]
    if "header_row" in parse:
        hr = parse["header_row"]
        if not isinstance(hr, int) or isinstance(hr, bool) or hr < 1:
            bad("parse.header_row", "must be a positive integer")
        else:
            kw["header_row"] = hr
    status_map = dict(doc.get("status_map", {}))
    for word, status in status_map.items():
        if not isinstance(status, str) or not status.strip():
            bad(f"status_map.{word}", "must map to a platform status (a non-empty string)")
    folded: dict[str, str] = {}
    for word in status_map:
        key = word.strip().upper()
        if key in folded:
            bad(f"status_map.{word}", f"same word as {folded[key]!r} (words are case-insensitive)")
        folded[key] = word
    if problems:
        raise InputError(f"{source}: bad mapping", problems)
    return Mapping(
        columns={k: v for k, v in columns.items() if isinstance(v, str)},
        status_map={str(k): str(v) for k, v in status_map.items()},
        source=source,
        **kw,
    )


def detect_columns(header: Iterable[str]) -> dict[str, str]:
    """Find each role's column among ``header`` by :data:`COMMON_NAMES` (best name first)."""
    by_norm: dict[str, str] = {}
    for name in header:
        by_norm.setdefault(_norm(str(name)), str(name))
    found: dict[str, str] = {}
    taken: set[str] = set()
    for role, names in COMMON_NAMES.items():
        for candidate in names:
            col = by_norm.get(candidate)
            if col is not None and col not in taken:
                found[role] = col
                taken.add(col)
                break
    return found


def resolve_columns(mapping: Mapping, header: list[str], *, file: str) -> Mapping:
    """The mapping with its columns checked against the header, or detected from it."""
    if mapping.columns:
        missing = [
            Problem(file, mapping.header_row, col, f"column for {role} not in the ledger's header")
            for role, col in mapping.columns.items()
            if col not in header
        ]
        if missing:
            raise InputError(
                f"{file}: the mapping names columns the ledger does not have "
                f"(header: {', '.join(map(repr, header))})",
                missing,
            )
        return mapping
    found = detect_columns(header)
    absent = [role for role in REQUIRED_ROLES if role not in found]
    if absent:
        raise InputError(
            f"{file}: cannot tell which column is {' or '.join(absent)} "
            f"(header: {', '.join(map(repr, header))}); name them in a mapping file's [columns]"
        )
    return mapping.with_columns(found, detected=True)


__all__ = [
    "COMMON_NAMES",
    "REQUIRED_ROLES",
    "ROLES",
    "Mapping",
    "detect_columns",
    "load_mapping",
    "mapping_from_dict",
    "resolve_columns",
]
