"""Hostile input files for tests/test_hostile.py, generated at test time (nothing is committed).

Each maker writes one case's file(s) into a department folder and returns their names. The files
are small (the largest is ~100 KB) but each one is built to break a reader: broken or lying
containers, encodings, extreme values, control characters, formula-looking text, far-away cells,
amplification (zip, XML, HTML spans) and file-system oddities (symlinks, FIFOs, directories).

    .venv/bin/python tests/hostile_make.py OUT_DIR      # write every case to OUT_DIR/<case>/

Parcel codes here never repeat the good file's codes (GOOD_CODES), so a hostile file beside the
good file cannot change the good file's counts through duplicate detection.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
import re
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import xlsxwriter

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LAND_HEADER = ["地块编码", "镇街", "用地面积（亩）", "土地权属"]
GOOD_FILE = "good_land.xlsx"
# The good file: rows 2,3,5(JA),7 accepted; row 4 rejected (no 镇街); row 6 blank; row 8 合计.
GOOD_ROWS = [
    LAND_HEADER,
    ["330681001001GB00101", "陶朱街道", 10.5, "国有"],
    ["330681001001GB00102", "暨阳街道", 20, "国有"],
    ["330681001001GB00103", None, 5, "国有"],
    [],
    ["330681001001JA00104", "店口镇", 7.25, "集体"],
    ["330681001001GB00105", "枫桥镇", 3, "国有"],
    ["合计", None, 45.75],
]
GOOD_COUNTS = (7, 4, 1, 2)   # rows_total, accepted, rejected, skipped
GOOD_CODES = {r[0] for r in GOOD_ROWS[1:] if r and str(r[0]).startswith("3306")}


def code(n: int) -> str:
    """A standard 宗地代码 that is never one of the good file's."""
    return f"330681002003GB{n:05d}"


def land_rows(start: int, n: int = 3) -> list[list]:
    return [LAND_HEADER] + [[code(start + i), "陶朱街道", 1.5 + i, "国有"] for i in range(n)]


def xlsx_bytes(sheets: list[tuple[str, list[list]]], *, hidden: tuple[str, ...] = (),
               merges: dict[str, list[tuple]] | None = None, date_cells: dict | None = None) -> bytes:
    """A real xlsx (xlsxwriter): strings as strings, numbers as numbers, None skipped.
    `date_cells` maps (sheet, row0, col0) → a number or datetime written with a date format."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"created": dt.datetime(2024, 1, 8)})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets:
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                else:
                    ws.write_number(r, c, value)
        for first_row, first_col, last_row, last_col, text in (merges or {}).get(name, []):
            ws.merge_range(first_row, first_col, last_row, last_col, text)
        for (sheet, r, c), value in (date_cells or {}).items():
            if sheet != name:
                continue
            if isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, date_fmt)
            else:
                ws.write_number(r, c, value, date_fmt)
        if name in hidden:
            ws.hide()
    book.close()
    return buf.getvalue()


def rezip(data: bytes, patch: Callable[[str, bytes], bytes]) -> bytes:
    """The same zip with each member's bytes passed through `patch(name, bytes)`."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, patch(info.filename, src.read(info.filename)))
    return out.getvalue()


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return out.getvalue()


def csv_text(rows: list[list], delimiter: str = ",") -> str:
    def cell(v: object) -> str:
        text = "" if v is None else str(v)
        if any(ch in text for ch in (delimiter, '"', "\n", "\r")):
            text = '"' + text.replace('"', '""') + '"'
        return text
    return "".join(delimiter.join(cell(v) for v in row) + "\r\n" for row in rows)


def xml2003(sheet: str, rows: list[list], *, row_attrs: dict[int, str] | None = None,
            cell_attrs: dict[tuple[int, int], str] | None = None) -> str:
    """Excel 2003 XML Spreadsheet; attrs are raw XML attribute text added to <Row>/<Cell>."""
    from xml.sax.saxutils import escape, quoteattr

    out = ['<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
           f'<Worksheet ss:Name={quoteattr(sheet)}><Table>']
    for r, row in enumerate(rows):
        out.append(f"<Row {(row_attrs or {}).get(r, '')}>")
        for c, v in enumerate(row):
            attrs = (cell_attrs or {}).get((r, c), "")
            kind = "Number" if isinstance(v, (int, float)) else "String"
            out.append(f'<Cell {attrs}><Data ss:Type="{kind}">{escape(str(v))}</Data></Cell>')
        out.append("</Row>")
    out.append("</Table></Worksheet></Workbook>\n")
    return "".join(out)


