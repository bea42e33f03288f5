"""Property-based tests (hypothesis) of the promises that must hold for any input (SPEC §2, §4, §14):

- any sheet (header anywhere in the first 20 rows, title rows, blank/合计/notes rows, random cell
  types and Unicode), written as xlsx and as CSV (UTF-8, and GBK where encodable): ingest never
  raises and every row is accounted for;
- the cell normalisers of landaudit.ingest.normalise are idempotent;
- the parcel-code and credit-code validators agree with their specification (GB/T 37346 layout,
  GB 32100-2015 check character — implemented here independently) on valid and mutated codes;
- safe_text never yields text a spreadsheet would run, nor characters XML forbids.

Bounded so the file runs in about 20 s on a shared 2-core machine: examples are derandomised (the
same inputs every run, no flaky CI). For a longer random exploration:

    LANDAUDIT_FUZZ_SCALE=20 .venv/bin/python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landaudit.export.cells import MAX_CELL_CHARS, WORKBOOK_OPTIONS, safe_text, write_value
from landaudit.ingest import ingest
from landaudit.ingest import normalise as n
from landaudit.workspace import Workspace

SCALE = int(os.environ.get("LANDAUDIT_FUZZ_SCALE", "1"))


def bounded(examples: int):
    """Settings for one property: `examples` × SCALE, derandomised unless exploring."""
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=SCALE == 1,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# Example counts (docs/reliability.md quotes them).
EXAMPLES = {"sheets": 40, "normalisers": 300, "parcel_valid": 200, "parcel_mutated": 300,
            "credit_valid": 200, "credit_mutated": 300, "safe_text": 500, "write_value": 60}

# ------------------------------------------------------------------------------ text

_CONTROL = "".join(map(chr, range(0x20))) + "\x7f\x85"
_WIDE = "".join(chr(c) for c in range(0xFF01, 0xFF5F))              # full-width ASCII
_CJK = "地块编码镇街用地面积亩企业名称合计填表人注隐患等级国有集体是否陶朱街道（）【】、，；：—－／　"
_SPACES = "\u00a0\u2002\u2003\u200b\u3000\u2028\t\n\r "


def _unstable_under_nfkc_upper() -> set[str]:
    """Characters whose NFKC or upper-case form introduces a combining mark or a character that
    NFKC changes again: normalising twice differs from once (covered by the combining-marks test below)."""
    out = set()
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        k = unicodedata.normalize("NFKC", c)
        if any(unicodedata.category(x).startswith("M") for x in k) or (
                unicodedata.normalize("NFKC", k.upper()) != k.upper()):
            out.add(c)
    return out


UNSTABLE = _unstable_under_nfkc_upper()

# Text for cells: any Unicode (no surrogates), weighted towards what department files contain.
any_char = st.characters(exclude_categories=("Cs",))
cell_char = st.one_of(st.sampled_from(_CJK), st.sampled_from(_WIDE), st.sampled_from(_CONTROL),
                      st.sampled_from(_SPACES), st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                      any_char)
cell_text = st.text(cell_char, max_size=12)
# Text for the idempotence properties: the same, without the characters the combining-marks test covers.
stable_char = cell_char.filter(lambda c: c not in UNSTABLE)
stable_text = st.text(stable_char, max_size=16)

# ------------------------------------------------------------------------------ codes (spec)

COUNTY = "330681"
SPEC_ALPHABET = "".join(ch for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if ch not in "IOSVZ")
SPEC_WEIGHTS = [pow(3, i, 31) for i in range(17)]   # GB 32100-2015: 3^i mod 31


def spec_check_char(body17: str) -> str:
    total = sum(SPEC_ALPHABET.index(ch) * w for ch, w in zip(body17, SPEC_WEIGHTS, strict=True))
    return SPEC_ALPHABET[(31 - total % 31) % 31]


def spec_credit_valid(code: str) -> bool:
    return (len(code) == 18 and all(ch in SPEC_ALPHABET for ch in code)
            and spec_check_char(code[:17]) == code[17])


def spec_parcel_standard(code: str) -> bool:
    """SPEC §4: county (6) + 地籍区 (3) + 地籍子区 (3) + [GJZ][ABSXCDEFHWY] + 顺序号 (5), ASCII digits."""
    digits = set("0123456789")
    return (len(code) == 19 and code[:6] == COUNTY and set(code[6:12]) <= digits
            and code[12] in "GJZ" and code[13] in "ABSXCDEFHWY" and set(code[14:]) <= digits)


ascii_digits = st.text("0123456789", min_size=1, max_size=1)
parcel_codes = st.builds(
    lambda a, b, c, d: COUNTY + a + b + c + d,
    st.text("0123456789", min_size=6, max_size=6), st.sampled_from("GJZ"),
    st.sampled_from("ABSXCDEFHWY"), st.text("0123456789", min_size=5, max_size=5))
credit_codes = st.text(SPEC_ALPHABET, min_size=17, max_size=17).map(lambda b: b + spec_check_char(b))
# Mutation characters: ASCII, full-width, CJK, letters outside the credit alphabet (I O S V Z).
mutation_char = st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E), st.sampled_from(_CJK),
                          st.sampled_from(_WIDE), st.sampled_from("IOSVZioszv"))

# ------------------------------------------------------------------------------ sheets

HEADERS = {   # dataset → columns: (kind, header spellings); required columns first
    "land": [("code", ["地块编码", "宗地代码", "不动产单元号", "地块 编码"]), ("text", ["镇街", "所属镇街", "镇乡（街道）"]),
             ("number", ["用地面积（亩）", "宗地面积", "面积(公顷)", "用地面积(平方米)", "面积/㎡"]),
             ("text", ["土地权属", "权属性质"]), ("year", ["建成年份"]), ("bool", ["是否符合规划"]),
             ("number", ["容积率"]), ("text", ["权利人"]), ("date", ["发证日期"])],
    "enterprise": [("text", ["企业名称", "单位名称"]), ("credit", ["统一社会信用代码"]),
                   ("number", ["税收（万元）", "实缴税金(元)", "入库税金"]), ("bool", ["是否规上", "规上/规下"]),
                   ("codes", ["所在地块编码"]), ("number", ["从业人员"])],
    "ledger": [("text", ["企业名称", "被检查单位"]), ("text", ["隐患编号", "问题编号"]), ("code", ["地块编码"]),
               ("text", ["隐患等级"]), ("date", ["发现日期", "检查日期"]), ("text", ["整改状态"]),
               ("text", ["问题类别"])],
}
REQUIRED = {"land": 3, "enterprise": 1, "ledger": 2}
NULLS = ["", "—", "-", "/", "无", "  ", "\u3000"]


def values_for(kind: str):
    hostile = st.one_of(cell_text, st.sampled_from(NULLS), st.none(),
                        st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**20))
    typed = {
        "code": st.one_of(parcel_codes, parcel_codes.map(lambda c: f" {c[:6]}-{c[6:12]} {c[12:].lower()} "),
                          parcel_codes.map(lambda c: c + "F0001" + "0001")),
        "codes": st.lists(parcel_codes, min_size=1, max_size=3).map("、".join),
        "credit": st.one_of(credit_codes, credit_codes.map(str.lower)),
        "number": st.one_of(st.floats(-1e6, 1e6), st.sampled_from(["1,234.5", "１２．５", "12%", "12.5亩", "NaN",
                                                                   "inf", "1e400", "-0", "待测"])),
        "year": st.one_of(st.integers(1700, 2200), st.sampled_from(["1998", "1998年", "九八年"])),
        "bool": st.sampled_from(["是", "否", "有", "无", "√", "×", "Y", "N", 1, 0, "待定"]),
        "date": st.one_of(st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2200, 1, 1)),
                          st.sampled_from(["2023-05-01", "2023/5/1", "2023年5月1日", "20230501", "五月初",
                                           45047, 0, 2958466])),
        "text": st.one_of(st.sampled_from(["陶朱街道", "暨阳", "国有", "集体", "重大", "一般", "已整改", "环保",
                                           "诸暨市（枫桥）精工机械厂"]), cell_text),
    }[kind]
    return st.one_of(typed, typed, hostile)


@st.composite
def sheets(draw):
    dataset = draw(st.sampled_from(sorted(HEADERS)))
    columns = HEADERS[dataset]
    required = columns[:REQUIRED[dataset]]
    picked = draw(st.lists(st.integers(REQUIRED[dataset], len(columns) - 1), unique=True, max_size=4))
    chosen = draw(st.permutations(required + [columns[i] for i in picked]))
    header = [draw(st.sampled_from(names)) for _, names in chosen]
    if draw(st.booleans()):
        header.append(draw(cell_text))                          # a column nobody asked for
    header_row = draw(st.integers(0, 19))                        # 0-based, within the first 20 rows
    grid: list[list] = []
    for _ in range(header_row):
        grid.append(draw(st.one_of(st.just([]), st.lists(cell_text, max_size=3),
                                   st.just(["工业用地底数表（模拟数据）"]), st.just(["单位：亩", None, "填报单位："]))))
    grid.append(header)
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["data", "data", "data", "blank", "total", "note"]))
        if kind == "data":
            grid.append([draw(values_for(k)) for k, _ in chosen])
        elif kind == "blank":
            grid.append(draw(st.sampled_from([[], [None, ""], [" ", "\u3000"]])))
        elif kind == "total":
            grid.append([draw(st.sampled_from(["合计", "总计", "小 计"])), None, draw(st.floats(0, 1e4))])
        else:
            grid.append([draw(st.sampled_from(["填表人：王芳", "注：面积单位为亩", "审核人："]))])
    return dataset, grid


def write_grid_xlsx(path: Path, grid: list[list], sheet: str) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False, "strings_to_formulas": False,
                                      "strings_to_urls": False})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    ws = book.add_worksheet(sheet)
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value)
            elif isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, date_fmt)
            else:
                ws.write_number(r, c, value)
    book.close()


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value)


def write_grid_csv(path: Path, grid: list[list], encoding: str) -> bool:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([[csv_cell(v) for v in row] for row in grid])
    try:
        path.write_bytes(buf.getvalue().encode(encoding))
    except UnicodeEncodeError:
        return False
    return True


def filled(value: object) -> bool:
    return value is not None and (not isinstance(value, str) or value.strip() != "")


@given(sheets())
@bounded(EXAMPLES["sheets"])
def test_any_sheet_is_accounted_for(sheet):
    dataset, grid = sheet
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = root / "data" / "raw" / "2023"
        raw.mkdir(parents=True)
        name = {"land": "工业用地", "enterprise": "企业亩均效益", "ledger": "消防隐患台账"}[dataset]
        write_grid_xlsx(raw / f"{name}.xlsx", grid, name)
        written = {f"{name}.xlsx"}
        for encoding in ("utf-8", "gbk"):
            if write_grid_csv(raw / f"{name}_{encoding}.csv", grid, encoding):
                written.add(f"{name}_{encoding}.csv")

        result = ingest(Workspace.at(root), year=2023)          # never raises

        folder = root / "data" / "processed" / "2023"
        rejects = pq.read_table(folder / "rejects.parquet").to_pylist()
        assert {e.path.rsplit("/", 1)[-1] for e in result.entries} == written
        accepted: dict[str, int] = {}
        for e in result.entries:
            if e.error:
                assert any("\u4e00" <= ch <= "\u9fff" for ch in e.error["message"])
                continue
            assert min(e.rows_total, e.rows_accepted, e.rows_rejected, e.rows_skipped) >= 0
            assert e.rows_total == e.rows_accepted + e.rows_rejected + e.rows_skipped
            assert sum(e.skipped.values()) == e.rows_skipped
            mine = {r["row"] for r in rejects if r["file"] == e.path and r["sheet"] == e.sheet and r["row"]}
            assert len(mine) == e.rows_rejected                   # every rejected row has a reason
            assert all(e.header_row < row <= e.header_row + e.rows_total for row in mine)
            accepted[e.dataset] = accepted.get(e.dataset, 0) + e.rows_accepted
            if e.format == "xlsx":
                # rows_total = rows below the header down to the last row with any content
                last = max((i + 1 for i, row in enumerate(grid) if any(filled(v) for v in row)), default=0)
                assert e.rows_total == max(0, last - e.header_row)
        for name_, table in result.tables.items():
            assert table.num_rows == accepted.get(name_, 0)
            rows = table.column("source_row").to_pylist()
            keys = list(zip(table.column("source_file").to_pylist(), table.column("source_sheet").to_pylist(),
                            rows, strict=True))
            assert len(set(keys)) == len(keys)


# ------------------------------------------------------------------------------ normalisers

raw_values = st.one_of(
    stable_text, st.sampled_from(NULLS), st.none(), st.booleans(),
    st.floats(), st.integers(-10**20, 10**20), st.dates(), st.datetimes(),
    parcel_codes, credit_codes, st.sampled_from(["2023年5月1日", "12%", "1,234.5", "是", "重大事故隐患",
                                                 "整改不合格", "已销号", "集体土地", "１２．５亩"]))

NORMALISERS = {
    "parse_number": n.parse_number,
    "parse_number_area_mu": lambda v: n.parse_number(v, unit_kind="area", unit="亩", canonical_unit="亩"),
    "parse_year": n.parse_year, "parse_bool": n.parse_bool, "parse_date": n.parse_date,
    "parse_parcel_code": n.parse_parcel_code, "split_parcel_codes": n.split_parcel_codes,
    "parse_credit_code": n.parse_credit_code, "name_key": n.name_key, "parse_name": n.parse_name,
    "clean_text": n.clean_text, "parse_ownership": n.parse_ownership, "parse_severity": n.parse_severity,
    "parse_status": n.parse_status, "parse_acceptance": n.parse_acceptance,
}


@given(value=raw_values, name=st.sampled_from(sorted(NORMALISERS)))
@bounded(EXAMPLES["normalisers"])
def test_normalisers_are_idempotent(value, name):
    normalise = NORMALISERS[name]
    try:
        once = normalise(value)
    except n.CellError:
        return
    if once is None:
        return
    assert normalise(once) == once, (name, value, once)
    if isinstance(once, float):
        assert math.isfinite(once)


@given(text=stable_text)
@bounded(EXAMPLES["normalisers"])
def test_compact_and_null_tokens_are_stable(text):
    assert n.compact(n.compact(text)) == n.compact(text)
    assert n.is_null_token(n.compact(text)) == n.is_null_token(text)


def test_normalisers_idempotent_with_combining_marks():
    for text in ("e \u0301x", "a\u3000\u0301", "ΐ"):
        for normalise in (n.compact, n.name_key, n.parse_parcel_code, n.parse_credit_code):
            once = normalise(text)
            assert normalise(once) == once, (normalise.__name__, text)


# ------------------------------------------------------------------------------ parcel codes

PATTERN = n.parcel_code_pattern(COUNTY)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(code=parcel_codes, style=st.sampled_from(["plain", "spaced", "dashed", "lower", "full_width", "unit_28",
                                                  "padded", "mixed"]))
@bounded(EXAMPLES["parcel_valid"])
def test_valid_parcel_codes_in_any_spelling_are_standard(code, style):
    spelled = {
        "plain": code, "spaced": f"{code[:6]} {code[6:9]} {code[9:12]} {code[12:14]} {code[14:]}",
        "dashed": f"{code[:6]}-{code[6:9]}-{code[9:12]}-{code[12:14]}-{code[14:]}", "lower": code.lower(),
        "full_width": full_width(code), "unit_28": code + "F00010001", "padded": f"\u3000 {code}\t",
        "mixed": full_width(code[:6]) + "·" + code[6:12].lower() + "_" + code[12:].lower(),
    }[style]
    assert spec_parcel_standard(code)
    assert n.parse_parcel_code(spelled) == code
    assert PATTERN.match(n.parse_parcel_code(spelled))


@given(code=parcel_codes, position=st.integers(0, 18), char=mutation_char)
@bounded(EXAMPLES["parcel_mutated"])
def test_mutated_parcel_codes_agree_with_the_spec(code, position, char):
    mutated = code[:position] + char + code[position + 1:]
    if unicodedata.category(char) != "Nd" or char.isascii():   # non-ASCII digits: see the ASCII-digits test below
        assert bool(PATTERN.match(mutated)) == spec_parcel_standard(mutated), mutated
    parsed = n.parse_parcel_code(mutated)
    assert bool(PATTERN.match(parsed)) == spec_parcel_standard(parsed), (mutated, parsed)


def test_parcel_pattern_wants_ascii_digits_only():
    assert not PATTERN.match(n.parse_parcel_code("330681٠٠١٠٠٢GB00001"))
    assert not PATTERN.match("330681001002GB00001\n")


# ------------------------------------------------------------------------------ credit codes

@given(code=credit_codes, style=st.sampled_from(["plain", "lower", "full_width", "spaced"]))
@bounded(EXAMPLES["credit_valid"])
def test_valid_credit_codes_pass(code, style):
    assert n.credit_check_char(code[:17]) == spec_check_char(code[:17])
    spelled = {"plain": code, "lower": code.lower(), "full_width": full_width(code),
               "spaced": f" {code[:6]} {code[6:]}\u3000"}[style]
    parsed = n.parse_credit_code(spelled)
    assert parsed == code
    assert n.credit_code_valid(parsed)


@given(code=credit_codes, position=st.integers(0, 17), char=mutation_char, swap=st.booleans())
@bounded(EXAMPLES["credit_mutated"])
def test_mutated_credit_codes_agree_with_the_checksum(code, position, char, swap):
    if swap and position < 17:
        mutated = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    else:
        mutated = code[:position] + char + code[position + 1:]
    expected = spec_credit_valid(mutated)
    if mutated != code and not swap:
        # a single substitution within the alphabet always breaks a mod-31 checksum (31 is prime
        # and no weight is 0 mod 31); outside the alphabet the code is invalid anyway
        assert not expected
    assert n.credit_code_valid(mutated) == expected, mutated
    assert n.credit_code_valid(n.parse_credit_code(mutated)) == spec_credit_valid(n.parse_credit_code(mutated))


# ------------------------------------------------------------------------------ safe_text

FORMULA_STARTS = set("=+-@＝＋－＠\t\r")


def xml_legal(ch: str) -> bool:
    """XML 1.0 Char production."""
    cp = ord(ch)
    return (cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD
            or 0x10000 <= cp <= 0x10FFFF)


any_text = st.text(st.one_of(st.sampled_from(sorted(FORMULA_STARTS)), st.sampled_from(_CONTROL),
                             st.characters(), st.sampled_from("\ufffe\uffff\ud800\udfff")), max_size=40)
long_text = st.builds(lambda head, k, tail: head * k + tail, st.sampled_from("=+-@＝x\x00"),
                      st.integers(MAX_CELL_CHARS - 3, MAX_CELL_CHARS + 3), any_text)   # at Excel's cell limit
safe_inputs = st.one_of(any_text, any_text.map(lambda t: "=" + t), st.integers(), st.floats(), st.none(),
                        st.dates(), long_text)


@given(value=safe_inputs)
@bounded(EXAMPLES["safe_text"])
def test_safe_text_keeps_text_as_written_and_always_xml_clean(value):
    """Formula-like text is kept exactly (SPEC §9 rev. 2): the quote-prefix cell format, not an added
    apostrophe, keeps it text (test_write_value_never_writes_a_formula)."""
    from landaudit.export.cells import needs_quote_prefix

    out = safe_text(value)
    assert all(xml_legal(ch) for ch in out)
    clean = "".join(ch for ch in str(value) if xml_legal(ch))
    # Excel's limit counts UTF-16 units (a character above U+FFFF counts twice): the longest whole-
    # character prefix within it (issue 15, as xlsxwriter cuts)
    kept, units = [], 0
    for ch in clean:
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > MAX_CELL_CHARS:
            break
        kept.append(ch)
    assert out == "".join(kept)
    assert needs_quote_prefix(out) == (bool(out) and out[0] in FORMULA_STARTS)


@given(values=st.lists(st.one_of(any_text, st.floats(max_value=1e300, min_value=-1e300), st.just(math.nan),
                                 st.just(math.inf), st.integers(-10**15, 10**15), st.booleans()),
                       min_size=1, max_size=8))
@bounded(EXAMPLES["write_value"])
def test_write_value_never_writes_a_formula(values):
    import python_calamine as calamine
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, **WORKBOOK_OPTIONS})
    ws = book.add_worksheet("s")
    for row, value in enumerate(values):
        write_value(ws, row, 0, value)
    book.close()
    sheet_xml = zipfile.ZipFile(io.BytesIO(buf.getvalue())).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml
    rows = calamine.CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue())).get_sheet_by_index(0) \
        .to_python(skip_empty_area=False)
    for row, value in enumerate(values):
        got = rows[row][0] if row < len(rows) and rows[row] else ""
        if isinstance(value, bool):
            assert got == ("是" if value else "否")
        elif isinstance(value, (int, float)):
            # xlsxwriter writes numbers with 16 significant digits: equal to 1 part in 1e15 (and
            # within 1e300 of zero: 1.7976931348623155e308 is written as 1.797693134862316E+308 = inf)
            if math.isfinite(value):
                assert math.isclose(got, value, rel_tol=1e-15)
            else:
                assert got == ""                                 # write_value leaves nan/inf empty
        else:
            assert got == safe_text(value)


@given(texts=st.lists(st.one_of(any_text, long_text, st.sampled_from(["a\x00b", "\x00", " 陶朱街道", "a&b<c>", ""])),
                      max_size=12, unique=True))
@bounded(EXAMPLES["safe_text"])
def test_text_bodies_in_bulk_equal_one_at_a_time(texts):
    """fastrows escapes a column's distinct texts in one pass (issue 7); it must write exactly what
    the per-value path writes, separators, illegal characters and Excel's cell limit included."""
    from landaudit.export.fastrows import _text_bodies, _text_body

    assert _text_bodies(texts) == [_text_body(t) or "" for t in texts]


