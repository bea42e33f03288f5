"""Turn one sheet below its header into skipped rows (with a kind), rejected rows (with one finding
per row × column × rule) and candidate records (canonical values + source position).

Duplicates are decided later, over the whole dataset, by pipeline.py (SPEC §4).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from landaudit.config import Config, DatasetSpec, FieldSpec
from landaudit.findings import REJECT, VERIFY, WARNING, Finding, make_finding
from landaudit.ingest import normalise as n
from landaudit.ingest.category import UNDECIDED, CategoryResolver, Resolution, category_from_names
from landaudit.ingest.header import HeaderMatch, header_key
from landaudit.ingest.units import MU_M2

# Skip kinds (SPEC §2/§4): counted, never silently lost.
BLANK, TOTAL, NOTE, COLUMN_NUMBERS, REPEATED_HEADER, DUPLICATE = (
    "blank", "total", "note", "column_numbers", "repeated_header", "duplicate")

_TOTAL_WORDS = ("合计", "总计", "小计", "累计")
_WHITESPACE = re.compile(r"\s+")
_NOTE_PREFIXES = ("填表人", "填报人", "审核人", "制表人", "制表", "负责人", "统计人", "联系人", "联系电话",
                  "填表日期", "填报日期", "填报单位", "注:", "注：", "注1", "备注:", "备注：", "说明:", "说明：",
                  "数据来源", "单位负责人")


CHUNK_ROWS = 50_000    # data rows normalised and handed on at a time (memory at 1M parcels)


@dataclass
class SheetRows:
    """What a sheet's data rows became. Candidate records go to `on_records` chunk by chunk
    (duplicates are decided there); `accepted` counts them."""

    accepted: int = 0
    categories: set[str] = field(default_factory=set)
    rejected_rows: set[int] = field(default_factory=set)
    skipped: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rows_total: int = 0

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class HeaderTexts:
    """The header as raw cell texts (a cheap first test) and as header keys (the real test)."""

    raw: frozenset[str]
    keys: frozenset[str]

    @classmethod
    def of(cls, match: HeaderMatch) -> HeaderTexts:
        raw = {part.strip() for c in match.columns for part in c.header.split("/")} | {c.header for c in match.columns}
        keys = {header_key(text).exact for text in raw}
        return cls(frozenset(raw), frozenset(keys))


_TOTAL_SET = frozenset(_TOTAL_WORDS)


def skip_kind(row: list, header: HeaderTexts) -> str | None:
    """The reason a row below the header holds no data, or None for a data row.
    Hot path: called for every row, so cheap tests come first."""
    present = [v for v in row if v is not None and v != ""]
    if present and type(present[0]) in (float, int) and not all(type(v) in (float, int) for v in present):
        return None                     # the usual data row: a 序号 number, then text
    filled = [t for t in map(_text, present) if t]
    if not filled:
        return BLANK
    first_raw = filled[0]
    if first_raw[0].isdigit() and all(t.isdigit() for t in filled):
        if len(filled) >= 3:
            numbers = [int(t) for t in filled]
            if numbers[0] <= 1 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
                return COLUMN_NUMBERS
        return None
    first = n.compact(first_raw)
    if first.startswith(_TOTAL_WORDS) or any(_WHITESPACE.sub("", t) in _TOTAL_SET for t in filled[1:4]):
        return TOTAL
    if first.startswith(_NOTE_PREFIXES) or (first.startswith("注") and len(filled) <= 2 and len(first) > 2 and first[1] in ":：1"):
        return NOTE
    if first in ("栏次", "甲", "序号栏次"):
        return COLUMN_NUMBERS
    if len(filled) >= 2 and any(t in header.raw for t in filled):
        hits = sum(header_key(t).exact in header.keys for t in filled)
        if hits >= max(2, 0.6 * len(filled)):
            return REPEATED_HEADER
    return None


def ledger_category_from_names(text: str, config: Config) -> str | None:
    """SPEC §3 (rev. 2): the category a "/"-separated path of names (…/folder/file/sheet) leads
    to, as ingest resolves a sheet without a 问题类别 value; None when no level decides."""
    return category_from_names(text, config)


@dataclass
class SheetContext:
    config: Config
    spec: DatasetSpec
    dataset: str
    file: str
    sheet: str
    parcel_pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.parcel_pattern = n.parcel_code_pattern(self.config.settings.county.code)
        derived = {"name", "credit_code", "parcel_code", "parcel_codes", "township", "status"}
        self.derived_fields = [f for f in self.spec.fields if f.type in derived]
        self._townships: dict[str, str | None] = {}
        self.statuses = n.StatusReader.of(self.config) if self.dataset == "ledger" else None
        self.categories = CategoryResolver(self.config, self.file, self.sheet) if self.dataset == "ledger" else None
        # an older datasets.toml names the ledger's codes field parcel_code (one code per item)
        self.codes_as_list = any(f.name == "parcel_codes" for f in self.spec.fields)

    @property
    def sheet_category(self) -> str | None:
        """The category the sheet's names (sheet, file, folders) decide; None when they do not."""
        return self.categories.sheet.category if self.categories else None

    def township(self, text: str) -> str | None:
        """The official township a cell names (memoised: a sheet repeats few names)."""
        if text not in self._townships:
            towns = self.config.settings.county.townships
            self._townships[text] = n.match_township(text, towns) if towns else text
        return self._townships[text]

    def finding(self, level: str, code: str, *, row: int | None = None, column: str | None = None,
                value: object = None, detail: str = "") -> Finding:
        return make_finding(level, code, file=self.file, sheet=self.sheet, row=row, column=column,
                            value=value, detail=detail, dataset=self.dataset)


