"""Pydantic models of configs/landaudit.toml and configs/datasets.toml (SPEC §2–§3).

A workspace's own `configs/` wins; otherwise the defaults shipped in `landaudit/defaults/` are used.
Configs are parsed (tomllib + pydantic), never evaluated.
"""

from __future__ import annotations

import hashlib
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from landaudit.errors import ConfigError

FieldType = Literal[
    "text", "name", "township", "parcel_code", "parcel_codes", "credit_code", "number", "year",
    "bool", "date", "ownership", "severity", "status", "acceptance", "category",
]
DatasetKind = Literal["land", "enterprise", "ledger"]
CONFIG_FILES = ("landaudit.toml", "datasets.toml")


class Strict(BaseModel):
    # SPEC §13 rev. 2: config numbers are finite (TOML has inf and nan) and in range
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# A value of a table of numbers (weights, benchmarks): a NaN, zero or negative weight ranks nonsense.
Positive = Annotated[float, Field(gt=0)]


class FieldSpec(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: FieldType
    required: bool = False
    positive: bool = False
    unit_kind: Literal["area", "money"] | None = None
    unit: str | None = None
    canonical_unit: str | None = None
    synonyms: list[str] = Field(min_length=1)

    @property
    def target_unit(self) -> str | None:
        """The canonical unit values are stored in (SPEC §4: area 亩 unless set, money 万元)."""
        if self.unit_kind is None:
            return None
        return self.canonical_unit or {"area": "亩", "money": "万元"}[self.unit_kind]

    @model_validator(mode="after")
    def _units_known(self) -> FieldSpec:
        from landaudit.ingest.units import UNIT_FACTORS  # local: avoids an import cycle

        if self.unit_kind:
            known = UNIT_FACTORS[self.unit_kind]
            for unit in (self.unit, self.canonical_unit):
                if unit is not None and unit not in known:
                    raise ValueError(f"未知单位 {unit!r}，可用：{'、'.join(known)}")
        return self


class DatasetSpec(Strict):
    title: str
    department: str
    key: list[str]
    required_any: list[str] = []
    file_keywords: list[str] = []
    fields: list[FieldSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_unique_and_known(self) -> DatasetSpec:
        names = [f.name for f in self.fields]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"字段重复：{'、'.join(sorted(dupes))}")
        for name in self.required_any:
            if name not in names:
                raise ValueError(f"required_any 中的字段 {name} 未定义")
        return self

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


class DatasetsConfig(Strict):
    datasets: dict[DatasetKind, DatasetSpec]

    @field_validator("datasets")
    @classmethod
    def _all_three(cls, value: dict) -> dict:
        missing = {"land", "enterprise", "ledger"} - set(value)
        if missing:
            raise ValueError(f"缺少数据集定义：{'、'.join(sorted(missing))}")
        return value


class County(Strict):
    name: str
    code: str = Field(pattern=r"^\d{6}$")
    townships: list[str] = []


class LedgerCategoryRule(Strict):
    """One ledger category (SPEC §3 rev. 2): its own name and its department's name are the
    strongest hints; keywords rank below them, longer beating shorter."""

    category: str = Field(min_length=1)
    department: str | None = None
    keywords: list[str] = []

    @field_validator("category", "department")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("不能为空")
        return value


# SPEC §3 (rev. 2): words several departments use; never category keywords, whatever the config says.
GENERIC_CATEGORY_WORDS = ("执法", "检查", "隐患", "安全隐患", "问题")

# SPEC §3 (rev. 2) status vocabulary; compared after NFKC, spaces and parenthesised remarks removed.
CLOSED_STATUSES = ("已整改", "已销号", "整改完成", "整改完毕", "已完成", "已办结", "办结", "已落实", "整改到位")
FAILED_STATUSES = ("整改不合格", "验收不合格", "复查不合格")
OPEN_STATUSES = ("未整改", "整改中", "正在整改", "待整改", "未销号", "未办结", "逾期未整改")
STATUS_NEGATIONS = ("未", "不", "待", "尚未", "没有")


class StatusVocabulary(Strict):
    """[ingest.statuses]: the words a department's 整改状态 may use, per state."""

    closed: list[str] = list(CLOSED_STATUSES)
    failed: list[str] = list(FAILED_STATUSES)
    open: list[str] = list(OPEN_STATUSES)
    negations: list[str] = list(STATUS_NEGATIONS)

    @model_validator(mode="after")
    def _consistent(self) -> StatusVocabulary:
        from landaudit.ingest.normalise import status_key  # local: avoids an import cycle

        lists = {"closed": self.closed, "failed": self.failed, "open": self.open, "negations": self.negations}
        for name, words in lists.items():
            blank = [w for w in words if not status_key(w)]
            if blank:
                raise ValueError(f"statuses.{name} 中有空白词")
        seen: dict[str, str] = {}
        for name in ("closed", "failed", "open"):
            for word in lists[name]:
                key = status_key(word)
                if seen.get(key, name) != name:
                    raise ValueError(f"状态词“{word}”同时出现在 statuses.{seen[key]} 和 statuses.{name} 中")
                seen[key] = name
        negations = [status_key(w) for w in self.negations]
        for word in self.closed:
            hit = next((neg for neg in negations if neg in status_key(word)), None)
            if hit:
                raise ValueError(f"statuses.closed 中的“{word}”含否定词“{hit}”，含否定词的状态不能算已销号")
        return self


class IngestSettings(Strict):
    max_file_mb: float = Field(default=200, gt=0, le=1_048_576)
    max_uncompressed_mb: float = Field(default=2000, gt=0, le=1_048_576)
    header_search_rows: int = Field(default=20, ge=1, le=200)
    max_sheet_cells: int = Field(default=50_000_000, gt=0)
    isolate_file_mb: float = Field(default=1, ge=0, le=1_048_576)
    workers: int = Field(default=2, ge=1, le=16)
    # SPEC §13 rev. 2 (issue 14): each worker's address space in MB (0: automatic, ¾ of the memory
    # shared by the workers, 2–8 GiB each); each file's time limit, seconds + seconds per MB of it
    worker_memory_mb: int = Field(default=0, ge=0, le=1_048_576)
    worker_seconds: float = Field(default=60, gt=0, le=86_400)
    worker_seconds_per_mb: float = Field(default=10, ge=0, le=3_600)
    # a CSV line longer than this (KB) is refused before parsing (a 100 MB line cost minutes)
    max_line_kb: int = Field(default=1024, ge=1, le=1_048_576)
    skip_files: list[str] = []
    instruction_sheets: list[str] = []
    ledger_categories: list[LedgerCategoryRule] = []
    # Words never used as category keywords, on top of GENERIC_CATEGORY_WORDS (which always apply).
    generic_category_words: list[str] = []
    statuses: StatusVocabulary = StatusVocabulary()
    # SPEC §3: severity words, tried 重大 first, then 较大, then 一般 (a cell containing one is that level)
    severities: dict[Literal["重大", "较大", "一般"], list[str]] = {"重大": ["重大"], "较大": ["较大"], "一般": ["一般"]}

    @property
    def severity_words(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(severity, words) from the most severe down; each level's own name always counts."""
        return tuple((level, tuple(dict.fromkeys([level, *self.severities.get(level, [])])))
                     for level in ("重大", "较大", "一般"))

    @field_validator("ledger_categories")
    @classmethod
    def _categories_unique(cls, value: list[LedgerCategoryRule]) -> list[LedgerCategoryRule]:
        names = [rule.category for rule in value]
        dupes = sorted({name for name in names if names.count(name) > 1})
        if dupes:
            raise ValueError(f"问题类别重复：{'、'.join(dupes)}")
        return value


Severity = Literal["一般", "较大", "重大"]
BATCHES = ("整治提升", "拆除重建", "功能转型", "关停退出")
# Named predicates the SQL computes (sql/09_predicates.sql); batch rules may use only these.
PREDICATES = (
    "low_efficiency", "idle", "exempt", "open_major_hazard", "failed_rectification",
    "scattered_polluting", "collective", "collective_problem", "no_legal_procedures",
    "low_plot_ratio", "poor_building", "loose_management", "frequent_petitions",
    "open_safety_env_hazard", "conforms_plan", "nonconforming_plan", "plan_unknown",
    "against_industry_direction",
    "backward_capacity", "above_scale",
)


class Rules(Strict):
    """Thresholds of SPEC §6–§7 (defaults from the seed)."""

    low_efficiency_tax_per_mu: float = Field(default=5.0, gt=0)
    scattered_categories: list[str] = ["环保", "安全生产", "消防", "违法建设"]
    scattered_min_severity: Severity = "较大"
    # Deprecated alias of [ingest.statuses] closed: ingest treats these words as closed too.
    closed_statuses: list[str] = ["已整改", "已销号"]
    collective_min_plot_ratio: float = Field(default=1.0, gt=0)
    old_building_years: int = Field(default=30, ge=1, le=200)
    poor_building_conditions: list[str] = ["差", "C级", "D级"]
    collective_hazard_categories: list[str] = ["环保", "安全生产", "消防"]
    frequent_petition_count: int = Field(default=3, ge=1)
    petition_category: str = "信访"
    against_direction_industry_codes: list[str] = []


class BatchRule(Strict):
    batch: Literal["整治提升", "拆除重建", "功能转型", "关停退出"]
    all: list[str] = []
    any: list[str] = []
    none: list[str] = []

    @model_validator(mode="after")
    def _known_predicates(self) -> BatchRule:
        unknown = [p for p in self.all + self.any + self.none if p not in PREDICATES]
        if unknown:
            raise ValueError(f"未知的判定条件 {'、'.join(unknown)}；可用：{'、'.join(PREDICATES)}")
        return self


RatingIndicator = Literal[
    "tax_per_mu", "va_per_mu", "revenue_per_mu", "labour_productivity", "energy_productivity",
    "emission_productivity", "rd_intensity",
]


class RatingGroup(Strict):
    weights: dict[RatingIndicator, Positive] = Field(min_length=1)
    benchmarks: dict[RatingIndicator, Positive] = {}


class Cutoffs(Strict):
    A: float = Field(default=0.25, gt=0, le=1)
    B: float = Field(default=0.70, gt=0, le=1)
    C: float = Field(default=0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Cutoffs:
        if not self.A <= self.B <= self.C:
            raise ValueError("分档比例必须满足 A ≤ B ≤ C")
        return self


class Rating(Strict):
    cutoffs: Cutoffs = Cutoffs()
    cap: float = Field(default=1.5, gt=0)
    above_scale: RatingGroup
    below_scale: RatingGroup
    policies: dict[Literal["A", "B", "C", "D", "不定等级"], dict[str, str]] = {}


class KpiTargets(Strict):
    above_scale_tax_per_mu: float = Field(default=25.0, gt=0)
    va_per_mu_growth: float = Field(default=0.08, ge=-1, le=10)
    open_major_items: int = Field(default=0, ge=0)


class ExportSettings(Strict):
    responsible: dict[str, str] = {}
    category_departments: dict[str, str] = {}


class Settings(Strict):
    county: County
    ingest: IngestSettings = IngestSettings()
    scopes: dict[str, list[str]] = {"city": []}
    scope_names: dict[str, str] = {}          # key → Chinese display name (SPEC §12 rev. 2; scopes.py)
    phases: dict[int, str] = {}
    rules: Rules = Rules()
    batch_rules: list[BatchRule] = Field(min_length=1)
    rating: Rating
    kpi_targets: KpiTargets = KpiTargets()
    export: ExportSettings = ExportSettings()

    @model_validator(mode="after")
    def _phases_name_scopes(self) -> Settings:
        for year, scope in self.phases.items():
            if scope not in self.scopes:
                raise ValueError(f"phases.{year} 指向未定义的范围 {scope!r}")
        for key, name in self.scope_names.items():
            if key not in self.scopes:
                raise ValueError(f"scope_names.{key} 指向未定义的范围 {key!r}")
            if not name.strip():
                raise ValueError(f"scope_names.{key} 不能为空")
        return self


class Config(BaseModel):
    """Both config files, with where they came from (for messages and the run manifest)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    settings: Settings
    datasets: DatasetsConfig
    sources: dict[str, str]   # file name → path or "内置默认"
    digest: str               # sha256 over both files' bytes: the config hash of SPEC §13

    @cached_property
    def dataset_specs(self) -> dict[str, DatasetSpec]:
        return dict(self.datasets.datasets)


def _read_toml(name: str, workspace: Path | None) -> tuple[bytes, str]:
    if workspace is not None:
        path = workspace / "configs" / name
        if path.is_file():
            try:
                return path.read_bytes(), str(path)
            except OSError as exc:      # SPEC §2 rev. 2: an unreadable config is exit 2, not 70
                reason = "没有读取权限" if isinstance(exc, PermissionError) else (exc.strerror or type(exc).__name__)
                raise ConfigError(str(path), "", f"无法读取（{reason}）：请检查文件权限") from None
    return resources.files("landaudit.defaults").joinpath(name).read_bytes(), f"内置默认 {name}"


def _parse(model: type[BaseModel], raw: bytes, source: str) -> BaseModel:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(source, "", "文件不是 UTF-8 编码，请用 UTF-8 保存") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"TOML 语法错误：{_toml_reason(exc, text)}") from None
    except RecursionError:          # tomllib parses nested arrays/tables recursively (issue 14 item 8)
        raise ConfigError(source, "", "数组或表嵌套层数过多，无法解析：请检查是否有多余的 [ 或 {") from None
    try:
        return model.model_validate(data)
    except RecursionError:
        raise ConfigError(source, "", "数组或表嵌套层数过多，无法解析：请检查是否有多余的 [ 或 {") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _key_path(data, err["loc"])
        line = _key_line(text, err["loc"])
        raise ConfigError(source, f"{key}（第 {line} 行）" if line else key, _chinese_reason(err)) from None


# tomllib's messages → Chinese (issue 13 item 6); the position is added as 第 N 行第 M 列.
_TOML_REASONS = (
    (r"Expected '\]' at the end of a table declaration", "表名 [...] 缺少结尾的 ]"),
    (r"Expected '\]\]' at the end of an array declaration", "表数组名 [[...]] 缺少结尾的 ]]"),
    (r"Invalid value", "值无效：文字要加英文双引号（如 name = \"诸暨市\"），数字、true/false 和日期不加"),
    (r"Cannot overwrite a value", "同一个键重复赋值"),
    (r"Cannot declare (.*) twice", "表 {0} 重复定义"),
    (r"Cannot mutate immutable namespace (.*)", "{0} 已经定义过，不能再添加"),
    (r"Expected '=' after a key in a key/value pair", "键后面缺少 ="),
    (r"Expected newline or end of document after a statement", "一行只能写一个 键 = 值，后面有多余的内容"),
    (r"Unclosed inline table", "内联表 { } 缺少结尾的 }"),
    (r"Unclosed array", "数组 [ ] 缺少结尾的 ]"),
    (r"Expected \"'\"|Expected '\"'|Unterminated string|Unclosed string", "字符串缺少结尾的引号"),
    (r"Illegal character", "含有不允许的字符（如制表符以外的控制字符）"),
    (r"Invalid statement", "无法识别的语句"),
    (r"Invalid initial character for a key part", "键名开头的字符不允许（中文键名要加英文双引号）"),
)


def _toml_reason(exc: tomllib.TOMLDecodeError, text: str) -> str:
    import re

    message = str(exc)
    reason, line, column = message, None, None
    if found := re.search(r"\s*\(at line (\d+), column (\d+)\)$", message):
        reason, line, column = message[:found.start()], int(found.group(1)), int(found.group(2))
    elif message.endswith("(at end of document)"):
        reason, line = message.removesuffix("(at end of document)").strip(), text.count("\n") + (not text.endswith("\n"))
    chinese = next((template.format(*m.groups()) for pattern, template in _TOML_REASONS
                    if (m := re.match(pattern, reason))), f"无法解析（{reason}）")
    if line is None:
        return chinese
    where = f"第 {line} 行" + (f"第 {column} 列" if column else "（文件末尾）")
    lines = text.splitlines()
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"{where}{f'（{shown[:40]}）' if shown else ''}：{chinese}"


def _key_line(text: str, loc: tuple) -> int | None:
    """The 1-based line of the key a pydantic error names (best effort: the last key of the path,
    after the table header holding the keys before it)."""
    import re

    keys = [str(step) for step in loc if isinstance(step, str)]
    if not keys:
        return None
    last, parents = keys[-1], keys[:-1]
    assign = re.compile(rf"^\s*\"?{re.escape(last)}\"?\s*=")
    in_table = not parents
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            header = stripped.strip("[]").split("#")[0].strip()
            in_table = not parents or all(p in header for p in parents)
            if header.split(".")[-1].strip().strip('"') == last and (not parents or in_table):
                return number
            continue
        if in_table and assign.match(line):
            return number
    return None


def _key_path(data: object, loc: tuple) -> str:
    """datasets.land.fields.6(area_mu).unit: list items are named by their `name` when they have one."""
    parts, node = [], data
    for step in loc:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        named = isinstance(step, int) and isinstance(node, dict) and "name" in node
        parts.append(f"{step}({node['name']})" if named else str(step))
    return ".".join(parts)



def _chinese_reason(err: dict) -> str:
    kind, msg, ctx = err["type"], err["msg"], err.get("ctx") or {}
    value = err.get("input")
    shown = (f"（现在是 {value!r}）" if isinstance(value, (str, int, float, bool)) and kind not in ("missing", "extra_forbidden")
             else "")
    expected = msg.split("Input should be ")[-1].replace(" or ", "、").replace("'", "")
    reasons = {
        "missing": "缺少必填项",
        "extra_forbidden": "不认识的配置项（拼写错误？）",
        "literal_error": f"取值不在允许范围内，可用：{expected}",
        "enum": f"取值不在允许范围内，可用：{expected}",
        "string_pattern_mismatch": "格式不对" + ("（应为 6 位数字）" if ctx.get("pattern") == r"^\d{6}$" else ""),
        "greater_than": f"必须大于 {ctx.get('gt', 0)}", "greater_than_equal": f"不能小于 {ctx.get('ge')}",
        "less_than": f"必须小于 {ctx.get('lt')}", "less_than_equal": f"不能大于 {ctx.get('le')}",
        "too_short": "不能为空",
        "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
        "float_parsing": "应为数字", "float_type": "应为数字",
        "finite_number": "必须是有限的数字（不能是 nan 或 inf）",
        "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
        "string_type": "应为文字（加英文双引号）", "list_type": "应为列表，如 [\"a\", \"b\"]",
        "dict_type": "应为表（[名称] 或 { 键 = 值 }）", "model_type": "应为表（[名称] 或 { 键 = 值 }）",
        "date_parsing": "应为日期，如 2023-12-31", "date_type": "应为日期，如 2023-12-31",
    }
    if kind in reasons:
        return reasons[kind] + shown
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return f"类型或取值不对{shown}（{msg}）"


def load_config(workspace: Path | None = None) -> Config:
    """Load and validate both configs; raise ConfigError naming the file, key and reason."""
    raw_settings, settings_src = _read_toml("landaudit.toml", workspace)
    raw_datasets, datasets_src = _read_toml("datasets.toml", workspace)
    settings = _parse(Settings, raw_settings, settings_src)
    datasets = _parse(DatasetsConfig, raw_datasets, datasets_src)
    digest = hashlib.sha256(raw_settings + b"\0" + raw_datasets).hexdigest()
    return Config(
        settings=settings, datasets=datasets,
        sources={"landaudit.toml": settings_src, "datasets.toml": datasets_src}, digest=digest,
    )


def default_config_text(name: str) -> str:
    return resources.files("landaudit.defaults").joinpath(name).read_text("utf-8")
