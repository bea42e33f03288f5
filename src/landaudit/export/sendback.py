"""Send-back files (SPEC §9): data/exports/<year>/退回/<department>.xlsx with, for each source
department, its unreadable files, rejected rows and 待核实 findings — file, sheet, row, column,
original value and what to fix — ready for the 领导小组办公室 to return for correction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from landaudit.config import Config
from landaudit.export.cells import safe_file_stem
from landaudit.export.lists import INT, Column
from landaudit.export.workbook import ListWorkbook
from landaudit.workspace import Workspace, atomic_write

LEVELS = {"error": "无法读取", "reject": "拒收", "verify": "待核实", "warning": "提示"}
LEVEL_ORDER = {"error": 0, "reject": 1, "verify": 2, "warning": 3}
COLUMNS = (
    Column("处理结果", lambda r: LEVELS.get(r["level"], r["level"])),
    Column("来源文件", "file"), Column("工作表", "sheet"), Column("行号", "row", INT), Column("列", "column"),
    Column("原值", "value"), Column("问题及修改要求", "message"),
)
DATASET_DEPARTMENTS = {"land": "自然资源和规划局", "enterprise": "经信局"}
UNKNOWN_DEPARTMENT = "未分部门"


def department_of(file: str, year: int, *, dataset: str | None, category: str | None, config: Config) -> str:
    """The department folder under data/raw/<year>/, else the dataset's or category's department."""
    prefix = f"data/raw/{year}/"
    rest = file[len(prefix):] if file.startswith(prefix) else file
    if "/" in rest:
        return rest.split("/", 1)[0]
    if dataset in DATASET_DEPARTMENTS:
        return DATASET_DEPARTMENTS[dataset]
    if category:
        return config.settings.export.category_departments.get(category, UNKNOWN_DEPARTMENT)
    return UNKNOWN_DEPARTMENT


def sendback_rows(data, config: Config) -> dict[str, list[dict]]:
    categories = {(i["source_file"], i["source_sheet"], i["source_row"]): i["category"] for i in data.items}
    rows = [*data.rejects, *data.quality]
    rows += [{"level": "verify", "file": u["source_file"], "sheet": u["source_sheet"], "row": u["source_row"],
              "column": None, "value": u["parcel_code"] or u["name"], "message": u["reason"],
              "dataset": u["dataset"], "reason_code": "unlinked"} for u in data.unlinked]
    by_department: dict[str, list[dict]] = {}
    for r in rows:
        category = categories.get((r["file"], r["sheet"], r["row"]))
        department = department_of(r["file"], data.year, dataset=r.get("dataset"), category=category, config=config)
        by_department.setdefault(department, []).append(r)
    for department_rows in by_department.values():
        department_rows.sort(key=lambda r: (r["file"], r["sheet"] or "", r["row"] or 0, LEVEL_ORDER.get(r["level"], 9)))
    return by_department


def write_sendback(workspace: Workspace, data, config: Config, folder: Path) -> list[Path]:
    county = config.settings.county.name
    written = []
    created = datetime(data.year, 12, 31)
    for department, rows in sorted(sendback_rows(data, config).items()):
        path = folder / f"{safe_file_stem(department)}.xlsx"

        def build(tmp: Path, department=department, rows=rows) -> None:
            workbook = ListWorkbook(tmp, created=created, title=f"{county}{data.year}年数据退回清单（{department}）")
            title = (f"{county}{data.year}年数据退回清单 — {department}：请按“问题及修改要求”更正后重新报送"
                     f"（拒收 {sum(r['level'] == 'reject' for r in rows)} 条，"
                     f"待核实 {sum(r['level'] == 'verify' for r in rows)} 条）")
            workbook.add_list("退回清单", title, COLUMNS, rows)
            workbook.close()

        written.append(atomic_write(path, build))
    return written
