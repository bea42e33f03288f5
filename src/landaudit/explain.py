"""`landaudit explain` and `landaudit sql` (SPEC §2): read-only views of what classify wrote."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

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


@dataclass
class SqlResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    total: int                    # rows of the whole result; `rows` may hold only the first `limit`


def _open_database(workspace: Workspace):
    import duckdb

    database = workspace.processed / "landaudit.duckdb"
    if not database.is_file():
        raise UsageError(f"找不到 {workspace.relative(database)}：请先运行 landaudit classify")
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise UsageError(f"{workspace.relative(database)} 正在被另一个运行（如 landaudit classify）写入：请稍后再查询") from None
        raise UsageError(f"无法打开 {workspace.relative(database)}（{str(exc).splitlines()[0]}）：请重新运行 landaudit classify") from None
    _confine(con, workspace)
    return con


def _confine(con, workspace: Workspace) -> None:
    """SPEC §13 rev. 2: `landaudit sql` reads only the workspace's data/processed (where the views'
    Parquet files are): no other file (read_text('/etc/passwd'), read_csv, glob, COPY, ATTACH), no
    extension (INSTALL/LOAD), and the configuration is locked so a query cannot undo this."""
    folder = os.path.join(str(workspace.processed), "")          # trailing separator: that folder only
    con.execute("SET allowed_directories = ?", [[folder]])
    # no spill folder (DuckDB's default, data/processed/landaudit.duckdb.tmp, would outlive a killed
    # query where no clean-up looks for it, issue 14 item 9): a query over the views fits in memory
    con.execute("SET temp_directory = ''")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _names(con) -> list[tuple[str, str]]:
    return con.execute("SELECT table_name, table_type FROM information_schema.tables "
                       "WHERE table_catalog = current_database() ORDER BY table_name").fetchall()


# What each view of landaudit.duckdb holds (classify.py writes them over every year's Parquet).
TABLE_TITLES = {
    "parcels": "地块分类结果（标记、理由、四个一批、等级）", "land": "工业用地底数（读取后）",
    "enterprise": "企业亩均效益（读取后）", "ledger": "问题隐患台账（读取后）",
    "ledger_items": "问题隐患（按条，含关联地块和判断日状态）", "links": "企业、隐患与地块的关联",
    "kpis": "目标指标（按范围和镇街）", "quality": "数据质量提示和待核实", "rating_policies": "等级对应的资源要素政策",
    "rejects": "被拒收的行", "unlinked": "待核实：未能关联地块的企业和隐患",
}


def list_tables(workspace: Workspace) -> list[tuple[str, str, int, str]]:
    """(name, 视图/表, column count, what it holds) of everything `landaudit sql` can read."""
    con = _open_database(workspace)
    try:
        counts = dict(con.execute("SELECT table_name, count(*) FROM information_schema.columns "
                                  "WHERE table_catalog = current_database() GROUP BY 1").fetchall())
        return [(name, "视图" if kind == "VIEW" else "表", counts.get(name, 0), TABLE_TITLES.get(name, ""))
                for name, kind in _names(con)]
    finally:
        con.close()


def table_columns(workspace: Workspace, table: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of one table or view, in order."""
    con = _open_database(workspace)
    try:
        names = [n for n, _ in _names(con)]
        if table not in names:
            raise UsageError(f"没有表 {table}{_did_you_mean(table, names) or '；'}可用的表：{'、'.join(names)}")
        return con.execute("SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_catalog = current_database() AND table_name = ? ORDER BY ordinal_position",
                           [table]).fetchall()
    finally:
        con.close()


