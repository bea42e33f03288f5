"""Cell normalisers (SPEC §4). Each takes a raw cell value as a reader returns it (str, float,
int, bool, date, datetime or None) and returns the canonical value, None for an empty cell, or
raises CellError with a finding code when the cell cannot be understood.

All normalisers are idempotent: normalising a normalised value gives it back unchanged.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from datetime import date, datetime, timedelta

from landaudit.ingest.units import UNIT_ALIASES, convert, find_unit


class CellError(ValueError):
    """A cell that cannot be understood; `code` is a key of findings.FINDING_CODES."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code, self.detail = code, detail


# SPEC §4: `—`, `-`, `/`, `无`, empty → null (for numbers, dates and codes; 无 is "no" for yes/no).
NULL_TOKENS = frozenset({"", "-", "--", "—", "——", "–", "/", "\\", "无", "空", "null", "none", "n/a", "na", "#n/a"})
_WHITESPACE = re.compile(r"\s+")
_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")", "｛": "(", "｝": ")"})


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def clean_text(value: object) -> str | None:
    """Display text: NFKC-free (keeps what the department wrote), trimmed, inner runs of
    whitespace collapsed to one space, None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        value = value.date()
    text = _WHITESPACE.sub(" ", str(value)).strip()
    return text or None


def is_null_token(text: str) -> bool:
    return _WHITESPACE.sub("", nfkc(text)).lower() in NULL_TOKENS


def compact(text: str) -> str:
    """NFKC, no whitespace at all, brackets unified to ASCII (): the form used for matching.
    NFKC runs again after the whitespace goes (a removed space can join a combining mark to a
    letter), so compacting is idempotent."""
    return nfkc(_WHITESPACE.sub("", nfkc(text)).translate(_BRACKETS))


# ---------------------------------------------------------------- numbers

MAX_MAGNITUDE = 1e12   # after unit conversion; keeps every derived figure (m² = 亩 × 666.67, sums) finite
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_NUMBER_AND_TAIL = re.compile(r"^([+-]?[\d.,]+(?:[eE][+-]?\d+)?)(.*)$")
_UNIT_TAIL = re.compile("|".join(sorted(map(re.escape, UNIT_ALIASES), key=len, reverse=True)))


def parse_number(value: object, *, unit_kind: str | None = None, unit: str | None = None,
                 canonical_unit: str | None = None) -> float | None:
    """`12,345.6`, full-width digits, `12%`, numbers stored as text; a unit written in the cell
    (`12.5亩`) wins over the column's unit. Converts `unit` → `canonical_unit` when given."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError("invalid_number")
    if isinstance(value, (int, float)):
        number = float(value)
        cell_unit = None
    elif isinstance(value, (date, datetime, timedelta)):
        raise CellError("invalid_number")
    else:
        text = _WHITESPACE.sub("", nfkc(str(value))).replace("，", ",")
        if text.lower() in NULL_TOKENS:
            return None
        scale = 1.0
        if text.endswith("%"):
            text, scale = text[:-1], 0.01
        cell_unit = None
        if unit_kind:
            match = _NUMBER_AND_TAIL.match(text)
            number_part, tail = match.groups() if match else (text, "")
            if tail:
                cell_unit = find_unit(tail, unit_kind)
                if cell_unit is None or _UNIT_TAIL.sub("", tail.lower()) != "":
                    raise CellError("invalid_number")
                text = number_part
        text = text.replace(",", "")
        if not _NUMBER.match(text):
            raise CellError("invalid_number")
        number = float(text) * scale
    if not math.isfinite(number):
        raise CellError("invalid_number")
    if unit_kind and canonical_unit:
        number = convert(number, unit_kind, cell_unit or unit or canonical_unit, canonical_unit)
    if abs(number) > MAX_MAGNITUDE:
        raise CellError("number_out_of_range")     # 1e300 亩 is a typo or a corrupted cell, not land
    return number


def parse_year(value: object) -> int | None:
    """Building year: 1995, '1995', '1995年', a date. Plausible 1800–2100."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError("invalid_year")
    if isinstance(value, (date, datetime)):
        year = value.year
    elif isinstance(value, (int, float)):
        if not math.isfinite(value) or not float(value).is_integer():
            raise CellError("invalid_year")
        year = int(value)
    else:
        text = _WHITESPACE.sub("", nfkc(str(value)))
        if text.lower() in NULL_TOKENS:
            return None
        match = re.fullmatch(r"(\d{4})(年|年建成|年代)?", text)
        if not match:
            raise CellError("invalid_year")
        year = int(match.group(1))
    if not 1800 <= year <= 2100:
        raise CellError("invalid_year")
    return year


# ---------------------------------------------------------------- yes/no

_TRUE = frozenset({"是", "有", "符合", "y", "yes", "√", "✓", "✔", "1", "true", "对", "规上", "规模以上", "已办理", "合法"})
_FALSE = frozenset({"否", "无", "不符合", "n", "no", "×", "✗", "✘", "x", "0", "false", "没有", "规下", "规模以下", "未办理", "不合法"})


def parse_bool(value: object) -> bool | None:
    """是/否, 有/无, 符合/不符合, Y/N, √/×, 1/0 (SPEC §4); 规上/规下 for above_scale."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = _WHITESPACE.sub("", nfkc(str(value))).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text in NULL_TOKENS:
        return None
    raise CellError("invalid_bool")


