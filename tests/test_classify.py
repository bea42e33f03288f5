"""Given/expect tests of the classify rules (SPEC §5–§8, §10): tiny input rows written as the
Parquet that ingest writes → the SQL models → hand-computed expectations."""

from __future__ import annotations

from datetime import date

import pytest

from landaudit.classify import sql_models
from landaudit.config import PREDICATES, load_config
from landaudit.ingest.normalise import name_key

from builders import CODE, JCODE, ent, given, item, land

# ---------------------------------------------------------------- SPEC §5 links and metrics

def test_owner_and_tenant_on_one_parcel_are_summed(tmp_path):
    parcels, _ = given(tmp_path, [land(1, area=20)], [
        ent("企业1", [CODE.format(1)], 60.0, value_added=300.0),
        ent("租户甲", [CODE.format(1)], 40.0, value_added=100.0),
    ])
    p = parcels[CODE.format(1)]
    assert p["n_enterprises"] == 2
    assert p["tax_per_mu"] == pytest.approx(5.0)          # (60 + 40) / 20
    assert p["va_per_mu"] == pytest.approx(20.0)          # (300 + 100) / 20
    assert p["low_efficiency"] is False


def test_one_enterprise_on_two_parcels_is_allocated_by_area(tmp_path):
    parcels, result = given(tmp_path, [land(1, area=30), land(2, area=10)], [
        ent("企业1", [CODE.format(1), CODE.format(2)], 100.0),
    ])
    # shares 30/40 and 10/40: tax 75 and 25; per mu 75/30 = 2.5 and 25/10 = 2.5
    assert parcels[CODE.format(1)]["tax"] == pytest.approx(75.0)
    assert parcels[CODE.format(2)]["tax"] == pytest.approx(25.0)
    assert parcels[CODE.format(1)]["tax_per_mu"] == pytest.approx(2.5)
    links = result.tables["links"].to_pylist()
    assert sorted(round(link["share"], 4) for link in links) == [0.25, 0.75]


def test_link_by_credit_code_only(tmp_path):
    parcels, result = given(tmp_path, [land(1, right_holder_credit_code="9144030071526726XG")], [
        ent("另一个名字有限公司", None, 80.0, credit_code="9144030071526726XG"),
    ])
    assert parcels[CODE.format(1)]["tax"] == pytest.approx(80.0)
    assert [link["link_method"] for link in result.tables["links"].to_pylist()] == ["credit_code"]


def test_link_by_name_only_with_full_width_brackets_and_trailing_spaces(tmp_path):
    holder = "诸暨市华达（五金）有限公司"
    parcels, result = given(tmp_path, [land(1, right_holder=holder, right_holder_key=name_key(holder))], [
        ent("诸暨市华达(五金)有限公司  ", None, 90.0),
    ])
    assert parcels[CODE.format(1)]["tax"] == pytest.approx(90.0)
    assert [link["link_method"] for link in result.tables["links"].to_pylist()] == ["name"]
    assert result.tables["unlinked"].num_rows == 0


def test_a_28_character_code_links_through_its_19_character_parcel_code(tmp_path):
    from landaudit.ingest.normalise import split_parcel_codes

    codes = split_parcel_codes(CODE.format(1) + "F00010001")
    parcels, _ = given(tmp_path, [land(1)], [ent("企业1", codes, 70.0)])
    assert parcels[CODE.format(1)]["tax"] == pytest.approx(70.0)


def test_unlinked_enterprises_and_items_are_kept_for_checking(tmp_path):
    _, result = given(tmp_path, [land(1)], [ent("无处可去有限公司", None, 5.0)],
                      [item("X1", "环保", "较大", "未整改", name="无处可去有限公司", name_key="无处可去有限公司")])
    unlinked = result.tables["unlinked"].to_pylist()
    assert [(u["dataset"], u["name"]) for u in unlinked] == [("enterprise", "无处可去有限公司"),
                                                             ("ledger", "无处可去有限公司")]


def test_missing_employees_gives_null_with_a_reason_not_an_error(tmp_path):
    parcels, _ = given(tmp_path, [land(1)], [ent("企业1", [CODE.format(1)], 100.0, value_added=50.0, employees=0.0)])
    p = parcels[CODE.format(1)]
    assert p["labour_productivity"] is None
    assert any("从业人员" in note for note in p["metric_notes"])