def html_table(rows: list[list], title: str = "") -> str:
    from html import escape

    width = max(len(r) for r in rows)
    lines = ['<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head>'
             '<meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><table>']
    if title:
        lines.append(f'<tr><td colspan="{width}">{escape(title)}</td></tr>')
    for row in rows:
        lines.append("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>")
    lines.append("</table></body></html>")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the good file

def write_good(folder: Path) -> Path:
    path = folder / GOOD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx_bytes([("工业用地", GOOD_ROWS)]))
    return path


# ------------------------------------------------------------------------------ makers
# Each maker(folder, outside) writes into `folder` (data/raw/<year>/部门/) and returns the names
# written; `outside` is a folder outside the workspace (for the symlink case).

Maker = Callable[[Path, Path], list[str]]
MAKERS: dict[str, Maker] = {}


def maker(func: Maker) -> Maker:
    MAKERS[func.__name__] = func
    return func


def _write(folder: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return name


@maker
def truncated_xlsx(folder: Path, outside: Path) -> list[str]:
    data = xlsx_bytes([("地块", land_rows(1))])
    return [_write(folder, "truncated.xlsx", data[: len(data) // 2])]


@maker
def corrupt_deflate_xlsx(folder: Path, outside: Path) -> list[str]:
    """Central directory intact (zipfile lists it) but the sheet's deflate stream is garbage."""
    data = bytearray(xlsx_bytes([("地块", land_rows(10, 40))]))
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + min(info.compress_size, 200)):
        data[i] ^= 0x5A
    return [_write(folder, "corrupt_deflate.xlsx", bytes(data))]


@maker
def zero_byte(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "empty.xlsx", b""), _write(folder, "empty.csv", b"")]


@maker
def html_table_as_xls(folder: Path, outside: Path) -> list[str]:
    rows = land_rows(20) + [["<script>alert(1)</script>", "&nbsp;", "", ""]]
    return [_write(folder, "网页导出.xls", html_table(rows, title="工业用地底数表"))]


@maker
def xml_spreadsheet_as_xls(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "xml导出.xls", xml2003("工业用地", land_rows(30)))]


@maker
def xml_entity_bomb_xls(folder: Path, outside: Path) -> list[str]:
    entities = '<!ENTITY a0 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    text = xml2003("工业用地", [["地块编码", "镇街", "&a9;"]]).replace("&amp;a9;", "&a9;")
    text = text.replace("<Workbook", f"<!DOCTYPE Workbook [{entities}]><Workbook", 1)
    return [_write(folder, "entity_bomb.xls", text)]


@maker
def utf16_csv(folder: Path, outside: Path) -> list[str]:
    le = codecs.BOM_UTF16_LE + csv_text(land_rows(40), "\t").encode("utf-16-le")
    be = codecs.BOM_UTF16_BE + csv_text(land_rows(50)).encode("utf-16-be")
    return [_write(folder, "unicode_le.csv", le), _write(folder, "unicode_be.csv", be)]


@maker
def utf16_without_bom_csv(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "unicode_nobom.csv", csv_text(land_rows(60)).encode("utf-16-le"))]


@maker
def gbk_csv(folder: Path, outside: Path) -> list[str]:
    rows = land_rows(70) + [[code(79), "暨阳街道", "１２．５", "国有"]]
    return [_write(folder, "国土_gbk.csv", csv_text(rows), encoding="gbk")]


@maker
def instructions_only(folder: Path, outside: Path) -> list[str]:
    prose = [["填报说明"], ["1. 地块编码请填写 19 位宗地代码，镇街填写全称。"],
             ["2. 用地面积单位为亩，保留两位小数；土地权属填写国有或集体。"], ["3. 请勿合并单元格。"]]
    return [_write(folder, "instructions.xlsx", xlsx_bytes([("填报说明", prose)]))]


@maker
def header_only(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "header_only.xlsx", xlsx_bytes([("地块", [LAND_HEADER])]))]


