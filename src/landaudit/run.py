"""`landaudit run` (SPEC §2, §13): ingest → classify → export in one process, for cron, under the
workspace lock, ending with data/processed/<year>/run_manifest.json.

Progress and warnings go to the `landaudit.run` logger (log.py); the CLI renders them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from landaudit import __version__
from landaudit.config import load_config
from landaudit.log import stage, warning
from landaudit.publish import (
    MANIFEST,
    StagedWorkspace,
    file_entry,
    generation,
    output_files,
    recover,
)
from landaudit.workspace import Workspace, WorkspaceLock, remove_stale_temporaries, write_json

logger = logging.getLogger(__name__)
# `progress(label)`: a context manager giving a per-file callback `(done, total, name)` — the
# CLI's progress bar (RunLog.progress); presentation, so not a log record
ProgressBar = Callable[[str], AbstractContextManager[Callable[[int, int, str], None]]]


@dataclass
class RunResult:
    year: int
    ingest: object
    classify: object
    export: object
    timings: dict[str, float] = field(default_factory=dict)
    manifest: Path | None = None
    missing_datasets: list[dict] = field(default_factory=list)   # SPEC §2 rev. 2: exit 1

    @property
    def export_skipped(self) -> bool:
        """The year was incomplete: the previous workbooks were kept (no --allow-incomplete)."""
        return self.export is None


def locked(workspace: Workspace, command: str, wait: float = 0.0) -> WorkspaceLock:
    """The workspace lock, with a warning when a killed run's lock is taken over."""
    def stale(holder: dict) -> None:
        warning(logger, "lock", f"上次运行（PID {holder.get('pid')}，用户 {holder.get('user', '?')}，主机 "
                            f"{holder.get('host')}，开始于 {holder.get('started')}）未正常结束，已接管工作区锁")
    return WorkspaceLock(workspace, command=command, wait=wait, on_stale=stale)


@contextmanager
def writing(workspace: Workspace, command: str, wait: float = 0.0) -> Iterator[None]:
    """What every writing command (CLI and notebook API alike) runs under: the workspace lock, and
    a killed run's leftovers cleaned up (prepare)."""
    with locked(workspace, command, wait):
        prepare(workspace)
        yield


def prepare(workspace: Workspace) -> None:
    """Under the lock: finish or roll back the publish of a killed run (issue 14: completed from its
    journal when it had committed, its generation folders deleted when not), then remove temporary
    files it left behind."""
    completed, discarded = recover(workspace)
    removed = remove_stale_temporaries(workspace.processed) + remove_stale_temporaries(workspace.exports)
    if completed:
        warning(logger, "lock", "上次运行在发布结果时中断：已按其记录完成发布（各年度文件夹为同一次运行的完整结果）")
    if discarded:
        warning(logger, "lock", f"已删除上次中断的运行未发布的 {discarded} 个输出文件夹：原有结果保持不变")
    if removed:
        warning(logger, "lock", f"已清理上次中断留下的 {removed} 个临时文件")


def run(workspace: Workspace, *, year: int | None = None, scope: str | None = None,
        by_township: bool = False, encoding: str | None = None, as_of: date | None = None,
        lock_wait: float = 0.0, allow_incomplete: bool = False, progress: ProgressBar | None = None) -> RunResult:
    from landaudit.classify import classify
    from landaudit.export import export
    from landaudit.ingest import ingest

    config = load_config(workspace.root)
    year = workspace.resolve_year(year, processed_ok=False)        # run reads the raw folder
    started = datetime.now().isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    with writing(workspace, f"landaudit run --year {year}", lock_wait), \
            generation(workspace, year, exports=False) as staged:
        # issue 14: every stage writes into the year's generation folders (the exports folder joins
        # when export starts: a year not exported keeps its folder untouched); run_manifest.json is
        # written last and the folders are published together when the block ends
        workspace = staged
        begun = time.monotonic()
        with stage(logger, "ingest", f"读取 {year} 年部门报表") as counts, _bar(progress, "读取") as advance:
            ingested = ingest(workspace, year=year, encoding=encoding, config=config, progress=advance)
            counts.update({k: v for k, v in ingested.totals.items() if k != "by_dataset"})
        _release(ingested)
        timings["ingest"] = time.monotonic() - begun
        warn_unread(ingested.entries)
        warn_missing(ingested.missing_datasets)
        begun = time.monotonic()
        with stage(logger, "classify", "关联地块、计算指标、分类分级") as counts:
            classified = classify(workspace, year=year, scope=scope, as_of=as_of, config=config)
            summary = classified.counts()
            counts.update({k: v for k, v in summary.items() if k != "batches"} | summary["batches"])
        timings["classify"] = time.monotonic() - begun
        begun = time.monotonic()
        if ingested.missing_datasets and not allow_incomplete:
            exported = None         # SPEC §2 rev. 2: an empty or crippled list never replaces a good one
            warning(logger, "export", KEPT_WORKBOOKS.format(year=year))
        else:
            with stage(logger, "export", "写出治理清单") as counts:
                exported = export(workspace, year=year, scope=classified.scope, by_township=by_township, config=config,
                                  allow_incomplete=allow_incomplete)
                counts.update(workbooks=len(exported.workbooks) + len(exported.township_workbooks),
                              sendback=len(exported.sendback))
            timings["export"] = time.monotonic() - begun
        timings = {k: round(v, 3) for k, v in timings.items()} | {"total": round(sum(timings.values()), 3)}
        manifest = write_manifest(workspace, config=config, year=year, started=started, ingested=ingested,
                                  classified=classified, exported=exported, timings=timings)
        manifest = staged.final(manifest)
    classified.folder = staged.processed_year(year)          # published: the year's own folder again
    return RunResult(year, ingested, classified, exported, timings, manifest, ingested.missing_datasets)


