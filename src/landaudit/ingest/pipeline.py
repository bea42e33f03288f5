"""Ingest one year's folder: every file under data/raw/<year>/ → land/enterprise/ledger Parquet,
rejects.parquet, quality.parquet and ingest_report.json (SPEC §2). Nothing is lost: every row
below a header ends accepted, rejected with a reason, or skipped with a kind.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from landaudit.config import Config, DatasetSpec, load_config
from landaudit.findings import (
    ERROR,
    NOT_PROBLEMS,
    REJECT,
    VERIFY,
    Finding,
    findings_table,
    make_finding,
)
from landaudit.ingest.header import SynonymIndex, find_header
from landaudit.ingest.read import ReadFailure, read_file
from landaudit.ingest.rows import (
    DUPLICATE,
    SheetContext,
    SheetRows,
    process_sheet,
)
from landaudit.ingest.workers import Lost, WorkerLimits, WorkerPool, default_memory_mb
from landaudit.workspace import Workspace, write_json, write_parquet

DATASETS = ("land", "enterprise", "ledger")
_ARROW_TYPES = {
    "number": pa.float64(), "year": pa.int32(), "bool": pa.bool_(), "date": pa.date32(),
    "parcel_codes": pa.list_(pa.string()),
}


def dataset_schema(name: str, spec: DatasetSpec) -> pa.Schema:
    """Explicit Arrow schema (SPEC §14: codes are strings, never guessed)."""
    columns: list[tuple[str, pa.DataType]] = []
    for spec_field in spec.fields:
        columns.append((spec_field.name, _ARROW_TYPES.get(spec_field.type, pa.string())))
        if spec_field.type == "name":
            columns.append((f"{spec_field.name}_key", pa.string()))
        elif spec_field.type == "credit_code":
            columns.append((f"{spec_field.name}_valid", pa.bool_()))
        elif spec_field.type == "status":
            # SPEC §3 (rev. 2): closed / failed / open, null for a blank status
            columns.append((f"{spec_field.name}_state", pa.string()))
    names = {c for c, _ in columns}
    if name == "land":
        columns.append(("area_m2", pa.float64()))
    if name == "ledger":
        # SPEC §4 (rev. 2): the item's codes (list) and their text joined with 、 (what track,
        # export and explain show); both whichever of the two datasets.toml defines
        for extra, kind in (("category", pa.string()), ("item_id", pa.string()),
                            ("parcel_codes", pa.list_(pa.string())), ("parcel_code", pa.string())):
            if extra not in names:
                columns.append((extra, kind))
        columns.append(("item_id_generated", pa.bool_()))
    columns += [("source_file", pa.string()), ("source_sheet", pa.string()), ("source_row", pa.int64())]
    return pa.schema(columns)


@dataclass
class SheetEntry:
    """One line of ingest_report.json's `files`."""

    path: str
    sheet: str | None
    format: str | None
    encoding: str | None = None
    dataset: str | None = None
    category: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    hidden: bool = False
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: int = 0
    error: dict | None = None

    def to_dict(self) -> dict:
        data = {
            "path": self.path, "sheet": self.sheet, "format": self.format, "encoding": self.encoding,
            "hidden": self.hidden,
        }
        if self.error:
            data["dataset"] = self.dataset
            data["error"] = self.error
            return data
        data |= {
            "dataset": self.dataset, "category": self.category, "header_row": self.header_row,
            "columns": self.columns, "units": self.units, "unmapped_columns": self.unmapped_columns,
            "rows_total": self.rows_total, "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected, "rows_skipped": self.rows_skipped,
            "skipped": self.skipped, "warnings": self.warnings,
        }
        return data


