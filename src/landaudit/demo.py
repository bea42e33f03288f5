"""Deterministic synthetic department files for a Zhuji-like county (诸暨市, county code 330681).

`write_demo` builds a small *world* for the first requested year, writes every department's
files from it, then evolves the world one year and writes again. The files are views of one
consistent world, each with the mess that real department files carry (SPEC §3, §4, §14), so
that ingest, classify and export have something true to find.

World model
-----------
* `Parcel` — one industrial parcel (宗地). Its 19-character 宗地代码 follows the GB/T 37346
  layout of SPEC §4: "330681" + 3-digit 地籍区 (one per township) + 3-digit 地籍子区 +
  2-letter 特征码 (G state-owned / J collective, then mostly B) + 5-digit 顺序号. It holds the
  township, zone, area in 亩, ownership, building facts, plan conformity, legal procedures and
  the right holder (权利人): the owning enterprise, a village cooperative (collective land) or,
  for an idle parcel, a former enterprise.
* `Enterprise` — one enterprise with a GB 32100 credit code and its 亩均 figures. About 10 % of
  parcels are idle (闲置, no enterprise); most others have one owner enterprise, about 10 % have
  1–2 tenants (租赁企业) as well, and about 5 % of enterprises hold two adjacent parcels. About
  3 % give no parcel code and can only be linked by credit code or by name (SPEC §5).
* `LedgerItem` — one problem item of a department ledger (环保, 安全生产, 消防, 违法建设/乱搭乱建,
  信访), on a parcel and usually about one enterprise. Items still open at the end of a year
  carry over, with the same 编号, into the next year's ledger, where many are closed (已销号).

Deliberate traps: the land file gets one row each with an empty 地块编码, an area of 待核实, an
area of 0 (first year) or -3.5 (second year), an exact duplicate, a conflicting duplicate
and a blank row, at positions given by `land_traps`; one parcel has exactly 15 亩 and 75 万元
of tax (5.00 万元/亩, not low efficiency, SPEC §6). Department files above Excel's row
limit are written as UTF-8 CSV instead.

Evolution to the next year: taxes and output drift, a few enterprises exit (their parcels turn
idle), some idle parcels are let again, about 0.5 % of parcels are re-registered under new
codes with a newly producing enterprise, buildings age, ledgers carry over and grow.

Randomness: the world uses `random.Random(seed)`; every written file uses its own
`random.Random(f"{seed}:{year}:{label}")` for its mess (string seeds are hashed with SHA-512,
not with Python's salted `hash`). Workbooks get fixed document properties and xlsxwriter uses
fixed zip timestamps, so the same arguments give byte-identical files.
"""

from __future__ import annotations

import csv
import html
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["write_demo"]

COUNTY_CODE = "330681"
COUNTY = "诸暨市"
SYNTHETIC = "（模拟数据，仅供演示）"
XLSX_MAX_ROWS = 1_048_576
EXCEL_EPOCH = date(1899, 12, 30)
MU_M2 = 10000 / 15  # SPEC §15: 1 亩 = 10000/15 m²

# --- world parameters (shares are of parcels unless said otherwise) ---------------------------
IDLE_SHARE = 0.10
TENANT_SHARE = 0.11
SECOND_PARCEL_SHARE = 0.075  # chance that a parcel joins the previous owner's holding
NO_CODE_SHARE = 0.03  # of enterprises
COLLECTIVE_SHARE = 0.20
VILLAGE_HOLDER_SHARE = 0.5  # of collective parcels: the village cooperative is the 权利人
REPLACED_SHARE = 0.005  # re-registered parcels per year
LEDGER_SHARE_FIRST_YEAR = 0.17
LEDGER_SHARE_LATER = 0.12


class Township(NamedTuple):
    name: str
    weight: int
    subzones: int
    zone: str
    zone_share: float
    industries: tuple[str, ...]


# fmt: off
CITY_MIX = ("机械", "机械", "电子", "电子", "新材料", "环保设备", "汽配", "五金", "纺织")
RURAL_MIX = ("机械", "机械", "五金", "五金", "纺织", "纺织", "袜业", "化工", "电镀", "铸造", "新材料")

# SPEC §12: 陶朱街道 is the pilot, the 经济开发区 townships the second phase: keep them well populated.
TOWNSHIPS = (
    Township("暨阳街道", 6, 12, "经济开发区", 0.4, CITY_MIX),
    Township("浣东街道", 8, 14, "经济开发区", 0.6, CITY_MIX),
    Township("陶朱街道", 15, 20, "经济开发区", 0.85, CITY_MIX),
    Township("暨南街道", 6, 12, "经济开发区", 0.4, CITY_MIX),
    Township("大唐街道", 10, 16, "大唐工业园区", 0.6, ("袜业",) * 6 + ("纺织", "纺织", "印染", "机械")),
    Township("店口镇", 12, 18, "店口工业园区", 0.7,
             ("铜业", "铜业", "管业", "管业", "五金", "五金", "阀门", "阀门", "汽配", "铸造", "电镀")),
    Township("次坞镇", 5, 10, "", 0.0, ("五金", "五金", "五金", "机械", "机械", "铸造")),
    Township("枫桥镇", 7, 14, "枫桥工业园区", 0.5, ("服饰",) * 4 + ("纺织", "纺织", "机械", "印染")),
    Township("牌头镇", 6, 12, "牌头工业园区", 0.4, RURAL_MIX),
    Township("山下湖镇", 5, 10, "山下湖珍珠产业园", 0.5, ("珍珠",) * 5 + ("纺织", "化工")),
    Township("姚江镇", 6, 12, "", 0.0, RURAL_MIX),
    Township("璜山镇", 4, 9, "", 0.0, RURAL_MIX),
    Township("安华镇", 4, 9, "", 0.0, RURAL_MIX),
    Township("草塔镇", 3, 8, "", 0.0, RURAL_MIX),
    Township("五泄镇", 2, 6, "", 0.0, RURAL_MIX),
    Township("同山镇", 2, 6, "", 0.0, RURAL_MIX),
)
TOWNSHIP_WEIGHTS = tuple(t.weight for t in TOWNSHIPS)


class Industry(NamedTuple):
    name_word: str  # as it appears in enterprise names
    code: str  # GB/T 4754-2017 class
    polluting: bool


INDUSTRIES = {
    "袜业": Industry("袜业", "1763", False),
    "纺织": Industry("纺织", "1751", False),
    "印染": Industry("印染", "1713", True),
    "服饰": Industry("服饰", "1810", False),
    "铜业": Industry("铜业", "3251", False),
    "管业": Industry("管业", "3352", False),
    "五金": Industry("五金", "3389", False),
    "阀门": Industry("阀门", "3443", False),
    "汽配": Industry("汽车部件", "3670", False),
    "铸造": Industry("铸造", "3391", True),
    "电镀": Industry("表面处理", "3360", True),
    "化工": Industry("化工", "2669", True),
    "珍珠": Industry("珍珠", "2438", False),
    "机械": Industry("机械", "3499", False),
    "电子": Industry("电子科技", "3989", False),
    "新材料": Industry("新材料科技", "2929", False),
    "环保设备": Industry("环保科技", "3591", False),
}

BRAND_CHARS = "华盛天宏鑫达永丰金利恒泰兴瑞宇海东方诚信通力展博新亚光明正中德凯越隆昌辉富佳汇源嘉帆骏锦荣建立星龙腾顺安康美豪浩宝盈远翔"
VILLAGE_CHARS = "新联光明东南西北和平前后山湖桥溪塘岭坞家园里下上江泉石龙凤花竹枫林沙"
ROADS = ("工业大道", "望云路", "陶朱南路", "东二路", "环城北路", "金属路", "创业路", "科技路",
         "兴业路", "永兴路", "园区路", "振兴路", "城东路", "新民路", "建业路", "五金路", "袜业路")
