"""Read any department file into sheets of raw cell values with absolute Excel row numbers.

SPEC §14: the extension lies, so the format is sniffed from the first bytes (BIFF/OLE, zip,
HTML, XML spreadsheet, else text). Workbooks are read with python-calamine; CSV, HTML tables and
Excel 2003 XML are decoded here. Problems that stop a file are returned as an error code, never
raised: the caller reports them and goes on with the next file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

# Formats as recorded in ingest_report.json.
XLSX, XLS, ODS, CSV, HTML, XML2003 = "xlsx", "xls", "ods", "csv", "html", "xml2003"

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_OTHER_BINARY = {
    b"%PDF": "PDF", b"\x89PNG": "PNG 图片", b"\xff\xd8\xff": "JPEG 图片", b"Rar!": "RAR 压缩包",
    b"7z\xbc\xaf": "7z 压缩包", b"\x1f\x8b": "gzip 压缩包", b"{\\rtf": "RTF 文档",
}
_ZIP_EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".ods")
_ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")


@dataclass
class Sheet:
    """One sheet's rows: row i is Excel row i + 1, cells are raw values. Workbook sheets stream:
    `rows` holds the rows read so far and `more` the rest, converted to Python as they are used
    (at 1M parcels a sheet as Python lists was 1.1 GB on top of calamine's own copy)."""

    name: str
    rows: list[list]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    hidden: bool = False
    more: Iterator[list] | None = None

    def head(self, n: int) -> list[list]:
        """The first `n` rows (fewer when the sheet is shorter)."""
        while len(self.rows) < n and self.more is not None:
            row = next(self.more, None)
            if row is None:
                self.more = None
            else:
                self.rows.append(row)
        return self.rows[:n]

    def all_rows(self) -> Iterator[list]:
        """Every row, once: a streaming sheet is consumed."""
        yield from self.rows
        if self.more is not None:
            more, self.more = self.more, None
            yield from more


@dataclass
class ReadResult:
    format: str | None
    sheets: list[Sheet] = field(default_factory=list)
    encoding: str | None = None
    error: str | None = None         # a findings.FINDING_CODES key
    error_detail: str = ""


class ReadFailure(Exception):
    def __init__(self, code: str, detail: str = "", fmt: str | None = None):
        super().__init__(code)
        self.code, self.detail, self.format = code, detail, fmt


MAX_ROWS, MAX_COLS = 1_048_576, 16_384          # Excel's sheet limits
HTML_MAX_CELLS = 2_000_000                       # spans counted; a pure-Python grid, so kept lower
DEFAULT_MAX_CELLS = 50_000_000
DEFAULT_MAX_LINE = 1 << 20                       # ingest.max_line_kb = 1024


def read_file(path: Path, *, max_bytes: int, max_uncompressed: int,
              encoding: str | None = None, max_cells: int = DEFAULT_MAX_CELLS,
              max_line: int = DEFAULT_MAX_LINE) -> ReadResult:
    """Sniff and read one file; never raises for bad content."""
    fmt = None
    try:
        size = path.stat().st_size
        if size == 0:
            raise ReadFailure("file_empty")
        if size > max_bytes:
            raise ReadFailure("file_too_large", _megabytes(size))
        data = path.read_bytes()
        fmt = sniff_format(data)
        if fmt in (XLSX, ODS):
            _check_zip_size(data, max_uncompressed)
        if fmt == XLSX:
            _check_xlsx_extent(data, max_cells)
        if fmt == ODS:
            _check_ods_extent(data, max_cells)
        if fmt == XLS:
            _check_xls_extent(data, max_cells)
        if fmt == XLSX:
            data = _unique_sheet_names(data)
        if fmt in (XLSX, XLS, ODS):
            return ReadResult(fmt, _read_workbook(data, fmt))
        if fmt == HTML:
            text, used = decode_text(data, encoding, html=True)
            return ReadResult(fmt, _read_html(text, max_cells), used)
        if fmt == XML2003:
            return ReadResult(fmt, _read_xml2003(data, max_cells))
        if path.suffix.lower() in _ZIP_EXTENSIONS:
            raise ReadFailure("not_spreadsheet", "文本文件", "text")   # .xls may be TSV; .xlsx never
        _check_line_length(data, max_line)
        text, used = decode_text(data, encoding)
        # a file name that is not UTF-8 (surrogateescape) shown with U+FFFD: Parquet needs real text
        stem = path.stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return ReadResult(CSV, [Sheet(stem, _read_csv(text))], used)
    except ReadFailure as failure:
        return ReadResult(failure.format or fmt, error=failure.code, error_detail=failure.detail)
    except OSError as exc:      # the file cannot be opened (issue 14 item 9): not corrupt, not the department's
        from landaudit.errors import os_reason

        detail = "文件夹无法打开：没有读取权限或路径太长" if isinstance(exc, IsADirectoryError) else os_reason(exc, writing=False)
        return ReadResult(fmt, error="file_unreadable", error_detail=detail)


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB"


def sniff_format(data: bytes) -> str:
    if data.startswith(OLE_MAGIC):
        return XLS
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, EOFError):
            raise ReadFailure("file_corrupt", "zip 结构不完整", XLSX) from None
        if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
            return XLSX
        if "mimetype" in names and b"opendocument.spreadsheet" in data[:200]:
            return ODS
        kind = "Word 文档" if "word/document.xml" in names else "zip 压缩包"
        raise ReadFailure("not_spreadsheet", kind, "zip")
    for magic, kind in _OTHER_BINARY.items():
        if data.startswith(magic):
            raise ReadFailure("not_spreadsheet", kind, "binary")
    head = data[:2048].lstrip(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:4096]:
        return XML2003
    if re.match(rb"^(<!doctype html|<html|<table|<meta|<head|<body|<!--)", head) or b"<table" in head[:512]:
        return HTML
    return CSV


