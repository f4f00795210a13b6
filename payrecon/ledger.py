"""Read a ledger export (CSV, Excel or Parquet) into the ledger table.

The ledger table has one row per row of the file, in file order, never fewer:

==================  ====================  ======================================================
column              dtype                 meaning
==================  ====================  ======================================================
``source_row``      int64                 the row's line in the file (CSV: header = 1, first
                                          data row = 2 unless blank lines or ``header_row`` say
                                          otherwise; a row spanning lines: the line it starts
                                          on; Excel: the sheet row; Parquet: 1-based index)
``id_payout``       string                the payout id, trimmed
``amount``          decimal128(30, 8)     the amount, exact, after ``amount_sign``
``currency``        string                trimmed, upper-cased; missing when the ledger has none
``fee``             decimal128(30, 8)     the fee, when the ledger has a fee column
``status``          string                the ledger's own status word, as written
``status_mapped``   string                that word through ``status_map`` (case-insensitive),
                                          upper-cased: comparable with the platform's status
``date``            datetime64[us, UTC]   the booking date (naive dates are taken as UTC)
``raw.<name>``      string                every original column, as text exactly as read
==================  ====================  ======================================================

``ledger.attrs["payrecon"]`` records the file, the mapping's source and the columns used, and
whether they were detected by common names.

Rows are never dropped. A cell that cannot be read (a blank id; an amount, fee or date that does
not parse) stops the load with one :class:`~payrecon.errors.InputError` that lists every bad cell
by row and column. An id that breaks the platform's id rule is *not* a load problem: it is the
ledger's truth, and reconciliation reports it (the fetch marks it ``invalid_id``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from payrecon.amounts import parse_amounts
from payrecon.errors import InputError, Problem
from payrecon.frames import MONEY, MONEY_TYPE, STRING, TEXT, TIMESTAMP
from payrecon.mapping import Mapping, load_mapping, mapping_from_dict, resolve_columns

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
_DELIMITERS = (";", "\t", "|", ",")


def read_ledger(
    path: str | Path, mapping: str | Path | Mapping | dict[str, Any] | None = None
) -> pd.DataFrame:
    """Read a ledger export into the ledger table (see the module docstring for its columns).

    Parameters
    ----------
    path
        A ``.csv`` (or ``.txt``/``.tsv``: any delimiter), ``.xlsx`` or ``.parquet`` file.
    mapping
        A mapping TOML file, a :class:`~payrecon.mapping.Mapping`, the equivalent dict, or
        ``None`` to find the columns by common names (``ledger.attrs["payrecon"]["detected"]``).

    Raises
    ------
    InputError
        The file cannot be read, the mapping is bad, a required column is missing, or cells
        cannot be read (all of them listed by row and column).
    """
    path = Path(path)
    file = str(path)
    if mapping is None:
        m = Mapping()
    elif isinstance(mapping, Mapping):
        m = mapping
    elif isinstance(mapping, dict):
        m = mapping_from_dict(mapping)
    else:
        m = load_mapping(mapping)
    if not path.is_file():
        raise InputError(f"{file}: ledger file not found")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        table, rows = _read_excel(path, m)
    elif suffix == ".parquet":
        table, rows = _read_parquet(path)
    elif suffix in {".xls", ".ods"}:
        raise InputError(f"{file}: {suffix} is not supported; save the ledger as .xlsx or .csv")
    else:
        table, rows = _read_csv(path, m)
    m = resolve_columns(m, table.column_names, file=file)
    return build_ledger(table, rows, m, file=file)


# -- reading files into (text table, source rows) ----------------------------------------------


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _read_csv(path: Path, m: Mapping) -> tuple[pa.Table, np.ndarray]:
    file = str(path)
    data = path.read_bytes()
    encoding = (
        "utf-8-sig" if m.encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else m.encoding
    )
    try:
        head_text = data[:65536].decode(encoding, errors="replace")
    except LookupError:
        raise InputError(f"{file}: unknown encoding {m.encoding!r}") from None
    lines = [ln for ln in head_text.splitlines() if ln.strip()]
    if len(lines) < m.header_row:
        raise InputError(f"{file}: the file is empty (no header row)")
    header_line = lines[m.header_row - 1]
    delimiter = m.delimiter or _sniff_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(f"{file}: the header names a column twice: {', '.join(map(repr, dupes))}")
    has_quotes = b'"' in data
    read_opts = pacsv.ReadOptions(
        encoding=m.encoding,
        skip_rows=m.header_row - 1,
        column_names=header,
        skip_rows_after_names=1,
        block_size=1 << 24,
    )
    parse_opts = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=has_quotes)
    convert_opts = pacsv.ConvertOptions(
        column_types={h: TEXT for h in header},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(  # from the bytes already read: the file is read once
            pa.BufferReader(data),
            read_options=read_opts,
            parse_options=parse_opts,
            convert_options=convert_opts,
        )
    except pa.ArrowInvalid:
        raise _csv_shape_error(path, read_opts, parse_opts, convert_opts, len(header)) from None
    rows = _csv_line_numbers(data, table.num_rows, m.header_row)
    if rows is None:
        rows = _csv_line_numbers_slow(data, encoding, delimiter, m.header_row, table.num_rows)
    return table, rows


def _csv_shape_error(
    path: Path,
    read_opts: pacsv.ReadOptions,
    parse_opts: pacsv.ParseOptions,
    convert_opts: pacsv.ConvertOptions,
    width: int,
) -> InputError:
    """Re-read single-threaded to name every line whose field count is wrong."""
    problems: list[Problem] = []

    def collect(row: Any) -> str:
        problems.append(
            Problem(
                str(path),
                row.number,
                None,
                f"{row.actual_columns} fields where the header has {row.expected_columns}: "
                f"{row.text[:80]!r}",
            )
        )
        return "skip"

    opts = pacsv.ParseOptions(
        delimiter=parse_opts.delimiter,
        newlines_in_values=parse_opts.newlines_in_values,
        invalid_row_handler=collect,
    )
    ro = pacsv.ReadOptions(
        encoding=read_opts.encoding,
        skip_rows=read_opts.skip_rows,
        column_names=read_opts.column_names,
        skip_rows_after_names=1,
        use_threads=False,
    )
    try:
        pacsv.read_csv(path, read_options=ro, parse_options=opts, convert_options=convert_opts)
    except pa.ArrowInvalid as exc:
        return InputError(f"{path}: not a readable CSV file: {exc}")
    return InputError(
        f"{path}: rows with the wrong number of fields (header has {width})", problems
    )


def _csv_line_numbers(data: bytes, n_records: int, header_row: int) -> np.ndarray | None:
    """Line numbers of the data records, when every record is one line (else ``None``).

    Blank lines are skipped by the reader, so the line of record ``k`` is the ``header_row + 1 +
    k``-th non-blank line; with no blank lines that is simply ``header_row + 1 + k``.
    """
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines == header_row + n_records:
        # As many lines as records: so no blank lines and no record spanning lines (the usual case).
        return np.arange(header_row + 1, header_row + 1 + n_records, dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    lengths = ends - starts
    cr = np.zeros_like(lengths, dtype=bool)
    has = lengths > 0
    cr[has] = buf[ends[has] - 1] == 13
    nonblank = np.flatnonzero((lengths - cr) > 0) + 1  # 1-based line numbers
    if data.startswith(b"\xef\xbb\xbf") and len(nonblank) and nonblank[0] == 1 and lengths[0] == 3:
        nonblank = nonblank[1:]  # a lone BOM is not a line
    if len(nonblank) != header_row + n_records:
        return None
    return nonblank[header_row:].astype(np.int64)


def _csv_line_numbers_slow(
    data: bytes, encoding: str, delimiter: str, header_row: int, n_records: int
) -> np.ndarray:
    """Line numbers when quoted cells span lines: the csv module counts physical lines."""
    reader = csv.reader(
        io.StringIO(data.decode(encoding, errors="replace"), newline=""), delimiter=delimiter
    )
    out: list[int] = []
    seen = 0
    prev_end = 0
    for rec in reader:
        start, prev_end = prev_end + 1, reader.line_num  # a record's row is the line it starts on
        if not rec:
            continue
        seen += 1
        if seen > header_row:
            out.append(start)
    if len(out) != n_records:  # the two readers disagree; fall back to record numbers
        return np.arange(header_row + 1, header_row + 1 + n_records, dtype=np.int64)
    return np.asarray(out, dtype=np.int64)


def _cell_text(value: object, decimal: str = ".") -> str:
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
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _read_excel(path: Path, m: Mapping) -> tuple[pa.Table, np.ndarray]:
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
        header: list[str] | None = None
        cells: list[list[str]] = []
        rows: list[int] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            texts = [_cell_text(v, m.decimal or ".") for v in values]
            if number < m.header_row:
                continue
            if header is None:
                if not any(t.strip() for t in texts):
                    continue
                while texts and not texts[-1].strip():
                    texts.pop()
                header = [t.strip() for t in texts]
                continue
            if not any(t.strip() for t in texts):
                continue  # blank sheet rows are layout, not ledger rows
            texts = (texts + [""] * len(header))[: len(header)]
            cells.append(texts)
            rows.append(number)
    finally:
        wb.close()
    if header is None:
        raise InputError(f"{file}: the sheet is empty (no header row)")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(f"{file}: the header names a column twice: {', '.join(map(repr, dupes))}")
    columns = {h: pa.array([r[i] for r in cells], pa.string()) for i, h in enumerate(header)}
    return pa.table(columns) if columns else pa.table({}), np.asarray(rows, dtype=np.int64)


def _read_parquet(path: Path) -> tuple[pa.Table, np.ndarray]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    return table, np.arange(1, table.num_rows + 1, dtype=np.int64)


# -- building the ledger table -----------------------------------------------------------------


def _text(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column as text, never missing (CSV columns come as read: no copy)."""
    arr = col
    if pa.types.is_dictionary(arr.type):
        arr = pc.cast(arr, arr.type.value_type)
    if arr.type != TEXT:
        arr = pc.cast(arr, TEXT)
    return pc.fill_null(arr, "") if arr.null_count else arr


