"""pyarrow without pandas.

pyarrow imports pandas the first time it converts Python values (`pa.array`, `pa.table`) or reads
Parquet, only to check whether the input is a pandas object; landaudit never hands it one. That
import costs 0.2–0.3 s in every process (ingest, classify, export, each ingest worker), about 5% of
a city-scale `landaudit run` (issue 7). `without_pandas()` lets pyarrow's one-time check find no
pandas, so it never looks again; pandas itself stays importable for anyone who imports it.

The price: in the same process, pyarrow's pandas conversions (`Table.to_pandas`) then report that
pandas is missing. landaudit does not use them; a caller that does should import pandas first, and
then this function leaves pyarrow alone.
"""

from __future__ import annotations

import sys


def without_pandas() -> None:
    if "pandas" in sys.modules or getattr(without_pandas, "done", False):
        return
    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)      # `import pandas` raises ImportError while this is in place
    try:
        pa.array([0])                     # pyarrow's shim tries pandas here, once per process
    finally:
        sys.meta_path.remove(blocker)
    without_pandas.done = True


class _NoPandas:
    """A meta path finder that refuses pandas and lets every other import through."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("landaudit: pyarrow runs without pandas", name=name)
        return None
