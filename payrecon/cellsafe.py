"""Cells that are safe to open: no spreadsheet formula is ever made from data.

Ledger text, platform text and ids end up in files an analyst opens in Excel or LibreOffice. A cell
whose text starts with ``=`` (or ``+``, ``-``, ``@``, a tab, a carriage return) is read there as a
formula: ``=HYPERLINK("http://evil", "click")`` becomes a live link, and worse is possible (the
attack is called CSV injection or formula injection). Two outputs, two rules:

* **CSV** (``rows.csv``, ``exceptions.csv``, ``summary.csv``, the statuses table, and every CSV
  written through :mod:`payrecon.csvout`): OWASP's guidance. A *text* cell whose text begins with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single quote ``'`` in front of it,
  so a spreadsheet shows it as text. Exceptions and details:

  - numbers stay numbers: money, counts and times are not text cells and are never touched
    (a money column's ``-12.50`` is a number); a text cell that is a plain decimal number
    (``-12``, ``+3.5``; a payout id may be ``-12``) is left alone too, since a spreadsheet reads it
    as that number and nothing else;
  - a text cell that already begins with one or more quotes followed by one of those characters
    gets one more quote, so the rule can be undone exactly;
  - payrecon's own readers undo it (:func:`unescape_cell`, :func:`unescape_text`): they remove one
    leading quote from a cell that begins with quotes followed by one of those characters, so ids
    and text round-trip byte for byte.

* **Excel** (``report.xlsx``): every text value is written as a string cell (openpyxl would make
  any text starting with ``=`` a formula); text is shown exactly as it is, with no quote added.

Why the check is vectorised: rows.csv holds a million rows in the benchmark, so each text column is
checked with one anchored regular expression in arrow (C++), and rewritten only when a cell
matches; the common case costs one scan per text column.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
#: A text cell that gets a quote: any run of quotes, then a trigger character.
_NEEDS_QUOTE: Final = r"^'*[=+\-@\t\r]"
#: A plain decimal number, which a spreadsheet reads as that number: left alone.
_PLAIN_NUMBER: Final = r"^[+-]?[0-9]+(\.[0-9]+)?$"
#: What a reader undoes: one quote in front of (quotes and) a trigger character.
_QUOTED: Final = r"^'('*[=+\-@\t\r])"


def _needs_quote(text: str) -> bool:
    stripped = text.lstrip("'")
    if not stripped or stripped[0] not in TRIGGERS:
        return False
    if len(stripped) == len(text):  # no leading quote: a plain number stays a number
        body = text[1:] if text[0] in "+-" else text
        head, dot, tail = body.partition(".")
        if head.isascii() and head.isdigit() and (not dot or (tail.isascii() and tail.isdigit())):
            return False
    return True


def escape_cell(text: str) -> str:
    """One CSV text cell made safe to open (see the module docstring for the exact rule)."""
    return "'" + text if _needs_quote(text) else text


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell` on one cell read back from a CSV payrecon wrote.

    Anything that is not a string (``None``, a number) is returned as it is, so a reader can map
    it over any column.
    """
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def _is_text(typ: pa.DataType) -> bool:
    return pa.types.is_string(typ) or pa.types.is_large_string(typ)


#: First bytes that may start a cell needing a quote (the triggers, and the quote itself).
_FIRST: Final = tuple(ord(c) for c in (*TRIGGERS, "'"))


def _may_need_quote(arr: pa.Array) -> bool:
    """Whether any cell's first byte is a trigger or a quote: a gather over the offsets, ~10 times
    cheaper than the regular expression, which then runs only when this says maybe."""
    if arr.null_count == len(arr):
        return False
    _validity, offsets_buf, data_buf = arr.buffers()
    if data_buf is None or data_buf.size == 0:
        return False
    kind = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    raw = np.frombuffer(offsets_buf, dtype=kind)[arr.offset : arr.offset + len(arr) + 1]
    offsets = raw.astype(np.int64, copy=False)
    starts = offsets[:-1]
    data = np.frombuffer(data_buf, dtype=np.uint8)
    first = data[np.minimum(starts, len(data) - 1)]
    maybe = first == _FIRST[0]
    for byte in _FIRST[1:]:
        maybe |= first == byte
    if not maybe.any():
        return False
    return bool((maybe & (offsets[1:] > starts)).any())


def escape_text(arr: pa.Array) -> pa.Array:
    """:func:`escape_cell` over an arrow column; columns that are not text come back as they are.

    One anchored regular expression per column; the column is rewritten only when a cell needs it.
    """
    if pa.types.is_dictionary(arr.type) and _is_text(arr.type.value_type):
        dictionary = arr.dictionary
        escaped = escape_text(dictionary)
        if escaped is dictionary:
            return arr
        return pa.DictionaryArray.from_arrays(arr.indices, escaped)
    if not _is_text(arr.type) or len(arr) == 0 or not _may_need_quote(arr):
        return arr
    hit = pc.fill_null(pc.match_substring_regex(arr, _NEEDS_QUOTE), False)
    if not pc.any(hit).as_py():
        return arr
    number = pc.fill_null(pc.match_substring_regex(arr, _PLAIN_NUMBER), False)
    hit = pc.and_(hit, pc.invert(number))
    if not pc.any(hit).as_py():
        return arr
    quoted = pc.binary_join_element_wise(pa.scalar("'", arr.type), arr, pa.scalar("", arr.type))
    return pc.if_else(hit, quoted, arr)


def unescape_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`unescape_cell` over an arrow text column (others come back as they are)."""
    if not _is_text(arr.type) or len(arr) == 0:
        return arr
    if not pc.any(pc.fill_null(pc.starts_with(arr, "'"), False)).as_py():
        return arr
    return pc.replace_substring_regex(arr, _QUOTED, r"\1")


__all__ = ["TRIGGERS", "escape_cell", "escape_text", "unescape_cell", "unescape_text"]
