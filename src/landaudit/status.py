"""`landaudit status` (issue 13, SPEC §2): per year, what is in data/raw/, what was ingested,
classified and exported, what is stale or missing, and the next command to run — like `git status`.

Read-only: it never writes into the workspace and never takes the workspace lock (a status while a
nightly `run` holds it must answer at once). Everything comes from files the other commands leave:
ingest_report.json (files with sha256 and bytes, counts, errors), classify.json (as-of date, scope)
and the workbooks under data/exports/<year>/, with the files' modification times for "when".
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from datetime import datetime
from pathlib import Path

from landaudit.errors import ConfigError, UsageError
from landaudit.workspace import Workspace, process_alive

DATASETS = ("land", "enterprise", "ledger")
DATASET_TITLES = {"land": "工业用地底数", "enterprise": "企业亩均效益", "ledger": "问题隐患台账"}
DATASET_SENDERS = {"land": "自然资源和规划局", "enterprise": "经信局", "ledger": "各部门"}
# File/sheet error codes that are not problems (findings.NOT_PROBLEMS; kept here so that status
# does not import pyarrow through findings.py)
NOT_PROBLEMS = frozenset({"sheet_empty", "temp_file", "sheet_not_data"})
DEFAULT_SKIP = ("~$*", ".~lock*", ".DS_Store", "Thumbs.db", "desktop.ini")


def _when(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp).isoformat(sep=" ", timespec="seconds") if timestamp else None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class _Inputs:
    """Which files under data/raw/<year>/ count as department files: not hidden, not an office
    program's temporary file (config ingest.skip_files)."""

    def __init__(self, skip: tuple[str, ...]):
        self.skip = skip

    def counts(self, rel: str) -> bool:
        parts = rel.split("/")
        if any(p.startswith(".") for p in parts):
            return False
        return not any(fnmatch.fnmatch(parts[-1], pattern) for pattern in self.skip)


