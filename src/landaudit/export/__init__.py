"""Export: the governance workbooks of SPEC §9 — 治理清单_<scope>.xlsx, one per 镇街 with
--by-township, and the send-back files for departments (退回/<department>.xlsx)."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from landaudit.config import Config, load_config
from landaudit.errors import IncompleteDataError, OutputError, StaleClassifyError, UsageError
from landaudit.export.cells import XLSX_MAX_ROWS
from landaudit.export.filenames import file_stems, safe_file_stem
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
from landaudit.publish import final_path, generation
from landaudit.scopes import display_name, resolve_scope
from landaudit.workspace import Workspace, atomic_write, refuse_open_workbooks, replace_folder

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
    scope_name: str = ""               # the Chinese display name (SPEC §12 rev. 2)
    missing_datasets: list[dict] = field(default_factory=list)   # written anyway (allow_incomplete)


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
        linked = [by_code[c] for c in codes if c in by_code]
        townships = sorted({p.township for p in linked if p.township})
        zones = sorted({p.zone for p in linked if p.zone})
        # an item on parcels of several townships is every one's (SPEC §9 rev. 2): all are shown
        items.append({**item, "parcel_codes_text": "、".join(codes) or None,
                      "township": "、".join(townships) or None, "zone": "、".join(zones) or None,
                      "townships": set(townships)})
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
    """Townships of a scope key: configured ones (an empty list = all), or the township itself."""
    every = {p.township for p in data.parcels}
    if scope in config.settings.scopes:
        listed = config.settings.scopes[scope]
        return set(listed) if listed else every
    return {scope}


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
    """整改销号进度 (SPEC §11 rev. 2): each tracked item with its own parcel code(s) and 镇街,
    found by (category, item_id) — never by the row it sat on. An item no longer in the ledger
    keeps the codes of its last snapshot."""
    by_key = {(i["category"], i["item_id"]): i for i in data.items}
    town_of = {p.parcel_code: p.township for p in data.parcels}
    rows = []
    for row in data.progress or []:
        item = by_key.get((row["category"], row["item_id"]))
        if item is not None:
            codes, linked = item["parcel_codes_text"], item["townships"]
        else:
            codes = row.get("parcel_code")
            linked = {town_of[c] for c in row.get("parcel_codes") or split_codes(codes) if c in town_of}
        if towns is None or linked & towns:
            rows.append({**row, "parcel_code": codes, "township": "、".join(sorted(linked)) or None,
                         "overdue": bool(row.get("overdue"))})
    return rows


def split_codes(text: str | None) -> list[str]:
    """The parcel codes of a snapshot's joined parcel_code text (、 between codes)."""
    return [c for c in text.split("、") if c] if text else []


def _list_rows(data: ExportData, towns: set[str]) -> dict[str, list[dict]]:
    parcels = sorted((p for p in data.parcels if p.township in towns),
                     key=lambda p: (p.township, p.parcel_code))
    items = sorted((i for i in data.items if i["townships"] & towns),
                   key=lambda i: (i["township"] or "", i["parcel_codes_text"] or "", i["item_id"]))
    return {spec.sheet: [row for row in (parcels if spec.source == "parcels" else items) if spec.where(row)]
            for spec in LISTS}


def _policy_rows(data: ExportData, config: Config, towns: set[str]) -> list[dict]:
    """资源要素差别化配置 over the workbook's townships (SPEC §9 rev. 2): each class's configured
    policies with the parcels and 亩 of that class in these townships, not county-wide."""
    parcels: dict[str, int] = {}
    area: dict[str, float] = {}
    for p in sorted((p for p in data.parcels if p.township in towns and p.rating is not None),
                    key=lambda p: p.parcel_code):
        parcels[p.rating] = parcels.get(p.rating, 0) + 1
        area[p.rating] = area.get(p.rating, 0.0) + (p.area_mu or 0.0)
    responsible = config.settings.export.responsible.get(POLICY_SHEET)
    return [{**policy, "parcels": parcels.get(policy["rating"], 0), "area_mu": area.get(policy["rating"], 0.0),
             "responsible": responsible} for policy in data.policies]


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
    policies = _policy_rows(data, config, towns)
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


def _track_items(workspace: Workspace, year: int, data: ExportData, config: Config) -> list[dict] | None:
    """整改销号进度's rows: track's items, each with what became of it if it was open at the end of
    last year (上年末未整改去向), then last year's open items no longer in the ledger at all."""
    from landaudit.track import list_snapshots, track

    if not list_snapshots(workspace, year):
        return None
    result = track(workspace, year=year, as_of=data.as_of, config=config)
    fates = {(r["category"], r["item_id"]): r["fate"] for r in result.last_year_open}
    rows = [{**r, "fate": fates.pop((r["category"], r["item_id"]), None)} for r in result.items]
    rows += [{**r, "change": "已从台账移除"} for r in result.last_year_open if (r["category"], r["item_id"]) in fates]
    return rows


