"""The workspace lock on every OS (issue 15; SPEC §2, §13). This machine cannot run Windows, so the
Windows path (msvcrt's byte-range lock, no pread/pwrite, no O_NOFOLLOW) runs here through injected
primitives: an in-process fake that models Windows' rules (a lock held through another descriptor
refuses with EACCES; the lock starts at the file position), and, across real processes, POSIX
record locks (`lockf`) standing in for msvcrt.locking, which also die with their process. The
guarantees that do not depend on the primitive (symlink, FIFO, umask, another user's file, disk
full) are in tests/test_hostile_env.py and run with the native `flock`."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import landaudit.workspace as workspace_module
from landaudit.cli import app
from landaudit.errors import LockError
from landaudit.workspace import (
    LOCKED_BYTE,
    Workspace,
    WorkspaceLock,
    byte_range_lock,
    lock_primitive,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile_env import write_year  # noqa: E402

runner = CliRunner()


class FakeMsvcrt:
    """msvcrt.locking as Windows documents it: locks `nbytes` from the descriptor's position; a
    byte held through another descriptor (another process, on Windows) is refused at once with
    EACCES under LK_NBLCK; unlocking a byte one does not hold is EACCES too. `release(fd)` is the
    OS dropping the locks of a process that died."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self):
        self.held: dict[tuple, int] = {}          # (device, inode, offset, length) -> fd
        self.calls: list[tuple[int, int, int]] = []   # (mode, offset, length)

    def _key(self, fd: int, nbytes: int) -> tuple:
        st = os.fstat(fd)
        return st.st_dev, st.st_ino, os.lseek(fd, 0, os.SEEK_CUR), nbytes

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        key = self._key(fd, nbytes)
        self.calls.append((mode, key[2], nbytes))
        if mode == self.LK_UNLCK:
            if self.held.get(key) != fd:
                raise OSError(errno.EACCES, "Permission denied")
            del self.held[key]
            return
        assert mode == self.LK_NBLCK, "landaudit never blocks inside msvcrt (LK_LOCK retries for 10 s)"
        if key in self.held:
            raise OSError(errno.EACCES, "Permission denied")
        self.held[key] = fd

    def release(self, fd: int) -> None:
        self.held = {k: v for k, v in self.held.items() if v != fd}


@pytest.fixture
def windows(monkeypatch) -> FakeMsvcrt:
    """The Windows path on this machine: msvcrt's lock, and no pread/pwrite (Windows has neither)."""
    fake = FakeMsvcrt()
    monkeypatch.setattr(workspace_module, "lock_primitive", lambda: byte_range_lock(fake))
    monkeypatch.delattr(os, "pread")
    monkeypatch.delattr(os, "pwrite")
    return fake


def _lock_file(ws: Workspace) -> Path:
    return ws.processed / ".landaudit.lock"


# the choice ----------------------------------------------------------------------------------------------------

def test_the_native_lock_here_is_flock():
    assert lock_primitive().name == "flock"


def test_without_fcntl_the_lock_is_msvcrts(monkeypatch):
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "fcntl", None)         # `import fcntl` raises ImportError, as on Windows
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    primitive = lock_primitive()
    assert primitive.name == "msvcrt"


# the Windows path, in one process --------------------------------------------------------------------------------

def test_windows_a_second_run_waits_then_is_refused_naming_the_holder(tmp_path, windows):
    ws = Workspace.at(tmp_path)
    with WorkspaceLock(ws, command="landaudit run --year 2023"):
        started = time.monotonic()
        with pytest.raises(LockError) as refused:
            with WorkspaceLock(ws, command="landaudit ingest", wait=0.3):
                pass
        assert time.monotonic() - started >= 0.3
        message = str(refused.value)
        assert f"PID {os.getpid()}" in message and "landaudit run --year 2023" in message
        assert f"用户 {workspace_module._user()}" in message
        assert refused.value.exit_code == 3
        # the note is readable at offset 0 (the lock is far past it: Windows locks are mandatory)
        note = json.loads(_lock_file(ws).read_text(encoding="utf-8"))
        assert note["pid"] == os.getpid() and note["command"] == "landaudit run --year 2023"
        assert _lock_file(ws).stat().st_size == len(json.dumps(note, ensure_ascii=False).encode())
        assert [offset for _, offset, _ in windows.calls] == [LOCKED_BYTE] * len(windows.calls)
        assert LOCKED_BYTE > 4096                           # past all that _read_holder reads
    assert windows.held == {}                               # released on exit
    assert _lock_file(ws).read_text(encoding="utf-8") == ""     # and no holder note left behind
    with WorkspaceLock(ws, command="landaudit export"):     # free again
        pass


