"""A ledger file as a table of text cells under its header, each record with its line.

This is the part of the reader that knows file formats; everything after it works on the
:class:`Source` whatever the file was. CSV records are read by arrow when every one has the
header's width (machine exports, a million rows a second); a file with irregular records (titles
further down, footers, ``|`` frames, section lines of one cell) goes through Python's ``csv``
module, which keeps every record and its line so that nothing is lost.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from payrecon.errors import InputError
from payrecon.ledger._decode import decode
from payrecon.ledger._layout import (
    Layout,
    find_layout_in_lines,
    find_layout_in_rows,
    is_framed,
    unframe,
)
from payrecon.ledger.mapping import Mapping
from payrecon.statuses._table import TEXT

#: How much of the top of a file the header search reads.
_SAMPLE_BYTES = 1 << 18


@dataclass(frozen=True)
class Source:
    """A ledger file's records under its header, as text, with what was learnt reading it."""

    table: pa.Table  # one text column per header name, one row per record below the header
    rows: np.ndarray  # each record's line in the file (Excel: sheet row; Parquet: 1-based index)
    wide: np.ndarray  # records with more non-empty cells than the header has columns
    preamble: tuple[tuple[int, str], ...]  # non-blank lines above the header, as written
    layout: Layout
    encoding: str  # "" for Excel and Parquet
    encoding_detected: bool
    kind: str  # "csv", "xlsx", "parquet"
    split_lines: tuple[str, ...] | None = None  # the file's lines, when already split
    utf8: bytes | None = None  # the text, to split only if a raw line is asked for

    @cached_property
    def _lines(self) -> tuple[str, ...]:
        if self.split_lines is not None:
            return self.split_lines
        if self.utf8 is None:
            return ()
        return tuple(ln.rstrip("\r") for ln in self.utf8.decode("utf-8").split("\n"))

    def line_text(self, line: int) -> str:
        """The raw text of a line of the file (Excel: the row's cells, tab-separated)."""
        lines = self._lines
        return lines[line - 1] if 1 <= line <= len(lines) else ""


def read_source(path: Path, m: Mapping) -> Source:
    """Read ``path`` as its suffix says into a :class:`Source`."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _read_excel(path, m)
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix in {".xls", ".ods", ".numbers"}:
        raise InputError(f"{path}: {suffix} is not supported; save the ledger as .xlsx or .csv")
    return _read_csv(path, m)


# -- CSV --------------------------------------------------------------------------------------


def _first_lines(data: bytes, limit: int) -> list[tuple[int, str]]:
    """The first non-blank lines of UTF-8 ``data`` with their 1-based line numbers."""
    head = data[:limit].decode("utf-8", errors="replace")
    lines = head.split("\n")
    if len(data) > limit:
        lines = lines[:-1]  # the last one may be cut short
    return [(i, ln.rstrip("\r")) for i, ln in enumerate(lines, start=1) if not _empty(ln)]


def _empty(line: str) -> bool:
    """Blank, or only quotes and delimiters (``""``, ``;;;``): a row of empty cells, not a row."""
    return not line.strip().strip("\"';,\t|").strip()


def _read_csv(path: Path, m: Mapping) -> Source:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot be read: {exc.strerror or exc}") from None
    dec = decode(raw, file=file, encoding=m.encoding)
    data = dec.data
    top = _first_lines(data, _SAMPLE_BYTES)
    layout = find_layout_in_lines(top, file=file, delimiter=m.delimiter, header_line=m.header_row)
    preamble = tuple((n, t) for n, t in top if n < layout.header_line)
    body_at = _offset_of_line(data, layout.header_line + 1)
    body = data[body_at:]
    fast = None if layout.framed else _arrow_body(body, layout, layout.header_line)
    if fast is not None:
        table, rows = fast
        lines = None
        wide = np.zeros(table.num_rows, dtype=bool)
    else:
        lines = tuple(ln.rstrip("\r") for ln in data.decode("utf-8").split("\n"))
        table, rows, wide = _python_body(lines, layout)
    return Source(
        table, rows, wide, preamble, layout, dec.encoding, dec.detected, "csv", lines, data
    )


def _offset_of_line(data: bytes, line: int) -> int:
    """Byte offset where 1-based ``line`` starts (``len(data)`` past the end)."""
    at = 0
    for _ in range(line - 1):
        nl = data.find(b"\n", at)
        if nl < 0:
            return len(data)
        at = nl + 1
    return at


def _arrow_body(
    body: bytes, layout: Layout, header_line: int
) -> tuple[pa.Table, np.ndarray] | None:
    """The records by arrow, when every one has the header's width; else ``None``."""
    names = list(layout.header)
    has_quotes = b'"' in body
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=has_quotes
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: TEXT for h in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    rows = _line_numbers(body, table.num_rows, header_line)
    if rows is None:
        return None  # records span lines in a way the count cannot place: the csv module can
    return table, rows