@dataclass
class IngestResult:
    year: int
    entries: list[SheetEntry]
    findings: list[Finding]
    tables: dict[str, pa.Table]
    outputs: dict[str, str]
    digests: dict[str, tuple[str, int]] = field(default_factory=dict)   # path → (sha256, bytes)
    dataset_rows: dict[str, int] = field(default_factory=dict)         # rows kept per dataset
    # SPEC §2 rev. 2: dataset kinds without a single accepted row (see missing_datasets below)
    missing_datasets: list[dict] = field(default_factory=list)
    # when this ingest ran (classify records it: export refuses lists of an older ingest)
    ingested_at: str = ""

    def __post_init__(self):
        self.dataset_rows = self.dataset_rows or {name: self.tables[name].num_rows for name in DATASETS}

    def release_tables(self) -> None:
        """Drop the in-memory rows once they are in Parquet (`run` at 1M parcels); counts stay."""
        self.tables = {}

    @property
    def totals(self) -> dict:
        counted = [e for e in self.entries if not e.error]
        totals = {
            "files": len({e.path for e in self.entries}),
            "sheets": len(counted),
            "errors": sum(1 for e in self.entries if e.error and e.error["code"] not in NOT_PROBLEMS),
            "rows_total": sum(e.rows_total for e in counted),
            "rows_accepted": sum(e.rows_accepted for e in counted),
            "rows_rejected": sum(e.rows_rejected for e in counted),
            "rows_skipped": sum(e.rows_skipped for e in counted),
            "warnings": sum(1 for f in self.findings if f.level not in (REJECT, ERROR)),
        }
        totals["by_dataset"] = dict(self.dataset_rows)
        return totals

    @property
    def reject_rate(self) -> float:
        t = self.totals
        considered = t["rows_accepted"] + t["rows_rejected"]
        return t["rows_rejected"] / considered if considered else 0.0

    def _digest(self, path: str) -> dict:
        sha, size = self.digests.get(path, (None, None))
        return {"sha256": sha, "bytes": size}

    def report(self) -> dict:
        reasons = Counter(f.code for f in self.findings if f.level in (REJECT, ERROR))
        return {
            "year": self.year,
            "ingested_at": self.ingested_at,
            "missing_datasets": self.missing_datasets,
            "files": [e.to_dict() | self._digest(e.path) for e in self.entries],
            "totals": self.totals,
            "top_reasons": [{"code": code, "count": count} for code, count in reasons.most_common(10)],
            "outputs": self.outputs,
        }


# SPEC §2 rev. 2: who sends each dataset, and what a year without it would show
DEPARTMENTS = {"land": "自然资源和规划局", "enterprise": "经信局", "ledger": "各台账部门"}
CONSEQUENCES = {
    "land": "没有地块，治理清单会是空的",
    "enterprise": "没有企业的税收和增加值，每个地块都会被判为亩均低效",
    "ledger": "没有问题隐患，“低散乱污”、隐患和四个一批的判断都缺少依据，隐患清零会显示为达标",
}


def missing_datasets(entries: list[SheetEntry], rows: dict[str, int], config: Config) -> list[dict]:
    """The dataset kinds of the year without one accepted row, each with the department that
    sends it, why (no file, its files unreadable, every row rejected) and what follows."""
    specs = config.dataset_specs
    failed = [e for e in entries if e.error and e.error["code"] not in NOT_PROBLEMS]
    missing = []
    for name in DATASETS:
        if rows.get(name):
            continue
        spec = specs[name]
        department = spec.department if name != "ledger" else DEPARTMENTS[name]
        lost = sorted({e.path for e in failed if e.dataset == name
                       or (e.dataset is None and any(k in Path(e.path).name for k in spec.file_keywords))})
        rejected = sorted({e.path for e in entries if e.dataset == name and not e.error})
        if lost:
            reason, why = "unreadable", f"{'、'.join(lost)} 无法读取"
        elif rejected:
            reason, why = "all_rejected", f"{'、'.join(rejected)} 的行全部被拒收"
        else:
            reason, why = "no_file", "没有找到这份报表"
            unknown = sorted({e.path for e in failed if e.dataset is None})
            if unknown:
                why += f"；{'、'.join(unknown[:3])}{' 等' if len(unknown) > 3 else ''} 无法读取或识别，请看其中有没有这份报表"
        missing.append({
            "dataset": name, "title": spec.title, "department": department, "reason": reason, "files": lost or rejected,
            "message": f"缺少{department}的{spec.title}（{why}）：{CONSEQUENCES[name]}",
        })
    return missing


