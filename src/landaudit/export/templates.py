"""Blank fill-in templates per department (SPEC §2 `landaudit template`, §3 datasets, §4 rules).

Each template is built from configs/datasets.toml, so it is exactly what ingest understands: the
header is every field's first synonym with the column's default unit (`用地面积（亩）`), required
columns are marked with a leading * (ingest strips it). Dropdowns and checks steer towards the
canonical form and refuse it otherwise ("stop"); where ingest keeps an odd value for checking (a
township off the list, an amount below 0) the check only warns. Ledger templates are one per configured category; the category is carried by the
sheet and file name, which ingest reads through the category keywords (SPEC §3).

Bytes are deterministic: fixed document properties, and xlsxwriter writes fixed zip timestamps.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path

from landaudit.config import Config, DatasetSpec, FieldSpec
from landaudit.export.cells import (
    WORKBOOK_OPTIONS,
    column_width,
    display_width,
    safe_sheet_name,
    safe_text,
)
from landaudit.ingest.normalise import DATE_MAX, DATE_MIN, SEVERITIES, STATUSES, credit_check_char
from landaudit.ingest.rows import ledger_category_from_names
from landaudit.workspace import atomic_write

CREATED = datetime(2024, 1, 1, 9, 0, 0)      # fixed: identical bytes on every run
INPUT_ROWS = 10_000                          # rows below the header that carry validations
TITLE_ROW, HEADER_ROW, FIRST_INPUT_ROW = 0, 1, 2
REQUIRED_MARK = "*"
INSTRUCTIONS_SHEET = "填报说明"
OPTIONS_SHEET = "选项"

CHOICES: dict[str, tuple[str, ...]] = {
    "bool": ("是", "否"),
    "ownership": ("国有", "集体"),
    "severity": SEVERITIES,
    "status": STATUSES,
    "acceptance": ("合格", "不合格"),
}
_TEXT_TYPES = frozenset({"text", "name", "township", "parcel_code", "parcel_codes", "credit_code",
                         "category", "ownership", "severity", "status", "acceptance"})
_ROW_MEANING = {"land": "每行填写一个工业用地地块（宗地）", "enterprise": "每行填写一家企业",
                "ledger": "每行填写一个问题或隐患"}
CREDIT_SAMPLE = "91330681MA2BCDEF1" + credit_check_char("91330681MA2BCDEF1")
_WIDTH_SAMPLES = {
    "parcel_code": "330681001002GB00012", "parcel_codes": "330681001002GB00012、330681001002GB00013",
    "credit_code": CREDIT_SAMPLE, "date": "2023-05-01", "name": "诸暨市某某机械有限公司",
    "description": "废气收集处理设施未正常运行，车间无组织排放",  # free text: by field name
    "location": "诸暨市某某街道某某路 123 号", "exempt_reason": "新建投产未满一年",
}
_NUMERALS = "一二三四五六七八九十"
_REQUIREMENT_WIDTH = 64
_FILE_NAME_ILLEGAL = re.compile(r'[\\/:*?"<>|\s]')


class Template:
    """One template: its dataset, the fields it shows and the names it goes by."""

    def __init__(self, kind: str, spec: DatasetSpec, config: Config, category: str | None = None):
        self.kind, self.spec, self.category = kind, spec, category
        fields = [f for f in spec.fields if f.type != "category"]
        name = f"{category}{spec.title}" if category else spec.title
        self.file_name = _file_name(f"{spec.title}_{category}" if category else spec.title)
        self.sheet = safe_sheet_name(name)
        if category and ledger_category_from_names(f"{self.file_name}/{self.sheet}", config) != category:
            # the names do not lead ingest to this category (keywords of another rule come first):
            # keep the 问题类别 column and offer only this category
            fields = list(spec.fields)
        self.fields = fields
        # SPEC §3: who keeps each ledger, from [export.category_departments]
        departments = config.settings.export.category_departments
        department = departments.get(category, "") if category else spec.department
        self.department = department
        self.title = f"{name}填报表" + (f"（{department}）" if department else "")


def _file_name(stem: str) -> str:
    return _FILE_NAME_ILLEGAL.sub("_", stem) + "_填报模板.xlsx"


def templates_for(config: Config) -> list[Template]:
    specs = config.dataset_specs
    templates = [Template("land", specs["land"], config), Template("enterprise", specs["enterprise"], config)]
    for rule in config.settings.ingest.ledger_categories:
        templates.append(Template("ledger", specs["ledger"], config, rule.category))
    return templates


def write_templates(folder: Path, config: Config) -> list[Path]:
    """Write every department's blank template into `folder`; return the paths in a fixed order."""
    paths = []
    for template in templates_for(config):
        path = folder / template.file_name
        atomic_write(path, lambda tmp, t=template: _write_workbook(tmp, t, config))
        paths.append(path)
    return paths