def _choices(spec_field: FieldSpec) -> str:
    return {
        "ownership": "国有、集体",
        "severity": "一般、较大、重大",
        "acceptance": "合格、不合格",
    }.get(spec_field.type, "")


def _normaliser(spec_field: FieldSpec, ctx: SheetContext, unit: str | None) -> Callable[[object], object]:
    kind = spec_field.type
    if kind == "number":
        return lambda v: n.parse_number(v, unit_kind=spec_field.unit_kind, unit=unit or spec_field.unit,
                                        canonical_unit=spec_field.target_unit)
    return {
        "text": n.parse_name,
        "name": n.parse_name,
        "township": n.parse_name,
        "parcel_code": n.parse_parcel_code,
        "parcel_codes": n.split_parcel_codes,
        "credit_code": n.parse_credit_code,
        "year": n.parse_year,
        "bool": n.parse_bool,
        "date": n.parse_date,
        "ownership": n.parse_ownership,
        "severity": lambda v: n.parse_severity(v, ctx.config.settings.ingest.severity_words),
        "status": n.parse_status,      # the text as written; its state is derived (_status_state)
        "acceptance": n.parse_acceptance,
        "category": n.parse_name,
    }[kind]


def fill_merged_down(rows: Iterable[list], merged: list, first_data_row: int) -> Iterator[list]:
    """The rows, where a cell merged down over data rows (a 镇街 written once for three parcels)
    holds its value in every row it covers, as the department meant. Only vertical merges: a
    description merged across columns must not leak into the neighbouring fields."""
    starts: dict[int, list[tuple[int, int]]] = {}
    for (r0, c0), (r1, _c1) in merged:
        if r1 > r0 and r0 >= first_data_row:
            starts.setdefault(r0, []).append((c0, r1))
    active: list[tuple[int, int, object]] = []             # (column, last row, value)
    for r, row in enumerate(rows):
        if active:
            active = [fill for fill in active if fill[1] >= r]
            for c0, _r1, value in active:
                if c0 < len(row) and row[c0] in ("", None):
                    row[c0] = value
        for c0, r1 in starts.get(r, ()):
            if c0 < len(row):
                active.append((c0, r1, row[c0]))
        yield row