def _sha256(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def _raw_files(ws: Workspace, year: int, inputs: _Inputs) -> dict[str, Path]:
    folder = ws.raw_year(year)
    if not folder.is_dir():
        return {}
    from landaudit.workspace import walk_files

    found = {}
    for path in sorted(walk_files(folder)):          # no recursion: folders ~1,000 deep (issue 14)
        rel = ws.relative(path)
        if inputs.counts(rel):
            found[rel] = path
    return found


def _changes(files: dict[str, Path], report: dict, read_at: float, inputs: _Inputs) -> dict[str, list[str]]:
    """New, changed and removed files against the report's list. A file of the same size not
    modified after the report is unchanged; one modified after it is compared by sha256 (a file
    opened and saved unchanged is not a change)."""
    recorded: dict[str, dict] = {}
    for entry in report.get("files", []):
        if inputs.counts(entry.get("path", "")):
            recorded.setdefault(entry["path"], entry)
    new = [rel for rel in files if rel not in recorded]
    removed = [rel for rel in recorded if rel not in files]
    changed = []
    for rel, path in files.items():
        entry = recorded.get(rel)
        if entry is None:
            continue
        try:
            stat = path.stat()
        except OSError:
            changed.append(rel)
            continue
        if entry.get("bytes") is not None and stat.st_size != entry["bytes"]:
            changed.append(rel)
        elif stat.st_mtime > read_at:
            sha = entry.get("sha256")
            if sha is None or _sha256(path) != sha:
                changed.append(rel)
    return {"new": new, "changed": changed, "removed": removed}


def _shown(stamp: object, fallback: float | None) -> str | None:
    """A recorded ISO timestamp (ingested_at, classified_at) as local time to the second; the
    file's modification time when none was recorded (files of earlier versions)."""
    if isinstance(stamp, str) and stamp:
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            return _when(fallback)
        if moment.tzinfo is not None:
            moment = moment.astimezone().replace(tzinfo=None)
        return moment.isoformat(sep=" ", timespec="seconds")
    return _when(fallback)


def _ingest_facts(report: dict, at: float) -> dict:
    totals = report.get("totals", {})
    by_dataset = totals.get("by_dataset", {})
    unreadable, sheets_by_dataset = [], {name: 0 for name in DATASETS}
    for entry in report.get("files", []):
        error = entry.get("error")
        if error and error.get("code") not in NOT_PROBLEMS:
            unreadable.append({"path": entry.get("path"), "sheet": entry.get("sheet"),
                               "code": error.get("code"), "message": error.get("message")})
        elif not error and entry.get("dataset") in sheets_by_dataset:
            sheets_by_dataset[entry["dataset"]] += 1
    return {
        "at": _shown(report.get("ingested_at"), at),
        "files": totals.get("files", len({e.get("path") for e in report.get("files", [])})),
        "sheets": totals.get("sheets", 0),
        "datasets": {name: {"rows": by_dataset.get(name, 0), "sheets": sheets_by_dataset[name]} for name in DATASETS},
        "missing_datasets": [name for name in DATASETS if not by_dataset.get(name)],
        "rows_total": totals.get("rows_total", 0),
        "rows_accepted": totals.get("rows_accepted", 0),
        "rows_rejected": totals.get("rows_rejected", 0),
        "rows_skipped": totals.get("rows_skipped", 0),
        "warnings": totals.get("warnings", 0),
        "unreadable": unreadable,
    }


def _export_facts(ws: Workspace, year: int, classified: dict | None) -> dict | None:
    folder = ws.exports / str(year)
    if not folder.is_dir():
        return None

    def books(where: Path) -> list[Path]:
        return sorted(p for p in where.glob("*.xlsx") if not p.name.startswith(("~$", "."))) if where.is_dir() else []

    main, towns, sendback = books(folder), books(folder / "镇街"), books(folder / "退回")
    if not (main or towns or sendback):
        return None
    times = [t for t in map(_mtime, main or towns or sendback) if t]
    expected = None
    if classified and classified.get("scope_name"):
        from landaudit.export.filenames import safe_file_stem

        expected = folder / f"治理清单_{safe_file_stem(classified['scope_name'])}.xlsx"
    return {
        "at": _when(max(times)) if times else None,
        "workbooks": [ws.relative(p) for p in main],
        "township_workbooks": len(towns),
        "sendback_workbooks": len(sendback),
        "_at": max(times) if times else None,
        "_expected": expected,
    }


def _running(ws: Workspace) -> dict | None:
    """The holder note of the workspace lock (read, never locked): a clean exit empties it, so a
    note whose process is alive on this host is a run in progress."""
    import socket

    note = _read_json(ws.processed / ".landaudit.lock")
    if not note or note.get("host") != socket.gethostname():
        return None
    try:
        pid = int(note["pid"])
    except (KeyError, ValueError, TypeError):
        return None
    if not process_alive(pid):                # issue 15: never os.kill(pid, 0) on Windows
        return None
    return {k: note.get(k) for k in ("pid", "host", "command", "started")}


def _year_status(ws: Workspace, year: int, inputs: _Inputs, config_changed: list[tuple[str, float]]) -> dict:
    files = _raw_files(ws, year, inputs)
    times = [t for t in map(_mtime, files.values()) if t]
    processed = ws.processed_year(year)
    report_path, classify_path = processed / "ingest_report.json", processed / "classify.json"
    report, read_at = _read_json(report_path), _mtime(report_path)
    classified, classified_at = _read_json(classify_path), _mtime(classify_path)
    status: dict = {
        "year": year,
        "raw": {"folder": ws.relative(ws.raw_year(year)) + "/", "files": len(files),
                "newest": _when(max(times)) if times else None},
        "ingest": None, "changes": None, "classify": None, "export": None,
        "problems": [], "next": None,
    }
    problems: list[str] = status["problems"]
    if report is not None and read_at:
        status["ingest"] = ingest = _ingest_facts(report, read_at)
        status["changes"] = _changes(files, report, read_at, inputs)
        # ingest's own words for a missing dataset kind when it recorded them (SPEC §2 rev. 2)
        recorded = {m.get("dataset"): m.get("message") for m in report.get("missing_datasets") or []
                    if isinstance(m, dict)}
        for name in ingest["missing_datasets"]:
            problems.append(recorded.get(name) or f"没有{DATASET_TITLES[name]}数据（应由{DATASET_SENDERS[name]}报送）")
        if ingest["unreadable"]:
            problems.append(f"{len({u['path'] for u in ingest['unreadable']})} 个文件无法读取或识别："
                            f"用 landaudit check 文件名 查看原因")
        if ingest["rows_rejected"]:
            problems.append(f"拒收 {ingest['rows_rejected']:,} 行：导出后各部门的退回清单在 data/exports/{year}/退回/")
    if classified is not None and classified_at:
        # classify.json names the ingest it read when it records one; else the files' times decide
        read_stamp = (report or {}).get("ingested_at")
        if read_stamp and "ingested_at" in classified:
            stale = classified["ingested_at"] != read_stamp
        else:
            stale = bool(read_at and classified_at < read_at)
        status["classify"] = {
            "at": _shown(classified.get("classified_at"), classified_at), "as_of": classified.get("as_of"),
            "scope": classified.get("scope"), "scope_name": classified.get("scope_name") or classified.get("scope"),
            "stale": stale,
        }
    exported = _export_facts(ws, year, classified)
    if exported is not None:
        expected, at = exported.pop("_expected"), exported.pop("_at")
        stale = bool(classified_at and at and at < classified_at)
        if expected is not None and not stale:
            expected_at = _mtime(expected)
            stale = expected_at is None or bool(classified_at and expected_at < classified_at)
        exported["stale"] = stale
        status["export"] = exported
    status["next"] = _next_step(year, status, files, config_changed, read_at)
    return status


def _next_step(year: int, status: dict, files: dict, config_changed: list[tuple[str, float]],
               read_at: float | None) -> dict | None:
    """The first thing that is missing or stale, ingest → classify → export, as a command and why."""
    def step(command: str, reason: str) -> dict:
        return {"command": command, "reason": reason}

    ingest, changes, classified, exported = status["ingest"], status["changes"], status["classify"], status["export"]
    if not files and ingest is None:
        return step(f"landaudit ingest --year {year}", f"先把各部门报表放进 {status['raw']['folder']}，这个文件夹还是空的")
    if ingest is None:
        return step(f"landaudit ingest --year {year}", f"{len(files)} 个文件还没有读取")
    reasons = []
    if changes["new"]:
        reasons.append(f"有 {len(changes['new'])} 个新文件")
    if changes["changed"]:
        reasons.append(f"有 {len(changes['changed'])} 个文件在读取后改动过")
    if changes["removed"]:
        reasons.append(f"有 {len(changes['removed'])} 个文件已删除")
    newer = [name for name, at in config_changed if read_at and at > read_at]
    if newer:
        reasons.append(f"配置文件 {'、'.join(newer)} 在读取后改动过")
    if reasons:
        return step(f"landaudit ingest --year {year}", "，".join(reasons))
    if ingest["missing_datasets"]:
        missing = "、".join(f"{DATASET_SENDERS[n]}的{DATASET_TITLES[n]}" for n in ingest["missing_datasets"])
        return step(f"landaudit ingest --year {year}",
                    f"缺少{missing}：请把报表放进 {status['raw']['folder']} 后重新读取")
    if classified is None:
        return step(f"landaudit classify --year {year}", "已读取，还没有分类")
    if classified["stale"]:
        return step(f"landaudit classify --year {year}", "分类早于最近一次读取，结果已过时")
    export = f"landaudit export --year {year}"
    if exported is None:
        return step(export, "已分类，还没有导出治理清单")
    if exported["stale"]:
        return step(export, f"治理清单_{classified['scope_name']}.xlsx 早于最近一次分类，已过时"
                    if classified.get("scope_name") else "治理清单早于最近一次分类，已过时")
    return None


def _config_files(ws: Workspace) -> list[tuple[str, float]]:
    found = []
    for name in ("landaudit.toml", "datasets.toml"):
        at = _mtime(ws.configs / name)
        if at:
            found.append((f"configs/{name}", at))
    return found


def status(workspace: Workspace, *, year: int | None = None) -> dict:
    """The workspace's state per year (all years under data/raw/ and data/processed/, or `year`),
    and the next command to run for the newest year that needs one."""
    if not (workspace.raw.is_dir() or workspace.processed.is_dir() or workspace.configs.is_dir()):
        raise UsageError(f"{workspace.root} 不是 landaudit 工作区（没有 configs/ 和 data/raw/）：请用 -w 指定工作区文件夹，"
                         f"或运行 landaudit init 创建一个")
    config_error = None
    skip = DEFAULT_SKIP
    try:
        from landaudit.config import load_config

        skip = tuple(load_config(workspace.root).settings.ingest.skip_files) or DEFAULT_SKIP
    except ConfigError as exc:
        config_error = str(exc)
    inputs = _Inputs(skip)
    years = sorted(set(workspace.years()) | {int(p.name) for p in workspace.processed.glob("[0-9]*")
                                              if p.is_dir() and p.name.isdigit()})
    if year is not None:
        if year not in years:
            shown = "、".join(map(str, years)) or "无"
            raise UsageError(f"工作区中没有 {year} 年（data/raw/{year}/ 不存在）；已有的年度：{shown}")
        years = [year]
    config_changed = _config_files(workspace)
    per_year = [_year_status(workspace, y, inputs, config_changed) for y in years]
    result = {
        "workspace": str(workspace.root),
        "config_error": config_error,
        "running": _running(workspace),
        "years": per_year,
        "next": None,
    }
    if config_error:
        result["next"] = {"command": None, "reason": f"先改正配置文件：{config_error}", "year": None}
    elif not per_year:
        result["next"] = {"command": "landaudit ingest", "year": None,
                          "reason": f"先把各部门报表放进 data/raw/<年度>/，如 data/raw/{datetime.now().year}/"}
    else:
        # the newest year with files first, as the default --year of every command; then older ones
        with_files = [s for s in per_year if s["raw"]["files"] or s["ingest"]] or per_year
        pending = [s for s in reversed(with_files) if s["next"] is not None]
        if pending:
            result["next"] = {**pending[0]["next"], "year": pending[0]["year"]}
    return result
