"""Printing and presentation of the workbooks (SPEC §9 rev. 2, issue 12 item 6): paper by list width,
never below 9 points, footer 第 &P 页 共 &N 页 with the as-of date, centred title over a 单位 line,
wrapped reason and name columns, formula-like text kept exactly as written with Excel's quote
prefix, and a 汇总 whose rating rows add up."""

from __future__ import annotations

import re
import zipfile
from datetime import date

import openpyxl
import pytest

from landaudit.export import export
from landaudit.export.lists import LISTS, SHEET_ORDER, SUMMARY_SHEET
from landaudit.export.workbook import HEADER_ROWS
from landaudit.findings import make_finding
from landaudit.workspace import Workspace

from builders import CODE, ent, given, item, land

AS_OF = "2023-12-31"                 # builders classify as of this date
FORMULA_LIKE = ["=1+2", "-3.5", "+86 0575", "@SUM(A1)", "＝甲"]
LONG_NAME = "诸暨市某某某某某某某某某某某某某某某某精密机械制造有限公司"
LIST_SHEETS = [s for s in SHEET_ORDER if s != SUMMARY_SHEET]
# Excel's paper codes and the landscape width the page offers (A3 / A4, inches)
A3, A4 = 8, 9
PAPER_WIDTH = {A3: 420 / 25.4, A4: 297 / 25.4}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("printing")
    towns = ["陶朱街道", "陶朱街道", "店口镇", "店口镇", "暨阳街道", "暨阳街道"]
    lands = [land(i, area=10.0 + i, township=t, location=f"{t}工业大道{i}号") for i, t in enumerate(towns)]
    ents = [
        ent("=1+2", [CODE.format(0)], 20.0),                                  # low efficiency, formula-like name
        ent("@SUM(A1)", [CODE.format(1)], 500.0, above_scale=True),
        ent(LONG_NAME, [CODE.format(2)], 10.0),                               # a name that must wrap
        ent("诸暨市正常企业有限公司", [CODE.format(3)], 300.0, above_scale=True),
        ent("诸暨市新建企业有限公司", [CODE.format(4)], 1.0, exempt_reason="新建投产不满三年"),   # 不定等级
        ent("诸暨市另一新建企业有限公司", [CODE.format(5)], 1.0, above_scale=True,
            exempt_reason="新建投产不满三年"),
    ]
    items = [item("E1", "环保", "较大", "未整改", parcel_code=CODE.format(1), description="-3.5 排放超标" * 6,
                  deadline=date(2023, 6, 30))]
    findings = [
        make_finding("reject", "nonpositive", file="data/raw/2023/经信局/亩均.xlsx", sheet="S", row=7,
                     column="税收", value="-3.5", dataset="enterprise"),
        make_finding("verify", "parcel_code_nonstandard", file="data/raw/2023/自然资源和规划局/地块.xlsx",
                     sheet="S", row=9, column="地块编码", value="=BAD()", detail="330681", dataset="land"),
    ]
    given(tmp, lands, ents, items, findings=findings)
    result = export(Workspace.at(tmp), year=2023, by_township=True)
    return result


def _all_books(result) -> list:
    return [*result.workbooks, *result.township_workbooks, *result.sendback]


def _header(ws) -> list:
    return [c.value for c in ws[HEADER_ROWS]]


def _printed_inches(width: float) -> float:
    """A column width as stored (characters of Calibri 11, padding included) in inches at 100 %:
    7 pixels a character, 96 pixels an inch."""
    return width * 7 / 96


def _column_widths(ws) -> list[float]:
    from openpyxl.utils import get_column_letter

    widths = []
    for c in range(1, ws.max_column + 1):
        dim = ws.column_dimensions.get(get_column_letter(c))
        if dim is None or dim.width is None or (dim.min and dim.max and not dim.min <= c <= dim.max):
            # openpyxl groups equal adjacent columns under the first letter
            group = next((d for d in ws.column_dimensions.values() if d.min and d.min <= c <= d.max), None)
            widths.append(group.width if group is not None else 8.43)
        else:
            widths.append(dim.width)
    return widths


def test_paper_follows_the_list_width(exported):
    seen = set()
    for path in _all_books(exported):
        book = openpyxl.load_workbook(path)
        for ws in book.worksheets:
            n_columns = ws.max_column if ws.title == SUMMARY_SHEET else len([v for v in _header(ws) if v])
            expected = A3 if n_columns > 10 else A4
            assert int(ws.page_setup.paperSize) == expected, (path.name, ws.title, n_columns)
            assert ws.page_setup.orientation == "landscape", (path.name, ws.title)
            seen.add(expected)
    assert seen == {A3, A4}                        # both kinds occur: the test can tell them apart


