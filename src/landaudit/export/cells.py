"""Safe cells for every workbook landaudit writes (SPEC §9, §14).

Text from inputs is always written as a string cell, never as a formula, number or URL, and kept
exactly as written: text that a spreadsheet could take for a formula or DDE call (starting with = + - @,
their full-width forms, tab or CR) gets Excel's quote-prefix cell format (quotePrefix="1", what Excel
itself gives text typed as '=x), so editing the cell never turns it into a formula (SPEC §9 rev. 2: no
added apostrophe in the value); real numbers are never touched; characters that XML 1.0 forbids are
removed; sheet names obey Excel's rules; column widths count CJK characters double.
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
    """The text to put in a string cell: XML-clean, within Excel's cell limit, otherwise as written.
    Write it with the quote-prefix format when `needs_quote_prefix` says so."""
    text = _XML_ILLEGAL.sub("", str(value))
    if len(text) > MAX_CELL_CHARS // 2:
        # Excel's limit counts UTF-16 units: a character above U+FFFF (CJK Extension B in names)
        # counts twice. Cut where xlsxwriter cuts, never inside such a character (issue 15).
        text = text.encode("utf-16-le")[:2 * MAX_CELL_CHARS].decode("utf-16-le", "ignore")
    return text


def needs_quote_prefix(text: str) -> bool:
    """Text (as `safe_text` returns it) that a spreadsheet would take for a formula or DDE call."""
    return bool(text) and text[0] in FORMULA_STARTS


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


def column_width(header: str, values: list, *, minimum: int = 6, maximum: int = 50,
                 header_lines: int = 1) -> float:
    """From the header (which may wrap onto `header_lines` lines) and the first 500 values (each
    distinct one measured once)."""
    sample = values[:500]
    try:
        sample = set(sample)
    except TypeError:                      # lists (parcel codes) are not hashable
        pass
    header_width = -(-display_width(header) // header_lines) if header_lines > 1 else display_width(header)
    widest = max([header_width] + [_latin_width(display_width(v)) if _is_ascii(v) else display_width(v)
                                   for v in sample])
    return float(max(minimum, min(maximum, widest + 2)))


def _is_ascii(value: object) -> bool:
    return value is not None and (not isinstance(value, str) or value.isascii())


def _latin_width(width: int) -> int:
    """Latin text (codes, numbers) in 宋体: where SimSun is missing (WPS or LibreOffice on Linux) its
    digits come from a wider font; 15 % more room keeps 19-character parcel codes whole there."""
    return -(-width * 115 // 100)


_WORD = re.compile(r"[!-~]+")          # a run of printable ASCII: a code, a number, a file name


def word_width(values: list) -> float:
    """The width the longest ASCII run (a parcel or credit code) among the first 500 values needs:
    a wrapped column is never made so narrow that it breaks a code in two."""
    longest = 0
    for value in values[:500]:
        text = "；".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        if isinstance(text, str):
            longest = max(longest, max(map(len, _WORD.findall(text)), default=0))
    return float(_latin_width(longest) + 2) if longest else 0.0


LINE_HEIGHT = 14.5        # points per line of 10-point text (Noto CJK, the widest line spacing seen)
MAX_ROW_HEIGHT = 409.0    # Excel's limit


_RUNS = re.compile(r"[!-~]+|[^!-~]+")     # ASCII words (never broken) and the text between them
_LONG_WORD = re.compile(r"[!-~]{7,}")      # a code, not a short number


def text_lines(text: str, width: float) -> int:
    """About how many lines `text` takes wrapped in a column `width` wide (CJK counted double, from
    the UTF-8 length: C speed for a million cells; codes and numbers go whole onto the next line).
    Applications do not grow row heights on opening a file (LibreOffice keeps the default height),
    so wrapped rows get their height written."""
    if "\n" in text:
        return sum(text_lines(part, width) for part in text.split("\n"))
    room = max(1, int(width))           # 7 px a unit, CJK 13.3 px at 10 pt, less kinsoku and padding
    units = (len(text.encode()) + len(text)) // 2          # ASCII 1, CJK (3 bytes) 2
    if units <= room:
        return 1
    if not _LONG_WORD.search(text):                        # short numbers only: break anywhere
        return -(-units // room)
    lines, used = 1, 0
    for run in _RUNS.findall(text):
        if "!" <= run[0] <= "~":                            # a word: whole on this line or the next
            n = _latin_width(len(run))
            if used and used + n > room:
                lines, used = lines + 1, 0
            while n > room:
                lines, n = lines + 1, n - room
            used += n
        else:
            used += (len(run.encode()) + len(run)) // 2
            while used > room:
                lines, used = lines + 1, used - room
    return lines


def row_height(lines: int) -> float:
    return min(MAX_ROW_HEIGHT, LINE_HEIGHT * lines + 2)


def write_text(ws, row: int, col: int, value: object, fmt=None, quoted=None) -> None:
    """A string cell holding `value` as written; `quoted` is `fmt` with quote_prefix, used for text
    that starts like a formula (without one such text is still a string cell, never a formula)."""
    text = safe_text(value)
    ws.write_string(row, col, text, quoted if quoted is not None and needs_quote_prefix(text) else fmt)


def write_value(ws, row: int, col: int, value: object, fmt=None, quoted=None) -> None:
    """Type-specific writes (xlsxwriter's write() guesses; we never let it). `quoted`: see
    `write_text`."""
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
        write_text(ws, row, col, "；".join(str(v) for v in value if v is not None), fmt, quoted)
    else:
        write_text(ws, row, col, value, fmt, quoted)
