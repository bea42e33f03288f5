"""`landaudit check FILE…` (issue 13): a department checks its own file before sending it.

The file goes through exactly what ingest does to it — format sniffing, header detection, the
dataset's normalisers and row checks (pipeline.read_files: workbooks in worker processes, so a
hostile file takes only itself), duplicates across the files checked
(pipeline.Deduper) — so check and ingest can never disagree about a row. Nothing is written into a
workspace: the configs come from the workspace when there is one (`-w`, LANDAUDIT_WORKSPACE, or the
current folder), else the built-in defaults. frictionless `validate` is the model: a verdict per
file, then its problems (row, column, value, what to fix).
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from landaudit.config import Config, load_config
from landaudit.errors import UsageError
from landaudit.findings import ERROR, REJECT, Finding
from landaudit.workspace import Workspace, atomic_write

BLOCKING = (REJECT, ERROR)                  # a department must fix these before sending
LEVEL_ORDER = {ERROR: 0, REJECT: 1, "verify": 2, "warning": 3}
COUNT_KEYS = ("rows_total", "rows_accepted", "rows_rejected", "rows_skipped", "errors", "rejects", "verify", "warnings")


def find_workspace(path: Path | None) -> Workspace | None:
    """The workspace whose configs apply: the one named (-w or LANDAUDIT_WORKSPACE), else the current
    folder when it is one (configs/ or data/raw/), else None (the built-in defaults)."""
    named = path or os.environ.get("LANDAUDIT_WORKSPACE")
    if named:
        ws = Workspace.at(named)
        if not ws.root.is_dir():
            raise UsageError(f"工作区文件夹 {named} 不存在")
        return ws
    here = Workspace.at(Path.cwd())
    return here if here.configs.is_dir() or here.raw.is_dir() else None


@dataclass
class FileCheck:
    """One checked file: its sheets as ingest would report them, and every finding on it."""

    path: str                               # as shown: workspace-relative inside one, else as given
    source: Path | None = None              # the file on disk
    entries: list = field(default_factory=list)         # pipeline.SheetEntry
    findings: list[Finding] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return any(e.dataset and not e.error for e in self.entries)

    @property
    def valid(self) -> bool:
        """Nothing rejected, nothing unreadable, and at least one sheet of data."""
        return self.has_data and not any(f.level in BLOCKING for f in self.findings)

    @property
    def counts(self) -> dict[str, int]:
        levels = Counter(f.level for f in self.findings)
        sheets = [e for e in self.entries if not e.error]
        return {
            "rows_total": sum(e.rows_total for e in sheets),
            "rows_accepted": sum(e.rows_accepted for e in sheets),
            "rows_rejected": sum(e.rows_rejected for e in sheets),
            "rows_skipped": sum(e.rows_skipped for e in sheets),
            "errors": levels[ERROR], "rejects": levels[REJECT], "verify": levels["verify"],
            "warnings": levels["warning"],
        }

    def to_dict(self) -> dict:
        return {"path": self.path, "valid": self.valid, "has_data": self.has_data, "counts": self.counts,
                "sheets": [e.to_dict() for e in self.entries], "problems": [f.to_dict() for f in self.findings]}


@dataclass
class CheckResult:
    files: list[FileCheck]
    config: dict[str, str]                  # config file → where it came from (a path or 内置默认)
    workspace: str | None = None
    settings: Config | None = field(default=None, repr=False)     # the configs used (for --xlsx)

    @property
    def valid(self) -> bool:
        return all(f.valid for f in self.files)

    def to_dict(self) -> dict:
        totals = Counter()
        for f in self.files:
            totals.update(f.counts)
        return {"valid": self.valid, "workspace": self.workspace, "config": self.config,
                "totals": {"files": len(self.files), "invalid_files": sum(not f.valid for f in self.files),
                           **{k: totals[k] for k in COUNT_KEYS}},
                "files": [f.to_dict() for f in self.files]}


def _expand(paths: list[Path], skip: list[str]) -> list[Path]:
    """The files to check: each file named, and the files under each folder named (as ingest lists
    a year's folder, office temporary files left out)."""
    from landaudit.ingest.pipeline import list_input_files

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += [p for p in list_input_files(path) if not any(fnmatch.fnmatch(p.name, s) for s in skip)]
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"找不到文件 {path}：请检查路径和文件名")
    return list(dict.fromkeys(files))


def _shown_path(path: Path, workspace: Workspace | None) -> str:
    """Inside the workspace, the path ingest would record (its department folder decides a
    ledger's category as in ingest, SPEC §3 rev. 2); elsewhere the path as given."""
    if workspace is not None:
        absolute = Path(os.path.abspath(path))
        if absolute.is_relative_to(workspace.root):
            return workspace.relative(absolute)
    return Path(os.path.normpath(path)).as_posix()


