"""`landaudit status` (read-only state and the next command) and `landaudit check FILE…` (a
department's self-check before sending, through ingest's own code path) — issue 13 items 3 and 4."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landaudit import cli
from landaudit.cli import app

from conftest import FIXTURES, write_xlsx

runner = CliRunner()
LAND = [["地块编码", "镇街", "用地面积（亩）"],
        ["330681001002GB00012", "陶朱街道", 10], ["330681001002GB00013", "陶朱街道", 8]]
ENTERPRISE = [["企业名称", "地块编码", "税收（万元）"], ["诸暨某某有限公司", "330681001002GB00012", 30]]
LEDGER = [["问题编号", "问题类别", "企业名称", "隐患等级", "整改状态"],
          ["AQ-1", "安全生产", "诸暨某某有限公司", "一般", "未整改"]]
BAD_LAND = [["地块编码", "镇街", "用地面积（亩）"],
            ["330681001002GB00012", "陶朱街道", 10],
            ["330681001002GB00013", "陶朱街道", "十亩"]]          # row 3: area not a number → rejected


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def terminal_width(monkeypatch, width: int) -> None:
    """COLUMNS for a console made per invocation, and the module's console for one made at import."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(cli.console, "width", width)


@pytest.fixture
def narrow(monkeypatch):
    """An 80-column terminal (conftest pins 200 for the other tests)."""
    terminal_width(monkeypatch, 80)


