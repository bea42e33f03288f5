"""Classify: run the DuckDB SQL models of `landaudit/sql/` over a year's Parquet (SPEC §5–§8, §10).

Config values reach the SQL only as data: one-row `params`, small lists (`param_*`), the batch
rules as `batch_rule_terms` rows and the rating scheme as `rating_weights` rows. No SQL text is
ever built from config or data (SPEC §13).
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from importlib import resources
from pathlib import Path

import pyarrow as pa

from landaudit.config import PREDICATES, Config, load_config
from landaudit.errors import DataTestError, UsageError
from landaudit.publish import generation
from landaudit.scopes import display_name, resolve_scope
from landaudit.workspace import PROVENANCE, Workspace, atomic_write, write_json

INPUTS = ("land", "enterprise", "ledger")
OUTPUTS = ("parcels", "links", "unlinked", "kpis", "ledger_items", "rating_policies")
SEVERITY_LEVELS = {"一般": 1, "较大": 2, "重大": 3}

# Chinese names of the predicates, for batch_rule texts and explain.
PREDICATE_LABELS = {
    "low_efficiency": "亩均低效", "idle": "闲置", "exempt": "不参评", "open_major_hazard": "较大以上隐患未整改",
    "failed_rectification": "整改不合格", "scattered_polluting": "低散乱污", "collective": "集体土地",
    "collective_problem": "集体工业用地问题", "no_legal_procedures": "无合法用地手续",
    "low_plot_ratio": "容积率低", "poor_building": "建筑质量差或老化", "loose_management": "管理松散",
    "frequent_petitions": "信访多发", "open_safety_env_hazard": "安全环保隐患未整改",
    "conforms_plan": "符合土地利用总体规划", "nonconforming_plan": "不符合土地利用总体规划",
    "plan_unknown": "规划符合性未填",
    "against_industry_direction": "不符合产业发展导向", "backward_capacity": "落后产能", "above_scale": "规上企业",
}
assert set(PREDICATE_LABELS) == set(PREDICATES)


@dataclass
class ClassifyResult:
    year: int
    scope: str
    as_of: date
    folder: Path
    outputs: dict[str, str]
    scope_name: str = ""            # the Chinese display name (SPEC §12 rev. 2)

    @cached_property
    def tables(self) -> dict[str, pa.Table]:
        """The outputs as Arrow tables, read back on first use (DuckDB writes them directly)."""
        import pyarrow.parquet as pq

        return {name: pq.read_table(self.folder / f"{name}.parquet") for name in OUTPUTS}

    def counts(self) -> dict:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        flags = ("low_efficiency", "scattered_polluting", "collective_problem", "in_scope")
        parcels = pq.read_table(self.folder / "parcels.parquet", columns=["batch", *flags])
        batch = parcels.column("batch")
        return {
            "parcels": parcels.num_rows,
            **{flag: pc.sum(parcels.column(flag)).as_py() or 0 for flag in flags},
            "batches": {b: pc.sum(pc.equal(batch, b)).as_py() or 0 for b in ("整治提升", "拆除重建", "功能转型", "关停退出")},
            "unlinked": pq.read_metadata(self.folder / "unlinked.parquet").num_rows,
        }


def sql_models() -> list[tuple[str, str]]:
    """(table name, SQL) of every model file, in lexical order: NN_name.sql creates `name`."""
    folder = resources.files("landaudit.sql")
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name[3:-4], folder.joinpath(name).read_text("utf-8")) for name in files]


def default_as_of(year: int, today: date | None = None) -> date:
    """SPEC §2 (rev. 2): the last day of the data year for a past year, today otherwise."""
    today = today or date.today()
    return date(year, 12, 31) if year < today.year else today


def recorded_run(workspace: Workspace, year: int) -> dict:
    """What the year's last classify recorded (classify.json): its as-of date and scope; {} if none."""
    import json

    path = workspace.processed_year(year) / "classify.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def recorded_ingest(workspace: Workspace, year: int) -> dict:
    """The year's last ingest_report.json; {} if none."""
    import json

    path = workspace.processed_year(year) / "ingest_report.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _shown_time(stamp: str | None, path: Path) -> str:
    """A recorded ISO timestamp as 2023-12-31 08:00:00; the file's write time when none was recorded."""
    try:
        moment = datetime.fromisoformat(stamp) if stamp else datetime.fromtimestamp(path.stat().st_mtime)
    except (OSError, ValueError):
        return "时间不明"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def stale_classification(workspace: Workspace, year: int) -> tuple[str, str] | None:
    """(ingested, classified) as shown to users when the year's classify results come from an
    earlier ingest than its last one (issue 13), else None. classify.json records the ingest it
    read; results of versions before that record are judged by the two files' write times."""
    folder = workspace.processed_year(year)
    report_path, record_path = folder / "ingest_report.json", folder / "classify.json"
    if not report_path.is_file() or not record_path.is_file():
        return None
    ingested, record = recorded_ingest(workspace, year).get("ingested_at"), recorded_run(workspace, year)
    if ingested and "ingested_at" in record:
        stale = record["ingested_at"] != ingested
    else:
        try:
            stale = record_path.stat().st_mtime < report_path.stat().st_mtime
        except OSError:
            stale = False
    if not stale:
        return None
    return _shown_time(ingested, report_path), _shown_time(record.get("classified_at"), record_path)


