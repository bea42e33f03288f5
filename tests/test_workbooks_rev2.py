"""Workbooks that agree with themselves (issue 12, SPEC §9 rev. 2, §12 rev. 2): township scoping of
every sheet, folders replaced as a whole, send-back routing and keys, unique Windows-safe file
names, Chinese scope names, permissions from the umask — and the consistency checker on real
department files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.config import load_config
from landaudit.errors import UsageError
from landaudit.export.filenames import MAX_STEM, file_stems, safe_file_stem
from landaudit.scopes import display_name, resolve_scope
from workbook_checker import check_exports, list_sheets

from conftest import write_xlsx

runner = CliRunner()
LAND_HEADER = ["地块编码", "镇街", "用地面积（亩）", "土地权属", "是否符合规划"]
LEDGER_HEADER = ["隐患编号", "地块编码", "企业名称", "隐患等级", "整改期限", "整改状态"]


def cli(root: Path, *args: str) -> str:
    """The small counties here have no 经信局 file (the workbooks, not 亩均, are under test): export
    and run write them anyway with --allow-incomplete, and ingest, export and run exit 1 for a year
    missing a whole dataset kind (SPEC §2 rev. 2, tests/test_guardrails.py)."""
    import json

    if args[0] in ("export", "run"):
        args = (*args, "--allow-incomplete")
    result = runner.invoke(app, [*args, "-w", str(root)], catch_exceptions=False)
    expected = 0
    if args[0] in ("ingest", "export", "run") and "--year" in args:
        report = root / "data" / "processed" / args[args.index("--year") + 1] / "ingest_report.json"
        if report.is_file() and json.loads(report.read_text("utf-8")).get("missing_datasets"):
            expected = 1
    assert result.exit_code == expected, (args, result.output)
    return result.output


def code(n: int) -> str:
    return f"330681001002GB{n:05d}"


def small_county(root: Path, *, ledger_in_folder: bool = False) -> None:
    """Three townships; an item on parcels of two townships; a 安全生产 ledger outside any
    department folder with one rejected row; a land row rejected for a negative area."""
    raw = root / "data" / "raw" / "2023"
    land = [LAND_HEADER,
            [code(1), "陶朱街道", 10.0, "国有", "是"], [code(2), "陶朱街道", 20.0, "国有", "是"],
            [code(3), "枫桥镇", 30.0, "国有", "是"], [code(4), "枫桥镇", 40.0, "国有", "是"],
            [code(5), "店口镇", 50.0, "国有", "是"], [code(6), "店口镇", "-3.5", "国有", "是"]]
    write_xlsx(raw / "自然资源和规划局" / "工业用地底数.xlsx", land, sheet="工业用地")
    ledger = [LEDGER_HEADER,
              ["AQ-1", f"{code(1)}、{code(3)}", "甲公司", "重大", "2023-06-30", "未整改"],
              ["AQ-2", code(5), "乙公司", "一般", "2024-06-30", "已销号"],
              ["AQ-3", code(2), "丙公司", "一般", "2023-06-30", "=1+1"],
              ["AQ-4", "", "", "一般", "2023-06-30", "未整改"]]          # no key at all: rejected
    folder = raw / "应急管理局" if ledger_in_folder else raw
    write_xlsx(folder / "安全生产隐患台账.xlsx", ledger, sheet="台账")


@pytest.fixture
def county(tmp_path):
    small_county(tmp_path)
    cli(tmp_path, "ingest", "--year", "2023")
    cli(tmp_path, "classify", "--year", "2023", "--as-of", "2023-12-31")
    return tmp_path


# --- the checker, on real department files ---------------------------------------------------------

def test_checker_passes_on_a_small_county_and_its_townships(county):
    cli(county, "export", "--year", "2023", "--by-township")
    assert check_exports(county, 2023) == []


def test_checker_fails_when_a_township_workbook_loses_a_row(county):
    cli(county, "export", "--year", "2023", "--by-township")
    path = county / "data/exports/2023/镇街/枫桥镇.xlsx"
    book = openpyxl.load_workbook(path)
    ws = book["工业用地底数清单"]
    header = next(r[0].row for r in ws.iter_rows() if r[0].value == "序号")
    ws.delete_rows(header + 1)
    book.save(path)
    problems = check_exports(county, 2023)
    assert any("枫桥镇.xlsx/工业用地底数清单" in p for p in problems), problems


@pytest.fixture(scope="module")
def demo_two_years(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_rev2")
    for args in (["demo", "--parcels", "400"], ["ingest", "--year", "2022"], ["classify", "--year", "2022"],
                 ["export", "--year", "2022", "--by-township"], ["ingest", "--year", "2023"],
                 ["classify", "--year", "2023", "--as-of", "2023-12-31"], ["export", "--year", "2023", "--by-township"]):
        cli(root, *args)
    return root


@pytest.mark.parametrize("year", [2022, 2023])
def test_checker_passes_on_the_demo_of_both_years(demo_two_years, year):
    assert check_exports(demo_two_years, year) == []


def test_demo_2022_is_the_zone_scope_with_a_chinese_name(demo_two_years):
    exports = demo_two_years / "data/exports/2022"
    assert (exports / "治理清单_开发区.xlsx").is_file()
    zone = set(load_config(demo_two_years).settings.scopes["zone"])
    assert {p.stem for p in (exports / "镇街").glob("*.xlsx")} <= zone


# --- every sheet over its own townships ------------------------------------------------------------

def test_resource_sheet_counts_only_the_workbooks_townships(county):
    cli(county, "export", "--year", "2023", "--by-township")
    exports = county / "data/exports/2023"
    whole = {(r["评价等级"], r["资源要素"]): r["地块数"]
             for r in list_sheets(openpyxl.load_workbook(exports / "治理清单_全市.xlsx"))["资源要素差别化配置"]}
    parts: dict = {}
    for path in (exports / "镇街").glob("*.xlsx"):
        lists = list_sheets(openpyxl.load_workbook(path))
        n_parcels = len(lists["亩均效益评价"])
        assert sum(r["地块数"] for r in lists["资源要素差别化配置"]
                   if r["资源要素"] == lists["资源要素差别化配置"][0]["资源要素"]) <= n_parcels
        for r in lists["资源要素差别化配置"]:
            parts[(r["评价等级"], r["资源要素"])] = parts.get((r["评价等级"], r["资源要素"]), 0) + r["地块数"]
    assert parts == whole                                   # the townships add up to the county


def test_an_item_on_two_townships_shows_both_and_is_in_both_workbooks(county):
    cli(county, "export", "--year", "2023", "--by-township")
    exports = county / "data/exports/2023"
    for book in ("治理清单_全市.xlsx", "镇街/陶朱街道.xlsx", "镇街/枫桥镇.xlsx"):
        rows = {r["问题编号"]: r for r in list_sheets(openpyxl.load_workbook(exports / book))["安全生产治理清单"]}
        assert rows["AQ-1"]["镇乡（街道）"] == "枫桥镇、陶朱街道", book
        assert rows["AQ-1"]["地块编码"] == f"{code(1)}、{code(3)}"
    shop = list_sheets(openpyxl.load_workbook(exports / "镇街/店口镇.xlsx"))["安全生产治理清单"]
    assert [r["问题编号"] for r in shop] == ["AQ-2"]


# --- folders replaced as a whole ------------------------------------------------------------------

def test_a_narrower_export_leaves_no_township_workbook_behind(county):
    cli(county, "export", "--year", "2023", "--by-township")
    town_folder = county / "data/exports/2023/镇街"
    assert {p.stem for p in town_folder.glob("*.xlsx")} == {"陶朱街道", "枫桥镇", "店口镇"}
    cli(county, "export", "--year", "2023", "--scope", "陶朱街道", "--by-township")
    assert {p.stem for p in town_folder.glob("*.xlsx")} == {"陶朱街道"}
    cli(county, "export", "--year", "2023")                       # no --by-township: no stale folder
    assert not town_folder.exists()
    leftovers = [p.name for p in (county / "data/exports/2023").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_corrected_department_file_leaves_no_send_back_file(county):
    cli(county, "export", "--year", "2023")
    sendback = county / "data/exports/2023/退回"
    assert (sendback / "自然资源和规划局.xlsx").is_file()
    land = county / "data/raw/2023/自然资源和规划局/工业用地底数.xlsx"
    write_xlsx(land, [LAND_HEADER, [code(1), "陶朱街道", 10.0, "国有", "是"], [code(2), "陶朱街道", 20.0, "国有", "是"],
                      [code(3), "枫桥镇", 30.0, "国有", "是"], [code(4), "枫桥镇", 40.0, "国有", "是"],
                      [code(5), "店口镇", 50.0, "国有", "是"]], sheet="工业用地")
    cli(county, "run", "--year", "2023")
    assert not (sendback / "自然资源和规划局.xlsx").exists()
    assert (sendback / "应急管理局.xlsx").is_file()                    # the ledger still has a rejected row


# --- send-back routing and keys -------------------------------------------------------------------

def sendback_rows(path: Path) -> list[dict]:
    return list_sheets(openpyxl.load_workbook(path))["退回清单"]


def test_rejected_rows_of_a_file_outside_department_folders_go_to_its_categorys_department(county):
    cli(county, "export", "--year", "2023")
    sendback = county / "data/exports/2023/退回"
    assert not (sendback / "未分部门.xlsx").exists()
    rows = sendback_rows(sendback / "应急管理局.xlsx")
    assert {r["来源文件"] for r in rows} == {"data/raw/2023/安全生产隐患台账.xlsx"}
    assert any(r["处理结果"] == "拒收" and r["行号"] == 5 for r in rows)           # AQ-4, no key
    assert any(r["处理结果"] == "待核实" and r["行号"] == 4 for r in rows)          # AQ-3, status unrecognised


def test_every_send_back_row_carries_its_key_and_the_value_as_written(county):
    cli(county, "export", "--year", "2023")
    land = sendback_rows(county / "data/exports/2023/退回/自然资源和规划局.xlsx")
    negative = next(r for r in land if r["行号"] == 7)
    assert negative["地块编码/企业名称/隐患编号"] == code(6)
    assert negative["原值"] == "-3.5"                                 # no apostrophe added
    ledger = sendback_rows(county / "data/exports/2023/退回/应急管理局.xlsx")
    formula = next(r for r in ledger if r["行号"] == 4)
    assert formula["地块编码/企业名称/隐患编号"] == "AQ-3" and formula["原值"] == "=1+1"


# --- file names -----------------------------------------------------------------------------------

def test_file_names_that_sanitise_alike_stay_distinct():
    stems = file_stems(["a/b", "a:b", "A_B", "a_b", "陶朱街道"])
    assert len(set(s.casefold() for s in stems.values())) == 5
    assert stems["陶朱街道"] == "陶朱街道"
    assert safe_file_stem("CON") == "_CON" and safe_file_stem("nul.txt") == "_nul.txt"
    assert safe_file_stem("..") == "未命名" and safe_file_stem("name. ") == "name"
    long = "很" * 200
    assert len(safe_file_stem(long)) <= MAX_STEM and safe_file_stem(long) != safe_file_stem(long + "长")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("陶朱街道镇aA/\\:*?. CONnul_1")), min_size=0, max_size=90),
                max_size=12))
def test_file_stems_are_unique_safe_and_short_for_any_names(names):
    stems = file_stems(names)
    assert set(stems) == set(names)
    assert len({s.casefold() for s in stems.values()}) == len(stems)
    for stem in stems.values():
        assert stem and len(stem) <= MAX_STEM and not set(stem) & set('\\/:*?"<>|')
        assert not stem.startswith(".") and not stem.endswith((".", " "))
        assert stem.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


def test_townships_whose_names_collide_get_a_workbook_each(tmp_path):
    raw = tmp_path / "data" / "raw" / "2023" / "自然资源和规划局"
    write_xlsx(raw / "工业用地底数.xlsx", [LAND_HEADER, [code(1), "新区/东", 10.0, "国有", "是"],
                                            [code(2), "新区:东", 20.0, "国有", "是"]], sheet="工业用地")
    cli(tmp_path, "run", "--year", "2023", "--by-township")
    books = sorted((tmp_path / "data/exports/2023/镇街").glob("*.xlsx"))
    assert len(books) == 2
    towns = {next(iter({r["镇乡（街道）"] for r in list_sheets(openpyxl.load_workbook(b))["工业用地底数清单"]}))
             for b in books}
    assert towns == {"新区/东", "新区:东"}


# --- Chinese scope names ----------------------------------------------------------------------------

def test_scope_names_and_keys_resolve_alike():
    s = load_config(None).settings
    assert [display_name(s, k) for k in ("city", "zone", "pilot")] == ["全市", "开发区", "试点（陶朱街道）"]
    for typed, key in (("全市", "city"), ("city", "city"), ("开发区", "zone"), ("试点（陶朱街道）", "pilot"),
                       ("pilot", "pilot"), ("枫桥镇", "枫桥镇")):
        assert resolve_scope(s, typed, {"枫桥镇"}) == key
    with pytest.raises(UsageError, match="全市"):
        resolve_scope(s, "全是")


def test_workbook_file_titles_and_cli_use_the_chinese_scope_name(county):
    out = cli(county, "export", "--year", "2023", "--scope", "全市")
    assert "治理清单_全市.xlsx" in out and "city" not in out
    book = openpyxl.load_workbook(county / "data/exports/2023/治理清单_全市.xlsx", read_only=True)
    titles = [next(book[name].iter_rows(max_row=1, values_only=True))[0] for name in book.sheetnames]
    assert all("city" not in (t or "") for t in titles)
    assert any("范围：全市" in (t or "") for t in titles)
    report = cli(county, "report", "--year", "2023", "--scope", "city")
    assert "全市" in report


# --- permissions ----------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664)])
def test_outputs_get_the_permissions_of_the_umask(tmp_path, umask, mode):
    small_county(tmp_path)
    old = os.umask(umask)
    try:
        cli(tmp_path, "run", "--year", "2023", "--by-township")
    finally:
        os.umask(old)
    outputs = [p for p in (tmp_path / "data" / "exports").rglob("*.xlsx")]
    outputs += list((tmp_path / "data" / "processed" / "2023").glob("*.parquet"))
    assert outputs
    for path in outputs:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
    for folder in (tmp_path / "data/exports/2023/镇街", tmp_path / "data/exports/2023/退回"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask, folder


# --- two snapshots of one year plus the previous year ------------------------------------------------

def test_checker_and_progress_sheets_on_two_snapshots_and_last_year(tmp_path, monkeypatch):
    """tests/test_track_rev2.py's fixture (hand-worked track results there), exported per township."""
    from test_track_rev2 import P, build

    ws = build(tmp_path, monkeypatch)
    cli(tmp_path, "classify", "--year", "2023", "--as-of", "2023-12-31")
    cli(tmp_path, "export", "--year", "2023", "--by-township")
    assert check_exports(tmp_path, 2023) == []
    exports = ws.root / "data/exports/2023"

    def progress(book: str) -> dict[str, tuple]:
        rows = list_sheets(openpyxl.load_workbook(exports / book))["整改销号进度"]
        return {r["问题编号"]: (r["变化"], r["地块编码"], r["是否逾期"], r["上年末未整改去向"]) for r in rows}

    # by hand, at 2023-12-31: P1–P4 are 陶朱街道, P5–P8 枫桥镇
    assert progress("镇街/陶朱街道.xlsx") == {
        "HB-01": ("仍未整改", P[1], "否", "仍未整改"),      # open since 2021, deadline 2024-06-30
        "HB-02": ("销号", P[2], "否", "销号"),              # open at the end of 2022, closed 2023-05-10
        "HB-03": ("重新打开", P[3], "是", None),            # closed in s1, open in s2, deadline 2023-04-30
        "HB-04": ("仍未整改", P[4], "是", None),            # deadline 2023-06-30 passed
        "HB-10": ("保持关闭", P[3], "否", "销号"),          # 销号 2022-12-20, after 2022's as-of 12-15
        "HB-06": ("已从台账移除", P[4], "否", None),        # removed: keeps its own parcel and township
    }
    assert progress("镇街/枫桥镇.xlsx") == {
        "HB-05": ("新增", P[6], "否", None),                # on row 6, where HB-06 was
        "HB-08": ("保持关闭", P[8], "否", None),
        "HB-09": ("仍未整改", P[5], "否", None),            # closed at the end of 2022, reopened in 2023
        "HB-07": ("已从台账移除", P[7], "否", "已从台账移除"),  # open at the end of 2022, no longer listed
    }
    assert set(progress("治理清单_全市.xlsx")) == set(progress("镇街/陶朱街道.xlsx")) | set(progress("镇街/枫桥镇.xlsx"))
