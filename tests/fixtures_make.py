"""(Re)create the messy department spreadsheets under tests/fixtures/.

    .venv/bin/python tests/fixtures_make.py              # xlsx, csv, html, xml, broken files
    .venv/bin/python tests/fixtures_make.py --binaries   # also .xls (BIFF8), .ods, encrypted .xlsx
                                                         # (needs LibreOffice: soffice on PATH)

Every fixture is small and exercises one family of traps; the expected counts per fixture are
hand-computed in tests/fixtures/README.md (keep both in sync when you change a row here).
Comments give the expected outcome of the interesting rows with their 1-based Excel row number.

The binaries are committed as files: the package has no BIFF/ODS writer, and LibreOffice output
is not byte-for-byte reproducible, so `--binaries` is only needed when their content changes.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import html
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import xlsxwriter

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CREATED = dt.datetime(2024, 1, 8, 9, 0, 0)  # fixed, so xlsxwriter output is byte-for-byte stable

# GB 32100-2015 unified social credit code check digit.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(body17: str) -> str:
    assert len(body17) == 17, body17
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(body17, CREDIT_WEIGHTS, strict=True))
    return body17 + CREDIT_ALPHABET[(31 - total % 31) % 31]


def broken_check_digit(code: str) -> str:
    """Same code with a wrong (but alphabet-valid) check digit."""
    i = CREDIT_ALPHABET.index(code[-1])
    return code[:-1] + CREDIT_ALPHABET[(i + 7) % 31]


# Valid credit codes (county 330681, 诸暨市), one per fictional enterprise.
CC = {
    "恒达": credit_code("91330681146012301"),
    "华峰": credit_code("91330681MA28A1B20"),
    "正泰": credit_code("91330681704551208"),
    "宏利": credit_code("91330681MA2BC3D47"),
    "金鼎": credit_code("92330681MA2D0E5F1"),
    "精工": credit_code("91330681146077715"),
    "富润": credit_code("91330681609712345"),
    "海亮": credit_code("91330681143300016"),
    "五金": credit_code("92330681MA29KL0P3"),
    "袜业": credit_code("91330681MA2JUN8W6"),
    "袜业一厂": credit_code("92330681MA2ABCD19"),
    "万隆": credit_code("91330681MA28H7T25"),
    "陶朱": credit_code("91330681555666779"),
    "服装": credit_code("92330681MA2F0G1H2"),
    "建材": credit_code("91330681MA2Q9R8T0"),
    "新材": credit_code("91330681MA2X7Y6U4"),
}


# --------------------------------------------------------------------------------------------
# helpers


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": CREATED, "author": "landaudit fixtures"})
    return wb


def write_row(ws, row0: int, values, fmt=None, date_fmt=None) -> None:
    """Write one row with explicit cell types: str → text cell (never converted), int/float →
    number, date/datetime → date cell, None → nothing (truly empty cell)."""
    for col, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, dt.datetime | dt.date):
            ws.write_datetime(row0, col, v, date_fmt)
        elif isinstance(v, bool):
            ws.write_boolean(row0, col, v, fmt)
        elif isinstance(v, int | float):
            ws.write_number(row0, col, v, fmt)
        else:
            ws.write_string(row0, col, v, fmt)


def write_csv(path: Path, rows, *, encoding: str, delimiter: str = ",", bom: bytes = b"",
              lineterminator: str = "\r\n") -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    path.write_bytes(bom + buf.getvalue().encode(encoding))


# --------------------------------------------------------------------------------------------
# 1. title rows, two-row merged header, 合计 and 填表人 rows


def land_title_rows_merged_header(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("工业用地底数")
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    head = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1,
                          "text_wrap": True})
    # row 1: merged title; row 2: 填报单位 / 单位 (not merged)
    ws.merge_range("A1:H1", "诸暨市工业用地底数调查表（2023年度）", title)
    ws.write_string("A2", "填报单位（盖章）：诸暨市自然资源和规划局")
    ws.write_string("F2", "单位：亩")
    # rows 3-4: two-row header; single-row columns merged vertically, 用地情况 merged over 2 children
    for col, text in enumerate(["序号", "地块编码", "镇街", "土地坐落", "权利人"]):
        ws.merge_range(2, col, 3, col, text, head)
    ws.merge_range("F3:G3", "用地情况", head)
    ws.write_string("F4", "用地面积（亩）", head)
    ws.write_string("G4", "土地权属", head)
    ws.merge_range(2, 7, 3, 7, "土地\n用途", head)  # line break inside a header cell
    rows = [
        # row 5..12
        [1, "330681001002GB00012", "暨阳街道", "暨阳街道艮塔西路18号", "诸暨市恒达机械有限公司", 12.35, "国有", "工业"],
        [2, "330681001002GB00013", "暨阳街道", "暨阳街道艮塔西路20号", "诸暨市华峰袜业有限公司", 8.6, "国有", "工业"],
        [3, "330681002001GB00031", "陶朱街道", "陶朱街道望云路101号", "浙江正泰铜材有限公司", 133.8, "国有", "工业"],
        [4, "330681003001JC00007", "店口镇", "店口镇湄池村", "店口镇湄池村股份经济合作社", 5.42, "集体", "工业"],
        # row 9: township empty → rejected (missing required 镇街)
        [5, "330681003001JC00008", None, "店口镇湄池村工业区", "诸暨市金鼎五金厂", 3.1, "集体", "工业"],
        [6, "330681004002GB00105", "大唐街道", "大唐街道轻纺城路5号", "诸暨市大唐宏利袜业有限公司", 6.75, "国有", "工业"],
        [7, "330681005001GB00044", "枫桥镇", "枫桥镇枫源路66号", "诸暨市枫桥精工机械厂", 20.0, "国有", "工业"],
        [8, "330681006003JC00019", "山下湖镇", "山下湖镇新长乐村", "诸暨市山下湖珍珠加工场", 2.88, "集体", "仓储"],
    ]
    for i, r in enumerate(rows):
        write_row(ws, 4 + i, r)
    # row 13: 合计 (merged label, SUM formula with cached value) → skipped, kind total
    ws.merge_range("A13:E13", "合计", head)
    ws.write_formula("F13", "=SUM(F5:F12)", None, 192.9)
    # row 14: blank → skipped, kind blank
    # row 15: 填表人 line, merged across → skipped, kind note
    ws.merge_range("A15:H15", "填表人：王芳　　审核人：李军　　填报日期：2024年1月8日", None)
    ws.set_column("A:A", 6)
    ws.set_column("B:E", 22)
    wb.close()


# --------------------------------------------------------------------------------------------
# 2. area in m² (用地面积(平方米)), floor area in ㎡, plot ratio


def land_area_sqm_units(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("Sheet1")
    header = ["地块编码", "镇街", "权利人", "用地面积(平方米)", "建筑面积（㎡）", "容积率", "土地用途"]
    rows = [
        ["330681001003GB00201", "暨阳街道", "诸暨市久和电器有限公司", 6666.67, 8000, 1.2, "工业"],  # 10.00 亩
        ["330681002002GB00202", "陶朱街道", "诸暨市陶朱阀门有限公司", 10000, 15000, 1.5, "工业"],  # 15.00 亩
        # row 4: area as text with a thousands separator → 2000 m² = 3.00 亩
        ["330681003002JC00203", "店口镇", "诸暨市店口管件厂", "2,000", 1200, 0.6, "工业"],
        # row 5: plot ratio unparseable (optional) → null + warning; 20.00 亩
        ["330681004001GB00204", "大唐街道", "诸暨市大唐织造有限公司", 13333.33, 20000, "待测", "工业"],
        # row 6: area "—" → null → rejected (missing required 用地面积)
        ["330681005002GB00205", "枫桥镇", "诸暨市枫桥电机厂", "—", 3000, 0.9, "工业"],
        # row 7: area 0 → rejected (area must be > 0)
        ["330681006001GB00206", "次坞镇", "诸暨市次坞铸造厂", 0, 0, 0, "工业"],
        ["330681007001GB00207", "牌头镇", "诸暨市牌头轴承有限公司", 26666.67, 40000, 1.5, "工业"],  # 40.00 亩
    ]
    write_row(ws, 0, header)
    for i, r in enumerate(rows):
        write_row(ws, 1 + i, r)
    wb.close()


# --------------------------------------------------------------------------------------------
# 3. hectare CSV, UTF-8 without BOM


def land_area_hectare(path: Path) -> None:
    rows = [
        ["地块编码", "所属镇街", "园区", "土地坐落", "面积(公顷)", "土地权属", "用途"],
        # quoted field with a comma inside
        ["330681001004GB00301", "暨阳街道", "诸暨经济开发区", "暨阳街道西二环路88号,90号", "1.2", "国有", "工业"],  # 18.00 亩
        ["330681002003GB00302", "陶朱街道", "诸暨经济开发区", "陶朱街道望云路7号", "0.5", "国有", "工业"],  # 7.50 亩
        ["330681003003JC00303", "店口镇", "店口工业园区", "店口镇解放路", "2", "集体", "工业"],  # 30.00 亩
        ["", "", "", "", "", "", ""],  # row 5: blank (",,,,,,") → skipped
        # row 6: negative area → rejected (area must be > 0)
        ["330681004003GB00304", "大唐街道", "", "大唐街道轻纺路", "-1.2", "国有", "工业"],
        ["330681005003GB00305", "枫桥镇", "", "枫桥镇枫源路", "0.35", "国有", "工业"],  # 5.25 亩
        ["330681006002JC00306", "山下湖镇", "", "山下湖镇珍珠大道", "0.08", "集体", "工业"],  # 1.20 亩
    ]
    write_csv(path, rows, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# 4. GBK enterprise CSV: 元 → 万元, full-width digits, thousands separators, —, bad check digit


def enterprise_gbk(path: Path) -> None:
    rows = [
        ["统一社会信用代码", "企业名称", "所在地块编码", "镇街", "是否规上", "税收（万元）",
         "工业增加值(元)", "营业收入（万元）", "从业人员"],
        # row 2: full-width digits and full-width decimal point in 税收 → 123.5; VA 3500 万元
        [CC["恒达"], "诸暨市恒达机械有限公司", "330681001002GB00012", "暨阳街道", "是", "１２３．５",
         "35000000", "18000", "120"],
        # row 3: thousands separators → tax 1234.5; VA 12,345,678 元 = 1234.5678 万元
        [CC["华峰"], "诸暨市华峰袜业有限公司", "330681001002GB00013", "暨阳街道", "否", "1,234.5",
         "12,345,678", "2,100", "45"],
        # row 4: tax "—" → null (accepted)
        [CC["正泰"], "浙江正泰铜材有限公司", "330681002001GB00031", "陶朱街道", "是", "—",
         "56000000", "32000", "300"],
        # row 5: credit code with a wrong check digit → kept, flagged
        [broken_check_digit(CC["宏利"]), "诸暨市大唐宏利袜业有限公司", "330681004002GB00105",
         "大唐街道", "否", "8.6", "2500000", "1500", "30"],
        # row 6: no name → rejected (missing required 企业名称)
        [CC["金鼎"], "", "330681005001GB00044", "枫桥镇", "是", "45.2", "9000000", "6000", "80"],
        # row 7: full-width brackets in the name; employees "无" → null
        [CC["精工"], "诸暨市（枫桥）精工机械厂", "330681005001GB00044", "枫桥镇", "否", "3.2",
         "1800000", "900", "无"],
    ]
    write_csv(path, rows, encoding="gbk")


# --------------------------------------------------------------------------------------------
# 5. UTF-8 BOM, semicolon-delimited, several parcel codes per cell


def enterprise_semicolon_bom(path: Path) -> None:
    a, b, c = "330681001002GB00012", "330681001002GB00013", "330681003001JA00007"
    rows = [
        ["信用代码", "单位名称", "地块编码", "所属镇街", "规上/规下", "实缴税金(万元)", "增加值(万元)"],
        # row 2: 、 and ； separators → 3 codes
        [CC["富润"], "诸暨市富润纺织有限公司", f"{a}、{b}；{c}", "暨阳街道", "规上", "256.3", "1020.5"],
        # row 3: ASCII ; inside a quoted field (same char as the delimiter) → 2 codes
        [CC["海亮"], "诸暨市海亮精密铜管有限公司", "330681002001GB00031;330681002001GB00032",
         "陶朱街道", "规上", "88", "300"],
        # row 4: newline inside a quoted field → 2 codes; this record spans 2 physical lines
        [CC["五金"], "诸暨市店口五金制品厂", "330681003001JA00008\n330681003001JA00009", "店口镇",
         "规下", "4.5", "20"],
        # row 5: neither credit code nor parcel code → accepted, listed under 待核实; VA "—" → null
        ["", "诸暨市小微加工点", "", "店口镇", "规下", "0.8", "—"],
        # row 6: name "/" → null → rejected (missing required 单位名称)
        [CC["袜业"], "/", "330681004001GB00043", "大唐街道", "规下", "1.1", "5"],
        # row 7: ， and / separators → 3 codes
        [CC["袜业一厂"], "诸暨市大唐袜业一厂",
         "330681004001GB00040，330681004001GB00041/330681004001GB00042", "大唐街道", "规下",
         "12.5", "40"],
    ]
    write_csv(path, rows, encoding="utf-8", delimiter=";", bom=codecs.BOM_UTF8)


# --------------------------------------------------------------------------------------------
# 6. HTML table saved as .xls (消防 ledger)


def ledger_html_disguised(path: Path) -> None:
    nb = "&nbsp;"
    header = ["序号", "隐患编号", "问题类别", "被检查单位", "统一社会信用代码", "地块编码", "隐患内容",
              "隐患等级", "检查日期", "整改期限", "整改状态"]
    rows = [
        # row 3
        ["1", "XF2023-001", "消防", "诸暨市恒达机械有限公司", CC["恒达"], "330681001002GB00012",
         "疏散通道堵塞<br>安全出口锁闭", "较大", "2023-06-12", "2023-07-12", "整改中"],
        # row 4: &amp; entity in the name, no parcel code
        ["2", "XF2023-002", "消防", "诸暨市H&amp;M包装材料有限公司", CC["华峰"], nb, "消防设施损坏",
         "一般", "2023-06-15", "2023-07-15", "已整改"],
        # row 5: every cell &nbsp; → blank → skipped
        [nb] * 11,
        # row 6: no parcel code, no credit code, no name → rejected (no key)
        ["3", "XF2023-003", "消防", nb, nb, nb, "厂房内违规住人", "重大事故隐患", "2023-06-20",
         "2023-06-30", "未整改"],
        # row 7: name only; 重大事故隐患 → 重大; dates with slashes
        ["4", "XF2023-004", "消防", "诸暨市店口镇某出租厂房", nb, nb, "电线私拉乱接", "重大事故隐患",
         "2023/6/21", "2023/7/21", "整改中"],
        # row 8
        ["5", "XF2023-005", "消防", "浙江正泰铜材有限公司", CC["正泰"], "330681002001GB00031",
         "灭火器过期", "一般", "2023年6月25日", "2023年7月25日", "已销号"],
    ]
    out = [
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">',
        "<head>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
        '<meta charset="utf-8">',
        "<style>td{mso-number-format:\\@;}</style>",
        "</head>",
        "<body>",
        '<table border="1">',
        f'<tr><td colspan="{len(header)}" align="center"><b>诸暨市2023年消防安全隐患排查整治台账</b></td></tr>',
        "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>",
    ]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>")
    out += ["</table>", "</body>", "</html>", ""]
    path.write_text("\r\n".join(out), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# 7. Excel 2003 XML Spreadsheet saved as .xls (安全生产 ledger, category from the sheet name)


def ledger_xml_spreadsheet(path: Path) -> None:
    def cell(v, index=None):
        idx = f' ss:Index="{index}"' if index else ""
        if v is None:
            return ""
        if isinstance(v, dt.date):
            return (f'<Cell{idx} ss:StyleID="d"><Data ss:Type="DateTime">'
                    f"{v.isoformat()}T00:00:00.000</Data></Cell>")
        if isinstance(v, int | float):
            return f'<Cell{idx}><Data ss:Type="Number">{v}</Data></Cell>'
        return f'<Cell{idx}><Data ss:Type="String">{html.escape(v, quote=False)}</Data></Cell>'

    def row(values, index=None, sparse=False):
        """sparse=True: omit empty cells and give the next cell an explicit ss:Index."""
        idx = f' ss:Index="{index}"' if index else ""
        cells, skipped = [], False
        for col, v in enumerate(values, start=1):
            if v is None:
                skipped = True
                if not sparse:
                    cells.append("<Cell/>")
                continue
            cells.append(cell(v, index=col if (sparse and skipped) else None))
            skipped = False
        return f"<Row{idx}>" + "".join(cells) + "</Row>"

    header = ["隐患编号", "企业名称", "统一社会信用代码", "地块编码", "隐患内容", "隐患等级", "发现日期",
              "整改期限", "整改状态", "验收结果"]
    r3 = ["AQ-2023-001", "诸暨市恒达机械有限公司", CC["恒达"], "330681001002GB00012",
          "粉尘涉爆场所未安装除尘设施", "重大", dt.date(2023, 4, 3), dt.date(2023, 5, 3), "已整改", "合格"]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?mso-application progid="Excel.Sheet"?>',
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"',
        ' xmlns:o="urn:schemas-microsoft-com:office:office"',
        ' xmlns:x="urn:schemas-microsoft-com:office:excel"',
        ' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"',
        ' xmlns:html="http://www.w3.org/TR/REC-html40">',
        ' <Styles><Style ss:ID="d"><NumberFormat ss:Format="yyyy-mm-dd"/></Style></Styles>',
        ' <Worksheet ss:Name="安全生产隐患台账">',
        "  <Table>",
        # row 1: title merged across all 10 columns
        '   <Row><Cell ss:MergeAcross="9"><Data ss:Type="String">2023年安全生产隐患排查台账（应急管理局）'
        "</Data></Cell></Row>",
        "   " + row(header),
        "   " + row(r3),  # row 3
        # row 4: credit code cell omitted, next cell carries ss:Index="4"
        "   " + row(["AQ-2023-002", "诸暨市华峰袜业有限公司", None, "330681001002GB00013",
                     "有限空间作业未审批", "较大", dt.date(2023, 4, 10), dt.date(2023, 5, 10),
                     "整改中", None], sparse=True),
        # row 5
        "   " + row(["AQ-2023-003", "浙江正泰铜材有限公司", CC["正泰"], "330681002001GB00031",
                     "熔炼炉冷却水系统缺陷", "一般", dt.date(2023, 4, 12), dt.date(2023, 4, 30),
                     "整改不合格", "不合格"]),
        # row 6 absent from the XML (next Row has ss:Index="7") → blank → skipped
        # row 7: found date as a String, not a DateTime
        "   " + row(["AQ-2023-004", "诸暨市大唐宏利袜业有限公司", CC["宏利"], "330681004002GB00105",
                     "叉车无证驾驶", "一般", "2023-04-18", "2023-05-18", "已销号", "合格"], index=7),
        # row 8: identical copy of row 3 → skipped, kind duplicate
        "   " + row(r3),
        # row 9: no parcel code, credit code or name → rejected (no key)
        "   " + row(["AQ-2023-005", None, None, None, "配电房堆放杂物", "一般", dt.date(2023, 4, 20),
                     dt.date(2023, 5, 20), "未整改", None], sparse=True),
        "  </Table>",
        " </Worksheet>",
        "</Workbook>",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# 8. / 9. sources for the LibreOffice conversions (.xls BIFF8, .ods)


def land_legacy_biff_source(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("工业用地")
    dfmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.merge_range("A1:H1", "2022年度工业用地清查表", wb.add_format({"bold": True, "align": "center"}))
    header = ["宗地代码", "所在镇街", "所属园区", "土地使用权人", "宗地面积（亩）", "权属性质", "建成年份",
              "发证日期"]
    rows = [
        ["330681001005GB00401", "暨阳街道", "诸暨经济开发区", "诸暨市万隆机械有限公司", 15.6, "国有", 2008,
         dt.date(2009, 3, 15)],
        # row 4: area and building year are numbers stored as text
        ["330681002004GB00402", "陶朱街道", "诸暨经济开发区", "诸暨市陶朱电子有限公司", "25.6", "国有",
         "1998", dt.date(1999, 7, 1)],
        ["330681003004JC00403", "店口镇", "店口工业园区", "店口镇阮市村股份经济合作社", 4.25, "集体", 1990,
         None],
        ["330681005004GB00404", "枫桥镇", None, "诸暨市枫桥服装厂", 9.9, "国有", 2012,
         dt.date(2013, 1, 20)],
        ["330681007002GB00405", "牌头镇", None, "诸暨市牌头建材有限公司", 31.05, "国有", 2001,
         dt.date(2002, 11, 30)],
    ]
    write_row(ws, 1, header)
    for i, r in enumerate(rows):
        write_row(ws, 2 + i, r, date_fmt=dfmt)
    wb.close()


def enterprise_legacy_source(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("亩均效益评价")
    header = ["统一社会信用代码", "单位名称", "地块编码", "所属镇街", "企业规模", "入库税金（万元）",
              "工业增加值（万元）", "主营业务收入（万元）", "年平均职工人数", "综合能耗（吨标煤）",
              "R&D经费支出（万元）", "是否落后产能", "不参评原因"]
    rows = [
        [CC["万隆"], "诸暨市万隆机械有限公司", "330681001005GB00401", "暨阳街道", "规上", 320.5, 1500, 9800,
         210, 1200, 350, "否", None],
        # row 3: 综合能耗 is a formula error (#DIV/0!) → null + warning
        [CC["陶朱"], "诸暨市陶朱电子有限公司", "330681002004GB00402", "陶朱街道", "规上", 95.2, 600, 4100,
         130, None, 120, "否", None],
        [CC["服装"], "诸暨市枫桥服装厂", "330681005004GB00404", "枫桥镇", "规下", 12.3, 45, 380, 35, 20, 0,
         "是", None],
        [CC["建材"], "诸暨市牌头建材有限公司", "330681007002GB00405", "牌头镇", "规下", 8, 30, 260, 18, 300, 0,
         "否", "新投产企业"],
        # row 6: tax as number stored as text
        [CC["新材"], "诸暨市店口新材料有限公司", "330681003004JC00403", "店口镇", "规上", "56.7", 210, 1500, 60,
         80, 45, "否", None],
    ]
    write_row(ws, 0, header)
    for i, r in enumerate(rows):
        write_row(ws, 1 + i, r)
    ws.write_formula("J3", "=1/0", None, "#DIV/0!")
    # row 7: 合计 row with SUM formulas → skipped, kind total. Cached results as Excel computes
    # them: SUM skips the text "56.7" in F6, and J7 inherits the #DIV/0! of J3.
    ws.write_string("A7", "合计")
    for col, cached in zip("FGHIJK", (436.0, 2385, 16040, 453, "#DIV/0!", 515), strict=True):
        ws.write_formula(f"{col}7", f"=SUM({col}2:{col}6)", None, cached)
    wb.close()


# --------------------------------------------------------------------------------------------
# 10. ledger dates in every form (环保)


def ledger_dates_all_forms(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("环保问题台账")
    dfmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    dtfmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    header = ["问题编号", "企业名称", "统一社会信用代码", "地块编码", "问题类别", "问题描述", "问题等级",
              "发现日期", "整改期限", "整改状态", "销号日期"]
    d0, d1 = dt.date(2023, 5, 1), dt.date(2023, 6, 30)
    rows = [
        # found_date is 2023-05-01 and deadline 2023-06-30 in every row, each row in another form
        ["HB-2023-001", "诸暨市恒达机械有限公司", CC["恒达"], "330681001002GB00012", "环保",
         "废气未经处理直排", "较大", d0, d1, "整改中", "—"],                      # row 2: date cells
        ["HB-2023-002", "诸暨市华峰袜业有限公司", CC["华峰"], "330681001002GB00013", "环保",
         "危废贮存不规范", "一般", 45047, 45107, "已整改", 45097],                  # row 3: serials
        ["HB-2023-003", "浙江正泰铜材有限公司", CC["正泰"], "330681002001GB00031", "环保",
         "雨污未分流", "一般", "2023-05-01", "2023-06-30", "已销号", "2023-06-28"],  # row 4: ISO text
        ["HB-2023-004", "诸暨市大唐宏利袜业有限公司", CC["宏利"], "330681004002GB00105", "环保",
         "印染废水超标排放", "重大", "2023/5/1", "2023/6/30", "未整改", None],       # row 5
        ["HB-2023-005", "诸暨市枫桥精工机械厂", CC["精工"], "330681005001GB00044", "环保",
         "喷漆房无废气收集", "较大", "2023.5.1", "2023.6.30", "整改中", None],       # row 6
        ["HB-2023-006", "诸暨市山下湖珍珠加工场", None, "330681006003JC00019", "环保",
         "珍珠清洗废水直排", "较大", "2023年5月1日", "2023年6月30日", "整改中", None],  # row 7
        ["HB-2023-007", "诸暨市金鼎五金厂", CC["金鼎"], "330681003001JC00008", "环保",
         "酸洗槽无防渗", "一般", "20230501", "20230630", "已整改", "20230615"],     # row 8: yyyymmdd text
        # row 9: date-time cell (time dropped); 整改期限 "五月初" → null + warning
        ["HB-2023-008", "诸暨市店口管件厂", None, "330681003002JC00203", "环保",
         "铸造粉尘无组织排放", "一般", dt.datetime(2023, 5, 1, 9, 30), "五月初", "未整改", None],
    ]
    write_row(ws, 0, header)
    for i, r in enumerate(rows):
        fmt = dtfmt if i == 7 else dfmt
        write_row(ws, 1 + i, r, date_fmt=fmt)
    wb.close()


# --------------------------------------------------------------------------------------------
# 11. messy parcel codes, duplicates, a blank row


def land_codes_messy(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("地块")
    header = ["地块编码", "镇街", "权利人", "用地面积（亩）", "土地权属"]
    r2 = [" 330681 001 002 GB 00021 ", "暨阳街道", "诸暨市艮塔电器有限公司", 11.2, "国有"]
    rows = [
        r2,                                                                           # row 2: spaces
        ["３３０６８１００１００２ＧＢ０００２２", "暨阳街道", "诸暨市城西塑料厂", 6.4, "国有"],  # row 3: full-width
        ["330681001002gb00023", "暨阳街道", "诸暨市城西印刷厂", 3.3, "国有"],                  # row 4: lower case
        ["330681001002GB00024F00010001", "暨阳街道", "诸暨市城西纸箱厂", 7.75, "国有"],        # row 5: 28 chars
        ["ZJ-2021-0087", "陶朱街道", "诸暨市陶朱某加工点", 1.6, "国有"],                        # row 6: non-standard
        [3306810010020000000, "陶朱街道", "诸暨市陶朱五金厂", 2.2, "国有"],                     # row 7: number cell
        list(r2),                                                                     # row 8: identical dup
        [None] * 5,                                                                   # row 9: blank
        ["330681001002GB00022", "暨阳街道", "诸暨市城西塑料厂", 9.9, "国有"],                  # row 10: conflict
        ["330681-003-001-JC-00031", "店口镇", "店口镇湄池村股份经济合作社", 4.0, "集体"],       # row 11: hyphens
        ["330681003001JC00032", "店口镇", "诸暨市湄池纺机配件厂", 2.45, "集体"],               # row 12
    ]
    write_row(ws, 0, header)
    for i, r in enumerate(rows):
        write_row(ws, 1 + i, r)
    ws.set_column("A:A", 34)
    wb.close()


# --------------------------------------------------------------------------------------------
# 12. yes/no in every form


def land_yes_no_forms(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("Sheet1")
    header = ["地块编码", "镇街", "用地面积（亩）", "土地权属", "是否符合规划", "是否有合法用地手续"]
    rows = [
        ["330681008001JC00501", "次坞镇", 3.5, "集体", "是", "否"],        # row 2
        ["330681008001JC00502", "次坞镇", 2.8, "集体", "有", "无"],        # row 3: 无 = no here
        ["330681008001JC00503", "次坞镇", 4.1, "集体", "符合", "不符合"],  # row 4
        ["330681008002JC00504", "次坞镇", 1.9, "集体", "Y", "N"],          # row 5
        ["330681008002JC00505", "次坞镇", 6.0, "集体", "√", "×"],          # row 6
        ["330681008002JC00506", "次坞镇", 2.2, "集体", 1, 0],              # row 7: number cells
        ["330681008003JC00507", "次坞镇", 5.3, "集体", "待定", "是"],      # row 8: 待定 → null + warning
        ["330681008003JC00508", "次坞镇", 3.0, "集体", "否", "—"],         # row 9: — → null, no warning
    ]
    write_row(ws, 0, header)
    for i, r in enumerate(rows):
        write_row(ws, 1 + i, r)
    wb.close()


# --------------------------------------------------------------------------------------------
# 13.-17. unreadable / unrecognised / empty files


def not_a_spreadsheet(path: Path) -> None:
    path.write_text("这不是Excel文件。\nThis is a plain text file with an .xlsx extension.\n",
                    encoding="utf-8")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def corrupt_truncated(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.xlsx"
        land_codes_messy(full)
        path.write_bytes(full.read_bytes()[:2000])


def instructions_only(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("填报说明")
    lines = [
        "填报说明",
        "一、本表由各镇乡（街道）、开发区（园区）组织填报，请于2024年1月31日前报送。",
        "二、地块编码请填写19位宗地代码，无宗地代码的请注明“待核实”。",
        "三、用地面积以亩为单位，保留两位小数；镇街、权利人请填写全称。",
        "四、土地权属填写“国有”或“集体”；是否符合规划填写“是”或“否”。",
        "五、如有疑问，请联系市自然资源和规划局耕保科，电话：0575-87000000。",
    ]
    for i, text in enumerate(lines):
        ws.write_string(i, 0, text)
    ws.set_column("A:A", 90)
    wb.close()


def header_only(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("Sheet1")
    write_row(ws, 0, ["地块编码", "镇街", "用地面积（亩）", "土地权属"])
    wb.close()


# --------------------------------------------------------------------------------------------
# 18. UTF-16 LE with BOM, tab-delimited (Excel "Unicode text"), 信访 ledger


def ledger_utf16(path: Path) -> None:
    rows = [
        ["编号", "问题类别", "企业名称", "地块编码", "问题内容", "发现日期", "整改情况"],
        ["XFJ-2023-011", "信访", "诸暨市恒达机械有限公司", "330681001002GB00012", "夜间生产噪声扰民",
         "2023-03-02", "已整改"],
        ["XFJ-2023-014", "信访", "诸暨市恒达机械有限公司", "330681001002GB00012", "废水异味", "2023-04-11",
         "整改中"],
        ["XFJ-2023-020", "信访", "诸暨市恒达机械有限公司", "", "货车占道装卸", "2023-05-20", "未整改"],
        # row 5: no key → rejected
        ["XFJ-2023-021", "信访", "", "", "匿名反映某厂夜间偷排", "2023-05-22", "未整改"],
        ["XFJ-2023-030", "信访", "诸暨市华峰袜业有限公司", "330681001002GB00013", "厂房外墙脱落",
         "2023-06-01", "已销号"],
    ]
    write_csv(path, rows, encoding="utf-16-le", delimiter="\t", bom=codecs.BOM_UTF16_LE)


# --------------------------------------------------------------------------------------------
# 19. column-number row and a header repeated mid-table (printed multi-page export)


def land_repeated_header_column_numbers(path: Path) -> None:
    wb = new_workbook(path)
    ws = wb.add_worksheet("工业用地")
    ws.merge_range("A1:G1", "开发区工业用地明细表", wb.add_format({"bold": True, "align": "center"}))
    header = ["序号", "地块编码", "镇街", "园区", "土地坐落", "用地面积（亩）", "土地权属"]
    numbers = ["栏次", 1, 2, 3, 4, 5, 6]
    z = "诸暨经济开发区"
    first = [
        [1, "330681009001GB00601", "陶朱街道", z, "陶朱街道友谊路1号", 18.5, "国有"],
        [2, "330681009001GB00602", "陶朱街道", z, "陶朱街道友谊路3号", 7.25, "国有"],
        [3, "330681009001GB00603", "陶朱街道", z, "陶朱街道友谊路5号", 12.0, "国有"],
        [4, "330681009002GB00604", "暨南街道", z, "暨南街道城南工业区", 26.3, "国有"],
        [5, "330681009002GB00605", "暨南街道", z, "暨南街道城南工业区", 9.8, "国有"],
    ]
    second = [
        [6, "330681009002GB00606", "暨南街道", z, "暨南街道城南工业区", 14.6, "国有"],
        # row 12: area "待测量" → rejected (unparseable required 用地面积)
        [7, "330681009003GB00607", "浣东街道", z, "浣东街道东二路", "待测量", "国有"],
        [8, "330681009003GB00608", "浣东街道", z, "浣东街道东二路", 5.55, "国有"],
        [9, "330681009003JC00609", "浣东街道", z, "浣东街道东盛村", 3.2, "集体"],
    ]
    write_row(ws, 1, header)          # row 2: header
    write_row(ws, 2, numbers)         # row 3: column numbers → skipped, kind column_numbers
    for i, r in enumerate(first):     # rows 4-8
        write_row(ws, 3 + i, r)
    write_row(ws, 8, header)          # row 9: repeated header → skipped, kind repeated_header
    write_row(ws, 9, numbers)         # row 10: column numbers again → skipped, kind column_numbers
    for i, r in enumerate(second):    # rows 11-14
        write_row(ws, 10 + i, r)
    ws.write_string("A15", "合计")     # row 15: total → skipped, kind total
    ws.write_formula("F15", "=SUM(F4:F14)", None, 97.2)
    wb.close()


# --------------------------------------------------------------------------------------------
# LibreOffice conversions


def soffice_convert(src: Path, filter_spec: str, out_name: str, profile: Path) -> None:
    with tempfile.TemporaryDirectory() as outdir:
        cmd = ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
               "--convert-to", filter_spec, "--outdir", outdir, str(src)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
        produced = list(Path(outdir).iterdir())
        if len(produced) != 1:
            raise RuntimeError(f"soffice produced {produced!r} for {src}")
        shutil.copyfile(produced[0], FIXTURES / out_name)


# LibreOffice's --convert-to cannot set a password (it is a media-descriptor property, not a
# filter option), so the encrypted workbook is stored through UNO by LibreOffice's own Python.
# Standard (ECMA-376) AES-128 encryption, password "123"; the result is a CFB (D0CF11E0) file
# holding EncryptionInfo + EncryptedPackage streams, despite its .xlsx name.
ENCRYPT_VIA_UNO = r"""
import subprocess, sys, time, uno
from com.sun.star.beans import NamedValue, PropertyValue

