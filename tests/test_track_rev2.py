"""Tracking by item (SPEC §11 rev. 2) through the real ingest: department files written as xlsx/csv,
ingested for 2022 (one snapshot) and twice for 2023 (the second the same ledger renamed, its sheet
renamed and its rows re-sorted, with real status changes). Every expected `track` result below is
worked out by hand from the fixture; the comment beside each item says why."""

from __future__ import annotations

import csv
import json
import random
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.ingest import ingest
from landaudit.track import list_snapshots, track
from landaudit.workspace import Workspace

from conftest import write_xlsx

AS_OF = date(2023, 12, 31)
LAST_AS_OF = date(2022, 12, 15)       # 2022 is classified at this date: "open at the end of 2022" uses it
P = {n: f"330681001002GB{n:05d}" for n in range(1, 9)}
TOWN = {n: "陶朱街道" if n <= 4 else "枫桥镇" for n in P}

LAND_HEADER = ["序号", "地块编码", "所属镇街", "用地面积（亩）", "土地权属", "是否符合土地利用总体规划"]
LEDGER_HEADER = ["隐患编号", "问题类别", "企业名称", "地块编码", "隐患内容", "隐患等级", "发现日期", "整改期限",
                 "整改状态", "销号日期"]
PETITION_HEADER = ["编号", "企业名称", "地块编码", "问题内容", "发现日期", "整改状态"]


def hazard(item_id, parcel, severity, found, deadline, status, closed=None):
    return [item_id, "环保", f"企业{parcel}", P[parcel], f"问题{item_id}", severity, found, deadline, status, closed]


# The ledger at the end of 2022 (one snapshot, taken 2022-12-28).
LEDGER_2022 = [
    hazard("HB-01", 1, "较大", "2021-05-01", "2024-06-30", "整改中"),
    hazard("HB-02", 2, "一般", "2022-03-01", "2023-03-31", "未整改"),
    hazard("HB-07", 7, "较大", "2022-06-01", "2022-12-31", "未整改"),
    hazard("HB-08", 8, "一般", "2022-04-01", "2022-09-30", "已销号", "2022-10-01"),
    hazard("HB-09", 5, "一般", "2022-05-01", "2024-01-31", "已销号", "2022-11-01"),
    hazard("HB-10", 3, "一般", "2022-07-01", "2022-12-31", "已销号", "2022-12-20"),
    hazard("HB-11", 6, "一般", "2022-02-01", "2022-06-30", "已销号", "2022-06-20"),   # not carried to 2023
]
# 2023, first snapshot (taken 2023-03-31): HB-07 is gone, HB-09 reopened, HB-03/04/06 found this year.
LEDGER_S1 = [
    hazard("HB-01", 1, "较大", "2021-05-01", "2024-06-30", "整改中"),
    hazard("HB-02", 2, "一般", "2022-03-01", "2023-03-31", "未整改"),
    hazard("HB-03", 3, "较大", "2023-02-01", "2023-04-30", "已销号", "2023-03-15"),
    hazard("HB-04", 4, "一般", "2023-01-10", "2023-06-30", "整改中"),
    hazard("HB-06", 4, "重大", "2023-01-05", "2023-09-30", "整改中"),      # row 6 of the file
    hazard("HB-08", 8, "一般", "2022-04-01", "2022-09-30", "已销号", "2022-10-01"),
    hazard("HB-09", 5, "一般", "2022-05-01", "2024-01-31", "整改中"),
    hazard("HB-10", 3, "一般", "2022-07-01", "2022-12-31", "已销号", "2022-12-20"),
]
# 2023, second snapshot (taken 2023-09-30): renamed file and sheet, re-sorted; HB-02 closed, HB-03
# reopened, HB-05 new, HB-06 (陶朱街道, 重大) removed; row 6 is now HB-05 of 枫桥镇.
LEDGER_S2 = [
    hazard("HB-10", 3, "一般", "2022-07-01", "2022-12-31", "已销号", "2022-12-20"),
    hazard("HB-09", 5, "一般", "2022-05-01", "2024-01-31", "整改中"),
    hazard("HB-08", 8, "一般", "2022-04-01", "2022-09-30", "已销号", "2022-10-01"),
    hazard("HB-01", 1, "较大", "2021-05-01", "2024-06-30", "整改中"),
    hazard("HB-05", 6, "一般", "2023-08-01", "2024-02-28", "未整改"),      # row 6, where HB-06 was
    hazard("HB-04", 4, "一般", "2023-01-10", "2023-06-30", "整改中"),
    hazard("HB-03", 3, "较大", "2023-02-01", "2023-04-30", "整改中"),
    hazard("HB-02", 2, "一般", "2022-03-01", "2023-03-31", "已销号", "2023-05-10"),
]
# 信访 items have no rectification status: never tracked, whatever they do.
PETITIONS_2022 = [["XF-01", "企业1", P[1], "夜间噪声扰民", "2022-08-01", ""]]
PETITIONS_S1 = PETITIONS_2022
PETITIONS_S2 = [["XF-02", "企业6", P[6], "废气异味扰民", "2023-07-01", ""], *PETITIONS_2022]

