"""Shared test helpers: workspaces in tmp_path and small real workbooks written with xlsxwriter."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# Pin rich's width so CLI output is stable in any terminal (STYLE.md, after fastapi-cli).
os.environ["COLUMNS"] = "200"
os.environ.pop("LANDAUDIT_WORKSPACE", None)


@pytest.fixture
def workspace(tmp_path: Path):
    from landaudit.workspace import Workspace

    (tmp_path / "data" / "raw" / "2023").mkdir(parents=True)
    return Workspace.at(tmp_path)


def copy_fixture(workspace, name: str, year: int = 2023, subdir: str = "") -> Path:
    target = workspace.raw_year(year) / subdir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / name, target)
    return target


def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1", merges: list[tuple] = ()) -> Path:
    """A real xlsx with the given rows from A1; strings written as strings, numbers as numbers."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True})
    ws = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value)
            else:
                ws.write(r, c, value)
    for first_row, first_col, last_row, last_col, text in merges:
        ws.merge_range(first_row, first_col, last_row, last_col, text)
    book.close()
    return path


def sheet_entry(result, file_name: str, sheet: str | None = None):
    entries = [e for e in result.entries if e.path.endswith(file_name) and (sheet is None or e.sheet == sheet)]
    assert len(entries) == 1, [e.path for e in result.entries]
    return entries[0]
