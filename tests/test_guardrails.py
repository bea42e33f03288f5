"""Guard rails (SPEC §2 rev. 2, issue 13 item 2): the quiet failures each end with a warning, an exit
code, and the previous governance workbooks untouched."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landaudit.cli import app

from conftest import write_xlsx

runner = CliRunner()
CODE = "330681001002GB00012"
LAND = [["地块编码", "镇街", "用地面积（亩）"], [CODE, "陶朱街道", 10], ["330681001002GB00013", "枫桥镇", 20]]
ENTERPRISE = [["企业名称", "地块编码", "税收（万元）"], ["诸暨某某有限公司", CODE, 300]]
LEDGER = [["问题编号", "类别", "企业名称", "隐患等级", "整改状态"], ["AQ-1", "安全生产", "诸暨某某有限公司", "一般", "未整改"]]
FILES = {"自然资源和规划局/用地.xlsx": LAND, "经信局/亩均.xlsx": ENTERPRISE, "应急管理局/台账.xlsx": LEDGER}
MAIN = "治理清单_全市.xlsx"


def invoke(root: Path, *args: str):
    return runner.invoke(app, [*args, "-w", str(root), "--log-format", "plain"], catch_exceptions=False)


def text(result) -> str:
    """Everything the command printed, with rich's line wrapping undone."""
    return re.sub(r"\s*\n\s*", "", result.output)


def write_year(root: Path, year: int = 2023, skip: tuple[str, ...] = ()) -> None:
    for name, rows in FILES.items():
        if name not in skip:
            write_xlsx(root / "data" / "raw" / str(year) / name, rows)


def workbooks(root: Path, year: int = 2023) -> dict[str, str]:
    """sha256 of every file under data/exports/<year>/ (the kept workbooks are byte-identical)."""
    folder = root / "data" / "exports" / str(year)
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.xlsx")) if not p.name.startswith(("~$", ".~lock"))}


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """A complete year, run once: the good workbooks a later mistake must not replace."""
    (tmp_path / "configs").mkdir()          # a real workspace (its configs are the shipped defaults)
    write_year(tmp_path)
    result = invoke(tmp_path, "run")
    assert result.exit_code == 0, result.output
    assert MAIN in workbooks(tmp_path)
    return tmp_path


# 1. the default year -------------------------------------------------------------------------------------