def test_windows_a_dead_holders_lock_is_taken_over_with_its_note(tmp_path, windows):
    ws = Workspace.at(tmp_path)
    dead = WorkspaceLock(ws, command="landaudit run --year 2022").__enter__()
    windows.release(dead._fd)                               # the process died: Windows drops its locks
    stale: list[dict] = []
    with WorkspaceLock(ws, command="landaudit run --year 2023", on_stale=stale.append):
        # the new note replaces the old one whole (written at offset 0, not at the file position)
        assert json.loads(_lock_file(ws).read_text(encoding="utf-8"))["command"] == "landaudit run --year 2023"
    assert [(s["pid"], s["command"]) for s in stale] == [(os.getpid(), "landaudit run --year 2022")]
    os.close(dead._fd)


def test_windows_a_note_longer_than_the_previous_one_and_a_shorter_one_stay_whole(tmp_path, windows):
    """ftruncate + write at offset 0 without pwrite: no leftover bytes of a longer earlier note,
    and the file never grows to the locked byte."""
    ws = Workspace.at(tmp_path)
    for command in ("landaudit run --year 2023 --by-township " + "x" * 300, "landaudit ingest"):
        with WorkspaceLock(ws, command=command) as held:
            note = workspace_module._read_holder(held._fd)
            assert note["command"] == command
            assert _lock_file(ws).stat().st_size < 1024


def test_windows_the_cli_refuses_with_exit_3_while_another_run_holds_the_lock(tmp_path, windows):
    write_year(tmp_path)
    ws = Workspace.at(tmp_path)
    with WorkspaceLock(ws, command="landaudit run --year 2023"):
        result = runner.invoke(app, ["ingest", "-w", str(tmp_path), "--log-format", "plain"])
    assert result.exit_code == 3, result.output
    assert "正被另一个运行占用" in result.output and f"PID {os.getpid()}" in result.output
    assert runner.invoke(app, ["ingest", "-w", str(tmp_path), "--log-format", "plain"]).exit_code == 0


def test_windows_an_unexpected_locking_error_is_not_taken_for_a_busy_lock(tmp_path, windows, monkeypatch):
    def broken(fd, mode, nbytes):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(windows, "locking", broken)
    with pytest.raises(OSError) as raised:
        with WorkspaceLock(Workspace.at(tmp_path), command="landaudit ingest", wait=5):
            pass
    assert raised.value.errno == errno.EBADF


def test_windows_the_symlink_check_without_o_nofollow(tmp_path, windows, monkeypatch, tmp_path_factory):
    """Windows has no O_NOFOLLOW: the path is checked with is_symlink() before opening."""
    monkeypatch.delattr(os, "O_NOFOLLOW")
    outside = tmp_path_factory.mktemp("outside") / "precious.txt"
    outside.write_text("do not truncate me", encoding="utf-8")
    ws = Workspace.at(tmp_path)
    ws.processed.mkdir(parents=True)
    _lock_file(ws).symlink_to(outside)
    from landaudit.errors import LockFileError

    with pytest.raises(LockFileError, match="符号链接"):
        with WorkspaceLock(ws, command="landaudit ingest"):
            pass
    assert outside.read_text(encoding="utf-8") == "do not truncate me"


# the Windows path across real processes ---------------------------------------------------------------------------

