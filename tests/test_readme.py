"""The README works verbatim (issue 13): after the Makefile's `demo` recipe, every command line of
the README's bash blocks runs as written, in order, in one shell — `source .venv/bin/activate`
included — and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_blocks() -> list[list[str]]:
    """The command lines of every ```bash block, comments and blank lines dropped."""
    text = (REPO / "README.md").read_text("utf-8")
    blocks = []
    for body in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines = [re.sub(r"\s+#.*$", "", line).strip() for line in body.splitlines()]
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def makefile_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target, with $(BIN) as .venv/bin and @ dropped."""
    lines = (REPO / "Makefile").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:].lstrip("@").replace("$(BIN)", ".venv/bin"))
    return recipe


def test_the_setup_block_is_make_demo_and_make_test():
    assert readme_blocks()[0] == ["make demo", "make test"]
    assert "python -m pytest" in " ".join(makefile_recipe("test"))


@pytest.mark.skipif(os.name != "posix", reason="bash")
def test_every_readme_command_runs_verbatim_after_make_demo(tmp_path):
    root = tmp_path / "clone"
    root.mkdir()
    (root / ".venv").symlink_to(Path(sys.prefix))           # the venv `make` created
    for keep in (REPO / "data").rglob(".gitkeep"):          # what a clone holds under data/
        target = root / keep.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(keep.read_bytes())
    commands = [c for c in makefile_recipe("demo") if c.startswith(".venv/bin/landaudit")]
    for block in readme_blocks()[1:]:
        commands += block
    script = "set -e\n" + "\n".join(f"echo '>>> {c}' >&2\n{c}" for c in commands) + "\n"
    env = {k: v for k, v in os.environ.items() if k not in ("LANDAUDIT_WORKSPACE", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/bin:/bin"                              # landaudit only via the README's own line
    env["COLUMNS"] = "80"
    done = subprocess.run(["bash", "-c", script], cwd=root, env=env, capture_output=True, text=True,
                          timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(line.startswith("source .venv/bin/activate") for line in commands)
    # the README's explain example is a code the demo writes, and it explains something
    assert "330681003001GB00039" in done.stdout and "拆除重建" in done.stdout
    assert (root / "我的工作区" / "data/exports/2023/治理清单_全市.xlsx").is_file()