@maker
def formulas_without_cached_values(folder: Path, outside: Path) -> list[str]:
    """openpyxl writes <f> with an empty <v/>: a reader sees no value at all."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "地块"
    ws.append(LAND_HEADER)
    ws.append([code(80), "陶朱街道", "=2*5", "国有"])                      # row 2: area formula
    ws.append([code(81), '="陶朱"&"街道"', 3, "国有"])                     # row 3: township formula
    ws.append([code(82), "陶朱街道", 4.5, "国有"])                         # row 4: plain
    ws.append(['="3306810020"&"03GB00083"', "陶朱街道", 4.5, "国有"])     # row 5: code formula
    buf = io.BytesIO()
    book.save(buf)
    return [_write(folder, "formulas.xlsx", buf.getvalue())]


@maker
def encrypted_workbook(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "加密.xlsx", (FIXTURES / "password_protected.xlsx").read_bytes())]


@maker
def zip_not_workbook(folder: Path, outside: Path) -> list[str]:
    plain = zip_bytes({"a.txt": "hello\n"})
    docx = zip_bytes({"[Content_Types].xml": '<?xml version="1.0"?><Types/>',
                      "word/document.xml": '<?xml version="1.0"?><w:document/>',
                      "_rels/.rels": '<?xml version="1.0"?><Relationships/>'})
    return [_write(folder, "archive.xlsx", plain), _write(folder, "report.xlsx", docx)]


@maker
def stray_non_spreadsheet_files(folder: Path, outside: Path) -> list[str]:
    docx = zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
    return [
        _write(folder, "说明.docx", docx),
        _write(folder, "scan.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
        _write(folder, "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)),
        _write(folder, "notes.txt", "请各镇街于月底前报送。\n联系人：张三\n"),
    ]


@maker
def many_empty_columns(folder: Path, outside: Path) -> list[str]:
    """4 real columns, then 5,000 formatted-but-empty cells per row and a space far right."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    fmt = book.add_format({"bg_color": "#FFFF00"})
    ws = book.add_worksheet("地块")
    for r, row in enumerate(land_rows(90)):
        ws.write_row(r, 0, row)
        for c in range(4, 5004):
            ws.write_blank(r, c, None, fmt)
    ws.write_string(0, 5004, " ")
    book.close()
    return [_write(folder, "wide.xlsx", buf.getvalue())]


# Numbers that xlsxwriter cannot write are patched into the sheet XML afterwards.
_PLACEHOLDERS = {123456.125: "NaN", 123456.25: "INF", 123456.375: "-inf", 123456.5: "1e400"}


def _patch_numbers(data: bytes) -> bytes:
    def patch(name: str, content: bytes) -> bytes:
        if name.startswith("xl/worksheets/"):
            for number, text in _PLACEHOLDERS.items():
                content = content.replace(f"<v>{number}</v>".encode(), f"<v>{text}</v>".encode())
        return content
    return rezip(data, patch)


NAN, INF, NINF, BIG = _PLACEHOLDERS   # written as these, read back as nan, inf, -inf, inf


@maker
def extreme_numbers_in_cells(folder: Path, outside: Path) -> list[str]:
    header = ["地块编码", "镇街", "用地面积（亩）", "建筑面积", "容积率"]
    rows = [header,
            [code(100), "陶朱街道", -5, None, None],        # 2 nonpositive
            [code(101), "陶朱街道", 0, None, None],         # 3 nonpositive
            [code(102), "陶朱街道", 1e300, None, None],     # 4 number_out_of_range
            [code(103), "陶朱街道", NAN, None, None],       # 5 invalid_number
            [code(104), "陶朱街道", INF, None, None],       # 6 invalid_number
            [code(105), "陶朱街道", NINF, None, None],      # 7 invalid_number
            [code(106), "陶朱街道", 10, NAN, BIG],          # 8 accepted, 2 warnings
            [code(107), "陶朱街道", 10, -1e300, -0.0],      # 9 accepted (optional numbers)
            [code(108), "陶朱街道", -0.0, None, None],      # 10 nonpositive
            [code(109), "陶朱街道", 5e-324, None, None]]    # 11 accepted (denormal, > 0)
    return [_write(folder, "numbers_cells.xlsx", _patch_numbers(xlsx_bytes([("地块", rows)])))]


