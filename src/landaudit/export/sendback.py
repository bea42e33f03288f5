"""Send-back files (SPEC §9): data/exports/<year>/退回/<department>.xlsx with, for each source
department, its unreadable files, rejected rows and 待核实 findings — file, sheet, row, the row's key,
column, original value and what to fix — ready for the 领导小组办公室 to return for correction.

A row goes to the department that sent the file (SPEC §9 rev. 2), whether the row was accepted or
rejected: the department folder the file sits in under data/raw/<year>/, else the dataset's
department, else the department of the ledger category the file's sheet and file names point to.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path, PurePosixPath

from landaudit.config import Config
from landaudit.export.filenames import file_stems
from landaudit.export.lists import INT, Column
from landaudit.export.workbook import ListWorkbook
from landaudit.ingest.category import CategoryRules, sheet_levels

LEVELS = {"error": "无法读取", "reject": "拒收", "verify": "待核实", "warning": "提示"}
LEVEL_ORDER = {"error": 0, "reject": 1, "verify": 2, "warning": 3}
COLUMNS = (
    Column("处理结果", lambda r: LEVELS.get(r["level"], r["level"])),
    Column("来源文件", "file"), Column("工作表", "sheet"), Column("行号", "row", INT),
    Column("地块编码/企业名称/隐患编号", "key"), Column("列", "column"),
    Column("原值", "value"), Column("问题及修改要求", "message"),
)
DATASET_DEPARTMENTS = {"land": "自然资源和规划局", "enterprise": "经信局"}
UNKNOWN_DEPARTMENT = "未分部门"


class DepartmentRouter:
    """The department of a source file (and sheet), as SPEC §9 rev. 2 orders the hints."""

    def __init__(self, config: Config, year: int):
        self.year = year
        self.rules = CategoryRules(config)
        ingest, export = config.settings.ingest, config.settings.export
        self.of_category = {**export.category_departments,
                            **{r.category: r.department for r in ingest.ledger_categories if r.department}}
        self._memo: dict[tuple, str] = {}

    def folder(self, file: str) -> str | None:
        """The first folder below data/raw/<year>/, if the file is inside one."""
        parts = PurePosixPath(file).parts
        if len(parts) > 4 and parts[:3] == ("data", "raw", str(self.year)):
            return parts[3]
        return None

    def department(self, file: str, sheet: str | None, *, dataset: str | None, category: str | None) -> str:
        memo_key = (file, sheet, dataset, category)
        if memo_key not in self._memo:
            self._memo[memo_key] = self._department(file, sheet, dataset, category)
        return self._memo[memo_key]

    def _department(self, file: str, sheet: str | None, dataset: str | None, category: str | None) -> str:
        folder = self.folder(file)
        if folder:
            return folder
        if dataset in DATASET_DEPARTMENTS:
            return DATASET_DEPARTMENTS[dataset]
        if dataset in ("ledger", None) and not category:
            # a rejected row has no item: the category its sheet, file and folder names point to
            category = self.rules.resolve(sheet_levels(file, sheet)).category
        return self.of_category.get(category, UNKNOWN_DEPARTMENT) if category else UNKNOWN_DEPARTMENT


def sendback_rows(data, config: Config) -> dict[str, list[dict]]:
    categories = {(i["source_file"], i["source_sheet"], i["source_row"]): i["category"] for i in data.items}
    rows = [*data.rejects, *data.quality]
    rows += [{"level": "verify", "file": u["source_file"], "sheet": u["source_sheet"], "row": u["source_row"],
              "column": None, "value": u["parcel_code"] or u["name"], "message": u["reason"],
              "key": u["parcel_code"] or u["name"] or u["credit_code"] or u.get("item_id"),
              "dataset": u["dataset"], "reason_code": "unlinked"} for u in data.unlinked]
    router = DepartmentRouter(config, data.year)
    by_department: dict[str, list[dict]] = {}
    for r in rows:
        category = categories.get((r["file"], r["sheet"], r["row"]))
        department = router.department(r["file"], r["sheet"], dataset=r.get("dataset"), category=category)
        by_department.setdefault(department, []).append(r)
    for department_rows in by_department.values():
        department_rows.sort(key=lambda r: (r["file"], r["sheet"] or "", r["row"] or 0, LEVEL_ORDER.get(r["level"], 9)))
    return by_department


def write_sendback(data, config: Config, folder: Path) -> list[Path]:
    """One workbook per department into `folder` (export swaps the folder in as a whole)."""
    county = config.settings.county.name
    written = []
    created = datetime(data.year, 12, 31)
    by_department = sendback_rows(data, config)
    stems = file_stems(by_department)
    for department, rows in sorted(by_department.items()):
        path = folder / f"{stems[department]}.xlsx"
        workbook = ListWorkbook(path, created=created, title=f"{county}{data.year}年数据退回清单（{department}）",
                                as_of=data.as_of)
        title = (f"{county}{data.year}年数据退回清单 — {department}：请按“问题及修改要求”更正后重新报送"
                 f"（拒收 {sum(r['level'] == 'reject' for r in rows)} 条，"
                 f"待核实 {sum(r['level'] == 'verify' for r in rows)} 条）")
        workbook.add_list("退回清单", title, COLUMNS, rows)
        workbook.close()
        written.append(path)
    return written