def header_text(spec_field: FieldSpec, *, required: bool) -> str:
    """First synonym, the default unit in full-width brackets, * when required: ingest maps it back."""
    text = spec_field.synonyms[0]
    if spec_field.unit_kind and spec_field.unit:
        text += f"（{spec_field.unit}）"
    return REQUIRED_MARK + text if required else text


class _Formats:
    def __init__(self, book):
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
        header = {**base, "bold": True, "border": 1, "text_wrap": True, "align": "center"}
        self.title = book.add_format({**base, "bold": True, "font_size": 14})
        self.header = book.add_format({**header, "bg_color": "#DDEBF7"})
        self.required = book.add_format({**header, "bg_color": "#FCE4D6", "font_color": "#C00000"})
        self.one_of = book.add_format({**header, "bg_color": "#FFF2CC", "font_color": "#C00000"})
        self.text = book.add_format({**base, "num_format": "@"})
        self.date = book.add_format({**base, "num_format": "yyyy-mm-dd"})
        self.number = book.add_format({**base, "num_format": "General"})
        self.plain = book.add_format(base)
        self.wrap = book.add_format({**base, "text_wrap": True})


def _write_workbook(path: Path, template: Template, config: Config) -> None:
    import xlsxwriter  # heavy import kept local: the CLI imports export lazily too

    book = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    book.set_properties({"title": template.title, "author": "landaudit", "created": CREATED,
                         "comments": "landaudit template 生成的填报模板"})
    formats = _Formats(book)
    data = book.add_worksheet(template.sheet)
    instructions = book.add_worksheet(INSTRUCTIONS_SHEET)
    townships = config.settings.county.townships
    township_source = None
    if townships and any(f.type == "township" for f in template.fields):
        # a list source is limited to 255 characters; a range on a hidden sheet is not
        options = book.add_worksheet(OPTIONS_SHEET)
        for row, name in enumerate(townships):
            options.write_string(row, 0, safe_text(name), formats.plain)
        options.hide()
        township_source = f"='{OPTIONS_SHEET}'!$A$1:$A${len(townships)}"
    _write_data_sheet(data, template, formats, township_source)
    _write_instructions(instructions, template, formats, config)
    data.activate()
    book.close()


def _write_data_sheet(ws, template: Template, formats: _Formats, township_source: str | None) -> None:
    ws.set_row(TITLE_ROW, 28)
    ws.set_row(HEADER_ROW, 32)
    ws.write_string(TITLE_ROW, 0, safe_text(template.title), formats.title)
    one_of = set(template.spec.required_any)
    for col, spec_field in enumerate(template.fields):
        header = header_text(spec_field, required=spec_field.required)
        header_format = (formats.required if spec_field.required
                         else formats.one_of if spec_field.name in one_of else formats.header)
        ws.write_string(HEADER_ROW, col, safe_text(header), header_format)
        sample = _WIDTH_SAMPLES.get(spec_field.name) or _WIDTH_SAMPLES.get(spec_field.type, "")
        ws.set_column(col, col, column_width(header, [sample], minimum=10), _column_format(spec_field, formats))
        validation = _validation(spec_field, template, township_source)
        if validation:
            ws.data_validation(FIRST_INPUT_ROW, col, FIRST_INPUT_ROW + INPUT_ROWS - 1, col, validation)
    ws.freeze_panes(FIRST_INPUT_ROW, 0)
    ws.set_selection(FIRST_INPUT_ROW, 0, FIRST_INPUT_ROW, 0)
    ws.set_landscape()
    ws.repeat_rows(TITLE_ROW, HEADER_ROW)


