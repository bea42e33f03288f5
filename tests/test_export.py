"""Export (SPEC §9, §14): sheet order, header, freeze panes, autofilter, number formats, charts,
formula neutralisation, per-township workbooks, 汇总 counts, splitting, re-export stability."""

from __future__ import annotations

import zipfile
from datetime import date

import openpyxl
import pytest

from landaudit.export import export
from landaudit.export.cells import needs_quote_prefix, safe_sheet_name, safe_text
from landaudit.export.lists import SHEET_ORDER
from landaudit.export.workbook import HEADER_ROWS
from landaudit.findings import make_finding
from landaudit.workspace import Workspace

from builders import CODE, ent, given, item, land

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"点我\")", "=1+2", "＠SUM(A1)", "=cmd|' /C calc'!A0",
           "+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


FIRST = HEADER_ROWS + 1          # the first data row (1-based): title, 单位 line, header above it


@pytest.fixture
def exported(tmp_path):
    towns = ["陶朱街道", "陶朱街道", "店口镇", "店口镇", "暨阳街道"]
    lands = [land(i, area=10.0 + i, township=t, building_condition="差" if i == 2 else None)
             for i, t in enumerate(towns)]
    ents = [
        ent(HOSTILE[0], [CODE.format(0)], 20.0),                    # low efficiency, hostile name
        ent("=1+2", [CODE.format(1)], 500.0, above_scale=True),     # efficient
        ent("＠SUM(A1)", [CODE.format(2)], 10.0, credit_code="9144030071526726XG"),
        ent("诸暨市正常企业有限公司", [CODE.format(3)], 300.0, above_scale=True),
    ]
    items = [
        item("E1", "环保", "较大", "未整改", parcel_code=CODE.format(1), description=HOSTILE[3],
             deadline=date(2023, 6, 30)),
        item("S1", "安全生产", "重大", "已销号", parcel_code=CODE.format(3), description="已整改完毕"),
        item("F1", "消防", "一般", "整改中", parcel_code=CODE.format(0), description="+1 灭火器过期"),
        item("V1", "违法建设", "较大", "未整改", name="找不到的企业", name_key="找不到的企业"),
    ]
    findings = [make_finding("verify", "parcel_code_nonstandard", file="data/raw/2023/自然资源和规划局/地块.xlsx",
                             sheet="S", row=9, column="地块编码", value="=BAD()", detail="330681", dataset="land"),
                make_finding("reject", "missing_required", file="data/raw/2023/经信局/亩均.xlsx", sheet="S",
                             row=5, column="企业名称", dataset="enterprise")]
    given(tmp_path, lands, ents, items, findings=findings)
    ws = Workspace.at(tmp_path)
    result = export(ws, year=2023, scope="city", by_township=True)
    return ws, result


def _book(path):
    return openpyxl.load_workbook(path)


def test_sheets_in_spec_order_with_frozen_header_and_autofilter(exported):
    _, result = exported
    book = _book(result.workbooks[0])
    assert book.sheetnames == list(SHEET_ORDER)
    for name in SHEET_ORDER[1:]:
        ws = book[name]
        assert ws.freeze_panes == f"A{HEADER_ROWS + 1}"
        assert ws[f"A{HEADER_ROWS}"].value == "序号"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{HEADER_ROWS}:")
        assert "2023" in ws["A1"].value
        assert not ws.sheet_view.showGridLines


