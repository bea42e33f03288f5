"""Writing lists into xlsx with xlsxwriter: one shared set of formats per workbook, a title row,
a frozen header with autofilter, CJK-aware widths, number formats by column kind, no gridlines,
and long lists split at the sheet row limit (SPEC §9, §14)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from landaudit.export.cells import (
    WORKBOOK_OPTIONS,
    XLSX_MAX_ROWS,
    column_width,
    safe_sheet_name,
    safe_text,
    write_value,
)
from landaudit.export.lists import DATE, INT, MU, PCT, PER_MU, RATIO, SCORE, TEXT, WAN, Column

HEADER_ROWS = 2          # title row + header row above the data
NUMBER_FORMATS = {
    MU: "#,##0.00", WAN: "#,##0.00", PER_MU: "#,##0.00", SCORE: "0.00", RATIO: "0.00",
    PCT: "0.00%", INT: "0", DATE: "yyyy-mm-dd",
}


class Formats:
    """Every format the workbook uses, created once (never per cell)."""

    def __init__(self, book):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        self.title = book.add_format({**base, "bold": True, "font_size": 14})
        self.note = book.add_format({**base, "font_color": "#595959"})
        self.header = book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                                       "text_wrap": True, "align": "center"})
        self.section = book.add_format({**base, "bold": True, "font_size": 12})
        self.good = book.add_format({**base, "font_color": "#006100", "bg_color": "#C6EFCE"})
        self.bad = book.add_format({**base, "font_color": "#9C0006", "bg_color": "#FFC7CE"})
        self.kinds = {TEXT: book.add_format(base)}
        for kind, number_format in NUMBER_FORMATS.items():
            self.kinds[kind] = book.add_format({**base, "num_format": number_format})

    def of(self, kind: str):
        return self.kinds.get(kind, self.kinds[TEXT])


def open_workbook(path: Path, *, created: datetime, title: str):
    """A workbook in constant-memory mode (rows are written in order) with fixed properties, so
    that unchanged data gives an identical file."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {**WORKBOOK_OPTIONS, "constant_memory": True})
    book.set_properties({"title": title, "author": "landaudit", "created": created})
    book.set_size(1600, 1000)
    return book, Formats(book)


def print_setup(ws, *, repeat_header: bool = False) -> None:
    """No gridline noise; printed landscape on A4, one page wide, the header on every page."""
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    if repeat_header:
        ws.repeat_rows(0, HEADER_ROWS - 1)


def write_list(book, formats: Formats, name: str, title: str, columns: Sequence[Column], rows: list[dict],
               taken: set[str], *, max_rows: int = XLSX_MAX_ROWS) -> list[str]:
    """Write a list with a 序号 column; split into name_1, name_2 … past the row limit.
    Returns the sheet names written (at least one, even for an empty list)."""
    per_sheet = max_rows - HEADER_ROWS
    chunks = [rows[i:i + per_sheet] for i in range(0, len(rows), per_sheet)] or [[]]
    values = [[c.get(r) for c in columns] for r in rows]
    widths = [column_width("序号", [len(rows)])] + [
        column_width(c.header, [v[i] for v in values[:500]]) for i, c in enumerate(columns)]
    names = []
    start = 0
    for part, chunk in enumerate(chunks, start=1):
        sheet = safe_sheet_name(name if len(chunks) == 1 else f"{name}_{part}", taken)
        names.append(sheet)
        ws = book.add_worksheet(sheet)
        print_setup(ws, repeat_header=True)
        for col, width in enumerate(widths):
            kind = TEXT if col == 0 else columns[col - 1].kind
            ws.set_column(col, col, width, formats.of(kind))
        suffix = f"（第 {part}/{len(chunks)} 部分）" if len(chunks) > 1 else ""
        ws.write_string(0, 0, safe_text(title + suffix), formats.title)
        ws.set_row(1, 30)
        ws.write_string(1, 0, "序号", formats.header)
        for col, column in enumerate(columns, start=1):
            ws.write_string(1, col, column.header, formats.header)
        kinds = [formats.of(c.kind) for c in columns]
        for offset, row_values in enumerate(values[start:start + len(chunk)]):
            r = HEADER_ROWS + offset
            ws.write_number(r, 0, start + offset + 1, formats.of(INT))
            for col, value in enumerate(row_values, start=1):
                write_value(ws, r, col, value, kinds[col - 1])
        ws.freeze_panes(HEADER_ROWS, 0)
        ws.autofilter(1, 0, 1 + len(chunk), len(columns))
        start += len(chunk)
    return names
