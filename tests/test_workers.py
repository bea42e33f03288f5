"""The worker processes that read files (ingest/workers.py, SPEC §13 rev. 2): how they start.

Workers are forked from a forkserver where the OS has one and spawned elsewhere (Windows); never
forked from the ingesting process, whose threads (DuckDB's, rich's, a caller's) a fork would copy
with their locks held. The forkserver itself must be single-threaded for the same reason."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

import pytest

from landaudit.config import load_config
from landaudit.ingest import workers
from landaudit.ingest.workers import Lost, WorkerLimits, WorkerPool

LIMITS = WorkerLimits(memory_mb=None, seconds=60, seconds_per_mb=10)


def test_the_start_method_is_never_a_plain_fork(monkeypatch):
    monkeypatch.delenv(workers.START_ENV, raising=False)
    expected = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    assert workers.start_method() == expected
    monkeypatch.setenv(workers.START_ENV, "spawn")
    assert workers.start_method() == "spawn"
    monkeypatch.setenv(workers.START_ENV, "fork")              # not offered, whatever is asked
    assert workers.start_method() == expected


def _csv(folder: Path) -> Path:
    path = folder / "地块.csv"
    path.write_text("地块编码,镇街,面积（亩）\n330681001001GB00001,陶朱街道,12.5\n", encoding="utf-8")
    return path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_forkserver_is_single_threaded(tmp_path, monkeypatch):
    """ingest/preload.py keeps OpenBLAS and jemalloc from starting threads in the server; a
    library that starts one on import would make every worker a fork of a multi-threaded process."""
    monkeypatch.delenv(workers.START_ENV, raising=False)
    from multiprocessing import forkserver

    pool = WorkerPool(load_config(tmp_path), None, 1, LIMITS)
    try:
        path = _csv(tmp_path)
        result = pool.submit(path, path.name, path.stat().st_size).result(timeout=120)
        assert not isinstance(result, Lost), result
        server = forkserver._forkserver._forkserver_pid
        assert server and server != os.getpid()
        threads = os.listdir(f"/proc/{server}/task")
        assert len(threads) == 1, [Path(f"/proc/{server}/task/{t}/comm").read_text().strip() for t in threads]
        modules = Path(f"/proc/{server}/maps").read_text()
        assert "pyarrow" in modules and "calamine" in modules     # the readers are loaded once, there
    finally:
        pool.close()


@pytest.mark.parametrize("start", ["forkserver", "spawn"])
def test_a_worker_reads_a_file_and_ends_with_the_pool(tmp_path, monkeypatch, start):
    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{start} is not available here")
    monkeypatch.setenv(workers.START_ENV, start)
    pool = WorkerPool(load_config(tmp_path), None, 1, LIMITS)
    try:
        path = _csv(tmp_path)
        result = pool.submit(path, path.name, path.stat().st_size).result(timeout=120)
        assert not isinstance(result, Lost), result
        assert [(e.dataset, e.rows_accepted) for e in result.entries] == [("land", 1)]
        (worker,) = pool._workers
        process = worker.process
    finally:
        pool.close()
    process.join(timeout=10)
    assert not process.is_alive()