def export(workspace: Workspace, *, year: int | None = None, scope: str | None = None,
           by_township: bool = False, config: Config | None = None, as_of: date | None = None,
           max_rows: int = XLSX_MAX_ROWS, allow_incomplete: bool = False) -> ExportResult:
    """Write data/exports/<year>/治理清单_<范围>.xlsx (+ the 镇街/ and 退回/ folders, each replaced
    as a whole). The lists are as of the date classify used; `as_of` classifies the year again at
    another date first. `scope` is a key, a Chinese scope name or a township (SPEC §12 rev. 2).

    Writes nothing (the previous workbooks stay) when the last ingest lacked a whole dataset kind
    (IncompleteDataError, unless `allow_incomplete`), when classify is older than that ingest
    (StaleClassifyError), or when a workbook it would replace is open in Excel/WPS (issue 13)."""
    from landaudit.classify import (
        classify_at,
        default_scope,
        recorded_ingest,
        recorded_run,
        stale_classification,
    )
    from landaudit.export.sendback import write_sendback

    config = config or load_config(workspace.root)
    year = workspace.resolve_year(year)
    # SPEC §2 rev. 2: an empty or crippled list never replaces a good one
    missing = recorded_ingest(workspace, year).get("missing_datasets") or []
    if missing and not allow_incomplete:
        raise IncompleteDataError(year, missing)
    # issue 14: every workbook (and a new classification at another as-of date) is written into
    # generation folders and published together with the year's processed folder
    with generation(workspace, year) as staged:
        classify_at(staged, year, as_of, config=config)
        if (stale := stale_classification(staged, year)) is not None:
            raise StaleClassifyError(year, *stale)
        data = load_export_data(staged, year)
        every = {p.township for p in data.parcels}
        # default: the scope the year was classified for (if still configured), else the phase table's
        recorded = recorded_run(staged, year).get("scope")
        if scope:
            scope = resolve_scope(config.settings, scope, every)
        elif recorded in config.settings.scopes or recorded in every:
            scope = recorded
        else:
            scope = default_scope(config, year)
        name = display_name(config.settings, scope)
        # workbooks name scopes in Chinese (SPEC §12 rev. 2): 汇总 finds its KPI row by that name
        data.kpis = [{**k, "scope": display_name(config.settings, k["scope"])} for k in data.kpis]
        data.progress = _track_items(staged, year, data, config)
        towns = scope_townships(data, config, scope)
        folder = staged.exports_year(year)
        main = folder / f"治理清单_{safe_file_stem(name)}.xlsx"
        all_verify = scope in config.settings.scopes and not config.settings.scopes[scope]
        legacy = folder / f"治理清单_{safe_file_stem(scope)}.xlsx"      # the English-named file of earlier versions
        # every file this export replaces or removes (the two folders are replaced as a whole)
        replaced = [main, legacy] + [p for sub in ("镇街", "退回") if (folder / sub).is_dir()
                                     for p in sorted((folder / sub).iterdir()) if not p.name.startswith((".", "~$"))]
        # office programs' lock files are beside the published workbooks, not the generation's links
        refuse_open_workbooks([final_path(staged, p) for p in replaced], workspace)
        counts = write_workbook(main, data, config, name, towns, all_verify=all_verify, max_rows=max_rows)
        if legacy != main:
            try:
                legacy.unlink(missing_ok=True)
            except OSError as exc:
                raise OutputError(legacy, exc) from exc

        def township_workbooks(staging: Path) -> list[Path]:
            stems = file_stems(towns & every)
            for town, stem in sorted(stems.items()):
                write_workbook(staging / f"{stem}.xlsx", data, config, town, {town}, all_verify=False, max_rows=max_rows)
            return [staging / f"{stem}.xlsx" for _, stem in sorted(stems.items())]

        # without --by-township the folder goes too: workbooks of an earlier export would disagree
        township_books = replace_folder(folder / "镇街", township_workbooks if by_township else lambda _: [])
        sendback = replace_folder(folder / "退回", lambda staging: write_sendback(data, config, staging))
        final = [final_path(staged, p) for p in [main, *township_books, *sendback]]
    return ExportResult(year, scope, final[:1], final[1:1 + len(township_books)], final[1 + len(township_books):],
                        counts, name, missing_datasets=missing)