# ---------------------------------------------------------------- SPEC §6.1 low efficiency

def test_75_wan_on_exactly_15_mu_is_not_low_efficiency(tmp_path):
    parcels, _ = given(tmp_path, [land(1, area=15), land(2, area=15)], [
        ent("企业1", [CODE.format(1)], 75.0),       # 5.00 万元/亩: not below 5
        ent("企业2", [CODE.format(2)], 74.9),       # 4.99 万元/亩: below
    ])
    assert parcels[CODE.format(1)]["low_efficiency"] is False
    assert parcels[CODE.format(2)]["low_efficiency"] is True
    assert parcels[CODE.format(2)]["low_efficiency_reasons"] == ["亩均税收 4.99 万元/亩，低于 5.0 万元/亩"]


def test_rounding_to_two_decimals_decides(tmp_path):
    # 4.996 万元/亩 shows as 5.00 and is therefore not low efficiency (SPEC §6).
    parcels, _ = given(tmp_path, [land(1, area=10)], [ent("企业1", [CODE.format(1)], 49.96)])
    assert parcels[CODE.format(1)]["low_efficiency"] is False


def test_idle_parcel_is_low_efficiency_with_tax_zero(tmp_path):
    parcels, _ = given(tmp_path, [land(1)])
    p = parcels[CODE.format(1)]
    assert (p["idle"], p["tax"], p["tax_per_mu"], p["low_efficiency"]) == (True, 0.0, 0.0, True)
    assert p["batch"] == "整治提升"


def test_exempt_enterprise_is_not_flagged_and_not_ranked(tmp_path):
    parcels, _ = given(tmp_path, [land(1)], [ent("新企业", [CODE.format(1)], 1.0, exempt_reason="新投产企业")])
    p = parcels[CODE.format(1)]
    assert (p["exempt"], p["low_efficiency"], p["in_scope"], p["rating"]) == (True, False, False, "不定等级")


# ---------------------------------------------------------------- SPEC §6.2 低散乱污

@pytest.mark.parametrize(("ledger_item", "expected"), [
    (item("A", "安全生产", "重大", "已销号"), False),           # closed 重大
    (item("B", "环保", "一般", "未整改"), False),               # open 一般
    (item("C", "环保", "较大", "整改中"), True),                # open 较大
    (item("D", "消防", "重大", "未整改"), True),
    (item("E", "违法建设", "较大", "未整改"), True),
    (item("F", "信访", "重大", "未整改"), False),               # not a 低散乱污 category
    (item("G", "安全生产", "一般", "整改不合格"), True),        # failed rectification, any severity
    (item("H", "环保", "一般", "已整改", acceptance="不合格"), True),
    (item("I", "环保", "较大", None, closed_date=date(2023, 3, 1)), True),    # 销号日期, no status: open (rev. 2)
])
def test_scattered_polluting(tmp_path, ledger_item, expected):
    ledger_item = {"parcel_code": CODE.format(1), **ledger_item}
    parcels, _ = given(tmp_path, [land(1)], [ent("企业1", [CODE.format(1)], 100.0)], [ledger_item])
    assert parcels[CODE.format(1)]["scattered_polluting"] is expected


def test_items_link_by_credit_code_and_by_name(tmp_path):
    parcels, result = given(tmp_path, [land(1), land(2)], [
        ent("企业1", [CODE.format(1)], 100.0, credit_code="9144030071526726XG"),
        ent("企业2", [CODE.format(2)], 100.0),
    ], [
        item("A", "环保", "较大", "未整改", credit_code="9144030071526726XG"),
        item("B", "消防", "较大", "未整改", name="企业2", name_key="企业2"),
    ])
    assert parcels[CODE.format(1)]["scattered_reasons"] == ["环保较大隐患未整改（A）"]
    assert parcels[CODE.format(2)]["scattered_reasons"] == ["消防较大隐患未整改（B）"]
    methods = {link["item_id"]: link["link_method"] for link in result.tables["links"].to_pylist()
               if link["kind"] == "ledger"}
    assert methods == {"A": "credit_code", "B": "name"}


