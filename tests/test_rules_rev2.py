"""Given/expect tests of the SPEC rev. 2 classify rules (§2 as-of, §4 ownership, §5 links, §6
targets, §7 batches, §8 ratings, §10 KPIs) and of the data tests classify runs on itself.
Every expectation is computed by hand in the comment beside it."""

from __future__ import annotations

import functools
import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from landaudit.classify import (
    _param_tables,
    _read_inputs,
    default_as_of,
    recorded_as_of,
    run_data_tests,
    run_models,
    sql_models,
)
from landaudit.config import load_config
from landaudit.errors import DataTestError
from landaudit.workspace import Workspace

from builders import CODE, JCODE, ent, given, item, land

P1, P2, P3 = CODE.format(1), CODE.format(2), CODE.format(3)

# ---------------------------------------------------------------- SPEC §4: blank 土地权属


@pytest.mark.parametrize(("code", "cell", "ownership", "collective"), [
    (CODE.format(1), None, "国有", False),      # G code, blank cell: state-owned, never NULL
    (CODE.format(1), "国有", "国有", False),
    (CODE.format(1), "集体", "集体", True),      # the cell says 集体
    (JCODE.format(1), None, "集体", True),       # J 特征码, blank cell: the list shows 集体
    (JCODE.format(1), "国有", "集体", True),     # J wins over a 国有 cell (a data-quality finding)
    (JCODE.format(1), "集体", "集体", True),
    ("ABC123", None, "国有", False),             # a nonstandard code says nothing
])
def test_ownership_is_collective_or_state_never_unknown(tmp_path, code, cell, ownership, collective):
    # old building (1980: 43 years) makes any collective parcel a collective_problem
    parcels, _ = given(tmp_path, [land(1, code=code, ownership=cell, building_year=1980)],
                       [ent("企业1", [code], 100.0)])
    p = parcels[code]
    assert (p["ownership"], p["collective"], p["collective_problem"]) == (ownership, collective, collective)
    assert p["in_scope"] is collective                        # 100 / 10 = 10 万元/亩: not low
    assert any(r.startswith("集体土地") for r in p["reasons"]) is collective


BLANKABLE_LAND = ("zone", "location", "right_holder", "right_holder_credit_code", "ownership", "land_use",
                  "conforms_to_plan", "legal_procedures", "floor_area_m2", "plot_ratio", "building_year",
                  "building_condition", "village", "management_loose")


@pytest.mark.parametrize("column", BLANKABLE_LAND)
def test_every_blank_optional_land_column_leaves_no_null_boolean(tmp_path, column):
    # every optional column filled, then one blanked; both a state and a J parcel
    full = dict(zone="经开区", location="某路 1 号", right_holder="企业1", right_holder_credit_code="9144030071526726XG",
                ownership="集体", land_use="工业", conforms_to_plan=True, legal_procedures=False,
                floor_area_m2=5000.0, plot_ratio=0.75, building_year=2000, building_condition="好", village="某村",
                management_loose=False)
    rows = [land(1, **{**full, column: None}), land(2, code=JCODE.format(2), **{**full, column: None})]
    parcels, _ = given(tmp_path, rows, [ent("企业1", [P1], 10.0)])
    raw = {"conforms_to_plan", "legal_procedures", "management_loose"}
    for p in parcels.values():
        nulls = [k for k, v in p.items() if isinstance(v, bool) is False and v is None and k in BOOLEAN_COLUMNS - raw]
        assert nulls == []
        assert p["ownership"] in ("国有", "集体")


BOOLEAN_COLUMNS = {
    "above_scale", "exempt", "idle", "low_efficiency", "scattered_polluting", "collective_problem", "in_scope",
    "collective", "open_major_hazard", "failed_rectification", "open_safety_env_hazard", "no_legal_procedures",
    "low_plot_ratio", "poor_building", "loose_management", "frequent_petitions", "conforms_plan",
    "nonconforming_plan", "plan_unknown", "against_industry_direction", "backward_capacity", "zero_output",
    "in_scope_area", "conforms_to_plan", "legal_procedures", "management_loose",
}


# ---------------------------------------------------------------- SPEC §6 (rev. 2): decimal rounding

