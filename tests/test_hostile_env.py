"""Hostile environments and configs (issue 14 findings 5, 8, 9; SPEC §2 rev. 2, §13 rev. 2): every
environment or config problem is exit 2 with one Chinese sentence, never exit 70; the lock never
follows a symlink; config numbers are finite and in range; `landaudit sql` reads only the workspace;
text from files reaches the terminal without control characters. Cases and figures:
docs/reliability.md, "Hostile environments"."""

from __future__ import annotations

import errno
import os
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from landaudit.cli import app
from landaudit.config import CONFIG_FILES, default_config_text, load_config
from landaudit.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from conftest import write_xlsx  # noqa: E402

runner = CliRunner()
CODE = "330681001002GB00012"
LAND = [["地块编码", "镇街", "用地面积（亩）"], [CODE, "陶朱街道", 10], ["330681001002GB00013", "枫桥镇", 20]]
ENTERPRISE = [["企业名称", "地块编码", "税收（万元）"], ["诸暨某某有限公司", CODE, 300]]
LEDGER = [["问题编号", "类别", "企业名称", "隐患等级", "整改状态"], ["AQ-1", "安全生产", "诸暨某某有限公司", "一般", "未整改"]]
FILES = {"自然资源和规划局/用地.xlsx": LAND, "经信局/亩均.xlsx": ENTERPRISE, "应急管理局/台账.xlsx": LEDGER}
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def invoke(root: Path | str, *args: str, log: str = "plain"):
    return runner.invoke(app, [*args, "-w", str(root), "--log-format", log], catch_exceptions=False)


def text(result) -> str:
    return re.sub(r"\s*\n\s*", "", result.output)


