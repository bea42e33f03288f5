"""Writing lists into xlsx: one shared set of formats per workbook, a centred title with its 单位 line,
a frozen header with autofilter, CJK-aware widths, number formats by column kind, wrapped reason and
name columns, no gridlines, printing set up, and long lists split at the sheet row limit (SPEC §9, §14).

Printing (SPEC §9 rev. 2): landscape, A3 for lists of more than 10 columns (序号 included) and A4
for the others; never below 90 % of the 10-point body font (9 pt): one page wide when that keeps
the scale at 90 % or more, else 90 % with the columns going on to the following pages, the header
rows and the first two columns repeated; the footer 第 &P 页 共 &N 页 with the as-of date.

The one-page-wide scale is computed here and written as a fixed print scale, not left to the
application's fit-to-width: an application whose default font is wider than Excel's Calibri (WPS
or LibreOffice without it) would shrink a fitted page below 9 points; with a fixed scale it moves
the last column to the next page instead.

xlsxwriter writes each sheet's frame; the data rows of lists go through fastrows.py (see there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from landaudit.export.cells import (
    WORKBOOK_OPTIONS,
    XLSX_MAX_ROWS,
    column_width,
    display_width,
    row_height,
    safe_sheet_name,
    text_lines,
    word_width,
    write_text,
)
from landaudit.export.fastrows import PendingRows, inject_rows
from landaudit.export.lists import DATE, INT, MU, PCT, PER_MU, RATIO, SCORE, WAN, Column

HEADER_ROWS = 3          # title row, 单位 row, header row above the data
TITLE_ROW, UNIT_ROW, HEADER_ROW = 0, 1, 2
UNIT_LINE = "单位：亩、万元"
NUMBER_FORMATS = {
    MU: "#,##0.00", WAN: "#,##0.00", PER_MU: "#,##0.00", SCORE: "0.00", RATIO: "0.00",
    PCT: "0.00%", INT: "0", DATE: "yyyy-mm-dd",
}
WRAP_MAX_WIDTH = 28      # a wrapped column grows to this, then its text goes onto more lines
WRAP_MIN_WIDTH = 16      # … and gives way down to this (8 CJK characters a line) to fit the page width
# Reason and name columns whose Column is made outside lists.py wrap too: 退回 (export/sendback.py)
# and the 责任单位 that export fills in from config (a long list of departments for some lists).
WRAP_HEADERS = frozenset({"问题及修改要求", "来源文件", "原值", "问题", "地块编码/企业名称/隐患编号",
                          "工作表", "列", "责任单位", "实施单位"})

# Page geometry (inches). Paper codes are Excel's: 8 = A3, 9 = A4.
A3, A4 = 8, 9
A3_COLUMNS_ABOVE = 10    # more columns than this (序号 included) print on A3
PAPER_WIDTH_LANDSCAPE = {A3: 420 / 25.4, A4: 297 / 25.4}
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.7}
MIN_PRINT_SCALE = 90     # 10-point body font × 90 % = 9 points, the smallest SPEC §9 allows
# LibreOffice and Excel measure columns a little differently from the estimate below: fit to one
# page wide only when the estimate leaves this much room above MIN_PRINT_SCALE.
FIT_SAFETY = 1.10          # LibreOffice draws columns ~5 % wider than Excel (seen rendering the demo)


class Formats:
    """Every format the workbook uses, created once (never per cell); a quote-prefix twin of any of
    them on request, for text that starts like a formula (SPEC §9 rev. 2)."""

    def __init__(self, book):
        self.book = book
        self._props: dict[int, dict] = {}       # id(Format) → its properties
        self._made: dict[tuple, object] = {}    # properties → Format (xlsxwriter would merge equal ones)
        base = self.base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        self.title = self._format({**base, "bold": True, "font_size": 14, "align": "center", "text_wrap": True})
        self.unit = self._format({**base, "align": "right"})
        self.note = self._format({**base, "font_color": "#595959"})
        self.header = self._format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1,
                                    "text_wrap": True, "align": "center"})
        self.cell = {**base, "border": 1, "border_color": "#808080"}   # list cells: ruled, as printed lists are
        self.section = self._format({**base, "bold": True, "font_size": 12})
        self.good = self._format({**self.cell, "font_color": "#006100", "bg_color": "#C6EFCE", "align": "center"})
        self.bad = self._format({**self.cell, "font_color": "#9C0006", "bg_color": "#FFC7CE", "align": "center"})

    def _format(self, props: dict):
        key = tuple(sorted(props.items()))
        if key not in self._made:
            fmt = self.book.add_format(props)
            self._made[key] = fmt
            self._props[id(fmt)] = props
        return self._made[key]

    def of(self, kind: str, *, wrap: bool = False, ruled: bool = False, **extra):
        """The cell format of a column kind (number format), wrapped if asked, ruled (thin grey
        borders) if asked, with `extra` xlsxwriter properties (align …)."""
        props = dict(self.cell if ruled else self.base)
        if kind in NUMBER_FORMATS:
            props["num_format"] = NUMBER_FORMATS[kind]
        if wrap:
            props["text_wrap"] = True
        return self._format({**props, **extra})

    def quoted(self, fmt):
        """`fmt` with Excel's quote prefix (None: the default format's)."""
        props = self.base if fmt is None else self._props[id(fmt)]
        return self._format({**props, "quote_prefix": True})

    @staticmethod
    def xf_index(fmt) -> int:
        """The style index cells written outside xlsxwriter (fastrows) refer to. Asking assigns it,
        which also makes xlsxwriter write the format even if no cell of its own uses it."""
        return 0 if fmt is None else fmt._get_xf_index()


def _printed_inches(width: float) -> float:
    """A column `width` (Excel character units) printed at 100 %: xlsxwriter's pixel rule at 96 dpi."""
    pixels = width * 12 + 0.5 if width < 1 else int(width * 7 + 0.5) + 5
    return pixels / 96