# ---------------------------------------------------------------- dates

_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
DATE_MIN, DATE_MAX = date(1949, 10, 1), date(2100, 12, 31)


def parse_date(value: object) -> date | None:
    """Real date cells, Excel serials, 2023-05-01, 2023/5/1, 2023.5.1, 2023年5月1日, 20230501."""
    if value is None:
        return None
    if isinstance(value, datetime):
        result = value.date()
    elif isinstance(value, date):
        result = value
    elif isinstance(value, bool):
        raise CellError("invalid_date")
    elif isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise CellError("invalid_date")
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            return parse_date(str(int(value)))
        if not 1 <= value < 2958466:
            raise CellError("invalid_date")
        result = _EXCEL_EPOCH + timedelta(days=int(value))
    else:
        text = _WHITESPACE.sub("", nfkc(str(value)))
        if text.lower() in NULL_TOKENS:
            return None
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    result = date(*(int(g) for g in match.groups()[:3]))
                except ValueError:
                    raise CellError("invalid_date") from None
                break
        else:
            raise CellError("invalid_date")
    if not DATE_MIN <= result <= DATE_MAX:
        raise CellError("date_out_of_range")
    return result


# ---------------------------------------------------------------- codes

_CODE_SEPARATORS = re.compile(r"[\s\-_.·/\\|,，、]+")
PARCEL_CODE_LENGTH, UNIT_CODE_LENGTH = 19, 28


def _code_text(value: object, removed: re.Pattern[str]) -> str | None:
    """A code cell as text: NFKC, `removed` characters dropped, upper case (NFKC again after both,
    so it is idempotent). A code that arrived as a number is already corrupted: refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError("invalid_code")
    if isinstance(value, (int, float)):
        raise CellError("code_stored_as_number")
    text = nfkc(removed.sub("", nfkc(str(value))).upper())
    return None if text.lower() in NULL_TOKENS else text


def parcel_code_pattern(county_code: str) -> re.Pattern[str]:
    """GB/T 37346 宗地代码: county + 地籍区 + 地籍子区 + 特征码 + 顺序号 (SPEC §4)."""
    return re.compile(rf"{re.escape(county_code)}[0-9]{{6}}[GJZ][ABSXCDEFHWY][0-9]{{5}}\Z")


def parse_parcel_code(value: object) -> str | None:
    """NFKC, no spaces or separators, upper case; a 28-char 不动产单元号 → its 19-char 宗地代码.
    A code that arrives as a number is refused: more than 15 digits cannot survive a float."""
    text = _code_text(value, _CODE_SEPARATORS)
    if text is not None and len(text) == UNIT_CODE_LENGTH:
        text = text[:PARCEL_CODE_LENGTH]
    return text


# SPEC §4 (rev. 2): a cell's codes are also split on spaces when every piece is a complete code by
# the GB/T 37346 layout (any county: a code of another county is still kept and flagged later).
_LIST_SEPARATORS = re.compile(r"[、,，;；/\n\r\u2028\u2029]+")
_COMPLETE_CODE = re.compile(r"[0-9]{12}[GJZ][ABSXCDEFHWY][0-9]{5}(?:[FLQW][0-9]{8})?")


def _space_pieces(part: str) -> list[str]:
    """The space-separated pieces of one part when each is a complete 19- or 28-character code,
    else the part whole (its spaces are then removed inside the one code)."""
    pieces = part.split()
    if len(pieces) > 1 and all(_COMPLETE_CODE.fullmatch(nfkc(p).upper()) for p in pieces):
        return pieces
    return [part]


def split_parcel_codes(value: object) -> list[str] | None:
    """Several codes per cell, separated by 、,，;；/ or a line break, or by spaces when every
    space-separated piece is a complete standard code (SPEC §3, §4 rev. 2). Each code is
    normalised as parse_parcel_code does; repeats are dropped, the order kept."""
    if value is None:
        return None
    if isinstance(value, list):
        parts = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError("code_stored_as_number")
    else:
        parts = [piece for part in _LIST_SEPARATORS.split(nfkc(str(value))) for piece in _space_pieces(part)]
    codes = []
    for part in parts:
        code = parse_parcel_code(part)
        if code and code not in codes:
            codes.append(code)
    return codes or None


def join_parcel_codes(codes: list[str] | None) -> str | None:
    """The ledger's `parcel_code` text: its codes joined with 、 (one code: the code itself)."""
    return "、".join(codes) if codes else None


CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


_CREDIT_VALUES = {ch: i for i, ch in enumerate(CREDIT_ALPHABET)}