def recorded_as_of(workspace: Workspace, year: int) -> date | None:
    """The as-of date the year was classified at (report, export and track use it by default)."""
    text = recorded_run(workspace, year).get("as_of")
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def classify_at(workspace: Workspace, year: int, as_of: date | None, *, config: Config | None = None) -> None:
    """For export and report given --as-of: classify the year again at that date when it was
    classified at another one (SPEC §2 rev. 2: one as-of date for every count), with its scope."""
    if as_of is not None and as_of != recorded_as_of(workspace, year):
        classify(workspace, year=year, scope=recorded_run(workspace, year).get("scope"), as_of=as_of,
                 config=config)


def default_scope(config: Config, year: int) -> str:
    return config.settings.phases.get(year, "city" if "city" in config.settings.scopes else next(iter(config.settings.scopes)))


def rule_description(order: int, rule) -> str:
    parts = []
    if rule.all:
        parts.append(" 且 ".join(PREDICATE_LABELS[p] for p in rule.all))
    if rule.any:
        parts.append("（" + " 或 ".join(PREDICATE_LABELS[p] for p in rule.any) + "）" if rule.all else
                     " 或 ".join(PREDICATE_LABELS[p] for p in rule.any))
    if rule.none:
        parts.append("且非 " + "、".join(PREDICATE_LABELS[p] for p in rule.none))
    condition = " 且 ".join(parts) if parts else "其他纳入治理范围的地块"
    return f"规则{order}·{rule.batch}：{condition}"