# POSIX record locks (lockf) stand in for msvcrt.locking: a byte range from the current position,
# refused at once to another process, dropped by the kernel when the holder dies.
LOCKF_MSVCRT = textwrap.dedent("""
    import errno, fcntl, os, sys
    import landaudit.workspace as w

    class LockfMsvcrt:
        LK_UNLCK, LK_LOCK, LK_NBLCK = 0, 1, 2

        @staticmethod
        def locking(fd, mode, nbytes):
            assert os.lseek(fd, 0, os.SEEK_CUR) == w.LOCKED_BYTE
            command = fcntl.LOCK_UN if mode == 0 else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.lockf(fd, command, nbytes, 0, os.SEEK_CUR)
            except (BlockingIOError, PermissionError):
                raise OSError(errno.EACCES, "Permission denied") from None

    w.lock_primitive = lambda: w.byte_range_lock(LockfMsvcrt)
    del os.pread, os.pwrite
""")


def _python(code: str, *args: str, **kwargs):
    return subprocess.Popen([sys.executable, "-c", LOCKF_MSVCRT + textwrap.dedent(code), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    proc = _python("from landaudit.cli import main; sys.argv = ['landaudit', *sys.argv[1:]]; main()",
                   *args, "-w", str(root), "--log-format", "plain")
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_windows_path_across_processes_busy_then_a_killed_holders_lock_is_free(tmp_path):
    write_year(tmp_path)
    holder = _python(f"""
        from landaudit.workspace import Workspace, WorkspaceLock
        import time
        with WorkspaceLock(Workspace.at({str(tmp_path)!r}), command='landaudit run --year 2023'):
            print('locked', flush=True)
            time.sleep(60)
    """)
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
        busy = _cli(tmp_path, "ingest", "--lock-wait", "0.5")
        assert busy.returncode == 3, busy.stderr
        assert f"PID {holder.pid}" in busy.stderr and "landaudit run --year 2023" in busy.stderr
        holder.send_signal(signal.SIGKILL)                  # dies holding the lock; its note stays
        holder.wait()
        assert str(holder.pid) in (tmp_path / "data/processed/.landaudit.lock").read_text(encoding="utf-8")
        taken = _cli(tmp_path, "ingest")
        assert taken.returncode == 0, taken.stderr
        assert f"PID {holder.pid}" in taken.stderr and "未正常结束" in taken.stderr
        assert (tmp_path / "data/processed/.landaudit.lock").read_text(encoding="utf-8") == ""
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


# is the holder alive (landaudit status) -------------------------------------------------------------------------

class FakeKernel32:
    """OpenProcess/GetExitCodeProcess/CloseHandle as Windows answers them for `processes`
    (pid → exit code, 259 = STILL_ACTIVE); `denied` pids exist but are another user's."""

    def __init__(self, processes: dict[int, int], denied: frozenset[int] = frozenset()):
        self.processes, self.denied, self.error, self.closed = processes, denied, 0, []

    def OpenProcess(self, access, inherit, pid):  # noqa: N802 - the Win32 name
        if pid in self.denied:
            self.error = 5
            return 0
        if pid not in self.processes:
            self.error = 87                           # ERROR_INVALID_PARAMETER: no such process
            return 0
        return 1000 + pid

    def GetExitCodeProcess(self, handle, code):  # noqa: N802
        code._obj.value = self.processes[handle - 1000]
        return 1

    def CloseHandle(self, handle):  # noqa: N802
        self.closed.append(handle)
        return 1


def test_a_holders_pid_is_checked_without_signalling_it_on_windows():
    from landaudit.workspace import _windows_process_alive

    kernel = FakeKernel32({10: 259, 11: 0}, denied=frozenset({12}))
    alive = {pid: _windows_process_alive(pid, kernel, lambda: kernel.error) for pid in (10, 11, 12, 13)}
    assert alive == {10: True, 11: False, 12: True, 13: False}
    assert kernel.closed == [1010, 1011]              # every handle opened is closed


def test_a_holders_pid_here(monkeypatch):
    from landaudit.workspace import process_alive

    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)
    monkeypatch.setattr(os, "kill", lambda pid, sig: (_ for _ in ()).throw(PermissionError()))
    assert process_alive(1)                           # another user's process is alive