def _line_numbers(body: bytes, n_records: int, header_line: int) -> np.ndarray | None:
    """Each record's line, when every record is one line (arrow skips blank lines only)."""
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    first = header_line + 1
    if lines == n_records:
        return np.arange(first, first + n_records, dtype=np.int64)
    buf = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    lengths = ends - starts
    cr = np.zeros_like(lengths, dtype=bool)
    has = lengths > 0
    cr[has] = buf[ends[has] - 1] == 13
    nonblank = np.flatnonzero((lengths - cr) > 0)
    if len(nonblank) != n_records:
        return None
    return (nonblank + first).astype(np.int64)


def _python_body(lines: tuple[str, ...], layout: Layout) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Every record below the header with its first line; short records padded, wide ones kept
    (marked) so that a footer or a title can be set aside and a real row named."""
    width = len(layout.header)
    text = "\n".join(lines[layout.header_line :])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter)
    cells: list[list[str]] = []
    rows: list[int] = []
    wide: list[bool] = []
    end = 0
    for rec in reader:
        start, end = end + 1, reader.line_num
        if not rec or not any(c.strip() for c in rec):
            continue
        if layout.framed and is_framed(lines[layout.header_line + start - 1]):
            rec = unframe(rec)
        filled = len(rec)
        while filled > width and not rec[filled - 1].strip():
            filled -= 1
        wide.append(filled > width)
        if filled > width:
            rec = [*rec[: width - 1], layout.delimiter.join(rec[width - 1 : filled])]
        cells.append((rec + [""] * width)[:width])
        rows.append(layout.header_line + start)
    columns = {h: pa.array([r[i] for r in cells], TEXT) for i, h in enumerate(layout.header)}
    return pa.table(columns), np.asarray(rows, dtype=np.int64), np.asarray(wide, dtype=bool)


# -- Excel ------------------------------------------------------------------------------------


def cell_text(value: object, decimal: str = ".") -> str:
    """An Excel cell as text: numbers by their shortest exact decimal text (written with the
    export's decimal mark, so that they read like its text cells), dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores numbers as binary doubles; their shortest round-trip text is what Excel
        # shows, and it is read as text (exactly) from here on.
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f").replace(".", decimal)
    if isinstance(value, datetime):
        return value.isoformat() if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_excel(path: Path, m: Mapping) -> Source:
    import openpyxl  # heavy; only Excel ledgers pay for it

    file = str(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError(f"{file}: not a readable .xlsx file: {exc}") from None
    try:
        try:
            ws = wb[m.sheet] if isinstance(m.sheet, str) else wb.worksheets[m.sheet]
        except (KeyError, IndexError):
            raise InputError(f"{file}: no sheet {m.sheet!r} (sheets: {wb.sheetnames})") from None
        sheet: list[tuple[int, list[str]]] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            texts = [cell_text(v, m.decimal or ".") for v in values]
            if any(t.strip() for t in texts):
                sheet.append((number, texts))
    finally:
        wb.close()
    layout = find_layout_in_rows(sheet, file=file, header_line=m.header_row)
    width = len(layout.header)
    preamble = tuple(
        (n, "\t".join(c for c in cells if c.strip()))
        for n, cells in sheet
        if n < layout.header_line
    )
    below = [(n, cells) for n, cells in sheet if n > layout.header_line]
    wide = np.asarray([any(c.strip() for c in cells[width:]) for _, cells in below], dtype=bool)
    cells = [(c + [""] * width)[:width] for _, c in below]
    columns = {h: pa.array([r[i] for r in cells], TEXT) for i, h in enumerate(layout.header)}
    rows = np.asarray([n for n, _ in below], dtype=np.int64)
    last = max((n for n, _ in sheet), default=0)
    lines = [""] * last
    for n, c in sheet:
        lines[n - 1] = "\t".join(c).rstrip("\t")
    return Source(pa.table(columns), rows, wide, preamble, layout, "", False, "xlsx", tuple(lines))


# -- Parquet ----------------------------------------------------------------------------------


def _read_parquet(path: Path) -> Source:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    names = tuple(table.column_names)
    layout = Layout(0, names, names, "", False, False)
    n = table.num_rows
    return Source(
        table,
        np.arange(1, n + 1, dtype=np.int64),
        np.zeros(n, dtype=bool),
        (),
        layout,
        "",
        False,
        "parquet",
        None,
    )


__all__ = ["Source", "cell_text", "read_source"]