def process_sheet(rows: Iterable[list], match: HeaderMatch, ctx: SheetContext,
                  on_records: Callable[[list[dict]], None], merged: list = ()) -> SheetRows:
    """Classify every row below the header; normalise the data rows column by column, a chunk at
    a time, handing each chunk's accepted records to `on_records`. `rows` (from row 1) is read
    once, as a stream: only a chunk of data rows is held at a time."""
    out = SheetRows()
    header = HeaderTexts.of(match)
    headers = {c.field.name: c.header for c in match.columns}
    normalisers = [(c, _normaliser(c.field, ctx, c.unit)) for c in match.columns]
    chunk: list[tuple[int, list]] = []            # (Excel row number, cells)
    blanks = 0                                    # empty rows not counted yet: trailing ones are no rows at all

    def flush() -> None:
        records = _normalise_chunk(chunk, normalisers, headers, match, ctx, out)
        out.accepted += len(records)
        if ctx.dataset == "ledger":
            out.categories.update(r["category"] for r in records)
        on_records(records)
        chunk.clear()

    for index, row in enumerate(fill_merged_down(rows, merged, match.header_row)):
        if index < match.header_row:
            continue
        kind = skip_kind(row, header)
        if kind == BLANK:
            blanks += 1
            continue
        if blanks:
            out.rows_total += blanks
            out.skipped[BLANK] = out.skipped.get(BLANK, 0) + blanks
            blanks = 0
        out.rows_total += 1
        if kind:
            out.skip(kind)
            continue
        chunk.append((index + 1, row))
        if len(chunk) == CHUNK_ROWS:
            flush()
    if chunk:
        flush()
    return out


def _normalise_chunk(data: list[tuple[int, list]], normalisers: list, headers: dict[str, str],
                     match: HeaderMatch, ctx: SheetContext, out: SheetRows) -> list[dict]:
    """Normalise a chunk of data rows column by column, then check and complete each record."""
    first_finding = len(out.findings)
    values: dict[str, list] = {}
    for column, normalise in normalisers:
        results, errors = _normalised_column(data, column, normalise)
        for excel_row, raw, error in errors:
            level = REJECT if column.field.required else WARNING
            if level == REJECT:
                out.rejected_rows.add(excel_row)
            out.findings.append(ctx.finding(level, error.code, row=excel_row, column=column.header,
                                            value=_text(raw), detail=_choices(column.field)))
        values[column.field.name] = results

    records = []
    for i, (excel_row, cells) in enumerate(data):
        record = {name: column[i] for name, column in values.items()}
        problems = _check_row(record, ctx, headers, excel_row, cells, match)
        out.findings.extend(problems)
        if excel_row in out.rejected_rows or any(p.level == REJECT for p in problems):
            out.rejected_rows.add(excel_row)
            continue
        _derive(record, ctx, headers, excel_row, out.findings)
        record["source_file"], record["source_sheet"], record["source_row"] = ctx.file, ctx.sheet, excel_row
        records.append(record)
    _add_row_keys(out.findings, first_finding, data, match, ctx.dataset)
    return records


# The fields that let a department find a row after re-sorting (SPEC §9 rev. 2), first non-blank wins.
KEY_FIELDS = {"land": ("parcel_code",), "enterprise": ("name", "credit_code"),
              "ledger": ("item_id", "parcel_codes", "parcel_code", "name", "credit_code")}


def _add_row_keys(findings: list[Finding], start: int, data: list[tuple[int, list]], match: HeaderMatch,
                  dataset: str) -> None:
    """Give the chunk's row findings (findings[start:]) their row's key as written."""
    if start == len(findings):
        return
    columns = [c.index for name in KEY_FIELDS.get(dataset, ()) for c in match.columns if c.field.name == name]
    cells_of = dict(data)
    for i in range(start, len(findings)):
        finding = findings[i]
        cells = cells_of.get(finding.row)
        if cells is None:
            continue
        key = next((text for text in (_text(cells[c]) if c < len(cells) else "" for c in columns) if text), None)
        if key:
            findings[i] = replace(finding, key=key)


_MISS = object()


