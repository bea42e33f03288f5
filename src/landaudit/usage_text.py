"""Chinese texts of command-line usage errors (SPEC §1, issue 13 item 6).

Typer vendors click without translations: its parser raises NoSuchOption, MissingParameter,
BadParameter ... with English messages, and typer checks option values with pydantic. cli.py routes
every such error through `usage_error_text`, which rebuilds the sentence in Chinese from the
exception's fields (option name, suggestions, the value given, the rule it broke). Unknown shapes
keep their text after a Chinese lead, so nothing is lost. No typer import: classes are matched by name.
"""

from __future__ import annotations

import re


def _names(exc) -> list[str]:
    return [klass.__name__ for klass in type(exc).__mro__]


def _or(words) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else "、".join(words[:-1]) + " 或 " + words[-1]


def _param_name(param) -> str:
    if param is None:
        return "参数"
    if getattr(param, "param_type_name", "") == "argument":
        metavar = (getattr(param, "metavar", None) or "").strip("{}[]")
        return metavar or (param.name or "").upper()
    opts = sorted(getattr(param, "opts", []) or [], key=lambda o: (not o.startswith("--"), o))
    return opts[0] if opts else (param.name or "")


def _value_reason(err: dict) -> str:
    """A pydantic error of an option value → the Chinese rule it broke."""
    kind, ctx, msg = err.get("type", ""), err.get("ctx") or {}, str(err.get("msg", ""))
    simple = {
        "int_parsing": "不是整数", "int_from_float": "不是整数", "int_type": "不是整数",
        "float_parsing": "不是数字", "float_type": "不是数字", "decimal_parsing": "不是数字",
        "bool_parsing": "不是 是/否 值", "date_parsing": "不是日期（如 2023-12-31）", "date_from_datetime_parsing": "不是日期（如 2023-12-31）",
        "string_type": "不是文本", "path_type": "不是路径",
    }
    if kind in simple:
        return simple[kind]
    bounds = {"greater_than_equal": ("ge", "不能小于 {}"), "less_than_equal": ("le", "不能大于 {}"),
              "greater_than": ("gt", "必须大于 {}"), "less_than": ("lt", "必须小于 {}")}
    if kind in bounds:
        key, template = bounds[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return template.format(bound)
    if kind in ("literal_error", "enum"):
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")) or msg)
        return f"不在可选范围内，可用：{'、'.join(allowed)}" if allowed else "不在可选范围内"
    if choice := re.search(r"is not one of (.*)\.$", msg):
        allowed = re.findall(r"'([^']*)'", choice.group(1))
        return f"不在可选范围内，可用：{'、'.join(allowed)}"
    return f"无效（{msg.removeprefix('Value error, ')}）"


def _bad_value(exc) -> str:
    name = _param_name(getattr(exc, "param", None))
    cause = exc.__cause__
    errors = []
    if cause is not None and hasattr(cause, "errors"):
        try:
            errors = cause.errors()
        except Exception:       # noqa: BLE001 — any shape: fall back to the message below
            errors = []
    if errors:
        err = errors[0]
        value = err.get("input")
        shown = "、".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        return f"{name} 的值 {shown} {_value_reason(err)}"
    message = str(getattr(exc, "message", exc))
    if m := re.match(r"Value '?(.*?)'? is not a valid (\w+)", message):
        return f"{name} 的值 {m.group(1)} 无效（应为 {m.group(2)}）"
    return f"{name} 的值无效：{message}"


def usage_error_text(exc) -> str:
    """One Chinese sentence for a click/typer usage error."""
    names = _names(exc)
    message = str(getattr(exc, "message", "") or "")
    if "NoSuchOption" in names:
        option = exc.option_name
        possible = list(getattr(exc, "possibilities", None) or [])
        if possible:
            return f"未知选项 {option}，您是不是要用 {_or(sorted(possible))}？"
        return f"未知选项 {option}"
    if "MissingParameter" in names:
        param = getattr(exc, "param", None)
        kind = "参数" if getattr(param, "param_type_name", "") == "argument" else "选项"
        help_text = (getattr(param, "help", None) or "").strip()
        name = _param_name(param)
        if help_text.startswith(name):                   # 地块编码（…）: the help already names it
            return f"缺少{kind} {help_text}"
        return f"缺少{kind} {name}" + (f"（{help_text}）" if help_text else "")
    if "BadParameter" in names:
        return _bad_value(exc)
    if m := re.match(r"Option '(.+?)' requires (an argument|(\d+) arguments)\.", message):
        return f"选项 {m.group(1)} 后面缺少取值" if not m.group(3) else f"选项 {m.group(1)} 后面需要 {m.group(3)} 个取值"
    if m := re.match(r"Option '(.+?)' does not take a value\.", message):
        return f"选项 {m.group(1)} 不带取值"
    if m := re.match(r"No such command '(.+?)'\.(?: Did you mean (.+)\?)?", message):
        suggestions = re.findall(r"'([^']+)'", m.group(2) or "")
        hint = f"，您是不是要用 {_or(suggestions)}？" if suggestions else "；运行 landaudit -h 查看全部命令"
        return f"没有命令 {m.group(1)}{hint}"
    if m := re.match(r"Got unexpected extra argument(?:\(s\)|s)? \((.*)\)", message):
        return f"多余的参数：{m.group(1)}（含空格的值请加引号）"
    if message in ("Missing command.", "缺少命令。"):
        return "缺少命令；运行 landaudit -h 查看全部命令"
    return f"用法错误：{message}"


# Help text wrapping (click counts characters; a Chinese character is two columns wide and a
# sentence has no spaces to break at). Installed as click's TextWrapper.wrap by cli.py.
_WIDE = "\u2e80-\u303f\u3040-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_TOKENS = re.compile(rf"\s+|[{_WIDE}]|[^\s{_WIDE}]+")
_NO_LINE_START = set("，。；：、）》」』”’！？…%")
_NO_LINE_END = set("（《「『“‘")


def cjk_wrap(self, text: str) -> list[str]:
    """textwrap.TextWrapper.wrap measuring terminal cells, breaking between Chinese characters
    (never before closing punctuation) and at spaces; words of Latin letters stay whole."""
    from rich.cells import cell_len

    lines: list[str] = []
    indent = self.initial_indent
    line: list[str] = []
    used, space = 0, False

    def flush() -> None:
        nonlocal indent, line, used
        lines.append(indent + "".join(line).rstrip())
        indent, line, used = self.subsequent_indent, [], 0

    for token in _TOKENS.findall(text):
        if token.isspace():
            space = bool(line)
            continue
        piece = (" " if space else "") + token
        space = False
        if line and cell_len(indent) + used + cell_len(piece) > self.width:
            carried: list[str] = []
            if token in _NO_LINE_START:         # take the word before it (and its punctuation) along
                while len(line) > 1 and line[-1].strip() in _NO_LINE_START:
                    carried.insert(0, line.pop().lstrip())
                if len(line) > 1:
                    carried.insert(0, line.pop().lstrip())
            while len(line) > 1 and line[-1].strip() in _NO_LINE_END:
                carried.insert(0, line.pop().lstrip())
            flush()
            line = carried + [token]
            used = cell_len("".join(line))
            continue
        line.append(piece)
        used += cell_len(piece)
    if line or not lines:
        flush()
    return lines
