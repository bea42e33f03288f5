"""Fill-in templates (SPEC §2 `landaudit template`): what a department opens, and the round trip
template → filled in with openpyxl → ingest with zero rejects."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from landaudit.config import load_config
from landaudit.export.templates import (
    INSTRUCTIONS_SHEET,
    OPTIONS_SHEET,
    templates_for,
    write_templates,
)
from landaudit.ingest import ingest
from landaudit.ingest.header import header_key
from landaudit.ingest.normalise import STATUSES, credit_check_char
from landaudit.workspace import Workspace

LAND = "工业用地底数_填报模板.xlsx"
ENTERPRISE = "企业亩均效益_填报模板.xlsx"
ENVIRONMENT = "问题隐患台账_环保_填报模板.xlsx"


@pytest.fixture(scope="module")
def config():
    return load_config(None)


@pytest.fixture(scope="module")
def written(tmp_path_factory, config) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    return {p.name: p for p in write_templates(folder, config)}


def credit_code(body: str) -> str:
    first17 = f"91330681{body}"
    assert len(first17) == 17
    return first17 + credit_check_char(first17)


def validations(ws) -> dict[str, object]:
    """Column letter → the data validation covering row 3 of that column."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:
            assert (cell_range.min_row, cell_range.max_row) == (3, 10002)
            found[openpyxl.utils.get_column_letter(cell_range.min_col)] = dv
    return found


def header_columns(ws) -> dict[str, str]:
    """Header text (marker stripped) → column letter."""
    return {cell.value.lstrip("*"): cell.column_letter for cell in ws[2] if cell.value}


def test_one_template_per_dataset_and_ledger_category(written, config):
    categories = [rule.category for rule in config.settings.ingest.ledger_categories]
    assert list(written) == [LAND, ENTERPRISE] + [f"问题隐患台账_{c}_填报模板.xlsx" for c in categories]


def test_land_template_sheets_header_and_validations(written, config):
    book = openpyxl.load_workbook(written[LAND])
    assert book.sheetnames == ["工业用地底数", INSTRUCTIONS_SHEET, OPTIONS_SHEET]
    assert book[OPTIONS_SHEET].sheet_state == "hidden"
    assert [c.value for c in book[OPTIONS_SHEET]["A"]] == config.settings.county.townships
    ws = book["工业用地底数"]
    assert ws["A1"].value == "工业用地底数填报表（自然资源和规划局）"
    headers = [c.value for c in ws[2]]
    assert headers[:3] == ["*地块编码", "*镇街", "园区"]
    assert "*用地面积（亩）" in headers and "建筑面积（平方米）" in headers
    assert header_key("*用地面积（亩）").base == "用地面积" and header_key("*用地面积（亩）").unit == "亩"
    assert ws.freeze_panes == "A3"
    assert ws.max_row == 2                                   # blank below the header

    columns = header_columns(ws)
    found = validations(ws)
    township = found[columns["镇街"]]
    assert township.type == "list" and township.formula1 == f"'{OPTIONS_SHEET}'!$A$1:$A$24"
    assert found[columns["土地权属"]].formula1 == '"国有,集体"'
    assert found[columns["是否符合土地利用总体规划"]].formula1 == '"是,否"'
    area = found[columns["用地面积（亩）"]]
    assert (area.type, area.operator, area.formula1) == ("decimal", "greaterThan", "0")
    assert area.errorStyle in (None, "stop")                 # absent means stop
    floor = found[columns["建筑面积（平方米）"]]
    assert (floor.operator, floor.formula1, floor.errorStyle) == ("greaterThanOrEqual", "0", "warning")
    assert township.prompt and area.error                   # Chinese input / error messages
    assert ws.column_dimensions[columns["地块编码"]].width >= 19


def test_enterprise_template_header_units_and_text_columns(written):
    ws = openpyxl.load_workbook(written[ENTERPRISE])["企业亩均效益"]
    headers = [c.value for c in ws[2]]
    assert headers[:3] == ["统一社会信用代码", "*企业名称", "所在地块编码"]
    assert "税收（万元）" in headers and "工业增加值（万元）" in headers
    columns = header_columns(ws)
    found = validations(ws)
    assert found[columns["是否规上"]].formula1 == '"是,否"'
    assert found[columns["镇街"]].type == "list"
    # SPEC §14: code columns are text so Excel never turns them into numbers
    for header in ("统一社会信用代码", "所在地块编码"):
        assert ws.column_dimensions[columns[header]].number_format == "@"


