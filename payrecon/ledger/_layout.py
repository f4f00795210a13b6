"""Where the header is, and what separates the columns: read off the first lines of the file.

Finance tools put titles, account lines, selection criteria and blank lines above the header
(QuickBooks, SAP, every German bank). The header is the line that

* has at least two non-empty cells, none of them a number or a date (data rows have those);
* is followed by lines of the same width (a title or an ``IBAN;DE12...`` preamble line is not);
* names the most columns payrecon knows (``Amount``, ``Betrag``, ``Jumlah``, ...), then is widest,
  then comes first.

The delimiter is the one whose best header scores highest. ``|``-framed exports (SAP lists) have
their frame taken off every line. A mapping's ``header_row`` or ``delimiter`` overrides the search.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass

from payrecon.errors import InputError
from payrecon.ledger.mapping import COMMON_NAMES, _norm, split_header_currency

DELIMITERS = (",", ";", "\t", "|")
#: How many lines from the top the header may stand at.
SEARCH_LINES = 200
#: How many lines after a candidate header are compared with its width.
FOLLOWING = 30

_NUMBERISH = re.compile(r"^[\s(+\-−]*[^\w\s]{0,3}\s*[0-9][0-9.,'\s]*[^\w\s]{0,3}\s*[-−)]?\s*$")
_DATEISH = re.compile(r"^\s*\d{1,4}[./-]\d{1,2}([./-]\d{0,4})?(\s.*)?$")
_KNOWN = frozenset(_norm(n) for names in COMMON_NAMES.values() for n in names)


@dataclass(frozen=True)
class Layout:
    """What the top of the file says about the rest."""

    header_line: int  # 1-based line of the header in the file (Excel: the sheet row)
    header: tuple[str, ...]  # column names: trimmed, blanks named column_N, repeats suffixed .1
    raw_header: tuple[str, ...]  # the header cells as written, trimmed
    delimiter: str  # "" for Excel and Parquet
    framed: bool  # every line wrapped in | ... | (SAP lists)
    detected: bool  # found by the search (False: the mapping's header_row)


def split_line(line: str, delimiter: str, framed: bool) -> list[str]:
    """One line's cells (quotes honoured); a ``|`` frame taken off."""
    cells = next(csv.reader([line], delimiter=delimiter), [])
    if framed:
        cells = unframe(cells)
    return cells


def unframe(cells: list[str]) -> list[str]:
    if len(cells) >= 2 and not cells[0].strip() and not cells[-1].strip():
        return cells[1:-1]
    if cells and not cells[0].strip():
        return cells[1:]
    return cells


def is_framed(line: str) -> bool:
    s = line.strip()
    return len(s) > 2 and s.startswith("|") and s.endswith("|")


def header_names(cells: Sequence[str]) -> tuple[str, ...]:
    """Cells as unique column names: blanks become ``column_N``, a repeat gets ``.1``, ``.2``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = cell.strip() or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
            while name in seen:
                name += "_"
        seen.setdefault(name, 0)
        out.append(name)
    return tuple(out)


def _label_like(cells: Sequence[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) < 2:
        return False
    return not any(_NUMBERISH.match(c) or _DATEISH.match(c) for c in filled)


def _known(cells: Sequence[str]) -> int:
    return sum(
        1 for c in cells if c.strip() and _norm(split_header_currency(c.strip())[0]) in _KNOWN
    )


def _width(cells: Sequence[str]) -> int:
    """Cells up to the last non-empty one (tools pad rows with trailing delimiters unevenly)."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return n


def best_header(
    records: Sequence[tuple[int, list[str]]],
) -> tuple[int, tuple[int, int, int]] | None:
    """The index in ``records`` of the likeliest header and its score, or ``None``."""
    best: tuple[int, tuple[int, int, int]] | None = None
    for i, (_, cells) in enumerate(records[:SEARCH_LINES]):
        if not _label_like(cells):
            continue
        width = len(cells)
        after = records[i + 1 : i + 1 + FOLLOWING]
        if after and _known(cells) < 2:  # two known names are header enough on their own
            same = sum(1 for _, c in after if len(c) == width or _width(c) == _width(cells))
            if same * 2 < len(after):
                continue
        score = (_known(cells), _width(cells), -i)
        if best is None or score > best[1]:
            best = (i, score)
    return best


def find_layout_in_lines(
    lines: Sequence[tuple[int, str]],
    *,
    file: str,
    delimiter: str | None,
    header_line: int | None,
) -> Layout:
    """The layout of a text file from its first non-blank ``(line number, text)`` pairs."""
    if not lines:
        raise InputError(f"{file}: the file is empty (no header row)")
    if header_line is not None:
        match = [t for n, t in lines if n == header_line]
        if not match:
            raise InputError(
                f"{file}: [parse] header_row = {header_line} is a blank line or past the end "
                "(it counts every line of the file, blank ones too, from 1)"
            )
        text = match[0]
        framed = is_framed(text)
        d = delimiter or ("|" if framed else _count_delimiter(text))
        cells = split_line(text, d, framed and d == "|")
        return _layout(header_line, cells, d, framed and d == "|", detected=False)
    lines = lines[: SEARCH_LINES + FOLLOWING + 1]  # the header search reads no further
    choices = [delimiter] if delimiter else list(DELIMITERS)
    found: list[tuple[tuple[int, int, int], int, str, bool, list[str]]] = []
    for d in choices:
        # A |-framed list (SAP) frames its header too; a plain |-separated file may still have
        # rows that start and end with an empty cell ("||Total||"), which are not a frame.
        for framed in (True, False) if d == "|" else (False,):
            records = [(n, split_line(t, d, framed and is_framed(t))) for n, t in lines]
            hit = best_header(records)
            if hit is None:
                continue
            i, score = hit
            if framed and not is_framed(lines[i][1]):
                continue
            found.append((score, records[i][0], d, framed, records[i][1]))
            break
    if not found:
        first = lines[0][1][:80]
        raise InputError(
            f"{file}: no header found (no line names two or more columns above rows of the same "
            f"width; line {lines[0][0]} is {first!r}): set [parse] header_row and delimiter"
        )
    score, line, d, framed, cells = max(found, key=lambda f: (f[0][0], f[0][1], f[0][2]))
    return _layout(line, cells, d, framed, detected=True)


def _count_delimiter(text: str) -> str:
    counts = {d: text.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _layout(line: int, cells: list[str], d: str, framed: bool, *, detected: bool) -> Layout:
    raw = [c.strip() for c in cells]
    while len(raw) > 1 and not raw[-1]:
        raw.pop()  # trailing empty header cells are padding
    return Layout(line, header_names(raw), tuple(raw), d, framed, detected)


def find_layout_in_rows(
    rows: Sequence[tuple[int, list[str]]], *, file: str, header_line: int | None
) -> Layout:
    """The layout of a sheet from its non-empty ``(sheet row, cell texts)`` pairs."""
    if not rows:
        raise InputError(f"{file}: the sheet is empty (no header row)")
    if header_line is not None:
        match = [c for n, c in rows if n == header_line]
        if not match:
            raise InputError(f"{file}: [parse] header_row = {header_line} is an empty sheet row")
        return _layout(header_line, match[0], "", False, detected=False)
    hit = best_header(rows)
    if hit is None:
        raise InputError(
            f"{file}: no header found in the sheet (no row names two or more columns above rows "
            "of the same width): set [parse] header_row"
        )
    n, cells = rows[hit[0]]
    return _layout(n, cells, "", False, detected=True)


__all__ = ["DELIMITERS", "Layout", "find_layout_in_lines", "find_layout_in_rows", "split_line"]