def _param_tables(config: Config, year: int, scope: str, as_of: date) -> dict[str, pa.Table]:
    s = config.settings
    rules, rating, targets = s.rules, s.rating, s.kpi_targets
    params = {
        "year": year, "as_of": as_of, "scope": scope, "county_code": s.county.code,
        "low_efficiency_tax_per_mu": rules.low_efficiency_tax_per_mu,
        "scattered_min_level": SEVERITY_LEVELS[rules.scattered_min_severity],
        "collective_min_plot_ratio": rules.collective_min_plot_ratio,
        "old_building_years": rules.old_building_years,
        "frequent_petition_count": rules.frequent_petition_count,
        "petition_category": rules.petition_category,
        "rating_cap": rating.cap,
        "cutoff_a": rating.cutoffs.A, "cutoff_b": rating.cutoffs.B, "cutoff_c": rating.cutoffs.C,
        "target_above_scale_tax_per_mu": targets.above_scale_tax_per_mu,
        "target_va_per_mu_growth": targets.va_per_mu_growth,
        "target_open_major_items": targets.open_major_items,
    }
    scopes = [(name, town) for name, towns in s.scopes.items() for town in (towns or [None])]
    if scope not in s.scopes:
        scopes.append((scope, scope))          # SPEC §12: any township name is a scope too
    terms = []
    for order, rule in enumerate(s.batch_rules, start=1):
        text = rule_description(order, rule)
        kinds = [("all", p) for p in rule.all] + [("any", p) for p in rule.any] + [("none", p) for p in rule.none]
        for kind, predicate in kinds or [("always", None)]:
            terms.append({"rule_order": order, "batch": rule.batch, "description": text,
                          "kind": kind, "predicate": predicate})
    weights = [
        {"grp": grp, "indicator": indicator, "weight": weight, "benchmark": group.benchmarks.get(indicator)}
        for grp, group in (("above_scale", rating.above_scale), ("below_scale", rating.below_scale))
        for indicator, weight in group.weights.items()
    ]

    policies = [
        {"policy_order": i, "rating": rating, "resource": resource, "policy": text}
        for i, (rating, resource, text) in enumerate(
            (r, res, t) for r, items in rating.policies.items() for res, t in items.items())
    ]

    def column(name: str, values: list[str]) -> pa.Table:
        return pa.table({name: pa.array(values, pa.string())})

    return {
        "params": pa.Table.from_pylist([params]),
        "param_against_codes": column("code_prefix", rules.against_direction_industry_codes),
        "param_categories": column("category", sorted({r.category for r in s.ingest.ledger_categories}
                                                      | {rules.petition_category})),
        "param_scattered_categories": column("category", rules.scattered_categories),
        "param_hazard_categories": column("category", rules.collective_hazard_categories),
        "param_poor_conditions": column("condition", rules.poor_building_conditions),
        "param_scopes": pa.table({"scope": pa.array([a for a, _ in scopes], pa.string()),
                                  "township": pa.array([b for _, b in scopes], pa.string())}),
        "batch_rule_terms": pa.Table.from_pylist(terms, schema=pa.schema([
            ("rule_order", pa.int32()), ("batch", pa.string()), ("description", pa.string()),
            ("kind", pa.string()), ("predicate", pa.string())])),
        "param_policies": pa.Table.from_pylist(policies, schema=pa.schema([
            ("policy_order", pa.int32()), ("rating", pa.string()), ("resource", pa.string()),
            ("policy", pa.string())])),
        "rating_weights": pa.Table.from_pylist(weights, schema=pa.schema([
            ("grp", pa.string()), ("indicator", pa.string()), ("weight", pa.float64()),
            ("benchmark", pa.float64())])),
    }


PREV_SCHEMA = pa.schema([
    ("parcel_code", pa.string()), ("township", pa.string()), ("area_mu", pa.float64()),
    ("value_added", pa.float64()), ("above_scale_value_added", pa.float64()), ("va_per_mu", pa.float64()),
    ("above_scale", pa.bool_()), ("exempt", pa.bool_()),
])


def _read_inputs(workspace: Workspace, year: int) -> dict[str, Path | pa.Table]:
    """The year's Parquet files (DuckDB scans them itself: no copy in Python memory), and last
    year's parcels when classified (an empty table otherwise)."""
    folder = workspace.processed_year(year)
    missing = [name for name in INPUTS if not (folder / f"{name}.parquet").is_file()]
    if missing:
        raise UsageError(f"{folder} 中缺少 {'、'.join(m + '.parquet' for m in missing)}：请先运行 "
                         f"landaudit ingest --year {year}")
    inputs: dict[str, Path | pa.Table] = {name: folder / f"{name}.parquet" for name in INPUTS}
    prev = workspace.processed_year(year - 1) / "parcels.parquet"
    inputs["prev_parcels"] = _previous_parcels(prev)
    return inputs


