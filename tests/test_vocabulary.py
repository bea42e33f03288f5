"""SPEC §3 (rev. 2) vocabularies: the status words (closed / failed / open, negations, remarks,
unrecognised text) and the ledger category resolution (levels, strengths, ties, generic words, 未定).
Each rule is tested over its whole class: every word of each vocabulary, every level, every pair."""

from __future__ import annotations

import hashlib
import itertools

import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from landaudit.config import (
    CLOSED_STATUSES,
    FAILED_STATUSES,
    GENERIC_CATEGORY_WORDS,
    OPEN_STATUSES,
    STATUS_NEGATIONS,
    LedgerCategoryRule,
    StatusVocabulary,
    default_config_text,
    load_config,
)
from landaudit.ingest import ingest
from landaudit.ingest import normalise as n
from landaudit.ingest.category import (
    UNDECIDED,
    CategoryResolver,
)

from conftest import sheet_entry, write_xlsx

CONFIG = load_config(None)
RULES = CONFIG.settings.ingest.ledger_categories
CATEGORIES = [r.category for r in RULES]
DEPARTMENTS = {r.category: r.department for r in RULES}
REMARKS = ["（{}）", "({})", "【{}】", "[{}]", " （{}） "]


@pytest.fixture(scope="module")
def vocab():
    return n.StatusReader.of(CONFIG)


def _spaced(word: str) -> list[str]:
    """The word with a space (half- or full-width) at every inner position, and padded."""
    forms = [f" {word} ", f"\u3000{word}\t"]
    forms += [word[:i] + sp + word[i:] for i in range(1, len(word)) for sp in (" ", "\u3000")]
    return forms


# ---------------------------------------------------------------- status vocabulary

def test_default_vocabulary_is_the_specs():
    words = CONFIG.settings.ingest.statuses
    assert words.closed == list(CLOSED_STATUSES) == [
        "已整改", "已销号", "整改完成", "整改完毕", "已完成", "已办结", "办结", "已落实", "整改到位"]
    assert words.failed == list(FAILED_STATUSES) == ["整改不合格", "验收不合格", "复查不合格"]
    assert words.open == list(OPEN_STATUSES) == ["未整改", "整改中", "正在整改", "待整改", "未销号", "未办结", "逾期未整改"]
    assert words.negations == list(STATUS_NEGATIONS) == ["未", "不", "待", "尚未", "没有"]


@pytest.mark.parametrize(("word", "state"), [(w, "closed") for w in CLOSED_STATUSES]
                         + [(w, "failed") for w in FAILED_STATUSES] + [(w, "open") for w in OPEN_STATUSES])
def test_every_vocabulary_word_is_recognised_in_every_spacing_and_width(vocab, word, state):
    for form in [word, *_spaced(word), n.nfkc(word)]:
        assert vocab.read(form) == (state, True), form


@pytest.mark.parametrize(("word", "state"), [(w, "closed") for w in CLOSED_STATUSES]
                         + [(w, "failed") for w in FAILED_STATUSES] + [(w, "open") for w in OPEN_STATUSES])
@pytest.mark.parametrize("remark", REMARKS)
def test_a_remark_without_negation_is_dropped_before_comparing(vocab, word, state, remark):
    for note in ("2023-06-30", "经复查", "已通报"):
        assert vocab.read(word + remark.format(note)) == (state, True)
        assert vocab.read(remark.format(note) + word) == (state, True)


@pytest.mark.parametrize("word", CLOSED_STATUSES)
@pytest.mark.parametrize("negation", STATUS_NEGATIONS)
@pytest.mark.parametrize("remark", REMARKS)
def test_a_closed_word_with_a_negation_anywhere_is_open_and_unrecognised(vocab, word, negation, remark):
    assert vocab.read(word + remark.format(f"{negation}验收")) == ("open", False)
    negated = f"{negation}{word}"
    assert vocab.read(negated) == ("open", negated in OPEN_STATUSES)     # 未办结 is an open word