@pytest.mark.parametrize(("tax", "area", "low", "shown"), [
    (99.9, 20.0, False, None),       # 4.995 (4.99499… in binary) → 5.00: not low
    (99.88, 20.0, True, "4.99"),     # 4.994 → 4.99: low, and the reason says 4.99
    (49.95, 10.0, False, None),      # 4.995
    (14.985, 3.0, False, None),      # 4.995
    (100.1, 20.0, False, None),      # 5.005
    (74.925, 15.0, False, None),     # 4.995
    (74.91, 15.0, True, "4.99"),     # 4.994
])
def test_tax_per_mu_rounds_half_up_as_the_list_shows(tmp_path, tax, area, low, shown):
    parcels, _ = given(tmp_path, [land(1, area=area)], [ent("企业1", [P1], tax)])
    p = parcels[P1]
    assert p["low_efficiency"] is low
    assert p["low_efficiency_reasons"] == ([f"亩均税收 {shown} 万元/亩，低于 5.0 万元/亩"] if low else [])


@pytest.mark.parametrize(("plot_ratio", "low", "shown"), [(0.995, False, None), (0.994, True, "0.99"),
                                                          (0.9949999, True, "0.99"), (1.0, False, None)])
def test_plot_ratio_rounds_half_up(tmp_path, plot_ratio, low, shown):
    parcels, _ = given(tmp_path, [land(1, code=JCODE.format(1), plot_ratio=plot_ratio)],
                       [ent("企业1", [JCODE.format(1)], 100.0)])
    p = parcels[JCODE.format(1)]
    assert p["low_plot_ratio"] is low
    assert p["collective_reasons"] == ([f"集体土地：容积率 {shown}，土地利用率低"] if low else [])


@functools.cache
def _macro_connection():
    con = duckdb.connect()
    con.execute(dict(sql_models())["macros"])
    return con


@settings(max_examples=300, deadline=None, derandomize=True)
@hypothesis_given(thousandths=st.integers(0, 10_000_000), divisor=st.sampled_from([1, 2, 3, 4, 5, 7, 8, 15, 20, 25, 40]))
def test_round_half_up_macro_matches_decimal_rounding(thousandths, divisor):
    # the figure as a person writes it (x.xx5 boundaries included), computed the way classify does:
    # a double division of a double numerator
    numerator = thousandths * divisor / 1000
    value = numerator / divisor
    got = _macro_connection().execute("SELECT round_half_up(?::DOUBLE, 2)", [value]).fetchone()[0]
    expected = float((Decimal(thousandths) / 1000).quantize(Decimal("0.01"), ROUND_HALF_UP))
    assert got == expected


# ---------------------------------------------------------------- SPEC §2, §6 (rev. 2): the as-of date

AS_OF = date(2023, 12, 31)


@pytest.mark.parametrize(("extra", "scattered"), [
    ({"status": "已销号", "closed_date": date(2024, 1, 15)}, True),    # closed after D: open at D
    ({"status": "已销号", "closed_date": date(2023, 12, 31)}, False),  # closed on D
    ({"status": "已销号", "closed_date": None}, False),                # closed, no date
    ({"status": None, "closed_date": date(2024, 1, 15)}, True),        # only a 销号日期, after D
    ({"status": None, "closed_date": date(2023, 3, 1)}, True),         # only a 销号日期: never guessed closed
    ({"status": "未整改", "found_date": date(2024, 1, 10)}, False),    # found after D: does not exist
    ({"status": "未整改", "found_date": date(2023, 12, 31)}, True),    # found on D
    ({"status": "未整改", "found_date": None}, True),
])
def test_items_are_judged_at_the_as_of_date(tmp_path, extra, scattered):
    row = item("A", "环保", "重大", extra.pop("status"), parcel_code=P1, **extra)
    parcels, result = given(tmp_path, [land(1)], [ent("企业1", [P1], 100.0)], [row], as_of=AS_OF)
    p = parcels[P1]
    assert p["scattered_polluting"] is scattered
    total = next(k for k in result.tables["kpis"].to_pylist() if k["scope"] == "city" and k["township"] == "全部")
    assert total["open_major_items"] == (1 if scattered else 0)


def test_an_item_found_after_the_as_of_date_is_in_no_count(tmp_path):
    later = item("L", "环保", "重大", "未整改", parcel_code=P1, found_date=date(2024, 2, 1), deadline=date(2023, 6, 1))
    parcels, result = given(tmp_path, [land(1)], [ent("企业1", [P1], 100.0)], [later], as_of=AS_OF)
    p = parcels[P1]
    assert (p["n_items"], p["n_open"], p["n_overdue"], p["in_scope"]) == (0, 0, 0, False)
    items = result.tables["ledger_items"].to_pylist()
    assert [(i["counted"], i["overdue"]) for i in items] == [(False, False)]
    assert [k["kind"] for k in result.tables["links"].to_pylist()] == ["enterprise", "ledger"]  # keeps its link