# ---------------------------------------------------------------- SPEC §6.3 collective land

OK_ENTERPRISE = [ent("企业1", [JCODE.format(1)], 100.0)]     # 10 万元/亩: not low efficiency


def collective_land(**extra) -> dict:
    base = {"legal_procedures": True, "plot_ratio": 1.2, "building_year": 2010, "building_condition": "好",
            "management_loose": False}
    base.update(extra)
    return land(1, code=JCODE.format(1), ownership=None, **base)


@pytest.mark.parametrize(("extra", "ledger_rows", "reason"), [
    ({"legal_procedures": False}, [], "集体土地：无合法用地手续"),
    ({"plot_ratio": 0.8}, [], "集体土地：容积率 0.80，土地利用率低"),
    ({"plot_ratio": None, "floor_area_m2": 3000.0}, [], "集体土地：容积率 0.45，土地利用率低"),   # 3000 / 6666.67
    ({"building_year": 1992}, [], "集体土地：建成于 1992 年，房龄 31 年，建筑结构老化"),
    ({"building_condition": "D级"}, [], "集体土地：建筑质量D级"),
    ({"management_loose": True}, [], "集体土地：管理松散"),
    ({}, [item("E1", "消防", "一般", "未整改", parcel_code=JCODE.format(1))], "集体土地：安全环保隐患大（消防隐患未整改（E1））"),
    ({}, [item(f"P{i}", "信访", None, "未整改", parcel_code=JCODE.format(1)) for i in range(3)],
     "集体土地：信访问题多发（3 件）"),
])
def test_each_collective_condition_alone(tmp_path, extra, ledger_rows, reason):
    parcels, _ = given(tmp_path, [collective_land(**extra)], OK_ENTERPRISE, ledger_rows)
    p = parcels[JCODE.format(1)]
    assert p["collective_problem"] is True
    assert p["collective_reasons"] == [reason]


def test_collective_land_without_a_condition_is_not_a_target(tmp_path):
    parcels, _ = given(tmp_path, [collective_land(building_year=1993)], OK_ENTERPRISE,   # 30 years: not > 30
                       [item(f"P{i}", "信访", None, "未整改", parcel_code=JCODE.format(1)) for i in range(2)])
    p = parcels[JCODE.format(1)]
    assert (p["collective"], p["collective_problem"], p["in_scope"]) == (True, False, False)


def test_state_land_with_collective_conditions_is_not_collective_problem(tmp_path):
    parcels, _ = given(tmp_path, [land(1, legal_procedures=False)], [ent("企业1", [CODE.format(1)], 100.0)])
    assert parcels[CODE.format(1)]["collective_problem"] is False


# ---------------------------------------------------------------- SPEC §7 四个一批

def test_every_batch_rule_and_its_precedence(tmp_path):
    poor = {"building_condition": "差"}
    parcels, _ = given(tmp_path, [
        land(1, conforms_to_plan=False, **poor),      # backward capacity + nonconforming + poor → 关停退出
        land(2, conforms_to_plan=False, **poor),      # nonconforming beats poor building → 功能转型
        land(3, **poor),                              # conforms, low efficiency, poor building → 拆除重建
        land(4),                                      # low efficiency only → 整治提升
        land(5, **poor),                              # failed rectification → 关停退出
        land(6),                                      # against industry direction → 功能转型
        land(7, **poor),                              # poor building but efficient → not in scope
    ], [
        ent("企业1", [CODE.format(1)], 10.0, backward_capacity=True),
        ent("企业2", [CODE.format(2)], 10.0),
        ent("企业3", [CODE.format(3)], 10.0),
        ent("企业4", [CODE.format(4)], 10.0),
        ent("企业5", [CODE.format(5)], 100.0),
        ent("企业6", [CODE.format(6)], 10.0, industry_direction_ok=False),
        ent("企业7", [CODE.format(7)], 100.0),
    ], [item("F", "环保", "一般", "整改不合格", parcel_code=CODE.format(5))])
    batches = {code[-1]: (p["batch"], p["batch_rule"].split("：")[0] if p["batch_rule"] else None)
               for code, p in parcels.items()}
    assert batches == {
        "1": ("关停退出", "规则1·关停退出"), "2": ("功能转型", "规则2·功能转型"),
        "3": ("拆除重建", "规则3·拆除重建"), "4": ("整治提升", "规则4·整治提升"),
        "5": ("关停退出", "规则1·关停退出"), "6": ("功能转型", "规则2·功能转型"),
        "7": (None, None),
    }
    assert parcels[CODE.format(1)]["reasons"][-1] == "落后产能：企业1"


