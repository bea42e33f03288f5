"""Paths of a workspace (SPEC §2) and atomic writes (SPEC §13)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from landaudit.errors import OutputError, UsageError, WorkbookOpenError


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

    def exports_year(self, year: int) -> Path:
        return self.exports / str(year)

    def years(self) -> list[int]:
        """Every data/raw/<year> folder, empty or not."""
        if not self.raw.is_dir():
            return []
        return sorted(int(p.name) for p in self.raw.iterdir() if p.is_dir() and p.name.isdigit())

    def years_with_files(self) -> list[int]:
        """The data/raw/<year> folders holding at least one department file (SPEC §2 rev. 2)."""
        return [y for y in self.years() if holds_files(self.raw_year(y))]

    def is_real(self) -> bool:
        """A workspace someone set up (configs/) or filled (raw files): never told to run the demo."""
        return self.configs.is_dir() or bool(self.years_with_files())

    def resolve_year(self, year: int | None, *, processed_ok: bool = True) -> int:
        """The asked year, or the newest data/raw/<year> that holds a file (SPEC §2 rev. 2): an
        empty year folder is never the default, and naming one is an error. A year already read
        (data/processed/<year>/) stays usable for classify, export, report ... unless
        `processed_ok=False` (ingest: it reads the raw folder)."""
        with_files = self.years_with_files()
        if year is not None:
            if year in with_files or (processed_ok and _has_entries(self.processed_year(year))):
                return year
            folder = f"{self.relative(self.raw_year(year))}/"
            state = f"{folder} 是空的（没有部门报表）" if self.raw_year(year).is_dir() else f"找不到 {folder}"
            raise UsageError(f"{state}：{self._where_files_are(year)}")
        if not with_files:
            empty = self.years()
            found = f"（{'、'.join(f'data/raw/{y}/' for y in empty)} 是空的）" if empty else ""
            hint = "" if self.is_real() else "；只想先看看效果时可运行 landaudit demo 生成模拟数据"
            raise UsageError(f"{self.relative(self.raw)}/ 下没有任何年度的部门报表{found}：请把各部门报表放进 "
                             f"data/raw/<年度>/（如 data/raw/{_this_year()}/）后再运行{hint}")
        return with_files[-1]

    def _where_files_are(self, year: int) -> str:
        with_files = self.years_with_files()
        if with_files:
            return (f"有部门报表的年度是 {'、'.join(map(str, reversed(with_files)))}；请用 --year 选择其中一年，"
                    f"或把 {year} 年的部门报表放进 data/raw/{year}/")
        hint = "" if self.is_real() else "；只想先看看效果时可运行 landaudit demo 生成模拟数据"
        return f"还没有任何年度的部门报表；请把 {year} 年的部门报表放进 data/raw/{year}/{hint}"

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
            return _shown(absolute.relative_to(self.root).as_posix())
        except ValueError:
            return _shown(absolute.as_posix())

    # The notebook API (issue 15, landaudit/api.py): `la.Workspace("诸暨")`, then a year's tables.
    def __post_init__(self) -> None:
        if not isinstance(self.root, Path) or not self.root.is_absolute():     # Workspace("诸暨")
            object.__setattr__(self, "root", Path(self.root).resolve())

    def parcels(self, year: int | None = None):
        """data/processed/<year>/parcels.parquet (classify) as a pyarrow Table: one row per parcel."""
        return self.table("parcels", year)

    def ledger(self, year: int | None = None):
        """data/processed/<year>/ledger.parquet (ingest): the 问题隐患台账 rows as received."""
        return self.table("ledger", year)

    def kpis(self, year: int | None = None):
        """data/processed/<year>/kpis.parquet (classify): the KPIs per scope and township."""
        return self.table("kpis", year)

    def table(self, name: str, year: int | None = None):
        """Any table of the year's folder by name (api.TABLES: land, enterprise, rejects, links …)."""
        from landaudit.api import read_table

        return read_table(self, name, year)