@pytest.mark.parametrize(("found_dates", "frequent"), [
    ([date(2023, 1, 5), date(2023, 6, 1), date(2023, 12, 31)], True),    # 3 in the year
    ([date(2022, 12, 30), date(2023, 6, 1), date(2023, 7, 1)], False),   # one of the year before
    ([date(2023, 6, 1), date(2023, 7, 1), date(2024, 1, 2)], False),     # one after the as-of date
    ([None, date(2023, 6, 1), date(2023, 7, 1)], True),                  # no date counts
])
def test_petitions_count_only_the_data_year_up_to_the_as_of_date(tmp_path, found_dates, frequent):
    rows = [item(f"X{i}", "信访", None, None, parcel_code=JCODE.format(1), found_date=d)
            for i, d in enumerate(found_dates)]
    parcels, _ = given(tmp_path, [land(1, code=JCODE.format(1))], [ent("企业1", [JCODE.format(1)], 100.0)], rows,
                       as_of=AS_OF)
    assert parcels[JCODE.format(1)]["frequent_petitions"] is frequent
    assert parcels[JCODE.format(1)]["collective_problem"] is frequent


@pytest.mark.parametrize(("year", "today", "expected"), [
    (2023, date(2026, 12, 3), date(2023, 12, 31)),      # a past year: its last day
    (2026, date(2026, 12, 3), date(2026, 12, 3)),       # the current year: today
    (2025, date(2026, 1, 1), date(2025, 12, 31)),
])
def test_default_as_of_date(year, today, expected):
    assert default_as_of(year, today) == expected


def test_classify_records_its_as_of_date_and_track_uses_it(tmp_path):
    from landaudit.track import track

    overdue = item("A", "环保", "重大", "整改中", parcel_code=P1, deadline=date(2023, 6, 30))
    given(tmp_path, [land(1)], [ent("企业1", [P1], 100.0)], [overdue], as_of=None)   # the default
    ws = Workspace.at(tmp_path)
    assert recorded_as_of(ws, 2023) == date(2023, 12, 31)
    record = json.loads((ws.processed_year(2023) / "classify.json").read_text("utf-8"))
    assert record["as_of"] == "2023-12-31" and set(record["data_tests"]) >= {"in_scope_has_batch"}
    import pyarrow.parquet as pq

    from landaudit.track import write_snapshot

    write_snapshot(ws, 2023, pq.read_table(ws.processed_year(2023) / "ledger.parquet"))
    assert track(ws, year=2023).as_of == date(2023, 12, 31)


# ---------------------------------------------------------------- SPEC §8 (rev. 2): zero scores

def test_zero_output_parcels_are_d_and_not_ranked(tmp_path):
    # four 规下 parcels with tax 40, 30, 20, 10 on 10 亩 (4, 3, 2, 1 万元/亩); three idle parcels and one
    # whose enterprise paid nothing. Ranked among the four only: p = 1/4 A, 2/4 B, 3/4 C, 4/4 D.
    rows = [land(i) for i in range(1, 9)]
    enterprises = [ent(f"企业{i}", [CODE.format(i)], 10.0 * (5 - i)) for i in range(1, 5)]
    enterprises.append(ent("企业5", [CODE.format(5)], 0.0))
    parcels, _ = given(tmp_path, rows, enterprises)
    got = {code[-1]: (p["rating"], p["rating_rank"], p["rating_group_size"]) for code, p in parcels.items()}
    assert got == {"1": ("A", 1, 4), "2": ("B", 2, 4), "3": ("C", 3, 4), "4": ("D", 4, 4),
                   "5": ("D", None, None), "6": ("D", None, None), "7": ("D", None, None), "8": ("D", None, None)}
    assert all(parcels[CODE.format(i)]["zero_output"] for i in range(5, 9))


def test_zero_output_units_are_left_out_of_the_benchmark_mean(tmp_path):
    # 规下: tax per mu 6 and 2 (mean 4 over the two producing units, not 8/3 with the idle one):
    # scores 100 × min(6/4, 1.5) = 150 and 100 × 2/4 = 50
    parcels, _ = given(tmp_path, [land(1), land(2), land(3)],
                       [ent("企业1", [P1], 60.0), ent("企业2", [P2], 20.0)])
    assert parcels[P1]["rating_score"] == pytest.approx(150.0)
    assert parcels[P2]["rating_score"] == pytest.approx(50.0)
    assert parcels[P3]["rating"] == "D"


def test_a_tie_of_positive_scores_still_shares_the_better_rank(tmp_path):
    # three parcels at 3 万元/亩 tie at rank 1 of 4 (p = 0.25: A); the fourth (1) is rank 4 (D)
    parcels, _ = given(tmp_path, [land(i) for i in range(1, 5)],
                       [ent(f"企业{i}", [CODE.format(i)], 30.0) for i in range(1, 4)] + [ent("企业4", [CODE.format(4)], 10.0)])
    assert [parcels[CODE.format(i)]["rating"] for i in range(1, 5)] == ["A", "A", "A", "D"]