@pytest.mark.parametrize("word", FAILED_STATUSES)
@pytest.mark.parametrize("remark", ["", *(r.format("未销号") for r in REMARKS)])
def test_failed_words_are_failed_although_they_contain_a_negation(vocab, word, remark):
    assert "不" in word
    assert vocab.read(word + remark) == ("failed", True)


@pytest.mark.parametrize("word", OPEN_STATUSES)
@pytest.mark.parametrize("remark", ["", *(r.format(w) for r in REMARKS for w in ("未销号", "已销号"))])
def test_open_words_are_open_whatever_the_remark_says(vocab, word, remark):
    assert vocab.read(word + remark) == ("open", True)


@pytest.mark.parametrize("word", CLOSED_STATUSES)
@pytest.mark.parametrize("affix", [("基本", ""), ("", "一半"), ("部分", ""), ("", "?"), ("拟", "")])
def test_comparison_is_exact_never_a_substring(vocab, word, affix):
    """A closed word inside other text is not closed (e.g. 部分已整改): open and 待核实."""
    assert vocab.read(affix[0] + word + affix[1]) == ("open", False)


@pytest.mark.parametrize("text", ["未销号", "未办结", "整改中（未销号）", "整改中(未销号)", "整改中【未销号】"])
def test_what_the_old_keyword_rules_read_as_closed_is_open(vocab, text):
    assert vocab.read(text) == ("open", True)


@pytest.mark.parametrize("text", ["销号", "完成", "ok", "√", "已整改已销号", "（已销号）", "整改中（", "见附件", "1"])
def test_unrecognised_text_is_open_and_never_guessed_closed(vocab, text):
    assert vocab.read(text) == ("open", False)


@pytest.mark.parametrize("raw", [None, "", "   ", "—", "/", "-", "无"])
def test_a_blank_status_is_no_status(raw):
    assert n.parse_status(raw) is None


@pytest.mark.parametrize("raw", ["已 整改", " 整改中（未销号） ", "整改\n完成", "整改不合格"])
def test_the_status_text_is_kept_as_written_only_cleaned(raw):
    assert n.parse_status(raw) == n.clean_text(raw)


def test_a_county_adds_words_and_the_deprecated_closed_statuses_still_count():
    ingest_settings = CONFIG.settings.ingest.model_copy(update={"statuses": StatusVocabulary(
        closed=[*CLOSED_STATUSES, "验收销号"], open=[*OPEN_STATUSES, "暂缓整改"])})
    rules = CONFIG.settings.rules.model_copy(update={"closed_statuses": ["已整改", "已销号", "已关闭", "关闭待复核"]})
    config = CONFIG.model_copy(update={"settings": CONFIG.settings.model_copy(
        update={"ingest": ingest_settings, "rules": rules})})
    vocab = n.StatusReader.of(config)
    assert vocab.read("验收销号") == ("closed", True)
    assert vocab.read("暂缓整改") == ("open", True)
    assert vocab.read("已关闭") == ("closed", True)          # the alias
    assert vocab.read("关闭待复核") == ("open", False)      # an alias word with a negation is never closed


@pytest.mark.parametrize("negation", STATUS_NEGATIONS)
def test_config_refuses_a_closed_word_with_a_negation(negation):
    with pytest.raises(ValidationError, match="否定词"):
        StatusVocabulary(closed=[*CLOSED_STATUSES, f"{negation}需整改"])


@pytest.mark.parametrize(("closed", "other"), [("已整改", "open"), ("已整改", "failed"), ("已 整改", "open")])
def test_config_refuses_a_word_in_two_lists(closed, other):
    words = {"open": list(OPEN_STATUSES), "failed": list(FAILED_STATUSES)}
    words[other] = [*words[other], closed]
    with pytest.raises(ValidationError, match="同时出现"):
        StatusVocabulary(**words)


# ---------------------------------------------------------------- category resolution

LEVELS = ("value", "sheet", "file", "folder")


def resolve(value=None, sheet="Sheet1", file="2023年台账", folders=("汇总",), config=CONFIG):
    path = "/".join(["data", "raw", "2023", *folders, f"{file}.xlsx"])
    return CategoryResolver(config, path, sheet).item(value)