def _blank_to_null(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    blank = pc.equal(arr, "")
    if not pc.any(blank).as_py():
        return arr
    return pc.if_else(blank, pa.scalar(None, arr.type), arr)


def _series(arr: pa.ChunkedArray | pa.Array, dtype: Any) -> pd.Series:
    """An arrow column as a pandas column of ``dtype``, wrapping rather than copying."""
    if dtype is STRING:
        if arr.type != TEXT:
            arr = pc.cast(arr, TEXT)
        return pd.Series(pd.arrays.ArrowStringArray(arr))
    return pd.Series(pd.arrays.ArrowExtensionArray(arr)).astype(dtype)


def build_ledger(table: pa.Table, rows: np.ndarray, m: Mapping, *, file: str) -> pd.DataFrame:
    """The ledger table from a table of the file's columns and each row's ``source_row``."""
    cols = m.columns
    problems: list[Problem] = []
    n = table.num_rows

    id_col = cols["id_payout"]
    ids = pc.utf8_trim_whitespace(_text(table[id_col]))
    for idx in np.flatnonzero(pc.equal(ids, "").to_numpy(zero_copy_only=False)):
        problems.append(Problem(file, int(rows[idx]), id_col, "payout id is blank"))

    decimal = m.decimal or "."
    parse_column = partial(
        parse_amounts,
        table[cols["amount"]],
        column=cols["amount"],
        file=file,
        rows=rows,
        thousands=m.thousands,
    )
    amount, bad = parse_column(decimal=decimal)
    if bad and m.decimal is None and m.thousands != ",":
        # No mapping said which decimal mark: a decimal-comma export reads cleanly with ",".
        amount2, bad2 = parse_column(decimal=",")
        if len(bad2) < len(bad):
            decimal, amount, bad = ",", amount2, bad2
    problems += bad
    if "fee" in cols:
        fee, bad = parse_amounts(
            table[cols["fee"]],
            column=cols["fee"],
            file=file,
            rows=rows,
            decimal=decimal,
            thousands=m.thousands,
            required=False,
        )
        problems += bad
    else:
        fee = pa.nulls(n, MONEY_TYPE)
    sign: Callable[[pa.Array], pa.Array] = {
        "as_is": lambda a: a,
        "abs": pc.abs,
        "negate": pc.negate,
    }[m.amount_sign]
    amount, fee = sign(amount), sign(fee)

    if "currency" in cols:
        currency = _blank_to_null(
            pc.utf8_upper(pc.utf8_trim_whitespace(_text(table[cols["currency"]])))
        )
    else:
        currency = pa.array([m.currency] * n, TEXT) if m.currency else pa.nulls(n, TEXT)

    if "status" in cols:
        status = _blank_to_null(_text(table[cols["status"]]))
        folded = pc.utf8_upper(pc.utf8_trim_whitespace(status))
        status_mapped = _map_words(folded, m.status_lookup())
    else:
        status = status_mapped = pa.nulls(n, TEXT)

    if "date" in cols:
        dates, bad = _parse_dates(table[cols["date"]], m, column=cols["date"], file=file, rows=rows)
        problems += bad
    else:
        dates = pd.Series(pd.NaT, index=range(n), dtype=TIMESTAMP)

    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InputError(f"{file}: cells that cannot be read; the ledger was not loaded", problems)

    s = _series
    out: dict[str, Any] = {
        "source_row": pd.Series(rows, dtype="int64"),
        "id_payout": s(ids, STRING),
        "amount": s(amount, MONEY),
        "currency": s(currency, STRING),
        "fee": s(fee, MONEY),
        "status": s(status, STRING),
        "status_mapped": s(status_mapped, STRING),
        "date": dates.reset_index(drop=True),
    }
    for name in table.column_names:
        out[RAW_PREFIX + name] = s(_text(table[name]), STRING)
    frame = pd.DataFrame(out)
    frame.attrs["payrecon"] = {
        "source": file,
        "mapping": m.source,
        "columns": dict(cols),
        "detected": m.detected,
        "decimal": decimal,
        "has_currency": "currency" in cols or m.currency is not None,
        "has_fee": "fee" in cols,
        "has_status": "status" in cols,
    }
    return frame


def _map_words(folded: pa.Array, lookup: dict[str, str]) -> pa.Array:
    """Each word through ``lookup``, or itself when absent; blanks stay missing."""
    if lookup:
        keys = pa.array(list(lookup), TEXT)
        vals = pa.array(list(lookup.values()), TEXT)
        idx = pc.index_in(folded, value_set=keys)
        folded = pc.coalesce(pc.take(vals, idx), folded)
    return _blank_to_null(pc.fill_null(folded, ""))


def _parse_dates(
    col: pa.ChunkedArray, m: Mapping, *, column: str, file: str, rows: np.ndarray
) -> tuple[pd.Series, list[Problem]]:
    """Dates to UTC timestamps: typed as they are; text by format, ISO 8601 or common forms."""
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        ser = pd.Series(pd.arrays.ArrowExtensionArray(col.combine_chunks())).astype(object)
        parsed = pd.to_datetime(ser, utc=True)
        return parsed.astype(TIMESTAMP), []
    trimmed = pc.utf8_trim_whitespace(_text(col))
    if not m.date_format:
        # ISO 8601 dates (the usual machine export) parse in one arrow cast; naive means UTC.
        try:
            naive = pc.cast(_blank_to_null(trimmed), pa.timestamp("us"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            utc = pc.assume_timezone(naive, timezone="UTC")
            return pd.Series(utc.to_pandas()).astype(TIMESTAMP), []
    text = pd.Series(pd.arrays.ArrowExtensionArray(trimmed)).astype(object)
    blank = text.eq("")
    values = text.where(~blank)
    if m.date_format:
        parsed = pd.to_datetime(values, format=m.date_format, utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        left = parsed.isna() & ~blank
        if left.any():
            parsed.loc[left] = pd.to_datetime(
                values[left], format="mixed", dayfirst=m.dayfirst, utc=True, errors="coerce"
            )
    bad = parsed.isna() & ~blank
    problems = [
        Problem(file, int(rows[i]), column, f"not a date: {text.iloc[i]!r}")
        for i in np.flatnonzero(bad.to_numpy())
    ]
    return parsed.astype(TIMESTAMP), problems


def ledger_info(ledger: pd.DataFrame) -> dict[str, Any]:
    """What ``read_ledger`` recorded about a ledger table (empty for a hand-made one)."""
    info = ledger.attrs.get("payrecon", {})
    return dict(info) if isinstance(info, dict) else {}


__all__ = ["LEDGER_COLUMNS", "RAW_PREFIX", "build_ledger", "ledger_info", "read_ledger"]
