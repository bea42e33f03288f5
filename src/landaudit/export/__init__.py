"""Export: the governance workbooks of SPEC §9 — 治理清单_<scope>.xlsx, one per 镇街 with
--by-township, and the send-back files for departments (退回/<department>.xlsx)."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from landaudit.arrow import without_pandas
from landaudit.config import Config, load_config
from landaudit.errors import UsageError
from landaudit.export.cells import XLSX_MAX_ROWS, safe_file_stem
from landaudit.export.lists import (
    LISTS,
    POLICY_COLUMNS,
    POLICY_SHEET,
    PROGRESS_COLUMNS,
    PROGRESS_SHEET,
    VERIFY_COLUMNS,
    VERIFY_SHEET,
    Column,
)
from landaudit.export.summary import write_summary
from landaudit.export.workbook import ListWorkbook
from landaudit.workspace import Workspace, atomic_write

NEEDED = ("parcels", "ledger_items", "kpis", "unlinked", "rating_policies", "rejects", "quality")
# The parcel columns the lists, 汇总 and 待核实 use (lists.py, summary.py): reading only these halves
# the memory of an export at 1M parcels.
PARCEL_COLUMNS = (
    "parcel_code", "township", "zone", "location", "right_holder", "village", "area_mu", "ownership", "land_use",
    "conforms_to_plan", "legal_procedures", "plot_ratio", "building_year", "building_condition", "n_enterprises",
    "enterprise_names", "credit_codes", "idle", "tax", "tax_per_mu", "va_per_mu", "labour_productivity",
    "energy_productivity", "emission_productivity", "rd_intensity", "n_overdue", "n_petitions", "low_efficiency",
    "scattered_polluting", "collective_problem", "open_major_hazard", "failed_rectification",
    "low_efficiency_reasons", "scattered_reasons", "collective_reasons", "reasons", "batch", "batch_rule", "rating",
    "rating_group", "rating_score", "rating_rank", "rating_group_size", "exempt_names",
    "source_file", "source_sheet", "source_row",
)


@dataclass
class ExportData:
    """Everything the workbooks show, read once from data/processed/<year>/."""

    year: int
    parcels: list[ParcelRow]                    # see ParcelRow below
    items: list[dict]
    kpis: list[dict]
    unlinked: list[dict]
    policies: list[dict]
    rejects: list[dict]
    quality: list[dict]
    township_of_source: dict[tuple, str] = field(default_factory=dict)
    progress: list[dict] | None = None          # 整改销号进度 rows (track), when snapshots exist

    @property
    def as_of(self):
        return self.kpis[0]["as_of"] if self.kpis else None


@dataclass
class ExportResult:
    year: int
    scope: str
    workbooks: list[Path]
    township_workbooks: list[Path]
    sendback: list[Path]
    list_rows: dict[str, int]


class ParcelRow(namedtuple("ParcelRow", PARCEL_COLUMNS)):
    """One parcel as the workbooks read it: `row["township"]` and `row.get("batch")` like a dict,
    but a tuple underneath. At 1M parcels a dict per parcel (47 keys, ~2.3 KB) made export hold
    4.6 GB; a tuple is ~0.4 KB."""

    __slots__ = ()
    _index = {name: i for i, name in enumerate(PARCEL_COLUMNS)}

    def __getitem__(self, key):
        return tuple.__getitem__(self, self._index[key] if type(key) is str else key)

    def get(self, key, default=None):
        i = self._index.get(key)
        return default if i is None else tuple.__getitem__(self, i)

    def keys(self):
        return self._fields


def _parcel_rows(table) -> list[ParcelRow]:
    """The parcels as ParcelRows, built a column at a time. Text that repeats (镇街, 园区, file
    names, batches, ratings) is shared, not one string object per parcel."""
    columns = []
    for name in PARCEL_COLUMNS:
        column = table.column(name)
        values = column.to_pylist()
        if column.type == "string" and len(column.unique()) * 4 < len(values):
            shared: dict = {}
            values = [shared.setdefault(v, v) for v in values]
        columns.append(values)
    return list(map(ParcelRow._make, zip(*columns, strict=True)))


def load_export_data(workspace: Workspace, year: int) -> ExportData:
    import pyarrow.parquet as pq

    folder = workspace.processed_year(year)
    missing = [n for n in NEEDED if not (folder / f"{n}.parquet").is_file()]
    if missing:
        raise UsageError(f"{folder} 中缺少 {'、'.join(m + '.parquet' for m in missing)}：请先运行 "
                         f"landaudit ingest 和 landaudit classify --year {year}")
    parcels = _parcel_rows(pq.read_table(folder / "parcels.parquet", columns=list(PARCEL_COLUMNS)))
    tables = {n: pq.read_table(folder / f"{n}.parquet").to_pylist() for n in NEEDED if n != "parcels"}
    by_code = {p.parcel_code: p for p in parcels}
    items = []
    for item in tables["ledger_items"]:
        if item.get("counted") is False:
            continue        # found after the as-of date, or 未定: in no list or count (SPEC §3, §6 rev. 2)
        codes = item["parcel_codes_linked"] or []
        first = by_code.get(codes[0]) if codes else None
        items.append({**item, "parcel_codes_text": "、".join(codes) or None,
                      "township": first["township"] if first else None,
                      "zone": first["zone"] if first else None,
                      "townships": {by_code[c]["township"] for c in codes if c in by_code}})
    data = ExportData(year, parcels, items, tables["kpis"], tables["unlinked"], tables["rating_policies"],
                      tables["rejects"], tables["quality"])
    data.township_of_source = _townships_of_sources(data, folder, by_code)
    return data


def _flagged(data: ExportData) -> list[dict]:
    """Findings listed under 待核实: 待核实 flags and conflicting duplicates (SPEC §3–§5)."""
    return ([f for f in data.quality if f["level"] == "verify"]
            + [f for f in data.rejects if f["reason_code"] == "duplicate_conflict"])


def _townships_of_sources(data: ExportData, folder: Path, by_code: dict) -> dict[tuple, str]:
    """镇街 of each flagged finding's source row (file, sheet, row): the parcel's own row, else the
    item's, else the parcel an enterprise row was linked to."""
    import pyarrow.parquet as pq

    wanted = {(f["file"], f["sheet"], f["row"]) for f in _flagged(data)}
    if not wanted:
        return {}
    sources: dict[tuple, str] = {}
    for p in data.parcels:
        key = (p.source_file, p.source_sheet, p.source_row)
        if key in wanted:
            sources[key] = p.township
    for item in data.items:
        key = (item["source_file"], item["source_sheet"], item["source_row"])
        if item["township"] and key in wanted:
            sources[key] = item["township"]
    links = folder / "links.parquet"
    if links.is_file():
        table = pq.read_table(links, columns=["parcel_code", "source_file", "source_sheet", "source_row"])
        for code, *key in zip(*(c.to_pylist() for c in table.columns), strict=True):
            key = tuple(key)
            if key in wanted and code in by_code:
                sources.setdefault(key, by_code[code]["township"])
    return sources


