"""The governance lists of SPEC §9: which rows each sheet holds and which columns it shows.

Lists are data: a sheet name, the source (parcels or ledger items), a row filter and columns. A
newcomer looking for what 亩均低效治理清单 contains reads LISTS below, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter

# Column kinds → number formats in workbook.py
TEXT, MU, WAN, PER_MU, PCT, INT, DATE, SCORE, RATIO = (
    "text", "mu", "wan", "per_mu", "pct", "int", "date", "score", "ratio")


@dataclass(frozen=True)
class Column:
    header: str
    value: str | Callable[[dict], object]      # a row key, or a function of the row
    kind: str = TEXT
    wrap: bool = False                          # long text (reasons, names): wraps in a narrower column

    def values(self, rows: list[dict]) -> list:
        """The column's value for every row (a loop in C for plain keys: 1.1M cells at city scale)."""
        if not isinstance(self.value, str):
            return list(map(self.value, rows))
        if rows and type(rows[0]) is not dict:                 # export's ParcelRow named tuples
            if self.value not in rows[0]._fields:
                return [None] * len(rows)
            return list(map(attrgetter(self.value), rows))     # the field's C accessor
        return list(map(dict.get, rows, repeat(self.value)))


@dataclass(frozen=True)
class ListSpec:
    sheet: str
    source: str                                 # "parcels" or "items"
    where: Callable[[dict], bool]
    columns: tuple[Column, ...]


def _join(values) -> str | None:
    return "；".join(values) if values else None


def _implementing(row: dict) -> str | None:
    """实施单位: the 开发区（园区） and the 镇乡（街道） of the parcel (seed 四、(一))."""
    parts = [p for p in (row.get("zone"), row.get("township")) if p]
    return "、".join(parts) or None


def _overdue(row: dict) -> str:
    return "逾期" if row.get("overdue") else ("已关闭" if row.get("closed") else "未逾期")


PARCEL_HEAD = (
    Column("地块编码", "parcel_code"),
    Column("镇乡（街道）", "township"),
    Column("开发区（园区）", "zone"),
    Column("企业名称", "enterprise_names", wrap=True),
    Column("统一社会信用代码", "credit_codes", wrap=True),
)
ITEM_HEAD = (
    Column("问题编号", "item_id"),
    Column("地块编码", "parcel_codes_text", wrap=True),
    Column("镇乡（街道）", "township"),
    Column("开发区（园区）", "zone"),
    Column("企业名称", "name", wrap=True),
    Column("统一社会信用代码", "credit_code"),
    Column("问题描述", "description", wrap=True),
    Column("隐患等级", "severity"),
    Column("发现日期", "found_date", DATE),
    Column("整改期限", "deadline", DATE),
    Column("整改状态", "status"),
    Column("是否逾期", _overdue),
    Column("销号日期", "closed_date", DATE),
    Column("验收结果", "acceptance"),
)
UNITS = (Column("责任单位", "responsible"), Column("实施单位", _implementing))


def _item_list(sheet: str, category: str) -> ListSpec:
    return ListSpec(sheet, "items", lambda r: r["category"] == category, ITEM_HEAD + UNITS)


