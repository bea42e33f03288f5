"""Terminal rendering of command results (rich), for cli.py: the CLI's presentation layer.

Rule for every table (issue 13 item 5): at any width nothing is cut. Numbers, dates, codes and
headers with units never wrap (`no_wrap`) and never get an ellipsis; only free-text columns fold.
When the table cannot fit that way, the rows are shown vertically (one block per row, `name  value`).
Met/missed targets are words or marks (✓ 达标 / ✗ 未达标), never colour alone; colour follows
rich, which honours NO_COLOR and a non-terminal stdout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

# Free-text columns fold down to this many cells (or their header's width) before a table is
# judged too wide and shown vertically instead.
FOLD_MIN = 10
MET, MISSED = "✓ 达标", "✗ 未达标"


def make_console(*, stderr: bool = False) -> Console:
    """A console for one command invocation: COLUMNS and NO_COLOR are read now, not at import.
    markup=False: file names and cell values reach the terminal, and "[/red]" in a cell must print
    as text, not crash rich."""
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if "COLUMNS" not in os.environ and not _isatty(stream):
        width = 160          # cron logs and pipes: a sane width without a terminal
    return SafeConsole(stderr=stderr, highlight=False, markup=False, width=width)


class SafeConsole(Console):
    """A console through which no control character of a file name or cell reaches the terminal
    (SPEC §13 rev. 2): ESC sequences, \\r, \\b, C1 and BiDi overrides are shown as visible escapes
    (log.visible); rich's own styles and cursor moves (progress bars) are untouched. Strings are
    cleaned before layout (render_str: widths stay right); every other segment as it is written.

    On a console that is not UTF-8 (GBK: Windows cmd.exe's code page 936, or a redirect there) the
    characters it cannot encode are shown the same way (log.encodable: 𠮷 → \\U00020bb7, ✓ → √);
    rich itself draws tables with ASCII borders there."""

    def _shown(self, text: str) -> str:
        from landaudit.log import encodable, visible

        return encodable(visible(text, keep_newlines=True), self.encoding)

    def render_str(self, text: str, **kwargs) -> Text:
        return super().render_str(self._shown(text), **kwargs)

    def _render_buffer(self, buffer) -> str:
        from rich.segment import Segment

        return super()._render_buffer(
            segment if segment.control else Segment(self._shown(segment.text), segment.style) for segment in buffer)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def cells(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in str(text).splitlines()), default=0)


def _as_text(value) -> str | Text:
    if isinstance(value, Text):
        return value
    return "" if value is None else str(value)


def rows_view(console: Console, headers: Sequence[str], rows: Sequence[Sequence], *, title: str | None = None,
              fold: Sequence[str] = (), right: Sequence[str] = (), block_title=None, caption: str | None = None,
              empty: str = "（无）") -> None:
    """A table when it fits the console, else one block per row (`header  value` lines).

    `fold`: headers of free-text columns that may wrap; every other column keeps its natural
    width. `right`: numeric columns, right-aligned. `block_title(i, row)` names a vertical block."""
    if title and not rows:
        console.print(Text.assemble((f"{title}：", "bold"), empty))
        return
    texts = [[_as_text(v) for v in row] for row in rows]
    widths = _column_widths(console.width, headers, texts, fold)
    if widths is not None:
        table = Table(title=title, title_justify="left", caption=caption)
        for header, width in zip(headers, widths, strict=True):
            folded = header in fold
            table.add_column(_wrapped(header, width) if folded else header, width=width if folded else None,
                             justify="right" if header in right else "left", overflow="fold", no_wrap=not folded)
        for row in texts:
            table.add_row(*[_wrapped(v, w) if h in fold else v for v, w, h in zip(row, widths, headers, strict=True)])
        console.print(table)
        return
    if title:
        console.print(Text(title, style="bold"))
    for i, row in enumerate(texts):
        name = block_title(i, row) if block_title else f"第 {i + 1} 行"
        console.print(Text.assemble((f"── {name} ", "bold"), "─" * max(0, min(console.width, 40) - cells(name) - 4)))
        label_width = max(cells(h) for h in headers) + 2
        if label_width > console.width // 2:
            label_width = 0                     # very long names: the value goes below its name
        for header, value in zip(headers, row, strict=True):
            _pair(console, header, value, label_width)
    if caption:
        console.print(caption)


def _unbreakable(text) -> int:
    """Cells of the longest piece a line may not break: a Latin word, number or code (+2 for a
    closing punctuation mark carried along with it)."""
    from landaudit.usage_text import _TOKENS

    plain = text.plain if isinstance(text, Text) else str(text)
    longest = max((cells(t) for t in _TOKENS.findall(plain) if not t.isspace()), default=0)
    return longest + 2 if longest > 2 else longest


def _column_widths(width: int, headers: Sequence[str], rows: list[list], fold: Sequence[str]) -> list[int] | None:
    """Content widths that fit `width` with borders, or None (then the rows go vertical). Columns
    not in `fold` keep their natural width; folding columns shrink, widest first, never below
    their longest word, number or code."""
    natural = [max([cells(h)] + [cells(r[i]) for r in rows]) for i, h in enumerate(headers)]
    room = width - 1 - 3 * len(headers)                  # "│ x │ y │"
    if sum(natural) <= room:
        return natural
    floor = [min(n, max(FOLD_MIN, _unbreakable(h), *(_unbreakable(r[i]) for r in rows))) if h in fold else n
             for i, (h, n) in enumerate(zip(headers, natural, strict=True))]
    if sum(floor) > room:
        return None
    widths = list(natural)
    while sum(widths) > room:
        i = max((j for j in range(len(widths)) if widths[j] > floor[j]), key=lambda j: widths[j])
        widths[i] -= 1
    return widths


def _wrapped(value, width: int):
    """Free text broken at spaces and between Chinese characters to `width`, so rich never folds
    inside a number or a code."""
    from landaudit.usage_text import cjk_wrap

    if isinstance(value, Text) or not value:
        return value
    wrapper = type("Wrapper", (), {"width": width, "initial_indent": "", "subsequent_indent": ""})
    return "\n".join(cjk_wrap(wrapper, str(value)))


def _pair(console: Console, label: str, value, label_width: int) -> None:
    """`label  value`, the value's wrapped lines aligned under its first (no trailing padding)."""
    from landaudit.usage_text import cjk_wrap

    plain = value.plain if isinstance(value, Text) else str(value)
    indent = " " * label_width if label_width else "  "
    wrapper = type("Wrapper", (), {"width": console.width, "initial_indent": indent, "subsequent_indent": indent})
    lines = cjk_wrap(wrapper, plain) if plain else [""]
    style = "dim" if console.color_system else ""
    if label_width:
        first = Text.assemble((label, style), " " * (label_width - cells(label)), lines[0][label_width:])
        console.print(first, soft_wrap=True)
    else:
        console.print(Text(label, style=style), soft_wrap=True)
        console.print(lines[0], soft_wrap=True)
    for line in lines[1:]:
        console.print(line, soft_wrap=True)


# ---------------------------------------------------------------------------------------- report

def kpi_text(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def _with_unit(value, unit: str) -> str:
    text = kpi_text(value, unit)
    return text if unit == "%" or text == "—" else f"{text} {unit}"


def _target_text(kpi: dict, higher_is_better: bool) -> str:
    if kpi["target"] is None:
        return ""
    return ("≥ " if higher_is_better else "≤ ") + _with_unit(kpi["target"], kpi["unit"])


def _mark(meets: bool | None) -> Text:
    if meets is None:
        return Text("")
    return Text(MET if meets else MISSED, style="green" if meets else "red")


def report(console: Console, data: dict) -> None:
    """KPIs per scope and township: one wide table with units in the headers when it fits, else
    one block per scope/township (KPI, value with unit, target, 达标/未达标)."""
    from landaudit.report import KPIS

    rows = data["rows"]
    title = f"{data['year']} 年目标指标"
    if not rows:
        console.print(f"{title}：没有数据")
        return
    higher = {key: h for key, _, _, _, h in KPIS}
    headers = ["范围", "镇乡（街道）"] + [f"{name}\n（{unit}）" if unit != "%" else name for _, name, unit, _, _ in KPIS]
    body = []
    for row in rows:
        line = [row["scope_name"], row["township"]]
        for key, *_ in KPIS:
            kpi = row["kpis"][key]
            text = kpi_text(kpi["value"], kpi["unit"])
            if kpi["meets"] is not None:
                text = Text(f"{text} {'✓' if kpi['meets'] else '✗'}", style="green" if kpi["meets"] else "red")
            line.append(text)
        body.append(line)
    natural = [max([cells(h)] + [cells(r[i]) for r in body]) for i, h in enumerate(headers)]
    if 1 + sum(w + 3 for w in natural) <= console.width:
        table = Table(title=title)
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i < 2 else "right", no_wrap=True)
        for line in body:
            table.add_row(*line)
        console.print(table)
        targets = [f"{k['name']} {_target_text(k, higher[key])}" for key, k in rows[0]["kpis"].items()
                   if k["target"] is not None]
        console.print("目标：" + "；".join(targets) + "（✓ 达标，✗ 未达标）")
    else:
        console.print(Text(title, style="bold"))
        for row in rows:
            block = Table(title=f"{row['scope_name']} · {row['township']}", title_justify="left",
                          title_style="bold", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            block.add_column("指标", overflow="fold")
            block.add_column("数值", justify="right", no_wrap=True)
            block.add_column("目标", no_wrap=True)
            block.add_column("是否达标", no_wrap=True)
            for key, *_ in KPIS:
                kpi = row["kpis"][key]
                block.add_row(kpi["name"], _with_unit(kpi["value"], kpi["unit"]), _target_text(kpi, higher[key]),
                              _mark(kpi["meets"]))
            console.print(block)
    console.print(f"隐患判断日：{rows[0]['as_of']}（与分类、导出和 landaudit track 相同）")


# ---------------------------------------------------------------------------------------- ingest

DATASET_NAMES = {"land": "工业用地底数", "enterprise": "企业亩均效益", "ledger": "问题隐患台账"}
_SHORT_DATASET = {"land": "工业用地底数", "enterprise": "企业亩均效益", "ledger": "台账"}


def short_path(path: str, year: int) -> str:
    """data/raw/2023/经信局/亩均效益_2023.xlsx → 经信局/亩均效益_2023.xlsx (department folder/file)."""
    return path.removeprefix(f"data/raw/{year}/")


def ingest(console: Console, result, summary: str, reasons: list[tuple[str, int, str]]) -> None:
    """One compact line per file (department folder/file, dataset, accepted/rejected/skipped);
    files that were not read are listed below with their reason, in full."""
    from landaudit.findings import FINDING_TITLES, NOT_PROBLEMS

    sheets_per_file: dict[str, int] = {}
    for e in result.entries:
        sheets_per_file[e.path] = sheets_per_file.get(e.path, 0) + 1
    table = Table(title=f"{result.year} 年部门报表读取结果（data/raw/{result.year}/）", box=None, pad_edge=False,
                  header_style="bold")
    table.add_column("文件", overflow="fold")
    table.add_column("数据集", overflow="fold")
    for header in ("接收", "拒收", "跳过"):
        table.add_column(header, justify="right", no_wrap=True)
    unread, unread_titles = [], set()
    for e in result.entries:
        name = short_path(e.path, result.year)
        if e.sheet and sheets_per_file[e.path] > 1:
            name += f"（{e.sheet}）"
        if e.error:
            code = e.error["code"]
            quiet = code in NOT_PROBLEMS
            table.add_row(name, Text("未读取", style="dim" if quiet else "red"), "", "", "",
                          style="dim" if quiet else None)
            unread.append((name, e.error["message"], quiet))
            unread_titles.add(FINDING_TITLES.get(code, code))
            continue
        dataset = _SHORT_DATASET.get(e.dataset, e.dataset or "") + (f"·{e.category}" if e.category else "")
        table.add_row(name, dataset, f"{e.rows_accepted:,}",
                      Text(f"{e.rows_rejected:,}", style="red") if e.rows_rejected else "0", f"{e.rows_skipped:,}")
    console.print(table)
    if unread:
        console.print(Text("未读取的文件：", style="bold"))
        for name, message, quiet in unread:
            indented(console, 2, Text.assemble((f"{name}：", "dim" if quiet else "red"), message))
    for sentence in summary.split("。"):
        if sentence:
            indented(console, 0, sentence + "。")
    reasons = [r for r in reasons if r[0] not in unread_titles]       # listed under 未读取的文件
    if reasons:
        console.print(Text("主要拒收原因：", style="bold"))
        for title, count, example in reasons:
            indented(console, 2, Text(f"{title} {count:,} 次", style="red"))
            indented(console, 4, f"例如 {example}")
    outputs = result.outputs
    names = "、".join(str(outputs[k]).rsplit("/", 1)[-1] for k in ("report", "rejects") if k in outputs)
    console.print(f"输出：{names} 等，位于 data/processed/{result.year}/")


def indented(console: Console, indent: int, text) -> None:
    """A paragraph whose wrapped lines keep the indent, broken between Chinese characters (rich
    breaks only at spaces and would fold a long Chinese phrase anywhere, numbers included)."""
    from landaudit.usage_text import cjk_wrap

    text = text if isinstance(text, Text) else Text(text)
    wrapper = type("Wrapper", (), {"width": console.width, "initial_indent": " " * indent,
                                   "subsequent_indent": " " * indent})
    plain, cursor, pieces = text.plain, 0, []
    for line in cjk_wrap(wrapper, plain):
        body = line[indent:]
        start = plain.find(body, cursor)
        if start < 0:                          # unusual spacing: let rich wrap it
            console.print(Padding(text, (0, 0, 0, indent), expand=False))
            return
        pieces.append(Text(" " * indent) + text[start:start + len(body)])
        cursor = start + len(body)
    for piece in pieces:
        console.print(piece, soft_wrap=True)


# ---------------------------------------------------------------------------------------- explain

def explain(console: Console, facts: dict) -> None:
    from rich.panel import Panel

    parcel = facts["parcel"]
    title = f"地块 {parcel['parcel_code']}（{parcel['township']}{' · ' + parcel['zone'] if parcel.get('zone') else ''}）"
    lines = [f"{title}  {facts['year']} 年", f"来源：{facts['land_source']}"]
    for label, value in facts["attributes"]:
        lines.append(f"  {label}：{value}")
    console.print(Panel("\n".join(lines), expand=False))
    free_text = {"企业名称", "不参评原因", "来源", "理由", "数值", "关联方式"}
    numeric = {"面积分摊", "税收（万元）", "增加值（万元）"}
    for heading, rows, columns in facts["sections"]:
        rows_view(console, columns, rows, title=heading, fold=[c for c in columns if c in free_text],
                  right=[c for c in columns if c in numeric],
                  block_title=lambda i, row, heading=heading: f"{heading.split('（')[0]} {i + 1}：{row[0]}")
    indented(console, 0, Text.assemble(("结论：", "bold"), facts["conclusion"]))


# ---------------------------------------------------------------------------------------- sql

_NUMERIC_TYPES = ("INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "INTEGER", "DOUBLE",
                  "FLOAT", "REAL", "DECIMAL", "NUMERIC", "DATE", "TIMESTAMP", "TIME", "BOOLEAN")


def sql_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e15 or (value and abs(value) < 1e-4) else f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple)):
        return "、".join(sql_value(v) for v in value)
    return str(value)