def at_level(level: str, text: str, base: dict | None = None) -> dict:
    kwargs = dict(base or {})
    if level == "folder":
        kwargs["folders"] = (*kwargs.get("folders", ("汇总",)), text)   # the deepest folder
    else:
        kwargs[level] = text
    return kwargs


def test_every_category_names_its_department():
    assert DEPARTMENTS == {"环保": "生态环境分局", "安全生产": "应急管理局", "消防": "消防救援大队",
                           "违法建设": "综合行政执法局", "信访": "信访局", "无证照": "市场监管局", "税务": "税务局"}


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("form", ["name", "department"])
def test_own_name_or_department_decides_at_every_level(category, level, form):
    word = category if form == "name" else DEPARTMENTS[category]
    text = word if level in ("value", "folder") else f"2023年{word}问题台账"
    found = resolve(**at_level(level, text))
    assert found.category == category


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations(CATEGORIES, 2)))
def test_the_most_specific_level_wins_for_every_pair_of_categories(a, b):
    for upper, lower in itertools.combinations(LEVELS, 2):
        kwargs = at_level(lower, DEPARTMENTS[b], at_level(upper, a))
        assert resolve(**kwargs).category == a, (upper, lower)


def test_deepest_folder_first():
    assert resolve(folders=("应急管理局", "消防救援大队")).category == "消防"
    assert resolve(folders=("应急管理局", "汇总")).category == "安全生产"


@pytest.mark.parametrize("rule", RULES, ids=CATEGORIES)
@pytest.mark.parametrize("other", CATEGORIES)
def test_a_name_beats_any_keyword_of_another_category_in_the_same_level(rule, other):
    for keyword in rule.keywords:
        if other == rule.category:
            continue
        for level in ("value", "sheet", "file"):
            assert resolve(**at_level(level, f"{keyword}{other}")).category == other, (keyword, level)


@pytest.mark.parametrize("rule", RULES, ids=CATEGORIES)
def test_each_keyword_decides_alone(rule):
    for keyword in rule.keywords:
        for level in LEVELS:
            assert resolve(**at_level(level, keyword)).category == rule.category, (keyword, level)


def test_a_longer_keyword_beats_a_shorter_one():
    rules = [LedgerCategoryRule(category="甲", keywords=["排查"]),
             LedgerCategoryRule(category="乙", keywords=["隐患排查治理"])]
    config = _with_categories(rules)
    for level in ("value", "sheet", "file", "folder"):
        assert resolve(config=config, **at_level(level, "隐患排查治理台账")).category == "乙"
    assert resolve(config=config, **at_level("sheet", "排查台账")).category == "甲"


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(CATEGORIES, 2)))
def test_two_names_tie_and_the_next_level_decides(a, b):
    c = next(x for x in CATEGORIES if x not in (a, b))
    for tied, decider in itertools.combinations(LEVELS, 2):
        kwargs = at_level(decider, DEPARTMENTS[c], at_level(tied, f"{a}和{b}"))
        found = resolve(**kwargs)
        assert found.category == c, (tied, decider)
    everywhere = resolve(value=f"{a}、{b}", sheet=f"{b}和{a}", file=f"{a}{b}", folders=(f"{a}{b}",))
    assert everywhere.category is None and set(everywhere.candidates) == {a, b}


@pytest.mark.parametrize("word", GENERIC_CATEGORY_WORDS)
@pytest.mark.parametrize("level", LEVELS)
def test_generic_words_are_never_keywords_even_when_a_county_lists_them(word, level):
    assert resolve(**at_level(level, f"{word}台账")).hints == ()
    rules = [rule.model_copy(update={"keywords": [*rule.keywords, word]}) for rule in RULES]
    config = _with_categories(rules)
    assert resolve(config=config, **at_level(level, f"{word}台账")).hints == ()


