"""Fast list rows: the data rows of long lists are written as sheet XML directly into the
workbook xlsxwriter produced (SPEC §13, issue 7).

xlsxwriter spends ~6 µs per cell in its generic per-cell machinery; the lists are most of a
workbook's cells. So `write_list` lets xlsxwriter write everything else of a list sheet (title,
header, column widths and formats, freeze panes, autofilter, print setup) and queues the data rows
here; after the workbook is closed, `inject_rows` copies the zip once and splices the rows into each
queued sheet's <sheetData>, with the same cell types xlsxwriter would write (numbers as <v>, text as
inline strings, dates as serials) and each column's xlsxwriter format index. Text is cleaned as
`cells.safe_text` cleans it (no XML-illegal characters) and XML-escaped here; text that starts like a
formula keeps its characters and gets the column's quote-prefix style instead (SPEC §9 rev. 2).
"""

from __future__ import annotations

import functools
import math
import queue
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat
from pathlib import Path

from landaudit.export.cells import (
    FORMULA_STARTS,
    MAX_CELL_CHARS,
    XML_ILLEGAL_EXCEPT_NUL,
    needs_quote_prefix,
    row_height,
    safe_text,
    text_lines,
)

# Numbers as xlsxwriter writes them (`{:.16G}`), so a list cell stores the value a per-cell write
# would (issue 15: 0.1 + 0.2 is 0.3 there, not repr's 0.30000000000000004; 45000, not 45000.0).
_NUMBER = "><v>{:.16G}</v></c>"
# Excel's serial dates: days since 1899-12-31, one more from 1900-03-01 on (Excel keeps a
# 1900-02-29 that never was); the fraction of a day as xlsxwriter computes it.
_EPOCH = datetime(1899, 12, 31)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# As xlsxwriter writes them: CR as Excel's _x000D_ (a literal CR would be read back as LF), and text
# that already looks like such an escape with its underscore escaped, so it reads back unchanged.
_EXCEL_ESCAPE = re.compile(r"_x[0-9a-fA-F]{4}_|\r")


def _excel_escape(match: re.Match) -> str:
    return "_x000D_" if match.group() == "\r" else "_x005F" + match.group()


def _escape(text: str) -> str:
    text = text.translate(_ESCAPES)
    return _EXCEL_ESCAPE.sub(_excel_escape, text) if "_x" in text or "\r" in text else text


@dataclass
class PendingRows:
    """Data rows for one sheet: `rows` shown through `columns` (lists.Column: `.values(rows)`),
    computed a chunk at a time when the rows are written; `first_row` is 0-based."""

    sheet_index: int                  # xlsxwriter's 0-based worksheet index
    first_row: int
    first_number: int                 # 序号 of the first row
    rows: list
    columns: Sequence
    styles: list[int]                 # xlsxwriter xf index per column, 序号 first
    quoted_styles: list[int]          # the same with quote prefix, for text that starts like a formula
    last_col: int
    wrap_widths: dict[int, float] = field(default_factory=dict)   # wrapped columns (index in `columns`) → width


def _column_letters(n: int) -> list[str]:
    from xlsxwriter.utility import xl_col_to_name

    return [xl_col_to_name(c) for c in range(n)]


def _text_cell(value: object) -> tuple[str | None, bool]:
    """The cell body of a value written as text, and whether it needs the quote-prefix style."""
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, (list, tuple)):
        text = safe_text("；".join(str(v) for v in value if v is not None))
    else:
        text = safe_text(value)
    return (_inline_string(_escape(text)), needs_quote_prefix(text)) if text else (None, False)


def _text_body(value: object) -> str | None:
    return _text_cell(value)[0]


def _inline_string(escaped: str) -> str:
    """The body of an inline-string cell for safe, XML-escaped, non-empty text (escaping never
    touches its first or last character's whitespace-ness)."""
    space = ' xml:space="preserve"' if escaped[0].isspace() or escaped[-1].isspace() else ""
    return f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


def _value_cell(value: object) -> tuple[str | None, bool]:
    """What follows `<c r=".." s=".."` for one value, typed as write_value would type it, and
    whether it takes the quote-prefix style."""
    if value is None:
        return None, False
    if isinstance(value, bool) or isinstance(value, str) or isinstance(value, (list, tuple)):
        return _text_cell(value)
    if isinstance(value, int):
        return _NUMBER.format(value), False
    if isinstance(value, float):
        return (_NUMBER.format(value) if math.isfinite(value) else None), False
    if isinstance(value, date):
        return _NUMBER.format(excel_serial(value)), False
    return _text_cell(value)