def scope_townships(data: ExportData, config: Config, scope: str) -> set[str]:
    """Townships of a scope: configured ones (an empty list = all), or the township itself."""
    every = {p.township for p in data.parcels}
    if scope in config.settings.scopes:
        listed = config.settings.scopes[scope]
        return set(listed) if listed else every
    if scope in every or scope in config.settings.county.townships:
        return {scope}
    raise UsageError(f"未知的范围“{scope}”：可用 {'、'.join(config.settings.scopes)} 或任一镇街名称")


def _verify_rows(data: ExportData, towns: set[str] | None) -> list[dict]:
    """待核实: unlinked records, 待核实 findings and conflicting duplicates (SPEC §3–§5)."""
    rows = []
    dataset_names = {"land": "工业用地", "enterprise": "企业", "ledger": "问题隐患", None: None}
    towns_of = {p.parcel_code: p.township for p in data.parcels}
    for u in data.unlinked:
        # a parcel whose 四个一批 waits for its plan conformity (SPEC §7 rev. 2) belongs to its township
        parcel_row = u["dataset"] == "land"
        rows.append({"kind": "四个一批待定" if parcel_row else "未关联", "dataset": dataset_names.get(u["dataset"]),
                     "subject": u["parcel_code"] if parcel_row else u["name"] or u["credit_code"] or u["item_id"],
                     "message": u["reason"], "file": u["source_file"], "sheet": u["source_sheet"],
                     "row": u["source_row"], "column": None, "value": u["parcel_code"],
                     "township": towns_of.get(u["parcel_code"]) if parcel_row else None})
    for f in _flagged(data):
        rows.append({"kind": "待核实" if f["level"] == "verify" else "重复冲突", "dataset": dataset_names.get(f["dataset"]),
                     "subject": f["value"], "message": f["message"], "file": f["file"], "sheet": f["sheet"],
                     "row": f["row"], "column": f["column"], "value": f["value"],
                     "township": data.township_of_source.get((f["file"], f["sheet"], f["row"]))})
    if towns is None:
        return rows
    return [r for r in rows if r["township"] in towns]


def _progress_rows(data: ExportData, towns: set[str] | None) -> list[dict]:
    townships = {(i["source_file"], i["source_sheet"], i["source_row"]): i for i in data.items}
    rows = []
    for row in data.progress or []:
        item = townships.get((row["source_file"], row.get("source_sheet"), row["source_row"]))
        linked = item["townships"] if item else set()
        if towns is None or linked & towns:
            rows.append({**row, "township": "、".join(sorted(linked)) or None})
    return rows