def _previous_parcels(path: Path) -> Path | pa.Table:
    """Last year's parcels: the file itself when it has every column the KPIs read; a year classified
    by an older version (no 规上 value added of its own) is read with value_added standing in."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return PREV_SCHEMA.empty_table()
    names = set(pq.read_schema(path).names)
    if names >= set(PREV_SCHEMA.names):
        return path
    table = pq.read_table(path, columns=[c for c in PREV_SCHEMA.names if c in names])
    if "above_scale_value_added" not in names and "value_added" in names:
        table = table.append_column("above_scale_value_added", table.column("value_added"))
    return table


def connect(workspace: Workspace | None = None, *, database: str = ":memory:", read_only: bool = False):
    """A DuckDB connection with memory and spill limits set (SPEC §14)."""
    import duckdb

    con = duckdb.connect(database, read_only=read_only)
    con.execute("SET memory_limit = '2GB'")     # spills to temp_directory beyond this (1M parcels)
    con.execute("SET threads = 2")
    if workspace is not None and not read_only:
        spill = workspace.processed / SPILL
        spill.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(spill)])  # a path, not data: passed as a parameter
    return con


DATABASE = "landaudit.duckdb"
SPILL = ".duckdb_tmp"


def _remove_spill(workspace: Workspace) -> None:
    """DuckDB leaves its spill folder behind (issue 14): remove it once the connection is closed."""
    shutil.rmtree(workspace.processed / SPILL, ignore_errors=True)


def _as_oserror(exc: Exception) -> OSError:
    """DuckDB's IOException as the OSError it stands for (disk full, no permission): atomic_write
    turns that into one Chinese sentence, exit 2 (SPEC §2 rev. 2), not an internal error."""
    text = str(exc)
    for needle, code in (("No space left", errno.ENOSPC), ("Disk quota", errno.EDQUOT),
                         ("Permission denied", errno.EACCES), ("Read-only file system", errno.EROFS)):
        if needle.lower() in text.lower():
            return OSError(code, os.strerror(code))
    return OSError(errno.EIO, text)


def run_models(con, inputs: dict[str, Path | pa.Table], params: dict[str, pa.Table]) -> None:
    for name, source in {**inputs, **params}.items():
        if isinstance(source, Path):
            relation = con.read_parquet(str(source))
            # data_year and county_code describe the file (issue 15), not the rows the models
            # combine (last year's parcels would bring their own year); the outputs get their own
            kept = [c for c in relation.columns if c not in PROVENANCE]
            if len(kept) < len(relation.columns):
                relation = relation.project(", ".join('"' + c.replace('"', '""') + '"' for c in kept))
            relation.create_view(name)
        else:
            con.register(name, source)
    for _, sql in sql_models():
        con.execute(sql)


def classify(workspace: Workspace, *, year: int | None = None, scope: str | None = None,
             as_of: date | None = None, config: Config | None = None) -> ClassifyResult:
    """Link, compute metrics, flag, assign batches and ratings; write the year's outputs."""
    config = config or load_config(workspace.root)
    year = workspace.resolve_year(year)
    scope = resolve_scope(config.settings, scope) if scope else default_scope(config, year)
    as_of = as_of or default_as_of(year)
    base = getattr(workspace, "base", None) or workspace
    queries = {"parcels": "SELECT * FROM parcels", "kpis": "SELECT * FROM kpis", "unlinked": "SELECT * FROM unlinked",
               "links": _LINKS_SQL, "ledger_items": _ITEMS_SQL, "rating_policies": "SELECT * FROM rating_policies"}
    # issue 14: the year's outputs are written into a generation folder and published together
    with generation(workspace, year, exports=False) as staged:
        inputs = _read_inputs(staged, year)
        folder = staged.processed_year(year)
        con = connect(workspace)
        try:
            run_models(con, inputs, _param_tables(config, year, scope, as_of))
            timings = run_data_tests(con)
            outputs = {name: staged.relative(_copy_out(con, sql, folder / f"{name}.parquet", year=year,
                                                       county_code=config.settings.county.code))
                       for name, sql in queries.items()}
        finally:
            con.close()
            _remove_spill(workspace)
        scope_name = display_name(config.settings, scope)
        record = {"year": year, "scope": scope, "scope_name": scope_name, "as_of": as_of.isoformat(),
                  "classified_at": datetime.now().astimezone().isoformat(timespec="microseconds"),
                  # the ingest these results come from: export refuses them after a newer one (issue 13)
                  "ingested_at": recorded_ingest(staged, year).get("ingested_at"),
                  "data_tests": timings}
        outputs["record"] = staged.relative(write_json(folder / "classify.json", record))
        outputs["database"] = workspace.relative(base.processed / DATABASE)
        staged.after_publish(lambda: rebuild_database(base))     # views over the published folders
    return ClassifyResult(year, scope, as_of, folder if staged.folders else base.processed_year(year),
                          outputs, scope_name)


