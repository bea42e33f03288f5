"""A consistency checker for the workbooks of one export (issue 12, SPEC §9 rev. 2), written
independently of the export code: its filters are its own, from SPEC, not export/lists.py's.

    problems = check_exports(workspace, year)     # [] when everything agrees

- every list holds exactly the Parquet rows for its filter (parcel lists by 地块编码, ledger lists by
  问题编号), within the workbook's townships;
- 汇总 agrees with the lists (per-township and total counts, batches, ratings, list row counts);
- each 镇街 workbook is the scope workbook filtered to that township (row for row), and the parcel
  counts of the townships add up to the scope's; 资源要素差别化配置 is computed per township;
- every 退回 row points to a real file, sheet and row whose cell in the named column holds the
  quoted 原值, and carries the row's key.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq

PARCEL_LISTS = {
    "工业用地底数清单": lambda p: True,
    "亩均低效治理清单": lambda p: p["low_efficiency"],
    "低散乱污企业用地清单": lambda p: p["scattered_polluting"],
    "集体工业用地治理清单": lambda p: p["collective_problem"],
    "四个一批治理方案": lambda p: p["batch"] is not None,
    "亩均效益评价": lambda p: p["rating"] is not None,
}
ITEM_LISTS = {"环保治理清单": "环保", "安全生产治理清单": "安全生产", "消防安全治理清单": "消防", "违法建设治理清单": "违法建设"}
BATCHES = ("整治提升", "拆除重建", "功能转型", "关停退出")


def read_sheet(ws) -> tuple[list[str], list[dict]]:
    """A list sheet as (headers, rows): the header row is the one whose first cell is 序号."""
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "序号")
    headers = [h for h in rows[at] if h is not None]
    body = [dict(zip(headers, r, strict=False)) for r in rows[at + 1:] if r and r[0] is not None]
    return headers, body


def list_sheets(book) -> dict[str, list[dict]]:
    """Every list's rows, parts of a split list (name_1, name_2 …) joined."""
    lists: dict[str, list[dict]] = {}
    for ws in book.worksheets:
        if ws.title == "汇总":
            continue
        base = ws.title
        for name in (*PARCEL_LISTS, *ITEM_LISTS, "资源要素差别化配置", "待核实", "整改销号进度"):
            if ws.title == name or ws.title.startswith(name + "_"):
                base = name
        lists.setdefault(base, []).extend(read_sheet(ws)[1])
    return lists