CONDITIONS_STATE = (("好", 40), ("一般", 45), ("差", 7), ("C级", 6), ("D级", 2))
CONDITIONS_COLLECTIVE = (("好", 20), ("一般", 45), ("差", 15), ("C级", 14), ("D级", 6))
CONDITION_ORDER = ("好", "一般", "差", "C级", "D级")
FEATURE_SECOND = (("B", 85), ("A", 3), ("S", 3), ("X", 2), ("C", 1), ("D", 1), ("E", 1),
                  ("F", 1), ("H", 1), ("W", 1), ("Y", 1))
EXEMPT_REASONS = ("新投产企业", "兼并重组企业", "政府征迁企业", "新建未满三年")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code inside the credit code

# --- ledgers (SPEC §3 ledger) -----------------------------------------------------------------
CATEGORY_WEIGHTS = (("环保", 30), ("安全生产", 28), ("消防", 20), ("违法建设", 14), ("信访", 8))
ID_PREFIX = {"环保": "HB{y}", "安全生产": "AJ-{y}-", "消防": "XF{y}", "违法建设": "WJ-{y}-",
             "信访": "XFJ{y}-"}
DESCRIPTIONS = {
    "环保": ("废气收集处理设施未正常运行", "危险废物贮存不规范", "雨污分流不彻底", "无组织排放明显",
             "环评手续不全", "废水超标排放", "VOCs治理设施缺失", "固废露天堆放"),
    "安全生产": ("特种设备未定期检验", "有限空间作业无审批", "粉尘涉爆场所除尘系统不规范",
                 "危化品储存不规范", "安全管理制度不健全", "厂房结构老化存在坍塌风险", "电气线路私拉乱接"),
    "消防": ("消防通道堵塞", "灭火器过期失效", "疏散指示标志缺失", "违规住人（三合一）",
             "自动喷淋系统故障", "室内消火栓无水", "彩钢板房违规使用"),
    "违法建设": ("厂区内违章搭建钢棚约{n}平方米", "未经审批擅自加层约{n}平方米",
                 "占用绿化带搭建简易房约{n}平方米", "违规搭建临时仓库约{n}平方米"),
    "信访": ("夜间生产噪声扰民", "废气异味扰民", "拖欠工资", "货车进出扬尘", "污水直排河道"),
}
SEVERITY_WEIGHTS = (("一般", 70), ("较大", 22), ("重大", 8))
OPEN = ("未整改", "整改中", "整改不合格")
CLOSED = ("已整改", "已销号")
STATUS_DUE = (("已销号", 40), ("已整改", 25), ("整改中", 15), ("未整改", 14), ("整改不合格", 6))
STATUS_NOT_DUE = (("整改中", 45), ("未整改", 35), ("已整改", 12), ("已销号", 8))
STATUS_CARRIED = {
    "未整改": (("已销号", 45), ("已整改", 15), ("整改中", 25), ("未整改", 10), ("整改不合格", 5)),
    "整改中": (("已销号", 55), ("已整改", 20), ("整改中", 15), ("整改不合格", 10)),
    "整改不合格": (("已销号", 35), ("整改中", 25), ("整改不合格", 40)),
}
# fmt: on

# ============================================================================================
# World model
# ============================================================================================


@dataclass(slots=True, eq=False)
class Parcel:
    code: str
    township: str
    zone: str
    location: str
    area_mu: float
    ownership: str  # 国有 / 集体, consistent with the 特征码
    land_use: str
    plot_ratio: float
    building_year: int
    condition: str
    conforms_plan: bool
    legal: bool
    village: str
    loose: bool
    tax_level: float  # 万元/亩 the parcel's owner produces
    holder: str = ""
    holder_credit: str = ""
    show_holder_credit: bool = True
    enterprises: list[Enterprise] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Enterprise:
    credit_code: str
    name: str
    township: str
    industry: str
    tenant: bool
    parcels: list[Parcel] = field(default_factory=list)
    tax: float = 0.0
    value_added: float = 0.0
    revenue: float = 0.0
    employees: int = 0
    energy_tce: float = 0.0
    rd_expense: float = 0.0
    emissions: float = 0.0
    above_scale: bool = False
    backward: bool = False
    direction_ok: bool = True
    exempt_reason: str = ""
    link: str = "code"  # code | credit | name: how the enterprise file lets it be linked
    active: bool = True


@dataclass(slots=True, eq=False)
class LedgerItem:
    item_id: str
    category: str
    parcel: Parcel
    enterprise: Enterprise | None
    keys: str  # all | name | credit: which keys the department recorded
    description: str
    severity: str
    found: date
    deadline: date
    status: str
    closed: date | None
    acceptance: str


@dataclass(slots=True, eq=False)
class World:
    rng: random.Random
    year: int
    parcels: list[Parcel] = field(default_factory=list)
    enterprises: list[Enterprise] = field(default_factory=list)
    items: list[LedgerItem] = field(default_factory=list)
    seq_by_subzone: dict[tuple[int, int], int] = field(default_factory=dict)
    villages: dict[tuple[int, int], str] = field(default_factory=dict)
    credit_codes: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    hotspots: list[Parcel] = field(default_factory=list)
    boundary: Parcel | None = None


# --- codes -----------------------------------------------------------------------------------