def test_config_can_reorder_the_batch_rules(tmp_path):
    from landaudit.config import default_config_text

    text = default_config_text("landaudit.toml")
    head, rules = text.split("[[batch_rules]]", 1)
    blocks = ["[[batch_rules]]" + b for b in rules.split("[[batch_rules]]")]
    last = blocks[-1]
    tail_start = last.index("# 亩均效益综合评价")
    blocks[-1], tail = last[:tail_start], last[tail_start:]
    reordered = head + blocks[1] + blocks[0] + blocks[2] + blocks[3] + tail   # 功能转型 before 关停退出
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "landaudit.toml").write_text(reordered, encoding="utf-8")
    (tmp_path / "configs" / "datasets.toml").write_text(default_config_text("datasets.toml"), encoding="utf-8")
    config = load_config(tmp_path)
    parcels, _ = given(tmp_path, [land(1, conforms_to_plan=False)],
                       [ent("企业1", [CODE.format(1)], 10.0, backward_capacity=True)], config=config)
    assert parcels[CODE.format(1)]["batch"] == "功能转型"


def test_unknown_predicate_in_a_batch_rule_is_a_config_error(tmp_path):
    from landaudit.config import default_config_text
    from landaudit.errors import ConfigError

    text = default_config_text("landaudit.toml").replace('"backward_capacity", "failed_rectification"',
                                                          '"backward_capacity; DROP TABLE land"', 1)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "landaudit.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "未知的判定条件" in err.value.reason and "batch_rules.0" in err.value.key


def test_the_unpivot_lists_exactly_the_config_predicates():
    sql = dict(sql_models())["predicate_values"]
    on_clause = sql.split("ON", 1)[1].split("INTO")[0]
    assert sorted(name.strip() for name in on_clause.split(",")) == sorted(PREDICATES)


# ---------------------------------------------------------------- SPEC §8 rating

def test_rating_percentiles_on_a_hand_ranked_set(tmp_path):
    # Eight 规下 parcels of 10 亩 with tax 80, 70, 60, 60, 40, 30, 20, 10 万元 → tax_per_mu 8 … 1.
    # Benchmark = mean = 37 / 8 = 4.625; score = 100 × min(v / 4.625, 1.5): 8 and 7 cap at 150
    # (tie), 6 → 129.73 (tie), 4 → 86.49, 3 → 64.86, 2 → 43.24, 1 → 21.62.
    # Ranks (ties share the better rank): 1, 1, 3, 3, 5, 6, 7, 8; p = rank / 8:
    # 0.125 A ×2 (≤ .25) · 0.375 B ×2 · 0.625 B (≤ .70) · 0.75 C · 0.875 C · 1.0 D.
    taxes = [80, 70, 60, 60, 40, 30, 20, 10]
    parcels, _ = given(tmp_path, [land(i) for i in range(8)],
                       [ent(f"企业{i}", [CODE.format(i)], float(t)) for i, t in enumerate(taxes)])
    got = [(parcels[CODE.format(i)]["rating_rank"], parcels[CODE.format(i)]["rating"]) for i in range(8)]
    assert got == [(1, "A"), (1, "A"), (3, "B"), (3, "B"), (5, "B"), (6, "C"), (7, "C"), (8, "D")]
    assert parcels[CODE.format(4)]["rating_score"] == pytest.approx(86.49)    # 100 × 4 / 4.625