# ---------------------------------------------------------------- SPEC §5 (rev. 2): links

def test_an_item_with_several_codes_belongs_to_each_township(tmp_path):
    rows = [land(1), land(2, township="枫桥镇")]
    both = item("M", "安全生产", "重大", "未整改", parcel_codes=[P1, P2], parcel_code=f"{P1}、{P2}")
    parcels, result = given(tmp_path, rows, [ent("企业1", [P1], 100.0), ent("企业2", [P2], 100.0)], [both])
    assert parcels[P1]["scattered_polluting"] and parcels[P2]["scattered_polluting"]
    kpis = {(k["scope"], k["township"]): k["open_major_items"] for k in result.tables["kpis"].to_pylist()}
    # once in each township, once in the city total
    assert (kpis["city", "陶朱街道"], kpis["city", "枫桥镇"], kpis["city", "全部"]) == (1, 1, 1)


def test_an_item_links_through_the_land_right_holders_credit_code(tmp_path):
    code = "9144030071526726XG"
    parcels, result = given(tmp_path, [land(1, right_holder_credit_code=code)], [],
                            [item("A", "环保", "较大", "未整改", credit_code=code)])
    assert parcels[P1]["scattered_polluting"] is True
    assert [(k["kind"], k["link_method"]) for k in result.tables["links"].to_pylist()] == [("ledger", "credit_code")]


def test_unlinked_open_major_items_count_in_the_city_total_only(tmp_path):
    lost = item("U", "消防", "重大", "未整改", name="查无此企业", name_key="查无此企业", deadline=date(2023, 1, 1))
    _, result = given(tmp_path, [land(1)], [ent("企业1", [P1], 100.0)], [lost])
    kpis = {(k["scope"], k["township"]): k for k in result.tables["kpis"].to_pylist()}
    city = kpis["city", "全部"]
    assert (city["open_major_items"], city["open_major_unlinked"], city["overdue_items"]) == (1, 1, 1)
    assert kpis["city", "陶朱街道"]["open_major_items"] == 0
    assert kpis["pilot", "全部"]["open_major_items"] == 0      # a scope of named townships


# ---------------------------------------------------------------- SPEC §6, §7 (rev. 2)

@pytest.mark.parametrize(("category", "scattered", "batch"), [
    ("环保", True, "关停退出"), ("安全生产", True, "关停退出"), ("消防", True, "关停退出"), ("违法建设", True, "关停退出"),
    ("信访", False, None), ("无证照", False, None), ("税务", False, None),
])
def test_failed_rectification_counts_for_the_four_hazard_categories_only(tmp_path, category, scattered, batch):
    failed = item("F", category, "一般", "整改不合格", parcel_code=P1)
    parcels, _ = given(tmp_path, [land(1)], [ent("企业1", [P1], 100.0)], [failed])
    p = parcels[P1]
    assert (p["failed_rectification"], p["scattered_polluting"], p["batch"]) == (scattered, scattered, batch)


@pytest.mark.parametrize(("conforms", "batch", "listed"), [
    (True, "拆除重建", False),       # conforms, low efficiency, old building: rule 3
    (False, "功能转型", False),      # does not conform: rule 2
    (None, "整治提升", True),        # blank: neither rule 2 nor rule 3; listed under 待核实
])
def test_blank_plan_conformity_satisfies_neither_rule(tmp_path, conforms, batch, listed):
    parcels, result = given(tmp_path, [land(1, conforms_to_plan=conforms, building_year=1980)],
                            [ent("企业1", [P1], 10.0)])          # 1 万元/亩: low efficiency
    assert parcels[P1]["batch"] == batch
    reasons = [u["reason"] for u in result.tables["unlinked"].to_pylist() if u["parcel_code"] == P1]
    assert reasons == (["规划符合性未填，四个一批待定（暂列整治提升）"] if listed else [])


