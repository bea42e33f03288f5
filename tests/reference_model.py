"""An independent reference model of landaudit's classify (SPEC §2 as-of date, §3–§8, rev. 2).

Plain Python written from /work/shared/SPEC.md alone: it imports nothing from `landaudit`. Its
input is the *semantic* description of a small register (what each cell a generator wrote
means), not spreadsheet bytes; its output is, per parcel, the fields of `parcels.parquet` that
the governance lists depend on. `tests/test_reference_property.py` compares it with the product.

Readings of the SPEC that this model fixes (where the SPEC is silent or could be read two ways,
the choice is written here):

Figures and rounding (SPEC §6 rev. 2)
    A threshold compares "the figure as the list shows it": decimal, half-up, 2 decimals. For a
    figure computed in binary floating point the shown figure is defined as the double first
    rounded to 12 decimals (which removes binary noise such as 4.994999999999999), then rounded
    half-up to 2 decimals: 4.995 → 5.00 (not low), 4.994 → 4.99 (low), 容积率 0.995 → 1.00.
    The same `shown()` function rounds rating indicators to 4 decimals and scores to 2 (§8).

Ownership (SPEC §4 rev. 2)
    Collective when the 土地权属 cell says 集体 or the 宗地特征码's first letter (13th character
    of the 19-character code) is J; state-owned (国有) otherwise, a blank cell included.
    `ownership` is the value used.

Linking (SPEC §5)
    Enterprise → parcels: its listed parcel codes (those in the land register); else land rows
    whose right_holder_credit_code equals its credit code; else land rows whose normalised right
    holder equals its normalised name. "Else" means "when the previous method links nothing".
    Ledger item → parcels: its parcel code(s); else its credit code → the parcels of the
    enterprise(s) with that credit code, together with land rows whose right_holder_credit_code
    equals it (union); else its normalised name → the enterprise(s) of that name's parcels,
    together with land rows of that right holder (union). The generator never builds a register
    where the union and a fallback reading ("enterprise first, land only when no enterprise")
    differ, so the choice does not decide any comparison. A 28-character 不动产单元号 stands for
    its first 19 characters. Names are compared after NFKC, brackets unified and whitespace
    removed.
    An enterprise on several parcels is split in proportion to area; several enterprises on one
    parcel are summed. A sum over enterprises that all lack a figure is missing (None), not 0.

Metrics (SPEC §5)
    A parcel with no enterprise is idle: tax, VA and revenue 0. tax_per_mu = tax / area_mu;
    labour = VA / employees, energy = VA / energy, emission = VA / emissions, rd = R&D / revenue,
    each None when the divisor is missing or ≤ 0 or the dividend is missing.
    Plot ratio: the 容积率 cell, else floor_area_m2 / area_m2 (area_m2 = area_mu × 10000 / 15),
    else missing. A missing figure satisfies no threshold: missing tax is not low efficiency,
    a missing plot ratio is not low.

Ledger at the as-of date D (SPEC §2, §3, §6 rev. 2)
    Status text: NFKC, spaces removed, a parenthesised remark dropped; then exact comparison with
    the closed words (已整改, 已销号, 整改完成, 整改完毕, 已完成, 已办结, 办结, 已落实, 整改到位) and
    the failed words (整改不合格, 验收不合格, 复查不合格). A status containing a negation (未 不 待
    尚未 没有) is never closed; anything else, a blank status included, is open. (A blank status
    with a 销号日期 is therefore open: the SPEC says an item is closed "only when its status is
    closed".)
    An item exists at D unless its found_date is after D. It is closed at D when its status is
    closed and its 销号日期, if given, is ≤ D. Failed: a failed status or acceptance 不合格.
    Overdue: exists, deadline < D, not closed. 信访 counted: found in the data year and ≤ D, or no
    found date. Severity: 一般 < 较大 < 重大 (重大事故隐患 = 重大); a blank severity is below 较大.
    An item whose category resolves to 未定 counts in nothing.

Category resolution (SPEC §3 rev. 2)
    Levels: the 问题类别 cell, the sheet name, the file name (without extension), the department
    folder(s) (innermost first). Within a level each category's strength is its strongest match:
    its own name or its department's name (strongest), else a keyword (longer beats shorter).
    Matching is by substring after NFKC and removing whitespace. Keywords are the ones SPEC §3
    names: 生态环境 → 环保, 应急 → 安全生产, 违建/违章/乱搭乱建 → 违法建设 (the categories' own names
    and the departments' names are matched anyway). Generic words (执法 检查 隐患 安全隐患 问题) are
    no keywords. A unique strongest category wins the level; a tie gives no answer at that level.
    A blank 问题类别 cell or a tie in it passes to the next level; a non-blank 问题类别 that matches
    no category is 未定 at once; when no level decides, 未定.

Targets and batches (SPEC §6, §7 rev. 2)
    low_efficiency: not exempt (a parcel with ≥ 1 enterprise, every one with an exempt reason)
    and shown tax_per_mu < 5. scattered_polluting: an existing linked item of 环保/安全生产/消防/
    违法建设 that is open with severity ≥ 较大, or failed. collective_problem: collective and one of
    legal_procedures explicitly 否; shown plot ratio < 1.0; building age (data year − building
    year) > 30 or condition exactly one of 差 C级 D级 C D 危房; an open existing 环保/安全生产/消防
    item of any severity; management_loose 是; ≥ 3 counted 信访 items. in_scope: any of the three
    or an enterprise with backward capacity.
    Batch (in-scope parcels only): 关停退出 (backward capacity or a failed item of the four
    categories), 功能转型 (plan conformity explicitly 否, or an enterprise with
    industry_direction_ok explicitly 否), 拆除重建 (plan conformity explicitly 是 and low efficiency
    and poor building), else 整治提升. A blank plan conformity satisfies neither rule 2 nor rule 3.

Rating (SPEC §8 rev. 2)
    Unit = parcel. Exempt → 不定等级. Group 规上 when any enterprise on it is above scale, else
    规下 (idle parcels included). Indicators (rounded to 4 decimals): 规上 tax_per_mu 40, va_per_mu
    20, labour 10, energy 15, emission 5, rd 10; 规下 tax_per_mu 100. A unit whose rounded
    indicators are all zero or missing is D outright and is left out of n, the ranks and the
    means. Benchmark = mean of the indicator over the group's other (rated) units that have it;
    indicator score = weight × min(value / benchmark, 1.5), 0 when the value is missing or the
    benchmark missing or ≤ 0; score rounded to 2 decimals. Rank 1 = highest, ties share the better
    (smaller) rank, p = rank / n: A ≤ 0.25 < B ≤ 0.70 < C ≤ 0.95 < D (exact fractions).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# ---------------------------------------------------------------- vocabulary (SPEC §3, §6, §8)

CATEGORY_NAMES = ("环保", "安全生产", "消防", "违法建设", "信访", "无证照", "税务")
DEPARTMENT_CATEGORIES = {
    "生态环境分局": "环保", "应急管理局": "安全生产", "消防救援大队": "消防", "综合行政执法局": "违法建设",
    "市场监管局": "无证照", "税务局": "税务", "信访局": "信访",
}
KEYWORDS = {"生态环境": "环保", "应急": "安全生产", "违建": "违法建设", "违章": "违法建设", "乱搭乱建": "违法建设"}
UNDECIDED = "未定"

CLOSED_WORDS = frozenset({"已整改", "已销号", "整改完成", "整改完毕", "已完成", "已办结", "办结", "已落实", "整改到位"})
FAILED_WORDS = frozenset({"整改不合格", "验收不合格", "复查不合格"})
NEGATIONS = ("未", "不", "待", "尚未", "没有")

SCATTERED_CATEGORIES = frozenset({"环保", "安全生产", "消防", "违法建设"})
HAZARD_CATEGORIES = frozenset({"环保", "安全生产", "消防"})
PETITION = "信访"
SEVERITY = {"一般": 1, "较大": 2, "重大": 3, "重大事故隐患": 3}
POOR_CONDITIONS = frozenset({"差", "C级", "D级", "C", "D", "危房"})

LOW_TAX_PER_MU = Decimal("5")
MIN_PLOT_RATIO = Decimal("1.0")
OLD_BUILDING_YEARS = 30
FREQUENT_PETITIONS = 3

ABOVE_WEIGHTS = {"tax_per_mu": 40, "va_per_mu": 20, "labour_productivity": 10, "energy_productivity": 15,
                 "emission_productivity": 5, "rd_intensity": 10}
BELOW_WEIGHTS = {"tax_per_mu": 100}
CAP = 1.5
CUTOFFS = (("A", Fraction(25, 100)), ("B", Fraction(70, 100)), ("C", Fraction(95, 100)))
M2_PER_MU = 10000 / 15


# ---------------------------------------------------------------- input description


@dataclass
class Parcel:
    code: str                               # the 19-character 宗地代码 as the land register holds it
    township: str
    area_mu: float
    ownership: str | None = None            # the 土地权属 cell: "国有", "集体" or None (blank)
    right_holder: str | None = None         # as written (may differ in spaces/brackets)
    right_holder_credit_code: str | None = None
    conforms_to_plan: bool | None = None
    legal_procedures: bool | None = None
    floor_area_m2: float | None = None
    plot_ratio: float | None = None
    building_year: int | None = None
    building_condition: str | None = None
    management_loose: bool | None = None


@dataclass
class Enterprise:
    name: str
    credit_code: str | None = None
    parcel_codes: list[str] = field(default_factory=list)   # the codes its 所在地块编码 cell lists
    above_scale: bool | None = None
    tax: float | None = None
    value_added: float | None = None
    revenue: float | None = None
    employees: float | None = None
    energy_tce: float | None = None
    rd_expense: float | None = None
    emissions: float | None = None
    backward_capacity: bool | None = None
    industry_direction_ok: bool | None = None
    exempt_reason: str | None = None


@dataclass
class Item:
    item_id: str
    category_cell: str | None                 # the 问题类别 value as written (None = blank)
    file_name: str                            # e.g. "问题隐患台账.csv"
    folders: tuple[str, ...] = ()             # department folder(s) under data/raw/<year>/, outermost first
    sheet: str | None = None                  # None for a CSV file
    parcel_codes: list[str] = field(default_factory=list)
    credit_code: str | None = None
    name: str | None = None
    severity: str | None = None
    found_date: date | None = None
    deadline: date | None = None
    status: str | None = None
    closed_date: date | None = None
    acceptance: str | None = None             # "合格", "不合格" or None


@dataclass
class Register:
    year: int
    as_of: date
    parcels: list[Parcel]
    enterprises: list[Enterprise] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


@dataclass
class ParcelResult:
    parcel_code: str
    ownership: str
    collective: bool
    tax_per_mu: float | None
    low_efficiency: bool
    scattered_polluting: bool
    collective_problem: bool
    in_scope: bool
    batch: str | None
    rating: str | None
    # not compared field by field, but useful when a comparison fails
    detail: dict = field(default_factory=dict, compare=False, repr=False)


# ---------------------------------------------------------------- small helpers


def shown(value: float | None, places: int = 2) -> Decimal | None:
    """The figure as a list shows it: the double rounded to 12 decimals, then decimal half-up."""
    if value is None:
        return None
    exact = Decimal(repr(round(float(value), 12)))
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def name_key(name: str | None) -> str | None:
    if name is None:
        return None
    key = compact(name)
    for opening in "[【〔〖":
        key = key.replace(opening, "(")
    for closing in "]】〕〗":
        key = key.replace(closing, ")")
    return key or None


def code19(code: str) -> str:
    code = compact(code).upper()
    return code[:19] if len(code) == 28 else code


def is_j_code(code: str) -> bool:
    code = code19(code)
    return len(code) == 19 and code[12] == "J"


def status_state(status: str | None) -> str:
    """closed, failed or open (SPEC §3 status vocabulary rev. 2); a blank status is open."""
    if status is None:
        return "open"
    text = compact(status)
    text = re.sub(r"\([^()]*\)", "", text)
    if text in FAILED_WORDS:
        return "failed"
    if text in CLOSED_WORDS and not any(word in text for word in NEGATIONS):
        return "closed"
    return "open"


def _level_answer(text: str | None) -> tuple[str, str | None]:
    """('blank', None), ('none', None) for no match, ('tie', None), or ('hit', category)."""
    if text is None or compact(text) == "":
        return "blank", None
    text = compact(text)
    strength: dict[str, tuple] = {}

    def offer(category: str, power: tuple) -> None:
        if power > strength.get(category, (0, 0)):
            strength[category] = power

    for category in CATEGORY_NAMES:
        if category in text:
            offer(category, (2, 0))
    for department, category in DEPARTMENT_CATEGORIES.items():
        if department in text:
            offer(category, (2, 0))
    for keyword, category in KEYWORDS.items():
        if keyword in text:
            offer(category, (1, len(keyword)))
    if not strength:
        return "none", None
    best = max(strength.values())
    winners = [c for c, s in strength.items() if s == best]
    return ("hit", winners[0]) if len(winners) == 1 else ("tie", None)


def resolve_category(item: Item) -> str:
    kind, category = _level_answer(item.category_cell)
    if kind == "hit":
        return category
    if kind == "none":
        return UNDECIDED                     # a 问题类别 value that matches no category
    stem = item.file_name.rsplit(".", 1)[0] if "." in item.file_name else item.file_name
    for text in (item.sheet, stem, *reversed(item.folders)):
        kind, category = _level_answer(text)
        if kind == "hit":
            return category
    return UNDECIDED


def _sum(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None or bottom <= 0:
        return None
    return top / bottom


# ---------------------------------------------------------------- the model


def enterprise_links(register: Register) -> list[list[str]]:
    """Per enterprise (register order), the parcel codes it is linked to (SPEC §5)."""
    land = {p.code: p for p in register.parcels}
    links = []
    for e in register.enterprises:
        codes = [c for c in dict.fromkeys(code19(c) for c in e.parcel_codes) if c in land]
        if not codes and e.credit_code:
            codes = [p.code for p in register.parcels if p.right_holder_credit_code == e.credit_code]
        if not codes and name_key(e.name):
            codes = [p.code for p in register.parcels if name_key(p.right_holder) == name_key(e.name)]
        links.append(codes)
    return links


def item_links(register: Register, ent_links: list[list[str]]) -> list[list[str]]:
    land = {p.code: p for p in register.parcels}
    out = []
    for item in register.items:
        codes = [c for c in dict.fromkeys(code19(c) for c in item.parcel_codes) if c in land]
        if not codes and item.credit_code:
            found = [c for e, k in zip(register.enterprises, ent_links, strict=True) if e.credit_code == item.credit_code for c in k]
            found += [p.code for p in register.parcels if p.right_holder_credit_code == item.credit_code]
            codes = list(dict.fromkeys(found))
        if not codes and name_key(item.name):
            key = name_key(item.name)
            found = [c for e, k in zip(register.enterprises, ent_links, strict=True) if name_key(e.name) == key for c in k]
            found += [p.code for p in register.parcels if name_key(p.right_holder) == key]
            codes = list(dict.fromkeys(found))
        out.append(codes)
    return out


@dataclass
class ItemState:
    category: str
    exists: bool
    closed: bool
    failed: bool
    overdue: bool
    counted_petition: bool
    severity: int


def item_state(item: Item, register: Register) -> ItemState:
    d = register.as_of
    category = resolve_category(item)
    exists = category != UNDECIDED and (item.found_date is None or item.found_date <= d)
    state = status_state(item.status)
    closed = state == "closed" and (item.closed_date is None or item.closed_date <= d)
    failed = state == "failed" or (item.acceptance is not None and compact(item.acceptance) == "不合格")
    overdue = exists and not closed and item.deadline is not None and item.deadline < d
    petition = exists and category == PETITION and (item.found_date is None or item.found_date.year == register.year)
    severity = SEVERITY.get(compact(item.severity), 0) if item.severity else 0
    return ItemState(category, exists, closed, failed, overdue, petition, severity)


def evaluate(register: Register) -> dict[str, ParcelResult]:
    """The reference answer: one ParcelResult per parcel code."""
    ent_links = enterprise_links(register)
    it_links = item_links(register, ent_links)
    states = [item_state(i, register) for i in register.items]
    area = {p.code: float(p.area_mu) for p in register.parcels}

    # enterprises on each parcel with their share
    on_parcel: dict[str, list[tuple[Enterprise, float]]] = {p.code: [] for p in register.parcels}
    for e, codes in zip(register.enterprises, ent_links, strict=True):
        total = sum(area[c] for c in codes)
        for c in codes:
            on_parcel[c].append((e, area[c] / total))
    items_on: dict[str, list[ItemState]] = {p.code: [] for p in register.parcels}
    for s, codes in zip(states, it_links, strict=True):
        for c in codes:
            items_on[c].append(s)

    results: dict[str, ParcelResult] = {}
    metrics: dict[str, dict] = {}
    groups: dict[str, str | None] = {}
    for p in register.parcels:
        ents = on_parcel[p.code]
        idle = not ents
        exempt = bool(ents) and all(e.exempt_reason is not None and e.exempt_reason.strip() != "" for e, _ in ents)
        above = any(e.above_scale is True for e, _ in ents)
        backward = any(e.backward_capacity is True for e, _ in ents)
        against = any(e.industry_direction_ok is False for e, _ in ents)

        def alloc(attr: str, ents=ents) -> float | None:
            return _sum([None if getattr(e, attr) is None else float(getattr(e, attr)) * share for e, share in ents])

        if idle:
            tax = va = revenue = 0.0
            employees = energy = emissions = rd = None
        else:
            tax, va, revenue = alloc("tax"), alloc("value_added"), alloc("revenue")
            employees, energy, emissions, rd = alloc("employees"), alloc("energy_tce"), alloc("emissions"), alloc("rd_expense")
        a = area[p.code]
        m = {
            "tax_per_mu": None if tax is None else tax / a,
            "va_per_mu": None if va is None else va / a,
            "labour_productivity": _ratio(va, employees),
            "energy_productivity": _ratio(va, energy),
            "emission_productivity": _ratio(va, emissions),
            "rd_intensity": _ratio(rd, revenue),
        }
        metrics[p.code] = m
        groups[p.code] = None if exempt else ("above" if above else "below")

        collective = (p.ownership is not None and compact(p.ownership) == "集体") or is_j_code(p.code)
        low = not exempt and m["tax_per_mu"] is not None and shown(m["tax_per_mu"]) < LOW_TAX_PER_MU

        its = [s for s in items_on[p.code] if s.exists]
        open_major = any(s.category in SCATTERED_CATEGORIES and not s.closed and s.severity >= 2 for s in its)
        failed = any(s.category in SCATTERED_CATEGORIES and s.failed for s in its)
        scattered = open_major or failed

        plot = None if p.plot_ratio is None else float(p.plot_ratio)
        if plot is None and p.floor_area_m2 is not None:
            plot = float(p.floor_area_m2) / (a * M2_PER_MU)
        low_plot = plot is not None and shown(plot) < MIN_PLOT_RATIO
        age = None if p.building_year is None else register.year - p.building_year
        poor_building = (age is not None and age > OLD_BUILDING_YEARS) or (
            p.building_condition is not None and compact(p.building_condition) in POOR_CONDITIONS)
        open_hazard = any(s.category in HAZARD_CATEGORIES and not s.closed for s in its)
        petitions = sum(1 for s in its if s.counted_petition)
        conditions = {
            "no_legal_procedures": p.legal_procedures is False,
            "low_plot_ratio": low_plot,
            "poor_building": poor_building,
            "open_safety_env_hazard": open_hazard,
            "loose_management": p.management_loose is True,
            "frequent_petitions": petitions >= FREQUENT_PETITIONS,
        }
        collective_problem = collective and any(conditions.values())
        in_scope = low or scattered or collective_problem or backward

        batch = None
        if in_scope:
            if backward or failed:
                batch = "关停退出"
            elif p.conforms_to_plan is False or against:
                batch = "功能转型"
            elif p.conforms_to_plan is True and low and poor_building:
                batch = "拆除重建"
            else:
                batch = "整治提升"
        results[p.code] = ParcelResult(
            parcel_code=p.code, ownership="集体" if collective else "国有", collective=collective,
            tax_per_mu=m["tax_per_mu"], low_efficiency=low, scattered_polluting=scattered,
            collective_problem=collective_problem, in_scope=in_scope, batch=batch, rating=None,
            detail={"idle": idle, "exempt": exempt, "above_scale": above, "backward": backward,
                    "open_major": open_major, "failed": failed, "plot_ratio": plot, "age": age,
                    "petitions": petitions, **conditions, "metrics": m,
                    "enterprises": [e.name for e, _ in ents],
                    "items": [(s.category, s.exists, s.closed, s.failed, s.severity) for s in items_on[p.code]]},
        )

    for code, rating in ratings(metrics, groups).items():
        results[code].rating = rating
    return results


def ratings(metrics: dict[str, dict], groups: dict[str, str | None]) -> dict[str, str]:
    """SPEC §8 rev. 2 over the parcels' metrics; groups: 'above', 'below' or None (exempt)."""
    out: dict[str, str] = {}
    for code, group in groups.items():
        if group is None:
            out[code] = "不定等级"
    for group, weights in (("above", ABOVE_WEIGHTS), ("below", BELOW_WEIGHTS)):
        values = {code: {k: shown(metrics[code][k], 4) for k in weights}
                  for code, g in groups.items() if g == group}
        rated = {}
        for code, v in values.items():
            if all(x is None or x == 0 for x in v.values()):
                out[code] = "D"                      # 零产出，直接列为D类
            else:
                rated[code] = v
        if not rated:
            continue
        bench = {}
        for k in weights:
            present = [float(v[k]) for v in rated.values() if v[k] is not None]
            bench[k] = sum(present) / len(present) if present else None
        scores = {}
        for code, v in rated.items():
            total = 0.0
            for k, w in weights.items():
                if v[k] is not None and bench[k] is not None and bench[k] > 0:
                    total += w * min(float(v[k]) / bench[k], CAP)
            scores[code] = shown(total, 2)
        n = len(scores)
        for code, s in scores.items():
            rank = 1 + sum(1 for other in scores.values() if other > s)
            p = Fraction(rank, n)
            out[code] = next((label for label, cut in CUTOFFS if p <= cut), "D")
    return out
