"""Problems are data (STYLE.md, after frictionless): one Finding per file × sheet × row × column ×
rule, with the spreadsheet's own 1-based row number, and a registry of codes with their Chinese
message templates. The CLI renders findings as tables, JSON or send-back workbooks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

# Levels: a rejected row; a warning (row kept, value nulled or flagged); 待核实 (kept, a human must
# check); a file or sheet that could not be read at all.
REJECT, WARNING, VERIFY, ERROR = "reject", "warning", "verify", "error"
# File/sheet codes that are reported but are not problems: no error count, no send-back line.
NOT_PROBLEMS = frozenset({"sheet_empty", "temp_file", "sheet_not_data"})

# code → Chinese message template; {column}, {value}, {detail} are filled in.
FINDING_CODES: dict[str, str] = {
    # files and sheets
    "file_empty": "文件为空（0 字节），请重新导出后提交",
    "file_too_large": "文件大小 {detail}，超过配置上限，未读取；请拆分后提交或调整 ingest.max_file_mb",
    "zip_bomb": "文件解压后达 {detail}，超过上限，疑似异常文件，未读取",
    "sheet_too_large": "工作表范围过大（{detail}），疑似异常文件，未读取；请删除多余的行列后重新导出",
    "file_encrypted": "文件受密码保护或已加密，无法读取；请取消密码后另存为 .xlsx 重新提交",
    "file_corrupt": "文件已损坏或不完整，无法打开（{detail}）；请重新导出",
    "file_unreadable": "无法打开文件（{detail}）：请检查文件权限",
    "not_spreadsheet": "不是电子表格文件（实际格式：{detail}），未读取",
    "read_crashed": "读取时程序崩溃（{detail}），文件可能已损坏或过于复杂：请重新导出后报送",
    "read_timeout": "读取超时（{detail}），文件可能已损坏或过于复杂：请重新导出后报送",
    "read_out_of_memory": "读取时内存超限（{detail}），文件可能已损坏或过于复杂：请重新导出后报送",
    "line_too_long": "文件中有一行长达 {detail}，超过上限（ingest.max_line_kb），疑似异常文件，未读取",
    "decode_failed": "无法识别文本编码，请另存为 UTF-8 或 GBK 编码的 CSV，或用 --encoding 指定",
    "unknown_dataset": "未能识别为任何部门数据集：表头中找不到 {detail}；请使用标准模板表头（landaudit template）",
    "sheet_empty": "工作表为空",
    "temp_file": "Office 临时文件或系统文件，已跳过",
    "sheet_not_data": "填报说明或选项工作表，不含数据，已跳过",
    "ledger_category_unknown": "无法确定本表的问题类别：没有“问题类别”列，工作表名、文件名和部门文件夹也不能确定类别{detail}；各条暂记为“未定”，不计入任何治理清单，请补充“问题类别”列",
    # rows: rejects when the field is required, warnings otherwise
    "missing_required": "“{column}”为必填项，不能为空",
    "missing_keys": "地块编码、统一社会信用代码、企业名称至少填写一项，否则无法关联到地块",
    "invalid_number": "“{column}”的值“{value}”不是有效数字，请填写数字（可带单位）",
    "nonpositive": "“{column}”必须大于 0，实际为“{value}”",
    "number_out_of_range": "“{column}”的值“{value}”大得不合常理（超过一万亿），请核对单位和数值",
    "invalid_date": "“{column}”的值“{value}”不是有效日期，请写成 2023-05-01 这样的格式",
    "date_out_of_range": "“{column}”的日期“{value}”超出合理范围（1949-10-01 至 2100-12-31）",
    "invalid_year": "“{column}”的值“{value}”不是有效年份，请写四位年份，如 1998",
    "invalid_bool": "“{column}”的值“{value}”无法识别为是/否，请填写“是”或“否”",
    "invalid_choice": "“{column}”的值“{value}”不在可选范围内（{detail}）",
    "invalid_code": "“{column}”的值“{value}”不是有效编码",
    "code_stored_as_number": "“{column}”以数字格式存储（{value}），超过 15 位的编码已被 Excel 截断；请将该列设为文本格式后重新填写",
    "duplicate_conflict": "与 {detail} 的关键字段相同但内容不同，已保留先出现的一行，本行请核实后更正",
    # 待核实 findings on kept rows
    "credit_code_invalid": "统一社会信用代码“{value}”长度或校验位不正确（GB 32100-2015），已保留，请核实",
    "parcel_code_nonstandard": "地块编码“{value}”不符合宗地代码规则（县级代码 {detail} + 地籍区 + 地籍子区 + 特征码 + 顺序号，共 19 位），已保留，请核实",
    "ownership_conflict": "土地权属为“{value}”，但宗地代码特征码表示{detail}，请核实",
    "township_unknown": "镇街“{value}”不在配置的镇街名单中，已按原文保留，请核实",
    "enterprise_unlocatable": "企业既无统一社会信用代码也无地块编码，只能按名称关联，请补充",
    "ledger_category_undecided": "无法确定问题类别：{detail}；本条暂记为“未定”，不计入任何治理清单，请填写明确的问题类别后重新报送",
    "status_blank_with_closed_date": "整改状态为空，但填了销号日期 {value}；只凭日期不能算已销号，已按未整改从严处理，请补填整改状态（如“已销号”）",
    "status_unrecognised": "“{column}”的值“{value}”{detail}，已按未整改（未销号）从严处理；请改为已整改、已销号、整改中、未整改、整改不合格等标准写法，或在 configs/landaudit.toml 的 [ingest.statuses] 中补充该词",
}


# code → short Chinese title, for summaries (top reasons, send-back sheets).
FINDING_TITLES: dict[str, str] = {
    "file_empty": "空文件", "file_too_large": "文件过大", "zip_bomb": "解压后过大", "sheet_too_large": "工作表范围过大", "file_encrypted": "文件加密",
    "file_corrupt": "文件损坏", "file_unreadable": "无法打开", "not_spreadsheet": "不是电子表格", "read_crashed": "读取崩溃", "read_timeout": "读取超时",
    "read_out_of_memory": "读取内存超限", "line_too_long": "行过长", "decode_failed": "编码无法识别",
    "unknown_dataset": "无法识别数据集", "sheet_empty": "空工作表", "temp_file": "临时文件", "sheet_not_data": "说明工作表",
    "ledger_category_unknown": "问题类别不明", "missing_required": "必填项为空", "missing_keys": "缺少关联字段",
    "invalid_number": "数字无效", "nonpositive": "数值须大于 0", "number_out_of_range": "数值超出范围", "invalid_date": "日期无效",
    "date_out_of_range": "日期超出范围", "invalid_year": "年份无效", "invalid_bool": "是/否无法识别",
    "invalid_choice": "取值不在可选范围", "invalid_code": "编码无效", "code_stored_as_number": "编码被存为数字",
    "duplicate_conflict": "重复且内容冲突", "credit_code_invalid": "信用代码校验错误",
    "parcel_code_nonstandard": "地块编码不规范", "ownership_conflict": "权属与特征码矛盾",
    "township_unknown": "镇街名称不明", "enterprise_unlocatable": "企业无法定位",
    "ledger_category_undecided": "问题类别未定", "status_unrecognised": "整改状态无法识别", "status_blank_with_closed_date": "有销号日期无整改状态",
}
assert set(FINDING_TITLES) == set(FINDING_CODES)


@dataclass(frozen=True, slots=True)
class Finding:
    level: str
    code: str
    message: str
    file: str
    sheet: str | None = None
    row: int | None = None           # 1-based Excel row number, header included
    column: str | None = None        # the source header as written
    value: str | None = None         # the original cell text
    dataset: str | None = None
    key: str | None = None           # the row's 地块编码 / 企业名称 / 隐患编号 as written (SPEC §9 rev. 2)

    def to_dict(self) -> dict:
        return asdict(self)


def make_finding(level: str, code: str, *, file: str, sheet: str | None = None,
                 row: int | None = None, column: str | None = None, value: object = None,
                 detail: str = "", dataset: str | None = None, key: str | None = None) -> Finding:
    text = None if value is None else str(value)
    message = FINDING_CODES[code].format(column=column or "", value=text or "", detail=detail)
    return Finding(level, code, message, file, sheet, row, column, text, dataset, key)


FINDINGS_SCHEMA = pa.schema([
    ("file", pa.string()), ("sheet", pa.string()), ("row", pa.int64()), ("column", pa.string()),
    ("value", pa.string()), ("reason_code", pa.string()), ("message", pa.string()),
    ("level", pa.string()), ("dataset", pa.string()), ("key", pa.string()),
])


def findings_table(findings: list[Finding]) -> pa.Table:
    """rejects.parquet / quality.parquet layout (SPEC §2): file, sheet, row, column, value,
    reason_code, message, plus level, dataset and the row's key."""
    columns = {name: [] for name in FINDINGS_SCHEMA.names}
    for f in findings:
        columns["file"].append(f.file)
        columns["sheet"].append(f.sheet)
        columns["row"].append(f.row)
        columns["column"].append(f.column)
        columns["value"].append(f.value)
        columns["reason_code"].append(f.code)
        columns["message"].append(f.message)
        columns["level"].append(f.level)
        columns["dataset"].append(f.dataset)
        columns["key"].append(f.key)
    return pa.table(columns, schema=FINDINGS_SCHEMA)
