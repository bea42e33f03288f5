"""`landaudit explain` and `landaudit sql` (SPEC §2): read-only views of what classify wrote."""

from __future__ import annotations

from landaudit.errors import UsageError
from landaudit.workspace import Workspace

LINK_METHODS = {"parcel_code": "按地块编码", "credit_code": "按统一社会信用代码", "name": "按名称"}


def _item_state(item: dict) -> str:
    """An item's state at the as-of date (SPEC §2, §6 rev. 2), as the lists judge it."""
    if item.get("counted") is False:
        return "问题类别未定，不计入" if item["category"] == "未定" else "判断日之后发现，不计入"
    return "逾期" if item["overdue"] else ("已关闭" if item["closed"] else "未到期")


def _yes_no(value: object) -> str:
    return "—" if value is None else ("是" if value else "否")


def _num(value: object, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _where(row: dict) -> str:
    return f"{row['source_file']} · {row['source_sheet']} · 第 {row['source_row']} 行"


def explain(workspace: Workspace, parcel_code: str, *, year: int | None = None) -> dict:
    """Everything that decided one parcel's place, each fact with its source file, sheet and row."""
    import duckdb

    from landaudit.ingest.normalise import CellError, parse_parcel_code

    year = workspace.resolve_year(year)
    folder = workspace.processed_year(year)
    needed = {name: folder / f"{name}.parquet" for name in ("parcels", "links", "enterprise", "ledger_items")}
    if not all(p.is_file() for p in needed.values()):
        raise UsageError(f"{folder} 中还没有分类结果：请先运行 landaudit ingest 和 landaudit classify --year {year}")
    try:
        code = parse_parcel_code(parcel_code)
    except CellError:
        code = None
    if not code:
        raise UsageError(f"“{parcel_code}”不是地块编码")
    con = duckdb.connect()

    def rows(sql: str, params: list) -> list[dict]:
        result = con.execute(sql, params)
        names = [d[0] for d in result.description]
        return [dict(zip(names, r, strict=True)) for r in result.fetchall()]

    found = rows("SELECT * FROM read_parquet(?) WHERE parcel_code = ?", [str(needed["parcels"]), code])
    if not found:
        raise UsageError(f"地块编码 {code} 不在 {year} 年的工业用地底数中（见 {workspace.relative(needed['parcels'])}）")
    p = found[0]
    enterprises = rows(
        "SELECT k.link_method, k.share, e.* FROM read_parquet(?) k JOIN read_parquet(?) e "
        "ON e.source_file = k.source_file AND e.source_sheet = k.source_sheet AND e.source_row = k.source_row "
        "WHERE k.kind = 'enterprise' AND k.parcel_code = ? ORDER BY e.source_file, e.source_row",
        [str(needed["links"]), str(needed["enterprise"]), code])
    items = rows(
        "SELECT * FROM read_parquet(?) WHERE list_contains(parcel_codes_linked, ?) "
        "ORDER BY source_file, source_sheet, source_row",
        [str(needed["ledger_items"]), code])
    con.close()

    attributes = [
        ("面积", f"{_num(p['area_mu'])} 亩（{_num(p['area_m2'])} 平方米）"),
        ("土地权属", p["ownership"] or "—"), ("权利人", p["right_holder"] or "—"),
        ("符合土地利用总体规划", _yes_no(p["conforms_to_plan"])), ("合法用地手续", _yes_no(p["legal_procedures"])),
        ("容积率", _num(p["plot_ratio"])),
        ("建成年份", "—" if p["building_year"] is None else f"{p['building_year']}（房龄 {p['building_age']} 年）"),
        ("建筑质量", p["building_condition"] or "—"),
    ]
    enterprise_rows = [
        (e["name"], e["credit_code"] or "—", LINK_METHODS.get(e["link_method"], e["link_method"]),
         f"{e['share']:.1%}", _num(e["tax"]), _num(e["value_added"]), _yes_no(e["above_scale"]),
         e["exempt_reason"] or "", _where(e))
        for e in enterprises
    ]
    item_rows = [
        (i["item_id"], i["category"], i["severity"] or "—", i["status"] or "—", str(i["deadline"] or "—"),
         _item_state(i),
         LINK_METHODS.get(i["link_method"], i["link_method"] or ""), _where(i))
        for i in items
    ]
    metric_rows = [
        ("亩均税收（万元/亩）", _num(p["tax_per_mu"])), ("亩均增加值（万元/亩）", _num(p["va_per_mu"])),
        ("亩均营业收入（万元/亩）", _num(p["revenue_per_mu"])), ("劳动生产率（万元/人）", _num(p["labour_productivity"])),
        ("单位能耗增加值（万元/吨标煤）", _num(p["energy_productivity"])),
        ("单位排放增加值（万元/吨）", _num(p["emission_productivity"])),
        ("研发投入强度", "—" if p["rd_intensity"] is None else f"{p['rd_intensity']:.2%}"),
        ("亩均增加值增速", "—" if p["va_per_mu_growth"] is None else f"{p['va_per_mu_growth']:.2%}"),
    ] + [("说明", note) for note in p["metric_notes"] or []]
    flag_rows = [
        ("亩均低效", _yes_no(p["low_efficiency"]), "；".join(p["low_efficiency_reasons"] or [])),
        ("低散乱污", _yes_no(p["scattered_polluting"]), "；".join(p["scattered_reasons"] or [])),
        ("集体工业用地问题", _yes_no(p["collective_problem"]), "；".join(p["collective_reasons"] or [])),
        ("落后产能", _yes_no(p["backward_capacity"]), ""),
        ("纳入治理范围", _yes_no(p["in_scope"]), ""),
    ]
    if p["batch"]:
        conclusion = f"四个一批：{p['batch']}（{p['batch_rule']}）"
    else:
        conclusion = "不在治理范围内，未分批"
    rating = p["rating"] or "—"
    if p["rating_group"]:
        rating += f"（{p['rating_group']}组第 {p['rating_rank']}/{p['rating_group_size']} 名，得分 {_num(p['rating_score'])}）"
    conclusion += f"；亩均效益评价：{rating}"
    return {
        "year": year,
        "parcel": p,
        "land_source": _where(p),
        "attributes": attributes,
        "sections": [
            ("企业（地块上的权利人和租赁企业）", enterprise_rows,
             ["企业名称", "信用代码", "关联方式", "面积分摊", "税收（万元）", "增加值（万元）", "规上", "不参评原因", "来源"]),
            ("问题隐患", item_rows, ["编号", "类别", "等级", "整改状态", "整改期限", "是否逾期", "关联方式", "来源"]),
            ("亩均指标", metric_rows, ["指标", "数值"]),
            ("治理对象标记", flag_rows, ["对象", "是否", "理由"]),
        ],
        "conclusion": conclusion,
    }


def run_readonly_sql(workspace: Workspace, query: str) -> tuple[list[str], list[tuple]]:
    """Run one SELECT over the views of data/processed/landaudit.duckdb; anything else is refused."""
    import duckdb

    database = workspace.processed / "landaudit.duckdb"
    if not database.is_file():
        raise UsageError(f"找不到 {workspace.relative(database)}：请先运行 landaudit classify")
    con = duckdb.connect(str(database), read_only=True)
    try:
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise UsageError(f"SQL 语法错误：{str(exc).splitlines()[0]}") from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise UsageError("只能执行一条只读查询（SELECT / WITH ... SELECT）")
        try:
            result = con.execute(query)
        except duckdb.Error as exc:
            raise UsageError(f"查询出错：{str(exc).splitlines()[0]}") from None
        return [d[0] for d in result.description], result.fetchall()
    finally:
        con.close()