S1_FILE, S1_SHEET = "环保局/环保问题台账.xlsx", "台账"
S2_FILE, S2_SHEET = "环保局/环保问题台账（9月更新）.xlsx", "2023年9月"
TAKEN = {"2022": datetime(2022, 12, 28, 10, 0), "s1": datetime(2023, 3, 31, 9, 0),
         "resend": datetime(2023, 6, 30, 8, 0), "s2": datetime(2023, 9, 30, 17, 0),
         "s3": datetime(2023, 11, 1, 8, 0)}


def write_csv(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)


def write_year(root: Path, year: int, ledger: list[list], petitions: list[list], *, ledger_file: str,
               sheet: str, petition_file: str = "信访局/信访件汇总.csv") -> None:
    """The year's department folder holds exactly these files (an earlier ledger file is replaced)."""
    raw = root / "data" / "raw" / str(year)
    if raw.exists():
        shutil.rmtree(raw)
    write_xlsx(raw / "自然资源和规划局" / "工业用地.xlsx",
               [LAND_HEADER, *[[n, P[n], TOWN[n], 10.0, "国有", "是"] for n in P]])
    write_xlsx(raw / ledger_file, [LEDGER_HEADER, *ledger], sheet=sheet)
    write_csv(raw / petition_file, [PETITION_HEADER, *petitions])


def ingest_at(monkeypatch, ws: Workspace, year: int, when: datetime) -> None:
    monkeypatch.setattr("landaudit.track._clock", lambda: when)
    ingest(ws, year=year)


def build(root: Path, monkeypatch, *, shuffle: random.Random | None = None, names: tuple[str, str] | None = None,
          upto: str = "s2") -> Workspace:
    """2022 ingested and classified (at LAST_AS_OF), then 2023's first ledger, optionally the same
    ledger re-sent renamed and re-sorted, then the second ledger. `shuffle` re-orders every file's
    rows and `names` renames the 2023 ledger files (the property test); `upto="s1"` stops after
    the first 2023 ledger."""
    from landaudit.classify import classify

    def order(rows):
        rows = list(rows)
        if shuffle:
            shuffle.shuffle(rows)
        return rows

    s1_file, s2_file = names or (S1_FILE, S2_FILE)
    (root / "data" / "raw" / "2023").mkdir(parents=True, exist_ok=True)
    ws = Workspace.at(root)
    write_year(root, 2022, order(LEDGER_2022), order(PETITIONS_2022), ledger_file="环保局/环保问题台账_2022.xlsx",
               sheet="2022")
    ingest_at(monkeypatch, ws, 2022, TAKEN["2022"])
    classify(ws, year=2022, as_of=LAST_AS_OF)
    write_year(root, 2023, order(LEDGER_S1), order(PETITIONS_S1), ledger_file=s1_file, sheet=S1_SHEET)
    ingest_at(monkeypatch, ws, 2023, TAKEN["s1"])
    if upto == "s1":
        return ws
    write_year(root, 2023, order(reversed(LEDGER_S1)), order(reversed(PETITIONS_S1)),
               ledger_file="环保局/环保问题台账（重新报送）.xlsx", sheet="Sheet1",
               petition_file="信访局/信访件汇总（重报）.csv")
    ingest_at(monkeypatch, ws, 2023, TAKEN["resend"])
    write_year(root, 2023, order(LEDGER_S2), order(PETITIONS_S2), ledger_file=s2_file, sheet=S2_SHEET)
    ingest_at(monkeypatch, ws, 2023, TAKEN["s2"])
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("track")
    with pytest.MonkeyPatch.context() as monkeypatch:
        build(root / "first", monkeypatch, upto="s1")     # for the "first snapshot of the year" test
        return build(root / "full", monkeypatch)


