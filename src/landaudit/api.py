"""The notebook API (issue 15; STYLE.md's two layers): the library calls the CLI makes, for scripts
and notebooks, and a year's results as Arrow tables.

    import landaudit as la
    ws = la.Workspace("诸暨")
    la.ingest(ws, year=2023)              # what `landaudit ingest --year 2023` runs
    parcels = ws.parcels(2023)            # pyarrow.Table of data/processed/2023/parcels.parquet

`ingest`, `classify`, `export` and `run` are the functions `landaudit ingest|classify|export|run`
call, under the same workspace lock (`run.writing`: a cron run and a notebook never write at once;
`LockError` when one holds it), and they return the same results (`IngestResult.report()` is what
`ingest --format json` prints). Instead of a terminal, warnings go to the `landaudit` loggers, and
each call logs its start and end (with counts) at INFO, as the stages of `landaudit run` do.

Tables are pyarrow Tables read from the Parquet the commands wrote (`.to_pandas()` needs pandas,
an optional extra; `duckdb.sql("SELECT … FROM parcels")` queries a Table by its variable name).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from landaudit.errors import NoResultsError, UsageError
from landaudit.log import stage, warning
from landaudit.workspace import Workspace

logger = logging.getLogger(__name__)

# The tables a year's folder holds: name → (command that writes it, its notebook function).
TABLES = {
    "land": ("ingest", "ingest"), "enterprise": ("ingest", "ingest"), "ledger": ("ingest", "ingest"),
    "rejects": ("ingest", "ingest"),
    "parcels": ("classify", "classify"), "kpis": ("classify", "classify"), "links": ("classify", "classify"),
    "unlinked": ("classify", "classify"), "ledger_items": ("classify", "classify"),
    "rating_policies": ("classify", "classify"),
}


def _at(workspace: Workspace | str | Path) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace(workspace)


def ingest(workspace: Workspace | str | Path, *, year: int | None = None, encoding: str | None = None,
           lock_wait: float = 0.0):
    """Read data/raw/<year>/ and write the year's Parquet, rejects and ingest_report.json; returns
    the IngestResult (`.report()`, `.entries`, `.findings`, `.missing_datasets`). Files that could
    not be read and missing dataset kinds are logged as warnings (the CLI shows them in its table).

    Workbooks and big files are read in worker processes, which import the calling script again
    (forkserver and spawn alike): a script calling this needs the `if __name__ == "__main__":`
    guard (multiprocessing's rule)."""
    from landaudit.ingest import pipeline
    from landaudit.run import warn_missing, warn_unread, writing

    ws = _at(workspace)
    year = ws.resolve_year(year, processed_ok=False)
    with writing(ws, "la.ingest（Python）", lock_wait), stage(logger, "ingest", f"读取 {year} 年部门报表") as counts:
        result = pipeline.ingest(ws, year=year, encoding=encoding)
        counts.update({k: v for k, v in result.totals.items() if k != "by_dataset"})
    warn_unread(result.entries)
    warn_missing(result.missing_datasets)
    return result


def classify(workspace: Workspace | str | Path, *, year: int | None = None, scope: str | None = None,
             as_of: date | None = None, lock_wait: float = 0.0):
    """Link, compute metrics, flag, batch and rate the year (SPEC §5–§8); returns the
    ClassifyResult (`.counts()`, `.tables`). A year lacking a dataset kind is classified with a
    warning, as `landaudit classify` does."""
    from landaudit import classify as classify_module
    from landaudit.run import warn_missing, writing

    ws = _at(workspace)
    with writing(ws, "la.classify（Python）", lock_wait), \
            stage(logger, "classify", "关联地块、计算指标、分类分级") as counts:
        result = classify_module.classify(ws, year=year, scope=scope, as_of=as_of)
        summary = result.counts()
        counts.update({k: v for k, v in summary.items() if k != "batches"} | summary["batches"])
    warn_missing(classify_module.recorded_ingest(ws, result.year).get("missing_datasets") or [])
    return result


def export(workspace: Workspace | str | Path, *, year: int | None = None, scope: str | None = None,
           by_township: bool = False, as_of: date | None = None, allow_incomplete: bool = False,
           lock_wait: float = 0.0):
    """Write the governance workbooks of data/exports/<year>/; returns the ExportResult
    (`.workbooks`, `.list_rows`). Raises IncompleteDataError, StaleClassifyError or
    WorkbookOpenError exactly as `landaudit export` exits with them."""
    from landaudit import export as export_module
    from landaudit.run import warn_missing, writing

    ws = _at(workspace)
    with writing(ws, "la.export（Python）", lock_wait), stage(logger, "export", "写出治理清单") as counts:
        result = export_module.export(ws, year=year, scope=scope, by_township=by_township, as_of=as_of,
                                      allow_incomplete=allow_incomplete)
        counts.update(workbooks=len(result.workbooks) + len(result.township_workbooks), sendback=len(result.sendback))
    warn_missing(result.missing_datasets)
    return result


def run(workspace: Workspace | str | Path, *, year: int | None = None, scope: str | None = None,
        by_township: bool = False, encoding: str | None = None, as_of: date | None = None,
        allow_incomplete: bool = False, lock_wait: float = 0.0):
    """ingest → classify → export under one lock, with run_manifest.json (`landaudit run`)."""
    from landaudit import run as run_module

    return run_module.run(_at(workspace), year=year, scope=scope, by_township=by_township, encoding=encoding,
                          as_of=as_of, allow_incomplete=allow_incomplete, lock_wait=lock_wait)


def read_table(workspace: Workspace | str | Path, name: str, year: int | None = None):
    """data/processed/<year>/<name>.parquet as a pyarrow Table, exactly as the command wrote it
    (one row per parcel for `parcels`; `year` defaults as on the command line). A year whose
    command has not run is NoResultsError (Chinese, names the command); a classification older
    than the last ingest is read, with a warning."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ws = _at(workspace)
    if name not in TABLES:
        raise UsageError(f"没有名为“{name}”的表：可以读取的表有 {'、'.join(TABLES)}")
    year = ws.resolve_year(year)
    path = ws.processed_year(year) / f"{name}.parquet"
    command, function = TABLES[name]
    if not path.is_file():
        raise NoResultsError(year, name, ws.relative(path), command, function)
    if command == "classify":
        from landaudit.classify import stale_classification

        if (stale := stale_classification(ws, year)) is not None:
            warning(logger, "classify", f"{year} 年的分类结果早于最近一次读取（读取 {stale[0]}，分类 {stale[1]}）："
                                        f"读到的是旧的分类结果；请重新运行 landaudit classify --year {year}")
    try:
        return pq.read_table(path)
    except pa.ArrowInvalid as exc:                     # truncated (a full disk), or not Parquet
        raise UsageError(f"无法读取 {ws.relative(path)}（文件已损坏或不完整：{exc}）：请重新运行 "
                         f"landaudit {command} --year {year}") from exc