def _did_you_mean(word: str, candidates: list[str]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(word, candidates, n=3)
    return f"，您是不是要用 {' 或 '.join(close)}？" if close else ""


def _position(message: str) -> str:
    """DuckDB's "LINE 2: ...\n      ^^^" → "第 2 行第 7 列附近" (1-based)."""
    lines = message.splitlines()
    for i, line in enumerate(lines):
        found = re.match(r"LINE (\d+): ", line)
        if found and i + 1 < len(lines) and "^" in lines[i + 1]:
            column = lines[i + 1].index("^") - len(found.group(0)) + 1
            return f"第 {found.group(1)} 行第 {column} 列附近" if found.group(1) != "1" else f"第 {column} 列附近"
    return ""


def chinese_sql_error(exc: Exception, names: list[str]) -> str:
    """One Chinese sentence for a DuckDB error in a user's query (issue 13 item 6)."""
    text = str(exc)
    first = text.splitlines()[0] if text else type(exc).__name__
    where = _position(text)
    listed = "、".join(names)
    if first.startswith("Permission Error") or "disabled by configuration" in first or "configuration has been locked" in first:
        return ("SQL 错误：landaudit sql 只读取工作区 data/processed 中的数据（parcels、land 等视图，landaudit sql --tables），"
                f"不能读写其他文件、加载扩展或更改设置（DuckDB：{first.split(': ', 1)[-1]}）")
    if m := re.search(r"Table with name (\S+) does not exist", first):
        return f"SQL 错误：表 {m.group(1)} 不存在{_did_you_mean(m.group(1), names) or '；'}可用的表：{listed}（landaudit sql --tables）"
    if m := re.search(r'Referenced column "?([^"]+?)"? not found', first):
        candidates = re.findall(r'"([^"]+)"', text.split("Candidate bindings:", 1)[-1]) if "Candidate" in text else []
        hint = f"，您是不是要用 {' 或 '.join(candidates[:3])}？" if candidates else ""
        return f"SQL 错误：列 {m.group(1)} 不存在{hint}（landaudit sql --columns 表名 列出一个表的列）"
    if m := re.search(r'Column "?([^"]+?)"? does not exist', first):
        return f"SQL 错误：列 {m.group(1)} 不存在（landaudit sql --columns 表名 列出一个表的列）"
    if m := re.search(r'syntax error at or near "(.*)"', first):
        return f"SQL 错误：{where or ''}语法错误（“{m.group(1)}”处）"
    if "syntax error at end of input" in first:
        return "SQL 错误：查询不完整（语句在结尾处中断，是否缺少括号或引号？）"
    if m := re.search(r"Could not convert string '(.*?)' to (\w+)", first):
        kind = {"INT32": "整数", "INT64": "整数", "DOUBLE": "数字", "DATE": "日期", "BOOL": "真假值"}.get(m.group(2), m.group(2))
        return f"SQL 错误：{where + '，' if where else ''}文本“{m.group(1)}”不能当作{kind}比较或转换（文本要加单引号，如 batch = '整治提升'）"
    if m := re.search(r"Scalar Function with name (\S+) does not exist", first):
        return f"SQL 错误：没有函数 {m.group(1)}"
    if "must appear in the GROUP BY clause" in first:
        return f"SQL 错误：{where + '，' if where else ''}未分组的列必须出现在 GROUP BY 中或放进聚合函数（如 count、sum）"
    kinds = {"Parser": "语法错误", "Binder": "无法解析", "Catalog": "找不到对象", "Conversion": "类型转换错误",
             "Invalid Input": "输入无效", "Out of Range": "数值超出范围"}
    kind = next((v for k, v in kinds.items() if first.startswith(k)), "查询出错")
    detail = first.split(": ", 1)[-1]
    return f"SQL 错误：{kind}{'，' + where if where else ''}（DuckDB：{detail}）"


def run_readonly_sql(workspace: Workspace, query: str, *, year: int | None = None,
                     limit: int | None = None) -> SqlResult:
    """Run one SELECT over the views of data/processed/landaudit.duckdb; anything else is refused.

    `year` shows every view with a data_year column through that year only (temporary views of
    the same names shadow them); `limit` keeps the first rows, `total` still counts all."""
    import duckdb

    con = _open_database(workspace)
    try:
        names = [n for n, _ in _names(con)]
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise UsageError(chinese_sql_error(exc, names)) from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise UsageError("只能执行一条只读查询（SELECT / WITH ... SELECT）")
        if year is not None:
            _filter_year(con, year)
        try:
            result = con.execute(query)
            columns = [d[0] for d in result.description]
            types = [str(d[1]) for d in result.description]
            rows = result.fetchall() if not limit else result.fetchmany(limit)
            total = len(rows)
            if limit and len(rows) == limit:
                total = con.execute(f"SELECT count(*) FROM ({query.strip().rstrip(';')}\n)").fetchone()[0]
        except duckdb.Error as exc:
            raise UsageError(chinese_sql_error(exc, names)) from None
        return SqlResult(columns, types, rows, total)
    finally:
        con.close()


def _filter_year(con, year: int) -> None:
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    with_year = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND column_name = 'data_year'").fetchall()]
    if not with_year:
        return
    probe = "parcels" if "parcels" in with_year else with_year[0]
    years = sorted(y for (y,) in con.execute(
        f'SELECT DISTINCT data_year FROM "{catalog}".main."{probe}" WHERE data_year IS NOT NULL').fetchall())
    if years and year not in years:
        raise UsageError(f"数据库中没有 {year} 年的数据；已分类的年度：{'、'.join(map(str, years))}")
    for name in with_year:
        con.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM "{catalog}".main."{name}" WHERE data_year = {int(year)}')