def _list_rows(data: ExportData, towns: set[str]) -> dict[str, list[dict]]:
    parcels = sorted((p for p in data.parcels if p.township in towns),
                     key=lambda p: (p.township, p.parcel_code))
    items = sorted((i for i in data.items if i["townships"] & towns),
                   key=lambda i: (i["township"] or "", i["parcel_codes_text"] or "", i["item_id"]))
    return {spec.sheet: [row for row in (parcels if spec.source == "parcels" else items) if spec.where(row)]
            for spec in LISTS}


def _columns_with_units(spec, config: Config) -> list:
    """The list's columns with its 责任单位 (from config) filled in."""
    unit = config.settings.export.responsible.get(spec.sheet)
    return [Column(c.header, lambda _row, u=unit: u) if c.value == "responsible" else c for c in spec.columns]


def write_workbook(path: Path, data: ExportData, config: Config, scope: str, towns: set[str],
                   *, all_verify: bool, max_rows: int = XLSX_MAX_ROWS) -> dict[str, int]:
    """One governance workbook: 汇总, the lists, 资源要素差别化配置, 待核实 (SPEC §9 order)."""
    county = config.settings.county.name
    lists = _list_rows(data, towns)
    verify = _verify_rows(data, None if all_verify else towns)
    policies = [{**p, "responsible": config.settings.export.responsible.get(POLICY_SHEET)} for p in data.policies]
    counts = {name: len(rows) for name, rows in lists.items()} | {POLICY_SHEET: len(policies), VERIFY_SHEET: len(verify)}
    progress = _progress_rows(data, None if all_verify else towns) if data.progress is not None else None
    if progress is not None:
        counts[PROGRESS_SHEET] = len(progress)
    created = datetime.combine(data.as_of, datetime.min.time()) if data.as_of else datetime(data.year, 12, 31)

    def build(tmp: Path) -> None:
        workbook = ListWorkbook(tmp, created=created, title=f"{county}{data.year}年工业全域治理清单")
        summary = workbook.add_sheet("汇总")
        sheets: dict[str, list[str]] = {}
        for spec in LISTS:
            title = f"{county}{data.year}年{spec.sheet}（范围：{scope}）"
            sheets[spec.sheet] = workbook.add_list(spec.sheet, title, _columns_with_units(spec, config),
                                                   lists[spec.sheet], max_rows=max_rows)
        sheets[POLICY_SHEET] = workbook.add_list(POLICY_SHEET, f"{county}{data.year}年{POLICY_SHEET}",
                                                 POLICY_COLUMNS, policies, max_rows=max_rows)
        sheets[VERIFY_SHEET] = workbook.add_list(VERIFY_SHEET, f"{county}{data.year}年待核实清单（范围：{scope}）",
                                                 VERIFY_COLUMNS, verify, max_rows=max_rows)
        if progress is not None:
            sheets[PROGRESS_SHEET] = workbook.add_list(PROGRESS_SHEET, f"{county}{data.year}年整改销号进度（范围：{scope}）",
                                                       PROGRESS_COLUMNS, progress, max_rows=max_rows)
        write_summary(workbook.book, summary, workbook.formats, data=data, config=config, scope=scope, towns=towns,
                      lists=lists, counts=counts, sheets=sheets)
        workbook.close()

    atomic_write(path, build)
    return counts


def _track_items(workspace: Workspace, year: int, data: ExportData) -> list[dict] | None:
    from landaudit.track import list_snapshots, track

    if not list_snapshots(workspace, year):
        return None
    return track(workspace, year=year, as_of=data.as_of).items


def export(workspace: Workspace, *, year: int | None = None, scope: str | None = None,
           by_township: bool = False, config: Config | None = None, as_of: date | None = None,
           max_rows: int = XLSX_MAX_ROWS) -> ExportResult:
    """Write data/exports/<year>/治理清单_<scope>.xlsx (+ 镇街/ and 退回/ workbooks). The lists are as
    of the date classify used; `as_of` classifies the year again at another date first."""
    from landaudit.classify import classify_at, default_scope
    from landaudit.export.sendback import write_sendback

    without_pandas()
    config = config or load_config(workspace.root)
    year = workspace.resolve_year(year)
    scope = scope or default_scope(config, year)
    classify_at(workspace, year, as_of, config=config)
    data = load_export_data(workspace, year)
    data.progress = _track_items(workspace, year, data)
    towns = scope_townships(data, config, scope)
    folder = workspace.exports / str(year)
    main = folder / f"治理清单_{safe_file_stem(scope)}.xlsx"
    counts = write_workbook(main, data, config, scope, towns, all_verify=scope == "city", max_rows=max_rows)
    township_books = []
    if by_township:
        for town in sorted(towns & {p.township for p in data.parcels}):
            path = folder / "镇街" / f"{safe_file_stem(town)}.xlsx"
            write_workbook(path, data, config, town, {town}, all_verify=False, max_rows=max_rows)
            township_books.append(path)
    sendback = write_sendback(workspace, data, config, folder / "退回")
    return ExportResult(year, scope, [main], township_books, sendback, counts)