def list_input_files(folder: Path) -> list[Path]:
    """Every file of the year folder, at any depth; a sub-folder that cannot be listed (no
    permission, nested past the path limit) is listed too, so it is reported as unreadable
    (read_file: `file_unreadable`) rather than silently lost (issue 14 item 8)."""
    from landaudit.workspace import walk_files

    unlistable: list[Path] = []
    files = list(walk_files(folder, unlistable))
    return sorted(files + unlistable, key=lambda p: p.relative_to(folder).as_posix())


@dataclass
class Candidates:
    """A chunk of a sheet's accepted rows before duplicates are decided across the dataset: the
    table, and per row the digest of its values and its key (SPEC §4)."""

    entry: int                    # index into the file's entries
    dataset: str
    table: pa.Table
    digests: list[bytes]
    keys: list[tuple]


@dataclass
class FileResult:
    entries: list[SheetEntry]
    findings: list[Finding]
    candidates: list[Candidates]


def read_one_file(path: Path, rel: str, config: Config, encoding: str | None) -> FileResult:
    """Everything about one input file that does not depend on the others (all but duplicates)."""
    specs = config.dataset_specs
    indexes = {name: SynonymIndex(spec) for name, spec in specs.items()}
    schemas = {name: dataset_schema(name, specs[name]) for name in DATASETS}
    limits = config.settings.ingest
    entries: list[SheetEntry] = []
    findings: list[Finding] = []
    candidates: list[Candidates] = []
    result = read_file(path, max_bytes=int(limits.max_file_mb * 1_048_576),
                       max_uncompressed=int(limits.max_uncompressed_mb * 1_048_576), encoding=encoding,
                       max_cells=limits.max_sheet_cells, max_line=limits.max_line_kb * 1024)
    if result.error:
        entries.append(_error_entry(rel, None, result.format, result.error, findings, result.error_detail))
        return FileResult(entries, findings, candidates)
    unknown: list[tuple[SheetEntry, str]] = []
    for sheet in result.sheets:
        entry = SheetEntry(rel, sheet.name, result.format, result.encoding, hidden=sheet.hidden)
        entries.append(entry)
        try:
            head = sheet.head(limits.header_search_rows + 1)     # a header is found among these
            empty = not _has_text(head) and not _has_text(sheet.all_rows())
        except ReadFailure as failure:                           # a streaming sheet that failed
            entry.error = _error(findings, failure.code, rel, sheet.name, failure.detail)
            continue
        if empty:
            entry.error = _error(findings, "sheet_empty", rel, sheet.name)
            continue
        hint = f"{rel}/{sheet.name}"
        match, why = find_header(head, sheet.merged, specs, indexes,
                                 search_rows=limits.header_search_rows, hint_text=hint)
        if match is None:
            unknown.append((entry, why))
            continue
        entry.dataset, entry.header_row = match.dataset, match.header_row
        entry.columns = {c.field.name: c.header for c in match.columns}
        entry.units = {c.field.name: c.unit for c in match.columns if c.unit}
        entry.unmapped_columns = match.unmapped
        ctx = SheetContext(config, specs[match.dataset], match.dataset, rel, sheet.name)
        if match.dataset == "ledger":
            entry.category = ctx.sheet_category
            if entry.category is None and "category" not in entry.columns:
                # SPEC §3 (rev. 2): every item will be 未定 (each is listed too); say once what to fix
                hints = ctx.categories.sheet.describe()
                findings.append(make_finding(VERIFY, "ledger_category_unknown", file=rel, sheet=sheet.name,
                                             dataset="ledger", detail=f"（{hints}）" if hints else ""))
        schema, index, first_chunk = schemas[match.dataset], len(entries) - 1, len(candidates)
        value_keys = [k for k in schema.names if not k.startswith("source_")]

        def on_records(records: list[dict], dataset=match.dataset, schema=schema, index=index,
                       value_keys=value_keys) -> None:
            digests = [_row_digest(record, value_keys) for record in records]
            keys = [_record_key(dataset, record) for record in records]
            candidates.append(Candidates(index, dataset, _to_table(records, schema), digests, keys))

        try:
            rows = process_sheet(sheet.all_rows(), match, ctx, on_records, sheet.merged)
        except ReadFailure as failure:                           # ... or failed half-way
            del candidates[first_chunk:]
            entry.error = _error(findings, failure.code, rel, sheet.name, failure.detail)
            continue
        _count_sheet(entry, rows)
        if rows.categories:
            entry.category = "、".join(sorted(rows.categories))
        findings.extend(rows.findings)
    has_data = any(e.dataset for e in entries)
    for entry, why in unknown:
        # an instructions sheet beside data is not a problem; a file of instructions only is
        not_data = has_data and any(fnmatch.fnmatch(entry.sheet, p) for p in limits.instruction_sheets)
        entry.error = _error(findings, "sheet_not_data" if not_data else "unknown_dataset", rel, entry.sheet, why)
    return FileResult(entries, findings, candidates)