EXTREME_NUMBER_TEXTS = {   # area text → accepted?
    "NaN": False, "inf": False, "-inf": False, "1e400": False, "Infinity": False, "-0": False,
    "0x1A": False, "1_000": False, "1e-400": False, "1e300": False, "１e３": True, "12%": True,
}


@maker
def extreme_numbers_as_text(folder: Path, outside: Path) -> list[str]:
    rows = [LAND_HEADER] + [[code(120 + i), "陶朱街道", text, "国有"]
                            for i, text in enumerate(EXTREME_NUMBER_TEXTS)]
    return [_write(folder, "numbers_text.xlsx", xlsx_bytes([("地块", rows)])),
            _write(folder, "numbers_text.csv", csv_text([LAND_HEADER] + [
                [code(140 + i), "陶朱街道", text, "国有"] for i, text in enumerate(EXTREME_NUMBER_TEXTS)]))]


CONTROL = "".join(chr(c) for c in range(1, 32))


@maker
def control_characters(folder: Path, outside: Path) -> list[str]:
    header = ["地块编码", "镇\t街", "用地面积\n（亩）", "权利人\x1f", "土地\x07坐落"]
    rows = [header,
            [code(150), "陶朱街道", 2, "公司\x00名\x07称\x1b", "坐落" + CONTROL],
            [code(151), "陶朱街道", 3, "\x01\x02\x03", "\x0b\x0c"],
            [code(152) + "\x00", "陶朱街道\x1c", 4, "正常", "正常"]]
    csv_rows = [["地块编码", "镇\x0b街", "用地面积（亩）", "权利人\x1e"],
                [code(160), "陶朱街道", 2, "公\x01司\x7f" + CONTROL.replace("\r", "").replace("\n", "")],
                [code(161), "陶朱街道", 3, "\x1b[31m红色\x1b[0m"]]
    return [_write(folder, "control.xlsx", xlsx_bytes([("地块", rows)])),
            _write(folder, "control.csv", csv_text(csv_rows)),
            _write(folder, "nul.csv", csv_text(csv_rows).replace("公", "公\x00", 1))]


LONG_CODE = "3306810020" + "9" * 390           # 400 characters


@maker
def long_codes(folder: Path, outside: Path) -> list[str]:
    land = [["地块编码", "镇街", "用地面积（亩）", "权利人统一社会信用代码"],
            [LONG_CODE, "陶朱街道", 3, "9" * 400],
            [code(170), "陶朱街道", 3, "A" * 400]]
    ledger = [["隐患编号", "企业名称", "统一社会信用代码", "隐患等级"],
              ["XF-" + "1" * 397, "长编号公司", "Z" * 400, "一般"]]
    return [_write(folder, "long_codes.xlsx", xlsx_bytes([("地块", land), ("消防隐患", ledger)]))]


FORMULA_NAMES = ["=1+2", "@SUM(A1)", "=cmd|' /C calc'!A0", "+86 571 8888", "-2+3", "＝1+1",
                 "\t=2+2", "=HYPERLINK(\"http://x\",\"y\")"]
FORMULA_NAMES_TRIMMED = [name.strip() for name in FORMULA_NAMES]   # what ingest keeps


@maker
def formula_text_in_names(folder: Path, outside: Path) -> list[str]:
    """Names that a spreadsheet would run as formulas or DDE calls; the CSV's names end in " csv"
    so that its rows are not duplicates of the workbook's."""
    header = ["企业名称", "统一社会信用代码", "税收（万元）"]
    xlsx_rows = [header] + [[name, None, 1] for name in FORMULA_NAMES]
    csv_rows = [header] + [[name + " csv", None, 1] for name in FORMULA_NAMES]
    return [_write(folder, "formula_names.xlsx", xlsx_bytes([("企业亩均效益", xlsx_rows)])),
            _write(folder, "formula_names.csv", csv_text(csv_rows))]


@maker
def merged_cells_in_data(folder: Path, outside: Path) -> list[str]:
    """镇街 merged vertically over rows 2–4 (B2:B4), as departments often do."""
    rows = land_rows(180, 4)
    for row in rows[1:4]:
        row[1] = None
    data = xlsx_bytes([("地块", rows)], merges={"地块": [(1, 1, 3, 1, "陶朱街道")]})
    return [_write(folder, "merged_rows.xlsx", data)]