def test_ledger_template_category_preset_by_sheet_name(written):
    book = openpyxl.load_workbook(written[ENVIRONMENT])
    assert book.sheetnames == ["环保问题隐患台账", INSTRUCTIONS_SHEET]   # no township column, no 选项
    ws = book["环保问题隐患台账"]
    assert ws["A1"].value == "环保问题隐患台账填报表（生态环境分局）"
    headers = [c.value for c in ws[2]]
    assert "问题类别" not in headers and "隐患编号" in headers and "发现日期" in headers
    columns = header_columns(ws)
    found = validations(ws)
    assert found[columns["隐患等级"]].formula1 == '"一般,较大,重大"'
    assert found[columns["整改状态"]].formula1 == '"' + ",".join(STATUSES) + '"'
    assert found[columns["验收结果"]].formula1 == '"合格,不合格"'
    assert found[columns["发现日期"]].type == "date"
    assert ws.column_dimensions[columns["发现日期"]].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions[columns["隐患编号"]].number_format == "@"
    assert ws.freeze_panes == "A3"


def test_instructions_list_every_column(written, config):
    for name, template in zip(written, templates_for(config), strict=True):
        ws = openpyxl.load_workbook(written[name])[INSTRUCTIONS_SHEET]
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        start = rows.index(["列名", "是否必填", "单位", "填写要求"])
        table = rows[start + 1:]
        assert [r[0] for r in table] == [f.synonyms[0] for f in template.fields]
        assert all(r[1] in ("必填", "选填", "至少填一项") and r[3] for r in table)
        text = "\n".join(str(v) for row in rows for v in row if v)
        assert "合计" in text
    land = {r[0].value: r for r in openpyxl.load_workbook(written[LAND])[INSTRUCTIONS_SHEET].iter_rows() if r[0].value}
    assert land["地块编码"][1].value == "必填" and "19 位" in land["地块编码"][3].value
    assert land["用地面积"][2].value == "亩"


def test_blank_templates_are_recognised_with_zero_rows(written, tmp_path):
    raw = tmp_path / "data" / "raw" / "2023"
    raw.mkdir(parents=True)
    for path in written.values():
        shutil.copy(path, raw / path.name)
    result = ingest(Workspace.at(tmp_path), year=2023)
    data = [e for e in result.entries if e.sheet not in (INSTRUCTIONS_SHEET, OPTIONS_SHEET)]
    assert len(data) == len(written)
    for entry in data:
        assert entry.error is None and entry.dataset and entry.header_row == 2
        assert (entry.rows_total, entry.rows_accepted, entry.unmapped_columns) == (0, 0, [])
    assert {e.category for e in data if e.dataset == "ledger"} == {
        r.category for r in load_config(None).settings.ingest.ledger_categories}
    # 填报说明 and 选项 are not data: never recognised as a dataset (how they are reported is ingest's call)
    assert all(e.dataset is None for e in result.entries if e not in data)


def fill(path: Path, rows: list[list]) -> None:
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    for r, values in enumerate(rows, start=3):
        for c, value in enumerate(values, start=1):
            ws.cell(r, c, value)
    book.save(path)


def by_header(path: Path, values: dict[str, object]) -> list:
    """A row in the template's column order from {header without *: value}."""
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    headers = [c.value.lstrip("*") for c in next(ws.iter_rows(min_row=2, max_row=2))]
    assert set(values) <= set(headers), set(values) - set(headers)
    return [values.get(h) for h in headers]