def excel_serial(value: date) -> float | int:
    """The serial number of a date or datetime (xlsxwriter's arithmetic, without its time-only
    workaround that turns a datetime on Monday 1900-01-01 into day 0)."""
    if isinstance(value, datetime):
        delta = value - _EPOCH
        serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / 86400
    else:
        serial = (value - _EPOCH.date()).days
    return serial + 1 if serial > 59 else serial


def _text_cells(texts: list[str]) -> list[tuple[str, bool]]:
    """Cell bodies ("" for empty) and quote-prefix flags of many distinct strings at once: the XML
    cleaning and escaping run over one joined string (C speed) instead of once per value; same
    result as `_text_cell`."""
    joined = "\x00".join(texts)
    # a value holding the separator, or long enough to reach Excel's limit (UTF-16 units: up to
    # twice its length) goes through safe_text on its own
    if joined.count("\x00") != len(texts) - 1 or max(map(len, texts), default=0) > MAX_CELL_CHARS // 2:
        return [(b or "", q) for b, q in map(_text_cell, texts)]
    clean = XML_ILLEGAL_EXCEPT_NUL.sub("", joined)
    quoted = [text[:1] in FORMULA_STARTS for text in clean.split("\x00")]
    return [(_inline_string(text) if text else "", q)
            for text, q in zip(_escape(clean).split("\x00"), quoted, strict=True)]


def _text_bodies(texts: list[str]) -> list[str]:
    return [body for body, _ in _text_cells(texts)]


def _column_cells(column: list, letter: str, style: int, quoted_style: int, row_numbers: list[str]) -> list[str]:
    """The <c> elements of (a chunk of) one column, "" for an empty cell. Text repeats a lot
    (镇街, 是/否, 责任单位, batch names): each distinct string is escaped once per column chunk,
    all of them together. Text that starts like a formula gets the quote-prefix style. A column of
    text only, or of numbers only (most columns), is made by one comprehension."""
    kinds = set(map(type, column))
    kinds.discard(type(None))
    head, style_attr, quoted_attr = f'<c r="{letter}', f'" s="{style}"', f'" s="{quoted_style}"'
    if kinds <= _NUMBERS:
        number = head + "{0}" + style_attr + "><v>{1:.16G}</v></c>"          # _NUMBER
        isfinite = math.isfinite
        return [number.format(r, v) if v is not None and isfinite(v) else ""
                for r, v in zip(row_numbers, column, strict=True)]
    texts = {v for v in column if type(v) is str}
    known = _TEXT_CELLS
    new = [t for t in texts if t not in known]
    if new:
        known.update(zip(new, _text_cells(new), strict=True))
        if len(known) > _TEXT_CELLS_MAX:          # a 1M-row export: keep the memory bounded
            known.clear()
            known.update(zip(texts, _text_cells(list(texts)), strict=True))
    text_cells = {None: ""}
    for text in texts:
        body, quoted = known[text]
        text_cells[text] = ((quoted_attr if quoted else style_attr) + body) if body else ""
    if kinds <= {str}:
        get = text_cells.__getitem__
        return [head + r + cell if (cell := get(v)) else "" for r, v in zip(row_numbers, column, strict=True)]
    out = []
    append = out.append
    for r, v in zip(row_numbers, column, strict=True):
        if v is None:
            append("")
            continue
        if type(v) is str:
            cell = text_cells[v]
            append(head + r + cell if cell else "")
            continue
        if type(v) is float:
            body, quoted = (_NUMBER.format(v) if math.isfinite(v) else None), False
        else:
            body, quoted = _value_cell(v)
        append(head + r + (quoted_attr if quoted else style_attr) + body if body else "")
    return out


_NUMBERS = frozenset({int, float})       # not bool: 是/否 text
# text → (cell body, quote prefix): names, codes and reasons recur in most lists of a workbook and
# in every township's workbook, so each is cleaned and escaped once
_TEXT_CELLS: dict[str, tuple[str, bool]] = {}
_TEXT_CELLS_MAX = 1 << 19


def _row_chunks(job: PendingRows, rows_per_chunk: int = 5_000) -> Iterator[str]:
    """The sheet's <row> elements, 5,000 rows at a time (cells of a 1M-row list would otherwise
    all be alive at once). Cells are made a column at a time and joined into rows in C."""
    letters = _column_letters(job.last_col + 1)
    seq_style, styles, quoted_styles = job.styles[0], job.styles[1:], job.quoted_styles[1:]
    n = len(job.rows)
    for start in range(0, n, rows_per_chunk):
        stop = min(n, start + rows_per_chunk)
        first = job.first_row + start + 1                     # Excel row number of the chunk's first row
        numbers = [str(r) for r in range(first, first + stop - start)]
        rows = job.rows[start:stop]
        values = [column.values(rows) for column in job.columns]
        heights = _row_heights(values, job.wrap_widths, stop - start)
        heads = [f'<row r="{r}"{h}><c r="A{r}" s="{seq_style}"><v>{job.first_number + start + i}</v></c>'
                 for i, (r, h) in enumerate(zip(numbers, heights, strict=True))]
        cells = [_column_cells(column_values, letters[c + 1], styles[c], quoted_styles[c], numbers)
                 for c, column_values in enumerate(values)]
        del values
        yield "".join(map("".join, zip(heads, *cells, repeat("</row>", stop - start), strict=True)))