# Derived booleans of `parcels` are true or false, never null (SPEC §6 rev. 2); these raw register
# columns keep null for a blank cell.
RAW_BOOLEANS = frozenset({"conforms_to_plan", "legal_procedures", "management_loose"})


def data_tests() -> list[tuple[str, str]]:
    """(name, SQL) of the data tests in sql/checks/: each selects the rows that violate a rule."""
    folder = resources.files("landaudit.sql").joinpath("checks")
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name[:-4], folder.joinpath(name).read_text("utf-8")) for name in files]


def _null_boolean_test(con) -> str:
    """The parcels whose derived booleans hold a null, over every BOOLEAN column the models made
    (a new flag is covered without editing a list). Column names are the models' own, quoted."""
    columns = [name for (name,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'parcels' AND data_type = 'BOOLEAN' "
        "ORDER BY column_index").fetchall() if name not in RAW_BOOLEANS]
    nulls = " OR ".join('"' + c.replace('"', '""') + '" IS NULL' for c in columns)
    labels = ", ".join(f"CASE WHEN \"{c}\" IS NULL THEN '{c}' END" for c in columns)
    return f"SELECT parcel_code, concat_ws(',', {labels}) AS problem FROM parcels WHERE {nulls}"


def run_data_tests(con) -> dict[str, float]:
    """Run every data test (dbt-style: zero rows = pass) on the models just built; raise
    DataTestError naming the first that selects rows, so contradictory results are never written.
    Returns each test's seconds (recorded in classify.json)."""
    import time

    timings = {}
    for name, sql in [("parcels_booleans_not_null", _null_boolean_test(con)), *data_tests()]:
        started = time.perf_counter()
        query = sql.strip().rstrip(";")
        violations = con.execute(f"SELECT * FROM ({query}) LIMIT 1000").fetchall()
        timings[name] = round(time.perf_counter() - started, 4)
        if violations:
            raise DataTestError(name, len(violations), violations[:3])
    return timings


def _copy_out(con, sql: str, path: Path, *, year: int, county_code: str) -> Path:
    """DuckDB writes the Parquet itself, streaming (memory at 1M parcels), to a temporary name,
    with data_year and county_code as the last columns and as key-value metadata (issue 15,
    workspace.with_provenance). The path is the workspace's own, quoted; the values are parameters."""
    import duckdb

    def write(tmp: Path) -> None:
        quoted = str(tmp).replace("'", "''")
        try:
            con.execute(f"COPY (SELECT *, ?::INTEGER AS data_year, ?::VARCHAR AS county_code FROM ({sql})) "
                        f"TO '{quoted}' (FORMAT PARQUET, COMPRESSION ZSTD, "
                        f"KV_METADATA {{data_year: ?, county_code: ?}})",
                        [year, county_code, str(year), county_code])
        except duckdb.IOException as exc:
            raise _as_oserror(exc) from exc

    return atomic_write(path, write)