def _check_zip_size(data: bytes, max_uncompressed: int) -> None:
    """Refuse a zip bomb before inflating anything (SPEC §13)."""
    try:
        total = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ReadFailure("file_corrupt", "zip 结构不完整") from None
    if total > max_uncompressed:
        raise ReadFailure("zip_bomb", _megabytes(total))


# SPEC §13 rev. 2 (issue 14): the size checks below run before any native reader sees the file.
# xlsx: a fast pass over the sheet XML as Excel, WPS and xlsxwriter write it (every <c r="A1"> and
# <row r="1"> in that exact form); a sheet in any other form (attribute order, spacing, quotes, a
# namespace prefix, cells or rows without a position, UTF-16) is parsed with expat, positions
# counted as calamine counts them (a cell without r= follows the one before it).
# One pass for cells: a match is a cell beyond column Z (groups 1–2), a cell at row 1,000,000 or
# beyond in columns A–Z (group 3), or any other form of <c (no group): the sheet is then parsed.
_CELL_SCAN = re.compile(rb'<c(?:[\t\r\n/>]| (?!r=")| r="(?:([A-Z]{2,3})([0-9]{1,7})"|[A-Z]([0-9]{7})"'
                        rb'|(?![A-Z][0-9]{1,6}")))')
_ROW_SCAN = re.compile(rb'<row(?: r="([0-9]{1,7})"(?=[\s/>])|(?=[\s/>]))')   # b"" = another form
_ANY_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]+)"')
# (a literal first byte lets the regex engine skip ahead; with the DTD forms in the same
# alternation it tested every byte: 0.2 s for a 19 MB sheet instead of 7 ms)
_PREFIXED = re.compile(rb':(?:c|row)[\s/>]')
_REF = re.compile(r"([A-Za-z]{1,4})([0-9]{1,10})$")


def _column_number(letters: bytes | str) -> int:
    number = 0
    for ch in letters.upper().encode() if isinstance(letters, str) else letters:
        number = number * 26 + ch - 64
    return number


