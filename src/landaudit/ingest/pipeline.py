"""Ingest one year's folder: every file under data/raw/<year>/ → land/enterprise/ledger Parquet,
rejects.parquet, quality.parquet and ingest_report.json (SPEC §2). Nothing is lost: every row
below a header ends accepted, rejected with a reason, or skipped with a kind.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
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
from landaudit.ingest.read import read_file
from landaudit.ingest.rows import (
    DUPLICATE,
    SheetContext,
    SheetRows,
    ledger_category_from_names,
    process_sheet,
)
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
    names = {c for c, _ in columns}
    if name == "land":
        columns.append(("area_m2", pa.float64()))
    if name == "ledger":
        for extra in ("category", "item_id"):
            if extra not in names:
                columns.append((extra, pa.string()))
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
        totals["by_dataset"] = {name: self.tables[name].num_rows for name in DATASETS}
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
            "files": [e.to_dict() | self._digest(e.path) for e in self.entries],
            "totals": self.totals,
            "top_reasons": [{"code": code, "count": count} for code, count in reasons.most_common(10)],
            "outputs": self.outputs,
        }


def list_input_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())


def ingest(workspace: Workspace, *, year: int | None = None, encoding: str | None = None,
           config: Config | None = None,
           progress: Callable[[int, int, str], None] | None = None) -> IngestResult:
    """Read every file of the year, write the Parquet files and the report; return the result.
    `progress(done, total, path)` is called after each file."""
    config = config or load_config(workspace.root)
    year = workspace.resolve_year(year)
    specs = config.dataset_specs
    indexes = {name: SynonymIndex(spec) for name, spec in specs.items()}
    limits = config.settings.ingest
    entries: list[SheetEntry] = []
    findings: list[Finding] = []
    schemas = {name: dataset_schema(name, specs[name]) for name in DATASETS}
    dedupers = {name: Deduper(name, schemas[name]) for name in DATASETS}
    parts: dict[str, list[pa.Table]] = {name: [] for name in DATASETS}

    files = list_input_files(workspace.raw_year(year))
    digests: dict[str, tuple[str, int]] = {}
    for done, path in enumerate(files, start=1):
        if progress:
            progress(done - 1, len(files), path.name)
        rel = workspace.relative(path)
        digests[rel] = _sha256(path, limit=int(limits.max_file_mb * 1_048_576))
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in limits.skip_files):
            entries.append(_error_entry(rel, None, None, "temp_file", findings))
            continue
        result = read_file(path, max_bytes=int(limits.max_file_mb * 1_048_576),
                           max_uncompressed=int(limits.max_uncompressed_mb * 1_048_576), encoding=encoding,
                           max_cells=limits.max_sheet_cells)
        if result.error:
            entries.append(_error_entry(rel, None, result.format, result.error, findings, result.error_detail))
            continue
        unknown: list[tuple[SheetEntry, str]] = []
        for sheet in result.sheets:
            entry = SheetEntry(rel, sheet.name, result.format, result.encoding, hidden=sheet.hidden)
            entries.append(entry)
            if not any(str(v).strip() for row in sheet.rows for v in row if v is not None):
                entry.error = _error(findings, "sheet_empty", rel, sheet.name)
                continue
            hint = f"{rel}/{sheet.name}"
            match, why = find_header(sheet.rows, sheet.merged, specs, indexes,
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
                ctx.default_category = ledger_category_from_names(hint, config)
                entry.category = ctx.default_category
                if ctx.default_category is None and "category" not in entry.columns:
                    findings.append(make_finding(VERIFY, "ledger_category_unknown", file=rel,
                                                 sheet=sheet.name, dataset="ledger"))
            deduper, kept = dedupers[match.dataset], parts[match.dataset]
            outcome = {"duplicates": 0, "conflicts": 0}

            def on_records(records: list[dict], deduper=deduper, kept=kept, outcome=outcome) -> None:
                table, duplicates, conflicts = deduper.add(records, findings)
                kept.append(table)
                outcome["duplicates"] += duplicates
                outcome["conflicts"] += conflicts

            rows = process_sheet(sheet.rows, match, ctx, on_records, sheet.merged)
            _count_sheet(entry, rows, **outcome)
            if rows.categories:
                entry.category = "、".join(sorted(rows.categories))
            findings.extend(rows.findings)
        has_data = any(e.dataset for e in entries if e.path == rel)
        for entry, why in unknown:
            # an instructions sheet beside data is not a problem; a file of instructions only is
            not_data = has_data and any(fnmatch.fnmatch(entry.sheet, p) for p in limits.instruction_sheets)
            entry.error = _error(findings, "sheet_not_data" if not_data else "unknown_dataset", rel, entry.sheet, why)

    tables = {name: pa.concat_tables(parts[name]) if parts[name] else schemas[name].empty_table()
              for name in DATASETS}
    for entry in entries:
        if not entry.error:
            entry.warnings = sum(1 for f in findings if f.file == entry.path and f.sheet == entry.sheet
                                 and f.level not in (REJECT, ERROR))

    outputs = _write_outputs(workspace, year, tables, findings)
    from landaudit.track import list_snapshots, write_snapshot

    write_snapshot(workspace, year, tables["ledger"])                  # SPEC §11: dated ledger statuses
    outputs["snapshot"] = workspace.relative(list_snapshots(workspace, year)[-1])
    result = IngestResult(year, entries, findings, tables, outputs, digests)
    write_json(workspace.processed_year(year) / "ingest_report.json", result.report())
    return result


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


def _count_sheet(entry: SheetEntry, rows: SheetRows, *, duplicates: int, conflicts: int) -> None:
    """Duplicates count as skipped (kind duplicate), conflicting duplicates as rejected (SPEC §2)."""
    entry.rows_total = rows.rows_total
    entry.rows_rejected = len(rows.rejected_rows) + conflicts
    entry.rows_accepted = rows.accepted - duplicates - conflicts
    entry.skipped = dict(rows.skipped)
    if duplicates:
        entry.skipped[DUPLICATE] = entry.skipped.get(DUPLICATE, 0) + duplicates
    entry.rows_skipped = sum(entry.skipped.values())


def _record_key(name: str, record: dict) -> tuple:
    if name == "land":
        return ("parcel", record["parcel_code"])
    if name == "enterprise":
        code = record.get("credit_code")
        return ("credit", code) if code else ("name", record.get("name_key"))
    return ("item", record.get("category"), record.get("item_id"))


class Deduper:
    """SPEC §4 over a whole dataset, fed sheet by sheet in (file, sheet, row) order: identical rows
    are merged (skipped, kind duplicate); a row with the same key but different values is rejected
    and listed for checking, the first kept. Only keys and 16-byte digests of the rows seen are
    held, so a sheet's records can become a compact Arrow table at once (memory at 1M parcels)."""

    def __init__(self, name: str, schema: pa.Schema):
        self.name, self.schema = name, schema
        self.value_keys = [k for k in schema.names if not k.startswith("source_")]
        self.first_by_key: dict[tuple, str] = {}
        self.digests: set[bytes] = set()

    def add(self, records: list[dict], findings: list[Finding]) -> tuple[pa.Table, int, int]:
        """The new distinct records as a table, and how many were duplicates and conflicts."""
        kept, duplicates, conflicts = [], 0, 0
        for record in records:
            # every canonical value in schema order: equal digests mean identical rows
            values = tuple(tuple(v) if isinstance(v, list) else v for v in map(record.get, self.value_keys))
            digest = hashlib.blake2b(repr(values).encode(), digest_size=16).digest()
            if digest in self.digests:
                duplicates += 1
                continue
            key = _record_key(self.name, record)
            where = self.first_by_key.get(key)
            if where is not None:
                conflicts += 1
                findings.append(make_finding(REJECT, "duplicate_conflict", file=record["source_file"],
                                             sheet=record["source_sheet"], row=record["source_row"],
                                             value=" ".join(str(k) for k in key[1:]), detail=where,
                                             dataset=self.name))
                continue
            self.digests.add(digest)
            self.first_by_key[key] = (f"{record['source_file']} 工作表“{record['source_sheet']}”"
                                      f"第 {record['source_row']} 行")
            kept.append(record)
        return _to_table(kept, self.schema), duplicates, conflicts


def _to_table(records: list[dict], schema: pa.Schema) -> pa.Table:
    columns = {name: [r.get(name) for r in records] for name in schema.names}
    return pa.table(columns, schema=schema)


def _write_outputs(workspace: Workspace, year: int, tables: dict[str, pa.Table],
                   findings: list[Finding]) -> dict[str, str]:
    folder = workspace.processed_year(year)
    outputs = {}
    for name, table in tables.items():
        outputs[name] = workspace.relative(write_parquet(folder / f"{name}.parquet", table))
    rejects = [f for f in findings if f.level in (REJECT, ERROR)]
    quality = [f for f in findings if f.level not in (REJECT, ERROR)]
    outputs["rejects"] = workspace.relative(write_parquet(folder / "rejects.parquet", findings_table(rejects)))
    outputs["quality"] = workspace.relative(write_parquet(folder / "quality.parquet", findings_table(quality)))
    outputs["report"] = workspace.relative(folder / "ingest_report.json")
    return outputs
