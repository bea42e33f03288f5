"""CLI: Chinese help, exit codes of SPEC §2, no tracebacks, JSON equals the library result."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.ingest import ingest

from conftest import write_xlsx

runner = CliRunner()
LAND = [["地块编码", "镇街", "用地面积（亩）"], ["330681001002GB00012", "陶朱街道", 10]]
# A year needs all three dataset kinds to exit 0 (SPEC §2 rev. 2, tests/test_guardrails.py)
ENTERPRISE = [["企业名称", "地块编码", "税收（万元）"], ["诸暨某某有限公司", "330681001002GB00012", 30]]
LEDGER = [["问题编号", "类别", "企业名称", "隐患等级", "整改状态"], ["AQ-1", "安全生产", "诸暨某某有限公司", "一般", "未整改"]]


def write_year(workspace, land=LAND, year: int = 2023) -> None:
    """The land file given, and one enterprise and one ledger row beside it."""
    write_xlsx(workspace.raw_year(year) / "用地.xlsx", land)
    write_xlsx(workspace.raw_year(year) / "亩均.xlsx", ENTERPRISE)
    write_xlsx(workspace.raw_year(year) / "台账.xlsx", LEDGER)
CJK = re.compile(r"[\u4e00-\u9fff]")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", ["init", "template", "demo", "ingest", "classify", "export", "run", "report", "track", "explain", "sql"])
def test_every_command_has_chinese_help_and_is_in_the_readme(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "用法" in result.output and "显示本帮助并退出" in result.output
    import typer.main

    params = typer.main.get_command(app).commands[command].params
    assert params and all(CJK.search(p.help or "") for p in params), [p.name for p in params]
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    assert f"landaudit {command}" in readme


def test_ingest_clean_data_exits_0_and_prints_the_counts(workspace):
    write_year(workspace)
    result = invoke("ingest", "-w", str(workspace.root))
    assert result.exit_code == 0, result.output
    assert "接收 1" in result.output and "拒收 0" in result.output


def test_strict_and_max_reject_rate_exit_1(workspace):
    write_year(workspace, LAND + [["", "陶朱街道", 5]])    # one of four rejected
    assert invoke("ingest", "-w", str(workspace.root)).exit_code == 0
    assert invoke("ingest", "-w", str(workspace.root), "--strict").exit_code == 1
    assert invoke("ingest", "-w", str(workspace.root), "--max-reject-rate", "0.3").exit_code == 0
    assert invoke("ingest", "-w", str(workspace.root), "--max-reject-rate", "0.2").exit_code == 1


def test_missing_year_is_a_usage_error_with_exit_2_and_no_traceback(workspace):
    result = invoke("ingest", "-w", str(workspace.root), "--year", "2019")
    assert result.exit_code == 2
    assert "找不到" in result.output and "Traceback" not in result.output


def test_broken_config_exits_2_naming_the_file(workspace):
    (workspace.root / "configs").mkdir()
    (workspace.root / "configs" / "landaudit.toml").write_text("[county\n", encoding="utf-8")
    write_xlsx(workspace.raw_year(2023) / "用地.xlsx", LAND)
    result = invoke("ingest", "-w", str(workspace.root))
    assert result.exit_code == 2
    assert "landaudit.toml" in result.output and "TOML 语法错误" in result.output
    assert "Traceback" not in result.output


def test_json_output_equals_the_library_report(workspace):
    write_year(workspace)
    result = invoke("ingest", "-w", str(workspace.root), "--format", "json")
    assert result.exit_code == 0

    def timeless(report: dict) -> dict:          # each ingest records when it ran
        return {k: v for k, v in report.items() if k != "ingested_at"}

    library = json.loads(json.dumps(ingest(workspace, year=2023).report(), default=str))
    assert timeless(json.loads(result.output)) == timeless(library)


def test_init_writes_editable_configs_that_load(tmp_path):
    result = invoke("init", str(tmp_path / "ws"))
    assert result.exit_code == 0
    from landaudit.config import load_config

    config = load_config(tmp_path / "ws")
    assert config.sources["datasets.toml"].endswith("configs/datasets.toml")
    assert (tmp_path / "ws" / "data" / "raw").is_dir()
    assert len(list((tmp_path / "ws" / "data" / "templates").glob("*.xlsx"))) >= 3
