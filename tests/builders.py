"""Builders for given/expect tests: tiny rows written as the Parquet ingest writes, then classify."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from landaudit.classify import classify
from landaudit.config import load_config
from landaudit.findings import findings_table
from landaudit.ingest.normalise import name_key
from landaudit.ingest.pipeline import dataset_schema
from landaudit.workspace import Workspace

AS_OF = date(2023, 12, 31)
CODE = "330681001002GB{:05d}"      # state-owned parcels
JCODE = "330681001002JB{:05d}"     # collective (特征码 J)


def land(n: int, area: float = 10.0, code: str | None = None, **extra) -> dict:
    row = {"parcel_code": code or CODE.format(n), "township": "陶朱街道", "area_mu": area,
           "area_m2": area * 10000 / 15, "ownership": "国有", "conforms_to_plan": True,
           "right_holder": f"企业{n}", "right_holder_key": f"企业{n}"}
    row.update(extra)
    return row


def ent(name: str, codes: list[str] | None, tax: float | None, **extra) -> dict:
    row = {"name": name, "name_key": name_key(name), "parcel_codes": codes, "tax": tax,
           "above_scale": False}
    row.update(extra)
    return row


# The state ingest gives a status text (SPEC §3 rev. 2); a test may pass status_state itself.
STATUS_STATES = {"已整改": "closed", "已销号": "closed", "整改完成": "closed", "整改不合格": "failed",
                 "未整改": "open", "整改中": "open", "未销号": "open"}


def item(item_id: str, category: str, severity: str | None, status: str | None, **extra) -> dict:
    row = {"item_id": item_id, "category": category, "severity": severity, "status": status,
           "status_state": STATUS_STATES.get(status, "open") if status is not None else None}
    row.update(extra)
    return row


def _schema(name: str, spec) -> pa.Schema:
    schema = dataset_schema(name, spec)
    if name == "ledger":                                 # the columns ingest derives for ledger rows
        for column, kind in (("status_state", pa.string()), ("parcel_codes", pa.list_(pa.string())),
                             ("parcel_code", pa.string())):
            if column not in schema.names:
                schema = schema.append(pa.field(column, kind))
    return schema


def given(tmp_path, land_rows, enterprise_rows=(), ledger_rows=(), year: int = 2023, **kwargs):
    """Write the three inputs as ingest would and classify; return parcels by code and the result."""
    (tmp_path / "data" / "raw" / str(year)).mkdir(parents=True, exist_ok=True)
    ws = Workspace.at(tmp_path)
    specs = load_config(None).dataset_specs
    for name, rows in (("land", land_rows), ("enterprise", enterprise_rows), ("ledger", ledger_rows)):
        schema = _schema(name, specs[name])
        full = [{**{c: None for c in schema.names}, "source_file": f"{name}.xlsx", "source_sheet": "S",
                 "source_row": i + 2, **row} for i, row in enumerate(rows)]
        for row in full:
            if name == "ledger" and row["parcel_codes"] is None and row["parcel_code"]:
                row["parcel_codes"] = row["parcel_code"].split("、")   # as ingest splits the 地块编码 cell
        folder = ws.processed_year(year)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(full, schema=schema), folder / f"{name}.parquet")
    findings = kwargs.pop("findings", [])
    pq.write_table(findings_table([f for f in findings if f.level in ("reject", "error")]), folder / "rejects.parquet")
    pq.write_table(findings_table([f for f in findings if f.level not in ("reject", "error")]), folder / "quality.parquet")
    result = classify(ws, year=year, as_of=kwargs.pop("as_of", AS_OF), **kwargs)
    parcels = {p["parcel_code"]: p for p in result.tables["parcels"].to_pylist()}
    return parcels, result