def test_an_empty_year_folder_is_never_the_default_and_naming_it_is_exit_2(exported):
    before = workbooks(exported)
    empty = exported / "data" / "raw" / "2024"
    (empty / "经信局").mkdir(parents=True)
    (empty / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (empty / "经信局" / "~$亩均.xlsx").write_bytes(b"\x04lisi")
    result = invoke(exported, "run")
    assert result.exit_code == 0, result.output
    assert "--year 2023" in result.output or "2023 年" in result.output
    assert not (exported / "data" / "processed" / "2024").exists()

    for command in ("ingest", "run", "export", "classify"):
        result = invoke(exported, command, "--year", "2024")
        assert result.exit_code == 2, (command, result.output)
        assert ("data/raw/2024/ 是空的（没有部门报表）：有部门报表的年度是 2023；请用 --year 选择其中一年，"
                "或把 2024 年的部门报表放进 data/raw/2024/") in text(result)
        assert "demo" not in result.output and "Traceback" not in result.output
    result = invoke(exported, "ingest", "--year", "2019")
    assert result.exit_code == 2 and "找不到 data/raw/2019/：有部门报表的年度是 2023" in text(result)
    assert workbooks(exported) == before


def test_a_real_workspace_without_files_is_told_where_to_put_them_not_to_run_the_demo(tmp_path):
    (tmp_path / "data" / "raw" / "2023").mkdir(parents=True)
    bare = invoke(tmp_path, "ingest")
    assert bare.exit_code == 2
    assert "data/raw/ 下没有任何年度的部门报表（data/raw/2023/ 是空的）：请把各部门报表放进 data/raw/<年度>/" in text(bare)
    assert "landaudit demo" in text(bare)                     # a bare folder: the demo is a way to start
    (tmp_path / "configs").mkdir()                            # `landaudit init` made it: a real workspace
    real = invoke(tmp_path, "ingest")
    assert real.exit_code == 2 and "data/raw/<年度>/" in text(real) and "demo" not in real.output
    named = invoke(tmp_path, "ingest", "--year", "2023")
    assert named.exit_code == 2 and "demo" not in named.output
    assert "data/raw/2023/ 是空的（没有部门报表）：还没有任何年度的部门报表；请把 2023 年的部门报表放进 data/raw/2023/" in text(named)


# 2. missing dataset kinds --------------------------------------------------------------------------------

def test_a_year_without_the_enterprise_file_exits_1_and_keeps_the_workbooks(exported):
    before = workbooks(exported)
    (exported / "data/raw/2023/经信局/亩均.xlsx").unlink()
    warning = "缺少经信局的企业亩均效益（没有找到这份报表）：没有企业的税收和增加值，每个地块都会被判为亩均低效"
    kept = ("2023 年的数据不完整，未导出：原有的治理清单工作簿保持不变。补齐报表后重新运行 landaudit run --year 2023；"
            "确要用不完整的数据导出时加 --allow-incomplete")

    result = invoke(exported, "run")
    assert result.exit_code == 1, result.output
    assert warning in result.output and kept in result.output
    assert "读取和分类已完成（未导出）" in result.output
    assert workbooks(exported) == before
    report = json.loads((exported / "data/processed/2023/ingest_report.json").read_text("utf-8"))
    assert [m["dataset"] for m in report["missing_datasets"]] == ["enterprise"]
    assert report["missing_datasets"][0] | {"message": None} == {
        "dataset": "enterprise", "title": "企业亩均效益", "department": "经信局", "reason": "no_file", "files": [],
        "message": None}
    manifest = json.loads((exported / "data/processed/2023/run_manifest.json").read_text("utf-8"))
    assert manifest["missing_datasets"] == ["enterprise"] and manifest["exported"] is False

    ingested = invoke(exported, "ingest")
    assert ingested.exit_code == 1 and warning in ingested.output
    classified = invoke(exported, "classify")
    assert classified.exit_code == 0 and warning in classified.output   # classify may still run, and says so
    refused = invoke(exported, "export")
    assert refused.exit_code == 1
    assert ("2023 年的数据不完整：" + warning + "。未导出，原有的治理清单工作簿保持不变；补齐报表后重新运行 "
            "landaudit run --year 2023，确要导出不完整的清单时加 --allow-incomplete。") in text(refused)
    assert workbooks(exported) == before

    forced = invoke(exported, "export", "--allow-incomplete")
    assert forced.exit_code == 1 and warning in forced.output        # written, and still said
    assert workbooks(exported)[MAIN] != before[MAIN]
    again = invoke(exported, "run", "--allow-incomplete")
    assert again.exit_code == 1 and warning in again.output and "全部完成" in again.output


def test_a_year_without_the_land_file_names_the_department_and_the_empty_lists(exported):
    before = workbooks(exported)
    (exported / "data/raw/2023/自然资源和规划局/用地.xlsx").unlink()
    result = invoke(exported, "run")
    assert result.exit_code == 1
    assert "缺少自然资源和规划局的工业用地底数（没有找到这份报表）：没有地块，治理清单会是空的" in result.output
    assert "原有的治理清单工作簿保持不变" in result.output
    assert workbooks(exported) == before


def test_a_ledger_lost_to_a_read_error_names_the_file_and_the_ledger_departments(exported):
    before = workbooks(exported)
    (exported / "data/raw/2023/应急管理局/台账.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    result = invoke(exported, "run")
    assert result.exit_code == 1
    assert ("缺少各台账部门的问题隐患台账（data/raw/2023/应急管理局/台账.xlsx 无法读取）：没有问题隐患，"
            "“低散乱污”、隐患和四个一批的判断都缺少依据，隐患清零会显示为达标") in result.output
    report = json.loads((exported / "data/processed/2023/ingest_report.json").read_text("utf-8"))
    (missing,) = report["missing_datasets"]
    assert (missing["dataset"], missing["reason"], missing["files"]) == (
        "ledger", "unreadable", ["data/raw/2023/应急管理局/台账.xlsx"])
    assert workbooks(exported) == before


def test_a_dataset_whose_every_row_was_rejected_counts_as_missing(exported):
    write_xlsx(exported / "data/raw/2023/经信局/亩均.xlsx", [ENTERPRISE[0], ["", "", "不是数字"]])
    result = invoke(exported, "ingest")
    assert result.exit_code == 1
    assert "缺少经信局的企业亩均效益（data/raw/2023/经信局/亩均.xlsx 的行全部被拒收）" in result.output


def test_the_library_functions_stay_usable_without_the_cli(exported):
    from landaudit.errors import IncompleteDataError
    from landaudit.export import export
    from landaudit.ingest import ingest
    from landaudit.workspace import Workspace

    (exported / "data/raw/2023/经信局/亩均.xlsx").unlink()
    ws = Workspace.at(exported)
    result = ingest(ws)                                       # no exception: the report says it
    assert [m["dataset"] for m in result.missing_datasets] == ["enterprise"]
    with pytest.raises(IncompleteDataError) as refused:
        export(ws)
    assert refused.value.exit_code == 1


def test_the_demo_has_all_three_kinds_and_exits_0(tmp_path):
    assert runner.invoke(app, ["demo", "--parcels", "60", "-w", str(tmp_path)]).exit_code == 0
    result = invoke(tmp_path, "run", "--year", "2023")
    assert result.exit_code == 0, result.output
    assert "缺少" not in result.output


# 3. export after a newer ingest ----------------------------------------------------------------------------

def test_export_refuses_lists_of_a_classification_older_than_the_last_ingest(exported):
    before = workbooks(exported)
    assert invoke(exported, "ingest").exit_code == 0
    result = invoke(exported, "export")
    assert result.exit_code == 2
    shown = text(result)
    assert re.search(r"2023 年的分类结果早于最近一次读取（读取 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d，"
                     r"分类 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d）：请先运行 landaudit classify --year 2023", shown), shown
    assert workbooks(exported) == before
    assert invoke(exported, "classify").exit_code == 0
    assert invoke(exported, "export").exit_code == 0
    assert invoke(exported, "ingest").exit_code == 0
    assert invoke(exported, "run").exit_code == 0                  # run classifies itself


def test_results_of_an_older_version_are_judged_by_the_files_write_times(exported):
    import os

    folder = exported / "data/processed/2023"
    record = json.loads((folder / "classify.json").read_text("utf-8"))
    for key in ("ingested_at", "classified_at"):
        record.pop(key)
    (folder / "classify.json").write_text(json.dumps(record), encoding="utf-8")
    report = folder / "ingest_report.json"
    os.utime(folder / "classify.json", (report.stat().st_mtime - 60,) * 2)
    result = invoke(exported, "export")
    assert result.exit_code == 2 and "2023 年的分类结果早于最近一次读取" in text(result)


# 4. a workbook open in Excel/WPS/LibreOffice -----------------------------------------------------------------

def office_owner_file(user: str) -> bytes:
    """An Excel/WPS owner file: the name length in byte 0, the name, spaces up to byte 54, then the
    name again in UTF-16 with its length before it."""
    ansi = user.encode("gbk")
    head = bytes([len(ansi)]) + ansi
    head += b" " * (53 - len(head))
    return head + len(user).to_bytes(2, "little") + user.encode("utf-16-le") + b"\0" * 20


def test_a_workbook_open_in_excel_is_named_with_its_holder_and_nothing_is_written(exported):
    before = workbooks(exported)
    folder = exported / "data/exports/2023"
    (folder / f"~${MAIN}").write_bytes(office_owner_file("张三"))
    result = invoke(exported, "export")
    assert result.exit_code == 2
    assert (f"data/exports/2023/{MAIN} 正被 张三 打开：请先在 Excel/WPS 中关闭，再重新运行。"
            "本次未写出任何工作簿，原有工作簿保持不变。") in text(result)
    assert workbooks(exported) == before
    assert (folder / f"~${MAIN}").is_file()                   # the lock file is left alone
    run = invoke(exported, "run")
    assert run.exit_code == 2 and "正被 张三 打开" in text(run)
    (folder / f"~${MAIN}").unlink()
    assert invoke(exported, "export").exit_code == 0


def test_libreoffice_locks_and_files_in_the_send_back_folder_count_too(exported):
    before = workbooks(exported)
    folder = exported / "data/exports/2023"
    sendback = sorted((folder / "退回").glob("*.xlsx"))[0]
    (sendback.parent / f".~lock.{sendback.name}#").write_text(
        ",李四,PC-07,03.12.2026 10:00,file:///home/lisi/.config/libreoffice/4;", encoding="utf-8")
    (folder / f"~${MAIN}").write_bytes(b"\xff\xfe garbage")   # unreadable owner: still named
    result = invoke(exported, "export")
    assert result.exit_code == 2
    shown = text(result)
    assert f"data/exports/2023/{MAIN} 正被 另一位用户（锁文件 ~${MAIN}） 打开" in shown
    assert f"data/exports/2023/退回/{sendback.name} 正被 李四（主机 PC-07） 打开" in shown
    assert workbooks(exported) == before


def test_owner_files_are_read_leniently():
    from landaudit.workspace import workbook_holder

    def holder(tmp: Path, content: bytes) -> str | None:
        (tmp / "~$a.xlsx").write_bytes(content)
        return workbook_holder(tmp / "a.xlsx")

    import tempfile

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        assert workbook_holder(tmp / "a.xlsx") is None
        assert holder(tmp, office_owner_file("wang")) == "wang"
        assert holder(tmp, b"\x05zhang") == "zhang"
        assert holder(tmp, b"") == "另一位用户（锁文件 ~$a.xlsx）"
        (tmp / "~$a.xlsx").unlink()
        (tmp / "~$ngname.xlsx").write_bytes(b"\x03bob")        # Word-style: ~$ over the first two letters
        assert workbook_holder(tmp / "longname.xlsx") == "bob"


# 5. the environment ------------------------------------------------------------------------------------------

def test_an_unwritable_export_folder_is_exit_2_with_one_chinese_sentence(exported, monkeypatch):
    import errno
    import tempfile

    before = workbooks(exported)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = invoke(exported, "export")
    assert result.exit_code == 2, result.output
    assert (f"无法写入 {exported / 'data/exports/2023' / MAIN}：没有写入权限。原有的输出文件未被改动；"
            "请腾出空间或修正权限后重新运行。") in text(result)
    assert "Traceback" not in result.output and "程序内部错误" not in result.output
    monkeypatch.undo()
    assert workbooks(exported) == before


def test_a_file_in_the_way_of_a_folder_and_a_lock_that_cannot_be_opened_are_exit_2(tmp_path):
    write_year(tmp_path)
    (tmp_path / "data" / "exports").write_text("not a folder", encoding="utf-8")
    result = invoke(tmp_path, "run")
    assert result.exit_code == 2, result.output
    assert "路径上有一个同名的文件挡住了文件夹" in text(result) and "程序内部错误" not in result.output
    (tmp_path / "data" / "exports").unlink()
    (tmp_path / "data" / "processed" / ".landaudit.lock").unlink(missing_ok=True)
    (tmp_path / "data" / "processed" / ".landaudit.lock").mkdir(parents=True)
    locked = invoke(tmp_path, "ingest")
    assert locked.exit_code == 2 and "无法写入" in text(locked) and ".landaudit.lock" in text(locked)