def _has_text(rows) -> bool:
    return any(str(v).strip() for row in rows for v in row if v is not None)


def ingest(workspace: Workspace, *, year: int | None = None, encoding: str | None = None,
           config: Config | None = None,
           progress: Callable[[int, int, str], None] | None = None) -> IngestResult:
    """Read every file of the year, write the Parquet files and the report; return the result.
    `progress(done, total, path)` is called after each file.

    Files of at least `ingest.isolate_file_mb` are read in worker processes (`ingest.workers` at a
    time, biggest first) while this process reads the others: at city scale the two big workbooks
    (land, enterprise) are read on both cores, and at 1M parcels a big workbook's cells never share a
    process with another's. Results are merged in file order exactly as if all were read here."""
    config = config or load_config(workspace.root)
    year = workspace.resolve_year(year, processed_ok=False)     # ingest reads the raw folder
    specs = config.dataset_specs
    limits = config.settings.ingest
    entries: list[SheetEntry] = []
    findings: list[Finding] = []
    schemas = {name: dataset_schema(name, specs[name]) for name in DATASETS}
    dedupers = {name: Deduper(name) for name in DATASETS}
    parts: dict[str, list[pa.Table]] = {name: [] for name in DATASETS}

    files = list_input_files(workspace.raw_year(year))
    usable = [p for p in files if not any(fnmatch.fnmatch(p.name, pattern) for pattern in limits.skip_files)]
    digests: dict[str, tuple[str, int]] = {}
    results = read_files([(p, workspace.relative(p)) for p in usable], config, encoding)
    try:
        for done, path in enumerate(files, start=1):
            if progress:
                progress(done - 1, len(files), path.name)
            rel = workspace.relative(path)
            digests[rel] = _sha256(path, limit=int(limits.max_file_mb * 1_048_576))
            if path not in usable:
                entries.append(_error_entry(rel, None, None, "temp_file", findings))
                continue
            file_result = next(results)
            entries.extend(file_result.entries)
            findings.extend(file_result.findings)
            for dataset, table in merge_duplicates(file_result, dedupers, findings):
                parts[dataset].append(table)
    finally:
        results.close()

    tables = {name: pa.concat_tables(parts[name]) if parts[name] else schemas[name].empty_table()
              for name in DATASETS}
    warnings = Counter((f.file, f.sheet) for f in findings if f.level not in (REJECT, ERROR))
    for entry in entries:
        if not entry.error:
            entry.warnings = warnings[(entry.path, entry.sheet)]

    from landaudit.publish import generation
    from landaudit.track import list_snapshots, write_snapshot

    # issue 14: the year's outputs are written into a generation folder and published together
    with generation(workspace, year, exports=False) as staged:
        outputs = _write_outputs(staged, year, tables, findings, county_code=config.settings.county.code)
        write_snapshot(staged, year, tables["ledger"], county_code=config.settings.county.code)  # SPEC §11
        outputs["snapshot"] = staged.relative(list_snapshots(staged, year)[-1])
        result = IngestResult(year, entries, findings, tables, outputs, digests,
                              missing_datasets=missing_datasets(entries, {n: t.num_rows for n, t in tables.items()},
                                                                config),
                              ingested_at=datetime.now().astimezone().isoformat(timespec="microseconds"))
        write_json(staged.processed_year(year) / "ingest_report.json", result.report())
    return result