KEPT_WORKBOOKS = ("{year} 年的数据不完整，未导出：原有的治理清单工作簿保持不变。补齐报表后重新运行 "
                  "landaudit run --year {year}；确要用不完整的数据导出时加 --allow-incomplete")


def _bar(progress: ProgressBar | None, label: str) -> AbstractContextManager:
    if progress is None:
        from contextlib import nullcontext

        return nullcontext()
    return progress(label)


def warn_missing(missing: list[dict]) -> None:
    """One warning per missing dataset kind, naming its department and what follows (SPEC §2 rev. 2)."""
    for item in missing:
        warning(logger, "ingest", item["message"], dataset=item["dataset"], reason=item["reason"])


NOT_WARNED = ("sheet_empty", "sheet_not_data", "temp_file")      # a file or sheet that is not data


def warn_unread(entries) -> None:
    """One warning per file or sheet that could not be read (`run`, and the notebook API's ingest;
    `landaudit ingest` shows them in its table instead)."""
    for entry in entries:
        if entry.error and entry.error["code"] not in NOT_WARNED:
            warning(logger, "ingest", f"{entry.path}{'：' + entry.sheet if entry.sheet else ''}：{entry.error['message']}")


def _release(ingested) -> None:
    """The year's rows are in Parquet now (classify reads them there): drop their in-memory copy
    and hand Arrow's freed memory back, so classify and export do not stack on ingest's peak
    (1M parcels)."""
    import pyarrow as pa

    ingested.release_tables()
    pa.default_memory_pool().release_unused()


# What produced a run's outputs (issue 15): the libraries that read the sheets, join, and write
# the Parquet and the workbooks. Distribution names, as importlib.metadata knows them.
RUNTIME_PACKAGES = ("duckdb", "pyarrow", "python-calamine", "xlsxwriter")


def runtime_versions() -> dict[str, str | None]:
    """landaudit's, Python's and RUNTIME_PACKAGES' versions, and the OS (None: not installed)."""
    import platform
    from importlib import metadata

    versions: dict[str, str | None] = {"landaudit": __version__, "python": platform.python_version()}
    for name in RUNTIME_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions | {"platform": platform.platform()}


def write_manifest(workspace: Workspace, *, config, year: int, started: str, ingested, classified, exported,
                   timings: dict[str, float]) -> Path:
    """SPEC §13: version, config hash, input files with sha256 and row counts, outputs, timings."""
    inputs: dict[str, dict] = {}
    for entry in ingested.entries:
        sha, size = ingested.digests.get(entry.path, (None, None))
        item = inputs.setdefault(entry.path, {"path": entry.path, "sha256": sha, "bytes": size, "sheets": []})
        item["sheets"].append({"sheet": entry.sheet, "dataset": entry.dataset, "rows_total": entry.rows_total,
                               "rows_accepted": entry.rows_accepted, "rows_rejected": entry.rows_rejected,
                               "rows_skipped": entry.rows_skipped, "error": entry.error["code"] if entry.error else None})
    folder = workspace.processed_year(year)
    manifest = {
        "version": __version__,
        "year": year,
        "scope": classified.scope,
        "scope_name": classified.scope_name,
        "as_of": classified.as_of.isoformat(),
        "started": started,
        "finished": datetime.now().isoformat(timespec="seconds"),
        "config": {"sha256": config.digest, "sources": config.sources},
        "inputs": list(inputs.values()),
        "totals": {k: v for k, v in ingested.totals.items()},
        "missing_datasets": [m["dataset"] for m in ingested.missing_datasets],
        "exported": exported is not None,
        "versions": runtime_versions(),
        # every file of the two year folders as they are published (publish.output_files)
        "outputs": [file_entry(workspace, p) for p in output_files(workspace, year)],
        "timings_seconds": timings,
    }
    path = write_json(folder / MANIFEST, manifest)
    if isinstance(workspace, StagedWorkspace):
        workspace.state["manifest_written"] = True
    return path