def paper_for(n_columns: int) -> int:
    return A3 if n_columns > A3_COLUMNS_ABOVE else A4


def printable_inches(paper: int) -> float:
    return PAPER_WIDTH_LANDSCAPE[paper] - MARGINS["left"] - MARGINS["right"]


def footer_text(as_of: date | None) -> str:
    """第 &P 页 共 &N 页 in the centre, the as-of date on the left, the sheet name on the right."""
    left = f"&L隐患判断日 {as_of.isoformat()}" if as_of else ""
    return f"{left}&C第 &P 页 共 &N 页&R&A"


def page_setup(ws, widths: Sequence[float], *, as_of: date | None, repeat_header: int | None = None) -> int:
    """Landscape on A3 or A4 by column count, the footer, no gridlines; one page wide if that keeps
    the print scale ≥ 90 %, else 90 % with columns on following pages (`repeat_header`: the row
    printed atop every page). Returns how many columns (from the left) the first page shows, for
    the title to be centred over them."""
    ws.hide_gridlines(2)
    ws.set_landscape()
    paper = paper_for(len(widths))
    ws.set_paper(paper)
    ws.set_margins(**MARGINS)
    ws.set_footer(footer_text(as_of))
    if repeat_header is not None:
        ws.repeat_rows(repeat_header)      # the header row on every page; the title on the first
    room = printable_inches(paper)
    needed = sum(map(_printed_inches, widths)) * FIT_SAFETY
    scale = min(100, int(100 * room / needed))
    if scale >= MIN_PRINT_SCALE:
        ws.set_print_scale(scale)                  # one page wide
        return len(widths)
    ws.set_print_scale(MIN_PRINT_SCALE)
    ws.print_across()              # a row band's pages one after the other, to lay side by side
    if repeat_header is not None and len(widths) > 2:
        ws.repeat_columns(0, 1)    # 序号 and the row's key on every page
    # columns on the first page, counted with the same safety margin as above
    shown, used = 0, 0.0
    for width in widths:
        used += _printed_inches(width) * MIN_PRINT_SCALE / 100 * FIT_SAFETY
        if used > room:
            break
        shown += 1
    return max(1, shown)


def fits_one_page_wide(widths: Sequence[float]) -> bool:
    room = printable_inches(paper_for(len(widths)))
    return sum(map(_printed_inches, widths)) * FIT_SAFETY * MIN_PRINT_SCALE / 100 <= room


def narrowed(widths: list[float], minimums: Sequence[float | None]) -> list[float]:
    """`widths` with the wrapped columns (those with a minimum) narrowed, widest first and not below
    their minimum, just enough for the list to print one page wide at ≥ 90 % (their text takes
    more lines instead). Unchanged when even that would not do: taller rows would only add pages."""
    narrow = list(widths)
    while not fits_one_page_wide(narrow):
        candidates = [i for i, w in enumerate(narrow) if minimums[i] is not None and w > minimums[i]]
        if not candidates:
            return list(widths)
        widest = max(candidates, key=lambda i: narrow[i])
        narrow[widest] = max(minimums[widest], narrow[widest] - 1)
    return narrow