def test_lists_hold_the_right_rows_with_units_and_number_formats(exported):
    _, result = exported
    book = _book(result.workbooks[0])
    low = book["亩均低效治理清单"]
    headers = [c.value for c in low[HEADER_ROWS]]
    assert headers[:3] == ["序号", "地块编码", "镇乡（街道）"]
    assert headers[-2:] == ["责任单位", "实施单位"]
    rows = list(low.iter_rows(min_row=FIRST, values_only=True))
    codes = sorted(r[1] for r in rows)
    # parcel 0: 20/10 = 2.0; parcel 2: 10/12 = 0.83; parcel 4: idle. Parcels 1 and 3 are efficient.
    assert codes == [CODE.format(0), CODE.format(2), CODE.format(4)]
    tax_col = headers.index("亩均税收（万元/亩）") + 1
    area_col = headers.index("用地面积（亩）") + 1
    assert low.cell(FIRST, tax_col).number_format == "#,##0.00"
    assert low.cell(FIRST, area_col).number_format == "#,##0.00"
    assert all(r[-2] == "经信局" for r in rows)
    env = book["环保治理清单"]
    env_headers = [c.value for c in env[HEADER_ROWS]]
    env_row = [c.value for c in env[FIRST]]
    assert env_row[env_headers.index("是否逾期")] == "逾期"
    assert env_row[env_headers.index("责任单位")] == "生态环境分局"
    assert env.cell(FIRST, env_headers.index("整改期限") + 1).number_format == "yyyy-mm-dd"
    assert book["安全生产治理清单"].max_row == FIRST      # title, 单位, header, one item


def test_hostile_text_comes_out_as_text_never_a_formula(exported):
    _, result = exported
    book = _book(result.workbooks[0])
    seen = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    # kept exactly as written (no added apostrophe), with Excel's quote prefix when
                    # it starts like a formula (SPEC §9 rev. 2)
                    formula_like = cell.value[:1] in set("=+-@＝＋－＠\t\r")
                    assert cell.quotePrefix == formula_like, (ws.title, cell.coordinate, cell.value)
                    assert not cell.value.startswith("'"), (ws.title, cell.coordinate, cell.value)
                    seen.add(cell.value)
    for text in (HOSTILE[0], "=1+2", "＠SUM(A1)", HOSTILE[3], "=BAD()"):
        assert text in seen
    with zipfile.ZipFile(result.workbooks[0]) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in z.read(n) for n in sheets)          # no formula anywhere


def test_summary_counts_equal_the_list_rows_and_charts_exist(exported):
    _, result = exported
    book = _book(result.workbooks[0])
    summary = book["汇总"]
    cells = [[c.value for c in row] for row in summary.iter_rows()]
    start = next(i for i, r in enumerate(cells) if r[0] == "五、各清单行数") + 2
    stated = {r[0]: r[1] for r in cells[start:] if r[0] in SHEET_ORDER}
    for name, n in stated.items():
        assert book[name].max_row - HEADER_ROWS == n, name
    assert stated["亩均低效治理清单"] == 3
    total = next(r for r in cells if r[0] == "合计")
    assert total[1] == 5 and total[3] == 3                   # 5 parcels, 3 low efficiency
    with zipfile.ZipFile(result.workbooks[0]) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert b"c:barChart" in z.read(charts[0])
        # the stacked chart's four series are the 四个一批 columns J..M of 汇总 (headers checked here)
        import re

        refs = sorted(set(re.findall(r"<c:f>[^!]+!\$([A-Z])\$", z.read(charts[0]).decode())))
        assert refs == ["A", "J", "K", "L", "M"]
    headers = next(r for r in cells if r[0] == "镇乡（街道）")
    assert headers[9:13] == ["整治提升（宗）", "拆除重建（宗）", "功能转型（宗）", "关停退出（宗）"]


def test_per_township_workbooks_hold_only_their_rows(exported):
    _, result = exported
    names = sorted(p.stem for p in result.township_workbooks)
    assert names == ["店口镇", "暨阳街道", "陶朱街道"]
    for path in result.township_workbooks:
        book = _book(path)
        assert book.sheetnames == list(SHEET_ORDER)
        base = book["工业用地底数清单"]
        towns = {r[2] for r in base.iter_rows(min_row=FIRST, values_only=True)}
        assert towns == {path.stem}
        for name in ("环保治理清单", "消防安全治理清单", "亩均低效治理清单"):
            col = [c.value for c in book[name][HEADER_ROWS]].index("镇乡（街道）")
            assert {r[col] for r in book[name].iter_rows(min_row=FIRST, values_only=True)} <= {path.stem}