def _normalised_column(data: list[tuple[int, list]], column, normalise: Callable[[object], object]
                       ) -> tuple[list, list[tuple[int, object, n.CellError]]]:
    """One column's values (None for a blank or a bad cell), and its bad cells as (Excel row, raw
    cell, CellError) in row order. A column's values repeat a lot (镇街, 权属, 是/否, 土地用途):
    each distinct raw value is normalised once, until the column proves to be mostly distinct
    (codes, names), when the memo is dropped. Lists (parcel_codes) are never shared."""
    memo: dict | None = None if column.field.type == "parcel_codes" else {}
    index = column.index
    values: list = []
    errors: list = []
    append = values.append
    cell_error = n.CellError
    for seen, (excel_row, cells) in enumerate(data, start=1):
        raw = cells[index] if index < len(cells) else None
        if raw == "" or raw is None:
            append(None)
            continue
        key = (raw.__class__, raw)                 # 1, 1.0 and True are equal keys otherwise
        value = _MISS if memo is None else memo.get(key, _MISS)
        if value is _MISS:
            try:
                value = normalise(raw)
            except cell_error as err:
                value = err.with_traceback(None)   # kept in the memo: no frame cycle to keep alive
            if memo is not None:
                memo[key] = value
                if seen >= 2_000 and len(memo) > seen // 2:
                    memo = None
        if isinstance(value, cell_error):
            errors.append((excel_row, raw, value))
            append(None)
        else:
            append(value)
    return values, errors


def _check_row(record: dict, ctx: SheetContext, headers: dict[str, str], excel_row: int,
               cells: list, match: HeaderMatch) -> list[Finding]:
    """Required fields and value rules that make a row unusable (SPEC §3–§4)."""
    problems = []
    for spec_field in ctx.spec.fields:
        name = spec_field.name
        if spec_field.required and record.get(name) is None and name in headers:
            raw = _raw(cells, match, name)
            if raw == "" or n.is_null_token(raw):   # unparseable values were reported already
                problems.append(ctx.finding(REJECT, "missing_required", row=excel_row,
                                            column=headers[name], value=raw or None))
        if spec_field.positive and record.get(name) is not None and record[name] <= 0:
            problems.append(ctx.finding(REJECT, "nonpositive", row=excel_row, column=headers[name],
                                        value=_raw(cells, match, name)))
    if ctx.spec.required_any and all(record.get(k) is None for k in ctx.spec.required_any):
        problems.append(ctx.finding(REJECT, "missing_keys", row=excel_row))
    return problems


def _raw(cells: list, match: HeaderMatch, name: str) -> str:
    column = next(c for c in match.columns if c.field.name == name)
    return _text(cells[column.index]) if column.index < len(cells) else ""


def _derive(record: dict, ctx: SheetContext, headers: dict[str, str], excel_row: int,
            findings: list[Finding]) -> None:
    """Derived columns and 待核实 findings on kept rows."""
    county = ctx.config.settings.county
    for spec_field in ctx.derived_fields:
        name, value = spec_field.name, record.get(spec_field.name)
        if spec_field.type == "name":
            record[f"{name}_key"] = n.name_key(value)
        elif spec_field.type == "credit_code":
            record[f"{name}_valid"] = None if value is None else n.credit_code_valid(value)
            if value is not None and not record[f"{name}_valid"]:
                findings.append(ctx.finding(VERIFY, "credit_code_invalid", row=excel_row,
                                            column=headers.get(name), value=value))
        elif spec_field.type == "parcel_code" and value is not None:
            if not ctx.parcel_pattern.match(value):
                findings.append(ctx.finding(VERIFY, "parcel_code_nonstandard", row=excel_row,
                                            column=headers.get(name), value=value, detail=county.code))
        elif spec_field.type == "parcel_codes" and value:
            for code in value:
                if not ctx.parcel_pattern.match(code):
                    findings.append(ctx.finding(VERIFY, "parcel_code_nonstandard", row=excel_row,
                                                column=headers.get(name), value=code, detail=county.code))
        elif spec_field.type == "status":
            record[f"{name}_state"] = None if value is None else _status_state(value, ctx, headers.get(name),
                                                                              excel_row, findings)
        elif spec_field.type == "township" and value is not None:
            official = ctx.township(value)
            if official is None:
                findings.append(ctx.finding(VERIFY, "township_unknown", row=excel_row,
                                            column=headers.get(name), value=value))
            else:
                record[name] = official
    if ctx.dataset == "enterprise" and not record.get("credit_code") and not record.get("parcel_codes"):
        # SPEC §3: kept, and listed under 待核实 (it can only be linked by name)
        findings.append(ctx.finding(VERIFY, "enterprise_unlocatable", row=excel_row, value=record.get("name")))
    if ctx.dataset == "land":
        _derive_land(record, ctx, headers, excel_row, findings)
    elif ctx.dataset == "ledger":
        _derive_ledger(record, ctx, headers, excel_row, findings)