def _check_xlsx_extent(data: bytes, max_cells: int) -> None:
    """Refuse a sheet whose cells span an absurd grid before calamine allocates it: one cell at
    XFD1048576 would make it ask for a 17-billion-cell range and abort the process."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            for name in _xlsx_sheet_members(book):
                with book.open(name) as sheet_xml:
                    rows, cols = _canonical_extent(sheet_xml, max_cells)
                if rows is None:
                    with book.open(name) as sheet_xml:
                        rows, cols = _parsed_extent(sheet_xml, max_cells)
                if rows * cols > max_cells:
                    sheet = name.rsplit("/", 1)[-1]
                    raise ReadFailure("sheet_too_large", f"{sheet}：{rows:,} 行 × {cols:,} 列")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError) as exc:
        raise ReadFailure("file_corrupt", _short(exc)) from None


def _xlsx_sheet_members(book: zipfile.ZipFile) -> list[str]:
    """Every zip member a reader may take for a worksheet: the targets of workbook.xml.rels (a sheet
    may live anywhere, e.g. xl/data/t.xml), matched as calamine does (exact, then ignoring case and
    backslashes), and anything under xl/worksheets/."""
    names = book.namelist()
    by_key = {n.replace("\\", "/").lower().lstrip("/"): n for n in names}
    members = [n for n in names if n.replace("\\", "/").lower().startswith("xl/worksheets/")
               and not n.endswith(".rels") and not n.endswith("/")]
    rels = by_key.get("xl/_rels/workbook.xml.rels")
    if rels is not None:
        try:
            root = ElementTree.fromstring(book.read(rels)[: 4 << 20])
        except ElementTree.ParseError:
            root = None
        for rel in root.iter() if root is not None else ():
            target = rel.get("Target")
            if not target or not str(rel.get("Type", "")).endswith("/worksheet"):
                continue
            target = target.replace("\\", "/")
            path = target.lstrip("/") if target.startswith("/") else "xl/" + target
            parts: list[str] = []
            for part in path.split("/"):
                if part == "..":
                    parts = parts[:-1]
                elif part not in ("", "."):
                    parts.append(part)
            member = by_key.get("/".join(parts).lower())
            if member is not None and member not in members:
                members.append(member)
    return members


def _canonical_extent(stream, max_cells: int) -> tuple[int | None, int]:
    """(rows, columns) from regular expressions over 4 MB windows (each cut at its last "<", so no
    tag is split), or (None, 0) when the sheet is not in the one form they understand."""
    max_row, max_col, tail, first = 0, 26, b"", True   # single-letter cells are not looked at: ≤ Z
    cell_rows: list[bytes] = []
    while True:
        chunk = stream.read(1 << 22)
        window = tail + chunk
        if first:
            if not window.lstrip(codecs.BOM_UTF8).startswith(b"<"):
                return None, 0                              # UTF-16 or not XML: expat decides
            first = False
        cut = window.rfind(b"<") if chunk else len(window)
        part, tail = (window[:cut], window[cut:]) if cut > 0 else (window, b"")
        if _PREFIXED.search(part) or b"<!DOCTYPE" in part or b"<!ENTITY" in part:   # a prefix (x:c), a DTD
            return None, 0
        for far_letters, far_row, big_row in _CELL_SCAN.findall(part):
            if far_letters:
                max_col = max(max_col, _column_number(far_letters))
                max_row = max(max_row, int(far_row))
            elif big_row:
                max_row = max(max_row, int(big_row))
            else:
                return None, 0
        numbers = _ROW_SCAN.findall(part)
        if b"" in numbers:
            return None, 0
        max_row = max(max_row, max(map(int, numbers), default=0))
        # a cell in columns A–Z below every <row r> is not seen above; it matters only when the
        # worst case (row 999,999) would cross the limit: then every cell's row is kept
        if max_col * 999_999 > max_cells:
            cell_rows.append(max(_ANY_CELL_ROW.findall(part), key=lambda r: (len(r), r), default=b"0"))
        if not chunk:
            break
    if cell_rows:
        max_row = max(max_row, max(map(int, cell_rows)))
    return max_row, max_col


def _parsed_extent(stream, max_cells: int) -> tuple[int, int]:
    """(rows, columns) of a sheet in any form, by expat: rows and cells are counted where they
    have no position, names are matched whatever their namespace prefix; stops once past the limit."""
    from xml.parsers import expat

    state = {"row": 0, "col": 0, "rows": 0, "cols": 0}

    def start(name: str, attrs: dict) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "row":
            r = attrs.get("r")
            state["row"] = int(r) if r and r.strip().isdigit() else state["row"] + 1
            state["col"] = 0
            state["rows"] = max(state["rows"], state["row"])
        elif local == "c":
            match = _REF.match(attrs.get("r", "").strip())
            if match:
                state["col"] = _column_number(match.group(1))
                state["rows"] = max(state["rows"], int(match.group(2)))
            else:
                state["col"] += 1
                state["rows"] = max(state["rows"], state["row"])
            state["cols"] = max(state["cols"], state["col"])
            if state["rows"] * state["cols"] > max_cells:
                raise _Past()

    def no_dtd(*_args) -> None:
        raise ReadFailure("file_corrupt", "工作表 XML 含 DTD 实体声明")

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EntityDeclHandler = no_dtd
    try:
        while chunk := stream.read(1 << 20):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Past:
        pass
    except expat.ExpatError as exc:
        raise ReadFailure("file_corrupt", f"工作表 XML 格式错误：{exc}") from None
    return state["rows"], max(state["cols"], 1 if state["rows"] else 0)


class _Past(Exception):
    """The extent crossed the limit: no need to read further."""


# .xls (BIFF in an OLE compound file): calamine reserves room for a sheet's cells from its
# DIMENSIONS record, which a 7 KB file can set to 4 billion rows × 65,535 columns (the process then
# aborts). The records are read from the Workbook stream here, before calamine sees the file.
_CFB_END = 0xFFFFFFFE
_DIMENSIONS = 0x0200


def _check_xls_extent(data: bytes, max_cells: int) -> None:
    try:
        stream = _cfb_stream(data, ("workbook", "book"))
    except (struct.error, ValueError, IndexError):
        stream = None                           # a structure this walk does not follow
    if stream is None:
        return                                  # not a BIFF workbook we can walk: calamine decides
    pos, n = 0, len(stream)
    while pos + 4 <= n:
        kind, length = struct.unpack_from("<HH", stream, pos)
        body = pos + 4
        if kind == _DIMENSIONS and body + length <= n:
            if length >= 14:                    # BIFF8: 32-bit rows
                first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", stream, body)
            elif length >= 8:                   # BIFF5 and older: 16-bit rows
                first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", stream, body)
            else:
                first_row = last_row = first_col = last_col = 0
            rows, cols = max(0, last_row - first_row), max(0, last_col - first_col)
            if rows * cols > max_cells:
                raise ReadFailure("sheet_too_large", f"DIMENSIONS：{rows:,} 行 × {cols:,} 列")
        pos = body + length


def _cfb_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The first stream of an OLE compound file (MS-CFB) whose name is one of `names` (any case),
    or None when the file's structure is not what the format says. Every chain is bounded by the
    number of sectors, so a looping chain ends."""
    if len(data) < 512 or not data.startswith(bytes.fromhex("D0CF11E0A1B11AE1")):
        return None
    sector_shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if sector_shift not in (9, 12) or mini_shift != 6:
        return None
    size = 1 << sector_shift
    sectors = max(0, (len(data) - size) // size)
    fat_count, directory_start = struct.unpack_from("<II", data, 0x2C)
    cutoff, minifat_start, minifat_count, difat_start, difat_count = struct.unpack_from("<IIIII", data, 0x38)

    def sector(i: int) -> bytes:
        return data[(i + 1) * size:(i + 2) * size] if i < sectors else b""

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    nxt, seen = difat_start, 0
    while nxt < sectors and seen <= difat_count and seen <= sectors:
        block = sector(nxt)
        entries = struct.unpack(f"<{size // 4}I", block)
        difat += entries[:-1]
        nxt, seen = entries[-1], seen + 1
    fat: list[int] = []
    for i in difat[:fat_count]:
        if i < sectors:
            fat += struct.unpack(f"<{size // 4}I", sector(i))

    def chain(start: int, table: list[int], limit: int) -> list[int]:
        out = []
        while start < len(table) and start < limit and len(out) <= limit:
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(sector(i) for i in chain(directory_start, fat, sectors))
    root_start = root_size = None
    for at in range(0, len(directory) - 127, 128):
        name_length, kind = struct.unpack_from("<HB", directory, at + 0x40)
        start, length = struct.unpack_from("<II", directory, at + 0x74)
        if kind == 5 and root_start is None:
            root_start, root_size = start, length
        if kind != 2 or not 2 <= name_length <= 64:
            continue
        name = directory[at:at + name_length - 2].decode("utf-16-le", "replace").lower()
        if name not in names:
            continue
        if length >= cutoff or root_start is None:
            return b"".join(sector(i) for i in chain(start, fat, sectors))[:length]
        mini_stream = b"".join(sector(i) for i in chain(root_start, fat, sectors))[:root_size]
        minifat: list[int] = []
        for i in chain(minifat_start, fat, sectors)[:minifat_count or sectors]:
            minifat += struct.unpack(f"<{size // 4}I", sector(i))
        minis = len(mini_stream) >> mini_shift
        return b"".join(mini_stream[i << mini_shift:(i + 1) << mini_shift]
                        for i in chain(start, minifat, minis))[:length]
    return None


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def _check_ods_extent(data: bytes, max_cells: int) -> None:
    """Refuse an .ods whose number-rows-repeated × number-columns-repeated expand past the limit
    (a 14 KB file once took 5.6 GB and 106 s). Counted as calamine expands them: repeated cells
    and rows count up to the last one holding something (a value or text); the trailing empty
    repeats LibreOffice writes down to row 1,048,576 are not expanded."""
    from xml.parsers import expat

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            names = {n.lower(): n for n in book.namelist()}
            if "content.xml" not in names:
                return
            stream = book.open(names["content.xml"])
            tables: list[dict] = []

            def new_table() -> dict:
                return {"row": 0, "rows": 0, "cols": 0, "name": "", "in_row": None, "cell": None}

            def start(name: str, attrs: dict) -> None:
                local = name.rsplit(" ", 1)[-1]
                if local == "table" and name.startswith(_ODS_TABLE):
                    table = new_table()
                    table["name"] = attrs.get(f"{_ODS_TABLE} name", "")
                    tables.append(table)
                    return
                if not tables:
                    return
                table = tables[-1]
                if local == "table-row" and name.startswith(_ODS_TABLE):
                    table["in_row"] = {"repeat": _repeat(attrs, "number-rows-repeated"), "pos": 0, "last": 0}
                elif local in ("table-cell", "covered-table-cell") and table["in_row"] is not None:
                    row = table["in_row"]
                    repeat = _repeat(attrs, "number-columns-repeated")
                    table["cell"] = (row["pos"], repeat)
                    row["pos"] += repeat
                    if any(key.endswith(("value-type", " value", " formula")) for key in attrs):
                        row["last"] = row["pos"]
                elif table["cell"] is not None and table["in_row"] is not None:
                    row, (pos, repeat) = table["in_row"], table["cell"]
                    row["last"] = max(row["last"], pos + repeat)      # text or any content
                _check(table)

            def end(name: str) -> None:
                local = name.rsplit(" ", 1)[-1]
                if not tables or not name.startswith(_ODS_TABLE):
                    return
                table = tables[-1]
                if local in ("table-cell", "covered-table-cell"):
                    table["cell"] = None
                elif local == "table-row" and table["in_row"] is not None:
                    row = table["in_row"]
                    table["row"] += row["repeat"]
                    if row["last"]:
                        table["rows"] = table["row"]
                        table["cols"] = max(table["cols"], row["last"])
                    table["in_row"] = None
                    _check(table)
                elif local == "table":
                    tables.pop()

            def _check(table: dict) -> None:
                rows = max(table["rows"], table["row"] if table["in_row"] and table["in_row"]["last"] else 0)
                cols = max(table["cols"], table["in_row"]["last"] if table["in_row"] else 0)
                if table["in_row"] and table["in_row"]["last"]:
                    rows = max(rows, table["row"] + table["in_row"]["repeat"])
                if rows * cols > max_cells:
                    raise ReadFailure("sheet_too_large", f"{table['name'] or '工作表'}：{rows:,} 行 × {cols:,} 列")

            def no_dtd(*_args) -> None:
                raise ReadFailure("file_corrupt", "content.xml 含 DTD 实体声明")

            parser = expat.ParserCreate(namespace_separator=" ")
            parser.StartElementHandler, parser.EndElementHandler = start, end
            parser.EntityDeclHandler = no_dtd
            while chunk := stream.read(1 << 20):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError) as exc:
        raise ReadFailure("file_corrupt", _short(exc)) from None
    except expat.ExpatError as exc:
        raise ReadFailure("file_corrupt", f"content.xml 格式错误：{exc}") from None