def summary(rows: list[dict], *keys: str) -> dict[str, tuple]:
    return {r["item_id"]: tuple(r[k] for k in keys) for r in rows}


# ---------------------------------------------------------------- snapshots

def test_a_resent_renamed_resorted_file_makes_no_snapshot(ws):
    # 2022: one; 2023: the first ledger and the second; the re-sent copy of the first (other file
    # name, sheet name, petition file name, rows reversed) made none
    assert [p.name for p in list_snapshots(ws, 2022)] == ["ledger_20221228T100000.parquet"]
    assert [p.name for p in list_snapshots(ws, 2023)] == ["ledger_20230331T090000.parquet",
                                                          "ledger_20230930T170000.parquet"]
    # re-sending the second ledger renamed and re-sorted makes none either
    with pytest.MonkeyPatch.context() as monkeypatch:
        copy = Workspace.at(ws.root.parent / "resend2")
        shutil.copytree(ws.root, copy.root)
        write_year(copy.root, 2023, list(reversed(LEDGER_S2)), PETITIONS_S2, ledger_file="环保局/新名字.xlsx",
                   sheet="改过的表名")
        ingest_at(monkeypatch, copy, 2023, TAKEN["s3"])
        assert len(list_snapshots(copy, 2023)) == 2


def test_legacy_snapshots_still_load(ws):
    """A snapshot written before status_state and in file-row order still compares by item."""
    import pyarrow.parquet as pq

    copy = Workspace.at(ws.root.parent / "legacy")
    shutil.copytree(ws.root, copy.root)
    first = list_snapshots(copy, 2023)[0]
    table = pq.read_table(first)
    pq.write_table(table.drop_columns(["status_state"]).take(list(reversed(range(table.num_rows)))), first)
    legacy = track(copy, year=2023, as_of=AS_OF)
    assert legacy.counts == track(ws, year=2023, as_of=AS_OF).counts


# ---------------------------------------------------------------- the newest against the previous

# The second 2023 snapshot against the first (their statuses differ), judged at 2023-12-31.
EXPECTED_COUNTS = {"新增": 1, "销号": 1, "仍未整改": 3, "重新打开": 1, "逾期": 2, "已从台账移除": 1}
EXPECTED_ITEMS = {                                   # change, overdue, status, previous_status, last_year_status
    "HB-05": ("新增", False, "未整改", None, None),           # only in the second; deadline 2024-02-28
    "HB-02": ("销号", False, "已销号", "未整改", "未整改"),      # open in the first, closed 2023-05-10
    "HB-01": ("仍未整改", False, "整改中", "整改中", "整改中"),  # open since 2021, deadline 2024-06-30
    "HB-04": ("仍未整改", True, "整改中", "整改中", None),      # open, deadline 2023-06-30 passed
    "HB-09": ("仍未整改", False, "整改中", "整改中", "已销号"),  # reopened in January, still open
    "HB-03": ("重新打开", True, "整改中", "已销号", None),      # closed in the first, open again; due 04-30
    "HB-06": ("已从台账移除", False, None, "整改中", None),     # in the first only: never overdue
    "HB-08": ("保持关闭", False, "已销号", "已销号", "已销号"),
    "HB-10": ("保持关闭", False, "已销号", "已销号", "已销号"),  # closed 2022-12-20 ≤ 2023-12-31
}
# Against the end of 2022 (as-of 2022-12-15): HB-01, HB-02, HB-07 open, and HB-10 (closed on
# 2022-12-20, after the as-of date). HB-08, HB-09 and HB-11 were closed; XF-01 is 信访.
EXPECTED_YEAR_COUNTS = {"上年未整改": 4, "上年未整改已销号": 2, "上年未整改仍未整改": 1, "上年未整改已从台账移除": 1,
                        "上年已销号重新打开": 1,   # HB-09: closed at the end of 2022, open now
                        "本年新增": 3}             # HB-03, HB-04, HB-05 (HB-06 is no longer listed)