def test_above_scale_tax_per_mu_counts_the_above_scale_enterprises_tax_only(tmp_path):
    # parcel 1 (10 亩): 规上 owner 200 + 规下 tenant 100; parcel 2 (10 亩): 规上 100.
    # 规上亩均税收 = (200 + 100) / 20 = 15, not (300 + 100) / 20 = 20; VA likewise (400 + 200) / 20 = 30
    parcels, result = given(tmp_path, [land(1), land(2)], [
        ent("规上甲", [P1], 200.0, above_scale=True, value_added=400.0),
        ent("规下租户", [P1], 100.0, value_added=999.0),
        ent("规上乙", [P2], 100.0, above_scale=True, value_added=200.0),
    ])
    city = next(k for k in result.tables["kpis"].to_pylist() if k["scope"] == "city" and k["township"] == "全部")
    assert city["above_scale_tax_per_mu"] == pytest.approx(15.0)
    assert city["above_scale_va_per_mu"] == pytest.approx(30.0)
    assert parcels[P1]["tax"] == pytest.approx(300.0)          # the parcel's own figure keeps both


# ---------------------------------------------------------------- data tests run by classify

def _built(tmp_path):
    """The models built on a small year that passes every data test; the connection is open."""
    parcels, _ = given(tmp_path, [land(1, building_year=1980), land(2, code=JCODE.format(2), building_year=1980), land(3)],
                       [ent("企业1", [P1], 10.0, backward_capacity=True), ent("企业2", [JCODE.format(2)], 100.0)],
                       [item("A", "环保", "重大", "未整改", parcel_code=P3)])
    ws = Workspace.at(tmp_path)
    con = duckdb.connect()
    run_models(con, _read_inputs(ws, 2023), _param_tables(load_config(None), 2023, "city", AS_OF))
    return con


@pytest.mark.parametrize(("tamper", "name"), [
    ("UPDATE parcels SET low_efficiency = NULL WHERE parcel_code = '{P1}'", "parcels_booleans_not_null"),
    ("UPDATE parcels SET zero_output = NULL", "parcels_booleans_not_null"),
    ("UPDATE parcels SET batch = NULL WHERE in_scope", "in_scope_has_batch"),
    ("UPDATE parcels SET in_scope = false WHERE parcel_code = '{P1}'", "in_scope_has_batch"),
    ("UPDATE parcels SET low_efficiency_reasons = [] WHERE low_efficiency", "reasons_match_flags"),
    ("UPDATE parcels SET collective_reasons = ['集体土地：管理松散'] WHERE collective_problem", "reasons_match_flags"),
    ("UPDATE parcels SET scattered_polluting = false", "ledger_items_accounted"),   # an open 重大 item's parcel
    ("UPDATE parcels SET scattered_reasons = [] WHERE scattered_polluting", "reasons_match_flags"),
    ("UPDATE parcels SET rating = 'B' WHERE idle", "ratings_in_their_groups"),
    ("UPDATE parcels SET rating_group = '规上' WHERE rating_group = '规下'", "ratings_in_their_groups"),
    ("DELETE FROM unlinked", None),
    ("INSERT INTO unlinked SELECT 'ledger', NULL, NULL, NULL, NULL, NULL, 'x', source_file, source_sheet, source_row "
     "FROM ledger_items", "ledger_items_accounted"),
    ("UPDATE ledger_items SET category = '环境卫生'", "ledger_items_accounted"),
    ("UPDATE ledger_items SET counted = false", "ledger_items_accounted"),
])
def test_each_data_test_fails_on_its_violation(tmp_path, tamper, name):
    con = _built(tmp_path)
    assert set(run_data_tests(con)) >= {"reasons_match_flags", "in_scope_has_batch", "ratings_in_their_groups",
                                         "ledger_items_accounted", "parcels_booleans_not_null"}
    con.execute(tamper.format(P1=P1))
    if name is None:                     # nothing was unlinked: deleting nothing breaks nothing
        run_data_tests(con)
        return
    with pytest.raises(DataTestError) as failure:
        run_data_tests(con)
    assert failure.value.name == name
    assert name in str(failure.value) and "内部一致性检查" in str(failure.value)


def test_a_blank_plan_parcel_is_listed_under_its_townships_verify_sheet(tmp_path):
    import openpyxl

    from landaudit.export import export
    from landaudit.export.workbook import HEADER_ROWS

    given(tmp_path, [land(1, conforms_to_plan=None), land(2, township="枫桥镇")], [ent("企业1", [P1], 10.0)])
    result = export(Workspace.at(tmp_path), year=2023, by_township=True)
    books = {p.stem: openpyxl.load_workbook(p, read_only=True) for p in result.township_workbooks}

    def verify_subjects(book) -> list:
        return [row[3] for row in book["待核实"].iter_rows(min_row=HEADER_ROWS + 1, values_only=True) if row[1] == "四个一批待定"]

    assert verify_subjects(openpyxl.load_workbook(result.workbooks[0], read_only=True)) == [P1]
    assert verify_subjects(books["陶朱街道"]) == [P1] and verify_subjects(books["枫桥镇"]) == []
