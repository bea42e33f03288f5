"""Tracking rectification (清单化管理、销号式整改, SPEC §11).

Every ingest keeps a dated snapshot of the ledger statuses (data/processed/<year>/snapshots/);
`track` compares the newest snapshot with the one before it and with the previous year's last
snapshot: new items, closed (销号) items, still open, overdue, reopened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from landaudit.errors import UsageError
from landaudit.workspace import Workspace, write_parquet

SNAPSHOT_COLUMNS = ("category", "item_id", "name", "parcel_code", "credit_code", "severity", "found_date",
                    "deadline", "status", "status_state", "closed_date", "acceptance",
                    "source_file", "source_sheet", "source_row")
CHANGES = ("新增", "销号", "仍未整改", "重新打开", "已从台账移除", "保持关闭")


def snapshot_folder(workspace: Workspace, year: int) -> Path:
    return workspace.processed_year(year) / "snapshots"


def list_snapshots(workspace: Workspace, year: int) -> list[Path]:
    folder = snapshot_folder(workspace, year)
    return sorted(folder.glob("ledger_*.parquet")) if folder.is_dir() else []


def write_snapshot(workspace: Workspace, year: int, ledger: pa.Table, *, now: datetime | None = None) -> Path | None:
    """Keep the ledger statuses of this ingest, unless they equal the newest snapshot's."""
    import pyarrow.parquet as pq

    table = ledger.select(list(SNAPSHOT_COLUMNS))
    existing = list_snapshots(workspace, year)
    if existing and pq.read_table(existing[-1]).equals(table):
        return None
    stamp = (now or datetime.now()).strftime("%Y%m%dT%H%M%S")
    path = snapshot_folder(workspace, year) / f"ledger_{stamp}.parquet"
    n = 1
    while path.exists():
        n += 1
        path = snapshot_folder(workspace, year) / f"ledger_{stamp}_{n}.parquet"
    return write_parquet(path, table)


def _taken_at(path: Path) -> str:
    stamp = path.stem.removeprefix("ledger_")[:15]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S").isoformat(sep=" ")
    except ValueError:
        return stamp


@dataclass
class TrackResult:
    year: int
    as_of: date
    newest: str | None                 # when the newest snapshot was taken
    previous: str | None
    previous_year: int | None
    counts: dict[str, int] = field(default_factory=dict)
    year_counts: dict[str, int] = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"year": self.year, "as_of": self.as_of.isoformat(), "newest": self.newest,
                "previous": self.previous, "previous_year": self.previous_year,
                "counts": self.counts, "year_counts": self.year_counts}


_STATE = ["category", "item_id", "status", "status_state", "found_date", "closed_date"]  # what comparing needs
# Snapshots written before statuses had a state (SPEC §3 rev. 2) hold the old canonical statuses.
_LEGACY_STATES = {"已整改": "closed", "已销号": "closed", "整改不合格": "failed"}


def _load(path: Path | None, columns: list[str] | None = None) -> dict[tuple, dict]:
    """A snapshot's rows by (category, item_id); only `columns` when given (the snapshots compared
    with: at 1M parcels three whole snapshots as dicts were ~0.5 GB more for export)."""
    if path is None:
        return {}
    import pyarrow.parquet as pq

    if columns is not None:
        present = set(pq.read_schema(path).names)
        columns = [c for c in columns if c in present]
    rows = pq.read_table(path, columns=columns).to_pylist()
    for row in rows:
        if "status_state" not in row:
            row["status_state"] = _LEGACY_STATES.get(row.get("status"), None if row.get("status") is None else "open")
    return {(r["category"], r["item_id"]): r for r in rows}


def exists_at(row: dict, as_of: date) -> bool:
    """SPEC §6 (rev. 2): an item found after the as-of date does not exist yet for it; an item of
    category 未定 is counted nowhere until corrected. The same rule as sql/06_ledger_items.sql."""
    found = row.get("found_date")
    return (found is None or found <= as_of) and row.get("category") != "未定"


def is_closed_at(row: dict, as_of: date) -> bool:
    """Closed at the as-of date: a closed status whose 销号日期, if given, is on or before it
    (sql/06_ledger_items.sql)."""
    closed_date = row.get("closed_date")
    return row.get("status_state") == "closed" and (closed_date is None or closed_date <= as_of)


def track(workspace: Workspace, *, year: int | None = None, as_of: date | None = None) -> TrackResult:
    year = workspace.resolve_year(year)
    from landaudit.classify import default_as_of, recorded_as_of

    # SPEC §2 (rev. 2): the date classify used, so track, report and the workbooks agree
    as_of = as_of or recorded_as_of(workspace, year) or default_as_of(year)
    snapshots = list_snapshots(workspace, year)
    if not snapshots:
        raise UsageError(f"{year} 年还没有台账快照：请先运行 landaudit ingest --year {year}")
    newest, previous = snapshots[-1], (snapshots[-2] if len(snapshots) > 1 else None)
    last_year = list_snapshots(workspace, year - 1)
    now, before, last = _load(newest), _load(previous, _STATE), _load(last_year[-1] if last_year else None, _STATE)

    counts = dict.fromkeys(("新增", "销号", "仍未整改", "重新打开", "逾期", "已从台账移除"), 0)
    year_counts = dict.fromkeys(("上年未整改", "上年未整改已销号", "上年未整改仍未整改", "本年新增"), 0)
    items = []
    for key, row in now.items():
        if not exists_at(row, as_of):
            continue
        is_closed = is_closed_at(row, as_of)
        old = before.get(key)
        if previous is None or old is None:
            change = "新增"
        elif is_closed_at(old, as_of):
            change = "保持关闭" if is_closed else "重新打开"
        else:
            change = "销号" if is_closed else "仍未整改"
        if change in counts:
            counts[change] += 1
        overdue = not is_closed and row["deadline"] is not None and row["deadline"] < as_of
        counts["逾期"] += overdue
        last_row = last.get(key)
        if last_row is None:
            year_counts["本年新增"] += 1
        elif not is_closed_at(last_row, as_of):
            year_counts["上年未整改"] += 1
            year_counts["上年未整改已销号" if is_closed else "上年未整改仍未整改"] += 1
        items.append({**row, "change": change, "overdue": overdue, "closed": is_closed,
                      "previous_status": old["status"] if old else None,
                      "last_year_status": last_row["status"] if last_row else None})
    removed = [key for key in before if key not in now]
    full = _load(previous) if removed else {}             # the whole rows of items no longer listed
    for key in removed:
        old = full[key]
        counts["已从台账移除"] += 1
        items.append({**old, "change": "已从台账移除", "overdue": False, "closed": is_closed_at(old, as_of),
                      "previous_status": old["status"], "status": None, "last_year_status": None})
    items.sort(key=lambda r: (CHANGES.index(r["change"]), r["category"] or "", r["item_id"] or ""))
    return TrackResult(year, as_of, _taken_at(newest), _taken_at(previous) if previous else None,
                       year - 1 if last_year else None, counts, year_counts, items)