def read_files(files: list[tuple[Path, str]], config: Config, encoding: str | None) -> Iterator[FileResult]:
    """Each file's FileResult, in the order given (`files`: path and the path shown for it). SPEC §13
    rev. 2: every file that could be costly is read in a worker process (ingest/workers.py), biggest
    first, while this process reads the others (small text files); a file that took its worker down
    or overran gets an error entry of its own. Used by ingest and by check."""
    limits = config.settings.ingest
    costly = [(p, rel) for p, rel in files if _costly(p, limits)]
    pool = _worker_pool(config, encoding, min(len(costly), limits.workers), limits) if costly else None
    try:
        futures = {p: pool.submit(p, rel, _size(p)) for p, rel in sorted(costly, key=lambda f: _size(f[0]), reverse=True)} \
            if pool else {}
        local = {p: read_one_file(p, rel, config, encoding) for p, rel in files if p not in futures}
        for path, rel in files:
            result = futures[path].result() if path in futures else local.pop(path)
            yield _lost(rel, result) if isinstance(result, Lost) else result
    finally:
        if pool:
            pool.close()


def _lost(rel: str, lost: Lost) -> FileResult:
    """The result of a file that took its worker down or overran: its error entry and finding."""
    findings: list[Finding] = []
    return FileResult([_error_entry(rel, None, None, lost.code, findings, lost.detail)], findings, [])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _costly(path: Path, limits) -> bool:
    """Read in a worker: files of `isolate_file_mb` and more, and every workbook (zip or OLE
    container, whatever its name), whose native reader a crafted file could still abort or
    exhaust past the size checks. Files refused by size are not read at all."""
    size = _size(path)
    if size > limits.max_file_mb * 1_048_576 or size == 0:
        return False
    if size >= limits.isolate_file_mb * 1_048_576:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return False
    return head.startswith((b"PK\x03\x04", bytes.fromhex("D0CF11E0A1B11AE1")))


def _worker_pool(config: Config, encoding: str | None, workers: int, limits) -> WorkerPool:
    """`workers` worker processes (forked from a forkserver or spawned, never forked from this
    process: DuckDB's or the caller's threads must not be copied; see ingest/workers.py), each
    capped at `worker_memory_mb` of address space (0: automatic, see workers.default_memory_mb) and
    `worker_seconds` + `worker_seconds_per_mb` × size per file."""
    memory = limits.worker_memory_mb or default_memory_mb(limits.workers)
    # `workers` processes in all: a third one for the small workbooks was slower with spawned
    # workers and made no difference beyond the noise with forked ones (docs/benchmarks.md)
    return WorkerPool(config, encoding, workers,
                      WorkerLimits(memory, limits.worker_seconds, limits.worker_seconds_per_mb),
                      big_bytes=int(limits.isolate_file_mb * 1_048_576), big_slots=workers)


def _row_digest(record: dict, value_keys: list[str]) -> bytes:
    """16 bytes standing for every canonical value of a row: equal digests mean identical rows."""
    return hashlib.blake2b(repr(list(map(record.get, value_keys))).encode(), digest_size=16).digest()


def _sha256(path: Path, *, limit: int) -> tuple[str | None, int | None]:
    """(sha256, bytes) of an input file for the report and the run manifest; unreadable or over
    the size limit (refused unread) → no digest."""
    try:
        size = path.stat().st_size
        if size > limit:
            return None, size
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest(), path.stat().st_size
    except OSError:
        return None, None


def _error(findings: list[Finding], code: str, file: str, sheet: str | None, detail: str = "") -> dict:
    finding = make_finding(ERROR, code, file=file, sheet=sheet, detail=detail)
    if code not in NOT_PROBLEMS:
        findings.append(finding)
    return {"code": code, "message": finding.message}


def _error_entry(rel: str, sheet: str | None, fmt: str | None, code: str, findings: list[Finding],
                 detail: str = "") -> SheetEntry:
    entry = SheetEntry(rel, sheet, fmt)
    entry.error = _error(findings, code, rel, sheet, detail)
    return entry


def _count_sheet(entry: SheetEntry, rows: SheetRows) -> None:
    entry.rows_total = rows.rows_total
    entry.rows_rejected = len(rows.rejected_rows)
    entry.rows_accepted = rows.accepted
    entry.skipped = dict(rows.skipped)
    entry.rows_skipped = sum(entry.skipped.values())