@given(cells=st.lists(st.one_of(raw_values, st.sampled_from([1, 1.0, True, 0, 0.0, False, "1", "是"])),
                      max_size=30),
       name=st.sampled_from(sorted(NORMALISERS)))
@bounded(EXAMPLES["normalisers"])
def test_memoised_column_normalising_equals_cell_by_cell(cells, name):
    """ingest normalises each distinct raw value of a column once (issue 7); 1, 1.0 and True are
    different raw values, and an error is reported on every row that holds the bad value."""
    from types import SimpleNamespace

    from landaudit.ingest.rows import _normalised_column

    normalise = NORMALISERS[name]
    column = SimpleNamespace(index=0, field=SimpleNamespace(type="text"))
    data = [(row, [raw]) for row, raw in enumerate(cells * 2, start=3)]     # every value repeats

    def comparable(value):
        if isinstance(value, n.CellError):
            return ("error", value.code)
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return None if value is None else (type(value), value)

    def direct(raw):
        if raw == "" or raw is None:
            return None
        try:
            return comparable(normalise(raw))
        except n.CellError as err:
            return comparable(err)

    values, errors = _normalised_column(data, column, normalise)
    bad = {row: error for row, _raw, error in errors}
    assert [row for row, _raw, _error in errors] == sorted(bad)            # in row order, each once
    got = [(row, comparable(bad.get(row, value))) for (row, _cells), value in zip(data, values, strict=True)]
    assert got == [(row, direct(raw)) for row, (raw,) in data]
    assert all(values[i] is None for i, (row, _cells) in enumerate(data) if row in bad)


def test_memo_is_dropped_for_a_mostly_distinct_column_and_results_stay_the_same():
    """From 2,000 rows on, a column whose distinct values are more than half its rows loses its memo (codes, names);
    errors after that point are still reported on their own rows."""
    from types import SimpleNamespace

    from landaudit.ingest.rows import _normalised_column

    column = SimpleNamespace(index=0, field=SimpleNamespace(type="number"))
    raws = [f"{i}.5" for i in range(2_500)] + ["abc", "12", "abc"]
    values, errors = _normalised_column([(row, [raw]) for row, raw in enumerate(raws, start=3)], column,
                                        n.parse_number)
    assert values[:3] == [0.5, 1.5, 2.5]
    assert [(row, raw) for row, raw, _error in errors] == [(2503, "abc"), (2505, "abc")]
    assert values[2504 - 3] == 12.0 and values[2503 - 3] is None
