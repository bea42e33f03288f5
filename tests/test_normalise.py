"""Cell normalisers (SPEC §4), each with hand-written cases."""

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landaudit.ingest import normalise as n
from landaudit.ingest.header import header_key

# ---------------------------------------------------------------- numbers and units

@pytest.mark.parametrize(("raw", "expected"), [
    ("12,345.6", 12345.6),
    ("１２３．５", 123.5),          # full-width digits and point
    ("1，234.5", 1234.5),          # full-width comma as thousands separator
    ("12%", 0.12),
    (" 7 ", 7.0),
    ("45", 45.0),                  # Excel number stored as text
    (45.0, 45.0),
    (3, 3.0),
    ("-1.5", -1.5),
    ("1e3", 1000.0),
])
def test_parse_number_accepts_the_forms_departments_write(raw, expected):
    assert n.parse_number(raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw", ["—", "-", "/", "无", "", "  ", "——", None])
def test_parse_number_null_tokens_are_null(raw):
    assert n.parse_number(raw) is None


@pytest.mark.parametrize("raw", ["待核实", "abc", "12e", "1.2.3", float("nan"), float("inf"), True, date(2023, 1, 1)])
def test_parse_number_rejects_text_nan_inf_and_dates(raw):
    with pytest.raises(n.CellError) as err:
        n.parse_number(raw)
    assert err.value.code == "invalid_number"


@pytest.mark.parametrize(("raw", "unit", "expected_mu"), [
    (6666.67, "平方米", 10.0),     # 10000/15 m² per 亩 → 6666.67 m² ≈ 10 亩
    (2.0, "公顷", 30.0),           # 1 公顷 = 15 亩
    (12.5, "亩", 12.5),
    ("1.5公顷", "亩", 22.5),       # a unit in the cell wins over the column's unit
    ("3000㎡", "亩", 4.5),         # ㎡ (NFKC → m2): 3000 × 15 / 10000
])
def test_area_converts_to_mu(raw, unit, expected_mu):
    value = n.parse_number(raw, unit_kind="area", unit=unit, canonical_unit="亩")
    assert value == pytest.approx(expected_mu, abs=1e-3)


@pytest.mark.parametrize(("raw", "unit", "expected_wan"), [
    (1_234_500, "元", 123.45),
    (500, "千元", 50.0),
    (1.2, "亿元", 12000.0),
    (75, "万元", 75.0),
])
def test_money_converts_to_wan_yuan(raw, unit, expected_wan):
    assert n.parse_number(raw, unit_kind="money", unit=unit, canonical_unit="万元") == pytest.approx(expected_wan)


def test_a_unit_of_the_wrong_kind_in_a_cell_is_invalid():
    with pytest.raises(n.CellError):
        n.parse_number("12万元", unit_kind="area", unit="亩", canonical_unit="亩")


@pytest.mark.parametrize(("header", "base", "unit"), [
    ("面积（亩）", "面积", "亩"),
    ("用地面积(平方米)", "用地面积", "平方米"),
    ("面积/㎡", "面积", "平方米"),
    ("面积(公顷)", "面积", "公顷"),
    ("税收（万元）", "税收", "万元"),
    ("税金(元)", "税金", "元"),
    ("营业收入（千元）", "营业收入", "千元"),
    ("用地面积\n（亩）", "用地面积", "亩"),
    ("* 地块编码", "地块编码", None),
    ("规上/规下", "规上/规下", None),   # a slash that is not a unit stays
    ("【所属镇街】", "(所属镇街)", None),
])
def test_header_key_drops_and_remembers_the_unit(header, base, unit):
    key = header_key(header)
    assert (key.base, key.unit) == (base, unit)


# ---------------------------------------------------------------- yes/no, dates, years

@pytest.mark.parametrize(("raw", "expected"), [
    ("是", True), ("否", False), ("有", True), ("无", False), ("符合", True), ("不符合", False),
    ("Y", True), ("n", False), ("√", True), ("×", False), (1, True), (0.0, False), ("1", True),
    ("规上", True), ("规下", False), ("—", None), (None, None),
])
def test_parse_bool(raw, expected):
    assert n.parse_bool(raw) is expected


def test_parse_bool_rejects_unknown_words():
    with pytest.raises(n.CellError):
        n.parse_bool("待定")


@pytest.mark.parametrize("raw", [
    datetime(2023, 5, 1, 0, 0), date(2023, 5, 1), 45047, 45047.0, "2023-05-01", "2023/5/1", "2023.5.1",
    "2023年5月1日", "20230501", 20230501, "2023-05-01 00:00:00", "２０２３年５月１日",
])
def test_parse_date_every_form_of_spec_4(raw):
    # 45047 is the Excel serial of 2023-05-01 (days since 1899-12-30).
    assert n.parse_date(raw) == date(2023, 5, 1)


@pytest.mark.parametrize(("raw", "code"), [
    ("五月初", "invalid_date"), ("2023-02-30", "invalid_date"), ("1900-01-01", "date_out_of_range"),
    ("2999-01-01", "date_out_of_range"), (float("nan"), "invalid_date"), (-5, "invalid_date"),
])
def test_parse_date_rejects(raw, code):
    with pytest.raises(n.CellError) as err:
        n.parse_date(raw)
    assert err.value.code == code


@pytest.mark.parametrize(("raw", "expected"), [(1995, 1995), ("1995", 1995), ("1995年", 1995), (1995.0, 1995),
                                               (date(1988, 3, 1), 1988), ("—", None)])
def test_parse_year(raw, expected):
    assert n.parse_year(raw) == expected


@pytest.mark.parametrize("raw", ["九十年代", 1995.5, 3023, "95"])
def test_parse_year_rejects(raw):
    with pytest.raises(n.CellError):
        n.parse_year(raw)


# ---------------------------------------------------------------- codes

@pytest.mark.parametrize(("raw", "expected"), [
    ("330681001002GB00012", "330681001002GB00012"),
    ("330681 001 002 GB00012", "330681001002GB00012"),
    ("３３０６８１００１００２ＧＢ０００１２", "330681001002GB00012"),
    ("330681001002gb00012", "330681001002GB00012"),
    ("330681-001-002-GB00012", "330681001002GB00012"),
    # a 28-char 不动产单元号 becomes its first 19 characters (宗地代码)
    ("330681001002GB00012F00010001", "330681001002GB00012"),
    ("—", None),
])
def test_parse_parcel_code(raw, expected):
    assert n.parse_parcel_code(raw) == expected


def test_parcel_code_pattern_follows_gb_t_37346_with_the_county_code():
    pattern = n.parcel_code_pattern("330681")
    assert pattern.match("330681001002GB00012")
    assert pattern.match("330681003001JA00007")           # J = collective
    assert not pattern.match("330682001002GB00012")       # another county
    assert not pattern.match("330681001002GQ00012")       # Q is no 宗地特征码 second letter
    assert not pattern.match("330681001002GB0001")        # 18 characters


def test_a_code_that_arrived_as_a_number_is_flagged_never_repaired():
    with pytest.raises(n.CellError) as err:
        n.parse_parcel_code(3.30681001002e18)
    assert err.value.code == "code_stored_as_number"
    with pytest.raises(n.CellError):
        n.parse_credit_code(9.13306811234568e17)


A, B, C = "330681001002GB00012", "330681001002GB00013", "330681003001JA00007"
UNIT_A = A + "F00010001"                    # 28-character 不动产单元号 of A
SEPARATORS = ["、", ",", "，", ";", "；", "/", "\n", "\r\n", "\r", "、\n", " ；"]
SPACES = [" ", "  ", "\u3000", "\t", " \u3000 "]


def test_split_parcel_codes_on_every_separator():
    cell = "330681001002GB00012、330681001002GB00013；330681001002GB00014\n330681001002gb00015/330681001002GB00012"
    assert n.split_parcel_codes(cell) == [
        "330681001002GB00012", "330681001002GB00013", "330681001002GB00014", "330681001002GB00015",
    ]


@pytest.mark.parametrize("separator", SEPARATORS + SPACES)
@pytest.mark.parametrize(("first", "second"), [(A, B), (UNIT_A, B), (B, UNIT_A), (A.lower(), C)])
def test_split_parcel_codes_each_separator_and_code_length(separator, first, second):
    """Separators always split; spaces split when every piece is a complete 19/28-character code."""
    expected = [n.parse_parcel_code(first), n.parse_parcel_code(second)]
    assert n.split_parcel_codes(f"{first}{separator}{second}") == expected
    assert n.split_parcel_codes(f" {first}{separator}{second} ") == expected
    three = expected if C in expected else [*expected, C]        # a repeated code is kept once
    assert n.split_parcel_codes(f"{first}{separator}{second}{separator}{C}") == three


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("cell", ["3306 8100 1002 GB00012", "330681 001 002 GB 00012", "330681001002GB 00012"])
def test_spaces_inside_one_code_are_removed_not_split(space, cell):
    assert n.split_parcel_codes(cell.replace(" ", space)) == [A]


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("incomplete", ["12", "330681001002GB0001", "ZJ20210087", "330681001002GQ00012"])
def test_spaces_do_not_split_when_a_piece_is_no_complete_code(space, incomplete):
    """One piece that is not a whole standard code: the cell is one code with its spaces removed
    (and then listed as non-standard), never a guess at where the codes part."""
    assert n.split_parcel_codes(f"{A}{space}{incomplete}") == [A + incomplete.upper()]


def test_split_parcel_codes_of_another_county_splits_too():
    """The space rule checks the layout, not the county: a code of 330682 is split off and then
    flagged as non-standard by ingest like any other."""
    other = "330682001002GB00012"
    assert n.split_parcel_codes(f"{A} {other}") == [A, other]


def test_credit_check_digit_hand_computed():
    # 9,1,3,3,0,6,8,1,0… × weights 1,3,9,27,19,26,16,17,20… = 9+3+27+81+0+156+128+17 = 421;
    # 421 mod 31 = 18; 31 − 18 = 13 → alphabet[13] = "D".
    assert n.credit_check_char("91330681000000000") == "D"
    assert n.credit_code_valid("91330681000000000D")
    assert not n.credit_code_valid("91330681000000000E")


@pytest.mark.parametrize("code", [
    "9144030071526726XG",   # real codes as published on the national credit information website
    "91330100799655058B",
    "91110000100006485K",
])
def test_credit_check_digit_on_real_codes(code):
    assert n.credit_code_valid(code)


@pytest.mark.parametrize("code", ["9144030071526726X", "9144030071526726XGG", "9144030071526726IG", None, ""])
def test_credit_code_invalid_forms(code):
    assert not n.credit_code_valid(code)


def test_parse_credit_code_normalises_spacing_and_case():
    assert n.parse_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"


# ---------------------------------------------------------------- names and choices

def test_name_key_unifies_brackets_and_spaces():
    assert n.name_key("诸暨市华达五金（有限）公司 ") == n.name_key("诸暨市华达五金(有限)公司")
    assert n.name_key("诸暨市 华达五金【有限】公司") == "诸暨市华达五金(有限)公司"


@pytest.mark.parametrize(("raw", "expected"), [
    ("重大事故隐患", "重大"), ("较大隐患", "较大"), ("一般", "一般"), ("—", None),
])
def test_parse_severity(raw, expected):
    assert n.parse_severity(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("未整改", "未整改"), (" 已 销号 ", "已 销号"), ("验收不合格", "验收不合格"), ("整改中（未销号）", "整改中（未销号）"),
    ("整改\n完成", "整改 完成"), ("—", None), ("", None),
])
def test_parse_status_keeps_the_text_as_written(raw, expected):
    """SPEC §3 (rev. 2): the status column keeps the department's text (its state is derived
    with the config's vocabulary: tests/test_vocabulary.py)."""
    assert n.parse_status(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("国有建设用地", "国有"), ("集体", "集体"), ("村集体土地", "集体")])
def test_parse_ownership(raw, expected):
    assert n.parse_ownership(raw) == expected


def test_match_township_maps_short_and_long_forms():
    towns = ["陶朱街道", "店口镇", "东和乡"]
    assert n.match_township("陶朱", towns) == "陶朱街道"
    assert n.match_township("陶朱街道办事处", towns) == "陶朱街道"
    assert n.match_township(" 店口镇 ", towns) == "店口镇"
    assert n.match_township("东和", towns) == "东和乡"
    assert n.match_township("火星镇", towns) is None


# ---------------------------------------------------------------- idempotence (normalising twice = once)

_cells = st.one_of(st.none(), st.text(max_size=30), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.dates())
_NORMALISERS = [n.parse_number, n.parse_bool, n.parse_date, n.parse_year, n.parse_parcel_code,
                n.parse_credit_code, n.parse_name, n.parse_severity, n.parse_status, n.parse_acceptance,
                n.parse_ownership, n.split_parcel_codes]


@given(cell=_cells, which=st.sampled_from(_NORMALISERS))
def test_normalisers_are_idempotent_and_only_raise_cell_errors(cell, which):
    try:
        once = which(cell)
    except n.CellError:
        return
    assert which(once) == once
