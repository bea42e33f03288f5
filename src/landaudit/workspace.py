"""Paths of a workspace (SPEC §2) and atomic writes (SPEC §13)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from landaudit.errors import UsageError


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> Workspace:
        chosen = root or os.environ.get("LANDAUDIT_WORKSPACE") or "."
        return cls(Path(chosen).resolve())

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def exports(self) -> Path:
        return self.root / "data" / "exports"

    def raw_year(self, year: int) -> Path:
        return self.raw / str(year)

    def processed_year(self, year: int) -> Path:
        return self.processed / str(year)

    def years(self) -> list[int]:
        if not self.raw.is_dir():
            return []
        return sorted(int(p.name) for p in self.raw.iterdir() if p.is_dir() and p.name.isdigit())

    def resolve_year(self, year: int | None) -> int:
        """The asked year, or the newest data/raw/<year> (SPEC §2)."""
        years = self.years()
        if year is not None:
            if year not in years:
                raise UsageError(f"找不到 {self.raw_year(year)}：请把 {year} 年的部门报表放在这个文件夹里，"
                                 f"或先运行 landaudit demo 生成演示数据")
            return year
        if not years:
            raise UsageError(f"{self.raw} 下没有年度文件夹（如 data/raw/2023/）：请放入部门报表，"
                             f"或先运行 landaudit demo 生成演示数据")
        return years[-1]

    def relative(self, path: Path) -> str:
        """Path as shown to users and stored in outputs: relative to the workspace, with /."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through `write(tmp)` to a temporary name in the same folder, then rename: a run
    killed at any moment leaves the previous file complete (SPEC §13)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: Path, data: object) -> Path:
    text = json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_parquet(path: Path, table) -> Path:
    import pyarrow.parquet as pq

    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
