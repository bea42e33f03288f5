"""Ingest: department spreadsheets → validated Parquet, nothing lost (SPEC §3–§4, §14).

read.py finds the real format and yields sheets as rows with absolute Excel row numbers;
header.py finds the header row and maps columns to canonical fields; normalise.py holds the
cell normalisers; rows.py turns a sheet into accepted/rejected/skipped rows; pipeline.py runs a
year's folder and writes the Parquet files and ingest_report.json.
"""

from landaudit.ingest.pipeline import IngestResult, ingest

__all__ = ["IngestResult", "ingest"]