EXPECTED_FATES = {                                   # fate, status now, last_year_status, overdue
    "HB-02": ("销号", "已销号", "未整改", False),
    "HB-10": ("销号", "已销号", "已销号", False),     # its 销号日期 was after 2022's as-of date
    "HB-01": ("仍未整改", "整改中", "整改中", False),
    "HB-07": ("已从台账移除", None, "未整改", False),  # in no 2023 ledger
}


def test_track_newest_against_the_newest_differing_snapshot(ws):
    result = track(ws, year=2023, as_of=AS_OF)
    assert (result.newest, result.previous, result.previous_snapshot_year) == (
        "2023-09-30 17:00:00", "2023-03-31 09:00:00", 2023)
    assert (result.previous_year, result.previous_year_as_of) == (2022, LAST_AS_OF)
    assert result.counts == EXPECTED_COUNTS
    assert summary(result.items, "change", "overdue", "status", "previous_status", "last_year_status") \
        == EXPECTED_ITEMS
    assert [r["item_id"] for r in result.items] == ["HB-05", "HB-02", "HB-01", "HB-04", "HB-09", "HB-03",
                                                    "HB-06", "HB-08", "HB-10"]
    assert all(r["overdue"] in (True, False) for r in result.items)
    assert result.year_counts == EXPECTED_YEAR_COUNTS
    assert summary(result.last_year_open, "fate", "status", "last_year_status", "overdue") == EXPECTED_FATES


def test_a_removed_item_keeps_its_own_row(ws):
    result = track(ws, year=2023, as_of=AS_OF)
    (removed,) = [r for r in result.items if r["change"] == "已从台账移除"]
    # HB-06 was 陶朱街道's 重大 item on P4; row 6 of the new file is HB-05 of 枫桥镇 (P6)
    assert (removed["item_id"], removed["category"], removed["parcel_code"], removed["parcel_codes"],
            removed["name"], removed["severity"], removed["deadline"]) == (
        "HB-06", "环保", P[4], [P[4]], "企业4", "重大", date(2023, 9, 30))
    assert (removed["source_file"].endswith("环保问题台账.xlsx"), removed["source_sheet"], removed["source_row"]) \
        == (True, S1_SHEET, 6)
    (gone,) = [r for r in result.last_year_open if r["fate"] == "已从台账移除"]
    assert (gone["item_id"], gone["parcel_code"], gone["name"], gone["severity"]) == ("HB-07", P[7], "企业7", "较大")
    # the other items carry the newest snapshot's rows
    (new,) = [r for r in result.items if r["item_id"] == "HB-05"]
    assert (new["parcel_code"], new["source_sheet"], new["source_row"]) == (P[6], S2_SHEET, 6)


def test_petitions_are_not_tracked(ws):
    result = track(ws, year=2023, as_of=AS_OF)
    assert not [r for r in result.items + result.last_year_open if r["category"] == "信访"]
    assert sum(result.counts.values()) - result.counts["逾期"] + 2 == len(result.items)   # + 2 保持关闭