def test_rating_groups_above_scale_separately_with_weights(tmp_path):
    # Two 规上 parcels; only tax_per_mu and va_per_mu known. Means: tax 15, VA 30.
    # P1: 40×min(20/15,1.5) + 20×min(40/30,1.5) = 53.33 + 26.67 = 80.00 → rank 1, p 0.5 → B
    # P2: 40×(10/15) + 20×(20/30) = 26.67 + 13.33 = 40.00 → rank 2, p 1.0 → D
    parcels, _ = given(tmp_path, [land(1), land(2), land(3)], [
        ent("企业1", [CODE.format(1)], 200.0, value_added=400.0, above_scale=True),
        ent("企业2", [CODE.format(2)], 100.0, value_added=200.0, above_scale=True),
        ent("企业3", [CODE.format(3)], 1.0),
    ])
    p1, p2, p3 = (parcels[CODE.format(i)] for i in (1, 2, 3))
    assert (p1["rating_group"], p1["rating_score"], p1["rating"]) == ("规上", 80.0, "B")
    assert (p2["rating_score"], p2["rating"]) == (40.0, "D")
    # Alone in its group: rank 1 of 1, p = 1.0 → D by the formula of SPEC §8.
    assert (p3["rating_group"], p3["rating_rank"], p3["rating"]) == ("规下", 1, "D")


# ---------------------------------------------------------------- SPEC §10 KPIs and an empty year

def test_kpis_against_targets(tmp_path):
    parcels, result = given(tmp_path, [land(1, area=10), land(2, area=30, township="店口镇"), land(3, area=5)], [
        ent("企业1", [CODE.format(1)], 300.0, value_added=500.0, above_scale=True),
        ent("企业2", [CODE.format(2)], 300.0, value_added=600.0, above_scale=True),
    ], [item("A", "环保", "重大", "未整改", parcel_code=CODE.format(1), deadline=date(2023, 6, 30)),
        item("B", "消防", "一般", "整改中", parcel_code=CODE.format(2), deadline=date(2024, 6, 30))])
    kpis = {(k["scope"], k["township"]): k for k in result.tables["kpis"].to_pylist()}
    total = kpis[("city", "全部")]
    assert total["above_scale_tax_per_mu"] == pytest.approx(15.0)      # (300 + 300) / (10 + 30)
    assert total["target_above_scale_tax_per_mu"] == 25.0
    assert (total["open_major_items"], total["overdue_items"], total["open_items"]) == (1, 1, 2)
    assert total["low_efficiency_parcels"] == 1 and total["low_efficiency_mu"] == pytest.approx(5.0)  # idle parcel 3
    assert kpis[("city", "店口镇")]["above_scale_tax_per_mu"] == pytest.approx(10.0)
    assert ("pilot", "陶朱街道") in kpis and ("pilot", "店口镇") not in kpis


def test_va_growth_uses_last_years_parcels(tmp_path):
    given(tmp_path, [land(1, area=10)], [ent("企业1", [CODE.format(1)], 100.0, value_added=100.0, above_scale=True)],
          year=2022)
    parcels, result = given(tmp_path, [land(1, area=10)],
                            [ent("企业1", [CODE.format(1)], 100.0, value_added=110.0, above_scale=True)])
    assert parcels[CODE.format(1)]["va_per_mu_growth"] == pytest.approx(0.10)
    total = next(k for k in result.tables["kpis"].to_pylist() if k["scope"] == "city" and k["township"] == "全部")
    assert total["va_per_mu_growth"] == pytest.approx(0.10)


def test_policy_table_counts_parcels_per_class(tmp_path):
    parcels, result = given(tmp_path, [land(1), land(2)], [ent("新企业", [CODE.format(1)], 1.0, exempt_reason="新投产")])
    rows = result.tables["rating_policies"].to_pylist()
    assert {r["rating"] for r in rows} == {"A", "B", "C", "D", "不定等级"}
    land_row = next(r for r in rows if r["rating"] == "不定等级" and r["resource"] == "用地")
    assert (land_row["parcels"], land_row["area_mu"], land_row["policy"]) == (1, 10.0, "示例：参照 B 类管理")


def test_every_model_runs_in_order_on_an_empty_year(tmp_path):
    parcels, result = given(tmp_path, [])
    assert parcels == {}
    assert all(t.num_rows == 0 for name, t in result.tables.items() if name not in ("kpis", "rating_policies"))
    assert (tmp_path / "data" / "processed" / "landaudit.duckdb").is_file()