def uscc_check_char(body17: str) -> str:
    """GB 32100-2015 check character of the first 17 characters of a credit code (SPEC §4)."""
    total = sum(USCC_VALUE[ch] * w for ch, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_check_char(body8: str) -> str:
    total = sum(int(ch, 36) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _new_credit_code(world: World, prefix: str = "91") -> str:
    rng = world.rng
    while True:
        if rng.random() < 0.6:  # newer registrations: MA + ...
            body = "MA2" + "".join(rng.choice(USCC_ALPHABET) for _ in range(5))
        else:
            body = "".join(rng.choice("0123456789") for _ in range(8))
        body17 = prefix + COUNTY_CODE + body + _org_check_char(body)
        code = body17 + uscc_check_char(body17)
        if code not in world.credit_codes:
            world.credit_codes.add(code)
            return code


def _new_parcel_code(world: World, town_index: int, subzone: int, collective: bool) -> str:
    key = (town_index, subzone)
    seq = world.seq_by_subzone.get(key, world.rng.randint(0, 40)) + world.rng.randint(1, 3)
    world.seq_by_subzone[key] = seq
    feature = ("J" if collective else "G") + _weighted(world.rng, FEATURE_SECOND)
    return f"{COUNTY_CODE}{town_index:03d}{subzone:03d}{feature}{seq:05d}"


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


# --- names -----------------------------------------------------------------------------------


def _new_enterprise_name(world: World, industry: str) -> str:
    rng = world.rng
    word = INDUSTRIES[industry].name_word
    for attempt in range(60):
        # two-character brands run out in big worlds: fall back to longer ones
        brand_len = 2 if attempt < 4 else 3 if attempt < 30 else 4
        brand = "".join(rng.choice(BRAND_CHARS) for _ in range(brand_len))
        r = rng.random()
        if r < 0.60:
            name = f"诸暨市{brand}{word}有限公司"
        elif r < 0.75:
            name = f"浙江{brand}{word}有限公司"
        elif r < 0.80:
            name = f"浙江{brand}{word}股份有限公司"
        elif r < 0.88:  # bracketed region: the (） vs () trap of SPEC §4
            name = f"{brand}（{rng.choice(('诸暨', '浙江'))}）{word}有限公司"
        elif r < 0.95:
            name = f"诸暨{brand}{word}厂"
        else:
            name = f"绍兴{brand}{word}有限公司"
        if name not in world.names:
            world.names.add(name)
            return name
    raise RuntimeError("enterprise name space exhausted")  # unreachable at supported sizes


def _village(world: World, town_index: int, subzone: int) -> str:
    key = (town_index, subzone)
    if key not in world.villages:
        world.villages[key] = "".join(world.rng.sample(VILLAGE_CHARS, 2)) + "村"
    return world.villages[key]


# --- parcels ---------------------------------------------------------------------------------


def _new_parcel(world: World) -> Parcel:
    rng = world.rng
    town_index = rng.choices(range(len(TOWNSHIPS)), weights=TOWNSHIP_WEIGHTS)[0]
    town = TOWNSHIPS[town_index]
    subzone = rng.randint(1, town.subzones)
    collective = rng.random() < COLLECTIVE_SHARE
    village = _village(world, town_index + 1, subzone) if collective else ""
    area = min(600.0, max(0.8, rng.lognormvariate(math.log(18), 0.85)))
    if collective:
        plot_ratio = rng.triangular(0.3, 2.0, 0.8)
        old = rng.random() < 0.35
    else:
        plot_ratio = rng.triangular(0.4, 2.5, 1.2)
        old = rng.random() < 0.12
    building_year = rng.randint(1975, 1992) if old else rng.randint(1993, 2021)
    if collective:
        location = f"{town.name}{village}{rng.randint(1, 300)}号"
    else:
        location = f"{town.name}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
    return Parcel(
        code=_new_parcel_code(world, town_index + 1, subzone, collective),
        township=town.name,
        zone=town.zone if rng.random() < town.zone_share else "",
        location=location,
        area_mu=round(area, 2),
        ownership="集体" if collective else "国有",
        land_use="工业用地" if rng.random() < 0.95 else "仓储用地",
        plot_ratio=round(plot_ratio, 2),
        building_year=building_year,
        condition=_weighted(rng, CONDITIONS_COLLECTIVE if collective else CONDITIONS_STATE),
        conforms_plan=rng.random() < (0.80 if collective else 0.95),
        legal=rng.random() < (0.70 if collective else 0.99),
        village=village,
        loose=collective and rng.random() < 0.25,
        # long tail tuned so that about 30 % of parcels (idle ones included) end below 5 万元/亩
        tax_level=min(300.0, rng.lognormvariate(math.log(12), 1.1)),
    )


def _town_of(parcel: Parcel) -> Township:
    return TOWNSHIPS[int(parcel.code[6:9]) - 1]


# --- enterprises -----------------------------------------------------------------------------


def _new_enterprise(world: World, parcel: Parcel, *, tenant: bool) -> Enterprise:
    industry = world.rng.choice(_town_of(parcel).industries)
    ent = Enterprise(
        credit_code=_new_credit_code(world),
        name=_new_enterprise_name(world, industry),
        township=parcel.township,
        industry=industry,
        tenant=tenant,
    )
    _attach(ent, parcel)
    world.enterprises.append(ent)
    return ent


def _attach(ent: Enterprise, parcel: Parcel) -> None:
    ent.parcels.append(parcel)
    parcel.enterprises.append(ent)


def _set_holder(world: World, parcel: Parcel, ent: Enterprise | None) -> None:
    """The 权利人: the owner enterprise, else a village cooperative or a former enterprise."""
    rng = world.rng
    if parcel.ownership == "集体" and (ent is None or rng.random() < VILLAGE_HOLDER_SHARE):
        parcel.holder = f"{parcel.village}股份经济合作社"
        parcel.holder_credit = _new_credit_code(world, prefix="N2")
        parcel.show_holder_credit = rng.random() < 0.7
    elif ent is None:
        industry = rng.choice(_town_of(parcel).industries)
        parcel.holder = _new_enterprise_name(world, industry)
        parcel.holder_credit = _new_credit_code(world)
        parcel.show_holder_credit = rng.random() < 0.8
    else:
        parcel.holder = ent.name
        parcel.holder_credit = ent.credit_code
        parcel.show_holder_credit = rng.random() < 0.8


def _populate(world: World) -> None:
    """Owners, second parcels of the previous owner, tenants and idle parcels, in code order."""
    rng = world.rng
    previous: Enterprise | None = None
    for parcel in world.parcels:
        if rng.random() < IDLE_SHARE:
            _set_holder(world, parcel, None)
            previous = None
            continue
        if (
            previous is not None
            and len(previous.parcels) == 1
            and previous.township == parcel.township
            and parcel.ownership == "国有"
            and rng.random() < SECOND_PARCEL_SHARE / (1 - IDLE_SHARE)
        ):
            _attach(previous, parcel)
            _set_holder(world, parcel, previous)
            owner = previous
        else:
            owner = _new_enterprise(world, parcel, tenant=False)
            _set_holder(world, parcel, owner)
        if rng.random() < TENANT_SHARE:
            for _ in range(rng.choice((1, 1, 2))):
                _new_enterprise(world, parcel, tenant=True)
        previous = owner if parcel.holder == owner.name else None


def _set_figures(world: World, ent: Enterprise) -> None:
    """Tax from the parcels' tax level, other 亩均 inputs derived from it (SPEC §5, §8)."""
    rng = world.rng
    share = rng.uniform(0.05, 0.35) if ent.tenant else 1.0
    tax = sum(p.tax_level * p.area_mu for p in ent.parcels) * share
    ent.tax = round(tax, 2)
    _derive_from_tax(rng, ent)
    polluting = INDUSTRIES[ent.industry].polluting
    ent.backward = rng.random() < (0.10 if polluting else 0.012)
    ent.direction_ok = rng.random() >= (0.15 if polluting else 0.02)
    if rng.random() < 0.01:
        ent.exempt_reason = rng.choice(EXEMPT_REASONS)


def _derive_from_tax(rng: random.Random, ent: Enterprise) -> None:
    revenue = ent.tax / rng.uniform(0.025, 0.06) if ent.tax > 0 else rng.uniform(5, 50)
    ent.revenue = round(revenue, 2)
    ent.value_added = round(revenue * rng.uniform(0.15, 0.32), 2)
    ent.employees = max(3, int(revenue / rng.uniform(60, 160)))
    ent.energy_tce = round(revenue * rng.lognormvariate(math.log(0.04), 0.6), 2)
    ent.rd_expense = round(revenue * rng.uniform(0.0, 0.045), 2) if rng.random() < 0.7 else 0.0
    ent.emissions = round(revenue * rng.uniform(0.0005, 0.005), 3)
    ent.above_scale = ent.revenue >= 2000  # 规模以上: 主营业务收入 2000 万元及以上


def _choose_link_modes(world: World) -> None:
    """About 3 % of enterprises give no parcel code: half by credit code, half by name (SPEC §5)."""
    rng = world.rng
    eligible = [
        e
        for e in world.enterprises
        if not e.tenant and len(e.parcels) == 1 and e.parcels[0].holder == e.name
    ]
    wanted = min(len(eligible), round(len(world.enterprises) * NO_CODE_SHARE))
    for i, ent in enumerate(rng.sample(eligible, wanted)):
        parcel = ent.parcels[0]
        if i % 2 == 0:
            ent.link = "credit"
            parcel.show_holder_credit = True
        else:
            ent.link = "name"
            parcel.show_holder_credit = False


def _build_world(parcels: int, rng: random.Random, year: int) -> World:
    world = World(rng=rng, year=year)
    world.parcels = sorted((_new_parcel(world) for _ in range(parcels)), key=lambda p: p.code)
    _populate(world)
    for ent in world.enterprises:
        _set_figures(world, ent)
    _choose_link_modes(world)
    _plant_boundary_case(world)
    return world


def _plant_boundary_case(world: World) -> None:
    """SPEC §6: 75 万元 of tax on exactly 15 亩 is 5.00 万元/亩 and is not low efficiency."""

    def fits(parcel: Parcel) -> bool:
        if len(parcel.enterprises) != 1:
            return False
        ent = parcel.enterprises[0]
        return (
            ent.link == "code"
            and len(ent.parcels) == 1
            and not ent.exempt_reason
            and not ent.backward
        )

    if world.boundary is None or world.boundary not in world.parcels or not fits(world.boundary):
        candidates = [p for p in world.parcels if fits(p)]
        world.boundary = candidates[len(candidates) // 3] if candidates else None
    if world.boundary is not None:
        world.boundary.area_mu = 15.0
        world.boundary.enterprises[0].tax = 75.0


# --- evolution -------------------------------------------------------------------------------


def _evolve_world(world: World, year: int) -> None:
    world.year = year
    _replace_parcels(world)
    _exit_enterprises(world)
    _let_idle_parcels(world)
    _drift_figures(world)
    _age_parcels(world)
    _plant_boundary_case(world)


def _replace_parcels(world: World) -> None:
    """A few parcels are re-registered (e.g. after 拆除重建) with a newly producing enterprise."""
    rng = world.rng
    count = round(len(world.parcels) * REPLACED_SHARE)
    gone = set(rng.sample(range(len(world.parcels)), count))
    for index in sorted(gone):
        for ent in world.parcels[index].enterprises:
            ent.parcels.remove(world.parcels[index])
            ent.active = ent.active and bool(ent.parcels)
    kept = [p for i, p in enumerate(world.parcels) if i not in gone]
    for _ in range(count):
        parcel = _new_parcel(world)
        owner = _new_enterprise(world, parcel, tenant=False)
        _set_holder(world, parcel, owner)
        _set_figures(world, owner)
        if rng.random() < 0.6:
            owner.exempt_reason = "新投产企业"
        kept.append(parcel)
    world.parcels = sorted(kept, key=lambda p: p.code)


def _exit_enterprises(world: World) -> None:
    rng = world.rng
    for ent in world.enterprises:
        if not ent.active:
            continue
        chance = 0.4 if ent.backward else 0.08 if ent.tenant else 0.03
        if rng.random() < chance:
            ent.active = False
            for parcel in ent.parcels:
                parcel.enterprises.remove(ent)
    world.enterprises = [e for e in world.enterprises if e.active]


def _let_idle_parcels(world: World) -> None:
    rng = world.rng
    for parcel in world.parcels:
        if not parcel.enterprises and rng.random() < 0.25:
            ent = _new_enterprise(world, parcel, tenant=True)
            _set_figures(world, ent)
            ent.tenant = False  # the main user now, though not the 权利人


def _drift_figures(world: World) -> None:
    rng = world.rng
    for ent in world.enterprises:
        factor = rng.lognormvariate(0.04, 0.22)
        ent.tax = round(ent.tax * factor, 2)
        for name in ("revenue", "value_added", "energy_tce", "rd_expense"):
            setattr(ent, name, round(getattr(ent, name) * factor * rng.uniform(0.95, 1.05), 2))
        ent.emissions = round(ent.emissions * rng.uniform(0.85, 1.05), 3)
        ent.employees = max(3, round(ent.employees * rng.uniform(0.9, 1.1)))
        ent.above_scale = ent.revenue >= 2000
        if ent.exempt_reason and rng.random() < 0.5:
            ent.exempt_reason = ""


def _age_parcels(world: World) -> None:
    rng = world.rng
    for parcel in world.parcels:
        if rng.random() < 0.03 and parcel.condition != "D级":
            parcel.condition = CONDITION_ORDER[CONDITION_ORDER.index(parcel.condition) + 1]
        if parcel.ownership == "集体" and rng.random() < 0.10:
            parcel.loose = not parcel.loose


# --- ledgers ---------------------------------------------------------------------------------


def _ledger_year(world: World, first: bool) -> None:
    """Carry open items over, then add this year's new items and 信访 hotspots."""
    carried = [] if first else _carry_over(world)
    share = LEDGER_SHARE_FIRST_YEAR if first else LEDGER_SHARE_LATER
    new: list[LedgerItem] = []
    rng = world.rng
    for parcel in world.parcels:
        if rng.random() < share:
            for _ in range(rng.choice((1, 1, 1, 1, 1, 1, 1, 2, 2, 3))):
                new.append(_new_item(world, parcel, _category_for(rng, parcel), first))
    for parcel in _choose_hotspots(world):
        for _ in range(rng.randint(3, 5)):  # SPEC §6: ≥ 3 信访 items = 信访问题多发
            item = _new_item(world, parcel, "信访", first)
            item.keys = "all"
            new.append(item)
    _number_items(new)
    world.items = carried + new


def _category_for(rng: random.Random, parcel: Parcel) -> str:
    polluting = any(INDUSTRIES[e.industry].polluting for e in parcel.enterprises)
    if polluting and rng.random() < 0.4:
        return "环保"
    return _weighted(rng, CATEGORY_WEIGHTS)


def _choose_hotspots(world: World) -> list[Parcel]:
    occupied = [p for p in world.parcels if p.enterprises]
    collective = [p for p in occupied if p.ownership == "集体"]
    count = min(len(occupied), max(2, len(world.parcels) // 400))
    from_collective = min(len(collective), count // 2)
    chosen = world.rng.sample(collective, from_collective)
    rest = [p for p in occupied if p.ownership != "集体"]
    chosen += world.rng.sample(rest, min(len(rest), count - from_collective))
    world.hotspots = sorted(chosen, key=lambda p: p.code)
    return world.hotspots


def _new_item(world: World, parcel: Parcel, category: str, first: bool) -> LedgerItem:
    rng = world.rng
    year = world.year
    found_year = year - 1 if first and rng.random() < 0.15 else year
    found = date(found_year, 1, 1) + timedelta(days=rng.randint(0, 333))
    deadline = found + timedelta(days=rng.choice((15, 30, 60, 90, 180)))
    year_end = date(year, 12, 31)
    status = _weighted(rng, STATUS_DUE if deadline <= year_end else STATUS_NOT_DUE)
    closed = None
    if status in CLOSED:
        latest = min(year_end, deadline + timedelta(days=30))
        closed = found + timedelta(days=rng.randint(3, max(3, (latest - found).days)))
    ent = rng.choice(parcel.enterprises) if parcel.enterprises else None
    return LedgerItem(
        item_id="",
        category=category,
        parcel=parcel,
        enterprise=ent,
        keys=_item_keys(rng, ent, category),
        description=_description(rng, category),
        severity=_weighted(rng, SEVERITY_WEIGHTS),
        found=found,
        deadline=deadline,
        status=status,
        closed=closed,
        acceptance=_acceptance(rng, status),
    )


def _item_keys(rng: random.Random, ent: Enterprise | None, category: str) -> str:
    r = rng.random()
    if ent is None or r < 0.85:
        return "all"
    if r < 0.93 or category not in ("环保", "安全生产"):
        return "name"
    return "credit"


def _description(rng: random.Random, category: str) -> str:
    text = rng.choice(DESCRIPTIONS[category])
    return text.format(n=rng.randint(2, 60) * 10) if "{n}" in text else text


def _acceptance(rng: random.Random, status: str) -> str:
    if status == "已销号":
        return "合格"
    if status == "整改不合格":
        return "不合格"
    if status == "已整改" and rng.random() < 0.5:
        return "合格"
    return ""


def _number_items(items: list[LedgerItem]) -> None:
    """编号 = department prefix + year found + sequence; new numbers never clash with carried ones."""
    items.sort(key=lambda it: (it.found, it.parcel.code))
    counters: dict[tuple[str, int], int] = {}
    for item in items:
        key = (item.category, item.found.year)
        counters[key] = counters.get(key, 0) + 1
        item.item_id = ID_PREFIX[item.category].format(y=item.found.year) + f"{counters[key]:05d}"


def _carry_over(world: World) -> list[LedgerItem]:
    """Items open at the end of last year appear again, with the same 编号 (SPEC §11)."""
    rng = world.rng
    year = world.year
    carried = []
    for item in world.items:
        if item.status not in OPEN:
            continue
        item.status = _weighted(rng, STATUS_CARRIED[item.status])
        if item.status in CLOSED:
            item.closed = date(year, 1, 15) + timedelta(days=rng.randint(0, 300))
        elif item.deadline < date(year, 1, 1) and rng.random() < 0.5:
            item.deadline = date(year, 1, 1) + timedelta(days=rng.randint(30, 330))  # 延期
        item.acceptance = _acceptance(rng, item.status)
        carried.append(item)
    return carried


# ============================================================================================
# Cell mess (SPEC §4, §14)
# ============================================================================================

FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def _fullwidth(text: str) -> str:
    return text.translate(FULLWIDTH)


def _yes_no(rng: random.Random, value: bool, alt: tuple[str, str] = ("符合", "不符合")) -> str:
    r = rng.random()
    if r < 0.88:
        return "是" if value else "否"
    if r < 0.94:
        return "√" if value else "×"
    return alt[0] if value else alt[1]


def _date_text(rng: random.Random, d: date) -> str:
    """One of the five date spellings of SPEC §4."""
    r = rng.random()
    if r < 0.40:
        return d.isoformat()
    if r < 0.60:
        return f"{d.year}/{d.month}/{d.day}"
    if r < 0.70:
        return f"{d.year}.{d.month}.{d.day}"
    if r < 0.90:
        return f"{d.year}年{d.month}月{d.day}日"
    return d.strftime("%Y%m%d")


def _land_code_cell(rng: random.Random, code: str) -> str:
    r = rng.random()
    if r < 0.03:  # 28-character 不动产单元号: 宗地代码 + F + 8 digits
        return f"{code}F0001{rng.randint(1, 20):04d}"
    if r < 0.04:
        return f"{code[:6]} {code[6:9]} {code[9:12]} {code[12:]}"
    if r < 0.05:
        return _fullwidth(code)
    if r < 0.055:
        return code.lower()
    return code


def _number_cell(rng: random.Random, value: float) -> Any:
    """Mostly a number; sometimes text with thousands separators, full-width digits or a dash."""
    r = rng.random()
    if r < 0.03:
        return f"{value:,.2f}"
    if r < 0.035:
        return _fullwidth(f"{value:.2f}")
    if r < 0.038:
        return rng.choice(("—", "/"))
    return value


# ============================================================================================
# Table writing: one spec, written as .xlsx or, above the sheet row limit, as CSV
# ============================================================================================


@dataclass(slots=True)
class Formula:
    text: str
    value: float


@dataclass(slots=True)
class Table:
    """A department sheet: title rows, a one- or two-row header, data rows, 合计 and notes."""

    sheet: str
    titles: list[str]  # rows above the header, merged across; "" is a blank row
    header: list[tuple[str, tuple[str, ...]]]  # (parent, children); no children = one column
    kinds: list[str]  # per column: text int dec2 money date date_cn
    rows: Iterable[list[Any] | None]  # None is a blank row
    row_count: int  # data rows, blank ones included
    total: tuple[str, int, dict[int, Any]] | None = None  # label, last merged column, values
    notes: list[str] = field(default_factory=list)
    author: str = ""

    @property
    def columns(self) -> list[str]:
        return [c for parent, children in self.header for c in (children or (parent,))]

    @property
    def sheet_rows(self) -> int:
        header_rows = 2 if any(children for _, children in self.header) else 1
        return (
            len(self.titles)
            + header_rows
            + self.row_count
            + (1 if self.total else 0)
            + len(self.notes)
        )


def _write_table(table: Table, path: Path, year: int) -> Path:
    """Write as .xlsx, or as UTF-8 CSV when the sheet would pass Excel's row limit (SPEC §14)."""
    if table.sheet_rows > XLSX_MAX_ROWS:
        path = path.with_suffix(".csv")
        _write_table_csv(table, path)
    else:
        _write_table_xlsx(table, path, year)
    return path


def _write_table_csv(table: Table, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for title in table.titles:
            writer.writerow([title] if title else [])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([] if row is None else [_csv_value(v) for v in row])
        if table.total:
            label, _, values = table.total
            cells = [""] * len(table.columns)
            cells[0] = label
            for col, value in values.items():
                cells[col] = _csv_value(value)
            writer.writerow(cells)
        for note in table.notes:
            writer.writerow([note])


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Formula):
        return _csv_value(value.value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _formats(workbook: Any) -> dict[str, Any]:
    """Every format is created once per workbook, never per cell."""
    border = {"border": 1, "valign": "vcenter"}
    return {
        "title": workbook.add_format(
            {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}
        ),
        "subtitle": workbook.add_format({"align": "left", "valign": "vcenter"}),
        "header": workbook.add_format(
            {**border, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}
        ),
        "text": workbook.add_format(border),
        "int": workbook.add_format({**border, "num_format": "0"}),
        "dec2": workbook.add_format({**border, "num_format": "0.00"}),
        "money": workbook.add_format({**border, "num_format": "#,##0.00"}),
        "date": workbook.add_format({**border, "num_format": "yyyy-mm-dd"}),
        "date_cn": workbook.add_format({**border, "num_format": 'yyyy"年"m"月"d"日"'}),
        "total": workbook.add_format({**border, "bold": True, "num_format": "#,##0.00"}),
        "note": workbook.add_format({"align": "left"}),
    }


def _column_width(header: str) -> float:
    if any(word in header for word in ("名称", "单位", "权利人", "坐落", "描述", "内容")):
        return 30
    if any(word in header for word in ("编码", "代码", "编号")):
        return 24
    return max(8.0, min(16.0, len(header) * 1.6 + 2))


def _write_table_xlsx(table: Table, path: Path, year: int) -> None:
    import xlsxwriter  # heavy import kept local: the CLI imports this module eagerly

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties(
        {
            "title": table.titles[0] if table.titles else table.sheet,
            "author": table.author,
            "comments": "模拟数据，仅供演示",
            "created": datetime(year + 1, 1, 10, 9, 0, 0),  # fixed: byte-identical reruns
        }
    )
    fmt = _formats(workbook)
    sheet = workbook.add_worksheet(table.sheet)
    columns = table.columns
    last = len(columns) - 1
    for col, name in enumerate(columns):
        sheet.set_column(col, col, _column_width(name))
    row = _write_titles(sheet, table.titles, last, fmt)
    row = _write_header(sheet, row, table.header, fmt["header"])
    sheet.freeze_panes(row, 0)
    row = _write_rows(sheet, row, table, fmt)
    if table.total:
        row = _write_total(sheet, row, table.total, fmt)
    for note in table.notes:
        sheet.merge_range(row, 0, row, last, note, fmt["note"])
        row += 1
    workbook.close()


def _write_titles(sheet: Any, titles: list[str], last: int, fmt: dict[str, Any]) -> int:
    for row, title in enumerate(titles):
        if title:
            if row == 0:
                sheet.set_row(0, 30)
            sheet.merge_range(row, 0, row, last, title, fmt["title" if row == 0 else "subtitle"])
    return len(titles)


def _write_header(sheet: Any, row: int, header: list[tuple[str, tuple[str, ...]]], fmt: Any) -> int:
    if not any(children for _, children in header):
        for col, (name, _) in enumerate(header):
            sheet.write_string(row, col, name, fmt)
        return row + 1
    # Two-row header. In constant_memory mode a row is flushed as soon as a later row is
    # touched, and a formatted merge_range pads its lower cells, so a vertical merge would
    # flush the parent row half-written. Merging without a format records the range without
    # padding; the cells are then written row by row.
    col = 0
    for name, children in header:
        if children:
            sheet.merge_range(row, col, row, col + len(children) - 1, name, fmt)
            col += len(children)
        else:
            sheet.merge_range(row, col, row + 1, col, name)
            sheet.write_string(row, col, name, fmt)
            col += 1
    col = 0
    for _, children in header:
        for child in children or (None,):
            if child is None:
                sheet.write_blank(row + 1, col, None, fmt)
            else:
                sheet.write_string(row + 1, col, child, fmt)
            col += 1
    return row + 2


def _write_rows(sheet: Any, row: int, table: Table, fmt: dict[str, Any]) -> int:
    col_formats = [fmt[kind] for kind in table.kinds]
    text_fmt = fmt["text"]
    write_string, write_number = sheet.write_string, sheet.write_number
    for cells in table.rows:
        if cells is not None:
            for col, value in enumerate(cells):
                if value is None:
                    continue
                kind = type(value)
                if kind is str:
                    write_string(row, col, value, text_fmt)
                elif kind is date:
                    write_number(row, col, (value - EXCEL_EPOCH).days, col_formats[col])
                elif kind is Formula:
                    sheet.write_formula(row, col, value.text, col_formats[col], value.value)
                else:
                    write_number(row, col, value, col_formats[col])
        row += 1
    return row


def _write_total(
    sheet: Any, row: int, total: tuple[str, int, dict[int, Any]], fmt: dict[str, Any]
) -> int:
    label, merged_to, values = total
    if merged_to > 0:
        sheet.merge_range(row, 0, row, merged_to, label, fmt["total"])
    else:
        sheet.write_string(row, 0, label, fmt["total"])
    for col, value in values.items():
        if isinstance(value, Formula):
            sheet.write_formula(row, col, value.text, fmt["total"], value.value)
        else:
            sheet.write_number(row, col, value, fmt["total"])
    return row + 1


def _excel_col(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# ============================================================================================
# Department files
# ============================================================================================

LAND_HEADER = [
    ("序号", ()),
    ("地块编码", ()),
    ("所属镇街", ()),
    ("所属园区", ()),
    ("坐落", ()),
    ("权利人", ()),
    ("权利人统一社会信用代码", ()),
    ("用地情况", ("用地面积（亩）", "土地权属", "土地用途")),
    ("建筑情况", ("建筑面积（平方米）", "容积率", "建成年份", "建筑质量")),
    ("是否符合土地利用总体规划", ()),
    ("是否有合法用地手续", ()),
    ("所属村集体", ()),
    ("是否管理松散", ()),
]
LAND_KINDS = [
    "int",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "dec2",
    "text",
    "text",
    "dec2",
    "dec2",
    "int",
    "text",
    "text",
    "text",
    "text",
    "text",
]
LAND_AREA_COL = 7


class LandTraps(NamedTuple):
    """Where the deliberately bad rows go: after the parcel with this 0-based index."""

    empty_code: int
    pending_area: int
    zero_area: int
    duplicate_of: int
    duplicate_at: int
    conflict_of: int
    conflict_at: int
    blank: int


def land_traps(parcel_count: int) -> LandTraps:
    def at(share: float) -> int:
        return min(parcel_count - 1, int(parcel_count * share))

    return LandTraps(
        empty_code=at(0.15),
        pending_area=at(0.30),
        zero_area=at(0.45),
        duplicate_of=at(0.20),
        duplicate_at=at(0.60),
        conflict_of=at(0.25),
        conflict_at=at(0.75),
        blank=at(0.50),
    )


def _land_row(rng: random.Random, parcel: Parcel, seq: int, exact: bool) -> list[Any]:
    area: Any = parcel.area_mu
    mess = 1.0 if exact else rng.random()  # the SPEC §6 boundary parcel stays clean
    if mess < 0.01:
        area = f"{parcel.area_mu:.2f}"  # number stored as text
    elif mess < 0.02:
        # float noise (SPEC §14); xlsxwriter writes 16 significant digits, so keep it visible
        area = parcel.area_mu + 2e-12
    ownership = parcel.ownership
    if rng.random() < 0.01:  # conflicts with the 特征码 letter: a data-quality finding
        ownership = "国有" if ownership == "集体" else "集体"
    holder = parcel.holder + (" " if rng.random() < 0.01 else "")
    floor_area = round(parcel.plot_ratio * parcel.area_mu * MU_M2, 2)
    return [
        seq,
        _land_code_cell(rng, parcel.code),
        parcel.township,
        parcel.zone or None,
        parcel.location,
        holder,
        parcel.holder_credit if parcel.show_holder_credit else None,
        area,
        ownership,
        parcel.land_use,
        floor_area,
        parcel.plot_ratio if rng.random() >= 0.05 else None,
        parcel.building_year if rng.random() >= 0.02 else None,
        parcel.condition,
        _yes_no(rng, parcel.conforms_plan),
        _yes_no(rng, parcel.legal, ("有", "无")),
        parcel.village or None,
        _yes_no(rng, parcel.loose),
    ]


def _land_rows(
    world: World, rng: random.Random, traps: LandTraps, year_index: int
) -> Iterator[list[Any] | None]:
    seq = 0
    kept: dict[int, list[Any]] = {}
    for index, parcel in enumerate(world.parcels):
        seq += 1
        row = _land_row(rng, parcel, seq, parcel is world.boundary)
        if index in (traps.duplicate_of, traps.conflict_of):
            kept[index] = row
        yield row
        if index == traps.empty_code:
            seq += 1
            yield _extra_land_row(world, rng, seq, code=None, area=12.5)
        if index == traps.duplicate_at:  # duplicate_at >= duplicate_of, so the row is kept
            yield list(kept[traps.duplicate_of])  # exact copy, 序号 included
        if index == traps.pending_area:
            seq += 1
            yield _extra_land_row(world, rng, seq, code="new", area="待核实")
        if index == traps.zero_area:
            seq += 1
            area = 0.0 if year_index % 2 == 0 else -3.5
            yield _extra_land_row(world, rng, seq, code="new", area=area)
        if index == traps.blank:
            yield None
        if index == traps.conflict_at:
            seq += 1
            yield _conflicting_row(world.parcels[traps.conflict_of], kept[traps.conflict_of], seq)


def _extra_land_row(
    world: World, rng: random.Random, seq: int, *, code: str | None, area: Any
) -> list[Any]:
    """A parcel row that is not part of the world: the land file's rejects."""
    town_index = rng.randrange(len(TOWNSHIPS))
    town = TOWNSHIPS[town_index]
    parcel_code = None
    if code == "new":  # a 地籍子区 no world parcel uses, so the code is unique
        parcel_code = (
            f"{COUNTY_CODE}{town_index + 1:03d}{town.subzones + 1:03d}GB9{seq % 10000:04d}"
        )
    brand = "".join(rng.choice(BRAND_CHARS) for _ in range(2))
    holder = f"诸暨{brand}{rng.choice(('五金', '纺织', '机械'))}加工厂"  # a form no world name has
    return [
        seq,
        parcel_code,
        town.name,
        None,
        f"{town.name}{rng.choice(ROADS)}{rng.randint(1, 999)}号",
        holder,
        None,
        area,
        "国有",
        "工业用地",
        None,
        None,
        None,
        "一般",
        "是",
        "是",
        None,
        "否",
    ]


def _conflicting_row(parcel: Parcel, original: list[Any], seq: int) -> list[Any]:
    row = list(original)
    row[0] = seq
    row[1] = parcel.code
    row[LAND_AREA_COL] = round(parcel.area_mu * 1.1 + 1, 2)
    row[12] = (parcel.building_year or 2000) - 3
    return row


def _write_land(world: World, folder: Path, rng: random.Random, year_index: int) -> Path:
    year = world.year
    traps = land_traps(len(world.parcels))
    total_area = round(sum(p.area_mu for p in world.parcels), 2)
    area_col = _excel_col(LAND_AREA_COL)
    first_data_row = 5  # 1-based: two title rows and two header rows above
    last_data_row = first_data_row + len(world.parcels) + 6 - 1
    table = Table(
        sheet="工业用地底数",
        titles=[
            f"{COUNTY}工业用地底数清单（{year}年）{SYNTHETIC}",
            f"填报单位：{COUNTY}自然资源和规划局　　　　数据截止：{year}年12月31日",
        ],
        header=LAND_HEADER,
        kinds=LAND_KINDS,
        rows=_land_rows(world, rng, traps, year_index),
        row_count=len(world.parcels) + 6,
        total=(
            "合计",
            6,
            {
                LAND_AREA_COL: Formula(
                    f"=SUM({area_col}{first_data_row}:{area_col}{last_data_row})", total_area
                )
            },
        ),
        notes=["填表人：张三    审核人：李四", "注：面积单位为亩。"],
        author="自然资源和规划局",
    )
    return _write_table(table, folder / "自然资源和规划局" / f"工业用地底数_{year}.xlsx", year)


ENTERPRISE_HEADER = [
    (name, ())
    for name in (
        "序号",
        "统一社会信用代码",
        "企业名称",
        "所在地块编码",
        "所属镇街",
        "是否规上",
        "税收（万元）",
        "工业增加值（万元）",
        "营业收入（万元）",
        "年平均职工人数",
        "综合能耗（吨标煤）",
        "研发经费（万元）",
        "排放当量（吨）",
        "是否落后产能",
        "是否符合产业发展导向",
        "行业代码",
        "不参评原因",
    )
]
ENTERPRISE_KINDS = [
    "int",
    "text",
    "text",
    "text",
    "text",
    "text",
    "money",
    "money",
    "money",
    "int",
    "dec2",
    "dec2",
    "dec2",
    "text",
    "text",
    "text",
    "text",
]


def _enterprise_name_cell(rng: random.Random, ent: Enterprise) -> str:
    """Names differ from the land file's 权利人 in brackets or trailing spaces (SPEC §4)."""
    variant = ent.link == "name" or rng.random() < 0.02
    if not variant:
        return ent.name
    if "（" in ent.name:
        return ent.name.replace("（", "(").replace("）", ")")
    return ent.name + rng.choice((" ", "  ", "\u3000"))


def _credit_cell(rng: random.Random, ent: Enterprise, spaced: bool) -> str | None:
    code = ent.credit_code
    if ent.link == "name" and rng.random() < 0.34:
        return None  # neither code: linkable by name only, else 待核实
    if spaced:
        return " ".join(code[i : i + 6] for i in range(0, 18, 6))
    if rng.random() < 0.01:  # wrong check digit
        wrong = USCC_ALPHABET[(USCC_VALUE[code[-1]] + rng.randint(1, 30)) % 31]
        return code[:-1] + wrong
    return code


def _enterprise_row(
    rng: random.Random, ent: Enterprise, seq: int, spaced: bool, exact: bool
) -> list[Any]:
    codes = None
    if ent.link == "code":
        codes = rng.choice(("、", "；")).join(p.code for p in ent.parcels)
    if rng.random() < 0.85:
        scale = "规上" if ent.above_scale else "规下"
    else:
        scale = "是" if ent.above_scale else "否"
    return [
        seq,
        _credit_cell(rng, ent, spaced),
        _enterprise_name_cell(rng, ent),
        codes,
        ent.township,
        scale,
        ent.tax if exact else _number_cell(rng, ent.tax),
        ent.value_added,
        ent.revenue,
        ent.employees,
        ent.energy_tce,
        ent.rd_expense,
        ent.emissions,
        "是" if ent.backward else "否",
        _yes_no(rng, ent.direction_ok),
        INDUSTRIES[ent.industry].code,
        ent.exempt_reason or None,
    ]


def _write_enterprises(world: World, folder: Path, rng: random.Random) -> Path:
    year = world.year
    ents = world.enterprises
    spaced_index = len(ents) // 7
    exact = world.boundary.enterprises[0] if world.boundary is not None else None

    def rows() -> Iterator[list[Any]]:
        for i, ent in enumerate(ents):
            yield _enterprise_row(rng, ent, i + 1, i == spaced_index, ent is exact)

    sums = {
        6: sum(e.tax for e in ents),
        7: sum(e.value_added for e in ents),
        8: sum(e.revenue for e in ents),
        9: sum(e.employees for e in ents),
        10: sum(e.energy_tce for e in ents),
        11: sum(e.rd_expense for e in ents),
        12: sum(e.emissions for e in ents),
    }
    table = Table(
        sheet="亩均效益评价数据",
        titles=[f"{COUNTY}工业企业亩均效益评价数据（{year}年度）{SYNTHETIC}"],
        header=ENTERPRISE_HEADER,
        kinds=ENTERPRISE_KINDS,
        rows=rows(),
        row_count=len(ents),
        total=("合计", 5, {col: round(value, 2) for col, value in sums.items()}),
        notes=[f"填表人：王五    审核人：赵六    填报日期：{year + 1}年1月10日"],
        author="经济和信息化局",
    )
    return _write_table(table, folder / "经信局" / f"亩均效益_{year}.xlsx", year)


def _items(world: World, *categories: str) -> list[LedgerItem]:
    chosen = [it for it in world.items if it.category in categories]
    return sorted(chosen, key=lambda it: (it.found, it.item_id))


def _item_name(rng: random.Random, item: LedgerItem) -> str:
    if item.keys == "credit":
        return ""
    if item.enterprise is None:
        return item.parcel.holder if rng.random() < 0.6 else ""
    name = item.enterprise.name
    return name + " " if rng.random() < 0.02 else name


def _item_credit(rng: random.Random, item: LedgerItem) -> str:
    if item.enterprise is None or item.keys == "name":
        return ""
    if item.keys == "credit" or rng.random() < 0.8:
        return item.enterprise.credit_code
    return ""


def _item_code(item: LedgerItem) -> str:
    return item.parcel.code if item.keys == "all" else ""


def _write_environment(world: World, folder: Path, rng: random.Random) -> Path:
    """GBK CSV with a title line above the header and five date spellings (SPEC §4, §14)."""
    path = folder / "生态环境分局" / f"环保问题隐患台账_{world.year}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"生态环境分局问题隐患台账（{world.year}年）{SYNTHETIC}"])
        writer.writerow(
            [
                "隐患编号",
                "企业名称",
                "统一社会信用代码",
                "地块编码",
                "问题描述",
                "隐患等级",
                "发现日期",
                "整改期限",
                "整改状态",
                "销号日期",
                "验收结果",
            ]
        )
        for item in _items(world, "环保"):
            closed = item.closed if item.status == "已销号" and item.closed else None
            writer.writerow(
                [
                    item.item_id,
                    _item_name(rng, item),
                    _item_credit(rng, item),
                    _item_code(item),
                    item.description,
                    item.severity,
                    _date_text(rng, item.found),
                    _date_text(rng, item.deadline),
                    item.status,
                    _date_text(rng, closed) if closed else "",
                    item.acceptance,
                ]
            )
    return path


def _date_cell(rng: random.Random, d: date | None) -> Any:
    if d is None:
        return None
    return _date_text(rng, d) if rng.random() < 0.04 else d


def _write_safety(world: World, folder: Path, rng: random.Random) -> Path:
    """Real Excel date cells, a few dates typed as text; 重大事故隐患 = 重大 (SPEC §3)."""
    items = _items(world, "安全生产")

    def rows() -> Iterator[list[Any]]:
        for seq, item in enumerate(items, start=1):
            severity = item.severity
            if severity == "重大" and rng.random() < 0.5:
                severity = "重大事故隐患"
            done = item.closed if item.status in CLOSED else None
            yield [
                seq,
                item.item_id,
                _item_name(rng, item) or None,
                _item_credit(rng, item) or None,
                _item_code(item) or None,
                item.description,
                severity,
                _date_cell(rng, item.found),
                _date_cell(rng, item.deadline),
                item.status,
                _date_cell(rng, done),
            ]

    header = [
        (name, ())
        for name in (
            "序号",
            "问题编号",
            "被检查单位",
            "统一社会信用代码",
            "宗地代码",
            "隐患内容",
            "隐患等级",
            "检查日期",
            "整改时限",
            "整改情况",
            "整改完成日期",
        )
    ]
    table = Table(
        sheet="隐患排查台账",
        titles=[f"{COUNTY}安全生产隐患排查治理台账（{world.year}年）{SYNTHETIC}", ""],
        header=header,
        kinds=[
            "int",
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "date",
            "date",
            "text",
            "date",
        ],
        rows=rows(),
        row_count=len(items),
        notes=["注：重大事故隐患实行挂牌督办。"],
        author="应急管理局",
    )
    path = folder / "应急管理局" / f"安全生产隐患排查台账_{world.year}.xlsx"
    return _write_table(table, path, world.year)


def _write_fire(world: World, folder: Path, rng: random.Random, encoding: str) -> Path:
    """An HTML table saved as .xls, as some government systems export (SPEC §14)."""
    columns = (
        "编号",
        "单位名称",
        "地块编码",
        "问题描述",
        "问题等级",
        "发现日期",
        "整改期限",
        "整改状态",
    )
    title = f"{COUNTY}消防救援大队消防安全隐患清单（{world.year}年）{SYNTHETIC}"
    lines = [
        f'<html><head><meta charset="{encoding}"><title>消防隐患清单</title></head><body>',
        '<table border="1">',
        f'<tr><td colspan="{len(columns)}">{html.escape(title)}</td></tr>',
        "<tr>" + "".join(f"<td>{c}</td>" for c in columns) + "</tr>",
    ]
    for item in _items(world, "消防"):
        cells = (
            item.item_id,
            _item_name(rng, item),
            _item_code(item),
            item.description,
            item.severity,
            _fire_date(rng, item.found),
            _fire_date(rng, item.deadline),
            item.status,
        )
        lines.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    lines.append("</table></body></html>")
    path = folder / "消防救援大队" / f"消防隐患清单_{world.year}.xls"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _fire_date(rng: random.Random, d: date) -> str:
    return d.isoformat() if rng.random() < 0.8 else f"{d.year}年{d.month}月{d.day}日"


def _write_violations(world: World, folder: Path, rng: random.Random) -> Path:
    items = _items(world, "违法建设")

    def rows() -> Iterator[list[Any]]:
        for seq, item in enumerate(items, start=1):
            kind = "违法建设" if rng.random() < 0.7 else "乱搭乱建"
            yield [
                seq,
                item.item_id,
                _item_name(rng, item) or None,
                _item_code(item) or None,
                kind,
                item.description,
                item.severity,
                item.found,
                item.deadline,
                item.status,
            ]

    header = [
        (name, ())
        for name in (
            "序号",
            "编号",
            "企业名称",
            "地块编码",
            "问题类别",
            "问题描述",
            "问题等级",
            "发现日期",
            "整改期限",
            "整改状态",
        )
    ]
    table = Table(
        sheet="违法建设台账",
        titles=[f"{COUNTY}综合行政执法局违法建设（乱搭乱建）台账（{world.year}年）{SYNTHETIC}"],
        header=header,
        kinds=["int", "text", "text", "text", "text", "text", "text", "date_cn", "date_cn", "text"],
        rows=rows(),
        row_count=len(items),
        author="综合行政执法局",
    )
    path = folder / "综合行政执法局" / f"违法建设台账_{world.year}.xlsx"
    return _write_table(table, path, world.year)


def _write_petitions(world: World, folder: Path, rng: random.Random) -> Path:
    """UTF-8 with BOM, header on the first line, the synthetic note at the bottom."""
    path = folder / "信访局" / f"信访件汇总_{world.year}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "企业名称", "地块编码", "问题内容", "发现日期", "整改状态"])
        for item in _items(world, "信访"):
            found = item.found.isoformat() if rng.random() < 0.7 else f"{item.found:%Y/%m/%d}"
            writer.writerow(
                [
                    item.item_id,
                    _item_name(rng, item),
                    _item_code(item),
                    item.description,
                    found,
                    item.status,
                ]
            )
        writer.writerow([f"注：本表为{SYNTHETIC[1:-1]}。"])
    return path


INSTRUCTIONS = """亩均效益评价数据填报说明（模拟数据，仅供演示）

一、填报范围：{county}行政区域内使用工业用地的全部工业企业，含租赁企业。
二、所在地块编码：填写19位宗地代码；企业使用多宗地块的，用顿号“、”分隔。
三、税收、工业增加值、营业收入以万元为单位，保留两位小数；综合能耗以吨标准煤为单位。
四、是否规上：填写“规上”或“规下”。
五、新投产、兼并重组等不参加评价的企业，在“不参评原因”栏注明。
六、报送时间：{next_year}年1月15日前报送经信局。
"""


def _write_instructions(folder: Path, year: int) -> Path:
    """A non-data file: ingest must report it, not guess (SPEC §3)."""
    path = folder / "经信局" / "填报说明.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(INSTRUCTIONS.format(county=COUNTY, next_year=year + 1), encoding="utf-8")
    return path


def _write_year(world: World, folder: Path, seed: int, year_index: int, newest: bool) -> list[Path]:
    year = world.year

    def rng(label: str) -> random.Random:
        return random.Random(f"{seed}:{year}:{label}")

    for department in ("自然资源和规划局", "经信局", "应急管理局", "综合行政执法局"):
        (folder / department).mkdir(parents=True, exist_ok=True)
    paths = [
        _write_land(world, folder, rng("land"), year_index),
        _write_enterprises(world, folder, rng("enterprise")),
        _write_environment(world, folder, rng("environment")),
        _write_safety(world, folder, rng("safety")),
        _write_fire(world, folder, rng("fire"), "gbk" if year_index % 2 == 0 else "utf-8"),
        _write_violations(world, folder, rng("violations")),
        _write_petitions(world, folder, rng("petitions")),
    ]
    if newest:
        paths.append(_write_instructions(folder, year))
    return paths


# ============================================================================================
# Public API
# ============================================================================================


def write_demo(
    raw_dir: Path, *, parcels: int = 2000, seed: int = 20231, years: tuple[int, ...] = (2022, 2023)
) -> list[Path]:
    """Write synthetic department files into raw_dir/<year>/ for each year; return the paths written (sorted)."""
    if isinstance(parcels, bool) or not isinstance(parcels, int) or parcels < 1:
        raise ValueError(f"地块数必须是正整数，收到：{parcels!r}")
    if not years or len(set(years)) != len(years):
        raise ValueError(f"年份不能为空且不能重复，收到：{years!r}")
    if any(isinstance(y, bool) or not isinstance(y, int) or not 2000 <= y <= 2100 for y in years):
        raise ValueError(f"年份必须是 2000–2100 之间的整数，收到：{years!r}")
    raw_dir = Path(raw_dir)
    rng = random.Random(seed)
    ordered = sorted(years)
    written: list[Path] = []
    world: World | None = None
    for index, year in enumerate(ordered):
        if world is None:
            world = _build_world(parcels, rng, year)
        else:
            _evolve_world(world, year)
        _ledger_year(world, first=index == 0)
        folder = raw_dir / str(year)
        written += _write_year(world, folder, seed, index, newest=year == ordered[-1])
    return sorted(written)


# --- refusing to mix fake files with real ones (issue 13) -----------------------------------------

DEMO_RECORD = ".landaudit-demo.json"     # in data/raw/: the files the demo wrote, with their sha256


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def foreign_files(raw_dir: Path) -> list[Path]:
    """Files under data/raw/ the demo did not write (or that were changed since): real department
    files that a demo must not be mixed with."""
    import json

    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        return []
    try:
        written = json.loads((raw_dir / DEMO_RECORD).read_text("utf-8"))
    except (OSError, ValueError):
        written = {}
    from landaudit.workspace import is_department_file

    foreign = []                     # .gitkeep, Thumbs.db, ~$ owner files: no department sent them
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file() and is_department_file(p, raw_dir)):
        relative = path.relative_to(raw_dir).as_posix()
        if written.get(relative) != _sha256(path):
            foreign.append(path)
    return foreign


def record_demo(raw_dir: Path, paths: list[Path]) -> None:
    """Remember what the demo wrote, so a later `landaudit demo` can tell its files from real ones."""
    import json

    from landaudit.workspace import write_json

    raw_dir = Path(raw_dir)
    try:
        known = json.loads((raw_dir / DEMO_RECORD).read_text("utf-8"))
    except (OSError, ValueError):
        known = {}
    known.update({p.relative_to(raw_dir).as_posix(): _sha256(p) for p in paths})
    write_json(raw_dir / DEMO_RECORD, dict(sorted(known.items())))