def summary_townships(book) -> dict[str, dict]:
    """汇总 section 二 as {township: {header: value}} (合计 included)."""
    rows = list(book["汇总"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "镇乡（街道）")
    headers = rows[at]
    out = {}
    for r in rows[at + 1:]:
        if not r or r[0] is None or str(r[0]).startswith(("三、", "四、", "五、")):
            break
        out[r[0]] = dict(zip(headers, r, strict=False))
    return out


def summary_list_counts(book) -> dict[str, int]:
    rows = list(book["汇总"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r and r[0] == "清单" and r[1] == "行数")
    out = {}
    for r in rows[at + 1:]:
        if not r or r[0] is None or not isinstance(r[1], int | float):
            break
        out[r[0]] = int(r[1])
    return out


def _towns_of_cell(text) -> set[str]:
    return set(str(text).split("、")) if text else set()


def check_workbook(path: Path, parcels: list[dict], items: list[dict], towns: set[str]) -> list[str]:
    """One governance workbook against the Parquet rows of its townships."""
    problems = []
    book = openpyxl.load_workbook(path, read_only=True)
    lists = list_sheets(book)
    mine = [p for p in parcels if p["township"] in towns]
    for sheet, keep in PARCEL_LISTS.items():
        expected = sorted(p["parcel_code"] for p in mine if keep(p))
        got = sorted(r["地块编码"] for r in lists.get(sheet, []))
        if expected != got:
            problems.append(f"{path.name}/{sheet}: {len(got)} rows, Parquet has {len(expected)}; "
                            f"missing {sorted(set(expected) - set(got))[:3]} extra {sorted(set(got) - set(expected))[:3]}")
    for sheet, category in ITEM_LISTS.items():
        expected = sorted(i["item_id"] for i in items if i["category"] == category and i["townships"] & towns)
        got_rows = lists.get(sheet, [])
        got = sorted(r["问题编号"] for r in got_rows)
        if expected != got:
            problems.append(f"{path.name}/{sheet}: items {got[:5]}… ≠ Parquet {expected[:5]}… ({len(got)} vs {len(expected)})")
        by_id = {i["item_id"]: i for i in items if i["category"] == category}
        for r in got_rows:
            item = by_id.get(r["问题编号"])
            if item and _towns_of_cell(r["镇乡（街道）"]) != item["townships"]:
                problems.append(f"{path.name}/{sheet}: {r['问题编号']} shows 镇乡 {r['镇乡（街道）']}, "
                                f"its parcels are in {sorted(item['townships'])}")
    # 汇总 = the lists
    table = summary_townships(book)
    shown = {t for t in table if t != "合计"}
    if shown != {p["township"] for p in mine}:
        problems.append(f"{path.name}/汇总: townships {sorted(shown)} ≠ the workbook's {sorted({p['township'] for p in mine})}")
    columns = {"地块数": "工业用地底数清单", "亩均低效（宗）": "亩均低效治理清单", "低散乱污（宗）": "低散乱污企业用地清单",
               "集体工业用地（宗）": "集体工业用地治理清单"}
    for town, line in table.items():
        for header, sheet in columns.items():
            rows = [r for r in lists.get(sheet, []) if town == "合计" or r["镇乡（街道）"] == town]
            if line.get(header) != len(rows):
                problems.append(f"{path.name}/汇总 {town} {header} = {line.get(header)}, {sheet} has {len(rows)}")
        for batch in BATCHES:
            rows = [r for r in lists.get("四个一批治理方案", [])
                    if (town == "合计" or r["镇乡（街道）"] == town) and r["四个一批"] == batch]
            if line.get(f"{batch}（宗）") != len(rows):
                problems.append(f"{path.name}/汇总 {town} {batch} = {line.get(f'{batch}（宗）')}, list has {len(rows)}")
    for name, n in summary_list_counts(book).items():
        if n != len(lists.get(name, [])):
            problems.append(f"{path.name}/汇总 says {name} has {n} rows, the sheet has {len(lists.get(name, []))}")
    # 资源要素差别化配置 over these townships only
    for r in lists.get("资源要素差别化配置", []):
        n = sum(1 for p in mine if p["rating"] == r["评价等级"])
        if r["地块数"] != n:
            problems.append(f"{path.name}/资源要素差别化配置 {r['评价等级']}: {r['地块数']} parcels, the townships have {n}")
    problems += _check_progress(path, lists.get("整改销号进度"), parcels, items, towns)
    book.close()
    return problems


def _check_progress(path: Path, rows: list[dict] | None, parcels: list[dict], items: list[dict],
                    towns: set[str]) -> list[str]:
    """整改销号进度: 是否逾期 is 是 or 否; no 信访; an item still in the ledger shows its own linked
    parcel codes and townships (by category and 问题编号, never by row); every row is of the
    workbook's townships."""
    if rows is None:
        return []
    problems = []
    town_of = {p["parcel_code"]: p["township"] for p in parcels}
    by_key = {(i["category"], i["item_id"]): i for i in items}
    for r in rows:
        where = f"{path.name}/整改销号进度 {r['问题编号']}"
        if r["是否逾期"] not in ("是", "否"):
            problems.append(f"{where}: 是否逾期 = {r['是否逾期']!r}")
        if r["类别"] == "信访":
            problems.append(f"{where}: a 信访 item is tracked")
        shown = _towns_of_cell(r["镇乡（街道）"])
        if not shown & towns:
            problems.append(f"{where}: 镇乡 {r['镇乡（街道）']} is not of this workbook")
        item = by_key.get((r["类别"], r["问题编号"]))
        if item is not None and item["parcel_codes_linked"]:
            if r["地块编码"] != "、".join(item["parcel_codes_linked"]):
                problems.append(f"{where}: 地块编码 {r['地块编码']!r} ≠ linked {item['parcel_codes_linked']}")
            if shown != item["townships"]:
                problems.append(f"{where}: 镇乡 {sorted(shown)} ≠ its parcels' {sorted(item['townships'])}")
        elif r["地块编码"]:
            codes = set(str(r["地块编码"]).split("、"))
            if shown != {town_of[c] for c in codes if c in town_of}:
                problems.append(f"{where}: 镇乡 {sorted(shown)} is not its own parcels' ({sorted(codes)})")
    return problems


def check_townships(scope_book: Path, township_books: list[Path]) -> list[str]:
    """Each township workbook = the scope workbook's rows of that township; parcel counts add up."""
    problems = []
    scope_lists = list_sheets(openpyxl.load_workbook(scope_book, read_only=True))
    totals: dict[str, int] = {}
    for path in township_books:
        town_lists = list_sheets(openpyxl.load_workbook(path, read_only=True))
        names = {r["镇乡（街道）"] for r in town_lists.get("工业用地底数清单", [])}
        if len(names) > 1:
            problems.append(f"{path.name}: parcels of several townships {sorted(names)}")
        town = next(iter(names), None)
        if town is None:
            continue
        for sheet in (*PARCEL_LISTS, *ITEM_LISTS):
            strip = lambda rows: sorted(tuple((k, v) for k, v in r.items() if k != "序号") for r in rows)  # noqa: E731
            expected = strip(r for r in scope_lists.get(sheet, []) if town in _towns_of_cell(r["镇乡（街道）"]))
            got = strip(town_lists.get(sheet, []))
            if expected != got:
                problems.append(f"{path.name}/{sheet}: {len(got)} rows ≠ the scope workbook's {len(expected)} for {town}")
            if sheet in PARCEL_LISTS:
                totals[sheet] = totals.get(sheet, 0) + len(got)
    for sheet, total in totals.items():
        if township_books and total != len(scope_lists.get(sheet, [])):
            problems.append(f"{sheet}: the township workbooks hold {total} rows, the scope workbook {len(scope_lists.get(sheet, []))}")
    return problems


def _raw_rows(path: Path, sheet: str | None) -> list[list]:
    if path.suffix.lower() in (".csv", ".txt"):
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        return [row for row in csv.reader(text.splitlines())]
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_name(sheet or book.sheet_names[0]).to_python(skip_empty_area=False)


def _same(cell, value: str) -> bool:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return str(cell).strip() == str(value).strip()


def check_sendback(root: Path, folder: Path) -> list[str]:
    """Every 退回 row with a row number and a column points to a cell holding its 原值, and names
    the row's key; the files of one department are in one workbook."""
    problems, raw_cache = [], {}
    for path in sorted(folder.glob("*.xlsx")):
        book = openpyxl.load_workbook(path)           # not read-only: quote-prefix styles are checked
        ws = book.worksheets[0]
        for r in ws.iter_rows():
            if r[0].value == "序号":
                headers = [c.value for c in r]
                continue
            if r[0].row < 3 or r[0].value is None or not isinstance(r[0].value, int):
                continue
            row = dict(zip(headers, (c.value for c in r), strict=False))
            cells = dict(zip(headers, r, strict=False))
            if isinstance(row["原值"], str) and row["原值"].startswith("'"):
                problems.append(f"{path.name} row {r[0].row}: 原值 {row['原值']!r} has an added apostrophe")
            if isinstance(row["原值"], str) and row["原值"][:1] in "=+-@" and not cells["原值"].quotePrefix:
                problems.append(f"{path.name} row {r[0].row}: 原值 {row['原值']!r} without the quote-prefix format")
            if row["行号"] is None or row["列"] is None or row["原值"] is None:
                continue
            source = root / row["来源文件"]
            if not source.is_file():
                problems.append(f"{path.name}: {row['来源文件']} does not exist")
                continue
            key = (source, row["工作表"])
            if key not in raw_cache:
                raw_cache[key] = _raw_rows(source, row["工作表"])
            grid = raw_cache[key]
            if row["行号"] > len(grid):
                problems.append(f"{path.name}: {row['来源文件']} has no row {row['行号']}")
                continue
            line = grid[row["行号"] - 1]
            # a two-row header is named 上级/下级: the column is the one under its last part
            wanted = str(row["列"]).split("/")[-1]
            header_cols = [c for hr in grid[:row["行号"] - 1] for c, h in enumerate(hr) if _same(h, wanted)]
            if not any(c < len(line) and _same(line[c], row["原值"]) for c in header_cols):
                problems.append(f"{path.name}: {row['来源文件']} row {row['行号']} column {row['列']} "
                                f"does not hold {row['原值']!r}")
            if row.get("地块编码/企业名称/隐患编号") is None:
                problems.append(f"{path.name}: row {r[0].row} has no key")
            elif not any(_same(c, row["地块编码/企业名称/隐患编号"]) for c in line):
                problems.append(f"{path.name}: key {row['地块编码/企业名称/隐患编号']!r} is not in its source row")
    return problems


def _scope_towns(root: Path, year: int, every: set[str]) -> set[str]:
    """The townships of the scope the year was classified for (classify.json, configs)."""
    import json

    from landaudit.config import load_config

    scope = json.loads((root / "data" / "processed" / str(year) / "classify.json").read_text("utf-8"))["scope"]
    scopes = load_config(root).settings.scopes
    if scope in scopes:
        return set(scopes[scope]) if scopes[scope] else every
    return {scope}


def check_exports(root: Path, year: int, *, scope_book: str | None = None) -> list[str]:
    """Everything above for data/exports/<year>/ of the workspace at `root`."""
    processed = root / "data" / "processed" / str(year)
    parcels = pq.read_table(processed / "parcels.parquet").to_pylist()
    town_of = {p["parcel_code"]: p["township"] for p in parcels}
    items = []
    for i in pq.read_table(processed / "ledger_items.parquet").to_pylist():
        if i.get("counted") is False:
            continue
        items.append({**i, "townships": {town_of[c] for c in i["parcel_codes_linked"] or [] if c in town_of}})
    exports = root / "data" / "exports" / str(year)
    books = [exports / scope_book] if scope_book else sorted(exports.glob("治理清单_*.xlsx"))
    problems = []
    towns_all = {p["township"] for p in parcels}
    for book in books:
        problems += check_workbook(book, parcels, items, _scope_towns(root, year, towns_all))
    township_books = sorted((exports / "镇街").glob("*.xlsx"))
    for path in township_books:
        town_rows = list_sheets(openpyxl.load_workbook(path, read_only=True)).get("工业用地底数清单", [])
        towns = {r["镇乡（街道）"] for r in town_rows}
        problems += check_workbook(path, parcels, items, towns)
    if books and township_books:
        problems += check_townships(books[0], township_books)
    if (exports / "退回").is_dir():
        problems += check_sendback(root, exports / "退回")
    return problems