def _repeat(attrs: dict, name: str) -> int:
    raw = attrs.get(f"{_ODS_TABLE} {name}", "1")
    try:
        return max(1, int(raw))
    except ValueError:
        return 1


def _check_line_length(data: bytes, max_line: int) -> None:
    """Refuse a text file with a line longer than `max_line` bytes before decoding it (a 100 MB
    line of delimiters cost minutes); one window per `max_line` bytes, so a scan costs one read."""
    pos, size = 0, len(data)
    while size - pos > max_line:
        window_end = pos + max_line + 1
        newline = max(data.rfind(b"\n", pos, window_end), data.rfind(b"\r", pos, window_end))
        if newline == -1:
            following = [i for i in (data.find(b"\n", pos), data.find(b"\r", pos)) if i != -1]
            length = (min(following) if following else size) - pos
            raise ReadFailure("line_too_long", f"{length / 1024:,.0f} KB")
        pos = newline + 1


_SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?sheet\b[^>]*>")
_NAME_ATTR = re.compile(rb"""(\sname\s*=\s*)(["'])(.*?)\2""", re.S)


def _unique_sheet_names(data: bytes) -> bytes:
    """Issue 14: a hand-made workbook may give two sheets one name, and calamine finds sheets by
    name, so it would read the first twice. The second (third, …) is renamed in workbook.xml to
    “名称（第 2 个同名工作表）” before reading, so every sheet is read once, under a label that says so."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            member = next((n for n in book.namelist() if n.replace("\\", "/").lower() == "xl/workbook.xml"), None)
            if member is None:
                return data
            workbook = book.read(member)
            names = [m.group(3) for tag in _SHEET_TAG.findall(workbook) if (m := _NAME_ATTR.search(tag))]
            if len(names) == len(set(names)):
                return data
            seen: Counter = Counter()

            def rename(tag_match: re.Match) -> bytes:
                tag = tag_match.group(0)
                found = _NAME_ATTR.search(tag)
                if not found:
                    return tag
                seen[found.group(3)] += 1
                if seen[found.group(3)] == 1:
                    return tag
                label = found.group(3) + f"（第 {seen[found.group(3)]} 个同名工作表）".encode()
                return tag[: found.start(3)] + label + tag[found.end(3):]

            patched = _SHEET_TAG.sub(rename, workbook)
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
                for info in book.infolist():
                    copy.writestr(info, patched if info.filename == member else book.read(info.filename))
            return out.getvalue()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError):
        return data        # calamine will say what is wrong with it


def _read_workbook(data: bytes, fmt: str) -> list[Sheet]:
    import python_calamine as calamine

    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError:
        raise ReadFailure("file_encrypted") from None
    except Exception as exc:  # calamine raises several types for bad files; all mean "can't open"
        if data.startswith(OLE_MAGIC) and _ENCRYPTION_MARK in data:
            raise ReadFailure("file_encrypted") from None
        raise ReadFailure("file_corrupt", _short(exc)) from None
    sheets = []
    seen: Counter = Counter()
    for index, meta in enumerate(book.sheets_metadata):
        seen[meta.name] += 1
        if str(meta.typ).rsplit(".", 1)[-1] != "WorkSheet":
            continue  # chart sheets and macro sheets hold no rows
        # issue 14: two sheets may share a name in a hand-made workbook; each is read by its index
        # (never the first twice) and the second is labelled as such in the report
        name = meta.name if seen[meta.name] == 1 else f"{meta.name}（第 {seen[meta.name]} 个同名工作表）"
        try:
            sheet = book.get_sheet_by_index(index)
            merged = list(sheet.merged_cell_ranges or [])
        except Exception as exc:
            raise ReadFailure("file_corrupt", f"工作表“{name}”：{_short(exc)}") from None
        hidden = str(meta.visible).rsplit(".", 1)[-1] != "Visible"
        sheets.append(Sheet(name, [], merged, hidden, more=_sheet_rows(sheet, name)))
    return sheets


def _sheet_rows(sheet, name: str | None = None) -> Iterator[list]:
    """The rows of a calamine sheet from A1, as `to_python(skip_empty_area=False)` gives them:
    `iter_rows` starts at the used range's first column, so each row gets the columns left of it."""
    if sheet.start is None:
        return
    pad = [""] * sheet.start[1]
    try:
        for row in sheet.iter_rows():
            yield pad + row if pad else row
    except Exception as exc:  # the sheet was parsed already; converting a cell should not fail
        raise ReadFailure("file_corrupt", f"工作表“{name or sheet.name}”：{_short(exc)}") from None


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------- text