def _record_key(name: str, record: dict) -> tuple:
    if name == "land":
        return ("parcel", record["parcel_code"])
    if name == "enterprise":
        code = record.get("credit_code")
        return ("credit", code) if code else ("name", record.get("name_key"))
    return ("item", record.get("category"), record.get("item_id"))


class Deduper:
    """SPEC §4 over a whole dataset, fed in (file, sheet, row) order: identical rows are merged
    (skipped, kind duplicate); a row with the same key but different values is rejected and listed
    for checking, the first kept. Only keys and 16-byte digests of the rows seen are held."""

    def __init__(self, name: str):
        self.name = name
        self.first_by_key: dict[tuple, str] = {}
        self.digests: set[bytes] = set()

    def mark(self, chunk: Candidates, findings: list[Finding]) -> tuple[pa.Table, int, int]:
        """The chunk's new distinct rows, and how many were duplicates and conflicts."""
        files = chunk.table.column("source_file").to_pylist()
        sheets = chunk.table.column("source_sheet").to_pylist()
        rows = chunk.table.column("source_row").to_pylist()
        keep, duplicates, conflicts = [], 0, 0
        for i, (digest, key) in enumerate(zip(chunk.digests, chunk.keys, strict=True)):
            if digest in self.digests:
                duplicates += 1
                keep.append(False)
                continue
            where = self.first_by_key.get(key)
            if where is not None:
                conflicts += 1
                keep.append(False)
                text = " ".join(str(k) for k in key[1:])
                findings.append(make_finding(REJECT, "duplicate_conflict", file=files[i], sheet=sheets[i],
                                             row=rows[i], value=text, detail=where, dataset=self.name, key=text))
                continue
            self.digests.add(digest)
            self.first_by_key[key] = f"{files[i]} 工作表“{sheets[i]}”第 {rows[i]} 行"
            keep.append(True)
        table = chunk.table if all(keep) else chunk.table.filter(pa.array(keep, pa.bool_()))
        return table, duplicates, conflicts


def merge_duplicates(file_result: FileResult, dedupers: dict[str, Deduper],
                     findings: list[Finding]) -> list[tuple[str, pa.Table]]:
    """A file's rows after the files before it (SPEC §4): per chunk, its dataset and its distinct
    new rows; duplicates and conflicts moved into its sheets' counts (ingest and check alike)."""
    kept = []
    for chunk in file_result.candidates:
        table, duplicates, conflicts = dedupers[chunk.dataset].mark(chunk, findings)
        _move_duplicates(file_result.entries[chunk.entry], duplicates, conflicts)
        kept.append((chunk.dataset, table))
    return kept


def _move_duplicates(entry: SheetEntry, duplicates: int, conflicts: int) -> None:
    """Duplicates count as skipped (kind duplicate), conflicting duplicates as rejected (SPEC §2)."""
    if duplicates:
        entry.rows_accepted -= duplicates
        entry.rows_skipped += duplicates
        entry.skipped[DUPLICATE] = entry.skipped.get(DUPLICATE, 0) + duplicates
    if conflicts:
        entry.rows_accepted -= conflicts
        entry.rows_rejected += conflicts


def _to_table(records: list[dict], schema: pa.Schema) -> pa.Table:
    columns = {name: [r.get(name) for r in records] for name in schema.names}
    return pa.table(columns, schema=schema)


def _write_outputs(workspace: Workspace, year: int, tables: dict[str, pa.Table],
                   findings: list[Finding], *, county_code: str) -> dict[str, str]:
    """land/enterprise/ledger/rejects/quality.parquet, each with data_year and county_code (issue 15)."""
    folder = workspace.processed_year(year)
    outputs = {}
    rejects = [f for f in findings if f.level in (REJECT, ERROR)]
    quality = [f for f in findings if f.level not in (REJECT, ERROR)]
    everything = {**tables, "rejects": findings_table(rejects), "quality": findings_table(quality)}
    for name, table in everything.items():
        path = write_parquet(folder / f"{name}.parquet", table, year=year, county_code=county_code)
        outputs[name] = workspace.relative(path)
    outputs["report"] = workspace.relative(folder / "ingest_report.json")
    return outputs