def _shown(text: str) -> str:
    """A file name that is not valid UTF-8 (Linux keeps it as lone surrogates, surrogateescape) with
    U+FFFD in place of each bad byte: reports, Parquet and JSON need real text (issue 14 item 8).
    The file itself is still opened by its real Path."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:                     # a lone surrogate of another origin (Windows)
        return text.encode("utf-8", "replace").decode("utf-8")


def _this_year() -> int:
    from datetime import date

    return date.today().year


# Files no department sent: the OS's and office programs' own (SPEC §2 rev. 2: a folder holding
# only these is empty). Hidden names (.DS_Store, .~lock.*#, ._x) and Office owner files (~$x).
_NOT_DEPARTMENT_FILES = {"thumbs.db", "desktop.ini"}


def is_department_file(path: Path, folder: Path) -> bool:
    parts = path.relative_to(folder).parts
    return (not any(p.startswith((".", "~$")) for p in parts)
            and path.name.lower() not in _NOT_DEPARTMENT_FILES)


def holds_files(folder: Path) -> bool:
    """Whether a folder holds (at any depth) at least one file a department could have sent."""
    if not folder.is_dir():
        return False
    return any(is_department_file(p, folder) for p in walk_files(folder))


def walk_files(folder: Path, unlistable: list[Path] | None = None) -> Iterator[Path]:
    """Every file below `folder`, as `rglob("*")` + `is_file()` gives them (symlinked files yes,
    symlinked folders not entered), without recursion: Python 3.11's rglob recurses, and folders
    nested ~1,000 deep raised RecursionError (issue 14 item 8). A folder that cannot be listed (no
    permission, a path past the OS limit) is added to `unlistable` instead of ending the walk."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError:
            if unlistable is not None and current != folder:
                unlistable.append(current)
            continue
        for entry in entries:
            path = current / entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif entry.is_file():
                    yield path
            except OSError:                        # a symlink loop, a name past the limit
                continue


def _has_entries(folder: Path) -> bool:
    """A data/processed/<year>/ an earlier ingest (or a test's given rows) wrote into."""
    return folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())


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
    except Exception as exc:
        # xlsxwriter wraps the OSError of a full disk in its own FileCreateError (SPEC §2 rev. 2:
        # an environment problem is one Chinese sentence, exit 2)
        if exc.args and isinstance(exc.args[0], OSError):
            raise OutputError(path, exc.args[0]) from exc
        raise
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
        try:
            files = write(staging)
        except OutputError as exc:          # named as the user will find it: 镇街/x.xlsx, not .镇街.*.staging/
            exc.args = tuple(a.replace(str(built), str(path)) if isinstance(a, str) else a for a in exc.args)
            raise
        written = [path / f.relative_to(built) for f in files]
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


# Issue 15: every Parquet file names the year and county it is about, as the last two columns (on
# every row) and as Parquet key-value metadata of the same names: a file copied out of its
# data/processed/<year>/ folder still says what it is.
PROVENANCE = ("data_year", "county_code")


def with_provenance(table, *, year: int, county_code: str):
    """`table` with data_year (INTEGER, as the views had it) and county_code on every row and in
    the file's metadata; columns of those names already there are replaced."""
    import pyarrow as pa

    table = table.drop_columns([c for c in PROVENANCE if c in table.column_names])
    table = table.append_column(pa.field("data_year", pa.int32()), pa.repeat(pa.scalar(year, pa.int32()), table.num_rows))
    table = table.append_column(pa.field("county_code", pa.string()),
                                pa.repeat(pa.scalar(county_code, pa.string()), table.num_rows))
    return table.replace_schema_metadata({**(table.schema.metadata or {}), **provenance_metadata(year, county_code)})


def provenance_metadata(year: int, county_code: str) -> dict[bytes, bytes]:
    return {b"data_year": str(int(year)).encode(), b"county_code": county_code.encode()}


