"""A GBK console (issue 15): Windows cmd.exe's code page 936, or output redirected to a file there.
Real commands run with PYTHONIOENCODING=gbk (strict on stdout, and `gbk:strict` on stderr too) and
no terminal, on a workspace whose own folder and file names hold characters GBK cannot encode (𠮷,
an emoji, U+FFFD for undecodable bytes): no UnicodeEncodeError or traceback, the exit code of a
UTF-8 run, every byte valid GBK, the characters shown as visible escapes, --format json the same
value as under UTF-8."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import write_xlsx  # noqa: E402

CODE = "330681001002GB00012"
LAND = [["地块编码", "镇街", "用地面积（亩）"], [CODE, "陶朱街道", 10]]
ENTERPRISE = [["企业名称", "地块编码", "税收（万元）"], ["诸暨某某有限公司", CODE, 30]]
LEDGER = [["问题编号", "类别", "企业名称", "隐患等级", "整改状态"], ["AQ-1", "安全生产", "诸暨某某有限公司", "一般", "未整改"]]
UNENCODABLE = "𠮷😀"                   # GBK has neither (U+20BB7, U+1F600)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gbk") / f"工作区{UNENCODABLE}"
    year = root / "data" / "raw" / "2023"
    write_xlsx(year / "自然资源和规划局" / f"用地{UNENCODABLE}.xlsx", LAND)
    write_xlsx(year / "经信局" / "亩均.xlsx", ENTERPRISE)
    write_xlsx(year / "应急管理局" / "台账.xlsx", LEDGER)
    if os.name == "posix":                # a name that is not UTF-8: shown as U+FFFD (issue 14)
        folder = os.fsencode(year) + b"/\xff\xfe"
        os.mkdir(folder)
        with open(folder + b"/\xfe.csv", "wb") as f:
            f.write(b"a,b\n1,2\n")
    return root


def landaudit(*args: str, encoding: str) -> tuple[int, str, str]:
    """Run a real command without a terminal; stdout and stderr decoded strictly as `encoding`."""
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "100"}
    env.pop("LANDAUDIT_WORKSPACE", None)
    done = subprocess.run([sys.executable, "-m", "landaudit", *args], capture_output=True, env=env, timeout=120)
    codec = encoding.split(":")[0]
    out, err = done.stdout.decode(codec), done.stderr.decode(codec)      # raises if not valid GBK
    for text in (out, err):
        assert "Traceback" not in text and "UnicodeEncodeError" not in text and "程序内部错误" not in text, text
    return done.returncode, out, err


# (command, expected exit code) in the order a county runs them; `gbk:strict` makes stderr strict too
COMMANDS = [
    (["status"], 0),
    (["ingest", "--log-format", "plain"], 0),
    (["ingest", "--format", "json"], 0),
    (["ingest", "--log-format", "json"], 0),
    (["classify"], 0),
    (["report"], 0),
    (["report", "--format", "json"], 0),
    (["status", "--format", "json"], 0),
    (["explain", "NOPE"], 2),                         # an error message naming the workspace's files
    (["ingest", "--year", "2019"], 2),
    (["ingest", f"--bogus{UNENCODABLE}"], 2),         # click's usage error with the words typed
]


@pytest.mark.parametrize("encoding", ["gbk", "gbk:strict"])
def test_commands_on_a_gbk_console_never_crash_and_keep_their_exit_codes(root, encoding):
    seen = ""
    for args, expected in COMMANDS:
        code, out, err = landaudit(*args, "-w", str(root), encoding=encoding)
        assert code == expected, (args, out, err)
        utf8_code, utf8_out, _ = landaudit(*args, "-w", str(root), encoding="utf-8")
        assert utf8_code == code, args
        if "--format" in args and args[-1] == "json":
            assert _timeless(json.loads(out)) == _timeless(json.loads(utf8_out)), args      # the same value
        if "json" in args and "--log-format" in args:
            assert all(json.loads(line)["level"] for line in err.splitlines())      # one JSON object a line
        seen += out + err
    # unencodable characters are shown visibly, not dropped or turned into "?"
    assert "\\U00020bb7\\U0001f600" in seen             # status, log lines: Python's backslash escapes
    assert "?" * 2 not in seen
    if os.name == "posix":
        assert "\\ufffd" in seen                        # the undecodable file name


def _timeless(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "ingested_at"}          # each ingest records its time


def test_json_keeps_the_value_with_escapes_gbk_can_carry(root):
    code, out, _ = landaudit("status", "--format", "json", "-w", str(root), encoding="gbk")
    assert code == 0
    assert "\\ud842\\udfb7\\ud83d\\ude00" in out          # 𠮷😀 as JSON escapes: valid JSON in GBK
    assert UNENCODABLE in json.loads(out)["workspace"]


def test_a_rich_console_writing_gbk_shows_escapes_and_keeps_the_table_aligned():
    from rich.table import Table

    from landaudit.render import SafeConsole

    stream = io.TextIOWrapper(io.BytesIO(), encoding="gbk", errors="strict", newline="\n")
    console = SafeConsole(file=stream, width=60, highlight=False, markup=False, color_system=None)
    table = Table()
    table.add_column("文件")
    table.add_column("结果")
    table.add_row(f"用地{UNENCODABLE}.xlsx", "✓ 达标")
    table.add_row("台账.xlsx", "✗ 未达标")
    console.print(table)
    stream.flush()
    text = stream.buffer.getvalue().decode("gbk")
    assert "用地\\U00020bb7\\U0001f600.xlsx" in text and "√ 达标" in text and "× 未达标" in text
    from rich.cells import cell_len

    assert len({cell_len(line) for line in text.splitlines() if line}) == 1, text     # ASCII borders line up


def test_encodable_and_json_safe():
    from landaudit.log import encodable, json_safe

    assert encodable("用地𠮷.xlsx ✓", "gbk") == "用地\\U00020bb7.xlsx √"
    assert encodable("用地𠮷.xlsx ✓", "utf-8") == "用地𠮷.xlsx ✓"
    assert encodable("\ufffd", "cp936") == "\\ufffd"
    text = json.dumps({"path": "用地𠮷😀\ufffd.xlsx"}, ensure_ascii=False)
    assert json.loads(json_safe(text, "gbk")) == json.loads(text)
    json_safe(text, "gbk").encode("gbk")