_LINKS_SQL = """
SELECT 'enterprise' AS kind, s.parcel_code, s.link_method, s.share, e.name, e.credit_code,
       NULL::VARCHAR AS category, NULL::VARCHAR AS item_id, e.source_file, e.source_sheet, e.source_row
FROM enterprise_shares s JOIN enterprises e ON e.enterprise_id = s.enterprise_id
UNION ALL
SELECT 'ledger', k.parcel_code, k.link_method, NULL, i.name, i.credit_code, i.category, i.item_id,
       i.source_file, i.source_sheet, i.source_row
FROM ledger_links k JOIN ledger_items i ON i.ledger_id = k.ledger_id
ORDER BY 1, 2, source_file, source_sheet, source_row
"""

_ITEMS_SQL = """
SELECT i.* EXCLUDE (ledger_id, severity_level),
       list(k.parcel_code ORDER BY k.parcel_code) FILTER (WHERE k.parcel_code IS NOT NULL) AS parcel_codes_linked,
       any_value(k.link_method) AS link_method
FROM ledger_items i LEFT JOIN ledger_links k ON k.ledger_id = i.ledger_id
GROUP BY ALL
ORDER BY i.source_file, i.source_sheet, i.source_row
"""


def rebuild_database(workspace: Workspace) -> Path:
    """data/processed/landaudit.duckdb: views over every year's Parquet (a cache; Parquet is the record).
    Built under a temporary name, checkpointed, checked and renamed: a full disk leaves the previous
    database and no `.wal` (issue 14: DuckDB's close swallowed the failed checkpoint, and an empty
    database replaced the good one, exit 0)."""
    import duckdb

    target = workspace.processed / DATABASE
    names = ("land", "enterprise", "ledger", "rejects", "quality", *OUTPUTS)

    def build(tmp: Path) -> None:
        tmp.unlink(missing_ok=True)
        try:
            _build_views(workspace, tmp, names)
            if _beside(tmp, ".wal").exists():      # the checkpoint did not reach the file
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            check = duckdb.connect(str(tmp), read_only=True)
            try:
                check.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()
            finally:
                check.close()
        except duckdb.Error as exc:
            raise _as_oserror(exc) from exc
        finally:
            _beside(tmp, ".wal").unlink(missing_ok=True)
            shutil.rmtree(_beside(tmp, ".tmp"), ignore_errors=True)

    return atomic_write(target, build)


def _beside(path: Path, suffix: str) -> Path:
    """DuckDB's companions of a database file: `x.wal`, the spill folder `x.tmp`."""
    return path.with_name(path.name + suffix)


# The year folder of a view's file, for files written before each carried its data_year (issue
# 15); either separator (DuckDB gives a Windows path with backslashes).
FOLDER_YEAR = "CAST(regexp_extract(filename, '(\\d{4})[/\\\\][^/\\\\]+$', 1) AS INTEGER)"


def _build_views(workspace: Workspace, tmp: Path, names: tuple[str, ...]) -> None:
    """The views, one per output name over every year's file, checkpointed into `tmp`."""
    import pyarrow.parquet as pq

    con = connect(None, database=str(tmp))
    try:
        for name in names:
            files = sorted(workspace.processed.glob(f"[0-9][0-9][0-9][0-9]/{name}.parquet"))
            if not files:
                continue
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            if any("data_year" in pq.read_schema(f).names for f in files):
                year, excluded = f"coalesce(data_year, {FOLDER_YEAR})", "filename, data_year"
            else:
                year, excluded = FOLDER_YEAR, "filename"
            con.execute(
                f"CREATE VIEW {name} AS SELECT {year} AS data_year, * EXCLUDE ({excluded}) "
                f"FROM read_parquet([{listed}], union_by_name = true, filename = true)"
            )
        con.execute("CHECKPOINT")         # raises on a full disk; close() would swallow it
    finally:
        con.close()