def check(paths: list[Path], *, workspace: Workspace | None = None, encoding: str | None = None,
          config: Config | None = None) -> CheckResult:
    """Check department files as ingest would read them; write nothing."""
    from landaudit.ingest.pipeline import DATASETS, Deduper, merge_duplicates, read_files

    if not paths:
        raise UsageError("请给出要检查的文件，如 landaudit check 企业亩均效益.xlsx")
    config = config or load_config(workspace.root if workspace else None)
    dedupers = {name: Deduper(name) for name in DATASETS}
    checked: list[FileCheck] = []
    findings: list[Finding] = []            # all files': a duplicate conflict names the later row's file
    files = [(path, _shown_path(path, workspace)) for path in _expand(paths, config.settings.ingest.skip_files)]
    # read as ingest reads them (SPEC §13 rev. 2): a workbook that aborts its reader takes only itself
    with closing(read_files(files, config, encoding)) as results:
        for (path, shown), result in zip(files, results, strict=True):
            findings.extend(result.findings)
            merge_duplicates(result, dedupers, findings)         # SPEC §4: duplicates, as ingest decides them
            checked.append(FileCheck(shown, path, result.entries))
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    for file_check in checked:
        own = by_file.get(file_check.path, [])
        file_check.findings = sorted(own, key=lambda f: (f.sheet or "", f.row or 0, LEVEL_ORDER.get(f.level, 9)))
        warnings = Counter(f.sheet for f in own if f.level not in BLOCKING)
        for entry in file_check.entries:
            if not entry.error:
                entry.warnings = warnings[entry.sheet]
    return CheckResult(checked, dict(config.sources), str(workspace.root) if workspace else None, config)


# The send-back workbook's second sheet: one line per sheet checked.
def _summary_columns():
    from landaudit.export.lists import INT, Column

    return (
        Column("文件", "path"), Column("工作表", "sheet"), Column("数据集", "dataset"),
        Column("表头行", "header_row", INT), Column("数据行", "rows_total", INT),
        Column("可接收", "rows_accepted", INT), Column("拒收", "rows_rejected", INT),
        Column("跳过", "rows_skipped", INT), Column("说明", "note"),
    )


def summary_rows(result: CheckResult, config: Config) -> list[dict]:
    specs = config.dataset_specs
    rows = []
    for f in result.files:
        for e in f.entries:
            title = specs[e.dataset].title if e.dataset in specs else None
            rows.append({"path": f.path, "sheet": e.sheet, "dataset": title,
                         "header_row": e.header_row, "rows_total": None if e.error else e.rows_total,
                         "rows_accepted": None if e.error else e.rows_accepted,
                         "rows_rejected": None if e.error else e.rows_rejected,
                         "rows_skipped": None if e.error else e.rows_skipped,
                         "note": e.error["message"] if e.error else None})
    return rows


def write_problems_workbook(result: CheckResult, out: Path) -> Path:
    """The problems as a send-back workbook (export/sendback.py's columns): 退回清单 and 检查结果."""
    from landaudit.export.sendback import COLUMNS
    from landaudit.export.workbook import ListWorkbook

    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"--xlsx 的文件名要以 .xlsx 结尾，不是 {out.name}")
    config = result.settings or load_config(None)
    if any(f.source is not None and Path(os.path.abspath(f.source)) == Path(os.path.abspath(out))
           for f in result.files):
        raise UsageError(f"--xlsx {out} 就是被检查的文件，不能覆盖：请换一个文件名")
    rows = [f.to_dict() for file_check in result.files for f in file_check.findings]
    county = config.settings.county.name
    rejects = sum(r["level"] == REJECT for r in rows)
    errors = sum(r["level"] == ERROR for r in rows)
    verify = sum(r["level"] == "verify" for r in rows)
    created = datetime.now().replace(microsecond=0)

    def build(tmp: Path) -> None:
        workbook = ListWorkbook(tmp, created=created, title=f"{county}部门报表自查问题清单", as_of=date.today())
        title = (f"{county}部门报表自查问题清单：请按“问题及修改要求”更正后再报送"
                 f"（无法读取 {errors} 个，拒收 {rejects} 条，待核实 {verify} 条）")
        workbook.add_list("退回清单", title, COLUMNS, rows)
        workbook.add_list("检查结果", f"检查结果（{created:%Y-%m-%d %H:%M}）", _summary_columns(),
                          summary_rows(result, config))
        workbook.close()

    return atomic_write(out, build)
