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
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from landaudit.export.cells import safe_text

_EPOCH = datetime(1899, 12, 30)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


@dataclass
class PendingRows:
    """Data rows for one sheet: values[c][i] is column c of row i; `first_row` is 0-based."""

    sheet_index: int                  # xlsxwriter's 0-based worksheet index
    first_row: int
    first_number: int                 # 序号 of the first row
    columns: list[list]
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
    if not text:
        return None
    escaped = text.translate(_ESCAPES)
    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
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


def _column_bodies(column: list) -> list[str | None]:
    """Cell bodies of (a chunk of) one column. Text repeats a lot (镇街, 是/否, 责任单位, batch
    names): each distinct string is escaped once per column chunk."""
    cache: dict[str, str] = {}
    out = []
    for v in column:
        if v is None:
            out.append(None)
        elif type(v) is float:
            out.append(f"><v>{v!r}</v></c>" if math.isfinite(v) else None)
        elif type(v) is str:
            body = cache.get(v)
            if body is None:
                body = cache[v] = _text_body(v) or ""
            out.append(body or None)
        else:
            out.append(_value_body(v))
    return out


def _row_chunks(job: PendingRows, styles: list[int], rows_per_chunk: int = 20_000) -> Iterator[str]:
    """The sheet's <row> elements, 20,000 rows at a time (cell bodies of a 1M-row list would
    otherwise all be alive at once)."""
    letters = _column_letters(job.last_col + 1)
    seq_style, styles = styles[0], styles[1:]
    n = len(job.columns[0]) if job.columns else 0
    for start in range(0, n, rows_per_chunk):
        bodies = [_column_bodies(column[start:start + rows_per_chunk]) for column in job.columns]
        batch: list[str] = []
        for i in range(len(bodies[0])):
            r = job.first_row + start + i + 1                 # Excel row number
            cells = [f'<row r="{r}"><c r="A{r}" s="{seq_style}"><v>{job.first_number + start + i}</v></c>']
            for c, column in enumerate(bodies):
                body = column[i]
                if body is not None:
                    cells.append(f'<c r="{letters[c + 1]}{r}" s="{styles[c]}"{body}')
            cells.append("</row>")
            batch.append("".join(cells))
        yield "".join(batch)


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def inject_rows(source: Path, target: Path, jobs: list[PendingRows]) -> None:
    """Copy the xlsx at `source` to `target`, adding each job's rows to its sheet."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    by_file = {f"xl/worksheets/sheet{job.sheet_index + 1}.xml": job for job in jobs}
    # compresslevel 1: the sheets are most of the bytes; deflate at level 6 costs three times the
    # time for a file about 15% smaller.
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            job = by_file.get(info.filename)
            if job is None or not job.columns or not job.columns[0]:
                zout.writestr(info, data)
                continue
            n = len(job.columns[0])
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
            with zout.open(out_info, "w", force_zip64=True) as out:
                out.write(head)
                for chunk in _row_chunks(job, styles):
                    out.write(chunk.encode("utf-8"))
                out.write(b"</sheetData>" + tail)
