"""`landaudit run` (SPEC §2, §13): ingest → classify → export in one process, for cron, under the
workspace lock, ending with data/processed/<year>/run_manifest.json."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from landaudit import __version__
from landaudit.config import load_config
from landaudit.log import RunLog
from landaudit.publish import (
    MANIFEST,
    StagedWorkspace,
    file_entry,
    generation,
    output_files,
    recover,
)
from landaudit.workspace import Workspace, WorkspaceLock, remove_stale_temporaries, write_json


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


def locked(workspace: Workspace, command: str, log: RunLog, wait: float = 0.0) -> WorkspaceLock:
    """The workspace lock, with a warning when a killed run's lock is taken over."""
    def stale(holder: dict) -> None:
        log.warning("lock", f"上次运行（PID {holder.get('pid')}，主机 {holder.get('host')}，开始于 "
                            f"{holder.get('started')}）未正常结束，已接管工作区锁")
    return WorkspaceLock(workspace, command=command, wait=wait, on_stale=stale)


def prepare(workspace: Workspace, log: RunLog) -> None:
    """Under the lock: finish or roll back the publish of a killed run (issue 14: completed from its
    journal when it had committed, its generation folders deleted when not), then remove temporary
    files it left behind."""
    completed, discarded = recover(workspace)
    removed = remove_stale_temporaries(workspace.processed) + remove_stale_temporaries(workspace.exports)
    if completed:
        log.warning("lock", "上次运行在发布结果时中断：已按其记录完成发布（各年度文件夹为同一次运行的完整结果）")
    if discarded:
        log.warning("lock", f"已删除上次中断的运行未发布的 {discarded} 个输出文件夹：原有结果保持不变")
    if removed:
        log.warning("lock", f"已清理上次中断留下的 {removed} 个临时文件")


def run(workspace: Workspace, *, log: RunLog, year: int | None = None, scope: str | None = None,
        by_township: bool = False, encoding: str | None = None, as_of: date | None = None,
        lock_wait: float = 0.0, allow_incomplete: bool = False) -> RunResult:
    from landaudit.classify import classify
    from landaudit.export import export
    from landaudit.ingest import ingest

    config = load_config(workspace.root)
    year = workspace.resolve_year(year, processed_ok=False)        # run reads the raw folder
    started = datetime.now().isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    with locked(workspace, f"landaudit run --year {year}", log, lock_wait), \
            _published(workspace, log, year) as staged:
        # issue 14: every stage writes into the year's generation folders; run_manifest.json is
        # written last and the folders are published together when the block ends
        workspace = staged
        begun = time.monotonic()
        with log.stage("ingest", f"读取 {year} 年部门报表") as counts, log.progress("读取") as progress:
            ingested = ingest(workspace, year=year, encoding=encoding, config=config, progress=progress)
            counts.update({k: v for k, v in ingested.totals.items() if k != "by_dataset"})
        _release(ingested)
        timings["ingest"] = time.monotonic() - begun
        for entry in ingested.entries:
            if entry.error and entry.error["code"] not in ("sheet_empty", "sheet_not_data", "temp_file"):
                log.warning("ingest", f"{entry.path}{'：' + entry.sheet if entry.sheet else ''}：{entry.error['message']}")
        warn_missing(ingested.missing_datasets, log)
        begun = time.monotonic()
        with log.stage("classify", "关联地块、计算指标、分类分级") as counts:
            classified = classify(workspace, year=year, scope=scope, as_of=as_of, config=config)
            summary = classified.counts()
            counts.update({k: v for k, v in summary.items() if k != "batches"} | summary["batches"])
        timings["classify"] = time.monotonic() - begun
        begun = time.monotonic()
        if ingested.missing_datasets and not allow_incomplete:
            exported = None         # SPEC §2 rev. 2: an empty or crippled list never replaces a good one
            log.warning("export", KEPT_WORKBOOKS.format(year=year))
        else:
            with log.stage("export", "写出治理清单") as counts:
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


@contextmanager
def _published(workspace: Workspace, log: RunLog, year: int):
    """prepare() under the lock, then the year's generation (publish.generation). The exports
    folder joins it when export starts: a year not exported keeps its folder untouched."""
    prepare(workspace, log)
    with generation(workspace, year, exports=False) as staged:
        yield staged


KEPT_WORKBOOKS = ("{year} 年的数据不完整，未导出：原有的治理清单工作簿保持不变。补齐报表后重新运行 "
                  "landaudit run --year {year}；确要用不完整的数据导出时加 --allow-incomplete")


def warn_missing(missing: list[dict], log: RunLog) -> None:
    """One warning per missing dataset kind, naming its department and what follows (SPEC §2 rev. 2)."""
    for item in missing:
        log.warning("ingest", item["message"], dataset=item["dataset"], reason=item["reason"])


def _release(ingested) -> None:
    """The year's rows are in Parquet now (classify reads them there): drop their in-memory copy
    and hand Arrow's freed memory back, so classify and export do not stack on ingest's peak
    (1M parcels)."""
    import pyarrow as pa

    ingested.release_tables()
    pa.default_memory_pool().release_unused()


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
        # every file of the two year folders as they are published (publish.output_files)
        "outputs": [file_entry(workspace, p) for p in output_files(workspace, year)],
        "timings_seconds": timings,
    }
    path = write_json(folder / MANIFEST, manifest)
    if isinstance(workspace, StagedWorkspace):
        workspace.state["manifest_written"] = True
    return path