def write_parquet(path: Path, table, *, year: int, county_code: str) -> Path:
    """A Parquet file landaudit writes: atomically, with data_year and county_code (issue 15)."""
    import pyarrow.parquet as pq

    table = with_provenance(table, year=year, county_code=county_code)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


@dataclass(frozen=True)
class LockPrimitive:
    """An exclusive, non-blocking lock on an open file descriptor that the OS drops when its process
    dies: `try_lock(fd)` is False when another process holds it."""

    name: str
    try_lock: Callable[[int], bool]
    unlock: Callable[[int], None]


def lock_primitive() -> LockPrimitive:
    """The one place the platform is chosen (issue 15): `flock` where the OS has it (Linux, macOS,
    BSD), msvcrt's byte-range lock on Windows. Tests replace this function to run the other path."""
    try:
        import fcntl
    except ImportError:                                     # Windows
        import msvcrt

        return byte_range_lock(msvcrt)
    return flock_lock(fcntl)


def flock_lock(fcntl) -> LockPrimitive:
    def try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    return LockPrimitive("flock", try_lock, lambda fd: fcntl.flock(fd, fcntl.LOCK_UN))


# Windows byte-range locks are mandatory: a locked byte cannot be read by another process. The lock
# is one byte at 1 GiB (SQLite's PENDING_BYTE, for the same reason), far past the holder note that
# the waiting run and `landaudit status` read from offset 0. Seeking there does not grow the file.
LOCKED_BYTE = 0x4000_0000


def byte_range_lock(msvcrt) -> LockPrimitive:
    """`msvcrt.locking` locks from the file position, so both lock and unlock seek to LOCKED_BYTE
    first (the note is written with an explicit offset, never at the position). LK_NBLCK fails at
    once with EACCES when another process holds the byte."""
    def at_locked_byte(fd: int, mode: int) -> None:
        os.lseek(fd, LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, mode, 1)

    def try_lock(fd: int) -> bool:
        try:
            at_locked_byte(fd, msvcrt.LK_NBLCK)
        except OSError as exc:
            if exc.errno in (errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)):
                return False
            raise
        return True

    return LockPrimitive("msvcrt", try_lock, lambda fd: at_locked_byte(fd, msvcrt.LK_UNLCK))


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, offset)
        return
    os.lseek(fd, offset, os.SEEK_SET)                       # Windows has no pwrite
    while data:
        data = data[os.write(fd, data):]


def _pread(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)                       # Windows has no pread
    return os.read(fd, size)


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:                   # no USER/LOGNAME/USERNAME and no passwd entry (a container)
        return "?"


