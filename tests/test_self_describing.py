"""Self-describing outputs (issue 15): every Parquet file landaudit writes carries data_year and
county_code on every row and as key-value metadata; the DuckDB views keep one data_year column
(files written before issue 15 get theirs from the folder); run_manifest.json names the versions
of Python and the libraries that produced the outputs."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.config import load_config
from landaudit.workspace import Workspace, with_provenance

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile_env import write_year  # noqa: E402

runner = CliRunner()


def invoke(root: Path, *args: str):
    logging = [] if args[0] in ("sql", "track") else ["--log-format", "plain"]
    result = runner.invoke(app, [*args, "-w", str(root), *logging], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Two years of a small workspace, each through `landaudit run` (ingest, classify, export)."""
    root = tmp_path_factory.mktemp("described")
    (root / "configs").mkdir()
    for year in (2022, 2023):
        write_year(root, year)
        invoke(root, "run", "--year", str(year), "--as-of", f"{year}-12-31")
    return root


def parquet_files(root: Path, year: int) -> list[Path]:
    return sorted((root / "data" / "processed" / str(year)).rglob("*.parquet"))


def test_every_parquet_file_names_its_year_and_county_on_every_row(workspace):
    code = load_config(workspace).settings.county.code
    for year in (2022, 2023):
        files = parquet_files(workspace, year)
        names = {f.relative_to(workspace / "data" / "processed" / str(year)).as_posix() for f in files}
        # ingest's, classify's and the ledger snapshot: every writer is covered
        assert {"land.parquet", "enterprise.parquet", "ledger.parquet", "rejects.parquet", "quality.parquet",
                "parcels.parquet", "links.parquet", "unlinked.parquet", "kpis.parquet", "ledger_items.parquet",
                "rating_policies.parquet"} <= names
        assert any(n.startswith("snapshots/ledger_") for n in names)
        for path in files:
            table = pq.read_table(path)
            assert table.column_names[-2:] == ["data_year", "county_code"], path
            assert table.schema.field("data_year").type == pa.int32()
            assert table.schema.field("county_code").type == pa.string()
            assert pc.all(pc.equal(table.column("data_year"), year)).as_py() in (True, None), path
            assert pc.all(pc.equal(table.column("county_code"), code)).as_py() in (True, None), path
            assert table.column("data_year").null_count == table.column("county_code").null_count == 0
            assert pq.read_schema(path).metadata[b"data_year"] == str(year).encode(), path
            assert pq.read_schema(path).metadata[b"county_code"] == code.encode(), path
        # rows, not only empty files: the checks above ran on data
        assert pq.read_metadata(workspace / "data/processed" / str(year) / "parcels.parquet").num_rows > 0


def test_the_views_have_one_data_year_and_filter_by_it(workspace):
    code = load_config(workspace).settings.county.code
    result = invoke(workspace, "sql", "SELECT data_year, county_code, count(*) AS n FROM parcels "
                                      "WHERE data_year = 2023 GROUP BY ALL", "--format", "json")
    rows = json.loads(result.stdout)
    assert [(r["data_year"], r["county_code"]) for r in rows] == [(2023, code)] and rows[0]["n"] > 0
    columns = json.loads(invoke(workspace, "sql", "SELECT column_name FROM duckdb_columns() "
                                                  "WHERE table_name = 'parcels'", "--format", "json").stdout)
    names = [c["column_name"] for c in columns]
    assert names.count("data_year") == 1 and names.count("county_code") == 1 and names[0] == "data_year"
    years = json.loads(invoke(workspace, "sql", "SELECT DISTINCT data_year FROM land ORDER BY 1",
                              "--format", "json").stdout)
    assert years == [{"data_year": 2022}, {"data_year": 2023}]


def test_a_view_over_files_written_before_issue_15_takes_their_year_from_the_folder(tmp_path):
    from landaudit.classify import rebuild_database

    for year in (2022, 2023):
        write_year(tmp_path, year)
        invoke(tmp_path, "ingest", "--year", str(year))
    old = tmp_path / "data/processed/2022/land.parquet"      # as an earlier version wrote it
    pq.write_table(pq.read_table(old).drop_columns(["data_year", "county_code"]), old)
    import duckdb

    ws = Workspace.at(tmp_path)
    database = rebuild_database(ws)
    con = duckdb.connect(str(database), read_only=True)
    try:
        years = con.execute("SELECT data_year, count(*) FROM land GROUP BY ALL ORDER BY 1").fetchall()
        columns = [r[0] for r in con.execute("DESCRIBE land").fetchall()]
    finally:
        con.close()
    assert [y for y, _ in years] == [2022, 2023]
    assert columns.count("data_year") == 1


def test_the_models_never_see_the_input_files_provenance(workspace):
    """Last year's parcels carry data_year 2022: classify of 2023 still writes 2023 everywhere, one
    column each (checked above), and the outputs keep the order their SQL gives."""
    links = pq.read_table(workspace / "data/processed/2023/links.parquet").to_pylist()
    keys = [(r["kind"], r["parcel_code"] or "", r["source_file"], r["source_sheet"], r["source_row"]) for r in links]
    assert keys == sorted(keys)


def test_a_snapshot_written_before_issue_15_is_the_same_content(tmp_path):
    """Adding the two columns is no change of the ledger: no new snapshot, no phantom change."""
    from landaudit.track import list_snapshots

    write_year(tmp_path)
    invoke(tmp_path, "ingest")
    ws = Workspace.at(tmp_path)
    [snapshot] = list_snapshots(ws, 2023)
    pq.write_table(pq.read_table(snapshot).drop_columns(["data_year", "county_code"]), snapshot)
    invoke(tmp_path, "ingest")
    assert list_snapshots(ws, 2023) == [snapshot]
    result = json.loads(invoke(tmp_path, "track", "--format", "json").stdout)
    assert all("data_year" not in item and "county_code" not in item for item in result["items"])


def test_with_provenance_replaces_columns_of_those_names():
    table = pa.table({"a": [1, 2], "data_year": [1999, 1999]})
    out = with_provenance(table, year=2023, county_code="330681")
    assert out.column_names == ["a", "data_year", "county_code"]
    assert out.column("data_year").to_pylist() == [2023, 2023]
    assert out.schema.metadata == {b"data_year": b"2023", b"county_code": b"330681"}
    assert with_provenance(table.slice(0, 0), year=2023, county_code="330681").num_rows == 0


def test_the_manifest_lists_the_versions_that_produced_the_outputs(workspace):
    import landaudit

    manifest = json.loads((workspace / "data/processed/2023/run_manifest.json").read_text(encoding="utf-8"))
    versions = manifest["versions"]
    assert versions["python"] == platform.python_version()
    assert versions["landaudit"] == landaudit.__version__
    for name in ("duckdb", "pyarrow", "python-calamine", "xlsxwriter"):
        assert versions[name] == metadata.version(name), name
    assert versions["platform"] == platform.platform()


@pytest.mark.parametrize("path", ["/srv/ws/data/processed/2023/land.parquet",
                                  r"C:\Users\分析员\ws\data\processed\2023\land.parquet",
                                  r"\\server\share\ws\data\processed\2023/land.parquet"])
def test_the_folder_year_of_older_files_on_every_os(path):
    import duckdb

    from landaudit.classify import FOLDER_YEAR

    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT {FOLDER_YEAR} FROM (SELECT ? AS filename)", [path]).fetchone() == (2023,)
    finally:
        con.close()