def _column_format(spec_field: FieldSpec, formats: _Formats):
    # SPEC §14: codes typed into a General cell become numbers and lose digits past 15
    if spec_field.type in _TEXT_TYPES or spec_field.name == "item_id":
        return formats.text
    if spec_field.type == "date":
        return formats.date
    return formats.number


def _validation(spec_field: FieldSpec, template: Template, township_source: str | None) -> dict | None:
    label = spec_field.synonyms[0]
    kind = spec_field.type
    if kind in CHOICES or kind == "category":
        choices = CHOICES.get(kind) or (template.category,)
        return _dropdown(label, list(choices), "stop")
    if kind == "township" and township_source:
        # ingest keeps an unknown township for checking, so a name off the list only warns
        return {"validate": "list", "source": township_source, "input_title": label,
                "input_message": "请从下拉列表选择镇街全称", "error_type": "warning",
                "error_title": "镇街不在名单中", "error_message": "请从下拉列表选择本市镇街全称。"}
    if kind == "number":
        unit = f"，单位：{spec_field.unit}" if spec_field.unit_kind and spec_field.unit else ""
        if spec_field.positive:   # ingest rejects ≤ 0 (SPEC §3: area > 0)
            return {"validate": "decimal", "criteria": ">", "value": 0, "input_title": label,
                    "input_message": f"填写大于 0 的数字{unit}", "error_type": "stop",
                    "error_title": "须为大于 0 的数字", "error_message": f"“{label}”须为大于 0 的数字{unit}。"}
        return {"validate": "decimal", "criteria": ">=", "value": 0, "input_title": label,
                "input_message": f"填写数字{unit}", "error_type": "warning",
                "error_title": "请核对数值", "error_message": f"“{label}”应为不小于 0 的数字{unit}，确认无误可继续。"}
    if kind == "year":
        return {"validate": "integer", "criteria": "between", "minimum": 1800, "maximum": 2100,
                "input_title": label, "input_message": "填写四位年份，如 1998", "error_type": "stop",
                "error_title": "年份无效", "error_message": "请填写四位年份，如 1998。"}
    if kind == "date":
        return {"validate": "date", "criteria": "between", "minimum": _as_datetime(DATE_MIN),
                "maximum": _as_datetime(DATE_MAX), "input_title": label,
                "input_message": "填写日期，如 2023-05-01", "error_type": "stop", "error_title": "日期无效",
                "error_message": "请填写 1949-10-01 至 2100-12-31 之间的日期，如 2023-05-01。"}
    return None


def _dropdown(label: str, choices: list[str], error_type: str) -> dict:
    listed = "、".join(choices)
    return {"validate": "list", "source": choices, "input_title": label,
            "input_message": f"请从下拉列表选择：{listed}", "error_type": error_type,
            "error_title": "请从下拉列表选择", "error_message": f"“{label}”只能填写：{listed}。"}


def _as_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


# ---------------------------------------------------------------- 填报说明


