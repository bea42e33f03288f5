"""Config: shipped defaults validate; a broken workspace config names the file, key and reason."""

from __future__ import annotations

import pytest

from landaudit.config import CONFIG_FILES, default_config_text, load_config
from landaudit.errors import ConfigError


def test_shipped_defaults_describe_the_three_datasets_of_spec_3():
    config = load_config(None)
    specs = config.dataset_specs
    assert set(specs) == {"land", "enterprise", "ledger"}
    required = {name: {f.name for f in spec.fields if f.required} for name, spec in specs.items()}
    assert required == {"land": {"parcel_code", "township", "area_mu"}, "enterprise": {"name"}, "ledger": set()}
    assert specs["ledger"].required_any == ["parcel_codes", "credit_code", "name"]
    assert config.settings.county.code == "330681"
    assert specs["enterprise"].field("tax").target_unit == "万元"
    assert config.sources["landaudit.toml"].startswith("内置默认")


def _workspace_with(tmp_path, name: str, text: str):
    (tmp_path / "configs").mkdir(exist_ok=True)
    for other in CONFIG_FILES:
        (tmp_path / "configs" / other).write_text(default_config_text(other), encoding="utf-8")
    (tmp_path / "configs" / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("name", "edit", "key", "reason"), [
    ("landaudit.toml", ('code = "330681"', 'code = "33068"'), "county.code", "格式不对"),
    ("landaudit.toml", ("max_file_mb = 200", "max_file_mb = -1"), "ingest.max_file_mb", "必须大于 0"),
    ("landaudit.toml", ("[county]", "[county]\ncolour = 1"), "county.colour", "不认识的配置项"),
    ("landaudit.toml", ('2023 = "city"', '2023 = "galaxy"'), "", "phases.2023 指向未定义的范围"),
    ("datasets.toml", ('type = "parcel_code"', 'type = "barcode"'), "type", "取值不在允许范围内"),
    ("datasets.toml", ('unit = "亩"', 'unit = "斤"'), "fields.6(area_mu)", "未知单位"),
    ("datasets.toml", ("[datasets.land]", "[datasets.land\n"), "", "TOML 语法错误"),
])
def test_broken_config_names_file_key_and_reason(tmp_path, name, edit, key, reason):
    old, new = edit
    text = default_config_text(name)
    assert old in text
    ws = _workspace_with(tmp_path, name, text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(ws)
    assert err.value.file == str(ws / "configs" / name)
    assert key in err.value.key
    assert reason in err.value.reason
    assert str(ws / "configs" / name) in str(err.value)


def test_workspace_config_wins_over_defaults(tmp_path):
    text = default_config_text("landaudit.toml").replace('name = "诸暨市"', 'name = "嵊州市"')
    ws = _workspace_with(tmp_path, "landaudit.toml", text)
    config = load_config(ws)
    assert config.settings.county.name == "嵊州市"
    assert config.digest != load_config(None).digest