_META_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def decode_text(data: bytes, encoding: str | None = None, *, html: bool = False) -> tuple[str, str]:
    """SPEC §14: strict UTF-8 (BOM allowed) first, then GB18030; UTF-16 by its BOM;
    an HTML page's declared charset; `encoding` overrides everything."""
    candidates: list[str] = []
    if encoding:
        candidates = [encoding]
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        declared = _META_CHARSET.search(data[:2048]) if html else None
        if declared:
            name = declared.group(1).decode("ascii").lower()
            candidates.append("gb18030" if name in ("gbk", "gb2312", "gb18030") else name)
        candidates += ["utf-8", "gb18030"]
    for name in candidates:
        try:
            text = data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\x00" in text:
            continue  # binary posing as text
        return text, name
    raise ReadFailure("decode_failed")


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter whose per-line count is most consistent over the first lines; title lines
    with no delimiter at all do not vote."""
    best, best_score = ",", (0, 0)
    for delimiter in (",", "\t", ";", "|"):
        counts = [line.count(delimiter) for line in lines if line.strip()]
        counts = [c for c in counts if c]
        if not counts:
            continue
        mode = max(set(counts), key=lambda c: (counts.count(c), c))
        score = (counts.count(mode), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(text: str) -> list[list]:
    csv.field_size_limit(1 << 30)        # a long cell is data, not an error (the default is 128 KiB)
    lines = text.splitlines()[:50]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(lines))
    rows = []
    for row in reader:
        if len(row) > MAX_COLS:          # a sheet has at most Excel's 16,384 columns
            raise ReadFailure("sheet_too_large", f"第 {reader.line_num} 行有 {len(row):,} 列")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- HTML tables saved as .xls

class _TableParser(HTMLParser):
    """Collects every <table> as a grid; colspan/rowspan become merged ranges with empty cells."""

    def __init__(self, max_cells: int = 50_000_000) -> None:
        super().__init__(convert_charrefs=True)
        self.max_cells, self.cells = max_cells, 0
        self.tables: list[tuple[list[list], list]] = []
        self._rows: list[list] | None = None
        self._merged: list = []
        self._cell: list[str] | None = None
        self._span = (1, 1)
        self._spans: list[tuple[int, int, int, int]] = []   # rowspans from above: (r0, r1, c0, c1)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self._rows, self._merged, self._spans = [], [], []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            if not self._rows:
                self._rows.append([])
            self._cell = []
            spans = dict(attrs)
            self._span = (_int(spans.get("rowspan")), _int(spans.get("colspan")))
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._rows is not None:
            row_index, row = len(self._rows) - 1, self._rows[-1]
            self._skip_covered(row_index, row)
            col = len(row)
            row.append("".join(self._cell).strip())
            rowspan, colspan = self._span
            self.cells += rowspan * colspan
            if self.cells > min(self.max_cells, HTML_MAX_CELLS) or col + colspan > MAX_COLS:
                raise ReadFailure("sheet_too_large", f"表格合并单元格展开后超过 {min(self.max_cells, HTML_MAX_CELLS):,} 个单元格")
            row.extend([""] * (colspan - 1))
            if rowspan > 1:
                self._spans.append((row_index + 1, row_index + rowspan - 1, col, col + colspan - 1))
            if rowspan > 1 or colspan > 1:
                self._merged.append(((row_index, col), (row_index + rowspan - 1, col + colspan - 1)))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables.append((self._rows, self._merged))
            self._rows = None

    def _skip_covered(self, row_index: int, row: list) -> None:
        """Leave empty the cells a rowspan from an earlier row covers (spans kept as ranges,
        never expanded cell by cell: a few hostile spans must not cost gigabytes)."""
        self._spans = [s for s in self._spans if s[1] >= row_index]
        moved = True
        while moved:
            moved = False
            for r0, r1, c0, c1 in self._spans:
                if r0 <= row_index <= r1 and c0 == len(row):
                    row.extend([""] * (c1 - c0 + 1))
                    moved = True


def _int(text: str | None) -> int:
    try:
        return max(1, min(int(text or 1), 1000))
    except ValueError:
        return 1


def _read_html(text: str, max_cells: int = 50_000_000) -> list[Sheet]:
    parser = _TableParser(max_cells)
    parser.feed(text)
    parser.close()
    if not parser.tables:
        raise ReadFailure("not_spreadsheet", "网页（没有表格）")
    many = len(parser.tables) > 1
    return [Sheet(f"表{i + 1}" if many else "表1", rows, merged)
            for i, (rows, merged) in enumerate(parser.tables)]


# ---------------------------------------------------------------- Excel 2003 XML spreadsheet

_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"


def _index(element: ElementTree.Element, attribute: str, default: int, limit: int) -> int:
    """A 1-based ss:Index (or a merge span) that must be a sane integer."""
    raw = element.get(f"{_SS}{attribute}")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ReadFailure("file_corrupt", f"XML 属性 ss:{attribute}=“{raw[:20]}”不是整数") from None
    if not 0 <= value <= limit:
        raise ReadFailure("sheet_too_large", f"ss:{attribute}={value} 超出工作表范围")
    return value


def _read_xml2003(data: bytes, max_cells: int = 50_000_000) -> list[Sheet]:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ReadFailure("file_corrupt", f"XML 格式错误：{exc}") from None
    sheets = []
    for worksheet in root.iter(f"{_SS}Worksheet"):
        rows: list[list] = []
        merged = []
        table = worksheet.find(f"{_SS}Table")
        cells = 0
        for row_el in table.iter(f"{_SS}Row") if table is not None else ():
            index = _index(row_el, "Index", len(rows) + 1, MAX_ROWS) - 1
            rows.extend([] for _ in range(index - len(rows)))
            row: list = []
            for cell in row_el.iter(f"{_SS}Cell"):
                col = _index(cell, "Index", len(row) + 1, MAX_COLS) - 1
                row.extend("" for _ in range(col - len(row)))
                data_el = cell.find(f"{_SS}Data")
                row.append(_xml_value(data_el))
                across = _index(cell, "MergeAcross", 0, MAX_COLS)
                down = _index(cell, "MergeDown", 0, MAX_ROWS)
                row.extend("" for _ in range(across))
                if across or down:
                    merged.append(((index, col), (index + down, col + across)))
                cells += len(row)
                if cells > max_cells or len(row) > MAX_COLS:
                    raise ReadFailure("sheet_too_large", f"超过 {max_cells:,} 个单元格")
            rows.append(row)
        sheets.append(Sheet(worksheet.get(f"{_SS}Name", f"Sheet{len(sheets) + 1}"), rows, merged))
    if not sheets:
        raise ReadFailure("not_spreadsheet", "XML 文件（没有工作表）")
    return sheets


def _xml_value(data_el: ElementTree.Element | None) -> object:
    if data_el is None:
        return ""
    text = "".join(data_el.itertext())
    kind = data_el.get(f"{_SS}Type", "String")
    if kind == "Number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "Boolean":
        return text.strip() == "1"
    if kind == "DateTime":
        from datetime import datetime

        try:
            return datetime.fromisoformat(text.strip()[:19])
        except ValueError:
            return text
    return text