class WorkspaceLock:
    """One writer per workspace (SPEC §13): an exclusive lock (lock_primitive: `flock`, or a
    byte-range lock on Windows) on data/processed/.landaudit.lock, whose content names the holder
    (PID, user, host, start time, command) for the message another run prints. The OS drops the
    lock when its process dies, so a lock left by a killed run never blocks: the next run finds the
    old holder's note in the file and takes over with a warning."""

    def __init__(self, workspace: Workspace, *, command: str, wait: float = 0.0,
                 on_stale: Callable[[dict], None] | None = None):
        self.path = workspace.processed / ".landaudit.lock"
        self.command, self.wait, self.on_stale = command, wait, on_stale
        self._fd: int | None = None
        self._primitive: LockPrimitive | None = None

    def __enter__(self) -> WorkspaceLock:
        import socket
        import time
        from datetime import datetime

        from landaudit.errors import LockError, OutputError

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:      # SPEC §2 rev. 2: a folder of another user is exit 2, not 70
            raise OutputError(self.path, exc) from exc
        primitive = lock_primitive()
        fd = self._open()
        deadline = time.monotonic() + self.wait
        while not primitive.try_lock(fd):
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                raise LockError(
                    f"工作区 {self.path.parent.parent.parent} 正被另一个运行占用：PID {holder.get('pid', '?')}，"
                    f"用户 {holder.get('user', '?')}，主机 {holder.get('host', '?')}，开始于 {holder.get('started', '?')}"
                    f"（{holder.get('command', '?')}）。请等它结束后再运行，或加 --lock-wait 秒数 等待。"
                )
            time.sleep(0.1)
        previous = _read_holder(fd)
        if previous and self.on_stale:
            self.on_stale(previous)
        note = {"pid": os.getpid(), "user": _user(), "host": socket.gethostname(), "command": self.command,
                "started": datetime.now().isoformat(timespec="seconds")}
        try:
            os.ftruncate(fd, 0)
            _pwrite(fd, json.dumps(note, ensure_ascii=False).encode(), 0)
            os.fsync(fd)
        except OSError as exc:      # a full disk while writing the holder note: exit 2
            primitive.unlock(fd)
            os.close(fd)
            raise OutputError(self.path, exc) from exc
        self._fd, self._primitive = fd, primitive
        return self

    def _open(self) -> int:
        """The lock file, never through a symlink (issue 14 item 5: a planted link made the lock
        truncate its target outside the workspace) and only a regular file. Created with the
        umask's permissions (0666 & ~umask), not 0600/0644: a colleague's cron run on a shared
        folder takes the same lock. Opened without O_TRUNC: a waiting run reads the holder's note.
        Every way this fails is exit 2 with one sentence."""
        import stat

        from landaudit.errors import LockFileError, OutputError, os_reason

        nofollow = getattr(os, "O_NOFOLLOW", 0)
        if not nofollow and self.path.is_symlink():        # Windows: no O_NOFOLLOW
            raise LockFileError(self.path, _LOCK_SYMLINK)
        # O_BINARY (Windows): a text-mode descriptor would translate bytes and stop reading at Ctrl-Z
        flags = os.O_RDWR | os.O_CREAT | nofollow | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            if self.path.is_symlink():                      # ELOOP (Linux), EMLINK (FreeBSD), ...
                raise LockFileError(self.path, _LOCK_SYMLINK) from None
            if isinstance(exc, PermissionError):
                owner = _owner_of(self.path)
                if owner is not None:
                    raise LockFileError(self.path, f"它属于另一位用户 {owner}，本用户没有写入权限：请让 {owner} 删除它"
                                        f"或让它同组可写（chmod g+w），然后重新运行") from None
                raise LockFileError(self.path, f"{os_reason(exc)}：请修正 {self.path.parent} 的权限后重新运行") from None
            raise OutputError(self.path, exc) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):       # a FIFO or device planted in its place
            os.close(fd)
            raise LockFileError(self.path, "它不是普通文件：请删除它后重新运行")
        return fd

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)     # a clean exit leaves no holder note behind
            self._primitive.unlock(self._fd)
            os.close(self._fd)
            self._fd = self._primitive = None


_LOCK_SYMLINK = "它是一个符号链接，为安全起见不会跟随（锁文件必须是工作区里的普通文件）：请删除这个链接后重新运行"


