"""The ledger mapping: which ledger column means what, and how the export writes its values.

A mapping comes from a TOML file (``interface.md`` fixes its four tables, ``[columns]``,
``[parse]``, ``[rows]`` and ``[status_map]``) or, when there is none, from the ledger's own header
by common names in several languages (:func:`detect_columns`). Either way the result is one
frozen :class:`Mapping`, so the reader never has to ask where a setting came from; ``detected``
says whether columns were guessed, so the command can show which ones it used.

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

from payrecon._tomlfile import read_toml
from payrecon.errors import InputError, Problem
from payrecon.ledger._mapping_tables import Mistakes, parse_table, rows_table, status_map_table

#: The roles a ledger column can play: ``id_payout`` is required, and ``amount`` or one or both
#: of ``debit`` and ``credit`` (ledgers with two money columns).
ROLES = ("id_payout", "amount", "debit", "credit", "currency", "fee", "status", "date")
REQUIRED_ROLES = ("id_payout", "amount")
MONEY_ROLES = ("amount", "debit", "credit")

#: Header names recognised without a mapping, best first; compared case-folded with every
#: character that is not a letter or digit removed (so ``Merchant Order ID`` = ``merchantorderid``)
#: and with a currency in the header taken off (``Amount (EUR)`` = ``amount``). English, German,
#: Indonesian, French, Spanish, Portuguese, Vietnamese and Thai: the platform's markets and the
#: tools its merchants' finance teams use (Thai, Vietnamese and Hindi exports mostly carry English).
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
        "invoicenumber",
        "rechnungsnummer",
        "reference",
        "referenz",
        "referensi",
        "id",
    ),
    "amount": (
        "amount",
        "payoutamount",
        "paymentamount",
        "amountinlc",
        "amountindoccurr",
        "amountindoccurrency",
        "amt",
        "betrag",
        "brutto",
        "gross",
        "jumlah",
        "nominal",
        "montant",
        "importe",
        "valor",
        "sotien",
        "จำนวนเงิน",
        "value",
        "sum",
        "total",
    ),
    "debit": ("debit", "soll", "paidout", "moneyout", "withdrawal", "withdrawals", "debet"),
    "credit": ("credit", "haben", "paidin", "moneyin", "deposit", "deposits", "kredit"),
    "currency": (
        "currency",
        "currencycode",
        "ccy",
        "crcy",
        "cur",
        "curr",
        "währung",
        "waehrung",
        "währg",
        "waehrg",
        "matauang",
        "devise",
        "moneda",
        "moeda",
        "tiente",
        "สกุลเงิน",
    ),
    "fee": (
        "fee",
        "feeamount",
        "fees",
        "gebühr",
        "gebühren",
        "biaya",
        "frais",
        "comisión",
        "comision",
        "taxa",
        "phí",
        "ค่าธรรมเนียม",
        "commission",
        "charge",
        "charges",
    ),
    "status": ("status", "state", "payoutstatus", "paymentstatus", "zustand", "trạngthái"),
    "date": (
        "date",
        "bookingdate",
        "valuedate",
        "postingdate",
        "pstngdate",
        "documentdate",
        "transactiondate",
        "createdat",
        "created",
        "paymentdate",
        "payoutdate",
        "datum",
        "buchungstag",
        "buchung",
        "buchungsdatum",
        "valuta",
        "tanggal",
        "fecha",
        "data",
        "ngày",
        "วันที่",
    ),
}

AmountSign = Literal["as_is", "abs", "negate"]
#: The tables of a mapping file.
_TABLES = ("columns", "parse", "rows", "status_map")


#: A currency named in a header: ``Amount (EUR)``, ``Betrag (€)``, ``Amount EUR``,
#: ``Betrag in EUR``.
_HEADER_CURRENCY = re.compile(
    r"^(?P<name>.*?)[\s_]*(?:\((?P<p>[^()]{1,4})\)|\[(?P<b>[^\[\]]{1,4})\]|"
    r"(?:\s+in)?\s+(?P<c>[A-Z]{3}))\s*$"
)


def _norm(name: str) -> str:
    return re.sub(r"[\W_]", "", name.casefold())


def split_header_currency(name: str) -> tuple[str, str | None]:
    """A header cell as (its name, the currency it names or ``None``): ``Amount (EUR)`` ->
    ``("Amount", "EUR")``; ``Betrag (€)`` -> ``("Betrag", "EUR")``. Only a real code or an
    unambiguous symbol counts: ``Amount (net)`` stays as it is."""
    from payrecon.currency import currency_of_token

    m = _HEADER_CURRENCY.match(name.strip())
    if m is None:
        return name, None
    token = m.group("p") or m.group("b") or m.group("c") or ""
    code = currency_of_token(token.strip())
    if code is None or not m.group("name").strip():
        return name, None
    return m.group("name").strip(), code


@dataclass(frozen=True)
class Mapping:
    """How to read one ledger export. ``None`` everywhere means: detect it from the file.

    Attributes
    ----------
    columns
        Role (``id_payout``, ``amount`` or ``debit``/``credit``, ``currency``, ``fee``,
        ``status``, ``date``) to the ledger's column name. Empty: found by common names.
    delimiter
        CSV delimiter; ``None`` sniffs it among ``, ; TAB |`` with the header.
    decimal, thousands
        Decimal mark and grouping mark of amounts (see :mod:`payrecon.amounts`). ``decimal``
        ``None``: decided from the money columns' text (see :mod:`payrecon.ledger`).
    amount_sign
        ``"as_is"``, ``"abs"`` (payouts booked as money out: compared by magnitude), ``"negate"``;
        ``None``: inferred from the rows that carry a payout id.
    status_map
        Ledger status word (matched trimmed and case-insensitively) to platform status. Words not
        in the map are compared upper-cased as they are.
    date_format, dayfirst
        ``strftime`` format of the date column, or ``None`` to detect it; ``dayfirst`` ``None``:
        decided from the whole column.
    encoding
        Text encoding of a CSV file; ``None``: detected (UTF-8 with or without BOM, UTF-16 with a
        BOM, cp1252 / latin-1).
    sheet
        Excel sheet name or 0-based index.
    header_row
        The header's line in the file, 1-based, blank lines counted (Excel: the sheet row);
        ``None``: found past any preamble.
    currency
        The ledger's currency when no column, cell, section heading or header names it.
    keep
        ``[rows] keep``: column name to the values that make a row a payout row; other rows are
        set aside as ``filtered``.
    id_pattern
        ``[rows] id_pattern``: the payout id is the first match of this regular expression in the
        id column's text (bank statements put it in a free-text field).
    source
        Where the mapping came from (a file path, or ``"defaults"``), for messages.
    detected
        True when columns were found by common names rather than named by a mapping file.
    """

    columns: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    amount_sign: AmountSign | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    dayfirst: bool | None = None
    encoding: str | None = None
    sheet: str | int = 0
    header_row: int | None = None
    currency: str | None = None
    keep: dict[str, tuple[str, ...]] = field(default_factory=dict)
    id_pattern: str | None = None
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
    """Build a :class:`Mapping` from the parsed TOML document (or an equivalent dict).

    One step per table, in the file's order; each notes its mistakes, and all of them are
    reported at once, so a user fixes the file in one go.
    """
    bad = Mistakes(source)
    _check_tables(doc, bad)
    columns = _columns_table(dict(doc.get("columns", {})), bad)
    settings = parse_table(dict(doc.get("parse", {})), bad)
    keep, id_pattern = rows_table(dict(doc.get("rows", {})), bad)
    if id_pattern is not None:
        settings["id_pattern"] = id_pattern
    status_map = status_map_table(dict(doc.get("status_map", {})), bad)
    bad.raise_any()
    return Mapping(
        columns={k: v for k, v in columns.items() if isinstance(v, str)},
        status_map={str(k): str(v) for k, v in status_map.items()},
        keep=keep,
        source=source,
        **settings,
    )


def _check_tables(doc: MappingABC[str, Any], bad: Mistakes) -> None:
    """Only the four tables; a key that is not a table stops here, since nothing below can
    read it."""
    for key in doc:
        if key not in _TABLES:
            bad(key, "unknown table (expected [columns], [parse], [rows], [status_map])")
    for key in _TABLES:
        if key in doc and not isinstance(doc[key], MappingABC):
            bad(key, f"must be a table ([{key}])")
            bad.raise_any()


def _columns_table(columns: dict[str, Any], bad: Mistakes) -> dict[str, Any]:
    """``[columns]``: known roles naming columns; when given at all, the id and the money
    (amount, or debit and credit, never both) are required."""
    for role, col in columns.items():
        if role not in ROLES:
            bad(f"columns.{role}", f"unknown role (expected one of {', '.join(ROLES)})")
        elif not isinstance(col, str) or not col:
            bad(f"columns.{role}", "must be a column name (a non-empty string)")
    if columns:
        if "id_payout" not in columns:
            bad("columns.id_payout", "is required")
        if not any(role in columns for role in MONEY_ROLES):
            bad("columns.amount", "is required (or debit and credit, for two money columns)")
        elif "amount" in columns and ("debit" in columns or "credit" in columns):
            bad("columns.amount", "give amount, or debit and credit, not both")
    return columns


_AMOUNT_PREFIXES = ("amount", "betrag", "jumlah", "montant", "importe", "sotien")


def _names(role: str) -> list[str]:
    return [_norm(n) for n in COMMON_NAMES[role]]


def detect_columns(header: Iterable[str]) -> dict[str, str]:
    """Find each role's column among ``header`` by :data:`COMMON_NAMES` (best name first).

    Where two columns carry one name (ING's two ``Währung``), the currency taken is the one
    nearest after the amount column. ``debit``/``credit`` are looked for only when no amount
    column is found.
    """
    names = [str(h) for h in header]
    # "Währung.1": the reader's name for a header's second "Währung" is still a "Währung".
    norms = [_norm(split_header_currency(re.sub(r"\.\d+$", "", n))[0]) for n in names]
    found: dict[str, str] = {}
    taken: set[int] = set()

    def find(role: str, after: int = -1) -> int | None:
        for candidate in _names(role):
            hits = [i for i, v in enumerate(norms) if v == candidate and i not in taken]
            if hits:
                later = [i for i in hits if i > after] if after >= 0 else hits
                return (later or hits)[0]
        return None

    for role in ("id_payout", "amount", "fee", "status", "date"):
        i = find(role)
        if i is not None:
            found[role] = names[i]
            taken.add(i)
    if "amount" not in found:
        # "Amount in Currency", "Betrag in BW", "Jumlah (Rp)": a money word heading the name.
        for i, v in enumerate(norms):
            if i not in taken and any(v.startswith(p) for p in _AMOUNT_PREFIXES):
                found["amount"] = names[i]
                taken.add(i)
                break
    if "amount" not in found:
        for role in ("debit", "credit"):
            i = find(role)
            if i is not None:
                found[role] = names[i]
                taken.add(i)
    money_at = max((names.index(found[r]) for r in MONEY_ROLES if r in found), default=-1)
    i = find("currency", after=money_at)
    if i is not None:
        found["currency"] = names[i]
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
    if "amount" in absent and ("debit" in found or "credit" in found):
        absent.remove("amount")
    if absent:
        raise InputError(
            f"{file}: cannot tell which column is {' or '.join(absent)} "
            f"(header: {', '.join(map(repr, header))}); name them in a mapping file's [columns]"
        )
    return mapping.with_columns(found, detected=True)


__all__ = [
    "COMMON_NAMES",
    "MONEY_ROLES",
    "REQUIRED_ROLES",
    "ROLES",
    "Mapping",
    "detect_columns",
    "load_mapping",
    "mapping_from_dict",
    "resolve_columns",
    "split_header_currency",
]
