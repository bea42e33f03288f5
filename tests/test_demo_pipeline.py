"""The whole pipeline on the demo department files through the CLI, as `make demo` runs it."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from landaudit.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_ws")
    for args in (["demo", "--parcels", "400"],
                 ["ingest", "--year", "2022"], ["classify", "--year", "2022"],          # as of 2022-12-31
                 ["ingest", "--year", "2023"], ["classify", "--year", "2023", "--as-of", "2023-12-31"]):
        result = runner.invoke(app, [*args, "-w", str(root)], catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
    return root


def test_ingest_report_adds_up_for_every_sheet_and_lists_every_file(demo_ws):
    report = json.loads((demo_ws / "data/processed/2023/ingest_report.json").read_text("utf-8"))
    raw_files = sorted(p.relative_to(demo_ws).as_posix() for p in (demo_ws / "data/raw/2023").rglob("*") if p.is_file())
    assert sorted({f["path"] for f in report["files"]}) == raw_files            # nothing silently ignored
    for entry in report["files"]:
        if "error" in entry:
            assert entry["path"].endswith("填报说明.txt") and entry["error"]["code"] == "unknown_dataset"
            continue
        assert entry["rows_total"] == entry["rows_accepted"] + entry["rows_rejected"] + entry["rows_skipped"]
    datasets = {f["dataset"] for f in report["files"] if "error" not in f}
    assert datasets == {"land", "enterprise", "ledger"}
    categories = {f["category"] for f in report["files"] if f.get("dataset") == "ledger"}
    assert categories >= {"环保", "安全生产", "消防", "信访"}


def test_every_rejected_row_has_row_column_and_a_chinese_reason(demo_ws):
    report = json.loads((demo_ws / "data/processed/2023/ingest_report.json").read_text("utf-8"))
    rejects = pq.read_table(demo_ws / "data/processed/2023/rejects.parquet").to_pylist()
    row_rejects = [r for r in rejects if r["level"] == "reject"]
    rejected_rows = {(r["file"], r["sheet"], r["row"]) for r in row_rejects}
    assert len(rejected_rows) == report["totals"]["rows_rejected"] > 0
    for r in row_rejects:
        assert r["row"] >= 1 and r["message"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r["message"])
        if r["reason_code"] not in ("missing_keys", "duplicate_conflict"):
            assert r["column"]


def test_classify_wrote_parcels_with_every_batch(demo_ws):
    parcels = pq.read_table(demo_ws / "data/processed/2023/parcels.parquet").to_pylist()
    assert len(parcels) == 400
    assert {p["batch"] for p in parcels} == {None, "整治提升", "拆除重建", "功能转型", "关停退出"}
    assert all(p["reasons"] for p in parcels if p["in_scope"])
    assert any(p["va_per_mu_growth"] is not None for p in parcels)            # 2022 was classified first


def test_explain_a_demo_parcel_cites_source_rows(demo_ws):
    parcels = pq.read_table(demo_ws / "data/processed/2023/parcels.parquet").to_pylist()
    target = next(p for p in parcels if p["scattered_polluting"] and p["n_enterprises"])
    result = runner.invoke(app, ["explain", target["parcel_code"], "-w", str(demo_ws)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "工业用地底数_2023.xlsx" in out and f"第 {target['source_row']} 行" in out
    assert "亩均效益_2023.xlsx" in out                        # the enterprise fact's source
    assert "四个一批" in out and target["batch"] in out


def test_sql_is_read_only(demo_ws):
    ok = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM parcels WHERE data_year = 2023", "--format", "json",
                             "-w", str(demo_ws)])
    assert ok.exit_code == 0 and json.loads(ok.output) == [{"n": 400}]
    refused = runner.invoke(app, ["sql", "DROP VIEW parcels", "-w", str(demo_ws)])
    assert refused.exit_code == 2 and "只读" in refused.output


def test_classify_is_deterministic_across_reruns(demo_ws):
    """Float sums in DuckDB run in parallel; the models fix their input order so that re-runs give
    identical Parquet (SPEC §13). Three re-runs: a parallel order change shows up quickly."""
    folder = demo_ws / "data/processed/2023"
    before = {n: pq.read_table(folder / f"{n}.parquet") for n in ("parcels", "kpis", "rating_policies")}
    for _ in range(3):
        result = runner.invoke(app, ["classify", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_ws)])
        assert result.exit_code == 0
        assert [n for n, t in before.items() if not pq.read_table(folder / f"{n}.parquet").equals(t)] == []


def test_no_idle_parcel_is_rated_above_d_and_every_group_has_each_class(demo_ws):
    parcels = pq.read_table(demo_ws / "data/processed/2023/parcels.parquet").to_pylist()
    assert any(p["idle"] for p in parcels)
    assert {p["rating"] for p in parcels if p["idle"]} == {"D"}               # SPEC §8 rev. 2
    for group in ("规上", "规下"):
        assert {p["rating"] for p in parcels if p["rating_group"] == group} == {"A", "B", "C", "D"}


def test_report_track_and_the_workbook_show_the_same_overdue_count(demo_ws):
    import openpyxl

    from landaudit.classify import recorded_as_of
    from landaudit.workspace import Workspace

    ws = Workspace.at(demo_ws)
    assert recorded_as_of(ws, 2022).isoformat() == "2022-12-31"            # the default for a past year
    result = runner.invoke(app, ["export", "--year", "2023", "-w", str(demo_ws)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(runner.invoke(app, ["report", "--year", "2023", "--format", "json", "-w", str(demo_ws)]).output)
    city = next(r for r in report["rows"] if r["scope"] == "city" and r["township"] == "全部")
    track = json.loads(runner.invoke(app, ["track", "--year", "2023", "--format", "json", "-w", str(demo_ws)]).output)
    book = openpyxl.load_workbook(demo_ws / "data/exports/2023/治理清单_全市.xlsx", read_only=True)
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    overdue = city["kpis"]["overdue_items"]["value"]
    assert overdue > 0
    assert track["counts"]["逾期"] == summary["逾期未整改问题隐患"] == overdue
    assert track["as_of"] == city["as_of"] == "2023-12-31"
    assert summary["未整改重大、较大问题隐患"] == city["kpis"]["open_major_items"]["value"]
