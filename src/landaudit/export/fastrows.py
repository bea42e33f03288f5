"""Fast list rows: the data rows of long lists are written as sheet XML directly into the
workbook xlsxwriter produced (SPEC §13, issue 7).

xlsxwriter spends ~6 µs per cell in its generic per-cell machinery; the lists are most of a
workbook's cells. So `write_list` lets xlsxwriter write everything else of a list sheet (title,
header, column widths and formats, freeze panes, autofilter, print setup) and queues the data rows
here; after the workbook is closed, `inject_rows` copies the zip once and splices the rows into each
queued sheet's <sheetData>, with the same cell types xlsxwriter would write (numbers as <v>, text as
inline strings, dates as serials) and each column's xlsxwriter format index. Text is already made safe
by `cells.safe_text` (no formulas, no XML-illegal characters) and is XML-escaped here.
"""

from __future__ import annotations

import math
import queue
import re
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat
from pathlib import Path

from landaudit.export.cells import FORMULA_STARTS, MAX_CELL_CHARS, XML_ILLEGAL_EXCEPT_NUL, safe_text

_EPOCH = datetime(1899, 12, 30)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass
class PendingRows:
    """Data rows for one sheet: `rows` shown through `columns` (lists.Column: `.values(rows)`),
    computed a chunk at a time when the rows are written; `first_row` is 0-based."""

    sheet_index: int                  # xlsxwriter's 0-based worksheet index
    first_row: int
    first_number: int                 # 序号 of the first row
    rows: list
    columns: Sequence
    formats: list                     # xlsxwriter Format per column, 序号 first
    last_col: int


def _column_letters(n: int) -> list[str]:
    from xlsxwriter.utility import xl_col_to_name

    return [xl_col_to_name(c) for c in range(n)]


def _text_body(value: object) -> str | None:
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, (list, tuple)):
        text = safe_text("；".join(str(v) for v in value if v is not None))
    else:
        text = safe_text(value)
    return _inline_string(text.translate(_ESCAPES)) if text else None


def _inline_string(escaped: str) -> str:
    """The body of an inline-string cell for safe, XML-escaped, non-empty text (escaping never
    touches its first or last character's whitespace-ness)."""
    space = ' xml:space="preserve"' if escaped[0].isspace() or escaped[-1].isspace() else ""
    return f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


def _value_body(value: object) -> str | None:
    """What follows `<c r=".." s=".."` for one value, typed as write_value would type it."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, str) or isinstance(value, (list, tuple)):
        return _text_body(value)
    if isinstance(value, int):
        return f"><v>{value}</v></c>"
    if isinstance(value, float):
        return f"><v>{value!r}</v></c>" if math.isfinite(value) else None
    if isinstance(value, datetime):
        serial = (value - _EPOCH).total_seconds() / 86400
        return f"><v>{serial!r}</v></c>"
    if isinstance(value, date):
        return f"><v>{(value - _EPOCH.date()).days}</v></c>"
    return _text_body(value)


def _text_bodies(texts: list[str]) -> list[str]:
    """Cell bodies ("" for empty) of many distinct strings at once: the XML cleaning and escaping
    run over one joined string (C speed) instead of once per value; same result as `_text_body`."""
    joined = "\x00".join(texts)
    if joined.count("\x00") != len(texts) - 1 or max(map(len, texts), default=0) >= MAX_CELL_CHARS:
        return [_text_body(t) or "" for t in texts]      # a value holds the separator, or is huge
    bodies = []
    for text in XML_ILLEGAL_EXCEPT_NUL.sub("", joined).translate(_ESCAPES).split("\x00"):
        if not text:
            bodies.append("")
            continue
        bodies.append(_inline_string("'" + text if text[0] in FORMULA_STARTS else text))
    return bodies


def _column_cells(column: list, letter: str, style: int, row_numbers: list[str]) -> list[str]:
    """The <c> elements of (a chunk of) one column, "" for an empty cell. Text repeats a lot
    (镇街, 是/否, 责任单位, batch names): each distinct string is escaped once per column chunk,
    all of them together."""
    texts = {v for v in column if type(v) is str}
    text_bodies = dict(zip(texts, _text_bodies(list(texts)), strict=True)) if texts else {}
    head, style_attr = f'<c r="{letter}', f'" s="{style}"'
    out = []
    append = out.append
    for r, v in zip(row_numbers, column, strict=True):
        if v is None:
            append("")
            continue
        if type(v) is float:
            body = f"><v>{v!r}</v></c>" if math.isfinite(v) else None
        elif type(v) is str:
            body = text_bodies[v]
        else:
            body = _value_body(v)
        append(head + r + style_attr + body if body else "")
    return out


def _row_chunks(job: PendingRows, styles: list[int], rows_per_chunk: int = 5_000) -> Iterator[str]:
    """The sheet's <row> elements, 5,000 rows at a time (cells of a 1M-row list would otherwise
    all be alive at once). Cells are made a column at a time and joined into rows in C."""
    letters = _column_letters(job.last_col + 1)
    seq_style, styles = styles[0], styles[1:]
    n = len(job.rows)
    for start in range(0, n, rows_per_chunk):
        stop = min(n, start + rows_per_chunk)
        first = job.first_row + start + 1                     # Excel row number of the chunk's first row
        numbers = [str(r) for r in range(first, first + stop - start)]
        heads = [f'<row r="{r}"><c r="A{r}" s="{seq_style}"><v>{job.first_number + start + i}</v></c>'
                 for i, r in enumerate(numbers)]
        rows = job.rows[start:stop]
        cells = [_column_cells(column.values(rows), letters[c + 1], styles[c], numbers)
                 for c, column in enumerate(job.columns)]
        yield "".join(map("".join, zip(heads, *cells, repeat("</row>", stop - start), strict=True)))


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
                styles = [fmt.xf_index if fmt is not None and fmt.xf_index is not None else 0 for fmt in job.formats]
                out_info = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                out_info.compress_type = zipfile.ZIP_DEFLATED
                if hasattr(out_info, "compress_level"):       # Python ≥ 3.13
                    out_info.compress_level = 1
                else:
                    out_info._compresslevel = 1
                writer.put("open", out_info)
                writer.put("data", head)
                for chunk in _row_chunks(job, styles):
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