src, dst, password, profile, pipe = sys.argv[1:6]

def prop(cls, name, value):
    p = cls()
    p.Name, p.Value = name, value
    return p

office = subprocess.Popen(["soffice", "-env:UserInstallation=" + profile, "--headless", "--invisible",
                           "--norestore", "--accept=pipe,name=%s;urp;" % pipe],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            remote = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.5)
    desktop = remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                       (prop(PropertyValue, "Hidden", True),))
    encryption = (prop(NamedValue, "CryptoType", "Standard"), prop(NamedValue, "OOXPassword", password))
    props = (prop(PropertyValue, "FilterName", "Calc MS Excel 2007 XML"),
             prop(PropertyValue, "Overwrite", True),
             prop(PropertyValue, "EncryptionData", uno.Any("[]com.sun.star.beans.NamedValue", encryption)))
    uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst),
                                   uno.Any("[]com.sun.star.beans.PropertyValue", props)))
    doc.close(True)
    try:
        desktop.terminate()
    except Exception:
        pass  # the bridge drops while the office shuts down
finally:
    try:
        office.wait(timeout=30)
    except subprocess.TimeoutExpired:
        office.kill()
"""


def make_binaries() -> None:
    if shutil.which("soffice") is None:
        sys.exit("soffice (LibreOffice) not found; binaries left as committed")
    with tempfile.TemporaryDirectory(prefix="landaudit_fixtures_") as tmp:
        tmp = Path(tmp)
        profile = tmp / "lo_profile"  # private profile: no lock clash with a running office
        src = tmp / "land_legacy_biff.xlsx"
        land_legacy_biff_source(src)
        soffice_convert(src, "xls", "land_legacy_biff.xls", profile)
        src = tmp / "enterprise_legacy.xlsx"
        enterprise_legacy_source(src)
        soffice_convert(src, "ods", "enterprise_legacy.ods", profile)
        # LibreOffice's Python (python3-uno) is the system interpreter, not the project venv.
        lo_python = os.environ.get("LO_PYTHON", "/usr/bin/python3")
        src = tmp / "password_protected_src.xlsx"
        land_yes_no_forms(src)
        dst = tmp / "password_protected.xlsx"
        script = tmp / "encrypt_via_uno.py"
        script.write_text(ENCRYPT_VIA_UNO, encoding="utf-8")
        subprocess.run([lo_python, str(script), str(src), str(dst), "123", profile.as_uri(),
                        f"landaudit_fixtures_{os.getpid()}"], check=True, timeout=180)
        if not dst.read_bytes().startswith(bytes.fromhex("D0CF11E0A1B11AE1")):
            raise RuntimeError("LibreOffice did not encrypt password_protected.xlsx")
        shutil.copyfile(dst, FIXTURES / "password_protected.xlsx")


PYTHON_MADE = {
    "land_title_rows_merged_header.xlsx": land_title_rows_merged_header,
    "land_area_sqm_units.xlsx": land_area_sqm_units,
    "land_area_hectare.csv": land_area_hectare,
    "enterprise_gbk.csv": enterprise_gbk,
    "enterprise_semicolon_bom.csv": enterprise_semicolon_bom,
    "ledger_html_disguised.xls": ledger_html_disguised,
    "ledger_xml_spreadsheet.xls": ledger_xml_spreadsheet,
    "ledger_dates_all_forms.xlsx": ledger_dates_all_forms,
    "land_codes_messy.xlsx": land_codes_messy,
    "land_yes_no_forms.xlsx": land_yes_no_forms,
    "not_a_spreadsheet.xlsx": not_a_spreadsheet,
    "empty.xlsx": empty,
    "corrupt_truncated.xlsx": corrupt_truncated,
    "instructions_only.xlsx": instructions_only,
    "header_only.xlsx": header_only,
    "ledger_utf16.csv": ledger_utf16,
    "land_repeated_header_column_numbers.xlsx": land_repeated_header_column_numbers,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binaries", action="store_true",
                        help="also rebuild the LibreOffice-made .xls/.ods/encrypted .xlsx")
    args = parser.parse_args(argv)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, make in PYTHON_MADE.items():
        make(FIXTURES / name)
    if args.binaries:
        make_binaries()
    for p in sorted(FIXTURES.iterdir()):
        assert p.stat().st_size < 50_000, f"{p.name} is too large for a fixture"


if __name__ == "__main__":
    main()
