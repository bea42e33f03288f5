"""`landaudit report` (SPEC §10): the KPIs of classify per scope and township against targets."""

from __future__ import annotations

from datetime import date

from landaudit.errors import UsageError
from landaudit.workspace import Workspace

# (key in kpis.parquet, Chinese name, unit, target key or None, True when higher is better)
KPIS = (
    ("above_scale_tax_per_mu", "规上工业亩均税收", "万元/亩", "target_above_scale_tax_per_mu", True),
    ("va_per_mu_growth", "亩均增加值增速", "%", "target_va_per_mu_growth", True),
    ("open_major_items", "未整改重大较大隐患", "条", "target_open_major_items", False),
    ("open_major_unlinked", "其中未关联地块", "条", None, False),       # SPEC §10 rev. 2: in the city total
    ("overdue_items", "逾期未整改隐患", "条", None, False),
    ("low_efficiency_parcels", "亩均低效地块", "宗", None, False),
    ("scattered_polluting_parcels", "低散乱污地块", "宗", None, False),
    ("collective_problem_parcels", "集体工业用地问题地块", "宗", None, False),
    ("freed_space_mu", "腾换空间", "亩", None, True),
)


def meets(value, target, higher_is_better: bool) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target if higher_is_better else value <= target


def report(workspace: Workspace, *, year: int | None = None, scope: str | None = None,
           as_of: date | None = None) -> dict:
    """{"year", "rows": [{scope, township, kpis: {key: {name, value, target, unit, meets}}}]}; the
    KPIs as of the date classify used, or as of `as_of` (the year is classified again at it)."""
    import pyarrow.parquet as pq

    from landaudit.classify import classify_at

    year = workspace.resolve_year(year)
    if (workspace.processed_year(year) / "kpis.parquet").is_file():
        classify_at(workspace, year, as_of)
    path = workspace.processed_year(year) / "kpis.parquet"
    if not path.is_file():
        raise UsageError(f"找不到 {workspace.relative(path)}：请先运行 landaudit classify --year {year}")
    from landaudit.config import load_config
    from landaudit.scopes import display_name, resolve_scope

    settings = load_config(workspace.root).settings
    table = pq.read_table(path).to_pylist()
    scope = resolve_scope(settings, scope, {row["township"] for row in table}) if scope else None
    rows = []
    for row in table:
        if scope and row["scope"] != scope:
            continue
        kpis = {}
        for key, name, unit, target_key, higher in KPIS:
            target = row[target_key] if target_key else None
            kpis[key] = {"name": name, "value": row.get(key), "target": target, "unit": unit,
                         "meets": meets(row.get(key), target, higher)}
        rows.append({"scope": row["scope"], "scope_name": display_name(settings, row["scope"]), "township": row["township"], "as_of": str(row["as_of"]), "kpis": kpis})
    if scope and not rows:
        raise UsageError(f"{year} 年的指标中没有范围“{display_name(settings, scope)}”：请用 landaudit classify "
                         f"--scope {display_name(settings, scope)} --year {year} 重新分类")
    return {"year": year, "rows": rows}