def test_a_county_adds_its_own_generic_words():
    ingest_settings = CONFIG.settings.ingest.model_copy(update={"generic_category_words": ["应急"]})
    config = CONFIG.model_copy(update={"settings": CONFIG.settings.model_copy(update={"ingest": ingest_settings})})
    assert resolve(sheet="应急台账").category == "安全生产"
    assert resolve(sheet="应急台账", config=config).category is None


@pytest.mark.parametrize(("kwargs", "category"), [
    ({"file": "2023年消防安全隐患排查整治台账", "folders": ("汇总",)}, "消防"),          # not 安全隐患 → 安全生产
    ({"sheet": "违法建设", "folders": ("应急管理局",)}, "违法建设"),                     # the sheet is more specific
    ({"file": "2023年执法检查台账", "folders": ("市场监管局",)}, "无证照"),              # 执法 is no keyword
    ({"value": "违章建筑", "folders": ("应急管理局",)}, "违法建设"),                     # 违章 is a keyword
    ({"value": "安全生产、消防", "folders": ("消防救援大队",)}, "消防"),                  # a tied value passes on
])
def test_the_traps_of_the_old_first_match_rule(kwargs, category):
    assert resolve(**kwargs).category == category


@pytest.mark.parametrize("value", ["噪音扰民", "其它", "食品安全"])
def test_a_value_that_matches_no_category_is_undecided_whatever_the_names_say(value):
    found = resolve(value=value, sheet="环保问题", folders=("生态环境分局",))
    assert found.category is None and found.value_unmatched
    assert found.candidates == ["环保"]


def test_category_from_names_keeps_the_template_contract():
    from landaudit.ingest.rows import ledger_category_from_names

    assert ledger_category_from_names("问题隐患台账_消防_填报模板.xlsx/消防问题隐患台账", CONFIG) == "消防"
    assert ledger_category_from_names("data/raw/2023/应急管理局/台账.xlsx/Sheet1", CONFIG) == "安全生产"
    assert ledger_category_from_names("台账.xlsx/Sheet1", CONFIG) is None


def _with_categories(rules):
    ingest_settings = CONFIG.settings.ingest.model_copy(update={"ledger_categories": rules})
    return CONFIG.model_copy(update={"settings": CONFIG.settings.model_copy(update={"ingest": ingest_settings})})


# ---------------------------------------------------------------- through ingest: ledger.parquet

HEADER = ["隐患编号", "问题类别", "企业名称", "地块编码", "问题描述", "隐患等级", "发现日期", "整改状态"]
STATUS_CASES = ([(w, "closed", False) for w in CLOSED_STATUSES] + [(w, "failed", False) for w in FAILED_STATUSES]
                + [(w, "open", False) for w in OPEN_STATUSES]
                + [("整改中（未销号）", "open", False), ("已销号（未验收）", "open", True), ("销号", "open", True),
                   ("  已 整改 ", "closed", False), (None, None, False)])


def _ledger(workspace, rows, *, folder="应急管理局", name="安全生产隐患台账.xlsx", header=HEADER):
    write_xlsx(workspace.raw_year(2023) / folder / name, [header, *rows])
    result = ingest(workspace, year=2023)
    folder_path = workspace.processed_year(2023)
    ledger = pq.read_table(folder_path / "ledger.parquet")
    quality = pq.read_table(folder_path / "quality.parquet").to_pylist()
    return result, ledger, quality


def test_ledger_keeps_the_status_text_and_adds_its_state(workspace):
    rows = [[f"S{i}", "安全生产", "诸暨市某厂", None, "问题", "一般", "2023-05-01", status]
            for i, (status, _, _) in enumerate(STATUS_CASES)]
    result, ledger, quality = _ledger(workspace, rows)
    assert ledger.schema.field("status_state").type == "string"
    got = ledger.select(["status", "status_state"]).to_pylist()
    assert [g["status"] for g in got] == [n.clean_text(s) for s, _, _ in STATUS_CASES]
    assert [g["status_state"] for g in got] == [state for _, state, _ in STATUS_CASES]
    unrecognised = [q for q in quality if q["reason_code"] == "status_unrecognised"]
    assert [q["row"] for q in unrecognised] == [i + 2 for i, (_, _, flag) in enumerate(STATUS_CASES) if flag]
    assert all(q["level"] == "verify" and q["column"] == "整改状态" and q["value"] in q["message"]
               for q in unrecognised)
    assert "否定词" in unrecognised[0]["message"]
    e = sheet_entry(result, "安全生产隐患台账.xlsx")
    assert e.rows_total == e.rows_accepted == len(STATUS_CASES)


