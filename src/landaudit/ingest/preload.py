"""What the workers' forkserver imports once (ingest/workers.py), so that every worker forked
from it starts in milliseconds with the readers loaded instead of importing them itself.

The server must stay single-threaded (a fork copies only the forking thread: a lock held by any
other thread would stay locked in the child for ever). Two libraries start threads on import
unless told not to: OpenBLAS (numpy) its thread pool, and pyarrow's bundled jemalloc its
background purging thread. Both are told here, in the server's own environment, before either
is imported; tests/test_workers.py checks that the server has exactly one thread.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
_conf = os.environ.get("JE_ARROW_MALLOC_CONF", "")
if "background_thread" not in _conf:
    os.environ["JE_ARROW_MALLOC_CONF"] = ",".join(filter(None, [_conf, "background_thread:false"]))

import pyarrow as pa  # noqa: E402
import python_calamine  # noqa: E402,F401  (read.py imports it on first use)

import landaudit.ingest.pipeline  # noqa: E402,F401
import landaudit.ingest.workers  # noqa: E402,F401

# pyarrow checks once per process whether pandas is installed (importing it if so) the first time
# it converts Python values: done here, once, rather than in every worker
pa.array([0])
