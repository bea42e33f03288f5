"""The product against an independent reference model (tests/reference_model.py, written from SPEC).

A hypothesis generator draws small registers (1–8 parcels, 0–8 enterprises, 0–10 ledger items)
full of the cases SPEC rev. 2 decides: blank optional cells, negated and unknown statuses, dates
on either side of the as-of date, figures on x.xx5 boundaries, ties and zero scores, parcel-code
lists with every separator, J and G 特征码, category hints at several levels. Each register is
written as real department files (land CSV, enterprise xlsx, ledger CSVs in department folders),
ingested and classified in-process, and every parcel's ownership, flags, batch and rating is
compared with the model's.

Bounded for `make test` (under 60 s on a shared 2-core machine), derandomised so CI sees the same
examples every run. For a longer exploration:

    LANDAUDIT_PROPERTY_EXAMPLES=1000 .venv/bin/python -m pytest tests/test_reference_property.py

The file also pins the reference model itself on hand-computed cases, so a broken reference
cannot make the property pass silently.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import reference_model as ref
from reference_model import Enterprise, Item, Parcel, Register

from conftest import write_xlsx

YEAR = 2023
EXAMPLES = int(os.environ.get("LANDAUDIT_PROPERTY_EXAMPLES", "80"))
# Shrinking a failure to a minimal register re-runs the pipeline a few hundred times (minutes);
# LANDAUDIT_PROPERTY_SHRINK=0 reports the first failing register as drawn, for quick triage.
PHASES = tuple(Phase) if os.environ.get("LANDAUDIT_PROPERTY_SHRINK", "1") != "0" else (
    Phase.explicit, Phase.reuse, Phase.generate)

# ---------------------------------------------------------------- codes

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check(body17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(ch) * w for ch, w in zip(body17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code(body9: str) -> str:
    body = "91330681" + body9
    return body + credit_check(body)


def test_credit_check_digit_known_code():
    # 华为技术有限公司's published code 914403001922038216
    assert credit_check("91440300192203821") == "6"


# ---------------------------------------------------------------- the generator

AS_OF_CHOICES = (date(2023, 12, 31), date(2023, 6, 30), date(2024, 3, 31))
TOWNSHIPS = ("陶朱街道", "暨阳街道", "店口镇")
FEATURES = ("GB", "GB", "GB", "GB", "JB", "GX", "JC", "GA")
AREAS = ("1", "1.5", "2.5", "3", "7.5", "10", "12", "12.5", "15", "16", "20", "33.35", "48.8")
PLOT_RATIOS = ("0.5", "0.994", "0.995", "1", "1.2", "2.35")
FLOOR_RATIOS = ("0.994", "0.995", "0.8", "1.5")
BUILDING_YEARS = (1985, 1992, 1993, 2000, 2015)
CONDITIONS = ("好", "一般", "差", "C级", "D级", "A级", "B级", "危房", "C", "D")
TAX_PER_MU = ("0", "4.995", "4.994", "5.005", "5", "4.99", "2.5", "8", "12.34", "30", "30", "45.6", "18")
VA_PER_MU = ("0", "10", "25.5", "40")
WORDS = ("华丰", "永盛", "金鑫", "天成", "宏达", "海亮", "盾安", "万向", "富润", "菲达", "展望", "三花")
SEPARATORS = ("、", ",", "，", ";", "；", "/", "\n", " ", "  ")
STATUSES = (None, None, None, "未整改", "整改中", "正在整改", "待整改", "未销号", "未办结", "逾期未整改", "整改中（未销号）",
            "尚未整改", "未整改完成", "已整改", "已销号", "整改完成", "整改完毕", "已完成", "已办结", "办结", "已落实",
            "整改到位", "已整改（复查通过）", " 已 销号", "整改不合格", "验收不合格", "复查不合格", "噪音未处理",
            "处理中", "已经整改")
CLOSED_HEAVY_STATUSES = (None, None, None, "已整改", "已销号", "整改完成", "已办结", "整改到位", "未整改", "整改不合格")
BOUNDARY_TAX_PER_MU = ("4.995", "4.994", "5.005", "5", "4.99", "0", "12.34", "12.34", "30")
SEVERITIES = (None, "一般", "较大", "重大", "重大事故隐患")
# 问题类别 cells: clear names mostly; some that tie (fall through) or match nothing (未定)
CATEGORY_CELLS = ("环保", "安全生产", "消防", "违法建设", "信访", "信访", "信访", "无证照", "税务", "消防安全", "生态环境",
                  "违章搭建", "乱搭乱建", "应急管理局", None, None, "安全生产、消防", "安全隐患", "其他")
PETITION_HEAVY_CELLS = ("信访", "信访", "信访", "信访", "税务", None)
LEDGER_FILES = ("问题隐患台账.csv", "环保问题台账.csv", "安全隐患排查台账.csv", "执法检查台账.csv", "消防检查台账.csv",
                "信访件台账.csv", "安全生产和消防隐患台账.csv", "违建问题台账.csv", "问题隐患台账.xlsx",
                "执法检查台账.xlsx", "隐患排查台账.xlsx")
LEDGER_SHEETS = ("Sheet1", "消防", "安全生产和消防", "环保问题", "信访件", "执法检查", "安全隐患", "违章建筑")
LEDGER_FOLDERS = ("生态环境分局", "应急管理局", "消防救援大队", "综合行政执法局", "信访局", "市场监管局", "治理办")
DATE_FORMATS = ("{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}")


def dec(text: str) -> Decimal:
    return Decimal(text)


@st.composite
def registers(draw) -> tuple[Register, dict]:
    """A register and the writing choices (code separators, date formats, file layout)."""
    as_of = draw(st.sampled_from(AS_OF_CHOICES))
    # A profile keeps most flag sources quiet so that the rule under test decides the flag alone:
    # "ledger" (clean land, productive enterprises on every parcel, many items on few parcels),
    # "land" (collective-land conditions, few closed items), "figures" (tax and plot ratio at their
    # boundaries, ratings), "mixed" (everything at once).
    profile = draw(st.sampled_from(("mixed", "ledger", "ledger", "land", "figures")))
    messy_land = profile in ("mixed", "land")
    n_parcels = draw(st.integers(1, 3) if profile == "ledger" else st.integers(1, 8))

    def pick(messy: tuple, clean: tuple, when: bool = messy_land):
        return draw(st.sampled_from(messy if when else clean))
    used_bodies: set[str] = set()

    def new_credit() -> str:
        while True:
            body = draw(st.text(CREDIT_ALPHABET, min_size=9, max_size=9))
            if body not in used_bodies:
                used_bodies.add(body)
                return credit_code(body)

    parcels = []
    for i in range(n_parcels):
        feature = draw(st.sampled_from(FEATURES))
        code = f"330681{draw(st.sampled_from(('001', '003')))}002{feature}{i + 1:05d}"
        area = dec(draw(st.sampled_from(AREAS)))
        area_m2 = area * 10000 / 15
        plot = floor = None
        mode = pick(("none", "plot", "floor", "floor"), ("none", "plot"), profile != "ledger")
        if mode == "plot":
            plot = dec(pick(PLOT_RATIOS, ("1.2", "2.35"), profile != "ledger"))
        elif mode == "floor":
            if area_m2 == area_m2.quantize(Decimal("0.01")):
                floor = (dec(draw(st.sampled_from(FLOOR_RATIOS))) * area_m2).normalize()
            else:
                floor = Decimal(draw(st.integers(500, 30000)))
        parcels.append(Parcel(
            code=code, township=draw(st.sampled_from(TOWNSHIPS)), area_mu=area,
            ownership=draw(st.sampled_from(("国有", "集体", None))),
            conforms_to_plan=pick((True, True, True, False, None, None), (True, True, None)),
            legal_procedures=pick((True, True, True, False, None), (True, None)),
            floor_area_m2=floor, plot_ratio=plot,
            building_year=pick((None, None, *BUILDING_YEARS), (None, 2000, 2015)),
            building_condition=pick((None, None, None, *CONDITIONS), (None, "好", "一般", "A级")),
            management_loose=pick((True, False, False, None, None), (False, None)),
        ))

    # Enterprises. Link modes keep SPEC §5's "or" readings from deciding anything (see the model's
    # docstring): a land right_holder_credit_code is only a credit-mode enterprise's code (or an
    # orphan's), a land right holder only a name-mode enterprise's name (or an orphan's).
    words = draw(st.permutations(WORDS))
    enterprises: list[Enterprise] = []
    names_written: dict[str, str] = {}           # enterprise name → the variant the land file shows
    free_credit = list(range(n_parcels))
    free_name = list(range(n_parcels))
    for j in range(draw(st.integers(n_parcels, 8) if profile == "ledger" else st.integers(0, 8))):
        bracket = draw(st.booleans())
        name = f"诸暨市{words[j]}（机械）有限公司" if bracket else f"诸暨市{words[j]}机械有限公司"
        mode = draw(st.sampled_from(("codes", "codes", "codes", "credit", "name", "none")))
        if profile in ("ledger", "figures") and j < n_parcels:
            mode = "cover"                   # every parcel gets a productive enterprise
        has_credit = mode == "credit" or draw(st.booleans())
        code = new_credit() if has_credit else None
        linked: list[int] = []
        listed: list[str] = []
        if mode == "cover":
            linked = [j]
            listed = [parcels[j].code]
        elif mode == "codes":
            linked = draw(st.lists(st.integers(0, n_parcels - 1), min_size=1, max_size=3, unique=True))
            listed = [parcels[k].code for k in linked]
        elif mode == "credit" and free_credit:
            linked = draw(st.lists(st.sampled_from(free_credit), min_size=1, max_size=2, unique=True))
            for k in linked:
                parcels[k].right_holder_credit_code = code
                free_credit.remove(k)
        elif mode == "name" and free_name:
            linked = draw(st.lists(st.sampled_from(free_name), min_size=1, max_size=2, unique=True))
            variant = name.replace("（", "(").replace("）", ")") if bracket else name.replace("市", "市 ", 1)
            names_written[name] = variant
            for k in linked:
                parcels[k].right_holder = variant
                free_name.remove(k)
        total_area = sum((parcels[k].area_mu for k in linked), Decimal(0)) or dec(draw(st.sampled_from(AREAS)))

        def per_mu(choices, blank_weight=1, total_area=total_area):
            k = draw(st.sampled_from((None,) * blank_weight + choices))
            return None if k is None else (dec(k) * total_area).normalize()

        def amount(lo, hi, zero=True):
            kind = draw(st.sampled_from(("none", "zero", "value", "value") if zero else ("none", "value", "value")))
            return None if kind == "none" else Decimal(0) if kind == "zero" else Decimal(draw(st.integers(lo, hi)))

        enterprises.append(Enterprise(
            name=name, credit_code=code, parcel_codes=listed,
            above_scale=draw(st.sampled_from((True, False, None))),
            tax=(per_mu(("8", "30", "45.6", "18"), 0) if mode == "cover" and profile == "ledger"
                 else per_mu(BOUNDARY_TAX_PER_MU, 0) if mode == "cover" else per_mu(TAX_PER_MU)),
            value_added=per_mu(VA_PER_MU),
            revenue=amount(10, 900), employees=amount(1, 300), energy_tce=amount(1, 500),
            rd_expense=amount(1, 40), emissions=amount(1, 80),
            backward_capacity=pick((None, False, False, True), (None, False), profile != "ledger"),
            industry_direction_ok=pick((None, True, True, False), (None, True), profile != "ledger"),
            exempt_reason=pick((None, None, None, "新建投产未满一年"), (None,), mode != "cover"),
        ))

    # Orphan right holders (no enterprise of that name / code) that ledger items can reach.
    orphans: list[tuple[str | None, str | None]] = []
    for k in list(free_name):
        if draw(st.integers(0, 3)) == 0:
            parcels[k].right_holder = f"诸暨市{k}号村经济合作社"
            orphans.append((parcels[k].right_holder, None))
    for k in list(free_credit):
        if draw(st.integers(0, 3)) == 0:
            parcels[k].right_holder_credit_code = new_credit()
            orphans.append((None, parcels[k].right_holder_credit_code))

    # Ledger files and items.
    files = draw(st.lists(st.tuples(st.sampled_from(LEDGER_FOLDERS), st.sampled_from(LEDGER_FILES)),
                          min_size=1, max_size=3, unique=True))
    # an xlsx ledger has a sheet name, the second most specific category hint
    files = [(folder, name, draw(st.sampled_from(LEDGER_SHEETS)) if name.endswith(".xlsx") else None)
             for folder, name in files]
    items: list[Item] = []
    # Some ledgers are mostly closed, some mostly 信访, so that one item can decide a flag.
    statuses = draw(st.sampled_from((STATUSES, STATUSES, CLOSED_HEAVY_STATUSES)))
    category_cells = draw(st.sampled_from((CATEGORY_CELLS, CATEGORY_CELLS, PETITION_HEAVY_CELLS)))
    n_items = {"ledger": st.integers(3, 10), "mixed": st.integers(0, 10)}.get(profile, st.integers(0, 3))
    for t in range(draw(n_items)):
        folder, file_name, sheet = draw(st.sampled_from(files))
        mode = draw(st.sampled_from(("codes", "codes", "codes", "credit", "name", "none")))
        codes: list[str] = []
        credit = name = None
        if mode == "codes":
            picks = draw(st.sampled_from(([0], [0], None)))        # items pile up on the first parcel
            if picks is None:
                picks = draw(st.lists(st.integers(0, n_parcels - 1), min_size=1, max_size=3, unique=True))
            codes = [parcels[k].code + ("F00010001" if draw(st.integers(0, 5)) == 0 else "") for k in picks]
        elif mode == "credit":
            pool = [e.credit_code for e in enterprises if e.credit_code] + [c for _, c in orphans if c]
            if pool:
                credit = draw(st.sampled_from(pool))
                owner = next((e for e in enterprises if e.credit_code == credit), None)
                if owner is not None and draw(st.booleans()):
                    name = owner.name
        elif mode == "name":
            pool = [e.name for e in enterprises] + [n for n, _ in orphans if n]
            if pool:
                base = draw(st.sampled_from(pool))
                name = draw(st.sampled_from((base, base.replace("（", "(").replace("）", ")"), " " + base + " ")))
        if not (codes or credit or name):
            name = f"未登记单位{t}"
        found = draw(st.sampled_from((None, as_of, as_of + timedelta(1), as_of - timedelta(1), as_of - timedelta(30),
                                      as_of + timedelta(20), date(2022, 11, 15), date(2023, 1, 1), date(2023, 3, 10))))
        item = Item(
            item_id=f"YH{t + 1:04d}", category_cell=draw(st.sampled_from(category_cells)),
            file_name=file_name, folders=(folder,), sheet=sheet, parcel_codes=codes, credit_code=credit, name=name,
            severity=draw(st.sampled_from(SEVERITIES)), found_date=found,
            deadline=draw(st.sampled_from((None, as_of, as_of - timedelta(1), as_of + timedelta(1)))),
            status=draw(st.sampled_from(statuses)),
            closed_date=draw(st.sampled_from((None, None, as_of, as_of + timedelta(1), as_of - timedelta(10),
                                              as_of + timedelta(40)))),
            acceptance=draw(st.sampled_from((None, None, None, "合格", "不合格"))),
        )
        if ref.resolve_category(item) == ref.PETITION:
            item.deadline = None        # 信访 items carry no rectification deadline (SPEC §11)
        items.append(item)

    layout = {
        "enterprise_separators": [draw(st.sampled_from(SEPARATORS)) for _ in enterprises],
        "item_separators": [draw(st.sampled_from(SEPARATORS)) for _ in items],
        "date_formats": [draw(st.sampled_from(DATE_FORMATS)) for _ in range(3 * len(items))],
        "names_written": names_written,
    }
    register = Register(year=YEAR, as_of=as_of, parcels=parcels, enterprises=enterprises, items=items)
    return register, layout


# ---------------------------------------------------------------- writing the department files


def yes_no(value: bool | None) -> str:
    return "" if value is None else "是" if value else "否"


def text(value) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")           # 12000, never 1.2E+4
    return "" if value is None else str(value)


def join_codes(codes: list[str], separator: str) -> str:
    if separator.strip() == "" and any(len(c) not in (19, 28) for c in codes):
        separator = "、"
    return separator.join(codes)


def write_register(root: Path, register: Register, layout: dict) -> dict[str, int]:
    """The three kinds of department file; returns the number of data rows per dataset."""
    raw = root / "data" / "raw" / str(register.year)
    land_path = raw / "自然资源和规划局" / "工业用地底数.csv"
    land_path.parent.mkdir(parents=True, exist_ok=True)
    with land_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["地块编码", "镇街", "权利人", "权利人统一社会信用代码", "用地面积（亩）", "土地权属",
                    "是否符合土地利用总体规划", "是否有合法用地手续", "建筑面积（平方米）", "容积率", "建成年份",
                    "建筑质量", "管理松散"])
        for p in register.parcels:
            w.writerow([p.code, p.township, text(p.right_holder), text(p.right_holder_credit_code), str(p.area_mu),
                        text(p.ownership), yes_no(p.conforms_to_plan), yes_no(p.legal_procedures),
                        text(p.floor_area_m2), text(p.plot_ratio), text(p.building_year),
                        text(p.building_condition), yes_no(p.management_loose)])

    rows: list[list] = [["企业名称", "统一社会信用代码", "所在地块编码", "是否规上", "税收（万元）", "工业增加值（万元）",
                         "营业收入（万元）", "从业人员", "综合能耗", "研发经费（万元）", "排放当量", "是否落后产能",
                         "是否符合产业发展导向", "不参评原因"]]

    def number(value):
        return None if value is None else float(value)

    for e, sep in zip(register.enterprises, layout["enterprise_separators"], strict=True):
        rows.append([e.name, e.credit_code, join_codes(e.parcel_codes, sep) or None, yes_no(e.above_scale) or None,
                     number(e.tax), number(e.value_added), number(e.revenue), number(e.employees),
                     number(e.energy_tce), number(e.rd_expense), number(e.emissions),
                     yes_no(e.backward_capacity) or None, yes_no(e.industry_direction_ok) or None, e.exempt_reason])
    write_xlsx(raw / "经信局" / "企业亩均效益.xlsx", rows)

    formats = iter(layout["date_formats"])

    def day(value: date | None) -> str:
        form = next(formats)
        return "" if value is None else form.format(y=value.year, m=value.month, d=value.day)

    by_file: dict[tuple, list[list[str]]] = {}
    for item, sep in zip(register.items, layout["item_separators"], strict=True):
        by_file.setdefault((item.sheet, *item.folders, item.file_name), []).append([
            item.item_id, text(item.category_cell), join_codes(item.parcel_codes, sep), text(item.credit_code),
            text(item.name), f"{item.item_id} 问题描述", text(item.severity), day(item.found_date),
            day(item.deadline), text(item.status), day(item.closed_date), text(item.acceptance)])
    if not by_file:           # a ledger with no items this year: header only
        by_file[(None, "治理办", "问题隐患台账.csv")] = []
    header = ["隐患编号", "问题类别", "地块编码", "统一社会信用代码", "企业名称", "问题描述", "隐患等级",
              "发现日期", "整改期限", "整改状态", "销号日期", "验收结果"]
    for (sheet, *parts), items in by_file.items():
        path = raw.joinpath(*parts)
        if sheet is not None:
            write_xlsx(path, [header, *[[cell or None for cell in row] for row in items]], sheet=sheet)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(items)
    return {"land": len(register.parcels), "enterprise": len(register.enterprises), "ledger": len(register.items)}


# ---------------------------------------------------------------- running the product


def run_product(root: Path, register: Register, layout: dict) -> dict[str, dict]:
    from landaudit.classify import classify
    from landaudit.ingest import ingest
    from landaudit.workspace import Workspace

    expected_rows = write_register(root, register, layout)
    ws = Workspace.at(root)
    result = ingest(ws, year=register.year)
    problems = [(f.file, f.row, f.column, f.value, f.code, f.message) for f in result.findings
                if f.level in ("reject", "error")]
    assert not problems, f"ingest rejected generated rows: {problems}"
    for entry in result.entries:
        assert not entry.error, (entry.path, entry.error)
        assert entry.rows_rejected == 0 and entry.rows_skipped == 0, (entry.path, entry.skipped)
    assert dict(result.dataset_rows) == expected_rows, (result.dataset_rows, expected_rows)
    classified = classify(ws, year=register.year, as_of=register.as_of)
    return {row["parcel_code"]: row for row in classified.tables["parcels"].to_pylist()}


COMPARED = ("ownership", "collective", "tax_per_mu", "low_efficiency", "scattered_polluting",
            "collective_problem", "in_scope", "batch", "rating")


def differences(expected: dict[str, ref.ParcelResult], actual: dict[str, dict]) -> list[str]:
    out = []
    if set(expected) != set(actual):
        return [f"parcel codes differ: expected {sorted(expected)}, product {sorted(actual)}"]
    for code, want in expected.items():
        got = actual[code]
        for name in COMPARED:
            w, g = getattr(want, name), got.get(name, "<missing column>")
            if name == "tax_per_mu":
                same = (w is None and g is None) or (
                    w is not None and isinstance(g, float) and math.isclose(w, g, rel_tol=1e-9, abs_tol=1e-9))
            elif isinstance(w, bool):
                same = g is w                     # a NULL boolean is a failure
            else:
                same = w == g
            if not same:
                out.append(f"{code} {name}: reference {w!r}, product {g!r}")
    return out


def describe(register: Register) -> str:
    lines = [f"as_of={register.as_of} year={register.year}"]
    lines += [f"  {p}" for p in register.parcels]
    lines += [f"  {e}" for e in register.enterprises]
    lines += [f"  {i} -> category {ref.resolve_category(i)}" for i in register.items]
    return "\n".join(lines)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(registers())
def test_product_agrees_with_reference_model(drawn):
    register, layout = drawn
    expected = ref.evaluate(register)
    with tempfile.TemporaryDirectory(prefix="landaudit-ref-") as tmp:
        actual = run_product(Path(tmp), register, layout)
    diffs = differences(expected, actual)
    assert not diffs, "\n".join(diffs) + "\n" + describe(register)


# ---------------------------------------------------------------- the reference pinned by hand

G1, G2, G3 = (f"330681001002GB{i:05d}" for i in (1, 2, 3))
J1 = "330681001002JB00001"
D = date(2023, 12, 31)


def one(register: Register, code: str = G1) -> ref.ParcelResult:
    return ref.evaluate(register)[code]


def test_ref_half_up_boundary_of_tax_per_mu():
    # 4.995 × 12.5 = 62.4375: shown 5.00, not low; 4.994 → 4.99, low
    not_low = one(Register(YEAR, D, [Parcel(G1, "陶朱街道", 12.5)], [Enterprise("甲", parcel_codes=[G1], tax=62.4375)]))
    assert not not_low.low_efficiency and not not_low.in_scope
    low = one(Register(YEAR, D, [Parcel(G1, "陶朱街道", 12.5)], [Enterprise("甲", parcel_codes=[G1], tax=62.425)]))
    assert low.low_efficiency and low.in_scope and low.batch == "整治提升"
    assert ref.shown(4.994999999999999) == Decimal("5.00") and ref.shown(0.995) == Decimal("1.00")


def test_ref_blank_ownership_g_code_is_state_owned_j_code_collective():
    r = ref.evaluate(Register(YEAR, D, [Parcel(G1, "陶朱街道", 10, ownership=None, legal_procedures=False),
                                        Parcel(J1, "陶朱街道", 10, ownership="国有", legal_procedures=False)]))
    assert (r[G1].ownership, r[G1].collective, r[G1].collective_problem) == ("国有", False, False)
    assert (r[J1].ownership, r[J1].collective, r[J1].collective_problem) == ("集体", True, True)


def test_ref_zero_output_parcels_are_d_and_not_ranked():
    # idle G1 and zero-tax G2 are D outright and out of n; G3 and G4 are ranked among 2 units
    parcels = [Parcel(G1, "陶朱街道", 10), Parcel(G2, "陶朱街道", 10), Parcel(G3, "陶朱街道", 10),
               Parcel("330681001002GB00004", "陶朱街道", 10)]
    ents = [Enterprise("乙", parcel_codes=[G2], tax=0), Enterprise("丙", parcel_codes=[G3], tax=100),
            Enterprise("丁", parcel_codes=["330681001002GB00004"], tax=50)]
    r = ref.evaluate(Register(YEAR, D, parcels, ents))
    assert r[G1].rating == "D" and r[G2].rating == "D"
    assert r[G3].rating == "B"                      # rank 1 of 2 → p = 0.5
    assert r["330681001002GB00004"].rating == "D"   # rank 2 of 2 → p = 1.0


def test_ref_ties_share_the_better_rank():
    parcels = [Parcel(f"330681001002GB{i:05d}", "陶朱街道", 10) for i in range(1, 5)]
    ents = [Enterprise(f"企{i}", parcel_codes=[p.code], tax=t) for i, (p, t) in enumerate(zip(parcels, (80, 80, 80, 10), strict=True))]
    r = ref.evaluate(Register(YEAR, D, parcels, ents))
    assert [r[p.code].rating for p in parcels] == ["A", "A", "A", "D"]   # 1/4 = 0.25 → A; 4/4 → D


def test_ref_exempt_parcel_is_undetermined_and_not_low():
    r = one(Register(YEAR, D, [Parcel(G1, "陶朱街道", 10)],
                     [Enterprise("甲", parcel_codes=[G1], tax=0, exempt_reason="新建投产未满一年")]))
    assert r.rating == "不定等级" and not r.low_efficiency and not r.in_scope and r.batch is None


def test_ref_status_vocabulary_and_as_of():
    assert ref.status_state("整改中（未销号）") == "open"
    assert ref.status_state(" 已 销号") == "closed"
    assert ref.status_state("整改到位") == "closed"
    assert ref.status_state("未整改完成") == "open"
    assert ref.status_state("噪音未处理") == "open"
    assert ref.status_state(None) == "open"
    assert ref.status_state("复查不合格") == "failed"
    land = [Parcel(G1, "陶朱街道", 10, conforms_to_plan=True)]
    ents = [Enterprise("甲", parcel_codes=[G1], tax=100)]

    def scattered(**kw) -> bool:
        item = Item("YH1", "环保", "问题隐患台账.csv", parcel_codes=[G1], severity="较大", **kw)
        return one(Register(YEAR, D, land, ents, [item])).scattered_polluting

    assert not scattered(status="已整改", closed_date=date(2023, 12, 31))
    assert scattered(status="已整改", closed_date=date(2024, 1, 1))      # 销号 after D → open at D
    assert not scattered(status="未整改", found_date=date(2024, 1, 1))   # found after D → not there yet
    assert scattered(status="已整改", acceptance="不合格")              # failed


def test_ref_plan_conformity_blank_falls_through_to_rectify():
    # low efficiency + old building: 拆除重建 needs an explicit 是; blank → 整治提升; 否 → 功能转型
    def batch(conforms):
        return one(Register(YEAR, D, [Parcel(G1, "陶朱街道", 10, conforms_to_plan=conforms, building_year=1990)])).batch
    assert (batch(True), batch(None), batch(False)) == ("拆除重建", "整治提升", "功能转型")


def test_ref_failed_rectification_only_in_four_categories():
    land = [Parcel(G1, "陶朱街道", 10, conforms_to_plan=True)]
    ents = [Enterprise("甲", parcel_codes=[G1], tax=100)]

    def result(category):
        item = Item("YH1", category, "问题隐患台账.csv", parcel_codes=[G1], status="整改不合格")
        return one(Register(YEAR, D, land, ents, [item]))

    assert result("违法建设").batch == "关停退出"
    assert result("税务").batch is None and not result("税务").scattered_polluting


def test_ref_category_resolution_levels():
    def cat(cell, file_name="问题隐患台账.csv", folder="治理办"):
        return ref.resolve_category(Item("YH1", cell, file_name, folders=(folder,)))

    assert cat("消防") == "消防"
    assert cat("安全隐患", folder="消防救援大队") == "未定"           # a 问题类别 matching nothing is 未定
    assert cat(None, "安全隐患排查台账.csv", "应急管理局") == "安全生产"  # generic words: folder decides
    assert cat(None, "执法检查台账.csv") == "未定"
    assert cat("安全生产、消防", "环保问题台账.csv") == "环保"          # tie in the cell: next level
    assert cat(None, "安全生产和消防隐患台账.csv", "信访局") == "信访"
    assert cat(None, "违建问题台账.csv", "生态环境分局") == "违法建设"
    assert cat("应急管理局") == "安全生产"


def test_ref_linking_by_credit_code_name_and_code_lists():
    holder = credit_code("MA2BCDE1X")
    land = [Parcel(G1, "陶朱街道", 10, right_holder_credit_code=holder),
            Parcel(G2, "陶朱街道", 30, right_holder="诸暨市 华丰(机械)有限公司"),
            Parcel(G3, "陶朱街道", 20)]
    ents = [Enterprise("诸暨市华丰（机械）有限公司", tax=120),       # by name → G2
            Enterprise("乙", parcel_codes=[G1, G3], tax=150)]          # by codes, split 10:20
    items = [Item("YH1", "消防", "台账.csv", credit_code=holder, severity="重大", status="整改中")]
    r = ref.evaluate(Register(YEAR, D, land, ents, items))
    assert r[G2].tax_per_mu == pytest.approx(4.0) and r[G2].low_efficiency
    assert r[G1].tax_per_mu == pytest.approx(5.0) and not r[G1].low_efficiency
    assert r[G3].tax_per_mu == pytest.approx(5.0)
    assert r[G1].scattered_polluting and not r[G3].scattered_polluting


# ---------------------------------------------------------------- pinned registers, product vs reference
# Each register isolates SPEC rules on separate parcels; the reference's answer is pinned by hand
# in PINNED_EXPECTED, then the product must give the same answer.


def default_layout(register: Register, separator: str = "、") -> dict:
    return {"enterprise_separators": [separator] * len(register.enterprises),
            "item_separators": [separator] * len(register.items),
            "date_formats": ["{y}-{m:02d}-{d:02d}"] * (3 * len(register.items)), "names_written": {}}


def G(i: int) -> str:
    return f"330681001002GB{i:05d}"


def J(i: int) -> str:
    return f"330681001002JB{i:05d}"


def _pinned() -> dict[str, tuple[Register, str, dict]]:
    t = "陶朱街道"
    cases: dict[str, tuple[Register, str, dict]] = {}
    # tax per mu at the half-up boundary: 62.4375 / 12.5 = 4.995, 37.455 / 7.5 = 4.994, 75 / 15 = 5
    areas_taxes = [(12.5, 62.4375), (7.5, 37.455), (15, 75), (12.5, 62.5625), (7.5, 37.4625), (3, 14.985)]
    cases["tax_boundaries"] = (Register(YEAR, D, [Parcel(G(i), t, a, conforms_to_plan=True) for i, (a, _) in enumerate(areas_taxes, 1)],
                                        [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[G(i)], tax=x)
                                         for i, (_, x) in enumerate(areas_taxes, 1)]), "、",
                               {G(1): {"low_efficiency": False}, G(2): {"low_efficiency": True},
                                G(3): {"low_efficiency": False}, G(4): {"low_efficiency": False},
                                G(5): {"low_efficiency": False}, G(6): {"low_efficiency": False}})
    # plot ratio at the boundary on collective land (cell, or floor area / area: 15 亩 = 10000 m²)
    cases["plot_ratio_boundaries"] = (Register(YEAR, D, [
        Parcel(J(1), t, 15, plot_ratio=0.995, legal_procedures=True), Parcel(J(2), t, 15, plot_ratio=0.994),
        Parcel(J(3), t, 15, floor_area_m2=9950), Parcel(J(4), t, 15, floor_area_m2=9940),
        Parcel(J(5), t, 3, floor_area_m2=1990)],
        [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[J(i)], tax=300) for i in range(1, 6)]), "、",
        {J(1): {"collective_problem": False}, J(2): {"collective_problem": True},
         J(3): {"collective_problem": False}, J(4): {"collective_problem": True},
         J(5): {"collective_problem": False}})
    # ownership: blank cell with G / J code, 国有 cell with J code, 集体 cell with G code
    cases["ownership"] = (Register(YEAR, D, [
        Parcel(G(1), t, 10, ownership=None, legal_procedures=False), Parcel(J(2), t, 10, ownership=None, legal_procedures=False),
        Parcel(J(3), t, 10, ownership="国有", management_loose=True), Parcel(G(4), t, 10, ownership="集体", building_year=1990)],
        [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[c], tax=300) for i, c in enumerate((G(1), J(2), J(3), G(4)), 1)]), "、",
        {G(1): {"ownership": "国有", "collective_problem": False}, J(2): {"ownership": "集体", "collective_problem": True},
         J(3): {"ownership": "集体", "collective_problem": True}, G(4): {"ownership": "集体", "collective_problem": True}})
    # zero output and ties in the 规下 group: idle G1, zero-tax G2 are D outright; G3–G5 tie, G6 last
    cases["zero_scores_and_ties"] = (Register(YEAR, D, [Parcel(G(i), t, 10) for i in range(1, 7)],
        [Enterprise("诸暨市零税有限公司", parcel_codes=[G(2)], tax=0)]
        + [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[G(i)], tax=x) for i, x in ((3, 80), (4, 80), (5, 80), (6, 10))]), "、",
        {G(1): {"rating": "D"}, G(2): {"rating": "D"}, G(3): {"rating": "A"}, G(4): {"rating": "A"},
         G(5): {"rating": "A"}, G(6): {"rating": "D"}})
    # 规上 group: a zero-output 规上 parcel is D and out of n and the means (scores ≈ 138.18, 108.18,
    # 39.64 → ranks 1, 2, 3 of 3 → B, B, D; counting G1 would make G2 rank 1 of 4 → A)
    big = dict(above_scale=True, value_added=500, revenue=2000, employees=100, energy_tce=200, rd_expense=60, emissions=10)
    cases["above_scale_rating"] = (Register(YEAR, D, [Parcel(G(i), t, 10) for i in range(1, 5)], [
        Enterprise("诸暨市规上甲有限公司", parcel_codes=[G(1)], tax=0, above_scale=True, value_added=0),
        Enterprise("诸暨市规上乙有限公司", parcel_codes=[G(2)], tax=400, **big),
        Enterprise("诸暨市规上丙有限公司", parcel_codes=[G(3)], tax=100, **{**big, "value_added": 100}),
        Enterprise("诸暨市规上丁有限公司", parcel_codes=[G(4)], tax=250, **{**big, "rd_expense": None})]), "、",
        {G(1): {"rating": "D"}, G(2): {"rating": "B"}, G(3): {"rating": "D"}, G(4): {"rating": "B"}})
    # statuses and the as-of date, one item per parcel (环保, 较大): which are open at D = 2023-12-31?
    cases_status = [("已整改", None, date(2023, 12, 31), None), ("已整改", None, date(2024, 1, 1), None),
                    ("未整改", date(2024, 1, 1), None, None), (None, None, date(2023, 5, 1), None),
                    ("整改中（未销号）", None, None, None), ("整改完毕", None, None, None), ("已落实", None, None, None),
                    ("整改到位", None, None, None), ("未销号", None, None, None), ("噪音未处理", None, None, None),
                    ("已整改", None, None, "不合格"), ("已办结", date(2023, 12, 31), None, None)]
    n = len(cases_status)
    cases["statuses_as_of"] = (Register(YEAR, D, [Parcel(G(i), t, 10, conforms_to_plan=True) for i in range(1, n + 1)],
        [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[G(i)], tax=300) for i in range(1, n + 1)],
        [Item(f"HB{i:03d}", "环保", "问题隐患台账.csv", ("生态环境分局",), parcel_codes=[G(i)], severity="较大",
              status=s, found_date=f, closed_date=c, acceptance=a) for i, (s, f, c, a) in enumerate(cases_status, 1)]), "、",
        {G(i): {"scattered_polluting": v} for i, v in enumerate(
            (False, True, False, True, True, False, False, False, True, True, True, False), 1)})
    # blank plan conformity: low efficiency + old building → 拆除重建 only with an explicit 是
    cases["plan_conformity"] = (Register(YEAR, D, [Parcel(G(i), t, 10, conforms_to_plan=c, building_year=1990)
                                                   for i, c in enumerate((True, None, False), 1)]), "、",
                                {G(1): {"batch": "拆除重建"}, G(2): {"batch": "整治提升"}, G(3): {"batch": "功能转型"}})
    # failed rectification: 关停退出 for 违法建设, nothing for 税务; category from the folder
    cases["failed_and_categories"] = (Register(YEAR, D, [Parcel(G(i), t, 10, conforms_to_plan=True) for i in range(1, 5)],
        [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[G(i)], tax=300) for i in range(1, 5)],
        [Item("WJ001", "违法建设", "问题隐患台账.csv", ("综合行政执法局",), parcel_codes=[G(1)], status="整改不合格"),
         Item("SW001", "税务", "问题隐患台账.csv", ("综合行政执法局",), parcel_codes=[G(2)], status="整改不合格"),
         Item("XF001", None, "安全隐患排查台账.csv", ("消防救援大队",), parcel_codes=[G(3)], severity="重大", status="整改中"),
         Item("ZF001", None, "执法检查台账.csv", ("治理办",), parcel_codes=[G(4)], severity="重大", status="整改中")]), "、",
        {G(1): {"batch": "关停退出"}, G(2): {"in_scope": False}, G(3): {"scattered_polluting": True},
         G(4): {"scattered_polluting": False}})
    # 信访: J1 has 2 of 2023 + 1 of 2022 (not frequent); J2 has 2 of 2023 + 1 undated (frequent)
    pet = [(J(1), date(2023, 3, 1)), (J(1), date(2023, 8, 1)), (J(1), date(2022, 11, 1)),
           (J(2), date(2023, 3, 1)), (J(2), date(2023, 8, 1)), (J(2), None)]
    cases["petitions"] = (Register(YEAR, D, [Parcel(J(1), t, 10), Parcel(J(2), t, 10)],
        [Enterprise(f"诸暨市企业{i}有限公司", parcel_codes=[J(i)], tax=300) for i in (1, 2)],
        [Item(f"XF{i:03d}", "信访", "信访件台账.csv", ("信访局",), parcel_codes=[c], found_date=f)
         for i, (c, f) in enumerate(pet, 1)]), "、",
        {J(1): {"collective_problem": False}, J(2): {"collective_problem": True}})
    # links: ledger by credit code → land right holder; by several codes split on spaces; enterprise by name
    holder = credit_code("MA2BCDE1X")
    cases["links"] = (Register(YEAR, D, [Parcel(G(1), t, 10, right_holder_credit_code=holder, conforms_to_plan=True),
                                          Parcel(G(2), t, 30, right_holder="诸暨市 华丰(机械)有限公司", conforms_to_plan=True),
                                          Parcel(G(3), t, 20, conforms_to_plan=True), Parcel(G(4), "店口镇", 20)],
        [Enterprise("诸暨市华丰（机械）有限公司", tax=120), Enterprise("诸暨市乙有限公司", parcel_codes=[G(1), G(3)], tax=150),
         Enterprise("诸暨市丙有限公司", parcel_codes=[G(4)], tax=1000)],
        [Item("XF001", "消防", "问题隐患台账.csv", ("消防救援大队",), credit_code=holder, severity="重大", status="整改中"),
         Item("AQ001", "安全生产", "问题隐患台账.csv", ("应急管理局",), parcel_codes=[G(3), G(4)], severity="较大",
              status="未办结")]), " ",
        {G(1): {"scattered_polluting": True, "low_efficiency": False}, G(2): {"low_efficiency": True},
         G(3): {"scattered_polluting": True}, G(4): {"scattered_polluting": True}})
    return cases


PINNED = _pinned()


@pytest.mark.parametrize("name", sorted(PINNED))
def test_ref_pinned_registers(name):
    register, _, expect = PINNED[name]
    got = ref.evaluate(register)
    for code, fields in expect.items():
        for field_name, value in fields.items():
            assert getattr(got[code], field_name) == value, (name, code, field_name, got[code].detail)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_product_on_pinned_registers(name):
    register, separator, _ = PINNED[name]
    with tempfile.TemporaryDirectory(prefix="landaudit-ref-") as tmp:
        actual = run_product(Path(tmp), register, default_layout(register, separator))
    diffs = differences(ref.evaluate(register), actual)
    assert not diffs, "\n".join(diffs)