def test_ledger_items_of_no_category_are_undecided_and_listed(workspace):
    rows = [["C1", "噪音扰民", "诸暨市某厂", None, "夜间噪声", "一般", "2023-05-01", "整改中"],
            ["C2", "消防", "诸暨市某厂", None, "通道堵塞", "一般", "2023-05-01", "整改中"],
            ["C3", None, "诸暨市某厂", None, "粉尘", "一般", "2023-05-01", "整改中"],
            ["C4", "安全生产和消防", "诸暨市某厂", None, "粉尘", "一般", "2023-05-01", "整改中"]]
    result, ledger, quality = _ledger(workspace, rows, name="汇总台账.xlsx")
    assert ledger.column("category").to_pylist() == [UNDECIDED, "消防", "安全生产", "安全生产"]
    undecided = [q for q in quality if q["reason_code"] == "ledger_category_undecided"]
    assert [(q["row"], q["value"], q["level"], q["column"]) for q in undecided] == [(2, "噪音扰民", "verify", "问题类别")]
    assert "噪音扰民" in undecided[0]["message"] and "部门文件夹“应急管理局”指向安全生产" in undecided[0]["message"]
    assert sheet_entry(result, "汇总台账.xlsx").category == "、".join(sorted(["未定", "消防", "安全生产"]))


def test_a_sheet_whose_names_decide_nothing_lists_each_item_and_says_once_what_to_fix(workspace):
    header = [h for h in HEADER if h != "问题类别"]
    rows = [[f"D{i}", "诸暨市某厂", None, "问题", "一般", "2023-05-01", "整改中"] for i in range(3)]
    write_xlsx(workspace.raw_year(2023) / "汇总台账.xlsx", [header, *rows])
    result = ingest(workspace, year=2023)
    ledger = pq.read_table(workspace.processed_year(2023) / "ledger.parquet")
    quality = pq.read_table(workspace.processed_year(2023) / "quality.parquet").to_pylist()
    assert ledger.column("category").to_pylist() == [UNDECIDED] * 3
    assert [q["row"] for q in quality if q["reason_code"] == "ledger_category_undecided"] == [2, 3, 4]
    (unknown,) = [q for q in quality if q["reason_code"] == "ledger_category_unknown"]
    assert "其他" not in unknown["message"] and "未定" in unknown["message"]
    e = sheet_entry(result, "汇总台账.xlsx")
    assert e.category == UNDECIDED and e.rows_total == e.rows_accepted == 3


def test_blank_sheet_reports_the_category_its_names_decide(workspace):
    result, _, _ = _ledger(workspace, [], folder="消防救援大队", name="台账.xlsx")
    assert sheet_entry(result, "台账.xlsx").category == "消防"


A, B, C = "330681001002GB00012", "330681001002GB00013", "330681003001JA00007"
UNIT = A + "F00010001"     # a 28-character 不动产单元号


@pytest.mark.parametrize(("cell", "codes"), [
    (A, [A]), (f"{A}、{B}", [A, B]), (f"{A} {B}", [A, B]), (f"{UNIT}  {B}\n{C}", [A, B, C]),
    ("3306 8100 1002 GB00012", [A]), (None, None), (f"{A} 12", [A + "12"]),
])
def test_ledger_parcel_codes_and_their_joined_text(workspace, cell, codes):
    result, ledger, quality = _ledger(workspace, [["P1", "安全生产", "诸暨市某厂", cell, "问题", "一般", "2023-05-01", "整改中"]])
    assert ledger.schema.field("parcel_codes").type.value_type == "string"
    row = ledger.to_pylist()[0]
    assert row["parcel_codes"] == codes
    assert row["parcel_code"] == ("、".join(codes) if codes else None)
    nonstandard = [q["value"] for q in quality if q["reason_code"] == "parcel_code_nonstandard"]
    assert nonstandard == [c for c in codes or [] if len(c) != 19]