def test_first_snapshot_of_the_year_is_compared_with_last_years_last(ws):
    first = Workspace.at(ws.root.parent / "first")
    result = track(first, year=2023, as_of=AS_OF)
    assert (result.previous, result.previous_snapshot_year) == ("2022-12-28 10:00:00", 2022)
    # against 2022's last snapshot, whose items are open or closed as at 2022-12-15
    assert summary(result.items, "change", "overdue") == {
        "HB-03": ("新增", False),           # found in 2023, closed 2023-03-15
        "HB-04": ("新增", True),            # found in 2023, due 2023-06-30
        "HB-06": ("新增", True),            # found in 2023, due 2023-09-30
        "HB-10": ("销号", False),           # open at 2022-12-15, closed (2022-12-20) now
        "HB-01": ("仍未整改", False),       # carried over from 2021: not 新增
        "HB-02": ("仍未整改", True),        # carried over, due 2023-03-31
        "HB-09": ("重新打开", False),       # closed in 2022, open again
        "HB-07": ("已从台账移除", False),   # open at the end of 2022, in no 2023 ledger
        "HB-08": ("保持关闭", False),
        # HB-11, closed in 2022 and left out of the 2023 ledger, is no change: not 已从台账移除
    }
    assert result.counts == {"新增": 3, "销号": 1, "仍未整改": 2, "重新打开": 1, "逾期": 3, "已从台账移除": 1}
    assert result.year_counts == {"上年未整改": 4, "上年未整改已销号": 1, "上年未整改仍未整改": 2,
                                  "上年未整改已从台账移除": 1, "上年已销号重新打开": 1, "本年新增": 3}
    assert summary(result.last_year_open, "fate") == {"HB-10": ("销号",), "HB-01": ("仍未整改",),
                                                       "HB-02": ("仍未整改",), "HB-07": ("已从台账移除",)}


def test_since_picks_the_newest_snapshot_on_or_before_the_day(ws):
    # 2023-03-31 (the day of the first snapshot, end of day) → the first snapshot: the default result
    on_the_day = track(ws, year=2023, as_of=AS_OF, since=date(2023, 3, 31))
    assert on_the_day.previous == "2023-03-31 09:00:00" and on_the_day.counts == EXPECTED_COUNTS
    # 2023-10-01 → the newest itself: nothing changed
    itself = track(ws, year=2023, as_of=AS_OF, since=date(2023, 10, 1))
    assert itself.previous == itself.newest
    # HB-01, HB-03, HB-04, HB-05, HB-09 open in both; HB-03, HB-04 overdue
    assert itself.counts == {"新增": 0, "销号": 0, "仍未整改": 5, "重新打开": 0, "逾期": 2, "已从台账移除": 0}
    # 2023-03-01: no 2023 snapshot yet → 2022's last (as-of 2022-12-15)
    early = track(ws, year=2023, as_of=AS_OF, since=date(2023, 3, 1))
    assert (early.previous, early.previous_snapshot_year, early.since) == ("2022-12-28 10:00:00", 2022,
                                                                            date(2023, 3, 1))
    assert summary(early.items, "change") == {
        "HB-03": ("新增",), "HB-04": ("新增",), "HB-05": ("新增",),       # found in 2023
        "HB-02": ("销号",), "HB-10": ("销号",),                          # open at 2022-12-15, closed now
        "HB-01": ("仍未整改",),
        "HB-09": ("重新打开",),                                          # closed in 2022
        "HB-07": ("已从台账移除",),                                      # HB-06 was never in 2022's
        "HB-08": ("保持关闭",),                                          # (HB-11: closed in 2022)
    }
    assert early.counts == {"新增": 3, "销号": 2, "仍未整改": 1, "重新打开": 1, "逾期": 2, "已从台账移除": 1}
    assert early.year_counts == EXPECTED_YEAR_COUNTS          # the year comparison does not move


def test_since_with_no_snapshot_is_one_chinese_sentence(ws):
    result = CliRunner().invoke(app, ["track", "--year", "2022", "--since", "2022-06-30", "-w", str(ws.root)])
    assert result.exit_code == 2
    assert "2022 年没有 2022-06-30 当天或之前的台账快照" in result.output and "Traceback" not in result.output
    bad = CliRunner().invoke(app, ["track", "--year", "2023", "--since", "上个月", "-w", str(ws.root)])
    assert bad.exit_code == 2 and "--since 的日期“上个月”无法识别" in bad.output


