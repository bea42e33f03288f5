"""Operations (SPEC §2, §10–§13): run for cron, the workspace lock, atomic outputs under SIGKILL,
the run manifest, logs without a TTY, report and track."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.workspace import Workspace

BIN = Path(sys.executable).parent / "landaudit"
ENV = {**os.environ, "COLUMNS": "200"}


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real console script in a subprocess: no TTY, as cron runs it."""
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout, env=ENV, cwd=cwd)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ops")
    assert cli("demo", "--parcels", "600", "-w", str(root)).returncode == 0
    for year in ("2022", "2023"):
        assert cli("run", "--year", year, "--as-of", f"{year}-12-31", "-w", str(root)).returncode == 0
    return root


def hold_lock(root: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the workspace lock the way every run takes it."""
    code = (f"import time; from landaudit.workspace import Workspace, WorkspaceLock\n"
            f"with WorkspaceLock(Workspace.at({str(root)!r}), command='landaudit run --year 2023'):\n"
            f"    print('locked', flush=True); time.sleep({seconds})\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_run_without_a_tty_prints_plain_lines_and_writes_everything(demo_root):
    result = cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root))
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()                  # log lines go to stderr, results to stdout
    assert all(line[:4].isdigit() and line[10] == "T" for line in lines), lines[:3]     # timestamped
    assert any("[export]" in line for line in lines)
    assert (demo_root / "data/exports/2023/治理清单_全市.xlsx").is_file()


def test_json_log_lines_all_parse(demo_root):
    result = cli("run", "--year", "2023", "--as-of", "2023-12-31", "--log-format", "json", "-w", str(demo_root))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.strip().splitlines()]
    assert {r["stage"] for r in records} >= {"ingest", "classify", "export", "run"}
    assert all(set(r) == {"time", "level", "stage", "message", "counts", "elapsed"} for r in records)
    done = next(r for r in records if r["stage"] == "ingest" and r["message"].startswith("完成"))
    assert done["counts"]["rows_total"] == done["counts"]["rows_accepted"] + done["counts"]["rows_rejected"] \
        + done["counts"]["rows_skipped"]


def test_manifest_names_inputs_with_sha256_outputs_and_timings(demo_root):
    assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    manifest = json.loads((demo_root / "data/processed/2023/run_manifest.json").read_text("utf-8"))
    land = next(i for i in manifest["inputs"] if i["path"].endswith("工业用地底数_2023.xlsx"))
    assert land["sha256"] == hashlib.sha256((demo_root / land["path"]).read_bytes()).hexdigest()
    assert land["sheets"][0]["rows_accepted"] == 600
    outputs = {o["path"] for o in manifest["outputs"]}
    assert {"data/processed/2023/parcels.parquet", "data/exports/2023/治理清单_全市.xlsx"} <= outputs
    assert set(manifest["timings_seconds"]) == {"ingest", "classify", "export", "total"}
    assert len(manifest["config"]["sha256"]) == 64 and manifest["version"]


def test_rerun_on_unchanged_inputs_gives_the_same_rows_and_cells(demo_root):
    import openpyxl

    folder = demo_root / "data/processed/2023"
    assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    before = {n: pq.read_table(folder / f"{n}.parquet") for n in ("land", "parcels", "kpis")}
    book = demo_root / "data/exports/2023/治理清单_全市.xlsx"
    cells = [[c.value for c in row] for ws in openpyxl.load_workbook(book).worksheets for row in ws.iter_rows()]
    assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    changed = [n for n, t in before.items() if not pq.read_table(folder / f"{n}.parquet").equals(t)]
    assert changed == []
    again = [[c.value for c in row] for ws in openpyxl.load_workbook(book).worksheets for row in ws.iter_rows()]
    assert again == cells


def test_a_second_run_exits_3_naming_the_holder(demo_root):
    holder = hold_lock(demo_root, 20)
    try:
        result = cli("run", "--year", "2023", "-w", str(demo_root), timeout=30)
        assert result.returncode == 3
        message = result.stdout + result.stderr
        assert f"PID {holder.pid}" in message and "开始于" in message and os.uname().nodename in message
        assert "Traceback" not in message
    finally:
        holder.kill()
        holder.wait()


def test_lock_wait_waits_for_the_holder(demo_root):
    assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    holder = hold_lock(demo_root, 1.5)
    started = time.monotonic()
    result = cli("export", "--year", "2023", "--lock-wait", "30", "-w", str(demo_root), timeout=60)
    holder.wait()
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.0


def test_a_stale_lock_of_a_killed_run_is_taken_over_with_a_warning(demo_root):
    assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    holder = hold_lock(demo_root, 60)
    holder.send_signal(signal.SIGKILL)          # dies holding the lock: its note stays in the file
    holder.wait()
    lock = demo_root / "data/processed/.landaudit.lock"
    assert str(holder.pid) in lock.read_text()
    result = cli("export", "--year", "2023", "-w", str(demo_root), timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"PID {holder.pid}" in result.stderr and "未正常结束" in result.stderr
    assert lock.read_text() == ""               # released cleanly


def test_sigkill_during_export_leaves_the_previous_workbook_intact(demo_root):
    exports = demo_root / "data/exports/2023"
    assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    assert cli("export", "--year", "2023", "--by-township", "-w", str(demo_root)).returncode == 0
    book = exports / "治理清单_全市.xlsx"
    before = book.read_bytes()
    proc = subprocess.Popen([str(BIN), "export", "--year", "2023", "--by-township", "-w", str(demo_root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 60
    # the workbooks are written in the generation folder data/exports/.2023.gen-*/ (issue 14)
    while not list(exports.parent.rglob(".*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL                          # killed mid-export, not finished
    assert book.read_bytes() == before
    import openpyxl

    assert openpyxl.load_workbook(book).sheetnames[0] == "汇总"    # complete and readable
    result = cli("export", "--year", "2023", "-w", str(demo_root))   # the next run cleans up
    assert result.returncode == 0
    assert not list(exports.parent.rglob(".*.tmp")) and not list(exports.parent.glob(".*.gen-*"))


def test_report_json_equals_the_library_result(demo_root):
    from landaudit.report import report

    result = CliRunner().invoke(app, ["report", "--year", "2023", "--format", "json", "-w", str(demo_root)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(report(Workspace.at(demo_root), year=2023), default=str))
    table = CliRunner().invoke(app, ["report", "--year", "2023", "-w", str(demo_root)])
    assert table.exit_code == 0 and "规上工业亩均税收" in table.output


# ---------------------------------------------------------------- track on hand-made snapshots

def _snapshot(ws: Workspace, year: int, stamp: str, rows: list[tuple]) -> None:
    from landaudit.track import SNAPSHOT_COLUMNS, snapshot_folder

    records = [dict.fromkeys(SNAPSHOT_COLUMNS) | {"category": "环保", "item_id": i, "status": s, "deadline": d,
                                                   "status_state": "closed" if s == "已销号" else "open",
                                                   "source_file": "f.xlsx", "source_sheet": "S", "source_row": n}
               for n, (i, s, d) in enumerate(rows, start=2)]
    schema = pa.schema([(c, pa.date32() if c in ("deadline", "closed_date", "found_date") else
                         pa.int64() if c == "source_row" else pa.string()) for c in SNAPSHOT_COLUMNS])
    folder = snapshot_folder(ws, year)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=schema), folder / f"ledger_{stamp}.parquet")


def test_track_counts_on_two_hand_made_snapshots(tmp_path):
    from landaudit.track import track

    (tmp_path / "data/raw/2023").mkdir(parents=True)
    ws = Workspace.at(tmp_path)
    d = date(2023, 6, 30)
    _snapshot(ws, 2022, "20221231T120000", [("A", "未整改", d), ("B", "已销号", d)])
    _snapshot(ws, 2023, "20230301T090000", [
        ("A", "未整改", d), ("C", "整改中", d), ("D", "已销号", d), ("E", "未整改", date(2024, 1, 31)),
        ("G", "整改中", d)])
    _snapshot(ws, 2023, "20230901T090000", [
        ("A", "已销号", d),                        # closed since the last snapshot (销号)
        ("C", "整改中", d),                        # still open, deadline passed → overdue
        ("D", "未整改", d),                        # reopened, deadline passed → overdue
        ("E", "整改中", date(2024, 1, 31)),        # still open, not yet due
        ("F", "未整改", None),                     # new, no deadline
    ])                                             # G is gone from the ledger
    result = track(ws, year=2023, as_of=date(2023, 12, 31))
    assert result.counts == {"新增": 1, "销号": 1, "仍未整改": 2, "重新打开": 1, "逾期": 2, "已从台账移除": 1}
    # vs 2022: A was open at the end of last year and is closed now; everything else is new this year
    assert result.year_counts == {"上年未整改": 1, "上年未整改已销号": 1, "上年未整改仍未整改": 0,
                                  "上年未整改已从台账移除": 0, "上年已销号重新打开": 0, "本年新增": 4}
    changes = {r["item_id"]: r["change"] for r in result.items}
    assert changes == {"A": "销号", "C": "仍未整改", "D": "重新打开", "E": "仍未整改", "F": "新增", "G": "已从台账移除"}
    # the removed item is listed with its whole row from the earlier snapshot (deadline, source row),
    # the others with the newest snapshot's and the earlier status
    (g,) = [r for r in result.items if r["item_id"] == "G"]
    assert (g["deadline"], g["source_row"], g["previous_status"], g["status"]) == (d, 6, "整改中", None)
    (a,) = [r for r in result.items if r["item_id"] == "A"]
    assert (a["source_row"], a["previous_status"], a["last_year_status"]) == (2, "未整改", "未整改")


def test_ingest_keeps_one_snapshot_per_change_and_export_has_the_progress_sheet(demo_root):
    import openpyxl

    from landaudit.track import list_snapshots

    ws = Workspace.at(demo_root)
    cli("ingest", "--year", "2023", "-w", str(demo_root))
    count = len(list_snapshots(ws, 2023))
    assert count >= 1
    cli("ingest", "--year", "2023", "-w", str(demo_root))            # unchanged → no new snapshot
    assert len(list_snapshots(ws, 2023)) == count
    assert cli("classify", "--year", "2023", "--as-of", "2023-12-31", "-w", str(demo_root)).returncode == 0
    assert cli("export", "--year", "2023", "-w", str(demo_root)).returncode == 0
    book = openpyxl.load_workbook(demo_root / "data/exports/2023/治理清单_全市.xlsx")
    assert book.sheetnames[-1] == "整改销号进度"
    from landaudit.export.workbook import HEADER_ROWS

    assert book["整改销号进度"].max_row > HEADER_ROWS
    track = cli("track", "--year", "2023", "--as-of", "2023-12-31", "--format", "json", "-w", str(demo_root))
    assert track.returncode == 0 and json.loads(track.stdout)["counts"]["逾期"] >= 0


def test_permission_denied_on_output_is_one_sentence_and_keeps_the_previous_file(tmp_path):
    from landaudit.errors import OutputError
    from landaudit.workspace import write_json

    target = tmp_path / "out" / "report.json"
    write_json(target, {"v": 1})
    os.chmod(target.parent, 0o500)                     # no new files (the temporary) can be made
    try:
        if os.access(target.parent, os.W_OK):          # running as root: permissions do not bind
            pytest.skip("root ignores directory permissions")
        with pytest.raises(OutputError, match="没有写入权限"):
            write_json(target, {"v": 2})
    finally:
        os.chmod(target.parent, 0o700)
    assert json.loads(target.read_text()) == {"v": 1}


def test_disk_full_is_one_sentence_and_keeps_the_previous_file(tmp_path, monkeypatch):
    import errno

    from landaudit.errors import OutputError
    from landaudit.workspace import atomic_write, write_json

    target = tmp_path / "report.json"
    write_json(target, {"v": 1})

    def full(tmp):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="磁盘空间不足"):
        atomic_write(target, full)
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]      # no temporary left


def test_a_deleted_parquet_between_stages_says_what_to_run(tmp_path):
    from builders import given, land

    given(tmp_path, [land(1)])
    (tmp_path / "data/processed/2023/parcels.parquet").unlink()
    result = CliRunner().invoke(app, ["export", "--year", "2023", "-w", str(tmp_path)])
    assert result.exit_code == 2
    assert "landaudit classify" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- the DuckDB cache on a full disk (issue 14 #6)

def _views(database: Path) -> list[str]:
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        return sorted(name for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall())
    finally:
        con.close()


def _duckdb_leftovers(processed: Path) -> list[str]:
    return sorted(p.name for p in processed.iterdir() if p.name.endswith((".wal", ".tmp")) or p.name == ".duckdb_tmp")


@pytest.fixture
def classified(tmp_path) -> Workspace:
    from builders import given, land

    given(tmp_path, [land(1), land(2)])
    return Workspace.at(tmp_path)


@pytest.mark.parametrize("failure", ["checkpoint swallowed", "write raises"])
def test_a_full_disk_while_rebuilding_the_database_keeps_the_previous_one(classified, monkeypatch, failure):
    import duckdb

    from landaudit import classify as module
    from landaudit.errors import OutputError

    database = classified.processed / "landaudit.duckdb"
    module.rebuild_database(classified)
    before, views = database.read_bytes(), _views(database)
    assert "parcels" in views
    real = module._build_views

    def full_disk(workspace, tmp, names):
        if failure == "write raises":       # DuckDB's own error for ENOSPC
            raise duckdb.IOException(f'IO Error: Could not write file "{tmp}": No space left on device')
        real(workspace, tmp, names)         # what close() leaves when its checkpoint fails: data in the .wal
        tmp.with_name(tmp.name + ".wal").write_bytes(b"unwritten")

    monkeypatch.setattr(module, "_build_views", full_disk)
    with pytest.raises(OutputError, match="磁盘空间不足"):
        module.rebuild_database(classified)
    assert database.read_bytes() == before and _views(database) == views
    assert _duckdb_leftovers(classified.processed) == []


def test_disk_full_during_classify_is_exit_2_and_keeps_the_database(tmp_path):
    """A real full disk: a small tmpfs (needs mount rights: root in a container; skipped otherwise)."""
    import shutil as sh

    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        root = mnt / "ws"
        assert cli("demo", "--parcels", "200", "-w", str(root)).returncode == 0
        sh.rmtree(root / "data/raw/2022")
        assert cli("run", "--year", "2023", "--as-of", "2023-12-31", "-w", str(root)).returncode == 0
        processed = root / "data/processed"
        database = processed / "landaudit.duckdb"
        before, views = database.read_bytes(), _views(database)
        # room for classify's Parquet (each file rounded to pages) but not for a new database
        outputs = [processed / "2023" / f"{n}.parquet" for n in
                   ("parcels", "links", "unlinked", "kpis", "ledger_items", "rating_policies")]
        room = sum((p.stat().st_size // 4096 + 2) * 4096 for p in outputs) + 64 * 1024
        assert room < len(before)
        free = sh.disk_usage(mnt).free
        with (mnt / "filler").open("wb") as filler:
            filler.truncate(0)
            filler.write(b"\0" * max(free - room, 0))
        result = cli("classify", "--year", "2023", "--as-of", "2023-12-31", "-w", str(root))
        message = result.stdout + result.stderr
        assert result.returncode == 2, message
        assert "磁盘空间不足" in message and "Traceback" not in message and "内部错误" not in message
        assert database.read_bytes() == before and _views(database) == views
        assert _duckdb_leftovers(processed) == []
        (mnt / "filler").unlink()
        assert cli("classify", "--year", "2023", "--as-of", "2023-12-31", "-w", str(root)).returncode == 0
        assert _views(database) == views and _duckdb_leftovers(processed) == []
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