def _owner_of(path: Path) -> str | None:
    """The user owning `path` when it is not this process's user (None otherwise or unknown)."""
    try:
        uid = os.lstat(path).st_uid
    except OSError:
        return None
    if not hasattr(os, "getuid") or uid == os.getuid():
        return None
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"UID {uid}"


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (a holder note's PID, for `status`). Not
    os.kill(pid, 0) on Windows: signal 0 is CTRL_C_EVENT there, sent to a console process group
    (an OSError for a process in no console, such as a scheduled task)."""
    if os.name == "nt":
        import ctypes

        return _windows_process_alive(pid, ctypes.WinDLL("kernel32", use_last_error=True), ctypes.get_last_error)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                             # alive, another user's
    return True


def _windows_process_alive(pid: int, kernel32, last_error: Callable[[], int]) -> bool:
    import ctypes

    handle = kernel32.OpenProcess(0x1000, False, pid)          # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return last_error() == 5                               # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _read_holder(fd: int) -> dict:
    try:
        raw = _pread(fd, 4096, 0)
        return json.loads(raw.decode()) if raw.strip() else {}
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "started": "?", "command": "无法读取的锁文件"}


def remove_stale_temporaries(folder: Path) -> int:
    """Temporary files of atomic_write left by a killed run (call while holding the lock), with
    what DuckDB keeps beside a database being built (`.x.tmp.wal`, the `.x.tmp.tmp` spill folder)
    and classify's spill folder `.duckdb_tmp` (issue 14: DuckDB temp files survived cleanup)."""
    removed = 0
    if folder.is_dir():
        leftovers = {*folder.rglob(".*.tmp"), *folder.rglob(".*.tmp.wal"), *folder.glob(".duckdb_tmp")}
        for tmp in sorted(leftovers, key=lambda p: len(p.parts), reverse=True):
            if tmp.is_dir() and not tmp.is_symlink():
                empty = not any(tmp.iterdir())
                shutil.rmtree(tmp, ignore_errors=True)
                removed += not empty            # an empty spill folder is no trace of a killed run
            else:
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


def workbook_holder(path: Path) -> str | None:
    """Who has the workbook `path` open, when its office program's lock file is beside it (issue
    13): Excel/WPS write `~$name.xlsx` (Word-style `~$` over the first two letters of a long name
    too), LibreOffice `.~lock.name.xlsx#`. None when no lock file is there."""
    folder, name = path.parent, path.name
    for lock in (folder / f"~${name}", folder / f"~${name[2:]}"):
        if len(lock.name) > 2 and lock.is_file():
            return _office_owner(lock) or f"另一位用户（锁文件 {lock.name}）"
    lock = folder / f".~lock.{name}#"
    if lock.is_file():
        return _libreoffice_owner(lock) or f"另一位用户（锁文件 {lock.name}）"
    return None


def _printable(text: str) -> str | None:
    text = text.strip().strip("\x00").strip()
    return text if text and all(c.isprintable() for c in text) else None


def _office_owner(lock: Path) -> str | None:
    """An Office owner file: the user name as a string at byte 1 whose length is byte 0 (ANSI),
    in some versions again in UTF-16 further on (length in the two bytes before). Read leniently:
    the first copy that decodes to printable text."""
    try:
        raw = lock.read_bytes()[:512]
    except OSError:
        return None
    candidates = []
    if raw:
        n = raw[0]
        for encoding in ("utf-8", "gbk"):
            try:
                candidates.append(raw[1:1 + n].decode(encoding))
                break
            except UnicodeDecodeError:
                continue
    if len(raw) > 56:
        n = int.from_bytes(raw[53:55], "little")
        if 0 < n <= 100:
            candidates.append(raw[55:55 + 2 * n].decode("utf-16-le", errors="ignore"))
    for text in candidates:
        if (name := _printable(text)):
            return name
    return None


def _libreoffice_owner(lock: Path) -> str | None:
    """LibreOffice's lock file: CSV `full name,user,host,date,profile;`."""
    import csv

    try:
        text = lock.read_text("utf-8", errors="replace")
    except OSError:
        return None
    fields = next(csv.reader([text.strip().rstrip(";")]), [])
    names = [f for f in fields[:2] if _printable(f)]
    if not names:
        return None
    host = fields[2].strip() if len(fields) > 2 and _printable(fields[2]) else None
    return names[0].strip() + (f"（主机 {host}）" if host else "")


def refuse_open_workbooks(paths: list[Path], workspace: Workspace) -> None:
    """Raise before writing anything when any of `paths` is open in an office program."""
    held = [(workspace.relative(p), holder) for p in paths if (holder := workbook_holder(p))]
    if held:
        raise WorkbookOpenError(held)
