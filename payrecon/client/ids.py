"""Reading a list of payout ids from a file: plain text, one a line, or a CSV with ``id_payout``.

A file is read as CSV when its name ends in ``.csv``, or when its first non-blank line contains a
comma or is exactly the header ``id_payout``; otherwise each line is one id. Whitespace around an
id is trimmed and blank lines (or empty cells) are skipped. A CSV cell that payrecon quoted to keep
a spreadsheet from reading it as a formula (``'-12+3``, see :mod:`payrecon.cellsafe`) is read back
without the quote, so a statuses table or rows.csv written by payrecon works as an ids file.

An id that breaks the platform's id rule is *not* an input error here: it is kept, and the fetch
reports it as an ``invalid_id`` row, so every id the user listed shows up in the output. What is an
input error (:class:`~payrecon.errors.InputError`, naming file, row and column) is a file that
cannot be read or decoded, a CSV without an ``id_payout`` column, and a file that is not a list
of ids at all: binary data (refused from its first bytes), a line longer than
:data:`MAX_LINE_BYTES`, more than :data:`MAX_IDS` ids. The file is read a line at a time, so
memory stays bounded by those two figures whatever the file holds (a 2 GB file of NULs is
refused after reading 8 KB of it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from payrecon._sniff import SNIFF_BYTES, refuse_binary
from payrecon.cellsafe import unescape_cell
from payrecon.errors import InputError, Problem

ID_COLUMN = "id_payout"
#: Longest line read: an id is at most 250 characters, a CSV row carries a few columns more.
MAX_LINE_BYTES: Final = 64 * 1024
#: Most ids one file may list (a day of fetching at 60 a second; split a longer list).
MAX_IDS: Final = 5_000_000

WHAT = "list of payout ids"


def read_ids(path: str | Path) -> list[str]:
    """The ids listed in ``path``, in file order (duplicates kept: the fetch removes them).

    Raises
    ------
    InputError
        The file is missing or unreadable, binary, not UTF-8, has a line longer than
        :data:`MAX_LINE_BYTES` or more than :data:`MAX_IDS` ids, or is a CSV without
        ``id_payout``.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return _read(path, fh)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{path}: cannot read the ids file ({reason})") from None


def _read(path: Path, fh: io.BufferedReader) -> list[str]:
    refuse_binary(path, WHAT, fh.peek(SNIFF_BYTES)[:SNIFF_BYTES])
    lines = _lines(path, fh)
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        return []
    if path.suffix.lower() == ".csv" or "," in first or first.strip().strip('"') == ID_COLUMN:
        return _read_csv(path, first, lines)
    ids = [first.strip()]
    for line in lines:
        text = line.strip()
        if text:
            ids.append(text)
            if len(ids) > MAX_IDS:
                raise _too_many(path)
    return ids


def _lines(path: Path, fh: io.BufferedReader) -> Iterator[str]:
    """Decoded lines (newline kept, BOM dropped), one at a time; each checked for NULs,
    length and UTF-8, with its row number in the message."""
    row = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        row += 1
        if len(raw) > MAX_LINE_BYTES:
            problem = Problem(str(path), row, None, f"longer than {MAX_LINE_BYTES} bytes")
            raise InputError(f"{path}: not a {WHAT}", [problem])
        if b"\x00" in raw:
            problem = Problem(str(path), row, None, "NUL byte")
            raise InputError(f"{path}: binary data, not a {WHAT}", [problem])
        try:
            text = raw.decode("utf-8-sig" if row == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            problem = Problem(str(path), row, None, f"not UTF-8 text (byte {exc.start})")
            raise InputError(f"{path}: cannot decode the ids file", [problem]) from None
        yield text


def _too_many(path: Path) -> InputError:
    return InputError(f"{path}: more than {MAX_IDS:,} ids; split the list")


def _read_csv(path: Path, first: str, lines: Iterator[str]) -> list[str]:
    def rows() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(rows())
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problem = Problem(str(path), 1, None, str(exc))
        raise InputError(f"{path}: not a readable CSV", [problem]) from None
    if header is None:
        return []
    names = [h.strip() for h in header]
    if ID_COLUMN not in names:
        found = ", ".join(repr(n[:40]) for n in names[:10]) or "none"
        message = f"no such column (columns: {found})"
        problem = Problem(str(path), reader.line_num, ID_COLUMN, message)
        raise InputError(f"{path}: the CSV needs an {ID_COLUMN!r} column", [problem])
    col = names.index(ID_COLUMN)
    ids: list[str] = []
    try:
        for row in reader:
            if col < len(row) and row[col].strip():
                ids.append(unescape_cell(row[col].strip()))
                if len(ids) > MAX_IDS:
                    raise _too_many(path)
    except csv.Error as exc:
        problem = Problem(str(path), reader.line_num, None, str(exc))
        raise InputError(f"{path}: not a readable CSV", [problem]) from None
    return ids