def test_no_list_prints_below_nine_points(exported):
    """A fixed print scale ≥ 90 % of the 10-point body font; never fit-to-page (an application with
    wider fonts would shrink it further). A scale above 90 means one page wide: the columns fit."""
    for path in _all_books(exported):
        book = openpyxl.load_workbook(path)
        for ws in book.worksheets:
            props = ws.sheet_properties.pageSetUpPr
            assert not (props is not None and props.fitToPage), (path.name, ws.title)
            scale = int(ws.page_setup.scale or 100)
            assert scale >= 90, (path.name, ws.title, scale)
            font_sizes = {ws.cell(r, c).font.sz for r in range(HEADER_ROWS + 1, min(ws.max_row, 8) + 1)
                          for c in range(1, ws.max_column + 1) if ws.cell(r, c).value is not None}
            assert all(size * scale / 100 >= 9 for size in font_sizes if size), (ws.title, font_sizes)
            paper = int(ws.page_setup.paperSize)
            room = PAPER_WIDTH[paper] - ws.page_margins.left - ws.page_margins.right
            needed = sum(map(_printed_inches, _column_widths(ws))) * scale / 100
            if scale > 90:
                assert needed <= room, (path.name, ws.title, needed, room)
            elif ws.title != SUMMARY_SHEET and needed > room:
                # columns go on to further pages: the header row and the row's key repeat there
                assert ws.print_title_rows == f"${HEADER_ROWS}:${HEADER_ROWS}", ws.title
                assert ws.print_title_cols == "$A:$B", ws.title


def test_every_sheet_has_page_numbers_and_the_as_of_date_in_its_footer(exported):
    for path in _all_books(exported):
        for ws in openpyxl.load_workbook(path).worksheets:
            footer = ws.oddFooter
            assert footer.center.text == "第 &P 页 共 &N 页", (path.name, ws.title)
            assert AS_OF in (footer.left.text or ""), (path.name, ws.title, footer.left.text)


def test_title_is_centred_over_the_list_with_a_unit_line_below(exported):
    for path in _all_books(exported):
        book = openpyxl.load_workbook(path)
        for ws in book.worksheets:
            merged = {str(r) for r in ws.merged_cells.ranges}
            title_range = next((r for r in merged if r.startswith("A1:")), None)
            assert title_range is not None, (path.name, ws.title, merged)
            last = title_range.split(":")[1].rstrip("1")
            assert f"A2:{last}2" in merged, (path.name, ws.title)
            assert ws["A1"].alignment.horizontal == "center" and ws["A1"].font.b
            assert "2023" in ws["A1"].value
            assert ws["A2"].value == "单位：亩、万元" and ws["A2"].alignment.horizontal == "right"
            if ws.title != SUMMARY_SHEET:
                assert ws.cell(HEADER_ROWS, 1).value == "序号"
                assert ws.freeze_panes == f"A{HEADER_ROWS + 1}"


REASON_AND_NAME_COLUMNS = {"列入理由", "治理理由", "问题描述", "企业名称", "坐落", "权利人", "问题", "问题及修改要求"}


def test_reason_and_name_columns_wrap_and_long_text_gets_a_taller_row(exported):
    checked = set()
    for path in _all_books(exported):
        book = openpyxl.load_workbook(path)
        for ws in book.worksheets:
            if ws.title == SUMMARY_SHEET:
                continue
            header = _header(ws)
            for col, name in enumerate(header, start=1):
                if name not in REASON_AND_NAME_COLUMNS:
                    continue
                for row in range(HEADER_ROWS + 1, ws.max_row + 1):
                    cell = ws.cell(row, col)
                    if cell.value is None:
                        continue
                    assert cell.alignment.wrap_text, (path.name, ws.title, name, cell.coordinate)
                    checked.add(name)
                    if cell.value == LONG_NAME or (isinstance(cell.value, str) and len(cell.value) > 40):
                        assert (ws.row_dimensions[row].height or 15) > 15, (ws.title, name, cell.coordinate)
            # numbers keep their format beside the wrapped columns
            if "用地面积（亩）" in header:
                col = header.index("用地面积（亩）") + 1
                if ws.max_row > HEADER_ROWS:
                    assert ws.cell(HEADER_ROWS + 1, col).number_format == "#,##0.00"
    assert {"企业名称", "列入理由", "问题描述", "问题及修改要求"} <= checked