def test_previous_skips_snapshots_whose_statuses_are_the_same(ws, monkeypatch):
    # a third ingest where only an enterprise name changed and a 信访 item came in: a new snapshot
    # (its content changed), but its hazards' statuses equal the second's, so the comparison is
    # still with the first
    copy = Workspace.at(ws.root.parent / "third")
    shutil.copytree(ws.root, copy.root)
    renamed = [row[:2] + ["企业1（更名）"] + row[3:] if row[0] == "HB-01" else row for row in LEDGER_S2]
    petitions = [*PETITIONS_S2, ["XF-03", "企业2", P[2], "拖欠工资", "2023-10-20", ""]]
    write_year(copy.root, 2023, renamed, petitions, ledger_file=S2_FILE, sheet=S2_SHEET)
    ingest_at(monkeypatch, copy, 2023, TAKEN["s3"])
    assert len(list_snapshots(copy, 2023)) == 3
    result = track(copy, year=2023, as_of=AS_OF)
    assert (result.newest, result.previous) == ("2023-11-01 08:00:00", "2023-03-31 09:00:00")
    assert result.counts == EXPECTED_COUNTS
    assert summary(result.items, "change", "overdue", "status", "previous_status", "last_year_status") \
        == EXPECTED_ITEMS
    assert next(r for r in result.items if r["item_id"] == "HB-01")["name"] == "企业1（更名）"


# ---------------------------------------------------------------- the CLI

def test_cli_json_equals_the_library_result_and_the_table_fits_80_columns(ws):
    runner = CliRunner()
    args = ["track", "--year", "2023", "--as-of", "2023-12-31", "-w", str(ws.root)]
    data = json.loads(runner.invoke(app, [*args, "--format", "json"]).output)
    assert data == json.loads(json.dumps(track(ws, year=2023, as_of=AS_OF).to_dict()))
    assert data["counts"] == EXPECTED_COUNTS and data["year_counts"] == EXPECTED_YEAR_COUNTS
    assert {r["item_id"]: r["fate"] for r in data["last_year_open"]} == {k: v[0] for k, v in EXPECTED_FATES.items()}
    assert next(r for r in data["items"] if r["item_id"] == "HB-06")["deadline"] == "2023-09-30"
    table = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    from rich.cells import cell_len

    assert max(cell_len(line) for line in table.output.splitlines()) <= 80
    for text in ("对比快照：2023-03-31 09:00:00", "对比 2022 年末（2022-12-15）", "上年末未整改：已从台账移除",
                 "上年末已销号、现重新打开", "信访件不计入"):
        assert text in table.output
    since = runner.invoke(app, [*args, "--since", "2023-03-01"], env={"COLUMNS": "80"})
    assert "2022-12-28 10:00:00（2022 年最后一次快照）" in since.output


# ---------------------------------------------------------------- property: order and names never matter

def _without_sources(result) -> dict:
    data = result.to_dict()
    for row in data["items"] + data["last_year_open"]:
        for column in ("source_file", "source_sheet", "source_row"):
            row.pop(column)
    return data


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), names=st.sampled_from([
    ("环保局/a.xlsx", "环保局/b.xlsx"), ("台账1.xlsx", "另一个部门/台账2.xlsx"), (S2_FILE, S1_FILE)]))
def test_shuffled_rows_and_renamed_files_change_no_snapshot_count_nor_any_result(ws, tmp_path_factory, seed, names):
    with pytest.MonkeyPatch.context() as monkeypatch:
        other = build(tmp_path_factory.mktemp("shuffled"), monkeypatch, shuffle=random.Random(seed), names=names)
    for year in (2022, 2023):
        assert [p.name for p in list_snapshots(other, year)] == [p.name for p in list_snapshots(ws, year)]
    for kwargs in ({}, {"since": date(2023, 3, 1)}, {"since": date(2023, 10, 1)}):
        assert _without_sources(track(other, year=2023, as_of=AS_OF, **kwargs)) \
            == _without_sources(track(ws, year=2023, as_of=AS_OF, **kwargs))
