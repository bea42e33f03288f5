"""Find the header row and map columns to canonical fields (SPEC §3–§4).

The header is the row (or parent + child row pair of a two-row merged header) among the first
rows of a sheet whose cells match the most canonical fields of one dataset. Header text is
compared after NFKC, with all whitespace removed, （）[]【】 unified to (), and a unit suffix
(`（亩）`, `/㎡`) dropped and remembered as the column's unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from landaudit.config import DatasetSpec, FieldSpec
from landaudit.ingest.normalise import compact
from landaudit.ingest.units import UNIT_ALIASES, find_unit

_MARKERS = "*※★☆"
_TRAILING_GROUP = re.compile(r"^(.+?)\(([^()]*)\)$")
_TRAILING_SLASH = re.compile(r"^(.+?)/([^/]+)$")
_LEADING_NUMBER = re.compile(r"^(\d{1,2}[.、]|\(\d{1,2}\))(?=\D)")
MIN_FIELDS = 2   # a header must match at least this many fields of its dataset


@dataclass(frozen=True, slots=True)
class HeaderKey:
    exact: str             # compact form
    base: str              # compact form without a trailing (…) or /unit
    unit: str | None       # a unit named in the dropped suffix


def header_key(text: str) -> HeaderKey:
    key = compact(text).strip(_MARKERS)
    key = _LEADING_NUMBER.sub("", key)
    base, unit = key, None
    group = _TRAILING_GROUP.match(key)
    slash = _TRAILING_SLASH.match(key)
    if group:
        base = group.group(1)
        unit = find_unit(group.group(2))
    elif slash and _is_unit(slash.group(2)):
        base, unit = slash.group(1), find_unit(slash.group(2))
    return HeaderKey(key, base, unit)


def _is_unit(text: str) -> bool:
    text = text.removeprefix("单位:").removeprefix("单位").lower()
    return text in UNIT_ALIASES


class SynonymIndex:
    """Header key → field, for one dataset. Exact spellings win over suffix-stripped ones."""

    def __init__(self, spec: DatasetSpec):
        self.exact: dict[str, FieldSpec] = {}
        self.base: dict[str, FieldSpec] = {}
        for spec_field in spec.fields:
            for synonym in [spec_field.name, *spec_field.synonyms]:
                key = header_key(synonym)
                self.exact.setdefault(key.exact, spec_field)
                self.base.setdefault(key.base, spec_field)

    def lookup(self, key: HeaderKey) -> FieldSpec | None:
        if not key.exact:
            return None
        return (self.exact.get(key.exact) or self.exact.get(key.base)
                or self.base.get(key.exact) or self.base.get(key.base))


@dataclass
class ColumnMap:
    index: int             # 0-based column
    field: FieldSpec
    header: str            # the source header as written (parent/child joined with "/")
    unit: str | None       # unit named in the header, else None (the field's default applies)


@dataclass
class HeaderMatch:
    dataset: str
    header_row: int                    # 1-based Excel row of the last header row
    header_rows: int                   # 1, or 2 for a parent + child header
    columns: list[ColumnMap]
    unmapped: list[str] = field(default_factory=list)
    score: float = 0.0

    @property
    def field_names(self) -> set[str]:
        return {c.field.name for c in self.columns}


def _cell_text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _parents(row: list, merged: list, row_index: int) -> list[str]:
    """Parent header texts, spread over the columns a horizontal merge covers."""
    texts = [_cell_text(v) for v in row]
    for (r0, c0), (r1, c1) in merged:
        if r0 <= row_index <= r1 and c1 > c0 and c0 < len(texts):
            value = _cell_text(row[c0]) if r0 == row_index else ""
            for c in range(c0, min(c1 + 1, len(texts))):
                texts[c] = texts[c] or value
    return texts


def _candidate_columns(rows: list[list], merged: list, r: int, two_rows: bool) -> list[tuple[int, str]]:
    """(column, header text) pairs for a header at row r (0-based), or rows r and r+1."""
    row = rows[r]
    if not two_rows:
        return [(c, _cell_text(v)) for c, v in enumerate(row) if _cell_text(v)]
    parents = _parents(row, merged, r)
    child = rows[r + 1]
    width = max(len(parents), len(child))
    columns = []
    for c in range(width):
        parent = parents[c] if c < len(parents) else ""
        kid = _cell_text(child[c]) if c < len(child) else ""
        if kid and parent and parent != kid:
            columns.append((c, f"{parent}/{kid}"))
        elif kid or parent:
            columns.append((c, kid or parent))
    return columns


def _map_columns(columns: list[tuple[int, str]], index: SynonymIndex) -> tuple[list[ColumnMap], list[str]]:
    mapped: list[ColumnMap] = []
    unmapped: list[str] = []
    seen: set[str] = set()
    for c, text in columns:
        spec_field, unit = None, None
        # "parent/child": try the child, then the parent with the child as its unit, then the whole.
        parts = text.split("/") if "/" in text else []
        attempts = [text]
        if len(parts) == 2:
            parent, kid = parts
            attempts = [kid, f"{parent}({kid})", parent, text]
        for attempt in attempts:
            key = header_key(attempt)
            spec_field = index.lookup(key)
            if spec_field:
                unit = key.unit
                break
        if spec_field and spec_field.name not in seen:
            seen.add(spec_field.name)
            mapped.append(ColumnMap(c, spec_field, text, unit))
        elif compact(text) not in ("序号", "编号序号", "序"):
            unmapped.append(text)
    return mapped, unmapped


def _satisfies(spec: DatasetSpec, names: set[str]) -> bool:
    if any(f.required and f.name not in names for f in spec.fields):
        return False
    return not spec.required_any or any(n in names for n in spec.required_any)


def find_header(rows: list[list], merged: list, specs: dict[str, DatasetSpec],
                indexes: dict[str, SynonymIndex], *, search_rows: int,
                hint_text: str = "") -> tuple[HeaderMatch | None, str]:
    """The best header over the first `search_rows` rows, or (None, why) when none fits."""
    best: HeaderMatch | None = None
    near_miss: tuple[int, str, set[str]] | None = None
    limit = min(search_rows, len(rows))
    for r in range(limit):
        for two_rows in (False, True):
            if two_rows and r + 1 >= len(rows):
                continue
            columns = _candidate_columns(rows, merged, r, two_rows)
            if len(columns) < MIN_FIELDS:
                continue
            for name, spec in specs.items():
                mapped, unmapped = _map_columns(columns, indexes[name])
                names = {m.field.name for m in mapped}
                if len(names) < MIN_FIELDS:
                    continue
                if not _satisfies(spec, names):
                    if near_miss is None or len(names) > near_miss[0]:
                        near_miss = (len(names), name, names)
                    continue
                bonus = 0.5 if any(k in hint_text for k in spec.file_keywords) else 0.0
                score = len(names) + bonus - (0.25 if two_rows else 0.0)
                if best is None or score > best.score:
                    best = HeaderMatch(name, r + 1 + int(two_rows), 1 + int(two_rows),
                                       mapped, unmapped, score)
    if best is not None:
        return best, ""
    if near_miss is not None:
        _, name, names = near_miss
        spec = specs[name]
        missing = [f.synonyms[0] for f in spec.fields if f.required and f.name not in names]
        if spec.required_any and not any(n in names for n in spec.required_any):
            missing.append("/".join(spec.field(n).synonyms[0] for n in spec.required_any))
        return None, f"{spec.title}的必填列“{'、'.join(missing)}”"
    return None, "任何已知列名（如 地块编码、企业名称、隐患等级）"