def write_title(ws, formats: Formats, title: str, widths: Sequence[float], shown: int, *,
                unit: str = UNIT_LINE) -> None:
    """Rows TITLE_ROW and UNIT_ROW: the title centred over the `shown` columns of the first printed
    page, the 单位 line right-aligned under it (as government lists circulate). The cells right of
    them are blanked with a plain format: the columns' ruled format would otherwise draw empty
    boxes above the header."""
    last_col, n_columns = shown - 1, len(widths)
    # a title longer than the first page is wide goes onto more lines (14 pt: 1.4 × the body's units)
    room = sum(widths[:shown]) or 1
    lines = -(-int(display_width(title) * 1.4) // max(1, int(room) - 2))
    ws.set_row(TITLE_ROW, 24 * max(1, lines))
    # row by row (constant-memory mode): merge, then the text over the merge's first cell
    for row, fmt in ((TITLE_ROW, formats.title), (UNIT_ROW, formats.unit)):
        if last_col > 0:
            ws.merge_range(row, 0, row, last_col, "", fmt)
        if row == TITLE_ROW:
            write_text(ws, row, 0, title, fmt, formats.quoted(fmt))
        else:
            ws.write_string(row, 0, unit, fmt)
        for col in range(last_col + 1, n_columns):
            ws.write_blank(row, col, None, formats.unit)


class ListWorkbook:
    """A workbook of lists written to `path` (usually an atomic_write temporary name).

    xlsxwriter runs in constant-memory mode with fixed document properties, so unchanged data
    gives an identical file; `close()` splices the queued list rows in. `as_of` is the date the
    footer of every sheet shows (隐患判断日); without it, the date of `created`."""

    def __init__(self, path: Path, *, created: datetime, title: str, as_of: date | None = None):
        import xlsxwriter

        self.path = path
        self.as_of = as_of or created.date()
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
        wrapped = [False] + [getattr(c, "wrap", False) or c.header in WRAP_HEADERS for c in columns]
        samples = [c.values(sample) for c in columns]
        widths = narrowed([column_width("序号", [len(rows)])] + [
            column_width(c.header, values, header_lines=2, maximum=WRAP_MAX_WIDTH if wrap else 50)
            for c, values, wrap in zip(columns, samples, wrapped[1:], strict=True)],
            [None] + [max(WRAP_MIN_WIDTH, word_width(values)) if wrap else None
                      for values, wrap in zip(samples, wrapped[1:], strict=True)])
        kinds = [formats.of(INT, ruled=True, align="center")] + [
            formats.of(c.kind, wrap=wrap, ruled=True) for c, wrap in zip(columns, wrapped[1:], strict=True)]
        styles = [formats.xf_index(f) for f in kinds]
        quoted_styles = [formats.xf_index(formats.quoted(f)) for f in kinds]
        parts = max(1, -(-len(rows) // per_sheet))
        names = []
        for part in range(parts):
            start = part * per_sheet
            count = min(per_sheet, len(rows) - start) if rows else 0
            ws = self.add_sheet(name if parts == 1 else f"{name}_{part + 1}")
            names.append(ws.get_name())
            first_page_columns = page_setup(ws, widths, as_of=self.as_of, repeat_header=HEADER_ROW)
            for col, width in enumerate(widths):
                ws.set_column(col, col, width, kinds[col])
            suffix = f"（第 {part + 1}/{parts} 部分）" if parts > 1 else ""
            write_title(ws, formats, title + suffix, widths, first_page_columns)
            ws.set_row(HEADER_ROW, max(30.0, row_height(max(
                text_lines(h, w) for h, w in zip(["序号", *(c.header for c in columns)], widths, strict=True)))))
            ws.write_string(HEADER_ROW, 0, "序号", formats.header)
            for col, column in enumerate(columns, start=1):
                write_text(ws, HEADER_ROW, col, column.header, formats.header, formats.quoted(formats.header))
            ws.freeze_panes(HEADER_ROWS, 0)
            ws.autofilter(HEADER_ROW, 0, HEADER_ROW + count, len(columns))
            self.pending.append(PendingRows(
                sheet_index=ws.index, first_row=HEADER_ROWS, first_number=start + 1,
                rows=rows[start:start + count], columns=columns, styles=styles,
                quoted_styles=quoted_styles, last_col=len(columns),
                wrap_widths={c: widths[c + 1] for c in range(len(columns)) if wrapped[c + 1]}))
        return names

    def close(self) -> None:
        try:
            self.book.close()
            inject_rows(self.frame, self.path, self.pending)
        finally:
            self.frame.unlink(missing_ok=True)
