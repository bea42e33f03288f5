"""Units of area and money (SPEC §4). Factors are to a base unit: m² for area, 万元 for money."""

from __future__ import annotations

MU_M2 = 10000 / 15  # 1 亩 = 666.67 m²

UNIT_FACTORS: dict[str, dict[str, float]] = {
    "area": {"亩": MU_M2, "平方米": 1.0, "公顷": 10000.0, "平方公里": 1_000_000.0},
    "money": {"元": 0.0001, "千元": 0.1, "万元": 1.0, "亿元": 10000.0},
}

# Spellings found in headers and cells (after NFKC: ㎡ → m2, ² → 2), longest first so that
# 万元 is not read as 元 and 平方公里 not as 公里.
UNIT_ALIASES: dict[str, tuple[str, str]] = {
    "平方公里": ("area", "平方公里"),
    "km2": ("area", "平方公里"),
    "平方米": ("area", "平方米"),
    "平米": ("area", "平方米"),
    "m2": ("area", "平方米"),
    "公顷": ("area", "公顷"),
    "ha": ("area", "公顷"),
    "亩": ("area", "亩"),
    "亿元": ("money", "亿元"),
    "万元": ("money", "万元"),
    "千元": ("money", "千元"),
    "元": ("money", "元"),
}
_ALIASES_LONGEST_FIRST = sorted(UNIT_ALIASES, key=len, reverse=True)


def find_unit(text: str, kind: str | None = None) -> str | None:
    """The unit named in `text` (a header suffix or a cell tail), optionally of one kind."""
    lowered = text.lower()
    for alias in _ALIASES_LONGEST_FIRST:
        if alias in lowered:
            alias_kind, unit = UNIT_ALIASES[alias]
            if kind is None or alias_kind == kind:
                return unit
    return None


def convert(value: float, kind: str, unit: str, canonical: str) -> float:
    factors = UNIT_FACTORS[kind]
    if unit == canonical:
        return value
    return value * factors[unit] / factors[canonical]
