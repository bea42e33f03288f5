"""Ledger category resolution (SPEC §3 "Category resolution (rev. 2)").

The hints are tried level by level, most specific first: the item's 问题类别 value, the sheet name,
the file name, then the department folders under data/raw/<year>/ (deepest first). Within a level
each category gets the strength of its strongest match on the compacted text (substrings): its own
name or its department's name is the strongest tier (all equal); below that a keyword, longer
beating shorter. The strongest category wins the level; two at the same top strength tie and the
level gives no answer. Generic words (GENERIC_CATEGORY_WORDS and [ingest] generic_category_words)
are never keywords, whatever a county's config lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from landaudit.config import GENERIC_CATEGORY_WORDS, Config
from landaudit.ingest.normalise import compact

UNDECIDED = "未定"        # SPEC §3: the category of an item no level decides
_NAME_STRENGTH = 1_000_000  # own name / department name: above any keyword length

# Level labels, as shown in 待核实 messages.
VALUE_LEVEL, SHEET_LEVEL, FILE_LEVEL, FOLDER_LEVEL = "问题类别", "工作表名", "文件名", "部门文件夹"


@dataclass(frozen=True)
class LevelMatch:
    """What one level's text says: the winning category (None when nothing matched or the top
    tied) and the categories at the top strength (one for a winner, several for a tie)."""

    level: str
    text: str
    winner: str | None
    top: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    category: str | None            # None: no level decided (the item is UNDECIDED)
    level: str | None               # the level that decided
    hints: tuple[LevelMatch, ...]   # every level that matched something, most specific first
    value_unmatched: bool = False   # a 问题类别 value that matches no category at all

    @property
    def candidates(self) -> list[str]:
        """The categories the hints point to, most specific level first, without repeats."""
        seen: list[str] = []
        for hint in self.hints:
            seen += [c for c in hint.top if c not in seen]
        return seen

    def describe(self) -> str:
        """The hints in Chinese, for the 待核实 row: 工作表名“…”：安全生产、消防（同等）."""
        parts = []
        for hint in self.hints:
            tie = "（提示强度相同）" if len(hint.top) > 1 else ""
            parts.append(f"{hint.level}“{hint.text}”指向{'、'.join(hint.top)}{tie}")
        return "；".join(parts)


class CategoryRules:
    """The configured categories as matchers (built once per sheet: a handful of rules)."""

    def __init__(self, config: Config):
        ingest = config.settings.ingest
        generic = {compact(w) for w in (*GENERIC_CATEGORY_WORDS, *ingest.generic_category_words)}
        self.names: list[str] = []
        self._rules: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        for rule in ingest.ledger_categories:
            own = tuple(k for k in {compact(rule.category), compact(rule.department or "")} if k)
            keywords = tuple(sorted({k for k in map(compact, rule.keywords) if k and k not in generic},
                                    key=len, reverse=True))
            self.names.append(rule.category)
            self._rules.append((rule.category, own, keywords))
        self._memo: dict[tuple[str, str], LevelMatch] = {}

    def match(self, level: str, text: str) -> LevelMatch:
        memo_key = (level, text)
        if memo_key in self._memo:
            return self._memo[memo_key]
        key = compact(text)
        strengths: dict[str, int] = {}
        for category, own, keywords in self._rules:
            if any(name in key for name in own):
                strength = _NAME_STRENGTH
            else:
                strength = next((len(k) for k in keywords if k in key), 0)
            if strength:
                strengths[category] = max(strength, strengths.get(category, 0))
        best = max(strengths.values(), default=0)
        top = tuple(c for c in self.names if strengths.get(c) == best) if best else ()
        result = LevelMatch(level, text, top[0] if len(top) == 1 else None, top)
        if len(self._memo) < 10_000:
            self._memo[memo_key] = result
        return result

    def resolve(self, levels: list[tuple[str, str | None]]) -> Resolution:
        """Try (level, text) pairs in order; blank texts are no hint."""
        hints = []
        for level, text in levels:
            if not text or not compact(text):
                continue
            found = self.match(level, text)
            if found.top:
                hints.append(found)
            if found.winner is not None:
                return Resolution(found.winner, level, tuple(hints))
        return Resolution(None, None, tuple(hints))


def sheet_levels(file: str, sheet: str | None) -> list[tuple[str, str | None]]:
    """Levels 2–4 for a sheet of `file` (workspace-relative): the sheet name, the file name
    (stem), and the folders between data/raw/<year>/ and the file, deepest first."""
    path = PurePosixPath(file)
    levels: list[tuple[str, str | None]] = [(SHEET_LEVEL, sheet), (FILE_LEVEL, path.stem)]
    parts = path.parts
    if len(parts) > 4 and parts[0] == "data" and parts[1] == "raw":
        levels += [(FOLDER_LEVEL, folder) for folder in reversed(parts[3:-1])]
    return levels


class CategoryResolver:
    """One sheet's resolver: its name levels are resolved once; an item's 问题类别 value first."""

    def __init__(self, config: Config, file: str, sheet: str | None):
        self.rules = CategoryRules(config)
        self.levels = sheet_levels(file, sheet)
        self.sheet = self.rules.resolve(self.levels)
        self._memo: dict[str, Resolution] = {}

    def item(self, value: str | None) -> Resolution:
        """An item's category: its 问题类别 value decides when it names one category; a value that
        names none at all leaves the item undecided; a tie (or a blank value) passes to the names."""
        if not value or not compact(value):
            return self.sheet
        if value in self._memo:
            return self._memo[value]
        found = self.rules.match(VALUE_LEVEL, value)
        if found.winner is not None:
            result = Resolution(found.winner, VALUE_LEVEL, (found,))
        elif not found.top:
            result = Resolution(None, None, self.sheet.hints, value_unmatched=True)
        else:
            result = Resolution(self.sheet.category, self.sheet.level, (found, *self.sheet.hints))
        if len(self._memo) < 10_000:
            self._memo[value] = result
        return result


def category_from_names(text: str, config: Config) -> str | None:
    """The category a "/"-separated path of names leads to (folders …/file/sheet, the most
    specific last), as ingest resolves a sheet without a 问题类别 value; None when undecided."""
    parts = [p for p in text.split("/") if p]
    if not parts:
        return None
    levels = [(SHEET_LEVEL, parts[-1])]
    if len(parts) > 1:
        levels.append((FILE_LEVEL, PurePosixPath(parts[-2]).stem))
    levels += [(FOLDER_LEVEL, folder) for folder in reversed(parts[:-2])]
    return CategoryRules(config).resolve(levels).category