def test_generated_item_id_of_a_single_code_item_is_unchanged(workspace):
    """The hash is over (category, parcel_code text, credit code, name key, description, found date)
    as before rev. 2: an item with one code keeps its generated id."""
    header = [h for h in HEADER if h != "隐患编号"]
    _, ledger, _ = _ledger(workspace, [["安全生产", "诸暨市某厂", A, "粉尘", "一般", "2023-05-01", "整改中"]],
                           header=header)
    parts = ["安全生产", A, "", "诸暨市某厂", "粉尘", "2023-05-01"]
    expected = "H" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:15].upper()
    assert ledger.column("item_id").to_pylist() == [expected]


def test_an_older_datasets_toml_with_one_ledger_code_still_gives_both_columns(workspace):
    text = default_config_text("datasets.toml")
    text = text.replace('required_any = ["parcel_codes"', 'required_any = ["parcel_code"')
    text = text.replace('name = "parcel_codes"\ntype = "parcel_codes"\nsynonyms = ["地块编码", "宗地代码", "宗地编码"',
                        'name = "parcel_code"\ntype = "parcel_code"\nsynonyms = ["地块编码", "宗地代码", "宗地编码"')
    assert 'name = "parcel_code"\ntype = "parcel_code"\nsynonyms = ["地块编码", "宗地代码", "宗地编码", "不动产' in text
    (workspace.root / "configs").mkdir()
    (workspace.root / "configs" / "datasets.toml").write_text(text, encoding="utf-8")
    _, ledger, _ = _ledger(workspace, [["P1", "安全生产", "诸暨市某厂", A, "问题", "一般", "2023-05-01", "整改中"]])
    row = ledger.to_pylist()[0]
    assert (row["parcel_code"], row["parcel_codes"]) == (A, [A])


# ---------------------------------------------------------------- severities from config (SPEC §3)

@pytest.mark.parametrize(("cell", "expected"), [
    ("重大", "重大"), ("重大事故隐患", "重大"), ("较大", "较大"), ("较大隐患", "较大"), ("一般", "一般"),
    ("一 般", "一般"), ("一级", "重大"), ("二级隐患", "较大"), ("三级", "一般"), ("—", None), ("", None),
])
def test_severity_words_come_from_config(cell, expected):
    from landaudit.config import IngestSettings

    settings = IngestSettings(severities={"重大": ["一级"], "较大": ["二级"], "一般": ["三级"]})
    assert n.parse_severity(cell, settings.severity_words) == expected


def test_an_unknown_severity_is_a_warning_not_a_guess():
    with pytest.raises(n.CellError):
        n.parse_severity("特别严重")
    assert n.parse_severity("特别严重", (("重大", ("重大", "特别严重")),)) == "重大"


@pytest.mark.parametrize(("status", "closed_date", "listed"), [
    (None, "2023-05-01", True),          # a date alone is never read as closed: 待核实
    ("已销号", "2023-05-01", False),
    ("整改中", "2023-05-01", False),     # a state says what it is; the date is the department's
    (None, None, False),
])
def test_a_closed_date_beside_a_blank_status_is_listed_not_guessed(workspace, status, closed_date, listed):
    header = [*HEADER, "销号日期"]
    rows = [["D1", "安全生产", "诸暨市某厂", None, "问题", "较大", "2023-04-01", status, closed_date]]
    _, ledger, quality = _ledger(workspace, rows, header=header)
    assert ledger.column("status_state").to_pylist() == [n.parse_name(status) and ("closed" if status == "已销号" else "open")]
    flagged = [q for q in quality if q["reason_code"] == "status_blank_with_closed_date"]
    assert [(q["row"], q["level"], q["value"]) for q in flagged] == ([(2, "verify", closed_date)] if listed else [])