@maker
def hidden_sheet(folder: Path, outside: Path) -> list[str]:
    data = xlsx_bytes([("地块", land_rows(190)), ("隐藏地块", land_rows(195, 2))], hidden=("隐藏地块",))
    return [_write(folder, "hidden.xlsx", data)]


@maker
def extreme_dates(folder: Path, outside: Path) -> list[str]:
    header = ["隐患编号", "企业名称", "发现日期", "整改期限", "隐患等级"]
    rows = [header] + [[f"XF-D{i:02d}", f"日期公司{i}", None, None, "一般"] for i in range(1, 11)]
    sheet = "消防隐患台账"
    dates = {(sheet, 1, 2): dt.datetime(1800, 1, 1), (sheet, 2, 2): dt.datetime(9999, 12, 31),
             (sheet, 3, 2): 0, (sheet, 4, 2): 2958466}       # rows 2-5: date-formatted cells
    rows[5][2], rows[6][2] = 0, 2958466                      # rows 6-7: General-format serials
    rows[7][2], rows[8][2], rows[9][2], rows[10][2] = "1800-01-01", "9999-12-31", "0000-00-00", "2023-02-30"
    rows[1][3], rows[2][3] = "9999-12-31", -1                # 整改期限
    return [_write(folder, "dates.xlsx", xlsx_bytes([(sheet, rows)], date_cells=dates))]


@maker
def header_below_row_20(folder: Path, outside: Path) -> list[str]:
    rows = [[f"说明第 {i} 行"] for i in range(1, 22)] + land_rows(200)   # header on row 22
    return [_write(folder, "deep_header.xlsx", xlsx_bytes([("地块", rows)]))]


@maker
def extension_lies(folder: Path, outside: Path) -> list[str]:
    return [
        _write(folder, "ods_named.xlsx", (FIXTURES / "enterprise_legacy.ods").read_bytes()),
        _write(folder, "xlsx_named.xls", xlsx_bytes([("地块", land_rows(210))])),
        _write(folder, "biff_named.xlsx", (FIXTURES / "land_legacy_biff.xls").read_bytes()),
        _write(folder, "html_named.xlsx", html_table(land_rows(215))),
        _write(folder, "csv_named.xlsx", csv_text(land_rows(218))),
    ]


@maker
def file_too_large(folder: Path, outside: Path) -> list[str]:
    """100 KB of zip-looking bytes; the test lowers ingest.max_file_mb to 0.05."""
    return [_write(folder, "huge.xlsx", b"PK\x03\x04" + os.urandom(100 * 1024))]


@maker
def zip_bomb(folder: Path, outside: Path) -> list[str]:
    """An xlsx whose sheet inflates to 8 MB from ~8 KB; the test lowers max_uncompressed_mb to 1."""
    def patch(name: str, content: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            return content.replace(b"</worksheet>", b"<!--" + b" " * (8 << 20) + b"--></worksheet>")
        return content
    return [_write(folder, "bomb.xlsx", rezip(xlsx_bytes([("地块", land_rows(220))]), patch))]


@maker
def zip_declared_size_bomb(folder: Path, outside: Path) -> list[str]:
    """A small xlsx whose central directory claims its sheet inflates to 3 GiB (default limit
    2000 MB): refused from the directory alone, nothing is inflated."""
    data = bytearray(xlsx_bytes([("地块", land_rows(225))]))
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    target = z.getinfo("xl/worksheets/sheet1.xml")
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46: pos + 46 + name_len] == target.filename.encode():
            struct.pack_into("<I", data, pos + 24, 3 << 30)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return [_write(folder, "declared_bomb.xlsx", bytes(data))]


@maker
def office_lock_files(folder: Path, outside: Path) -> list[str]:
    owner = b"\x05zhang" + b" " * 49 + b"\x05\x00z\x00h\x00a\x00n\x00g\x00" + b" " * 100
    return [_write(folder, "~$foo.xlsx", owner[:165]), _write(folder, ".~lock.foo.xlsx#", "zhang,host,2024\n"),
            _write(folder, "Thumbs.db", b"\xd0\xcf\x11\xe0" + bytes(60)), _write(folder, ".DS_Store", bytes(64))]