def test_filled_templates_ingest_with_zero_rejects(written, config, tmp_path):
    raw = tmp_path / "data" / "raw" / "2023"
    raw.mkdir(parents=True)
    towns = config.settings.county.townships
    codes = ["330681001002GB00012", "330681001002GB00013", "330681003001JC00021"]
    credits = [credit_code(body) for body in ("MA2BCDEF1", "MA2BCDEF2", "7045678XX")]

    land = shutil.copy(written[LAND], raw / LAND)
    fill(land, [
        by_header(land, {"地块编码": codes[0], "镇街": towns[2], "园区": "诸暨经济开发区", "权利人": "浙江甲机械有限公司",
                         "权利人统一社会信用代码": credits[0], "用地面积（亩）": 25.5, "土地权属": "国有",
                         "是否符合土地利用总体规划": "是", "是否有合法用地手续": "是", "建筑面积（平方米）": 12000,
                         "容积率": 0.71, "建成年份": 1998, "管理松散": "否"}),
        by_header(land, {"地块编码": codes[1], "镇街": towns[0], "用地面积（亩）": 8.25, "土地权属": "国有",
                         "是否符合土地利用总体规划": "否"}),
        by_header(land, {"地块编码": codes[2], "镇街": towns[5], "用地面积（亩）": 3, "土地权属": "集体",
                         "所属村集体": "某某村", "建筑质量": "差"}),
    ])
    enterprise = shutil.copy(written[ENTERPRISE], raw / ENTERPRISE)
    fill(enterprise, [
        by_header(enterprise, {"统一社会信用代码": credits[0], "企业名称": "浙江甲机械有限公司", "所在地块编码": codes[0],
                               "镇街": towns[2], "是否规上": "是", "税收（万元）": 320.5, "工业增加值（万元）": 1500,
                               "营业收入（万元）": 8000, "从业人员": 120}),
        by_header(enterprise, {"统一社会信用代码": credits[1], "企业名称": "诸暨乙纺织有限公司",
                               "所在地块编码": f"{codes[1]}、{codes[2]}", "镇街": towns[0], "是否规上": "否",
                               "税收（万元）": 12}),
        by_header(enterprise, {"统一社会信用代码": credits[2], "企业名称": "诸暨丙五金厂", "所在地块编码": codes[2],
                               "税收（万元）": 0.8}),
    ])
    ledger = shutil.copy(written[ENVIRONMENT], raw / ENVIRONMENT)
    fill(ledger, [
        by_header(ledger, {"隐患编号": "HB-2023-001", "地块编码": codes[0], "企业名称": "浙江甲机械有限公司",
                           "问题描述": "废气未经处理直排", "隐患等级": "较大", "发现日期": datetime(2023, 5, 1),
                           "整改期限": datetime(2023, 8, 31), "整改状态": "整改中"}),
        by_header(ledger, {"隐患编号": "HB-2023-002", "统一社会信用代码": credits[1], "问题描述": "危废贮存不规范",
                           "隐患等级": "一般", "发现日期": datetime(2023, 3, 15), "整改状态": "已销号",
                           "销号日期": datetime(2023, 4, 20), "验收结果": "合格"}),
        by_header(ledger, {"企业名称": "诸暨丙五金厂", "问题描述": "酸洗废水渗漏", "隐患等级": "重大",
                           "发现日期": datetime(2023, 6, 2), "整改状态": "未整改"}),
    ])

    workspace = Workspace.at(tmp_path)
    result = ingest(workspace, year=2023)
    data = [e for e in result.entries if e.dataset]
    assert sorted(e.dataset for e in data) == ["enterprise", "land", "ledger"]
    for entry in data:
        assert (entry.rows_accepted, entry.rows_rejected, entry.rows_skipped) == (3, 0, 0), entry.path
    assert result.findings == []                # no rejects, warnings, 待核实 or unreadable sheets
    assert result.totals["errors"] == 0         # so `ingest --strict` passes on a filled template
    notes = {(e.sheet, e.error["code"]) for e in result.entries if e.error}
    assert notes <= {(INSTRUCTIONS_SHEET, "sheet_not_data"), (OPTIONS_SHEET, "sheet_not_data")}

    folder = workspace.processed_year(2023)
    land_rows = pq.read_table(folder / "land.parquet").to_pylist()
    assert [(r["parcel_code"], r["township"], r["area_mu"], r["ownership"]) for r in land_rows] == [
        (codes[0], towns[2], 25.5, "国有"), (codes[1], towns[0], 8.25, "国有"), (codes[2], towns[5], 3.0, "集体")]
    assert land_rows[0]["floor_area_m2"] == 12000 and land_rows[0]["building_year"] == 1998
    assert land_rows[0]["right_holder_credit_code_valid"] is True and land_rows[0]["conforms_to_plan"] is True

    enterprises = pq.read_table(folder / "enterprise.parquet").to_pylist()
    assert [(r["credit_code"], r["tax"], r["above_scale"]) for r in enterprises] == [
        (credits[0], 320.5, True), (credits[1], 12.0, False), (credits[2], 0.8, None)]
    assert enterprises[1]["parcel_codes"] == [codes[1], codes[2]]
    assert all(r["credit_code_valid"] for r in enterprises)

    items = pq.read_table(folder / "ledger.parquet").to_pylist()
    assert {r["category"] for r in items} == {"环保"}
    assert [(r["item_id"], r["severity"], r["status"], r["found_date"]) for r in items[:2]] == [
        ("HB-2023-001", "较大", "整改中", date(2023, 5, 1)), ("HB-2023-002", "一般", "已销号", date(2023, 3, 15))]
    assert items[1]["acceptance"] == "合格" and items[2]["item_id_generated"] is True


def test_category_column_kept_when_names_do_not_lead_to_the_category(config, tmp_path):
    from landaudit.config import LedgerCategoryRule

    # SPEC §3 rev. 2: the template of 其他 names both 其他 and 他 (two own names tie), so its sheet
    # name decides nothing and the 问题类别 column stays
    rules = [LedgerCategoryRule(category="其他", keywords=["其它"]), LedgerCategoryRule(category="他", keywords=["它"])]
    ingest_settings = config.settings.ingest.model_copy(update={"ledger_categories": rules})
    custom = config.model_copy(update={"settings": config.settings.model_copy(update={"ingest": ingest_settings})})
    paths = [p for p in write_templates(tmp_path, custom) if "台账" in p.name and "其他" in p.name]
    assert len(paths) == 1
    ws = openpyxl.load_workbook(paths[0]).worksheets[0]
    columns = header_columns(ws)
    assert "问题类别" in columns
    assert validations(ws)[columns["问题类别"]].formula1 == '"其他"'


def test_templates_are_byte_identical_on_rewrite(written, config, tmp_path):
    again = write_templates(tmp_path, config)
    assert [p.name for p in again] == list(written)
    for path in again:
        assert path.read_bytes() == written[path.name].read_bytes(), path.name