def test_unlinked_and_flagged_rows_go_to_verify_and_send_back(exported):
    ws, result = exported
    book = _book(result.workbooks[0])
    verify = [r for r in book["待核实"].iter_rows(min_row=FIRST, values_only=True)]
    kinds = sorted(r[1] for r in verify)
    assert kinds == ["待核实", "未关联"]
    sendback = {p.stem: p for p in result.sendback}
    assert set(sendback) >= {"自然资源和规划局", "经信局", "综合行政执法局"}
    rows = list(_book(sendback["经信局"])["退回清单"].iter_rows(min_row=FIRST, values_only=True))
    assert [(r[1], r[4], r[6]) for r in rows] == [("拒收", 5, "企业名称")]    # r[5]: the row's key
    assert "必填" in rows[0][8]


def test_reexport_gives_identical_cell_values(exported):
    ws, result = exported

    def values(path):
        book = _book(path)
        return {name: [[c.value for c in row] for row in book[name].iter_rows()] for name in book.sheetnames}

    before = values(result.workbooks[0])
    again = export(ws, year=2023, scope="city")
    assert values(again.workbooks[0]) == before


def test_long_lists_split_at_the_row_limit(exported):
    ws, _ = exported
    result = export(ws, year=2023, scope="city", max_rows=HEADER_ROWS + 2)       # two data rows per sheet
    book = _book(result.workbooks[0])
    parts = [n for n in book.sheetnames if n.startswith("工业用地底数清单")]
    assert parts == ["工业用地底数清单_1", "工业用地底数清单_2", "工业用地底数清单_3"]
    assert [book[p].max_row - HEADER_ROWS for p in parts] == [2, 2, 1]
    assert [book[p][f"A{FIRST}"].value for p in parts] == [1, 3, 5]    # 序号 continues
    summary_text = " ".join(str(c.value) for row in book["汇总"].iter_rows() for c in row if c.value)
    assert "分为 3 个工作表" in summary_text


def test_safe_text_and_sheet_names():
    assert safe_text("=1+2") == "=1+2"                     # as written: the cell format quotes it
    assert safe_text("ok\x00\x07text") == "oktext"
    assert safe_text("－5") == "－5"
    assert needs_quote_prefix("=1+2") and needs_quote_prefix("－5") and needs_quote_prefix("\tx")
    assert not needs_quote_prefix("5-") and not needs_quote_prefix("")
    taken: set[str] = set()
    assert safe_sheet_name("a/b:c*d?e[f]g\\h", taken) == "a_b_c_d_e_f_g_h"
    long = "很长的工作表名称" * 5
    first, second = safe_sheet_name(long, taken), safe_sheet_name(long, taken)
    assert len(first) == 31 and len(second) == 31 and first != second


def test_export_without_classify_says_what_to_run(tmp_path):
    (tmp_path / "data" / "raw" / "2023").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "2023" / "用地.csv").write_text("地块编码,镇街\n", encoding="utf-8")
    from landaudit.errors import UsageError

    with pytest.raises(UsageError, match="landaudit classify"):
        export(Workspace.at(tmp_path), year=2023)


def test_file_names_from_data_stay_in_their_folder(tmp_path):
    from landaudit.export.filenames import safe_file_stem

    assert safe_file_stem("../../etc/passwd") == "_.._etc_passwd"
    assert safe_file_stem("..") == "未命名"
    assert safe_file_stem("陶朱街道") == "陶朱街道"
    towns = ["../逃逸镇", "陶朱街道"]
    given(tmp_path, [land(i, township=t) for i, t in enumerate(towns)], [])
    result = export(Workspace.at(tmp_path), year=2023, scope="city", by_township=True)
    folder = tmp_path / "data" / "exports" / "2023" / "镇街"
    assert all(p.parent == folder for p in result.township_workbooks)
    assert sorted(p.name for p in result.township_workbooks) == ["_逃逸镇.xlsx", "陶朱街道.xlsx"]


def test_template_out_must_stay_inside_the_workspace(tmp_path):
    from typer.testing import CliRunner

    from landaudit.cli import app

    outside = CliRunner().invoke(app, ["template", "-w", str(tmp_path), "--out", "../elsewhere"])
    assert outside.exit_code == 2 and "工作区" in outside.output
    inside = CliRunner().invoke(app, ["template", "-w", str(tmp_path), "--out", "模板"])
    assert inside.exit_code == 0 and list((tmp_path / "模板").glob("*.xlsx"))
