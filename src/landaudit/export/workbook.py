"""Writing lists into xlsx: one shared set of formats per workbook, a title row, a frozen header
with autofilter, CJK-aware widths, number formats by column kind, no gridlines, printing set up,
and long lists split at the sheet row limit (SPEC §9, §14).

xlsxwriter writes each sheet's frame; the data rows of lists go through fastrows.py (see there).
"""

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
)
from landaudit.export.fastrows import PendingRows, inject_rows
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
        shared: dict[str, object] = {}       # one Format per number format: xlsxwriter merges equal ones
        for kind, number_format in NUMBER_FORMATS.items():
            if number_format not in shared:
                shared[number_format] = book.add_format({**base, "num_format": number_format})
            self.kinds[kind] = shared[number_format]

    def of(self, kind: str):
        return self.kinds.get(kind, self.kinds[TEXT])


def print_setup(ws, *, repeat_header: bool = False) -> None:
    """No gridline noise; printed landscape on A4, one page wide, the header on every page."""
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    if repeat_header:
        ws.repeat_rows(0, HEADER_ROWS - 1)


class ListWorkbook:
    """A workbook of lists written to `path` (usually an atomic_write temporary name).

    xlsxwriter runs in constant-memory mode with fixed document properties, so unchanged data
    gives an identical file; `close()` splices the queued list rows in."""

    def __init__(self, path: Path, *, created: datetime, title: str):
        import xlsxwriter

        self.path = path
        self.frame = path.with_name(path.name + ".frame.tmp")
        self.book = xlsxwriter.Workbook(str(self.frame), {**WORKBOOK_OPTIONS, "constant_memory": True})
        self.book.set_properties({"title": title, "author": "landaudit", "created": created})
        self.book.set_size(1600, 1000)
        self.formats = Formats(self.book)
        self.taken: set[str] = set()
        self.pending: list[PendingRows] = []

    def add_sheet(self, name: str):
        return self.book.add_worksheet(safe_sheet_name(name, self.taken))

    def add_list(self, name: str, title: str, columns: Sequence[Column], rows: list[dict],
                 *, max_rows: int = XLSX_MAX_ROWS) -> list[str]:
        """A list with a 序号 column; split into name_1, name_2 … past the row limit.
        Returns the sheet names written (at least one, even for an empty list)."""
        formats = self.formats
        per_sheet = max_rows - HEADER_ROWS
        sample = rows[:500]                                            # widths come from the first rows
        widths = [column_width("序号", [len(rows)])] + [column_width(c.header, c.values(sample)) for c in columns]
        kinds = [formats.of(INT)] + [formats.of(c.kind) for c in columns]
        parts = max(1, -(-len(rows) // per_sheet))
        names = []
        for part in range(parts):
            start = part * per_sheet
            count = min(per_sheet, len(rows) - start) if rows else 0
            ws = self.add_sheet(name if parts == 1 else f"{name}_{part + 1}")
            names.append(ws.get_name())
            print_setup(ws, repeat_header=True)
            for col, width in enumerate(widths):
                ws.set_column(col, col, width, kinds[col])
            suffix = f"（第 {part + 1}/{parts} 部分）" if parts > 1 else ""
            ws.write_string(0, 0, safe_text(title + suffix), formats.title)
            ws.set_row(1, 30)
            ws.write_string(1, 0, "序号", formats.header)
            for col, column in enumerate(columns, start=1):
                ws.write_string(1, col, column.header, formats.header)
            ws.freeze_panes(HEADER_ROWS, 0)
            ws.autofilter(1, 0, 1 + count, len(columns))
            self.pending.append(PendingRows(
                sheet_index=ws.index, first_row=HEADER_ROWS, first_number=start + 1,
                rows=rows[start:start + count], columns=columns, formats=kinds, last_col=len(columns)))
        return names

    def close(self) -> None:
        try:
            self.book.close()
            inject_rows(self.frame, self.path, self.pending)
        finally:
            self.frame.unlink(missing_ok=True)