def one_chinese_sentence(result, code: int = 2) -> str:
    """Exit `code`, no traceback, no internal error, exactly one ERROR line; returns it."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "程序内部错误" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.output
    assert re.search(r"[\u4e00-\u9fff]", errors[0]), errors[0]
    return errors[0]


def write_year(root: Path, year: int = 2023) -> None:
    for name, rows in FILES.items():
        write_xlsx(root / "data" / "raw" / str(year) / name, rows)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "configs").mkdir()
    write_year(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def classified(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("classified")
    (root / "configs").mkdir()
    write_year(root)
    result = invoke(root, "run")
    assert result.exit_code == 0, result.output
    return root


def _config_with(root: Path, name: str, old: str, new: str) -> Path:
    (root / "configs").mkdir(exist_ok=True)
    for other in CONFIG_FILES:
        (root / "configs" / other).write_text(default_config_text(other), encoding="utf-8")
    text_ = default_config_text(name)
    assert old in text_, old
    (root / "configs" / name).write_text(text_.replace(old, new, 1), encoding="utf-8")
    return root


# 3. config numbers finite and in range ----------------------------------------------------------------------

NUMBERS = [
    ("max_file_mb = 200", "max_file_mb = inf", "ingest.max_file_mb", "有限的数字"),
    ("max_file_mb = 200", "max_file_mb = nan", "ingest.max_file_mb", "有限的数字"),
    ("max_uncompressed_mb = 2000", "max_uncompressed_mb = inf", "ingest.max_uncompressed_mb", "有限的数字"),
    ("isolate_file_mb = 1", "isolate_file_mb = -inf", "ingest.isolate_file_mb", "有限的数字"),
    ("isolate_file_mb = 1", "isolate_file_mb = -1", "ingest.isolate_file_mb", "不能小于 0"),
    ("workers = 2", "workers = 0", "ingest.workers", "不能小于 1"),
    ("header_search_rows = 20", "header_search_rows = -3", "ingest.header_search_rows", "不能小于 1"),
    ("max_sheet_cells = 50_000_000", "max_sheet_cells = 0", "ingest.max_sheet_cells", "必须大于 0"),
    ("low_efficiency_tax_per_mu = 5.0", "low_efficiency_tax_per_mu = nan", "rules.low_efficiency_tax_per_mu", "有限的数字"),
    ("low_efficiency_tax_per_mu = 5.0", "low_efficiency_tax_per_mu = -5", "rules.low_efficiency_tax_per_mu", "必须大于 0"),
    ("low_efficiency_tax_per_mu = 5.0", "low_efficiency_tax_per_mu = 0", "rules.low_efficiency_tax_per_mu", "必须大于 0"),
    ("low_efficiency_tax_per_mu = 5.0", "low_efficiency_tax_per_mu = inf", "rules.low_efficiency_tax_per_mu", "有限的数字"),
    ("collective_min_plot_ratio = 1.0", "collective_min_plot_ratio = nan", "rules.collective_min_plot_ratio", "有限的数字"),
    ("collective_min_plot_ratio = 1.0", "collective_min_plot_ratio = -1.0", "rules.collective_min_plot_ratio", "必须大于 0"),
    ("old_building_years = 30", "old_building_years = 0", "rules.old_building_years", "不能小于 1"),
    ("frequent_petition_count = 3", "frequent_petition_count = -1", "rules.frequent_petition_count", "不能小于 1"),
    ("cutoffs = { A = 0.25,", "cutoffs = { A = nan,", "rating.cutoffs.A", "有限的数字"),
    ("cutoffs = { A = 0.25,", "cutoffs = { A = -0.25,", "rating.cutoffs.A", "必须大于 0"),
    ("cap = 1.5", "cap = inf", "rating.cap", "有限的数字"),
    ("cap = 1.5", "cap = nan", "rating.cap", "有限的数字"),
    ("cap = 1.5", "cap = 0", "rating.cap", "必须大于 0"),
    ("tax_per_mu = 40", "tax_per_mu = nan", "rating.above_scale.weights.tax_per_mu", "有限的数字"),
    ("tax_per_mu = 40", "tax_per_mu = -40", "rating.above_scale.weights.tax_per_mu", "必须大于 0"),
    ("tax_per_mu = 40", "tax_per_mu = 0", "rating.above_scale.weights.tax_per_mu", "必须大于 0"),
    ("tax_per_mu = 100", "tax_per_mu = inf", "rating.below_scale.weights.tax_per_mu", "有限的数字"),
    ("[rating.above_scale.benchmarks]", "[rating.above_scale.benchmarks]\ntax_per_mu = 0",
     "rating.above_scale.benchmarks.tax_per_mu", "必须大于 0"),
    ("[rating.above_scale.benchmarks]", "[rating.above_scale.benchmarks]\nva_per_mu = nan",
     "rating.above_scale.benchmarks.va_per_mu", "有限的数字"),
    ("above_scale_tax_per_mu = 25.0", "above_scale_tax_per_mu = nan", "kpi_targets.above_scale_tax_per_mu", "有限的数字"),
    ("above_scale_tax_per_mu = 25.0", "above_scale_tax_per_mu = -25", "kpi_targets.above_scale_tax_per_mu", "必须大于 0"),
    ("va_per_mu_growth = 0.08", "va_per_mu_growth = inf", "kpi_targets.va_per_mu_growth", "有限的数字"),
    ("va_per_mu_growth = 0.08", "va_per_mu_growth = -2", "kpi_targets.va_per_mu_growth", "不能小于 -1"),
    ("open_major_items = 0", "open_major_items = -1", "kpi_targets.open_major_items", "不能小于 0"),
]


@pytest.mark.parametrize(("old", "new", "key", "reason"), NUMBERS, ids=[n[1].split("\n")[-1] for n in NUMBERS])
def test_config_numbers_must_be_finite_and_in_range(tmp_path, old, new, key, reason):
    root = _config_with(tmp_path, "landaudit.toml", old, new)
    with pytest.raises(ConfigError) as err:
        load_config(root)
    assert key in err.value.key, err.value
    assert reason in err.value.reason, err.value


def test_every_number_of_every_config_model_is_bounded():
    """No float or int field of any Settings model is left unconstrained (a future key too)."""
    import typing

    from pydantic import BaseModel

    from landaudit import config as cfg

    def numeric(annotation) -> bool:
        if annotation in (int, float):
            return True
        return any(numeric(a) for a in typing.get_args(annotation))

    unchecked = []
    seen: set[type] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        assert model.model_config.get("allow_inf_nan") is False, model.__name__
        for name, field in model.model_fields.items():
            annotation = field.annotation
            for arg in (annotation, *typing.get_args(annotation)):
                for inner in (arg, *typing.get_args(arg)):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        visit(inner)
            if name == "phases":                # years as keys, not a quantity
                continue
            bounded = any(type(m).__name__ in ("Gt", "Ge", "Interval") for m in field.metadata)
            args = typing.get_args(annotation)
            if args and typing.get_origin(annotation) is dict:
                value = args[1]
                bounded = bounded or any(type(m).__name__ in ("Gt", "Ge") for m in getattr(value, "__metadata__", ()))
                bounded = bounded or any(type(m).__name__ in ("Gt", "Ge") for m in
                                         getattr(getattr(value, "__metadata__", [None])[0], "metadata", []))
            if numeric(annotation) and not bounded:
                unchecked.append(f"{model.__name__}.{name}")

    visit(cfg.Settings)
    assert unchecked == []


def test_infinite_max_file_mb_is_exit_2_naming_the_key(ws):
    _config_with(ws, "landaudit.toml", "max_file_mb = 200", "max_file_mb = inf")
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert "ingest.max_file_mb" in line and "有限的数字" in line


def test_a_nan_threshold_is_exit_2_not_297_low_efficiency_parcels(ws):
    _config_with(ws, "landaudit.toml", "low_efficiency_tax_per_mu = 5.0", "low_efficiency_tax_per_mu = nan")
    line = one_chinese_sentence(invoke(ws, "run"))
    assert "rules.low_efficiency_tax_per_mu" in line


def test_a_deeply_nested_toml_is_a_config_error(ws):
    text_ = default_config_text("landaudit.toml") + "\n[deep]\nx = " + "[" * 5000 + "]" * 5000 + "\n"
    (ws / "configs" / "landaudit.toml").write_text(text_, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(ws)
    assert "嵌套" in err.value.reason
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert "landaudit.toml" in line and "嵌套" in line


def test_an_unreadable_config_is_exit_2_naming_the_file(ws, monkeypatch):
    (ws / "configs" / "landaudit.toml").write_text(default_config_text("landaudit.toml"), encoding="utf-8")
    real = Path.read_bytes

    def refuse(self):
        if self.name == "landaudit.toml" and "configs" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError) as err:
        load_config(ws)
    assert "没有读取权限" in err.value.reason
    line = one_chinese_sentence(invoke(ws, "classify"))
    assert "landaudit.toml" in line and "没有读取权限" in line


@pytest.mark.skipif(ROOT_USER or not hasattr(os, "geteuid"), reason="root reads a chmod 000 file anyway")
def test_a_chmod_000_config_is_exit_2(ws):
    path = ws / "configs" / "landaudit.toml"
    path.write_text(default_config_text("landaudit.toml"), encoding="utf-8")
    path.chmod(0)
    try:
        line = one_chinese_sentence(invoke(ws, "classify"))
        assert "没有读取权限" in line
    finally:
        path.chmod(0o644)


# 1. the lock ---------------------------------------------------------------------------------------------------

def _lock(root: Path) -> Path:
    return root / "data" / "processed" / ".landaudit.lock"


def test_a_lock_that_is_a_symlink_is_never_followed_nor_its_target_truncated(ws, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "precious.txt"
    outside.write_text("do not truncate me", encoding="utf-8")
    _lock(ws).parent.mkdir(parents=True)
    _lock(ws).symlink_to(outside)
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert "符号链接" in line and ".landaudit.lock" in line
    assert outside.read_text(encoding="utf-8") == "do not truncate me"
    assert _lock(ws).is_symlink()


def test_a_dangling_lock_symlink_creates_nothing_at_its_target(ws, tmp_path_factory):
    target = tmp_path_factory.mktemp("outside") / "created.txt"
    _lock(ws).parent.mkdir(parents=True)
    _lock(ws).symlink_to(target)
    one_chinese_sentence(invoke(ws, "ingest"))
    assert not target.exists()


def test_the_lock_is_created_with_the_umask_so_a_colleague_can_take_it(ws):
    old = os.umask(0o002)
    try:
        assert invoke(ws, "ingest").exit_code == 0
    finally:
        os.umask(old)
    assert _lock(ws).stat().st_mode & 0o777 == 0o664


def test_a_lock_owned_by_another_user_is_exit_2_naming_the_owner(ws, monkeypatch):
    import pwd

    _lock(ws).parent.mkdir(parents=True)
    _lock(ws).write_text("", encoding="utf-8")
    other = next((p for p in pwd.getpwall() if p.pw_uid not in (0, os.getuid())), None)
    if other is None:
        pytest.skip("no second user on this machine")
    if ROOT_USER:
        os.chown(_lock(ws), other.pw_uid, other.pw_gid)
    _lock(ws).chmod(0o644)
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):      # what a non-root user gets from a 0644 file of another
        if str(path).endswith(".landaudit.lock") and flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert other.pw_name in line and "另一位用户" in line and ".landaudit.lock" in line


def test_a_lock_that_is_not_a_regular_file_is_exit_2(ws):
    _lock(ws).parent.mkdir(parents=True)
    os.mkfifo(_lock(ws))
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert "不是普通文件" in line


def test_disk_full_while_writing_the_lock_note_is_exit_2(ws, monkeypatch):
    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert "磁盘空间不足" in line


# 2. environment problems are exit 2 with one Chinese sentence ---------------------------------------------------

def test_a_file_given_as_workspace_is_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    for command in ("ingest", "classify", "run"):
        line = one_chinese_sentence(invoke(tmp_path / "notes.txt", command))
        assert "不是文件夹" in line, (command, line)
    for args in (["report"], ["status"], ["sql", "SELECT 1"], ["explain", CODE], ["track"]):
        result = runner.invoke(app, [*args, "-w", str(tmp_path / "notes.txt")])
        assert result.exit_code == 2 and "不是文件夹" in text(result), (args, result.output)


def test_read_only_processed_folder_is_exit_2(ws, monkeypatch):
    import tempfile

    assert invoke(ws, "ingest").exit_code == 0

    real = {"mkstemp": tempfile.mkstemp, "mkdtemp": tempfile.mkdtemp}

    def refusing(name):
        def refuse(*args, **kwargs):          # only inside data/processed (multiprocessing uses /tmp)
            if "processed" in str(kwargs.get("dir", "")):
                raise PermissionError(errno.EACCES, "Permission denied", str(kwargs["dir"]))
            return real[name](*args, **kwargs)
        return refuse

    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if "processed" in self.parts and not self.exists():
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refusing("mkstemp"))
    monkeypatch.setattr(tempfile, "mkdtemp", refusing("mkdtemp"))
    monkeypatch.setattr(Path, "mkdir", mkdir)
    for command in ("ingest", "classify", "run"):
        shutil_rm(ws / "data" / "processed" / ".duckdb_tmp")
        line = one_chinese_sentence(invoke(ws, command))
        assert "没有写入权限" in line, (command, line)


def shutil_rm(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def test_any_os_error_of_the_environment_is_exit_2_not_70(ws, monkeypatch):
    """The safety net in cli._run: an OSError from anywhere (here: reading the raw folder) is the
    environment, one sentence naming the path."""
    import landaudit.ingest.pipeline as pipeline

    def broken(folder):
        raise OSError(errno.EIO, "Input/output error", str(folder))

    monkeypatch.setattr(pipeline, "list_input_files", broken)
    line = one_chinese_sentence(invoke(ws, "ingest"))
    assert "data/raw/2023" in line and "读写出错" in line


def test_disk_full_in_duckdb_during_classify_is_exit_2(ws, monkeypatch):
    import duckdb

    assert invoke(ws, "ingest").exit_code == 0
    real = duckdb.connect

    class Full:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith("CREATE VIEW"):
                raise duckdb.IOException('IO Error: Could not write file "landaudit.duckdb.wal": No space left on device')
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: Full(real(*a, **k)))
    line = one_chinese_sentence(invoke(ws, "classify"))
    assert "磁盘空间不足" in line


def test_an_unknown_log_format_is_exit_2_without_a_traceback(ws):
    result = runner.invoke(app, ["ingest", "-w", str(ws), "--log-format", "xml"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--log-format" in result.output and "xml" in result.output
    for args in (["report", "--format", "xml"], ["sql", "SELECT 1", "--format", "xml"], ["ingest", "--format", "xml"]):
        result = runner.invoke(app, [*args, "-w", str(ws)])
        assert result.exit_code == 2 and "Traceback" not in result.output and "--format" in result.output, args


# 4. landaudit sql reads only the workspace ---------------------------------------------------------------------

OUTSIDE_QUERIES = [
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_text('{root}/configs/../data/processed/../../../outside.txt')",
    "SELECT * FROM read_parquet('{root}/../elsewhere.parquet')",
]


@pytest.mark.parametrize("query", OUTSIDE_QUERIES)
def test_sql_cannot_read_files_outside_the_workspace(classified, query):
    (classified.parent / "outside.txt").write_text("secret", encoding="utf-8")
    result = runner.invoke(app, ["sql", query.format(root=classified), "-w", str(classified), "--format", "json"])
    assert result.exit_code == 2, result.output
    assert "root:" not in result.output and "secret" not in result.output
    assert "Traceback" not in result.output
    # a bare path is not even looked up as a file (replacement scans are off): "table does not exist"
    assert ("只读取工作区" if "FROM '/" not in query else "不存在") in text(result)


@pytest.mark.parametrize("query", ["COPY (SELECT 1) TO '/tmp/landaudit_x.csv'", "ATTACH '/tmp/landaudit_y.db' AS y",
                                   "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true"])
def test_sql_refuses_writes_attach_and_extensions(classified, query):
    result = runner.invoke(app, ["sql", query, "-w", str(classified)])
    assert result.exit_code == 2, result.output
    assert not Path("/tmp/landaudit_x.csv").exists() and not Path("/tmp/landaudit_y.db").exists()


def test_sql_still_reads_the_views_and_the_workspace_parquet(classified):
    result = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM parcels", "-w", str(classified), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"n": 2' in result.output
    path = classified / "data" / "processed" / "2023" / "parcels.parquet"
    result = runner.invoke(app, ["sql", f"SELECT count(*) AS n FROM read_parquet('{path}')", "-w", str(classified),
                                 "--format", "json", "--year", "2023"])
    assert result.exit_code == 0 and '"n": 2' in result.output, result.output
    for args in (["--tables"], ["--columns", "parcels"]):
        assert runner.invoke(app, ["sql", *args, "-w", str(classified)]).exit_code == 0


def test_the_read_only_connection_is_confined_and_locked(classified):
    from landaudit.explain import _open_database
    from landaudit.workspace import Workspace

    con = _open_database(Workspace.at(classified))
    try:
        settings = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                                    "('enable_external_access', 'lock_configuration', 'allowed_directories', "
                                    "'temp_directory')").fetchall())
    finally:
        con.close()
    assert settings["enable_external_access"] == "false" and settings["lock_configuration"] == "true"
    assert str(classified / "data" / "processed") in settings["allowed_directories"]
    assert settings["temp_directory"] == ""          # nothing a killed query could leave behind


def test_no_duckdb_temporaries_survive_a_run(classified):
    processed = classified / "data" / "processed"
    assert invoke(classified, "run").exit_code == 0
    assert runner.invoke(app, ["sql", "SELECT count(*) FROM parcels", "-w", str(classified)]).exit_code == 0
    left = [p.name for p in processed.iterdir() if p.name not in (".landaudit.lock", "landaudit.duckdb", "2023")]
    assert left == []


# 5. control characters never reach the terminal raw -------------------------------------------------------------

HOSTILE_TEXT = "坏\x1b[2J\x1b]0;owned\x07名\r\b\u202etxt.exe\u2066x\u2069\x9b31m\x00"
RAW = ("\x1b", "\r", "\b", "\x07", "\u202e", "\u2066", "\u2069", "\x9b", "\x00")


def test_visible_shows_control_and_bidi_characters_as_escapes():
    from landaudit.log import visible

    shown = visible(HOSTILE_TEXT + "\n\t", keep_newlines=True)
    assert not any(c in shown for c in RAW)
    assert "\\x1b[2J" in shown and "\\u202e" in shown and shown.endswith("\n\t")
    assert "\n" not in visible("a\nb") and visible("a\nb") == "a\\x0ab"
    assert visible("诸暨市 陶朱街道（2023）") == "诸暨市 陶朱街道（2023）"


def test_file_names_and_cells_with_escapes_never_reach_the_terminal_raw(ws):
    write_xlsx(ws / "data" / "raw" / "2023" / f"自然资源和规划局/{HOSTILE_TEXT.replace(chr(0), '')}.xlsx",
               [["地块编码", "镇街", "用地面积（亩）"], ["330681001002GB00099", "陶朱街道\x1b[31m\u202e", "x\x1b[2J"]])
    for log in ("rich", "plain", "json"):
        result = invoke(ws, "ingest", log=log)
        assert result.exit_code == 0, result.output
        assert not any(c in result.output for c in RAW), (log, repr(result.output[:2000]))
    result = runner.invoke(app, ["check", str(next((ws / "data/raw/2023/自然资源和规划局").glob("坏*"))), "-w", str(ws)])
    assert not any(c in result.output for c in RAW), repr(result.output[:2000])


def test_a_cell_with_escapes_is_shown_escaped_by_sql_on_a_terminal(ws):
    write_xlsx(ws / "data" / "raw" / "2023" / "自然资源和规划局/用地.xlsx",
               [*LAND, ["330681001002GB00014", "陶朱街道", 5, ], ])
    (ws / "data" / "raw" / "2023" / "经信局/亩均.xlsx").unlink()
    write_xlsx(ws / "data" / "raw" / "2023" / "经信局/亩均.xlsx",
               [*ENTERPRISE, ["恶意\x1b[2J\x1b]0;x\x07\u202e公司", "330681001002GB00014", 1]])
    assert invoke(ws, "run").exit_code == 0
    result = runner.invoke(app, ["sql", "SELECT name FROM enterprise", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "恶意" in result.output and "\\x1b[2J" in result.output
    assert not any(c in result.output for c in RAW), repr(result.output)
    for args in (["sql", "SELECT name FROM enterprise", "--format", "json"], ["report", "--format", "json"],
                 ["explain", "330681001002GB00014", "--format", "json"], ["ingest", "--format", "json"]):
        result = runner.invoke(app, [*args, "-w", str(ws)])
        assert result.exit_code in (0, 1), (args, result.output)
        assert not any(c in result.output for c in RAW), (args, repr(result.output[:3000]))
    import json

    rows = json.loads(runner.invoke(app, ["sql", "SELECT name FROM enterprise", "--format", "json", "-w", str(ws)]).output)
    assert "恶意\x1b[2J\x1b]0;x\x07\u202e公司" in [r["name"] for r in rows]     # the value itself is kept


def test_an_error_message_with_escapes_is_shown_escaped(tmp_path):
    hostile = tmp_path / "ws\x1b[2J\u202e"
    hostile.mkdir()
    for log in ("rich", "plain", "json"):
        result = runner.invoke(app, ["ingest", "-w", str(hostile), "--log-format", log])
        assert result.exit_code == 2, result.output
        assert not any(c in result.output for c in RAW), (log, repr(result.output))
    for args in (["--year", "20\x1b[2J"], ["--log-format", "x\x1b[2J\u202e"], ["--fo\x1b[2J\u202e"]):
        result = runner.invoke(app, ["ingest", *args, "-w", str(tmp_path)])
        assert result.exit_code == 2 and not any(c in result.output for c in RAW), repr(result.output)


def test_the_rich_console_itself_keeps_its_own_colours(capsys):
    from landaudit.render import make_console

    console = make_console()
    console.print("a\x1bb", style="red")
    out = capsys.readouterr().out
    assert "a\\x1bb" in out and "a\x1bb" not in out


# 4. misleading results: an unreadable raw file is not "corrupt" ---------------------------------------------------

def _refuse_reading(monkeypatch, name: str) -> None:
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_a_raw_file_without_read_permission_is_reported_as_unreadable_not_corrupt(ws, monkeypatch):
    import json

    import pyarrow.parquet as pq

    # a CSV: read in this process, where the refusal is injected (workbooks go to a worker process)
    (ws / "data/raw/2023/经信局/锁住的.csv").write_text("企业名称,地块编码,税收（万元）\n某公司,330681001002GB00012,1\n",
                                                    encoding="utf-8")
    _refuse_reading(monkeypatch, "锁住的.csv")
    result = invoke(ws, "ingest")
    assert result.exit_code == 0, result.output
    report = json.loads((ws / "data/processed/2023/ingest_report.json").read_text(encoding="utf-8"))
    entry = next(f for f in report["files"] if f["path"].endswith("锁住的.csv"))
    assert entry["error"] == {"code": "file_unreadable", "message": "无法打开文件（没有读取权限）：请检查文件权限"}
    rejects = pq.read_table(ws / "data/processed/2023/rejects.parquet").to_pylist()
    line = next(r for r in rejects if r["file"].endswith("锁住的.csv"))
    assert line["level"] == "error" and line["reason_code"] == "file_unreadable"
    assert "请重新导出" not in result.output and "损坏" not in result.output
    others = {f["path"]: f.get("rows_accepted") for f in report["files"] if not f["path"].endswith("锁住的.csv")}
    assert sorted(others.values()) == [1, 1, 2]


@pytest.mark.skipif(ROOT_USER or not hasattr(os, "geteuid"), reason="root reads a chmod 000 file anyway")
def test_a_chmod_000_raw_file_is_unreadable_not_corrupt(ws):
    import json

    path = write_xlsx(ws / "data/raw/2023/经信局/锁住的.xlsx", ENTERPRISE)
    path.chmod(0)
    try:
        assert invoke(ws, "ingest").exit_code == 0
    finally:
        path.chmod(0o644)
    report = json.loads((ws / "data/processed/2023/ingest_report.json").read_text(encoding="utf-8"))
    entry = next(f for f in report["files"] if f["path"].endswith("锁住的.xlsx"))
    assert entry["error"]["code"] == "file_unreadable"


# 2. names and folders the file system allows but Python chokes on ----------------------------------------------

@pytest.mark.skipif(sys.platform != "linux", reason="byte file names are a Linux/ext4 thing")
def test_a_raw_file_name_that_is_not_utf8_is_read_and_shown_with_replacement_characters(ws):
    import json

    import pyarrow.parquet as pq

    folder = os.fsencode(ws / "data/raw/2023/经信局")
    source = ws / "data/raw/2023/经信局/亩均.xlsx"
    os.rename(source, os.path.join(folder, b"\xff\xfe\xe4\xba\xa9.xlsx"))     # GBK-ish junk + 亩
    with open(os.path.join(os.fsencode(ws / "data/raw/2023/自然资源和规划局"), b"\xb5\xd8\xbf\xe9.csv"), "w",
              encoding="utf-8") as handle:                                      # 地块 in GBK bytes
        handle.write("地块编码,镇街,用地面积（亩）\n330681001002GB00050,陶朱街道,7\n")
    for log in ("plain", "rich", "json"):
        result = invoke(ws, "run", log=log)
        assert result.exit_code == 0, result.output
        assert "程序内部错误" not in result.output
    report = json.loads((ws / "data/processed/2023/ingest_report.json").read_text(encoding="utf-8"))
    paths = {f["path"]: f for f in report["files"]}
    assert paths["data/raw/2023/经信局/\ufffd\ufffd\u4ea9.xlsx"]["rows_accepted"] == 1
    csv_entry = next(f for p, f in paths.items() if p.endswith(".csv"))
    assert csv_entry["rows_accepted"] == 1 and "\ufffd" in csv_entry["path"]
    land = pq.read_table(ws / "data/processed/2023/land.parquet").to_pylist()
    assert any(r["parcel_code"] == "330681001002GB00050" for r in land)
    status = runner.invoke(app, ["status", "-w", str(ws)])
    assert status.exit_code in (0, 1) and "程序内部错误" not in status.output, status.output


def _nest(root: Path, depth: int, name: bytes = b"d") -> Path:
    """`depth` folders below `root` (made relative to an fd: a path this long is not mkdir'able in one go)."""
    top = os.open(root, os.O_RDONLY)
    current = top
    for _ in range(depth):
        os.mkdir(name, dir_fd=current)
        deeper = os.open(name, os.O_RDONLY, dir_fd=current)
        if current != top:
            os.close(current)
        current = deeper
    with open(os.open("深.csv", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=current), "w", encoding="utf-8") as handle:
        handle.write("地块编码,镇街,用地面积（亩）\n330681001002GB00060,陶朱街道,3\n")
    os.close(current)
    os.close(top)
    return root


def _unnest(root: Path, depth: int, name: bytes = b"d") -> None:
    """Remove what _nest made, bottom up (shutil.rmtree recurses, so pytest's clean-up cannot)."""
    fds = [os.open(root, os.O_RDONLY)]
    for _ in range(depth):
        fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
    os.unlink("深.csv", dir_fd=fds[-1])
    for level in range(depth, 0, -1):
        os.close(fds[level])
        os.rmdir(name, dir_fd=fds[level - 1])
    os.close(fds[0])


@pytest.fixture
def nested(ws):
    made = []

    def nest(depth: int, name: bytes = b"d") -> None:
        _nest(ws / "data/raw/2023", depth, name)
        made.append((depth, name))

    yield nest
    for depth, name in made:
        _unnest(ws / "data/raw/2023", depth, name)


def test_folders_nested_a_thousand_deep_do_not_crash_ingest(ws, nested):
    import json

    nested(1000)
    result = invoke(ws, "ingest")
    assert result.exit_code == 0, result.output
    report = json.loads((ws / "data/processed/2023/ingest_report.json").read_text(encoding="utf-8"))
    deep = [f for f in report["files"] if f["path"].endswith("深.csv")]
    assert len(deep) == 1 and deep[0]["path"].count("/d") == 1000
    assert sorted(f.get("rows_accepted") for f in report["files"] if f not in deep) == [1, 1, 2]
    status = runner.invoke(app, ["status", "-w", str(ws)])
    assert status.exit_code in (0, 1) and "程序内部错误" not in status.output, status.output


def test_folders_nested_past_the_path_limit_are_reported_not_fatal(ws, nested):
    import json

    nested(400, b"d" * 30)          # ~12,400 characters: beyond PATH_MAX
    result = invoke(ws, "ingest")
    assert result.exit_code == 0, result.output
    report = json.loads((ws / "data/processed/2023/ingest_report.json").read_text(encoding="utf-8"))
    errors = [f for f in report["files"] if f.get("error")]
    assert len(errors) == 1 and errors[0]["error"]["code"] == "file_unreadable", errors
    assert "路径太长" in errors[0]["error"]["message"]
    assert sorted(f.get("rows_accepted") for f in report["files"] if not f.get("error")) == [1, 1, 2]
