"""Tracking rectification (清单化管理、销号式整改, SPEC §11).

Every ingest keeps a dated snapshot of the ledger statuses (data/processed/<year>/snapshots/) when
they changed; `track` compares the newest snapshot with the previous one whose statuses differ (or
the one `since` picks; the year's first snapshot with the previous year's last) and with the previous
year's last snapshot: new items, closed (销号) items, still open, overdue, reopened, removed, and the
fate of every item open at the previous year's end. Items are keyed by (category, item_id), never
by row position (SPEC §11 rev. 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa

from landaudit.config import Config
from landaudit.errors import UsageError
from landaudit.workspace import PROVENANCE, Workspace, write_parquet

SNAPSHOT_COLUMNS = ("category", "item_id", "name", "parcel_code", "credit_code", "severity", "found_date",
                    "deadline", "status", "status_state", "closed_date", "acceptance",
                    "source_file", "source_sheet", "source_row")
# Where a row was read: a department re-sending, renaming or re-sorting its file changes only these
# (SPEC §11 rev. 2), so they are left out when snapshots are compared.
SOURCE_COLUMNS = ("source_file", "source_sheet", "source_row")
CHANGES = ("新增", "销号", "仍未整改", "重新打开", "已从台账移除", "保持关闭")
FATES = ("销号", "仍未整改", "已从台账移除")      # of an item open at the previous year's end

_clock = datetime.now                             # the snapshot time stamp (tests set it)


def snapshot_folder(workspace: Workspace, year: int) -> Path:
    return workspace.processed_year(year) / "snapshots"


def _order(path: Path) -> tuple[str, int]:
    stamp, _, n = path.stem.removeprefix("ledger_").partition("_")
    return stamp, int(n) if n.isdigit() else 1


def list_snapshots(workspace: Workspace, year: int) -> list[Path]:
    """The year's snapshots, oldest first (ledger_<stamp>.parquet, then _2, _3 … of the same second)."""
    folder = snapshot_folder(workspace, year)
    return sorted(folder.glob("ledger_*.parquet"), key=_order) if folder.is_dir() else []


def _canonical(table: pa.Table) -> pa.Table:
    """A snapshot's content: without where each row was read, in (category, item_id) order (the
    other columns break ties, so equal content sorts equally whatever the row order)."""
    columns = [c for c in table.column_names if c not in SOURCE_COLUMNS]
    order = ["category", "item_id"] + [c for c in columns if c not in ("category", "item_id")]
    return table.select(columns).sort_by([(c, "ascending") for c in order])


def same_content(a: pa.Table, b: pa.Table) -> bool:
    # data_year and county_code (issue 15) describe the file, not the ledger: a snapshot written
    # before they existed has the same content
    a, b = (t.drop_columns([c for c in PROVENANCE if c in t.column_names]) for t in (a, b))
    if set(a.column_names) != set(b.column_names):
        return False                              # a snapshot written before a column existed
    a, b = _canonical(a), _canonical(b.select(a.column_names))
    if not a.schema.equals(b.schema):
        try:
            b = b.cast(a.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
    return a.equals(b)


def write_snapshot(workspace: Workspace, year: int, ledger: pa.Table, *, county_code: str | None = None,
                   now: datetime | None = None) -> Path | None:
    """Keep the ledger statuses of this ingest, unless their content equals the newest snapshot's
    apart from row order, file, sheet and row (SPEC §11 rev. 2: a re-sent, renamed or re-sorted
    file is no change). `county_code` defaults to the ledger's own column (a ledger.parquet read
    back), else the workspace's config."""
    import pyarrow.parquet as pq

    county_code = county_code or _county_code(workspace, ledger)

    table = ledger.select(list(SNAPSHOT_COLUMNS)).take(_sort_indices(ledger))     # in key order
    existing = list_snapshots(workspace, year)
    if existing and same_content(table, pq.read_table(existing[-1])):
        return None
    stamp = (now or _clock()).strftime("%Y%m%dT%H%M%S")
    path = snapshot_folder(workspace, year) / f"ledger_{stamp}.parquet"
    n = 1
    while path.exists():
        n += 1
        path = snapshot_folder(workspace, year) / f"ledger_{stamp}_{n}.parquet"
    return write_parquet(path, table, year=year, county_code=county_code)


def _county_code(workspace: Workspace, ledger: pa.Table) -> str:
    if "county_code" in ledger.column_names and ledger.num_rows and ledger.column("county_code")[0].is_valid:
        return ledger.column("county_code")[0].as_py()
    from landaudit.config import load_config

    return load_config(workspace.root).settings.county.code


def _sort_indices(ledger: pa.Table):
    import pyarrow.compute as pc

    columns = [c for c in SNAPSHOT_COLUMNS if c not in SOURCE_COLUMNS]
    return pc.sort_indices(ledger, sort_keys=[(c, "ascending") for c in (*columns, *SOURCE_COLUMNS)])


def _taken(path: Path) -> datetime:
    try:
        return datetime.strptime(_order(path)[0], "%Y%m%dT%H%M%S")
    except ValueError:                            # a file renamed by hand: when it was written
        return datetime.fromtimestamp(path.stat().st_mtime)


def _taken_at(path: Path | None) -> str | None:
    return _taken(path).isoformat(sep=" ") if path else None


@dataclass
class TrackResult:
    year: int
    as_of: date
    newest: str | None                 # when the newest snapshot was taken
    previous: str | None               # when the snapshot compared with was taken
    previous_year: int | None          # year − 1 when that year has snapshots
    counts: dict[str, int] = field(default_factory=dict)
    year_counts: dict[str, int] = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)
    previous_snapshot_year: int | None = None   # the year `previous` belongs to (year, or year − 1)
    since: date | None = None
    previous_year_as_of: date | None = None     # the date "open at the previous year's end" is judged at
    last_year_open: list[dict] = field(default_factory=list)   # each with its `fate` (FATES)

    def to_dict(self) -> dict:
        return {"year": self.year, "as_of": self.as_of.isoformat(), "newest": self.newest,
                "previous": self.previous, "previous_snapshot_year": self.previous_snapshot_year,
                "since": _plain(self.since), "previous_year": self.previous_year,
                "previous_year_as_of": _plain(self.previous_year_as_of),
                "counts": self.counts, "year_counts": self.year_counts,
                "items": [{k: _plain(v) for k, v in row.items()} for row in self.items],
                "last_year_open": [{k: _plain(v) for k, v in row.items()} for row in self.last_year_open]}


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


