"""The CLI on an 80-column terminal, and in Chinese (issue 13 items 5-6).

At 80 columns nothing is cut: no "…" anywhere, no line wider than the terminal, every number of
the results appears whole. The common mistakes get one Chinese sentence and exit 2."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.render import kpi_text

runner = CliRunner()
NARROW = {"COLUMNS": "80"}


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env or NARROW, catch_exceptions=False)


def assert_fits(text: str, width: int = 80) -> None:
    assert "…" not in text, [line for line in text.splitlines() if "…" in line][:3]
    wide = [line for line in text.splitlines() if cell_len(line.rstrip()) > width]
    assert not wide, wide[:3]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli80")
    for args in (["demo", "--parcels", "150"], ["run", "--year", "2022", "--as-of", "2022-12-31"],
                 ["run", "--year", "2023", "--as-of", "2023-12-31"]):
        result = runner.invoke(app, [*args, "-w", str(root)], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
    return root


# ------------------------------------------------------------------------------------ report

def test_report_at_80_columns_is_one_block_per_township_with_every_number_whole(demo):
    result = invoke("report", "-w", str(demo), "-y", "2023")
    assert result.exit_code == 0, result.output
    assert_fits(result.stdout)
    data = json.loads(invoke("report", "-w", str(demo), "-y", "2023", "--format", "json").stdout)
    text = result.stdout
    for row in data["rows"]:
        assert f"{row['scope_name']} · {row['township']}" in text
        for kpi in row["kpis"].values():
            value = kpi_text(kpi["value"], kpi["unit"])
            shown = value if kpi["unit"] == "%" or value == "—" else f"{value} {kpi['unit']}"
            assert shown in text, (row["township"], kpi["name"], shown)
    assert "✗ 未达标" in text or "✓ 达标" in text                 # words and marks, not colour alone
    assert "≥ 25.00 万元/亩" in text


def test_report_on_a_wide_terminal_is_one_table_with_units_in_the_headers(demo):
    result = invoke("report", "-w", str(demo), "-y", "2023", env={"COLUMNS": "220"})
    assert result.exit_code == 0
    assert_fits(result.stdout, 220)
    for unit in ("（万元/亩）", "（条）", "（宗）", "（亩）"):
        assert unit in result.stdout
    assert "✓ 达标，✗ 未达标" in result.stdout


# ------------------------------------------------------------------------------------ ingest

def test_ingest_on_a_terminal_prints_one_compact_line_per_file(demo):
    result = invoke("ingest", "-w", str(demo), "-y", "2023", "--log-format", "rich")
    assert result.exit_code == 0, result.output
    assert_fits(result.stdout)
    report = json.loads((demo / "data/processed/2023/ingest_report.json").read_text("utf-8"))
    lines = result.stdout.splitlines()
    for entry in report["files"]:
        name = entry["path"].removeprefix("data/raw/2023/")
        line = next(line for line in lines if line.startswith(name))            # department/file, one line
        if "error" in entry:
            assert "未读取" in line
        else:
            numbers = re.findall(r"[\d,]+", line.removeprefix(name))
            assert numbers[-3:] == [f"{entry[k]:,}" for k in ("rows_accepted", "rows_rejected", "rows_skipped")]
    assert not any(line.startswith("data/raw/") for line in lines)


def test_ingest_without_a_terminal_logs_plain_lines_on_stderr_only(demo):
    result = invoke("ingest", "-w", str(demo), "-y", "2023", "--log-format", "plain")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert all(re.match(r"\d{4}-\d\d-\d\dT", line) for line in result.stderr.splitlines())
    assert "INFO" in result.stderr


# ------------------------------------------------------------------------------------ explain

def test_explain_at_80_columns_shows_wide_sections_vertically(demo):
    import pyarrow.parquet as pq

    parcels = pq.read_table(demo / "data/processed/2023/parcels.parquet").to_pylist()
    parcel = next(p for p in parcels if p["batch"] and p["n_enterprises"])
    result = invoke("explain", parcel["parcel_code"], "-w", str(demo), "-y", "2023")
    assert result.exit_code == 0, result.output
    assert_fits(result.stdout)
    text = result.stdout
    assert f"四个一批：{parcel['batch']}" in text
    assert f"{parcel['tax_per_mu']:,.2f}" in text and f"{parcel['area_mu']:,.2f} 亩" in text
    codes = parcel["credit_codes"]
    for code in (codes.split("、") if isinstance(codes, str) else codes or []):
        assert code in text                                     # 18 characters, whole
    assert "── 企业 1：" in text
    facts = json.loads(invoke("explain", parcel["parcel_code"], "-w", str(demo), "-y", "2023", "--format", "json").stdout)
    assert facts["parcel"]["parcel_code"] == parcel["parcel_code"] and facts["conclusion"] in text.replace("\n", "")


# ------------------------------------------------------------------------------------ sql

def test_sql_lists_tables_and_columns(demo):
    tables = invoke("sql", "--tables", "-w", str(demo))
    assert tables.exit_code == 0
    assert_fits(tables.stdout)
    assert "parcels" in tables.stdout and "视图" in tables.stdout
    columns = invoke("sql", "--columns", "parcels", "-w", str(demo))
    assert columns.exit_code == 0
    assert "parcel_code" in columns.stdout and "VARCHAR" in columns.stdout and "area_mu" in columns.stdout
    wrong = invoke("sql", "--columns", "parcel", "-w", str(demo))
    assert wrong.exit_code == 2 and "您是不是要用 parcels" in wrong.output


def test_sql_wide_rows_are_vertical_and_screen_sized(demo):
    result = invoke("sql", "SELECT * FROM parcels", "-w", str(demo))
    assert result.exit_code == 0
    assert_fits(result.stdout)
    assert result.stdout.count("── 第 ") == 20
    assert "显示前 20 行，共 300 行" in result.stdout
    assert invoke("sql", "SELECT * FROM parcels", "--limit", "3", "-w", str(demo)).stdout.count("── 第 ") == 3


def test_sql_narrow_results_are_a_table_and_numbers_are_whole(demo):
    query = "SELECT township, count(*) AS n, sum(area_mu) AS mu FROM parcels GROUP BY 1 ORDER BY 1"
    result = invoke("sql", query, "-y", "2023", "-w", str(demo))
    assert result.exit_code == 0
    assert_fits(result.stdout)
    counts = json.loads(invoke("sql", query, "-y", "2023", "--format", "json", "-w", str(demo)).stdout)
    for row in counts:
        assert f" {row['n']:,} " in result.stdout
    assert sum(r["n"] for r in counts) == 150                   # --year: only 2023's parcels


def test_sql_year_filters_every_view_by_data_year(demo):
    result = invoke("sql", "SELECT DISTINCT data_year FROM parcels", "--year", "2022", "--format", "json",
                    "-w", str(demo))
    assert json.loads(result.stdout) == [{"data_year": 2022}]
    missing = invoke("sql", "SELECT 1", "--year", "2019", "-w", str(demo))
    assert missing.exit_code == 2 and "没有 2019 年的数据" in missing.output and "2022、2023" in missing.output


def test_sql_csv_has_a_bom_for_excel_to_stdout_and_to_a_file(demo, tmp_path):
    query = "SELECT parcel_code, township FROM parcels ORDER BY 1"
    result = runner.invoke(app, ["sql", query, "--format", "csv", "-w", str(demo)], env=NARROW)
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0] == ["parcel_code", "township"] and len(rows) == 301          # csv: every row by default
    out = tmp_path / "地块.csv"
    written = invoke("sql", query, "-o", str(out), "-w", str(demo))
    assert written.exit_code == 0 and "已写出 300 行" in written.stderr
    assert out.read_bytes() == result.stdout_bytes


@pytest.mark.parametrize(("query", "expected"), [
    ("SELECT * FROM parcelz", "SQL 错误：表 parcelz 不存在，您是不是要用 parcels？可用的表：enterprise、"),
    ("SELECT * FORM parcels", "SQL 错误：第 15 列附近语法错误（“parcels”处）"),
    ("SELECT nosuch FROM parcels", "SQL 错误：列 nosuch 不存在"),
    ("SELECT * FROM parcels WHERE batch = 3", "不能当作整数"),
    ("DELETE FROM parcels", "只能执行一条只读查询"),
])
def test_sql_errors_are_chinese_and_exit_2(demo, query, expected):
    result = invoke("sql", query, "-w", str(demo))
    assert result.exit_code == 2
    assert expected in result.output, result.output
    assert "Traceback" not in result.output and "Error:" not in result.output


# ------------------------------------------------------------------------------------ mistakes

@pytest.mark.parametrize(("args", "expected"), [
    (["report", "--yaer", "2023"], "错误：未知选项 --yaer，您是不是要用 --year？"),
    (["reprot"], "错误：没有命令 reprot，您是不是要用 report"),
    (["report", "--year", "abc"], "错误：--year 的值 abc 不是整数"),
    (["explain"], "错误：缺少参数 地块编码（宗地代码或 28 位不动产单元号）"),
    (["report", "--format", "xml"], "错误：--format 的值 xml 不在可选范围内，可用：table、json"),
    (["run", "--log-format", "fancy"], "可用：auto、plain、json、rich"),
    (["sql", "SELECT 1", "--format", "xlsx"], "可用：table、csv、json"),
    (["demo", "--parcels", "0"], "错误：--parcels 的值 0 不能小于 1"),
    (["report", "--year"], "错误：选项 --year 后面缺少取值"),
    (["report", "a", "b"], "错误：多余的参数：a b"),
])
def test_usage_mistakes_are_one_chinese_sentence_and_exit_2(args, expected, tmp_path):
    result = invoke(*args)
    assert result.exit_code == 2
    assert expected in result.output, result.output
    assert "Error" not in result.output and "Usage" not in result.output and "Try '" not in result.output


def test_a_year_without_files_names_the_years_that_have_them(demo):
    result = invoke("report", "-w", str(demo), "--year", "2019")
    assert result.exit_code == 2
    assert "data/raw/2019/" in result.output and "有部门报表的年度是 2023、2022" in result.output


def test_outside_a_workspace_says_what_to_do_in_chinese(tmp_path):
    result = invoke("ingest", "-w", str(tmp_path))
    assert result.exit_code == 2
    assert "没有任何年度的部门报表" in result.output and "data/raw/<年度>/" in result.output
    assert "Traceback" not in result.output


def test_bad_config_value_names_file_key_line_and_reason(demo, tmp_path):
    from landaudit.config import default_config_text

    root = tmp_path / "ws"
    (root / "configs").mkdir(parents=True)
    (root / "data/raw/2023").mkdir(parents=True)
    (root / "data/raw/2023/用地.csv").write_text("地块编码,镇街,用地面积（亩）\n330681001002GB00012,陶朱街道,10\n", "utf-8")
    text = default_config_text("landaudit.toml").replace("header_search_rows = 20", "header_search_rows = 0")
    (root / "configs/landaudit.toml").write_text(text, "utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("header_search_rows"))
    result = invoke("ingest", "-w", str(root))
    assert result.exit_code == 2
    assert f"ingest.header_search_rows（第 {line} 行） — 不能小于 1（现在是 0）" in result.output, result.output


def test_bad_toml_names_the_line_and_column_in_chinese(tmp_path):
    root = tmp_path / "ws"
    (root / "configs").mkdir(parents=True)
    (root / "data/raw/2023").mkdir(parents=True)
    (root / "data/raw/2023/用地.csv").write_text("地块编码,镇街,用地面积（亩）\n330681001002GB00012,陶朱街道,10\n", "utf-8")
    (root / "configs/landaudit.toml").write_text('# 主配置\n[county]\nname = 诸暨市\n', "utf-8")
    result = invoke("ingest", "-w", str(root))
    assert result.exit_code == 2
    assert "TOML 语法错误：第 3 行第 8 列（name = 诸暨市）：值无效：文字要加英文双引号" in result.output, result.output


def test_a_fatal_error_in_json_log_mode_is_one_error_line(tmp_path):
    result = invoke("ingest", "-w", str(tmp_path), "--log-format", "json")
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert len(records) == 1 and records[0]["level"] == "error" and "部门报表" in records[0]["message"]
    plain = invoke("ingest", "-w", str(tmp_path), "--log-format", "plain")
    assert len(plain.stderr.splitlines()) == 1 and " ERROR " in plain.stderr


# ------------------------------------------------------------------------------------ help

def test_version_short_help_and_completion_are_chinese():
    version = invoke("--version")
    assert version.exit_code == 0 and version.stdout.startswith("landaudit ")
    top = invoke("-h")
    assert top.exit_code == 0
    assert "--install-completion" in top.stdout and "--show-completion" in top.stdout and "安装命令" in top.stdout
    assert "用法：landaudit [选项] 命令 [参数]..." in top.stdout
    assert "..." not in top.stdout.split("命令:")[-1]            # one-line summaries, none cut


@pytest.mark.parametrize("command", ["init", "template", "demo", "ingest", "classify", "export", "run", "census",
                                     "report", "track", "explain", "sql", "status", "check"])
def test_every_command_help_ends_with_examples(command):
    result = invoke(command, "-h")
    assert result.exit_code == 0
    assert_fits(result.stdout)                      # Chinese help wrapped by cells, at 80 columns
    tail = result.stdout.rsplit("示例：", 1)
    assert len(tail) == 2, result.stdout[-300:]
    examples = [line.strip() for line in tail[1].splitlines() if line.strip()]
    assert 1 <= len(examples) <= 4 and all(line.startswith("landaudit ") for line in examples)


def test_no_color_is_respected(demo):
    forced = invoke("report", "-w", str(demo), "-y", "2023", env={**NARROW, "FORCE_COLOR": "1"})
    assert re.search(r"\x1b\[[0-9;]*3[12]m", forced.stdout)          # red/green marks on a colour terminal
    plain = invoke("report", "-w", str(demo), "-y", "2023", env={**NARROW, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", plain.stdout)
    assert "✗ 未达标" in plain.stdout or "✓ 达标" in plain.stdout


def test_shell_completion_completes_commands_and_choices():
    def complete(words: str, cword: int) -> list[str]:
        env = {"_LANDAUDIT_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        return runner.invoke(app, [], env=env, prog_name="landaudit").stdout.split()

    assert complete("landaudit rep", 1) == ["report"]
    assert complete("landaudit report --format ", 3) == ["table", "json"]
    assert complete("landaudit sql --format ", 3) == ["table", "csv", "json"]


def test_sql_free_text_folds_but_codes_and_numbers_never_break(demo):
    query = ("SELECT parcel_code, area_mu, batch_rule, low_efficiency_reasons FROM parcels "
             "WHERE batch IS NOT NULL ORDER BY parcel_code")
    result = invoke("sql", query, "--limit", "5", "-y", "2023", "-w", str(demo))
    assert result.exit_code == 0
    assert_fits(result.stdout)
    assert "┃ parcel_code" in result.stdout                      # still a table: the text columns fold
    rows = json.loads(invoke("sql", query, "--limit", "5", "-y", "2023", "--format", "json", "-w", str(demo)).stdout)
    for row in rows:
        assert row["parcel_code"] in result.stdout
        for number in re.findall(r"\d+\.\d+", row["low_efficiency_reasons"] and " ".join(row["low_efficiency_reasons"]) or ""):
            assert number in result.stdout


def test_a_usage_error_in_json_or_plain_log_mode_is_one_log_line():
    result = invoke("run", "--log-format", "json", "--yaer", "2023")
    assert result.exit_code == 2
    (record,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert record["level"] == "error" and record["message"] == "未知选项 --yaer，您是不是要用 --year？"
    plain = invoke("ingest", "--log-format=plain", "--format", "xml")
    assert plain.exit_code == 2 and len(plain.stderr.splitlines()) == 1 and " ERROR [usage] " in plain.stderr
