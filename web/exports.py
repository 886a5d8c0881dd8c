"""Tables as downloads: CSV for Danish Excel (UTF-8 with BOM, semicolons) and XLSX (openpyxl).

Text that a spreadsheet would run as a formula (=, +, -, @ first) is written with a leading apostrophe in
CSV, and in XLSX as a cell typed as text (no apostrophe to see: a phone number "+45 41 87 20 00" reads as
typed): a municipality's free text is never executed on staff's machine. Times and dates are real dates in
Danish order (dd-mm-yyyy hh:mm, dd-mm-yyyy); the XLSX sheet has a filter on its header row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.responses import Response

from notifications.locale import yes_no_text

Cell = str | int | float | bool | datetime | date | None
DANISH_DATETIME, DANISH_DATE = "dd-mm-yyyy hh:mm", "dd-mm-yyyy"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text_cell(value: Cell) -> Cell:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no_text(value)
    if isinstance(value, float):
        return f"{value:.6f}".replace(".", ",")
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    return str(_text_cell(value))


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_csv_cell(c) for c in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


Sheet = tuple[str, Sequence[str], Sequence[Sequence[Cell]]]  # name, header, rows


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Sequence[Sequence[Cell]], more: Sequence[Sheet] = ()
               ) -> bytes:
    """A write-only workbook (``more``: further sheets after the first): rows are streamed to the file as they
    come (time and memory grow with the rows, never with their square)."""
    book = Workbook(write_only=True)
    for name, columns, lines in ((sheet, header, rows), *more):
        _sheet(book, name, columns, lines)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, sheet: str, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    ws = book.create_sheet(sheet[:31])
    ws.freeze_panes = "A2"
    for index, title in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(max(len(title), 10) + 2, 50)
    bold = Font(bold=True)
    ws.append([_xlsx_cell(ws, title, bold) for title in header])
    for row in rows:
        ws.append([_xlsx_cell(ws, value) for value in row])
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{len(rows) + 1}"


def _xlsx_cell(ws: Any, value: Cell, font: Font | None = None) -> WriteOnlyCell:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)  # Excel has no time zones; the column header names it
    cell = WriteOnlyCell(ws, value="Ja" if value is True else "Nej" if value is False else value)
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif isinstance(value, date):
        cell.number_format = DANISH_DATETIME if isinstance(value, datetime) else DANISH_DATE
    if font is not None:
        cell.font = font
    return cell


def download(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def table_response(kind: str, stem: str, sheet: str, header: Sequence[str], rows: Sequence[Sequence[Cell]],
                   more: Sequence[Sheet] = ()) -> Response:
    """The table as CSV or XLSX; ``more`` are further sheets of the XLSX (a CSV holds one table)."""
    if kind == "xlsx":
        return download(xlsx_bytes(sheet, header, rows, more), f"{stem}.xlsx", XLSX_TYPE)
    return download(csv_bytes(header, rows), f"{stem}.csv", "text/csv; charset=utf-8")