LISTS: tuple[ListSpec, ...] = (
    ListSpec("工业用地底数清单", "parcels", lambda r: True, PARCEL_HEAD[:3] + (
        Column("坐落", "location", wrap=True),
        Column("权利人", "right_holder", wrap=True),
        Column("用地面积（亩）", "area_mu", MU),
        Column("土地权属", "ownership"),
        Column("土地用途", "land_use"),
        Column("符合土地利用总体规划", "conforms_to_plan"),
        Column("合法用地手续", "legal_procedures"),
        Column("容积率", "plot_ratio", RATIO),
        Column("建成年份", "building_year", INT),
        Column("建筑质量", "building_condition"),
        Column("企业数", "n_enterprises", INT),
        Column("企业名称", "enterprise_names", wrap=True),
        Column("治理对象", lambda r: "、".join(t for t, k in (("亩均低效", "low_efficiency"),
                                                             ("低散乱污", "scattered_polluting"),
                                                             ("集体工业用地", "collective_problem")) if r[k]) or None,
               wrap=True),
    ) + UNITS),
    ListSpec("亩均低效治理清单", "parcels", lambda r: r["low_efficiency"], PARCEL_HEAD + (
        Column("用地面积（亩）", "area_mu", MU),
        Column("税收（万元）", "tax", WAN),
        Column("亩均税收（万元/亩）", "tax_per_mu", PER_MU),
        Column("亩均增加值（万元/亩）", "va_per_mu", PER_MU),
        Column("是否闲置", "idle"),
        Column("列入理由", lambda r: _join(r["low_efficiency_reasons"]), wrap=True),
        Column("四个一批", "batch"),
    ) + UNITS),
    _item_list("环保治理清单", "环保"),
    _item_list("安全生产治理清单", "安全生产"),
    _item_list("消防安全治理清单", "消防"),
    _item_list("违法建设治理清单", "违法建设"),
    ListSpec("低散乱污企业用地清单", "parcels", lambda r: r["scattered_polluting"], PARCEL_HEAD + (
        Column("用地面积（亩）", "area_mu", MU),
        Column("未整改较大以上隐患", "open_major_hazard"),
        Column("整改不合格", "failed_rectification"),
        Column("逾期未整改数", "n_overdue", INT),
        Column("列入理由", lambda r: _join(r["scattered_reasons"]), wrap=True),
        Column("四个一批", "batch"),
    ) + UNITS),
    ListSpec("集体工业用地治理清单", "parcels", lambda r: r["collective_problem"], PARCEL_HEAD + (
        Column("所属村集体", "village"),
        Column("用地面积（亩）", "area_mu", MU),
        Column("合法用地手续", "legal_procedures"),
        Column("容积率", "plot_ratio", RATIO),
        Column("建成年份", "building_year", INT),
        Column("建筑质量", "building_condition"),
        Column("信访件数", "n_petitions", INT),
        Column("列入理由", lambda r: _join(r["collective_reasons"]), wrap=True),
        Column("四个一批", "batch"),
    ) + UNITS),
    ListSpec("四个一批治理方案", "parcels", lambda r: r["batch"] is not None, PARCEL_HEAD + (
        Column("用地面积（亩）", "area_mu", MU),
        Column("四个一批", "batch"),
        Column("适用规则", "batch_rule", wrap=True),
        Column("亩均税收（万元/亩）", "tax_per_mu", PER_MU),
        Column("治理理由", lambda r: _join(r["reasons"]), wrap=True),
        Column("腾换空间（亩）", lambda r: r["area_mu"] if r["batch"] in ("拆除重建", "功能转型", "关停退出") else None, MU),
    ) + UNITS),
    ListSpec("亩均效益评价", "parcels", lambda r: r["rating"] is not None, PARCEL_HEAD + (
        Column("用地面积（亩）", "area_mu", MU),
        Column("评价分组", "rating_group"),
        Column("亩均税收（万元/亩）", "tax_per_mu", PER_MU),
        Column("亩均增加值（万元/亩）", "va_per_mu", PER_MU),
        Column("劳动生产率（万元/人）", "labour_productivity", PER_MU),
        Column("单位能耗增加值（万元/吨标煤）", "energy_productivity", PER_MU),
        Column("单位排放增加值（万元/吨）", "emission_productivity", PER_MU),
        Column("研发投入强度", "rd_intensity", PCT),
        Column("综合得分", "rating_score", SCORE),
        Column("组内排名", "rating_rank", INT),
        Column("组内单位数", "rating_group_size", INT),
        Column("评价等级", "rating"),
        Column("不参评说明", "exempt_names", wrap=True),
    ) + UNITS),
)

# Sheet order of SPEC §9: 汇总, the lists above, 资源要素差别化配置, 待核实; then, once ingest has
# kept a ledger snapshot, 整改销号进度 (SPEC §11).
SUMMARY_SHEET, POLICY_SHEET, VERIFY_SHEET, PROGRESS_SHEET = "汇总", "资源要素差别化配置", "待核实", "整改销号进度"
SHEET_ORDER = (SUMMARY_SHEET, *(spec.sheet for spec in LISTS), POLICY_SHEET, VERIFY_SHEET)

POLICY_COLUMNS = (
    Column("评价等级", "rating"), Column("资源要素", "resource"), Column("差别化政策", "policy", wrap=True),
    Column("地块数", "parcels", INT), Column("用地面积（亩）", "area_mu", MU), Column("责任单位", "responsible"),
)
VERIFY_COLUMNS = (
    Column("类别", "kind"), Column("数据集", "dataset"), Column("名称或编码", "subject", wrap=True),
    Column("问题", "message", wrap=True), Column("来源文件", "file", wrap=True), Column("工作表", "sheet"),
    Column("行号", "row", INT), Column("列", "column"), Column("原值", "value", wrap=True),
)

PROGRESS_COLUMNS = (
    Column("变化", "change"), Column("类别", "category"), Column("问题编号", "item_id"),
    Column("企业名称", "name", wrap=True),
    Column("地块编码", "parcel_code"), Column("镇乡（街道）", "township"), Column("隐患等级", "severity"),
    Column("整改期限", "deadline", DATE), Column("上次状态", "previous_status"), Column("本次状态", "status"),
    Column("是否逾期", lambda r: "是" if r.get("overdue") else "否"), Column("上年状态", "last_year_status"),
    Column("上年末未整改去向", "fate"),
)
