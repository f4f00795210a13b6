"""The Excel workbook of a reconciliation: Summary, Exceptions, Rows, then Suggestions, Changes and
Balances when the result holds them, and About.

Money cells are numbers (analysts sum and filter them) written from ``Decimal``: openpyxl puts the
exact decimal text into the file, and the number format shows the currency's decimals (``#,##0``
for IDR, INR, VND, JPY, KRW; ``#,##0.00`` otherwise; more when a value has more digits, so nothing
is hidden by rounding on screen). Excel itself reads a number as a binary double with 15 significant
digits, which holds any realistic amount exactly to the cent (up to 9,999,999,999,999.99); the
exact text of every value stays in ``rows.csv`` and ``summary.csv``.

Text is always a string cell, never a formula (:func:`text_cell`), whatever it starts with.

Timestamps are written as UTC without a zone (Excel has none) in ``yyyy-mm-dd hh:mm:ss``.

The workbook is streamed with openpyxl's write-only mode rather than through
``pandas.ExcelWriter``: memory stays flat and each cell can still have its own number format. It
writes about 4,000 rows a second. A sheet holds at most 1,048,576 rows (Excel's limit); rows
beyond it are left out and the About sheet says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from payrecon.csvout import arrow_array, currency_column
from payrecon.platform import currency_decimals

if TYPE_CHECKING:
    from payrecon.report.model import ReportModel

#: Excel's last row; one is the header.
EXCEL_MAX_ROWS = 1_048_576
#: ``payrecon reconcile`` writes the workbook by itself only up to this many rows: openpyxl writes
#: about 4,000 rows a second, and past this size the CSV files serve better (``--excel`` forces it).
AUTO_EXCEL_ROWS = 50_000
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F0F3F6")


def money_format(decimals: int) -> str:
    """``#,##0`` or ``#,##0.00`` (or more zeros): thousands grouped, ``decimals`` places shown."""
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def text_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """``value`` as a cell that is never a formula: openpyxl turns any text starting with ``=``
    into one (``=HYPERLINK(...)`` in a ledger's status column would become a live link), so
    such text is written as an explicit string cell. Other values pass as they are."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _places(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(-exp, 0) if isinstance(exp, int) else 0


def _python_columns(frame: pd.DataFrame) -> tuple[dict[str, list[Any]], set[str], set[str]]:
    """Each column as Python values (money as exact ``Decimal``, times as naive UTC datetimes)."""
    values: dict[str, list[Any]] = {}
    money: set[str] = set()
    times: set[str] = set()
    for name in frame.columns:
        arr = arrow_array(frame[name])
        if pa.types.is_decimal(arr.type):
            money.add(name)
        elif pa.types.is_timestamp(arr.type):
            times.add(name)
            arr = arr.cast(pa.timestamp("us"))  # UTC wall time, zone dropped: Excel has none
        values[name] = arr.to_pylist()
    return values, money, times


def _write_table(
    ws: WriteOnlyWorksheet, frame: pd.DataFrame, *, limit: int = EXCEL_MAX_ROWS - 1
) -> int:
    """Header and rows of ``frame`` into ``ws``, a number format per cell; returns rows written."""
    columns = [str(c) for c in frame.columns]
    shown = frame.head(limit)
    values, money, times = _python_columns(shown)
    widths = [max(10, min(len(c) + 2, 40)) for c in columns]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "B2"
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c)
        cell.data_type = "s"  # a column name is text, never a formula
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        header.append(cell)
    ws.append(header)
    currency_of = {c: currency_column(c, columns) for c in money}
    formats: dict[int, str] = {}
    for r in range(len(shown)):
        out: list[Any] = []
        for c in columns:
            v = values[c][r]
            if c in money and v is not None:
                cur_col = currency_of[c]
                cur = values[cur_col][r] if cur_col else None
                places = max(currency_decimals(cur) if isinstance(cur, str) else 2, _places(v))
                fmt = formats.get(places) or formats.setdefault(places, money_format(places))
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = fmt
                out.append(cell)
            elif c in times and v is not None:
                cell = WriteOnlyCell(ws, value=v)
                cell.number_format = DATE_FORMAT
                out.append(cell)
            else:
                out.append(text_cell(ws, v))
        ws.append(out)
    if len(columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(shown) + 1}"
    return len(shown)


def _about(model: ReportModel, truncated: dict[str, int]) -> Iterable[tuple[str, Any]]:
    src = model.source
    yield "ledger", src.ledger_source or "(in memory)"
    yield "platform", src.base_url or "(statuses table read from a file)"
    if src.period:
        yield "ledger period", f"{src.period[0].date()} to {src.period[1].date()}"
    yield "reconciled (UTC)", src.generated_at.replace(tzinfo=None) if src.generated_at else ""
    yield "amount tolerance", src.amount_tolerance
    yield "fee tolerance", src.fee_tolerance
    yield "fee schedule checked", "yes" if src.fee_schedule else "no"
    yield "rows", model.n_rows
    yield "exceptions", model.n_exceptions
    for sheet, n in truncated.items():
        yield f"{sheet}: rows left out", f"{n:,} beyond Excel's row limit; all are in rows.csv"
    yield (
        "note",
        (
            "Money cells are numbers written from exact decimals; Excel keeps 15 significant "
            "digits. The exact text of every value is in rows.csv and summary.csv."
        ),
    )


def write_workbook(model: ReportModel, path: str | Path) -> Path:
    """Write ``model``'s sheets (Summary, Exceptions worst first, Rows, the extra tables) and an
    About sheet as an ``.xlsx`` workbook (see the module docstring); returns the path."""
    if not model.sheets:
        raise ValueError("a workbook needs the model's tables: build_model(rec, sheets=True)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    truncated: dict[str, int] = {}
    for sheet in model.sheets:
        ws = wb.create_sheet(sheet.title)
        written = _write_table(ws, sheet.frame)
        if written < len(sheet.frame):
            truncated[sheet.title] = len(sheet.frame) - written
    ws = wb.create_sheet("About")
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 90
    for key, value in _about(model, truncated):
        cell = WriteOnlyCell(ws, value=key)
        cell.font = _HEADER_FONT
        if isinstance(value, datetime):
            v = WriteOnlyCell(ws, value=value)
            v.number_format = DATE_FORMAT
            ws.append([cell, v])
        else:
            ws.append([cell, text_cell(ws, value)])
    wb.save(path)
    return path


__all__ = ["AUTO_EXCEL_ROWS", "DATE_FORMAT", "EXCEL_MAX_ROWS", "money_format", "write_workbook"]