# the same texts (reasons, names, addresses) recur in most lists and in every township's workbook
_text_lines = functools.lru_cache(maxsize=1 << 18)(text_lines)


def _row_heights(values: list[list], wrap_widths: dict[int, float], n: int) -> list[str]:
    """The `ht` attribute of each row ("" for one line) from its wrapped columns' texts. Each
    distinct text is measured once per export; a column none of whose texts wraps costs one set."""
    lines = None
    for c, width in wrap_widths.items():
        kinds = set(map(type, values[c]))
        column = [("；".join(str(x) for x in v if x is not None) if isinstance(v, (list, tuple)) else v)
                  for v in values[c]] if list in kinds or tuple in kinds else values[c]
        multi = {}
        for text in {v for v in column if type(v) is str}:
            k = _text_lines(text, width)
            if k > 1:
                multi[text] = k
        if not multi:
            continue
        get = multi.get
        column_lines = [get(v, 1) if type(v) is str else 1 for v in column]
        lines = column_lines if lines is None else list(map(max, lines, column_lines))
    if lines is None:
        return [""] * n
    return [f' ht="{_row_points(k)}" customHeight="1"' if k > 1 else "" for k in lines]


def _row_points(lines: int) -> str:
    """A row's height as xlsxwriter's set_row writes it: whole pixels at 96 dpi, in points (Excel
    stores multiples of 0.75 too), so list rows and the rows xlsxwriter sizes agree (issue 15)."""
    pixels = int(row_height(lines) * 4 / 3 + 0.5)
    return f"{pixels * 0.75:.16g}"


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def inject_rows(source: Path, target: Path, jobs: list[PendingRows]) -> None:
    """Copy the xlsx at `source` to `target`, adding each job's rows to its sheet. Rows are built
    here while a second thread deflates and writes what is ready (zlib releases the GIL)."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    by_file = {f"xl/worksheets/sheet{job.sheet_index + 1}.xml": job for job in jobs}
    # compresslevel 1: the sheets are most of the bytes; deflate at level 6 costs three times the
    # time for a file about 15% smaller.
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        writer = _ZipWriter(zout)
        try:
            for info in zin.infolist():
                data = zin.read(info)
                job = by_file.get(info.filename)
                if job is None or not job.rows:
                    writer.put("copy", info, data)
                    continue
                n = len(job.rows)
                last = xl_rowcol_to_cell(job.first_row + n - 1, job.last_col)
                data = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>'.encode(), data, count=1)
                head, tail = data.split(b"</sheetData>", 1)
                out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                out_info.compress_type = zipfile.ZIP_DEFLATED
                if hasattr(out_info, "compress_level"):       # Python ≥ 3.13
                    out_info.compress_level = 1
                else:
                    out_info._compresslevel = 1
                writer.put("open", out_info)
                writer.put("data", head)
                for chunk in _row_chunks(job):
                    writer.put("data", chunk.encode("utf-8"))
                writer.put("data", b"</sheetData>" + tail)
                writer.put("close")
        finally:
            writer.finish()


class _ZipWriter:
    """Writes zip members on a thread of its own, in the order given. A few pieces wait at most
    (memory); the first write error (disk full) is raised in the caller at its next put or at
    finish."""

    def __init__(self, zout: zipfile.ZipFile):
        self.zout = zout
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="landaudit-zip", daemon=True)
        self.thread.start()

    def put(self, kind: str, *args) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((kind, *args))

    def finish(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        member = None
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue                                  # drain: the caller raises at its next put
            kind, *args = item
            try:
                if kind == "copy":
                    self.zout.writestr(*args)
                elif kind == "open":
                    member = self.zout.open(args[0], "w", force_zip64=True)
                elif kind == "data":
                    member.write(args[0])
                else:
                    member.close()
                    member = None
            except BaseException as exc:                  # noqa: BLE001 — re-raised in the caller
                self.error = exc
        if member is not None:                            # the caller stopped half-way through a sheet
            try:
                member.close()
            except BaseException as exc:                  # noqa: BLE001
                self.error = self.error or exc
