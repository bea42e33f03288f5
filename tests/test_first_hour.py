"""The first hour (issue 13, item 1): `landaudit demo` never mixes fake files with real ones, and
`landaudit census` exists in every workspace (not only where the Makefile is)."""

from __future__ import annotations

from typer.testing import CliRunner

from landaudit.cli import app

runner = CliRunner()


def invoke(root, *args):
    return runner.invoke(app, [*args, "-w", str(root)], catch_exceptions=False)


def test_demo_refuses_a_raw_folder_with_real_files_and_writes_nothing(tmp_path):
    real = tmp_path / "data/raw/2023/自然资源和规划局/工业用地底数.xlsx"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"real department file")
    result = invoke(tmp_path, "demo", "--parcels", "30")
    assert result.exit_code == 2
    assert "不是演示生成的文件" in result.output and "工业用地底数.xlsx" in result.output and "--force" in result.output
    assert sorted(p.name for p in (tmp_path / "data/raw").rglob("*") if p.is_file()) == ["工业用地底数.xlsx"]
    assert real.read_bytes() == b"real department file"
    assert invoke(tmp_path, "demo", "--parcels", "30", "--force").exit_code == 0


def test_demo_may_rewrite_its_own_files_but_not_edited_ones(tmp_path):
    (tmp_path / "data/raw").mkdir(parents=True)
    for name in (".gitkeep", "Thumbs.db", "desktop.ini", ".DS_Store"):           # nobody's department file
        (tmp_path / "data/raw" / name).write_bytes(b"")
    assert invoke(tmp_path, "demo", "--parcels", "30").exit_code == 0
    assert invoke(tmp_path, "demo", "--parcels", "40", "--seed", "7").exit_code == 0   # its own files
    edited = next((tmp_path / "data/raw/2023").rglob("*.xlsx"))
    edited.write_bytes(edited.read_bytes() + b"\0")                                  # a user changed it
    result = invoke(tmp_path, "demo", "--parcels", "30")
    assert result.exit_code == 2 and edited.name in result.output


def test_census_is_run_by_township_then_report(tmp_path):
    assert invoke(tmp_path, "demo", "--parcels", "60").exit_code == 0
    result = invoke(tmp_path, "census", "--year", "2023")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data/exports/2023/治理清单_全市.xlsx").is_file()
    assert any((tmp_path / "data/exports/2023/镇街").glob("*.xlsx"))
    assert "规上工业亩均税收" in result.output and "隐患判断日" in result.output


def test_configs_written_by_init_have_chinese_comments_without_references_to_our_documents(tmp_path):
    import re

    result = runner.invoke(app, ["init", str(tmp_path / "ws")], catch_exceptions=False)
    assert result.exit_code == 0
    for name in ("landaudit.toml", "datasets.toml"):
        text = (tmp_path / "ws" / "configs" / name).read_text("utf-8")
        comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line and not line.lstrip().startswith('"')]
        assert comments
        for comment in comments:
            assert "SPEC" not in comment and "rev. 2" not in comment and "seed" not in comment, comment
            if comment.strip("- "):
                assert re.search("[\u4e00-\u9fff]", comment), f"{name}: English comment {comment!r}"