@maker
def symlink_outside_workspace(folder: Path, outside: Path) -> list[str]:
    target = outside / "secret_land.xlsx"
    target.write_bytes(xlsx_bytes([("地块", land_rows(230))]))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "linked.xlsx").symlink_to(target)
    return ["linked.xlsx"]


@maker
def broken_symlinks(folder: Path, outside: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dangling.xlsx").symlink_to(outside / "does_not_exist.xlsx")
    (folder / "loop.xlsx").symlink_to(folder / "loop.xlsx")
    (folder / "dirloop").symlink_to(folder, target_is_directory=True)
    return []   # nothing that is a file


@maker
def directory_named_xlsx(folder: Path, outside: Path) -> list[str]:
    (folder / "x.xlsx").mkdir(parents=True)
    (folder / "y.csv" / "z.xls").mkdir(parents=True)
    return []


@maker
def fifo_named_csv(folder: Path, outside: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.csv")   # reading it would block forever
    return []


@maker
def stray_cell_far_below(folder: Path, outside: Path) -> list[str]:
    """One stray "x" in C1048576 (Excel's last row) below a 3-row table."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("地块")
    for r, row in enumerate(land_rows(240)):
        ws.write_row(r, 0, row)
    ws.write_string(1_048_575, 2, "x")
    book.close()
    return [_write(folder, "far_below.xlsx", buf.getvalue())]


@maker
def stray_cell_at_xfd1048576(folder: Path, outside: Path) -> list[str]:
    """One stray "x" in XFD1048576 (Excel's last cell). A dense reader asks for 1048576 × 16384
    cells (~512 GB) for a 6 KB file."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("地块")
    for r, row in enumerate(land_rows(250)):
        ws.write_row(r, 0, row)
    ws.write_string(1_048_575, 16_383, "x")
    book.close()
    return [_write(folder, "far_corner.xlsx", buf.getvalue())]


@maker
def xml_bad_index(folder: Path, outside: Path) -> list[str]:
    text = xml2003("工业用地", land_rows(260), row_attrs={2: 'ss:Index="abc"'},
                   cell_attrs={(3, 1): 'ss:MergeAcross="x"'})
    return [_write(folder, "bad_index.xls", text)]


@maker
def xml_huge_index(folder: Path, outside: Path) -> list[str]:
    """A 1 KB XML spreadsheet whose one cell says ss:Index="900000000"."""
    text = xml2003("工业用地", land_rows(270), cell_attrs={(1, 3): 'ss:Index="900000000"'})
    return [_write(folder, "huge_index.xls", text)]


@maker
def html_span_bomb(folder: Path, outside: Path) -> list[str]:
    """A 4 KB HTML ".xls" with 100 cells of rowspan=1000 colspan=1000."""
    cells = '<td rowspan="1000" colspan="1000">x</td>' * 100
    text = html_table(land_rows(280)).replace("</table>", f"<tr>{cells}</tr></table>")
    return [_write(folder, "span_bomb.xls", text)]


@maker
def csv_huge_field(folder: Path, outside: Path) -> list[str]:
    """A CSV whose 土地坐落 cell holds 200,000 characters (csv's default field limit is 131,072)."""
    rows = [["地块编码", "镇街", "用地面积（亩）", "土地坐落"], [code(290), "陶朱街道", 2, "长" * 200_000],
            [code(291), "陶朱街道", 3, "短"]]
    return [_write(folder, "huge_field.csv", csv_text(rows))]


@maker
def markup_in_file_name(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "报表[/]说明[red].xlsx", xlsx_bytes([("地块", land_rows(300))]))]


@maker
def markup_in_cell_value(folder: Path, outside: Path) -> list[str]:
    rows = land_rows(310) + [[code(319), "陶朱街道", "[/red]", "国有"]]
    return [_write(folder, "markup_value.xlsx", xlsx_bytes([("地块", rows)]))]


# ------------------------------------------------------------------------------ issue 14 (round 2)

def far_corner_xlsx(rows: list[list] | None = None) -> bytes:
    """A land table with one stray "x" in XFD1048576 (xlsxwriter: <c r="XFD1048576" t="s">). Big
    tables get the far row patched in (xlsxwriter would walk all 1,048,576 rows: ~40 s)."""
    if rows is not None:
        far = b'<row r="1048576" spans="16384:16384"><c r="XFD1048576" t="s"><v>0</v></c></row></sheetData>'
        return _patch_sheet(xlsx_bytes([("地块", rows)]), lambda c: c.replace(b"</sheetData>", far))
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("地块")
    for r, row in enumerate(land_rows(250)):
        ws.write_row(r, 0, row)
    ws.write_string(1_048_575, 16_383, "x")
    book.close()
    return buf.getvalue()


def _patch_sheet(data: bytes, patch: Callable[[bytes], bytes]) -> bytes:
    return rezip(data, lambda name, content: patch(content) if name == "xl/worksheets/sheet1.xml" else content)


def _far_cell_order(data: bytes) -> bytes:
    return _patch_sheet(data, lambda c: c.replace(b'<c r="XFD1048576" t="s">', b'<c t="s" r="XFD1048576">'))


def _far_cell_spacing(data: bytes) -> bytes:
    return _patch_sheet(data, lambda c: c.replace(b'<c r="XFD1048576"', b'<c  r = "XFD1048576" '))


def _far_cell_single_quotes(data: bytes) -> bytes:
    return _patch_sheet(data, lambda c: c.replace(b'<c r="XFD1048576" t="s">', b"<c r='XFD1048576' t='s'>"))


def _far_cell_without_position(data: bytes) -> bytes:
    """Row 1048576 holds 16,384 cells without r=: the last one lands in XFD as its position counts."""
    def patch(c: bytes) -> bytes:
        c = re.sub(rb'<row r="1048576"[^>]*>', b'<row r="1048576">' + b"<c/>" * 16_383, c)
        return c.replace(b'<c r="XFD1048576" t="s">', b'<c t="s">')
    return _patch_sheet(data, patch)


def _far_cell_prefixed(data: bytes) -> bytes:
    def patch(c: bytes) -> bytes:
        c = re.sub(rb"<(/?)(worksheet|sheetData|row|c|v|dimension|sheetViews|sheetView|selection|"
                   rb"sheetFormatPr|pageMargins|cols|col)\b", rb"<\1x:\2", c)
        return c.replace(b'xmlns="http', b'xmlns:x="http')
    return _patch_sheet(data, patch)


def _far_cell_other_path(data: bytes) -> bytes:
    """The sheet stored as xl/data/tbl.xml (workbook.xml.rels and [Content_Types].xml say so)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            name = "xl/data/tbl.xml" if info.filename == "xl/worksheets/sheet1.xml" else info.filename
            dst.writestr(name, src.read(info.filename).replace(b"worksheets/sheet1.xml", b"data/tbl.xml"))
    return out.getvalue()


FAR_CELL_VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "attribute_order": _far_cell_order, "without_position": _far_cell_without_position,
    "other_sheet_path": _far_cell_other_path, "namespace_prefix": _far_cell_prefixed,
    "extra_spacing": _far_cell_spacing, "single_quotes": _far_cell_single_quotes,
}


def far_cell_variant(name: str, rows: list[list] | None = None) -> bytes:
    return FAR_CELL_VARIANTS[name](far_corner_xlsx(rows))


def ods_bytes(table_xml: str, name: str = "地块") -> bytes:
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="{name}">{table_xml}'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
                'manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
                'vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def _ods_row(values: list) -> str:
    cells = "".join(f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
                    for v in values)
    return f"<table:table-row>{cells}</table:table-row>"


def ods_repeat_bomb() -> bytes:
    """~14 KB: 99 million cells once expanded (a value repeated 10,000 times across, 9,900 rows
    down), under calamine's own 100-million-cell limit."""
    rows = "".join(_ods_row(r) for r in land_rows(330))
    bomb = ('<table:table-row table:number-rows-repeated="9900"><table:table-cell '
            'table:number-columns-repeated="10000" office:value-type="string"><text:p>x</text:p>'
            "</table:table-cell></table:table-row>")
    padding = "".join(f"<!-- {i:05d} {'填充' * 40} -->" for i in range(60))    # to ~14 KB like the probe
    return ods_bytes(rows + padding + bomb)


def ods_trailing_repeats() -> bytes:
    """What LibreOffice writes: empty rows repeated down to row 1,048,576, empty cells across to
    column AMJ — never expanded by a reader, so never refused."""
    rows = "".join(_ods_row(r) for r in land_rows(340))
    tail = ('<table:table-row table:number-rows-repeated="1048572"><table:table-cell '
            'table:number-columns-repeated="1024"/></table:table-row>')
    return ods_bytes(rows + tail)


def duplicate_sheet_names_xlsx() -> bytes:
    """Two sheets named 地块 (workbook.xml patched; Excel refuses this, a script does not)."""
    data = xlsx_bytes([("地块", land_rows(350)), ("地块二", land_rows(360, 2))])
    return rezip(data, lambda name, c: c.replace('name="地块二"'.encode(), 'name="地块"'.encode())
                 if name == "xl/workbook.xml" else c)


def long_line_csv(path: Path, megabytes: int = 100) -> None:
    """A CSV whose second line is `megabytes` MB of commas."""
    with path.open("wb") as handle:
        handle.write(csv_text(land_rows(370)).encode())
        block = b"," * (1 << 20)
        for _ in range(megabytes):
            handle.write(block)
        handle.write(b"\r\n")


def noise(rng, n: int = 90) -> str:
    """Text that does not compress away (big files of few rows)."""
    import base64

    return base64.b64encode(rng.randbytes(n * 3 // 4)).decode()


def big_land_rows(start: int, n: int, seed: int = 1) -> list[list]:
    import random

    rng = random.Random(seed)
    return [LAND_HEADER + ["土地坐落"]] + [[code(start + i), "陶朱街道", 1.5 + i % 7, "国有", noise(rng)]
                                          for i in range(n)]


def big_enterprise_rows(n: int, seed: int = 2) -> list[list]:
    import random

    rng = random.Random(seed)
    return [["企业名称", "统一社会信用代码", "税收（万元）", "地块编码", "经营范围"]] + [
        [f"大企业{i:05d}有限公司", None, 10 + i % 50, code(60_000 + i), noise(rng)] for i in range(n)]


def big_ledger_rows(n: int, seed: int = 3) -> list[list]:
    import random

    rng = random.Random(seed)
    return [["隐患编号", "企业名称", "地块编码", "隐患等级", "整改状态", "问题描述"]] + [
        [f"XF-B{i:05d}", f"大企业{i:05d}有限公司", code(60_000 + i), "一般", "整改中", noise(rng)] for i in range(n)]


@maker
def xlsx_far_cell_variants(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, f"far_{name}.xlsx", far_cell_variant(name)) for name in FAR_CELL_VARIANTS]


@maker
def ods_repeat_expansion(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "repeat_bomb.ods", ods_repeat_bomb()),
            _write(folder, "trailing_repeats.ods", ods_trailing_repeats())]


@maker
def duplicate_sheet_names(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "same_names.xlsx", duplicate_sheet_names_xlsx())]


def xls_with_dimensions(rows: int, cols: int) -> bytes:
    """The BIFF8 fixture land_legacy_biff.xls (LibreOffice's) with its sheet's DIMENSIONS record
    (0x0200: first row u32, last row + 1 u32, first column u16, last column + 1 u16) claiming
    `rows` × `cols`. calamine reserves room for that many cells: 1,000,000 × 16,384 aborted the
    process (SIGABRT) from a 7 KB file."""
    data = bytearray((FIXTURES / "land_legacy_biff.xls").read_bytes())
    at = data.find(b"\x00\x02\x0e\x00")          # the record header: type 0x0200, length 14
    assert at > 0 and data.find(b"\x00\x02\x0e\x00", at + 1) < 0
    struct.pack_into("<IIHH", data, at + 4, 0, rows, 0, cols)
    return bytes(data)


@maker
def xls_dimensions_bomb(folder: Path, outside: Path) -> list[str]:
    return [_write(folder, "dimensions_4g.xls", xls_with_dimensions(0xFFFFFFFF, 0xFFFF)),
            _write(folder, "dimensions_1m.xls", xls_with_dimensions(1_000_000, 16_384)),
            _write(folder, "dimensions_max.xls", xls_with_dimensions(65_536, 256))]


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else Path("hostile_corpus")
    outside = out / "_outside"
    outside.mkdir(parents=True, exist_ok=True)
    for name, make in MAKERS.items():
        if name in ("fifo_named_csv", "broken_symlinks"):
            continue
        make(out / name, outside)
    write_good(out / "_good")
    print(f"{len(MAKERS)} cases written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
