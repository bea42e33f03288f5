"""Per-file isolation (SPEC §13 rev. 2): files that could be costly are read in worker processes,
each under a memory limit (RLIMIT_AS where the system has it) and a time limit derived from its
size. A worker reads one file at a time, so a worker that dies (a signal, an abort in a native
reader, MemoryError) or overruns takes only the file it was reading: that file gets an error entry
naming what happened, and a file whose worker had read other files before is read again in a fresh
worker before it is blamed. Workers die with their parent (PR_SET_PDEATHSIG on Linux, and a thread
watching the parent everywhere) and are killed when the pool closes.

Workers are never forked from this process (it may run threads: DuckDB's, rich's, the caller's;
a fork would copy their locks held). Where the OS has it (Linux, macOS) they are forked from a
forkserver: one fresh, single-threaded process that imported the readers once (ingest/preload.py),
so a worker starts in milliseconds instead of paying ~0.4 s of imports; elsewhere (Windows) they are
spawned. Neither inherits a file descriptor of this process, so never the workspace lock.
`LANDAUDIT_WORKER_START=spawn` forces the portable path (tests run both).

Test hook: LANDAUDIT_TEST_WORKER_FAULT="abort:a.xlsx,sleep:b.xlsx,memory:c.xlsx,exit:d.xlsx", read
when the pool starts and handed to its workers, makes a worker abort, sleep past any limit, allocate
without end or exit(134) when it reaches a file of that name (tests/test_hostile.py uses it to stand
for a file that crashes its reader).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

CRASHED, TIMED_OUT, OUT_OF_MEMORY = "read_crashed", "read_timeout", "read_out_of_memory"
_MEMORY_EXIT = 86              # the worker's exit code after a MemoryError
_RECYCLE_BYTES = 32 << 20      # a worker that read a file this big ends (its memory goes back)
_START_FAILURES = 3            # workers that die before reading anything, in a row: give up
FAULT_ENV = "LANDAUDIT_TEST_WORKER_FAULT"
START_ENV = "LANDAUDIT_WORKER_START"


def start_method() -> str:
    """forkserver where the OS has it, else spawn (both safe with threads in this process; fork
    is not). `LANDAUDIT_WORKER_START=spawn` forces spawn."""
    import multiprocessing

    wanted = os.environ.get(START_ENV, "").strip().lower()
    available = multiprocessing.get_all_start_methods()
    if wanted in ("spawn", "forkserver") and wanted in available:
        return wanted
    return "forkserver" if "forkserver" in available else "spawn"


def start_early() -> None:
    """Start the forkserver now, so that it imports the readers (~0.4 s) while this process does
    its own set-up (imports, lock, config, listing files) instead of after it: the first workers
    then fork at once. Called by `landaudit ingest`/`run`/`check` first thing. Nothing to do where
    workers are spawned; a server that cannot start here is started (or fails) at the first file."""
    if start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    _context()
    try:
        forkserver.ensure_running()
    except OSError:
        pass


def _context():
    import multiprocessing

    method = start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # the readers are imported once, by the server; landaudit.cli too when this process is the
        # CLI (a forked worker re-runs the main script, which imports it)
        preload = ["landaudit.ingest.preload"]
        if "landaudit.cli" in sys.modules:
            preload.append("landaudit.cli")
        context.set_forkserver_preload(preload)
    return context


@dataclass(frozen=True)
class WorkerLimits:
    memory_mb: int | None          # address space per worker; None: not limited
    seconds: float                 # time limit of a file: seconds + seconds_per_mb × its size
    seconds_per_mb: float

    def deadline(self, size: int) -> float:
        return self.seconds + self.seconds_per_mb * size / 1_048_576


def default_memory_mb(workers: int) -> int:
    """`ingest.worker_memory_mb = 0`: ¾ of the physical memory shared by the workers, at most
    8 GiB each and at least 2 GiB (24 GiB, 2 workers → 8192 MB; 8 GB → 3072 MB)."""
    total = _physical_memory()
    if not total:
        return 4096
    return int(max(2048, min(8192, total * 3 / 4 / max(1, workers) / 1_048_576)))


def _physical_memory() -> int | None:
    try:
        if sys.platform == "win32":
            import ctypes

            class Status(ctypes.Structure):
                _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                            ("total", ctypes.c_ulonglong), ("avail", ctypes.c_ulonglong),
                            ("page_total", ctypes.c_ulonglong), ("page_avail", ctypes.c_ulonglong),
                            ("virtual_total", ctypes.c_ulonglong), ("virtual_avail", ctypes.c_ulonglong),
                            ("extended", ctypes.c_ulonglong)]

            status = Status()
            status.length = ctypes.sizeof(Status)
            ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))
            return int(status.total)
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return None


@dataclass
class Lost:
    """What became of a file whose worker did not return it."""

    code: str           # CRASHED, TIMED_OUT or OUT_OF_MEMORY
    detail: str


@dataclass
class _Task:
    path: str
    rel: str
    size: int
    future: Future = field(default_factory=Future)
    fresh_only: bool = False       # its last worker had read other files first: retry in a new one


@dataclass
class _Worker:
    process: object
    conn: object
    stderr: Path
    task: _Task | None = None
    started: float | None = None    # when it began the current task
    done: int = 0                   # tasks finished


class WorkerPool:
    """`slots` worker processes reading files; `submit` returns a Future of the FileResult, or of a
    `Lost` when the file took its worker down or overran."""

    def __init__(self, config, encoding: str | None, slots: int, limits: WorkerLimits, *,
                 big_bytes: int = 0, big_slots: int | None = None):
        self._context = _context()
        self._config, self._encoding, self._slots, self._limits = config, encoding, max(1, slots), limits
        # at most `big_slots` files of `big_bytes` and more at a time (their memory adds up)
        self._big_bytes, self._big_slots = big_bytes, big_slots or self._slots
        self._queue: deque[_Task] = deque()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = self._context.Pipe(duplex=False)
        self._closing = False
        self._start_failures = 0
        self._folder = Path(tempfile.mkdtemp(prefix="landaudit-workers-"))
        self._faults = _faults()         # read here: a forkserver started earlier has an older environment
        self._thread = threading.Thread(target=self._run, name="landaudit-workers", daemon=True)
        self._thread.start()

    def submit(self, path: Path, rel: str, size: int) -> Future:
        task = _Task(str(path), rel, size)
        with self._lock:
            self._queue.append(task)
        self._wake()
        return task.future

    def close(self) -> None:
        self._closing = True
        self._wake()
        self._thread.join(timeout=30)
        for worker in list(self._workers):
            self._kill(worker)
        for task in self._queue:
            if not task.future.done():
                task.future.cancel()
        import shutil

        shutil.rmtree(self._folder, ignore_errors=True)

    # ---------------------------------------------------------------- the pool's thread

    def _wake(self) -> None:
        try:
            self._wake_w.send(None)
        except OSError:
            pass

    def _run(self) -> None:
        from multiprocessing.connection import wait

        try:
            while not self._closing:
                self._dispatch()
                waiting = [self._wake_r] + [w.conn for w in self._workers] + [w.process.sentinel for w in self._workers]
                ready = wait(waiting, timeout=self._next_deadline())
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv()
                for worker in list(self._workers):
                    if worker.conn in ready or worker.process.sentinel in ready:
                        self._service(worker)
                self._check_deadlines()
        except BaseException as exc:   # never leave a caller waiting on a future for ever
            with self._lock:
                tasks = list(self._queue) + [w.task for w in self._workers if w.task]
                self._queue.clear()
            for task in tasks:
                if not task.future.done():
                    task.future.set_exception(exc)
        finally:
            for worker in list(self._workers):
                self._kill(worker)

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                if self._big_bytes and self._queue[0].size >= self._big_bytes:
                    busy = sum(1 for w in self._workers if w.task and w.task.size >= self._big_bytes)
                    small = next((t for t in self._queue if t.size < self._big_bytes), None)
                    if busy >= self._big_slots:
                        if small is None:
                            return
                        self._queue.remove(small)        # a small file goes first, past the big ones
                        self._queue.appendleft(small)
                fresh_only = self._queue[0].fresh_only
                free = [w for w in self._workers if w.task is None]
                idle = [w for w in free if w.done == 0 or not fresh_only]
                if not idle and len(self._workers) >= self._slots:
                    if not free:
                        return
                    self._retire(free[0])        # make room for the fresh worker the task needs
                task = self._queue.popleft()
            worker = idle[0] if idle else self._start()
            worker.task, worker.started = task, None
            try:
                worker.conn.send((task.path, task.rel))
            except OSError:      # died while idle: its sentinel says so; the task goes back
                worker.task = None
                with self._lock:
                    self._queue.appendleft(task)
                self._drop(worker)

    def _start(self) -> _Worker:
        parent_conn, child_conn = self._context.Pipe()
        stderr = self._folder / f"worker-{len(os.listdir(self._folder))}-{time.monotonic_ns()}.log"
        memory = self._limits.memory_mb << 20 if self._limits.memory_mb else 0
        process = self._context.Process(
            target=worker_main, name="landaudit-reader", daemon=True,
            args=(child_conn, self._config, self._encoding, memory, str(stderr), self._faults))
        process.start()
        child_conn.close()
        worker = _Worker(process, parent_conn, stderr)
        self._workers.append(worker)
        return worker

    def _service(self, worker: _Worker) -> None:
        """Read what the worker sent; if it is gone, decide what became of its file."""
        try:
            while worker.conn.poll():
                kind, *payload = worker.conn.recv()
                if kind == "start":
                    worker.started = time.monotonic()
                    self._start_failures = 0
                elif kind == "done":
                    task, worker.task = worker.task, None
                    worker.done += 1
                    if task and not task.future.done():
                        task.future.set_result(payload[0])
                    if task and task.size >= _RECYCLE_BYTES:
                        self._retire(worker)
                        return
                elif kind == "memory":
                    self._lose(worker, OUT_OF_MEMORY, self._memory_detail())
                    return
                elif kind == "error":
                    self._lose(worker, CRASHED, payload[0])
                    return
        except (EOFError, OSError):
            worker.process.join(timeout=5)       # the pipe closed: the process is ending
        if worker.process.is_alive():
            return
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        if worker.task is None:
            self._drop(worker)
        elif worker.started is None:           # died before it began reading: not the file's fault
            self._start_failures += 1
            task, worker.task = worker.task, None
            self._drop(worker)
            if self._start_failures >= _START_FAILURES:
                raise RuntimeError(f"无法启动读取文件的工作进程（退出码 {code}）：{self._tail(worker)}")
            with self._lock:
                self._queue.appendleft(task)
        else:
            self._lose(worker, *self._death(worker, code))

    def _death(self, worker: _Worker, code: int | None) -> tuple[str, str]:
        import signal

        tail = self._tail(worker)
        if code == _MEMORY_EXIT or "memory allocation of" in tail or "MemoryError" in tail:
            return OUT_OF_MEMORY, self._memory_detail()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"信号 {-code}"
            if -code == getattr(signal, "SIGKILL", 9):
                return CRASHED, f"读取进程被系统终止（{name}，可能内存不足）"
            return CRASHED, f"读取进程异常退出（{name}）"
        return CRASHED, f"读取进程异常退出（退出码 {code}）"

    def _memory_detail(self) -> str:
        limit = self._limits.memory_mb
        return f"超过每个读取进程 {limit} MB 的上限 ingest.worker_memory_mb" if limit else "内存不足"

    def _tail(self, worker: _Worker) -> str:
        try:
            with worker.stderr.open("rb") as handle:
                handle.seek(max(0, worker.stderr.stat().st_size - 4096))
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _lose(self, worker: _Worker, code: str, detail: str) -> None:
        """The worker is gone (or is killed now) with its file."""
        task, worker.task = worker.task, None
        reused = worker.done > 0
        self._kill(worker)
        if task is None or task.future.done():
            return
        if reused and code != TIMED_OUT and not task.fresh_only:
            task.fresh_only = True               # earlier files may have left it short of memory
            with self._lock:
                self._queue.appendleft(task)
            return
        task.future.set_result(Lost(code, detail))

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            task = worker.task
            if task and worker.started is not None:
                limit = self._limits.deadline(task.size)
                if now - worker.started > limit:
                    self._lose(worker, TIMED_OUT, f"超过 {limit:.0f} 秒")

    def _next_deadline(self) -> float:
        now, soonest = time.monotonic(), 5.0
        for worker in self._workers:
            if worker.task and worker.started is not None:
                soonest = min(soonest, worker.started + self._limits.deadline(worker.task.size) - now)
        return max(0.01, soonest)

    def _retire(self, worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except OSError:
            pass
        self._drop(worker, kill=False)

    def _drop(self, worker: _Worker, *, kill: bool = True) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        if kill:
            self._kill(worker)
        else:
            threading.Thread(target=self._reap, args=(worker,), daemon=True).start()

    def _reap(self, worker: _Worker) -> None:
        worker.process.join(timeout=30)
        self._kill(worker)

    def _kill(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        try:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(timeout=5)
        except (OSError, ValueError, AssertionError):
            pass
        try:
            worker.conn.close()
        except OSError:
            pass
        try:
            worker.stderr.unlink(missing_ok=True)
        except OSError:
            pass


# ---------------------------------------------------------------- in the worker

def worker_main(conn, config, encoding: str | None, memory_bytes: int, stderr_path: str,
                faults: dict[str, str]) -> None:
    """A worker's life: tie it to the parent, cap its memory, then read files until told to stop."""
    _die_with_parent()
    try:
        descriptor = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(descriptor, 2)        # a native reader's last words ("memory allocation of … failed")
        os.close(descriptor)
    except OSError:
        pass
    if memory_bytes:
        _limit_memory(memory_bytes)
    from landaudit.ingest.pipeline import read_one_file

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        path, rel = message
        conn.send(("start",))
        try:
            _fault(faults.get(Path(path).name))
            result = read_one_file(Path(path), rel, config, encoding)
            conn.send(("done", result))
        except MemoryError:
            result = None
            try:
                conn.send(("memory",))
            finally:
                os._exit(_MEMORY_EXIT)
        except Exception as exc:  # a bug in a reader must not take the other files with it
            conn.send(("error", f"{type(exc).__name__}: {str(exc)[:200]}"))
            return


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG ties a worker to the process that forked it (the forkserver, which exits
    when the pool's process does; or, spawned, that process itself); a thread watching the pool's
    process (multiprocessing's parent sentinel, a pipe that process holds) covers the rest: the
    other OSes, and a parent that died before prctl."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)        # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    import multiprocessing

    parent = multiprocessing.parent_process()

    def gone() -> bool:
        try:
            return parent is not None and not parent.is_alive()
        except (OSError, ValueError):
            return False

    if gone():
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if gone():
                os._exit(1)

    threading.Thread(target=watch, name="landaudit-parent-watch", daemon=True).start()


def _limit_memory(memory_bytes: int) -> None:
    try:
        import resource
    except ImportError:          # Windows: no RLIMIT_AS; the time limit and the isolation remain
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            memory_bytes = min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
    except (ValueError, OSError):
        pass


def _faults() -> dict[str, str]:
    faults = {}
    for item in os.environ.get(FAULT_ENV, "").split(","):
        kind, _, name = item.partition(":")
        if name:
            faults[name] = kind
    return faults


def _fault(kind: str | None) -> None:
    if kind == "abort":
        os.abort()
    elif kind == "exit":
        os._exit(134)
    elif kind == "sleep":
        time.sleep(3600)
    elif kind == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))
