"""File names made from data (SPEC §9 rev. 2): a 镇街, a department or a scope becomes a file name
that stays in its folder, works on Windows and never collides with another one's.

Two names that sanitise to the same stem (or differ only in letter case, which Windows ignores) get
distinct stems with a short hash of the original name; over-long names are shortened the same way;
names Windows reserves (CON, NUL, COM1 …) are prefixed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_ILLEGAL = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                       *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
                       "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"})
MAX_STEM = 60          # characters: 60 CJK characters are 180 UTF-8 bytes, well under 255 with ".xlsx"


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]


def safe_file_stem(name: str) -> str:
    """One name on its own: no path separators, no leading dots (so never `..`), no trailing dots
    or spaces, nothing Windows forbids or reserves, at most MAX_STEM characters."""
    stem = _ILLEGAL.sub("_", name).strip().lstrip(".").rstrip(". ").strip()
    if not stem:
        return "未命名"
    if stem.split(".")[0].upper() in _RESERVED:
        stem = "_" + stem
    if len(stem) > MAX_STEM:
        stem = f"{stem[:MAX_STEM - 7]}_{_digest(name)}"
    return stem


def file_stems(names: Iterable[str]) -> dict[str, str]:
    """Every name's stem, unique within the set (case-insensitively): a name whose stem another
    name shares gets `_<hash>` of its own text, so the result does not depend on the order."""
    names = sorted(set(names))
    stems = {name: safe_file_stem(name) for name in names}
    users: dict[str, list[str]] = {}
    for name, stem in stems.items():
        users.setdefault(stem.casefold(), []).append(name)
    for shared in users.values():
        if len(shared) > 1:
            for name in shared:
                base = stems[name][:MAX_STEM - 7]
                stems[name] = f"{base}_{_digest(name)}"
    return stems
