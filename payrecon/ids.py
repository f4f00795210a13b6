"""Reading a list of payout ids from a file: plain text, one a line, or a CSV with ``id_payout``.

A file is read as CSV when its name ends in ``.csv``, or when its first non-blank line contains a
comma or is exactly the header ``id_payout``; otherwise each line is one id. Whitespace around an
id is trimmed and blank lines (or empty cells) are skipped. A CSV cell that payrecon quoted to keep
a spreadsheet from reading it as a formula (``'-12+3``, see :mod:`payrecon.cellsafe`) is read back
without the quote, so a statuses table or rows.csv written by payrecon works as an ids file.

An id that breaks the platform's id rule is *not* an input error here: it is kept, and the fetch
reports it as an ``invalid_id`` row, so every id the user listed shows up in the output. What is an
input error (:class:`~payrecon.errors.InputError`, naming file, row and column) is a file that
cannot be read or decoded, or a CSV without an ``id_payout`` column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from payrecon.cellsafe import unescape_cell
from payrecon.errors import InputError, Problem

ID_COLUMN = "id_payout"


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        problem = Problem(str(path), row, None, f"not UTF-8 text (byte {exc.start})")
        raise InputError(f"{path}: cannot decode the ids file", [problem]) from None


def _looks_like_csv(path: Path, text: str) -> bool:
    if path.suffix.lower() == ".csv":
        return True
    for line in text.splitlines():
        if line.strip():
            first = line.strip()
            return "," in first or first.strip('"').lower() == ID_COLUMN
    return False


def read_ids(path: str | Path) -> list[str]:
    """The ids listed in ``path``, in file order (duplicates kept: the fetch removes them).

    Raises
    ------
    InputError
        The file is missing or unreadable, is not UTF-8, or is a CSV without ``id_payout``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{path}: cannot read the ids file ({reason})") from None
    text = _decode(path, data)
    if _looks_like_csv(path, text):
        return _read_csv(path, text)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_csv(path: Path, text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problem = Problem(str(path), 1, None, str(exc))
        raise InputError(f"{path}: not a readable CSV", [problem]) from None
    if header is None:
        return []
    names = [h.strip() for h in header]
    if ID_COLUMN not in names:
        found = ", ".join(repr(n) for n in names[:10]) or "none"
        problem = Problem(str(path), 1, ID_COLUMN, f"no such column (columns: {found})")
        raise InputError(f"{path}: the CSV needs an {ID_COLUMN!r} column", [problem])
    col = names.index(ID_COLUMN)
    ids: list[str] = []
    try:
        for row in reader:
            if col < len(row) and row[col].strip():
                ids.append(unescape_cell(row[col].strip()))
    except csv.Error as exc:
        problem = Problem(str(path), reader.line_num, None, str(exc))
        raise InputError(f"{path}: not a readable CSV", [problem]) from None
    return ids
