"""The synthetic department files: deterministic, complete, and messy in the documented ways."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from landaudit import demo
from landaudit.demo import write_demo

YEARS = (2022, 2023)
DEPARTMENT_FILES = [
    "信访局/信访件汇总_{y}.csv",
    "应急管理局/安全生产隐患排查台账_{y}.xlsx",
    "消防救援大队/消防隐患清单_{y}.xls",
    "生态环境分局/环保问题隐患台账_{y}.csv",
    "经信局/亩均效益_{y}.xlsx",
    "综合行政执法局/违法建设台账_{y}.xlsx",
    "自然资源和规划局/工业用地底数_{y}.xlsx",
]
CODE_19 = re.compile(r"330681\d{6}[GJZ][ABSXCDEFHWY]\d{5}")

# GB 32100-2015, written out independently of landaudit.demo
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_valid(code: str) -> bool:
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(code[:17], WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31] == code[17]


def normalise_code(value: object) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value or ""))).upper()
    return text[:19] if len(text) == 28 else text


def sheet_rows(path: Path) -> list[tuple]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def land_data_rows(rows: list[tuple]) -> list[tuple]:
    """Rows between the two-row header (rows 3–4) and the 合计 row."""
    end = next(i for i, row in enumerate(rows) if row[0] == "合计")
    return rows[4:end]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("raw")
    write_demo(root, parcels=2000, seed=20231, years=YEARS)
    return root


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a", parcels=300, seed=7)
    second = write_demo(tmp_path / "b", parcels=300, seed=7)
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a", parcels=300, seed=7, years=(2023,))
    second = write_demo(tmp_path / "b", parcels=300, seed=8, years=(2023,))
    assert first[0].read_bytes() != second[0].read_bytes()


def test_files_per_year(tmp_path: Path) -> None:
    written = write_demo(tmp_path, parcels=100)
    expected = sorted(
        [tmp_path / str(y) / f.format(y=y) for y in YEARS for f in DEPARTMENT_FILES]
        + [tmp_path / "2023" / "经信局" / "填报说明.txt"]
    )  # only in the newest year
    assert written == expected
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == expected


def test_every_file_says_it_is_synthetic(raw: Path) -> None:
    for path in raw.rglob("*"):
        if path.suffix == ".xlsx":
            text = "".join(str(c) for row in sheet_rows(path) for c in row if c)
        elif path.is_file():
            data = path.read_bytes()
            text = data.decode(
                "gbk" if b'charset="gbk"' in data or "环保" in path.name else "utf-8-sig"
            )
        else:
            continue
        assert "模拟数据" in text, path


def test_environment_csv_is_gbk_with_title_line(raw: Path) -> None:
    data = (raw / "2023" / "生态环境分局" / "环保问题隐患台账_2023.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    lines = list(csv.reader(io.StringIO(data.decode("gbk"))))
    assert "模拟数据" in lines[0][0] and len(lines[0]) == 1
    assert lines[1][:4] == ["隐患编号", "企业名称", "统一社会信用代码", "地块编码"]
    found = [row[6] for row in lines[2:]]
    assert any("年" in d for d in found) and any("/" in d for d in found)
    assert any(re.fullmatch(r"\d{8}", d) for d in found)


def test_fire_list_is_html_saved_as_xls(raw: Path) -> None:
    encodings = {}
    for year in YEARS:
        data = (raw / str(year) / "消防救援大队" / f"消防隐患清单_{year}.xls").read_bytes()
        assert data.startswith(b"<html")
        encodings[year] = re.search(rb'charset="([^"]+)"', data).group(1).decode()
        text = data.decode(encodings[year])
        assert "<table" in text and "colspan" in text and "<td>单位名称</td>" in text
    assert sorted(encodings.values()) == ["gbk", "utf-8"]
    with pytest.raises(UnicodeDecodeError):
        (raw / "2022" / "消防救援大队" / "消防隐患清单_2022.xls").read_bytes().decode("utf-8")


def test_petitions_csv_has_bom_and_hotspots(raw: Path) -> None:
    data = (raw / "2023" / "信访局" / "信访件汇总_2023.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["编号", "企业名称", "地块编码", "问题内容", "发现日期", "整改状态"]
    per_parcel = Counter(row[2] for row in rows[1:-1] if row[2])
    assert sum(1 for n in per_parcel.values() if n >= 3) >= 2  # 信访问题多发
    assert rows[-1][0].startswith("注：")


def test_land_workbook_layout(raw: Path) -> None:
    workbook = openpyxl.load_workbook(raw / "2023" / "自然资源和规划局" / "工业用地底数_2023.xlsx")
    sheet = workbook.active
    assert "工业用地底数" in sheet["A1"].value and "模拟数据" in sheet["A1"].value
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:R1", "A3:A4", "B3:B4", "H3:J3", "K3:N3", "O3:O4", "R3:R4"} <= merged
    assert sheet["H3"].value == "用地情况" and sheet["K3"].value == "建筑情况"
    assert [sheet.cell(4, c).value for c in range(8, 15)] == [
        "用地面积（亩）",
        "土地权属",
        "土地用途",
        "建筑面积（平方米）",
        "容积率",
        "建成年份",
        "建筑质量",
    ]
    first_cells = [sheet.cell(r, 1).value for r in range(sheet.max_row - 2, sheet.max_row + 1)]
    assert first_cells[0] == "合计"
    assert first_cells[1].startswith("填表人")
    assert first_cells[2].startswith("注：")
    total = sheet.cell(sheet.max_row - 2, 8).value
    assert isinstance(total, str) and total.startswith("=SUM(H5:")


def test_land_traps(raw: Path) -> None:
    data = land_data_rows(sheet_rows(raw / "2023" / "自然资源和规划局" / "工业用地底数_2023.xlsx"))
    blank = [row for row in data if all(c is None for c in row)]
    filled = [row for row in data if any(c is not None for c in row)]
    assert len(blank) == 1 and data.index(blank[0]) not in (0, len(data) - 1)
    assert sum(1 for row in filled if row[1] is None) == 1
    assert sum(1 for row in filled if row[7] == "待核实") == 1
    assert sum(1 for row in filled if isinstance(row[7], (int, float)) and row[7] <= 0) == 1
    counts = Counter(filled)
    assert [n for n in counts.values() if n > 1] == [2]  # one exact duplicate, 序号 included
    by_code: dict[str, set[tuple]] = {}
    for row in filled:
        if row[1]:
            by_code.setdefault(normalise_code(row[1]), set()).add(row[2:])
    assert sum(1 for rows in by_code.values() if len(rows) > 1) == 1  # conflicting duplicate
    assert len(filled) == 2000 + 5


def test_land_code_variants(raw: Path) -> None:
    data = land_data_rows(sheet_rows(raw / "2022" / "自然资源和规划局" / "工业用地底数_2022.xlsx"))
    codes = [row[1] for row in data if row and row[1]]
    normalised = [normalise_code(c) for c in codes]
    assert sum(1 for c in normalised if CODE_19.fullmatch(c)) == len(codes)
    assert any(len(c) == 28 for c in codes)
    assert any(" " in c for c in codes)
    assert any("３" in c for c in codes)
    assert any(c != c.upper() for c in codes)
    collective = [row for row in data if row[1] and normalise_code(row[1])[12] == "J"]
    assert 0.1 < len(collective) / len(codes) < 0.3


def test_credit_codes_mostly_pass_the_check(raw: Path) -> None:
    rows = sheet_rows(raw / "2023" / "经信局" / "亩均效益_2023.xlsx")
    assert rows[1][:3] == ("序号", "统一社会信用代码", "企业名称")
    codes = [str(row[1]).replace(" ", "") for row in rows[2:] if isinstance(row[0], int) and row[1]]
    valid = sum(credit_code_valid(c) for c in codes)
    assert all(c.startswith("91330681") for c in codes)
    assert 0.97 <= valid / len(codes) < 1.0  # about 1 % carry a wrong check digit
    assert any(" " in str(row[1]) for row in rows[2:] if row[1])


def test_enterprises_link_to_land_parcels(raw: Path) -> None:
    land = land_data_rows(sheet_rows(raw / "2023" / "自然资源和规划局" / "工业用地底数_2023.xlsx"))
    land_codes = {normalise_code(row[1]) for row in land if row[1]}
    rows = [
        row
        for row in sheet_rows(raw / "2023" / "经信局" / "亩均效益_2023.xlsx")[2:]
        if isinstance(row[0], int)
    ]
    cells = [row[3] for row in rows]
    codes = [c for cell in cells if cell for c in re.split(r"[、；]", cell)]
    assert set(codes) <= land_codes
    assert 0.01 < sum(1 for cell in cells if not cell) / len(rows) < 0.06
    assert any("、" in cell or "；" in cell for cell in cells if cell)
    assert rows[-1][0] == len(rows)


def test_tax_per_mu_is_long_tailed(raw: Path) -> None:
    land = land_data_rows(sheet_rows(raw / "2023" / "自然资源和规划局" / "工业用地底数_2023.xlsx"))
    area: dict[str, float] = {}
    for row in land:
        if row[1] and re.fullmatch(r"\d+(\.\d+)?", str(row[7])):  # numbers, also stored as text
            area.setdefault(normalise_code(row[1]), float(row[7]))
    tax = dict.fromkeys(area, 0.0)
    for row in sheet_rows(raw / "2023" / "经信局" / "亩均效益_2023.xlsx")[2:]:
        if isinstance(row[0], int) and row[3] and isinstance(row[6], (int, float)):
            parcels = re.split(r"[、；]", row[3])
            total = sum(area[c] for c in parcels)
            for code in parcels:
                tax[code] += row[6] * area[code] / total
    low = sum(1 for code in area if round(tax[code] / area[code], 2) < 5)
    assert 0.22 < low / len(area) < 0.38
    assert any(a == 15.0 and abs(tax[c] - 75.0) < 1e-9 for c, a in area.items())  # SPEC §6 edge


def test_ledgers_carry_over_and_close(raw: Path) -> None:
    rows = sheet_rows(raw / "2023" / "应急管理局" / "安全生产隐患排查台账_2023.xlsx")
    assert rows[1] == (None,) * len(rows[1])  # blank row between title and header
    header = rows[2]
    assert header[1:3] == ("问题编号", "被检查单位")
    items = [row for row in rows[3:] if isinstance(row[0], int)]
    carried = [row for row in items if not row[1].startswith("AJ-2023-")]
    assert carried and any(row[9] == "已销号" for row in carried)
    assert any(row[6] == "重大事故隐患" for row in items) or any(row[6] == "重大" for row in items)
    assert any(isinstance(row[7], str) for row in items)  # a few dates typed as text
    assert sum(1 for row in items if not isinstance(row[7], str)) > len(items) * 0.9


def test_violations_have_both_categories(raw: Path) -> None:
    rows = sheet_rows(raw / "2023" / "综合行政执法局" / "违法建设台账_2023.xlsx")
    assert rows[1][4] == "问题类别"
    assert {row[4] for row in rows[2:]} == {"违法建设", "乱搭乱建"}


def test_fifty_parcels(tmp_path: Path) -> None:
    written = write_demo(tmp_path, parcels=50)
    assert len(written) == 15
    data = land_data_rows(
        sheet_rows(tmp_path / "2023" / "自然资源和规划局" / "工业用地底数_2023.xlsx")
    )
    assert len(data) == 50 + 6


def test_one_parcel(tmp_path: Path) -> None:
    assert len(write_demo(tmp_path, parcels=1, years=(2023,))) == 8


@pytest.mark.parametrize("parcels", [0, -5, 2.5, True])
def test_bad_parcel_count_raises(tmp_path: Path, parcels: object) -> None:
    with pytest.raises(ValueError):
        write_demo(tmp_path, parcels=parcels)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("years", [(), (2023, 2023), (1999,)])
def test_bad_years_raise(tmp_path: Path, years: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        write_demo(tmp_path, parcels=10, years=years)


def test_csv_instead_of_xlsx_above_the_row_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "XLSX_MAX_ROWS", 100)
    written = write_demo(tmp_path, parcels=120, years=(2023,))
    names = {p.name for p in written}
    assert {"工业用地底数_2023.csv", "亩均效益_2023.csv"} <= names
    assert "安全生产隐患排查台账_2023.xlsx" in names  # small ledgers stay workbooks
    text = (tmp_path / "2023" / "自然资源和规划局" / "工业用地底数_2023.csv").read_text("utf-8")
    lines = list(csv.reader(io.StringIO(text)))
    assert "模拟数据" in lines[0][0]
    assert lines[2][:2] == ["序号", "地块编码"] and "用地面积（亩）" in lines[2]
    assert lines[-3][0] == "合计" and lines[-2][0].startswith("填表人")