_STATE = ["category", "item_id", "status", "status_state", "found_date", "closed_date"]  # what comparing needs
# Snapshots written before statuses had a state (SPEC §3 rev. 2) hold the old canonical statuses.
_LEGACY_STATES = {"已整改": "closed", "已销号": "closed", "整改不合格": "failed"}


def _load(path: Path | None, columns: list[str] | None = None) -> dict[tuple, dict]:
    """A snapshot's rows by (category, item_id); only `columns` when given (the snapshots compared
    with: at 1M parcels three whole snapshots as dicts were ~0.5 GB more for export)."""
    if path is None:
        return {}
    import pyarrow.parquet as pq

    present = pq.read_schema(path).names
    # data_year and county_code describe the file (issue 15): last year's rows are not told apart by them
    wanted = [c for c in (columns if columns is not None else present) if c in present and c not in PROVENANCE]
    rows = pq.read_table(path, columns=wanted).to_pylist()
    for row in rows:
        if "status_state" not in row:
            row["status_state"] = _LEGACY_STATES.get(row.get("status"), None if row.get("status") is None else "open")
        if columns is None:
            for column in SNAPSHOT_COLUMNS:       # a legacy snapshot may lack a column
                row.setdefault(column, None)
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


def _statuses(rows: dict[tuple, dict], petition: str) -> dict[tuple, tuple]:
    """What "differ" means for choosing the previous snapshot: each tracked item's status."""
    return {key: (r["status"], r["status_state"], r.get("closed_date"))
            for key, r in rows.items() if r["category"] != petition}


def _since_snapshot(snapshots: list[Path], last_year: list[Path], since: date, year: int) -> Path:
    """The newest snapshot taken on or before `since` (end of day); the previous year's last when
    the year has none."""
    end = datetime.combine(since, time.max)
    taken = [p for p in snapshots if _taken(p) <= end]
    if taken:
        return taken[-1]
    if last_year:
        return last_year[-1]
    raise UsageError(f"{year} 年没有 {since.isoformat()} 当天或之前的台账快照，{year - 1} 年也没有快照："
                     f"请换一个日期，或不加 --since")


def _codes(row: dict) -> list[str]:
    text = row.get("parcel_code")
    return [c for c in text.split("、") if c] if text else []