def sql_rows(console: Console, columns: list[str], types: list[str], rows: list[tuple], total: int) -> None:
    """Query results: a table when it fits (text columns fold), else one block per row."""
    numeric = [c for c, t in zip(columns, types, strict=True) if str(t).upper().startswith(_NUMERIC_TYPES)]
    text_columns = [c for c in columns if c not in numeric]
    shown = len(rows)
    caption = f"{total:,} 行" if shown == total else f"显示前 {shown:,} 行，共 {total:,} 行（--limit N 改变行数，--limit 0 显示全部）"
    if len(set(columns)) != len(columns):          # SELECT a, a: keep both, numbered
        columns = [f"{c}" if columns.index(c) == i else f"{c}#{i + 1}" for i, c in enumerate(columns)]
        numeric = [c for c, t in zip(columns, types, strict=True) if str(t).upper().startswith(_NUMERIC_TYPES)]
        text_columns = [c for c in columns if c not in numeric]
    rows_view(console, columns, [[sql_value(v) for v in row] for row in rows], fold=text_columns, right=numeric,
              caption=caption, block_title=lambda i, row: f"第 {i + 1} 行")


def name_list(console: Console, title: str, headers: Sequence[str], rows: Sequence[Sequence]) -> None:
    """`sql --tables` and `sql --columns T`: a plain two- or three-column list."""
    rows_view(console, headers, rows, title=title, fold=headers[-1:], right=[h for h in headers if h == "列数"])
