"""Paths of a workspace (SPEC §2) and atomic writes (SPEC §13)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from landaudit.errors import OutputError, UsageError


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

    def inside(self, path: Path | str) -> Path:
        """A user-given path, relative to the workspace, that must stay inside it (SPEC §13)."""
        candidate = Path(path)
        resolved = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise UsageError(f"路径 {path} 在工作区 {self.root} 之外：请使用工作区内的文件夹")
        return resolved

    def relative(self, path: Path) -> str:
        """Path as shown to users and stored in outputs: relative to the workspace, with /."""
        absolute = Path(os.path.abspath(path))      # not resolve(): a symlinked input keeps its own name
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            return absolute.as_posix()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_umask_allows(path: Path, mode: int) -> None:
    """mkstemp/mkdtemp create 0600/0700 whatever the umask; outputs get what the umask gives
    (typically 0644/0755: cron writes to a shared folder colleagues read, SPEC §9 rev. 2)."""
    os.chmod(path, mode & ~_umask())


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through `write(tmp)` to a temporary name in the same folder, then rename: a run
    killed at any moment leaves the previous file complete (SPEC §13)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        write(tmp)
        _as_umask_allows(tmp, 0o666)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(path, exc) from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return path


def replace_folder(path: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Write a whole folder through `write(staging)` (which returns the files it wrote, inside
    staging), then swap it in for `path`: nothing from an earlier run is left over, and a run
    killed while writing leaves the previous folder as it was (SPEC §9 rev. 2). An empty result
    removes the folder. Returns the files under their final names."""
    staging = old = None
    written: list[Path] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = built = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".staging", dir=path.parent))
        _as_umask_allows(staging, 0o777)
        written = [path / f.relative_to(built) for f in write(staging)]
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
        if written:
            os.replace(staging, path)
            staging = None
    except OSError as exc:
        raise OutputError(path, exc) from exc
    finally:
        for leftover in (staging, old):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
    return written


def write_json(path: Path, data: object) -> Path:
    text = json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_parquet(path: Path, table) -> Path:
    import pyarrow.parquet as pq

    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


class WorkspaceLock:
    """One writer per workspace (SPEC §13). An advisory `flock` on data/processed/.landaudit.lock,
    whose content names the holder (PID, host, start time, command) for the message another run
    prints. The kernel drops the lock when its process dies, so a lock left by a killed run never
    blocks: the next run finds the old holder's note in the file and takes over with a warning."""

    def __init__(self, workspace: Workspace, *, command: str, wait: float = 0.0,
                 on_stale: Callable[[dict], None] | None = None):
        self.path = workspace.processed / ".landaudit.lock"
        self.command, self.wait, self.on_stale = command, wait, on_stale
        self._fd: int | None = None

    def __enter__(self) -> WorkspaceLock:
        import fcntl
        import socket
        import time
        from datetime import datetime

        from landaudit.errors import LockError

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockError(
                        f"工作区 {self.path.parent.parent.parent} 正被另一个运行占用：PID {holder.get('pid', '?')}，"
                        f"主机 {holder.get('host', '?')}，开始于 {holder.get('started', '?')}"
                        f"（{holder.get('command', '?')}）。请等它结束后再运行，或加 --lock-wait 秒数 等待。"
                    ) from None
                time.sleep(0.1)
        previous = _read_holder(fd)
        if previous and self.on_stale:
            self.on_stale(previous)
        note = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "started": datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note, ensure_ascii=False).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        if self._fd is not None:
            os.ftruncate(self._fd, 0)     # a clean exit leaves no holder note behind
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> dict:
    try:
        raw = os.pread(fd, 4096, 0)
        return json.loads(raw.decode()) if raw.strip() else {}
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "started": "?", "command": "无法读取的锁文件"}


def remove_stale_temporaries(folder: Path) -> int:
    """Temporary files of atomic_write left by a killed run (call while holding the lock)."""
    removed = 0
    if folder.is_dir():
        for tmp in folder.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed
