"""Safe cells for every workbook landaudit writes (SPEC §9, §14).

Text from inputs is always written as a string cell, never as a formula, number or URL; text that a
spreadsheet could take for a formula or DDE call (starting with = + - @, their full-width forms, tab
or CR) gets a leading apostrophe (OWASP "CSV injection" advice), real numbers are never touched;
characters that XML 1.0 forbids are removed; sheet names obey Excel's rules; column widths count CJK
characters double.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime

FORMULA_STARTS = frozenset("=+-@＝＋－＠\t\r")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
XML_ILLEGAL_EXCEPT_NUL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")  # NUL: a separator
_SHEET_ILLEGAL = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_NAME = 31
MAX_CELL_CHARS = 32767
XLSX_MAX_ROWS = 1_048_576
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


def safe_text(value: object) -> str:
    """The text to put in a string cell: XML-clean, neutralised, within Excel's cell limit."""
    text = _XML_ILLEGAL.sub("", str(value))
    if text and text[0] in FORMULA_STARTS:
        text = "'" + text
    return text[:MAX_CELL_CHARS]


def safe_sheet_name(name: str, taken: set[str] | None = None) -> str:
    """≤ 31 characters, none of []:*?/\\, not blank, unique (case-insensitive) within `taken`."""
    base = _SHEET_ILLEGAL.sub("_", _XML_ILLEGAL.sub("", name)).strip("'") or "Sheet"
    base = base[:MAX_SHEET_NAME]
    taken = taken if taken is not None else set()
    candidate, n = base, 1
    while candidate.lower() in {t.lower() for t in taken}:
        n += 1
        suffix = f"_{n}"
        candidate = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


_FILE_ILLEGAL = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_file_stem(name: str) -> str:
    """A file name made from data (a 镇街, a department, a scope) that stays in its folder: no path
    separators, no leading dots (so never `..`), nothing Windows forbids, at most 100 characters."""
    stem = _FILE_ILLEGAL.sub("_", name).strip().lstrip(".").strip()[:100]
    return stem or "未命名"


def display_width(value: object) -> int:
    """Width in Excel character units: CJK and other wide characters count double."""
    if value is None:
        return 0
    if isinstance(value, float):
        text = f"{value:,.2f}"
    elif isinstance(value, (date, datetime)):
        text = "2023-05-01"
    else:
        text = str(value)
    longest = max(text.split("\n"), key=len) if "\n" in text else text
    if longest.isascii():
        return len(longest)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def column_width(header: str, values: list, *, minimum: int = 6, maximum: int = 50) -> float:
    """From the header and the first 500 values (each distinct one measured once)."""
    sample = values[:500]
    try:
        sample = set(sample)
    except TypeError:                      # lists (parcel codes) are not hashable
        pass
    widest = max([display_width(header)] + [display_width(v) for v in sample])
    return float(max(minimum, min(maximum, widest + 2)))


def write_value(ws, row: int, col: int, value: object, fmt=None) -> None:
    """Type-specific writes (xlsxwriter's write() guesses; we never let it)."""
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value, fmt)
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt)
    elif isinstance(value, (list, tuple)):
        ws.write_string(row, col, safe_text("；".join(str(v) for v in value if v is not None)), fmt)
    else:
        ws.write_string(row, col, safe_text(value), fmt)
