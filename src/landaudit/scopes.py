"""Scopes (SPEC §12): configured names (pilot, zone, city …) and any township.

Every scope has a Chinese display name used in file names, titles and tables (全市, 试点（陶朱街道）,
开发区); `--scope` accepts that name, the English key or a township, and an unknown one gets the
closest suggestions. Outputs (kpis.parquet, classify.json) keep the key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from landaudit.errors import UsageError

# Display names of the shipped keys when [scope_names] does not give one; pilot is named after
# its townships (试点（陶朱街道）).
DEFAULT_NAMES = {"city": "全市", "zone": "开发区"}


def display_name(settings, key: str) -> str:
    """The Chinese name of a scope key (a township is its own name)."""
    if key in settings.scope_names:
        return settings.scope_names[key]
    if key in DEFAULT_NAMES:
        return DEFAULT_NAMES[key]
    if key == "pilot" and settings.scopes.get("pilot"):
        return f"试点（{'、'.join(settings.scopes['pilot'])}）"
    return key


def resolve_scope(settings, text: str, townships: Iterable[str] = ()) -> str:
    """The scope key for what a user typed: a key, a display name or a township."""
    text = text.strip()
    if text in settings.scopes:
        return text
    names = {display_name(settings, key): key for key in settings.scopes}
    if text in names:
        return names[text]
    towns = set(settings.county.townships) | set(townships)
    if text in towns:
        return text
    choices = [*names, *settings.scopes, *sorted(towns)]
    close = difflib.get_close_matches(text, choices, n=3, cutoff=0.3)
    hint = f"您是不是要用 {'、'.join(close)}？" if close else ""
    raise UsageError(f"未知的范围“{text}”：{hint}可用 {'、'.join(names)}（或 {'、'.join(settings.scopes)}）"
                     f"或任一镇街名称")