def _derive_land(record: dict, ctx: SheetContext, headers: dict[str, str], excel_row: int,
                 findings: list[Finding]) -> None:
    record["area_m2"] = record["area_mu"] * MU_M2 if record.get("area_mu") is not None else None
    code, ownership = record.get("parcel_code"), record.get("ownership")
    if code and ownership and ctx.parcel_pattern.match(code):
        by_code = "集体" if code[12] == "J" else "国有" if code[12] == "G" else None
        if by_code and by_code != ownership:
            findings.append(ctx.finding(VERIFY, "ownership_conflict", row=excel_row,
                                        column=headers.get("ownership"), value=ownership,
                                        detail=f"{by_code}（特征码 {code[12:14]}）"))


def _status_state(text: str, ctx: SheetContext, column: str | None, excel_row: int,
                  findings: list[Finding]) -> str:
    """SPEC §3 (rev. 2): closed / failed / open; an unrecognised status is open and 待核实."""
    state, recognised = ctx.statuses.read(text)
    if not recognised:
        negation = ctx.statuses.negation(n.status_key(text))
        detail = f"含否定词“{negation}”，不能算作已整改或已销号" if negation else "不在整改状态词表中"
        findings.append(ctx.finding(VERIFY, "status_unrecognised", row=excel_row, column=column, value=text,
                                    detail=detail))
    return state


def _derive_ledger(record: dict, ctx: SheetContext, headers: dict[str, str], excel_row: int,
                   findings: list[Finding]) -> None:
    # SPEC §4 (rev. 2): an item may name several parcels; `parcel_code` is their joined text
    if ctx.codes_as_list:
        record["parcel_code"] = n.join_parcel_codes(record.get("parcel_codes"))
    else:                                   # an older datasets.toml: one code per item
        code = record.get("parcel_code")
        record["parcel_codes"] = [code] if code else None
    value = record.get("category")
    resolution = ctx.categories.item(value)
    record["category"] = resolution.category or UNDECIDED
    if resolution.category is None:
        findings.append(ctx.finding(VERIFY, "ledger_category_undecided", row=excel_row,
                                    column=headers.get("category"), value=value,
                                    detail=_undecided_detail(resolution, value, ctx)))
    if (record.get("status") is None and record.get("closed_date") is not None
            and record["category"] != ctx.config.settings.rules.petition_category):
        # SPEC §6 rev. 2: closed only by a closed status; a date alone is never guessed closed
        findings.append(ctx.finding(VERIFY, "status_blank_with_closed_date", row=excel_row,
                                    column=headers.get("status") or headers.get("closed_date"),
                                    value=record["closed_date"].isoformat()))
    record["item_id_generated"] = record.get("item_id") is None
    if record["item_id_generated"]:
        # SPEC §3: a stable hash of category, keys, description and found date
        parts = [record["category"], record.get("parcel_code"), record.get("credit_code"),
                 record.get("name_key"), record.get("description"), record.get("found_date")]
        digest = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
        record["item_id"] = f"H{digest[:15].upper()}"


def _undecided_detail(resolution: Resolution, value: str | None, ctx: SheetContext) -> str:
    """Why an item's category is 未定 and which categories are candidates, in Chinese."""
    if resolution.value_unmatched:
        why = f"“{value}”不是已配置的问题类别"
    elif resolution.hints:
        why = "提示的类别强度相同"
    else:
        why = "“问题类别”为空，工作表名、文件名和部门文件夹也未指明类别"
    hints = resolution.describe()
    known = "、".join(ctx.categories.rules.names)
    return why + (f"（{hints}）" if hints else "") + (f"；可选类别：{known}" if known else "")