def _quoted_cells(ws) -> dict[str, bool]:
    return {c.value: c.quotePrefix for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def test_formula_like_text_is_kept_exactly_with_the_quote_prefix(exported):
    book = openpyxl.load_workbook(exported.workbooks[0])
    cells = {}
    for name in LIST_SHEETS:
        cells.update(_quoted_cells(book[name]))
    assert cells["=1+2"] is True and cells["@SUM(A1)"] is True             # names as written
    assert cells["=BAD()"] is True                                         # 待核实 原值
    assert cells["陶朱街道"] is False and cells["诸暨市正常企业有限公司"] is False
    assert not any(v.startswith("'") for v in cells), [v for v in cells if v.startswith("'")]
    for value, quoted in cells.items():
        assert quoted == (value[:1] in "=+-@＝＋－＠\t\r"), value
    # the send-back 原值 column: −3.5 shows as -3.5, not '-3.5 (issue 12), and is text
    sendback = {p.stem: p for p in exported.sendback}
    ws = openpyxl.load_workbook(sendback["经信局"]).worksheets[0]
    original = _header(ws).index("原值") + 1
    values = [ws.cell(r, original) for r in range(HEADER_ROWS + 1, ws.max_row + 1)]
    assert [(c.value, c.data_type, c.quotePrefix) for c in values if c.value] == [("-3.5", "s", True)]


def test_quote_prefix_is_in_the_sheet_xml_and_no_cell_is_a_formula(exported):
    """Read the XML itself: the cells are inline strings whose style carries quotePrefix="1"."""
    with zipfile.ZipFile(exported.workbooks[0]) as z:
        styles = z.read("xl/styles.xml").decode()
        xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S).group(1)
        quoted_styles = {i for i, xf in enumerate(re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs, re.S))
                         if 'quotePrefix="1"' in xf}
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        found = 0
        for name in sheets:
            xml = z.read(name).decode()
            assert "<f>" not in xml and "<f " not in xml
            for style, text in re.findall(r'<c r="[A-Z]+\d+" s="(\d+)" t="inlineStr"><is><t[^>]*>([^<]*)</t>', xml):
                if text in FORMULA_LIKE or text == "=BAD()":
                    assert int(style) in quoted_styles, (name, text, style)
                    found += 1
                elif text == "陶朱街道":
                    assert int(style) not in quoted_styles
    assert found >= 3


def test_summary_rating_rows_add_up_and_the_chart_shows_every_group(exported):
    for path in [*exported.workbooks, *exported.township_workbooks]:
        book = openpyxl.load_workbook(path)
        rows = [[c.value for c in row] for row in book[SUMMARY_SHEET].iter_rows()]
        start = next(i for i, r in enumerate(rows) if r[0] == "评价等级")
        assert rows[start][:5] == ["评价等级", "规上（宗）", "规下（宗）", "未分组（宗）", "合计（宗）"]
        ratings = rows[start + 1:start + 6]
        assert [r[0] for r in ratings] == ["A", "B", "C", "D", "不定等级"]
        for r in ratings:
            assert r[1] + r[2] + r[3] == r[4], (path.name, r)
        rated = book["亩均效益评价"].max_row - HEADER_ROWS
        assert sum(r[4] for r in ratings) == rated, path.name
        if path == exported.workbooks[0]:
            unrated = next(r for r in ratings if r[0] == "不定等级")
            assert unrated[4] == 2 and unrated[3] == 2              # the two exempt parcels: no group
        with zipfile.ZipFile(path) as z:
            charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
            rating_chart = z.read(charts[-1]).decode()
            assert rating_chart.count("<c:ser>") == 3 and "stacked" in rating_chart


def test_summary_kpi_value_and_target_are_separate_ruled_cells(exported):
    ws = openpyxl.load_workbook(exported.workbooks[0])[SUMMARY_SHEET]
    row = next(r for r in ws.iter_rows() if r[0].value == "未整改重大、较大问题隐患")
    value, target = row[1], row[2]
    assert isinstance(value.value, int) and target.value.endswith("（动态清零）")
    assert value.alignment.horizontal == "right" and target.alignment.horizontal == "center"
    assert value.border.right.style and target.border.left.style
    widths = _column_widths(ws)
    assert widths[1] >= 12 and widths[2] >= 16


def test_every_list_of_the_spec_is_printed_like_the_others(exported):
    book = openpyxl.load_workbook(exported.workbooks[0])
    assert {spec.sheet for spec in LISTS} <= set(book.sheetnames)
