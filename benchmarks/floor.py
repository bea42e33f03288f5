"""The I/O floor: the least any tool must spend to read these inputs and write these outputs.

    python benchmarks/floor.py RAW_YEAR_DIR EXPORTS_YEAR_DIR OUT_DIR [--in-memory]

1. Read every input file of the year (``data/raw/<year>/``) raw: workbooks with python-calamine
   (every sheet, ``to_python(skip_empty_area=False)``, as landaudit reads them), CSV with the
   ``csv`` module (UTF-8, else GB18030), HTML-table ".xls" with one regular expression. No
   header detection, no types, no validation.
2. Write exactly the cells landaudit wrote: every .xlsx under ``data/exports/<year>/`` (the
   governance workbook, per-township workbooks if any, send-back files) is read back with
   python-calamine and rewritten with raw xlsxwriter (``constant_memory``, as landaudit writes,
   so memory stays bounded at 1M parcels; ``--in-memory`` uses xlsxwriter's default mode, measured
   about 7 % faster at 20k parcels but holding every cell; no formats, no widths, no charts): ``write_string`` for text, ``write_number`` for numbers and dates (as Excel serial
   numbers), ``write_boolean`` for booleans; empty cells are skipped.

The read-back of landaudit's workbooks is preparation, not floor work: its time is measured and
reported as ``prep_s`` so that the caller can subtract it from the process wall time (the floor
is *wall time of this process − prep_s*; interpreter start-up and imports are included, as they
are in landaudit's wall time). Peak RSS includes holding one read-back sheet at a time.

Prints one JSON line on stdout.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import python_calamine
import xlsxwriter

EPOCH = datetime(1899, 12, 30)
_TR = re.compile(rb"<tr[^>]*>(.*?)</tr>", re.S | re.I)
_TD = re.compile(rb"<t[dh][^>]*>(.*?)</t[dh]>", re.S | re.I)


def read_input(path: Path) -> int:
    """Read one file raw; return the number of cells seen."""
    head = path.open("rb").read(512)
    if head.startswith(b"PK") or head.startswith(bytes.fromhex("D0CF11E0")):
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        cells = 0
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            cells += sum(len(r) for r in rows)
        return cells
    data = path.read_bytes()
    if head.lstrip().lower().startswith((b"<html", b"<table", b"<!doctype")):
        return sum(len(_TD.findall(tr)) for tr in _TR.findall(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    return sum(len(r) for r in csv.reader(io.StringIO(text, newline="")))


def rewrite(src: Path, dst: Path, constant_memory: bool = True) -> tuple[float, int]:
    """Rewrite one workbook cell for cell; return (read-back seconds, cells written)."""
    prep = 0.0
    t = time.perf_counter()
    book = python_calamine.CalamineWorkbook.from_path(str(src))
    names = book.sheet_names
    prep += time.perf_counter() - t
    dst.parent.mkdir(parents=True, exist_ok=True)
    out = xlsxwriter.Workbook(str(dst), {"constant_memory": constant_memory})
    cells = 0
    for name in names:
        t = time.perf_counter()
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        prep += time.perf_counter() - t
        sheet = out.add_worksheet(name)
        ws, wn, wb = sheet.write_string, sheet.write_number, sheet.write_boolean
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v == "" or v is None:
                    continue
                cells += 1
                if isinstance(v, str):
                    ws(r, c, v)
                elif isinstance(v, bool):
                    wb(r, c, v)
                elif isinstance(v, (int, float)):
                    wn(r, c, v)
                elif isinstance(v, datetime):
                    wn(r, c, (v - EPOCH) / timedelta(days=1))
                elif isinstance(v, date):
                    wn(r, c, (v - EPOCH.date()).days)
                elif isinstance(v, timedelta):
                    wn(r, c, v / timedelta(days=1))
                elif isinstance(v, dtime):
                    wn(r, c, (v.hour * 3600 + v.minute * 60 + v.second) / 86400)
                else:
                    ws(r, c, str(v))
        del rows
    out.close()
    return prep, cells


def main() -> None:
    raw, exports, out = (Path(a) for a in sys.argv[1:4])
    constant_memory = "--in-memory" not in sys.argv[4:]
    t = time.perf_counter()
    inputs = sorted(p for p in raw.rglob("*") if p.is_file())
    cells_read = sum(read_input(p) for p in inputs)
    read_s = time.perf_counter() - t

    t = time.perf_counter()
    prep_s, cells_written = 0.0, 0
    outputs = sorted(exports.rglob("*.xlsx"))
    for src in outputs:
        prep, cells = rewrite(src, out / src.relative_to(exports), constant_memory)
        prep_s += prep
        cells_written += cells
    write_s = time.perf_counter() - t - prep_s

    print(json.dumps({
        "read_s": round(read_s, 3),
        "write_s": round(write_s, 3),
        "prep_s": round(prep_s, 3),
        "xlsxwriter_mode": "constant_memory" if constant_memory else "in_memory",
        "files_read": len(inputs),
        "cells_read": cells_read,
        "workbooks_written": len(outputs),
        "cells_written": cells_written,
    }))


if __name__ == "__main__":
    main()
