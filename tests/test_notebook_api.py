"""The notebook API (issue 15): the README's example runs verbatim; `la.ingest/classify/export` are
the CLI's calls and give what its `--format json` prints; `ws.parcels/ledger/kpis` are the Parquet
the commands wrote, as pyarrow Tables (`.to_pandas()` with pandas installed); a year not yet
classified is a Chinese NoResultsError; warnings reach `logging`; `import landaudit` stays cheap."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import landaudit as la
from landaudit.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from conftest import write_xlsx  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CODES = [f"330681001002GB{n:05d}" for n in (12, 13, 14)]
LAND = [["地块编码", "镇街", "用地面积（亩）"], [CODES[0], "陶朱街道", 10], [CODES[1], "陶朱街道", 25],
        [CODES[2], "枫桥镇", 8]]
ENTERPRISE = [["企业名称", "地块编码", "税收（万元）", "规上企业"], ["诸暨某某有限公司", CODES[0], 30, "是"],
              ["诸暨另一有限公司", CODES[1], 900, "是"]]
LEDGER = [["问题编号", "类别", "企业名称", "隐患等级", "整改状态"], ["AQ-1", "安全生产", "诸暨某某有限公司", "较大", "未整改"],
          ["HB-1", "环保", "诸暨另一有限公司", "一般", "已整改"]]
runner = CliRunner()


def write_year(root: Path, year: int = 2023, ledger: bool = True) -> None:
    folder = root / "data" / "raw" / str(year)
    write_xlsx(folder / "自然资源和规划局" / "用地.xlsx", LAND)
    write_xlsx(folder / "经信局" / "亩均.xlsx", ENTERPRISE)
    if ledger:
        write_xlsx(folder / "应急管理局" / "台账.xlsx", LEDGER)


def cli_json(*args: str):
    result = runner.invoke(app, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def readme_example() -> str:
    """The ```python block of the README's "Notebook and script API" section."""
    text = (REPO / "README.md").read_text("utf-8")
    section = text.split("### Notebook and script API", 1)[1].split("\n### ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return block


@pytest.fixture(scope="module")
def classified(tmp_path_factory) -> la.Workspace:
    root = tmp_path_factory.mktemp("nb")
    write_year(root)
    ws = la.Workspace(root)
    la.ingest(ws, year=2023)
    la.classify(ws, year=2023)
    return ws


def test_the_readme_example_runs_verbatim(tmp_path):
    example = readme_example()
    assert "import landaudit as la" in example and 'if __name__ == "__main__":' in example
    write_year(tmp_path / "诸暨")                      # the folder the example names
    (tmp_path / "example.py").write_text(example, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "LANDAUDIT_WORKSPACE"}
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3 parcels" in done.stdout
    assert "above_scale_tax_per_mu" in done.stdout               # the KPI table, through pandas
    assert "INFO:landaudit.api:开始：读取 2023 年部门报表" in done.stderr      # logging, as configured there
    assert list((tmp_path / "诸暨" / "data" / "exports" / "2023").glob("治理清单_*.xlsx"))


def test_tables_are_the_parquet_the_commands_wrote(classified):
    folder = classified.processed_year(2023)
    for name, table in (("parcels", classified.parcels(2023)), ("ledger", classified.ledger(2023)),
                        ("kpis", classified.kpis(2023)), ("links", classified.table("links", 2023))):
        assert table.equals(pq.read_table(folder / f"{name}.parquet")), name
    assert classified.parcels().equals(classified.parcels(2023))          # the year defaults as in the CLI
    assert sorted(classified.parcels(2023).column("parcel_code").to_pylist()) == CODES


def test_ingest_gives_what_the_cli_json_prints(tmp_path):
    write_year(tmp_path)
    library = json.loads(json.dumps(la.ingest(la.Workspace(tmp_path), year=2023).report(), default=str))
    printed = cli_json("ingest", "-w", str(tmp_path), "--year", "2023")
    timeless = lambda report: {k: v for k, v in report.items() if k != "ingested_at"}     # noqa: E731
    assert timeless(printed) == timeless(library)
    assert la.Workspace(tmp_path).ledger(2023).num_rows == printed["totals"]["by_dataset"]["ledger"]


def test_kpis_are_what_report_json_shows(classified):
    from landaudit.report import KPIS

    table = {(row["scope"], row["township"]): row for row in classified.kpis(2023).to_pylist()}
    shown = cli_json("report", "-w", str(classified.root), "--year", "2023")["rows"]
    assert shown and len(shown) == len(table)
    for row in shown:
        for key, *_ in KPIS:
            assert row["kpis"][key]["value"] == table[(row["scope"], row["township"])][key], (row["township"], key)


def test_parcels_are_what_sql_json_shows(classified):
    columns = ["parcel_code", "township", "area_mu", "batch", "rating", "low_efficiency", "in_scope"]
    shown = cli_json("sql", f"SELECT {', '.join(columns)} FROM parcels ORDER BY parcel_code", "-w",
                     str(classified.root), "--year", "2023")
    table = classified.parcels(2023).select(columns).sort_by("parcel_code").to_pylist()
    assert shown == table


def test_to_pandas_works_when_pandas_is_installed(classified):
    pandas = pytest.importorskip("pandas")
    frame = classified.parcels(2023).to_pandas()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 3
    assert set(frame["parcel_code"]) == set(CODES)


NO_PANDAS = """
import sys
class NoPandas:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
sys.meta_path.insert(0, NoPandas())
import landaudit as la
try:
    la.Workspace(sys.argv[1]).parcels(2023).to_pandas()
except ModuleNotFoundError as exc:
    print(type(exc).__name__, exc)
"""


def test_without_pandas_to_pandas_is_pyarrows_own_error(classified):
    done = subprocess.run([sys.executable, "-c", NO_PANDAS, str(classified.root)], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "ModuleNotFoundError No module named 'pandas'", done.stderr


def test_a_year_not_classified_is_a_chinese_error_naming_the_command(tmp_path):
    write_year(tmp_path)
    ws = la.Workspace(str(tmp_path))                   # a str works too
    with pytest.raises(la.NoResultsError) as raised:
        ws.ledger(2023)
    assert str(raised.value) == ("2023 年尚未读取（找不到 data/processed/2023/ledger.parquet）：请先运行 landaudit ingest "
                                 "--year 2023，或在 Python 中运行 la.ingest(ws, year=2023)")
    la.ingest(ws, year=2023)
    with pytest.raises(la.LandauditError, match=r"2023 年尚未分类（找不到 data/processed/2023/parcels.parquet）："
                                                r"请先运行 landaudit classify --year 2023"):
        ws.parcels(2023)
    with pytest.raises(la.LandauditError, match="没有名为“parcel”的表"):
        ws.table("parcel", 2023)
    (ws.processed_year(2023) / "kpis.parquet").write_bytes(b"PAR1 not really")      # a truncated file
    with pytest.raises(la.LandauditError, match=r"无法读取 data/processed/2023/kpis.parquet（文件已损坏或不完整"):
        ws.kpis(2023)


def test_warnings_reach_logging_escaped(tmp_path, caplog):
    write_year(tmp_path, ledger=False)                 # no ledger: a missing dataset kind (SPEC §2 rev. 2)
    bad = tmp_path / "data" / "raw" / "2023" / "消防" / "台账\x1b[31m.xlsx"
    bad.parent.mkdir()
    bad.write_bytes(b"not a workbook")
    with caplog.at_level(logging.WARNING, logger="landaudit"):
        result = la.ingest(tmp_path, year=2023)
    assert [m["dataset"] for m in result.missing_datasets] == ["ledger"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert {r.name for r in warnings} == {"landaudit.run"}
    assert any("问题隐患" in r.getMessage() or "台账" in r.getMessage() for r in warnings)
    unread = [r.getMessage() for r in warnings if "消防" in r.getMessage()]
    assert unread and "\\x1b[31m" in unread[0] and "\x1b" not in unread[0]        # log.visible
    assert unread and warnings[0].stage == "ingest"


def test_the_api_modules_are_callable_and_still_modules():
    import landaudit.classify
    import landaudit.ingest.pipeline as pipeline

    assert la.classify is landaudit.classify and callable(la.classify)
    assert la.classify.connect is landaudit.classify.connect
    assert la.ingest.pipeline is pipeline and callable(la.ingest) and callable(la.export) and callable(la.run)


def test_import_landaudit_loads_no_heavy_library():
    code = ("import sys, landaudit as la; la.Workspace('.'); la.NoResultsError; "
            "print(sorted(m for m in ('pyarrow', 'duckdb', 'pandas', 'pydantic', 'logging') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