def credit_check_char(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters."""
    if len(first17) != len(CREDIT_WEIGHTS):
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(map(operator.mul, map(_CREDIT_VALUES.__getitem__, first17), CREDIT_WEIGHTS))
    except KeyError as missing:
        raise ValueError(f"{missing} is not a credit-code character") from None
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_valid(code: str | None) -> bool:
    if code is None or len(code) != 18 or not _CREDIT_VALUES.keys() >= set(code):
        return False
    return credit_check_char(code[:17]) == code[17]


def parse_credit_code(value: object) -> str | None:
    """NFKC, no spaces, upper case. Validity is checked separately: invalid codes are kept."""
    return _code_text(value, _WHITESPACE)


# ---------------------------------------------------------------- names and categories

def name_key(value: object) -> str | None:
    """Enterprise name for matching only (SPEC §4): NFKC, brackets unified, no whitespace."""
    if value is None:
        return None
    key = compact(str(value))
    return key or None


def parse_name(value: object) -> str | None:
    text = clean_text(value)
    if text is None or is_null_token(text):
        return None
    return text


def parse_ownership(value: object) -> str | None:
    text = clean_text(value)
    if text is None or is_null_token(text):
        return None
    key = compact(text)
    if "集体" in key:
        return "集体"
    if "国有" in key or key == "国家":
        return "国有"
    raise CellError("invalid_choice")


SEVERITIES = ("一般", "较大", "重大")


_SEVERITY_WORDS = tuple((level, (level,)) for level in ("重大", "较大", "一般"))


def parse_severity(value: object, words: tuple[tuple[str, tuple[str, ...]], ...] = _SEVERITY_WORDS) -> str | None:
    """一般 < 较大 < 重大; 重大事故隐患 = 重大 (SPEC §3). `words`: (severity, words) from the most
    severe down, as [ingest.severities] configures them; a cell containing a word is that level."""
    text = clean_text(value)
    if text is None or is_null_token(text):
        return None
    key = compact(text)
    for severity, needles in words:
        if any(compact(word) in key for word in needles):
            return severity
    raise CellError("invalid_choice")


# The template's dropdown choices (export/templates.py); every one is in the default vocabulary.
STATUSES = ("未整改", "整改中", "已整改", "已销号", "整改不合格")
CLOSED, FAILED, OPEN = "closed", "failed", "open"
_REMARK = re.compile(r"\([^()]*\)")          # after compact(): （…）, (…), 【…】 and […] are all (…)


def status_key(text: str) -> str:
    """A status as compared with the vocabulary (SPEC §3 rev. 2): NFKC, no whitespace at all,
    brackets unified. Parenthesised remarks are still in it (see StatusReader.read)."""
    return compact(text)


def parse_status(value: object) -> str | None:
    """The status as the department wrote it, cleaned (trimmed, whitespace collapsed); None when
    blank. Its state (closed / failed / open) is read by StatusReader, which needs the config."""
    return parse_name(value)


class StatusReader:
    """SPEC §3 (rev. 2): the state of a status text. `read(text)` gives (state, recognised):
    - the text's remarks in brackets are dropped (整改中（未销号） → 整改中), the rest compared
      exactly (not as a substring) with the failed, open and closed words, in that order;
    - a text containing a negation (anywhere, remarks included) is never closed: a closed word
      with a negation reads as open and unrecognised (已销号（未验收）);
    - any other text reads as open and unrecognised (the conservative reading).
    `closed` may be extended by the deprecated alias rules.closed_statuses."""

    def __init__(self, closed, failed, open_, negations):
        self.failed = frozenset(map(status_key, failed))
        self.open = frozenset(map(status_key, open_)) - self.failed
        self.closed = frozenset(map(status_key, closed)) - self.failed - self.open
        self.negations = tuple(k for k in map(status_key, negations) if k)
        self._memo: dict[str, tuple[str, bool]] = {}

    @classmethod
    def of(cls, config) -> StatusReader:
        words = config.settings.ingest.statuses
        closed = [*words.closed, *config.settings.rules.closed_statuses]
        return cls(closed, words.failed, words.open, words.negations)

    def read(self, text: str) -> tuple[str, bool]:
        if text in self._memo:
            return self._memo[text]
        full = status_key(text)
        core = full
        while True:
            shorter = _REMARK.sub("", core)
            if shorter == core:
                break
            core = shorter
        if core in self.failed:
            reading = (FAILED, True)
        elif core in self.open:
            reading = (OPEN, True)
        elif core in self.closed:
            reading = (OPEN, False) if self.negation(full) else (CLOSED, True)
        else:
            reading = (OPEN, False)
        if len(self._memo) < 10_000:
            self._memo[text] = reading
        return reading

    def negation(self, text: str) -> str | None:
        """The first negation word the (compacted) text contains."""
        return next((word for word in self.negations if word in text), None)


def parse_acceptance(value: object) -> str | None:
    text = clean_text(value)
    if text is None or is_null_token(text):
        return None
    key = compact(text)
    if "不合格" in key or "未通过" in key:
        return "不合格"
    if "合格" in key or "通过" in key:
        return "合格"
    raise CellError("invalid_choice")


def match_township(text: str, townships: list[str]) -> str | None:
    """The official township a cell names: exact, 陶朱 → 陶朱街道, 陶朱街道办事处 → 陶朱街道."""
    key = compact(text)
    if key in townships:
        return key
    for official in townships:
        stem = official.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        if key == stem or key.startswith(official):
            return official
    return None