def fill(workspace, year: int = 2023) -> None:
    folder = workspace.raw_year(year)
    write_xlsx(folder / "自然资源和规划局" / "用地.xlsx", LAND)
    write_xlsx(folder / "经信局" / "亩均.xlsx", ENTERPRISE)
    write_xlsx(folder / "应急管理局" / "台账.xlsx", LEDGER)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def status_json(root: Path) -> dict:
    result = invoke("status", "-w", str(root), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def fits(output: str, width: int = 80) -> None:
    from rich.cells import cell_len

    too_wide = [line for line in output.splitlines() if cell_len(line.rstrip()) > width]
    assert not too_wide, too_wide


# ---- status -------------------------------------------------------------------------------------

def test_status_of_a_fresh_workspace_says_to_put_files_in_and_ingest(tmp_path, narrow):
    assert invoke("init", str(tmp_path)).exit_code == 0
    data = status_json(tmp_path)
    assert data["years"] == [] and data["next"]["command"] == "landaudit ingest"
    result = invoke("status", "-w", str(tmp_path))
    assert result.exit_code == 0
    assert "下一步：landaudit ingest" in result.output and "data/raw/<年度>/" in result.output
    fits(result.output)


def test_status_before_ingest_names_the_files_not_read(workspace, narrow):
    fill(workspace)
    result = invoke("status", "-w", str(workspace.root))
    assert result.exit_code == 0, result.output
    assert "读取：尚未读取" in result.output
    assert "下一步：landaudit ingest --year 2023（3 个文件还没有读取）" in result.output
    fits(result.output)


def test_status_walks_ingest_classify_export_then_nothing_to_do(workspace, narrow):
    fill(workspace)
    assert invoke("ingest", "-w", str(workspace.root), "-q").exit_code == 0
    data = status_json(workspace.root)
    year = data["years"][0]
    assert year["ingest"]["rows_accepted"] == 4 and year["ingest"]["missing_datasets"] == []
    assert year["ingest"]["datasets"]["land"] == {"rows": 2, "sheets": 1}
    assert year["changes"] == {"new": [], "changed": [], "removed": []}
    assert data["next"] == {"command": "landaudit classify --year 2023", "reason": "已读取，还没有分类", "year": 2023}

    assert invoke("classify", "-w", str(workspace.root), "-q").exit_code == 0
    data = status_json(workspace.root)
    assert data["years"][0]["classify"]["as_of"] == "2023-12-31"
    assert data["years"][0]["classify"]["stale"] is False
    assert data["next"]["command"] == "landaudit export --year 2023"

    assert invoke("export", "-w", str(workspace.root), "-q").exit_code == 0
    data = status_json(workspace.root)
    exported = data["years"][0]["export"]
    assert exported["stale"] is False and any(p.endswith(".xlsx") for p in exported["workbooks"])
    assert data["next"] is None
    result = invoke("status", "-w", str(workspace.root))
    assert "全部是最新的" in result.output and "分类：" in result.output and "隐患判断日 2023-12-31" in result.output
    fits(result.output)


def test_status_after_a_raw_file_changed_says_ingest_again(workspace, narrow):
    fill(workspace)
    assert invoke("ingest", "-w", str(workspace.root), "-q").exit_code == 0
    assert invoke("classify", "-w", str(workspace.root), "-q").exit_code == 0
    land = workspace.raw_year(2023) / "自然资源和规划局" / "用地.xlsx"
    os.utime(land)                                     # opened and saved unchanged: not a change
    assert status_json(workspace.root)["years"][0]["changes"]["changed"] == []
    write_xlsx(land, LAND + [["330681001002GB00014", "陶朱街道", 3]])
    write_xlsx(workspace.raw_year(2023) / "经信局" / "亩均_补报.xlsx", ENTERPRISE)
    (workspace.raw_year(2023) / "应急管理局" / "~$台账.xlsx").write_bytes(b"owner")   # Excel's lock file: ignored
    data = status_json(workspace.root)
    changes = data["years"][0]["changes"]
    assert changes == {"new": ["data/raw/2023/经信局/亩均_补报.xlsx"],
                       "changed": ["data/raw/2023/自然资源和规划局/用地.xlsx"], "removed": []}
    assert data["next"]["command"] == "landaudit ingest --year 2023"
    assert data["next"]["reason"] == "有 1 个新文件，有 1 个文件在读取后改动过"
    result = invoke("status", "-w", str(workspace.root))
    assert "读取后改动过：data/raw/2023/自然资源和规划局/用地.xlsx" in result.output
    assert "下一步：landaudit ingest --year 2023（有 1 个新文件，有 1 个文件在读取后改动过）" in result.output
    fits(result.output)

    assert invoke("ingest", "-w", str(workspace.root), "-q").exit_code == 0
    data = status_json(workspace.root)
    assert data["years"][0]["classify"]["stale"] is True           # classify read the earlier ingest
    assert data["next"]["command"] == "landaudit classify --year 2023"


def test_status_after_a_config_edit_or_a_new_classify(workspace):
    fill(workspace)
    assert invoke("init", str(workspace.root)).exit_code == 0
    for command in ("ingest", "classify", "export"):
        assert invoke(command, "-w", str(workspace.root), "-q").exit_code == 0
    assert status_json(workspace.root)["next"] is None
    assert invoke("classify", "-w", str(workspace.root), "-q", "--as-of", "2023-06-30").exit_code == 0
    data = status_json(workspace.root)
    assert data["years"][0]["export"]["stale"] is True
    assert data["next"]["command"] == "landaudit export --year 2023" and "早于最近一次分类" in data["next"]["reason"]
    settings = workspace.root / "configs" / "landaudit.toml"
    settings.write_text(settings.read_text("utf-8") + "\n", "utf-8")
    assert status_json(workspace.root)["next"] == {
        "command": "landaudit ingest --year 2023", "reason": "配置文件 configs/landaudit.toml 在读取后改动过", "year": 2023}


def test_status_names_a_missing_dataset_and_unreadable_files(workspace, narrow):
    write_xlsx(workspace.raw_year(2023) / "用地.xlsx", LAND)
    write_xlsx(workspace.raw_year(2023) / "台账.xlsx", LEDGER)
    (workspace.raw_year(2023) / "坏文件.xlsx").write_bytes(b"")
    invoke("ingest", "-w", str(workspace.root), "-q")
    data = status_json(workspace.root)
    year = data["years"][0]
    assert year["ingest"]["missing_datasets"] == ["enterprise"]
    assert [u["path"] for u in year["ingest"]["unreadable"]] == ["data/raw/2023/坏文件.xlsx"]
    assert any("经信局" in p for p in year["problems"])
    assert data["next"]["command"] == "landaudit ingest --year 2023" and "经信局" in data["next"]["reason"]
    result = invoke("status", "-w", str(workspace.root))
    assert "无法读取：data/raw/2023/坏文件.xlsx" in result.output
    fits(result.output)


def test_status_json_keys_and_equals_the_library(workspace):
    from landaudit.status import status

    fill(workspace)
    invoke("ingest", "-w", str(workspace.root), "-q")
    data = status_json(workspace.root)
    assert set(data) == {"workspace", "config_error", "running", "years", "next"}
    year = data["years"][0]
    assert set(year) == {"year", "raw", "ingest", "changes", "classify", "export", "problems", "next"}
    assert set(year["raw"]) == {"folder", "files", "newest"}
    assert {"at", "files", "sheets", "datasets", "missing_datasets", "rows_accepted", "rows_rejected",
            "unreadable"} <= set(year["ingest"])
    assert data == json.loads(json.dumps(status(workspace), ensure_ascii=False))


def test_status_writes_nothing_and_ignores_the_lock(workspace):
    from landaudit.workspace import WorkspaceLock

    fill(workspace)
    invoke("ingest", "-w", str(workspace.root), "-q")
    before = tree(workspace.root)
    with WorkspaceLock(workspace, command="landaudit run --year 2023"):
        locked = tree(workspace.root)
        result = invoke("status", "-w", str(workspace.root))
        assert result.exit_code == 0, result.output
        assert "正在运行：landaudit run --year 2023" in result.output
        assert tree(workspace.root) == locked
    assert set(tree(workspace.root)) == set(before)


def test_status_outside_a_workspace_and_of_an_unknown_year_is_exit_2(tmp_path, workspace):
    result = invoke("status", "-w", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "不是 landaudit 工作区" in result.output
    result = invoke("status", "-w", str(workspace.root), "--year", "2019")
    assert result.exit_code == 2 and "2019" in result.output
    assert invoke("status", "-w", str(workspace.root), "--format", "yaml").exit_code == 2


# ---- check --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def elsewhere(tmp_path, monkeypatch):
    """Run from a folder that is no workspace (the repository itself has data/raw/)."""
    monkeypatch.chdir(tmp_path)

def test_check_a_good_file_exits_0(tmp_path, narrow):
    path = write_xlsx(tmp_path / "用地.xlsx", LAND)
    result = invoke("check", str(path))
    assert result.exit_code == 0, result.output
    assert "✓ 通过" in result.output and "工业用地底数" in result.output and "表头在第 1 行" in result.output
    assert "2 行：可接收 2，拒收 0，跳过 0" in result.output
    assert "1 个文件都可以报送" in result.output
    fits(result.output)


def test_check_lists_a_rejected_row_with_row_column_value_and_what_to_fix(tmp_path, narrow):
    path = write_xlsx(tmp_path / "用地.xlsx", BAD_LAND)
    result = invoke("check", str(path))
    assert result.exit_code == 1, result.output
    assert "✗ 不通过" in result.output and "拒收 1 行" in result.output
    assert "拒收  第 3 行，列“用地面积（亩）”，原值“十亩”" in result.output
    assert "“用地面积（亩）”的值“十亩”不是有效数字，请填写数字（可带单位）" in result.output
    fits(result.output)

    data = json.loads(invoke("check", str(path), "--format", "json").output)
    problem, = data["files"][0]["problems"]
    assert (problem["level"], problem["row"], problem["column"], problem["value"], problem["code"]) == \
        ("reject", 3, "用地面积（亩）", "十亩", "invalid_number")
    assert data["valid"] is False and data["totals"]["rows_rejected"] == 1


def test_check_on_a_wide_terminal_shows_a_problems_table(tmp_path, monkeypatch):
    terminal_width(monkeypatch, 140)
    path = write_xlsx(tmp_path / "用地.xlsx", BAD_LAND)
    result = invoke("check", str(path))
    header = next(line for line in result.output.splitlines() if "问题及修改要求" in line)
    assert header.split()[:4] == ["结果", "行", "列", "原值"]
    fits(result.output, 140)


def test_check_an_unreadable_file_exits_1(tmp_path, narrow):
    result = invoke("check", str(FIXTURES / "password_protected.xlsx"), str(FIXTURES / "corrupt_truncated.xlsx"))
    assert result.exit_code == 1
    assert "文件受密码保护或已加密" in result.output and "文件已损坏或不完整" in result.output
    assert "2 个文件中 2 个不能报送" in result.output
    fits(result.output)


def test_check_a_file_of_no_known_dataset_says_why(tmp_path):
    path = write_xlsx(tmp_path / "随便.xlsx", [["姓名", "电话"], ["张三", "123"]])
    result = invoke("check", str(path))
    assert result.exit_code == 1 and "未能识别为任何部门数据集" in result.output


def test_check_outside_a_workspace_uses_the_built_in_configs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_xlsx(tmp_path / "用地.xlsx", LAND)
    result = invoke("check", "用地.xlsx")
    assert result.exit_code == 0, result.output
    assert "内置默认配置" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["用地.xlsx"]
    data = json.loads(invoke("check", "用地.xlsx", "--format", "json").output)
    assert data["workspace"] is None and data["config"]["datasets.toml"].startswith("内置默认")
    assert data["files"][0]["path"] == "用地.xlsx"


def test_check_inside_a_workspace_uses_its_configs_and_writes_nothing(workspace, monkeypatch):
    fill(workspace)
    write_xlsx(workspace.raw_year(2023) / "自然资源和规划局" / "用地.xlsx", BAD_LAND)
    assert invoke("init", str(workspace.root)).exit_code == 0
    config = workspace.root / "configs" / "datasets.toml"
    config.write_text(config.read_text("utf-8").replace('"宗地代码",', '"宗地代码", "地块号",', 1), "utf-8")
    write_xlsx(workspace.root / "改过表头.xlsx", [["地块号", "镇街", "用地面积（亩）"], ["330681001002GB00099", "陶朱街道", 1]])
    monkeypatch.chdir(workspace.root)
    before = tree(workspace.root)
    result = invoke("check", "data/raw/2023/", "改过表头.xlsx")
    assert result.exit_code == 1, result.output                      # BAD_LAND's row 3
    assert f"所用配置：{workspace.root}" in result.output
    assert "✓ 通过：改过表头.xlsx" in result.output                   # the workspace's synonym applies
    assert "✗ 不通过：data/raw/2023/自然资源和规划局/用地.xlsx" in result.output
    assert tree(workspace.root) == before
    from landaudit.check import check

    assert not check([workspace.root / "改过表头.xlsx"]).valid          # the built-in configs do not know 地块号


def test_check_finds_what_ingest_rejects(workspace):
    """One code path: check's problems for a year's files are ingest's rejects and warnings."""
    import pyarrow.parquet as pq

    from landaudit.check import check
    from landaudit.ingest import ingest

    for name in ("land_codes_messy.xlsx", "ledger_dates_all_forms.xlsx", "password_protected.xlsx"):
        (workspace.raw_year(2023) / name).write_bytes((FIXTURES / name).read_bytes())
    ingest(workspace, year=2023)
    folder = workspace.processed_year(2023)
    ingested = {(r["file"], r["sheet"], r["row"], r["column"], r["reason_code"])
                for name in ("rejects", "quality") for r in pq.read_table(folder / f"{name}.parquet").to_pylist()}
    checked = check([workspace.raw_year(2023)], workspace=workspace)
    found = {(f.file, f.sheet, f.row, f.column, f.code) for c in checked.files for f in c.findings}
    assert found == ingested and any(code == "duplicate_conflict" for *_, code in found)


def test_check_xlsx_writes_the_problems_as_a_send_back_workbook(tmp_path):
    import openpyxl

    from landaudit.export.sendback import COLUMNS

    path = write_xlsx(tmp_path / "用地.xlsx", BAD_LAND)
    out = tmp_path / "问题清单.xlsx"
    result = invoke("check", str(path), str(FIXTURES / "password_protected.xlsx"), "--xlsx", str(out))
    assert result.exit_code == 1 and f"问题清单已写出：{out}" in result.output
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["退回清单", "检查结果"]
    rows = list(book["退回清单"].iter_rows(values_only=True))
    header = rows.index(next(r for r in rows if r and r[0] == "序号"))
    assert list(rows[header][1:]) == [c.header for c in COLUMNS]
    body = [dict(zip(rows[header], r, strict=True)) for r in rows[header + 1:]]
    rejected = next(r for r in body if r["处理结果"] == "拒收")
    assert (rejected["行号"], rejected["列"], rejected["原值"]) == (3, "用地面积（亩）", "十亩")
    assert rejected["问题及修改要求"].startswith("“用地面积（亩）”的值“十亩”不是有效数字")
    assert any(r["处理结果"] == "无法读取" and "密码" in r["问题及修改要求"] for r in body)
    assert invoke("check", str(path), "--xlsx", str(tmp_path / "x.csv")).exit_code == 2
    assert invoke("check", str(path), "--xlsx", str(path)).exit_code == 2


def test_check_a_missing_file_is_exit_2(tmp_path):
    result = invoke("check", str(tmp_path / "没有.xlsx"))
    assert result.exit_code == 2 and "找不到文件" in result.output and "Traceback" not in result.output