def _write_instructions(ws, template: Template, formats: _Formats, config: Config) -> None:
    spec = template.spec
    county = config.settings.county
    notes = [
        f"本表为“{template.title}”，{_ROW_MEANING.get(template.kind, '每行填写一条记录')}。",
        f"填报单位：{template.department or '相关部门'}。请在工作表“{template.sheet}”第 3 行起逐行填写，"
        "不要修改、删除或移动第 2 行的表头，也不要在表头上方插入行。",
        "表头带 * 的列为必填；有下拉箭头的列请从下拉列表中选择；编码列已设为文本格式，请勿改为数值格式，"
        "否则超过 15 位的编码会被 Excel 截断。",
        "表格下方可以保留“合计”行和“填表人、审核人、注：”等备注行，系统会自动跳过，不计入数据。",
    ]
    if spec.required_any:
        keys = "、".join(spec.field(n).synonyms[0] for n in spec.required_any)
        notes.append(f"{keys}至少填写一项，否则无法关联到地块。")
    if template.category:
        notes.append(f"本表的问题类别为“{template.category}”，由工作表名称确定，请勿修改工作表名称和文件名；"
                     "其他类别的问题请使用对应类别的模板。")

    table = [("列名", "是否必填", "单位", "填写要求")]
    one_of = set(spec.required_any)
    for spec_field in template.fields:
        required = "必填" if spec_field.required else "至少填一项" if spec_field.name in one_of else "选填"
        unit = spec_field.unit if spec_field.unit_kind and spec_field.unit else ""
        table.append((spec_field.synonyms[0], required, unit, requirement(spec_field, template, county)))
    widths = [column_width(h, [r[i] for r in table[1:]], minimum=10) for i, h in enumerate(table[0][:3])]
    widths.append(_REQUIREMENT_WIDTH)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)

    ws.write_string(0, 0, safe_text(f"{INSTRUCTIONS_SHEET}：{template.title}"), formats.title)
    ws.set_row(0, 28)
    row = 2
    for number, note in zip(_NUMERALS, notes, strict=False):
        # merged cells do not grow with their text: size the row for the wrapped lines
        text = safe_text(f"{number}、{note}")
        ws.merge_range(row, 0, row, len(widths) - 1, "", formats.wrap)
        ws.write_string(row, 0, text, formats.wrap)
        ws.set_row(row, 14 * math.ceil(display_width(text) / (sum(widths) - 2)))
        row += 1
    row += 1
    for offset, values in enumerate(table):
        for col, value in enumerate(values):
            cell_format = formats.header if offset == 0 else formats.wrap
            ws.write_string(row + offset, col, safe_text(value), cell_format)
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def requirement(spec_field: FieldSpec, template: Template, county) -> str:
    """What to write in a column, in the department's words (SPEC §3–§4)."""
    kind = spec_field.type
    if spec_field.name == "item_id":
        return "本部门台账中的问题编号；没有编号可留空，系统自动生成"
    if kind == "number":
        unit = f"以{spec_field.unit}为单位，" if spec_field.unit_kind and spec_field.unit else ""
        sign = "须大于 0" if spec_field.positive else "不小于 0"
        return f"填写数字，{unit}{sign}，不要带文字；空缺留空"
    sample = f"{county.code}001002GB00012"
    return {
        "parcel_code": f"19 位宗地代码（如 {sample}），或 28 位不动产单元号（系统取前 19 位）",
        "parcel_codes": f"企业所在地块的 19 位宗地代码；多个地块编码用“、”分隔，如 {sample}、{sample[:-1]}3",
        "credit_code": f"18 位统一社会信用代码（GB 32100-2015），字母大写，如 {CREDIT_SAMPLE}",
        "township": (f"从下拉列表选择{county.name}镇街全称，如 {county.townships[0]}" if county.townships
                     else f"填写{county.name}镇街全称"),
        "name": "填写全称，与营业执照或不动产登记一致",
        "year": "四位年份，如 1998",
        "bool": "从下拉列表选择“是”或“否”",
        "date": "日期，写成 2023-05-01",
        "ownership": "选择“国有”或“集体”",
        "severity": "选择 一般、较大、重大（重大事故隐患选“重大”）",
        "status": f"选择 {'、'.join(STATUSES)}",
        "acceptance": "选择“合格”或“不合格”",
        "category": f"填写“{template.category}”" if template.category else "问题类别，如 环保、安全生产、消防",
    }.get(kind, "文字，如实填写")
