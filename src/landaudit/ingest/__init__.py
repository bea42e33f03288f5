"""Ingest: department spreadsheets → validated Parquet, nothing lost (SPEC §3–§4, §14).

read.py finds the real format and yields sheets as rows with absolute Excel row numbers;
header.py finds the header row and maps columns to canonical fields; normalise.py holds the
cell normalisers; rows.py turns a sheet into accepted/rejected/skipped rows; pipeline.py runs a
year's folder and writes the Parquet files and ingest_report.json.

`ingest` and `IngestResult` are loaded on first use, so importing `landaudit.ingest.normalise`
alone (`explain`, `--as-of`) does not import pyarrow, pydantic and python-calamine (issue 7).
"""

__all__ = ["IngestResult", "ingest"]


def __getattr__(name: str):
    if name in __all__:
        from landaudit.ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'landaudit.ingest' has no attribute {name!r}")