def track(workspace: Workspace, *, year: int | None = None, as_of: date | None = None,
          since: date | None = None, config: Config | None = None) -> TrackResult:
    year = workspace.resolve_year(year)
    from landaudit.classify import default_as_of, recorded_as_of
    from landaudit.config import load_config

    # SPEC §11 rev. 2: 信访 items have no rectification status and are not tracked as hazards
    petition = (config or load_config(workspace.root)).settings.rules.petition_category
    # SPEC §2 (rev. 2): the date classify used, so track, report and the workbooks agree
    as_of = as_of or recorded_as_of(workspace, year) or default_as_of(year)
    snapshots = list_snapshots(workspace, year)
    if not snapshots:
        raise UsageError(f"{year} 年还没有台账快照：请先运行 landaudit ingest --year {year}")
    last_year = list_snapshots(workspace, year - 1)
    last_path = last_year[-1] if last_year else None
    # the previous year's end: its recorded as-of date, else 31 December
    last_as_of = (recorded_as_of(workspace, year - 1) or date(year - 1, 12, 31)) if last_path else None
    newest = snapshots[-1]
    now = {key: row for key, row in _load(newest).items() if row["category"] != petition}
    last = _load(last_path, _STATE)

    # SPEC §11 rev. 2: the previous snapshot is the newest whose statuses differ from the newest;
    # the year's first snapshot (or a year whose snapshots all agree) is compared with last year's last
    if since is not None:
        previous = _since_snapshot(snapshots, last_year, since, year)
    else:
        mine, previous = _statuses(now, petition), None
        for path in reversed(snapshots[:-1]):
            if _statuses(_load(path, _STATE), petition) != mine:
                previous = path
                break
        previous = previous or last_path
    from_last_year = previous is not None and previous not in snapshots
    before = last if from_last_year else _load(previous, _STATE)
    before_as_of = last_as_of if from_last_year else as_of

    counts = dict.fromkeys(("新增", "销号", "仍未整改", "重新打开", "逾期", "已从台账移除"), 0)
    year_counts = dict.fromkeys(("上年未整改", "上年未整改已销号", "上年未整改仍未整改", "上年未整改已从台账移除",
                                 "上年已销号重新打开", "本年新增"), 0)
    items = []
    for key, row in now.items():
        if not exists_at(row, as_of):
            continue
        is_closed = is_closed_at(row, as_of)
        old = before.get(key)
        if old is None or not exists_at(old, before_as_of) or old["category"] == petition:
            change = "新增"
        elif is_closed_at(old, before_as_of):
            change = "保持关闭" if is_closed else "重新打开"
        else:
            change = "销号" if is_closed else "仍未整改"
        if change in counts:
            counts[change] += 1
        overdue = not is_closed and row["deadline"] is not None and row["deadline"] < as_of
        counts["逾期"] += overdue
        last_row = last.get(key)
        if last_row is None or not exists_at(last_row, last_as_of):
            year_counts["本年新增"] += 1
        elif is_closed_at(last_row, last_as_of) and not is_closed:
            year_counts["上年已销号重新打开"] += 1      # SPEC §11 rev. 2: reopened against last year
        items.append({**row, "parcel_codes": _codes(row), "change": change, "overdue": overdue,
                      "closed": is_closed, "previous_status": old["status"] if old else None,
                      "last_year_status": last_row["status"] if last_row else None})

    # items no longer listed, each with its own row (parcel, category, …) from the snapshot it was in.
    # Against last year's snapshot only the items open at its end: a new year's ledger carries over
    # what is still open, and an item closed last year that it leaves out is no change (the demo's
    # departments do exactly this; listing them made 88 phantom removals in its 2023).
    removed = [key for key, old in before.items()
               if key not in now and old["category"] != petition and exists_at(old, before_as_of)
               and not (from_last_year and is_closed_at(old, before_as_of))]
    full = _load(previous) if removed else {}
    for key in removed:
        old = full[key]
        counts["已从台账移除"] += 1
        last_row = last.get(key)
        items.append({**old, "parcel_codes": _codes(old), "change": "已从台账移除", "overdue": False,
                      "closed": is_closed_at(old, before_as_of), "previous_status": old["status"],
                      "status": None, "last_year_status": last_row["status"] if last_row else None})
    items.sort(key=lambda r: (CHANGES.index(r["change"]), r["category"] or "", r["item_id"] or ""))

    # SPEC §11 rev. 2: every item open at the previous year's end, with its fate
    last_open = [key for key, r in last.items()
                 if r["category"] != petition and exists_at(r, last_as_of) and not is_closed_at(r, last_as_of)]
    gone = [key for key in last_open if key not in now]
    last_full = (full if from_last_year and full else _load(last_path)) if gone else {}
    last_year_open = []
    for key in last_open:
        row = now.get(key)
        if row is None:
            fate, is_closed, overdue, base = "已从台账移除", False, False, last_full[key]
        else:
            is_closed = is_closed_at(row, as_of)
            fate, base = ("销号" if is_closed else "仍未整改"), row
            overdue = not is_closed and row["deadline"] is not None and row["deadline"] < as_of
        year_counts["上年未整改"] += 1
        year_counts[{"销号": "上年未整改已销号", "仍未整改": "上年未整改仍未整改",
                     "已从台账移除": "上年未整改已从台账移除"}[fate]] += 1
        last_year_open.append({**base, "parcel_codes": _codes(base), "fate": fate, "overdue": overdue,
                               "closed": is_closed, "status": row["status"] if row else None,
                               "last_year_status": last[key]["status"]})
    last_year_open.sort(key=lambda r: (FATES.index(r["fate"]), r["category"] or "", r["item_id"] or ""))
    return TrackResult(year, as_of, _taken_at(newest), _taken_at(previous), year - 1 if last_year else None,
                       counts, year_counts, items, (year - 1 if from_last_year else year) if previous else None,
                       since, last_as_of, last_year_open)
