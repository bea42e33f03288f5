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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from landaudit.errors import ConfigError

FieldType = Literal[
    "text", "name", "township", "parcel_code", "parcel_codes", "credit_code", "number", "year",
    "bool", "date", "ownership", "severity", "status", "acceptance", "category",
]
DatasetKind = Literal["land", "enterprise", "ledger"]
CONFIG_FILES = ("landaudit.toml", "datasets.toml")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    category: str
    keywords: list[str] = Field(min_length=1)


class IngestSettings(Strict):
    max_file_mb: float = Field(default=200, gt=0)
    max_uncompressed_mb: float = Field(default=2000, gt=0)
    header_search_rows: int = Field(default=20, ge=1, le=200)
    skip_files: list[str] = []
    ledger_categories: list[LedgerCategoryRule] = []


class Settings(Strict):
    county: County
    ingest: IngestSettings = IngestSettings()
    scopes: dict[str, list[str]] = {"city": []}
    phases: dict[int, str] = {}

    @model_validator(mode="after")
    def _phases_name_scopes(self) -> Settings:
        for year, scope in self.phases.items():
            if scope not in self.scopes:
                raise ValueError(f"phases.{year} 指向未定义的范围 {scope!r}")
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
            return path.read_bytes(), str(path)
    return resources.files("landaudit.defaults").joinpath(name).read_bytes(), f"内置默认 {name}"


def _parse(model: type[BaseModel], raw: bytes, source: str) -> BaseModel:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, "", "文件不是 UTF-8 编码，请用 UTF-8 保存") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"TOML 语法错误：{exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(source, _key_path(data, err["loc"]), _chinese_reason(err)) from None


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
    kind, msg = err["type"], err["msg"]
    reasons = {
        "missing": "缺少必填项",
        "extra_forbidden": "不认识的配置项（拼写错误？）",
        "literal_error": f"取值不在允许范围内（{msg.split('Input should be ')[-1]}）",
        "string_pattern_mismatch": "格式不对",
        "greater_than": "必须大于 0",
        "too_short": "不能为空",
    }
    if kind in reasons:
        return reasons[kind]
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return f"类型或取值不对（{msg}）"


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
