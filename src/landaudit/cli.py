"""Command line (Typer only): parse options, call one library function, render, set the exit code.

Heavy libraries (pandas, pyarrow, duckdb, xlsxwriter) are imported inside the commands so that
`landaudit --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from landaudit.errors import LandauditError

_HELP_WORDS = {
    "Options": "选项", "Commands": "命令", "Arguments": "参数", "Error": "错误",
    "[required]": "[必填]", "required": "必填", "[default: {}]": "[默认：{}]", "default: {default}": "默认：{default}",
    "Missing command.": "缺少命令。", "No such command {name!r}.": "没有命令 {name!r}。",
    "Try [blue]'{command_path} {help_option}'[/] for help.": "运行 '{command_path} {help_option}' 查看帮助。",
    "Aborted!": "已中止！", "Aborted.": "已中止。",
}


def _localise_help() -> None:
    """SPEC §1: help is Chinese. Typer vendors click without gettext, so its few fixed English
    words (usage prefix, section titles, the --help line) are replaced here, in one place."""
    import typer.core
    from typer._click import core as click_core
    from typer._click import formatting

    typer.core._ = lambda text: _HELP_WORDS.get(text, text)
    original_write_usage = formatting.HelpFormatter.write_usage
    original_help_option = click_core.Command.get_help_option

    def write_usage(self, prog, args="", prefix=None):
        return original_write_usage(self, prog, args, "用法：" if prefix is None else prefix)

    def get_help_option(self, ctx):
        option = original_help_option(self, ctx)
        if option is not None:
            option.help = "显示本帮助并退出。"
        return option

    formatting.HelpFormatter.write_usage = write_usage
    click_core.Command.get_help_option = get_help_option


_localise_help()

app = typer.Typer(
    name="landaudit",
    help="工业全域治理数据工具：汇总各部门报表，识别亩均低效、“低散乱污”和集体工业用地问题地块，"
         "确定“四个一批”处置方式，输出治理清单。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# Options shared by commands (defined once, STYLE.md).
WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", help="工作区文件夹（默认：当前文件夹，或环境变量 LANDAUDIT_WORKSPACE）",
    show_default=False)]
YearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", help="年度（默认：data/raw 下最新的年度文件夹）", show_default=False)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="出错时显示完整的 Python 错误堆栈（排查程序问题用）")]


def _run(debug: bool, action):
    """The one place errors become a Chinese sentence and an exit code (SPEC §2)."""
    try:
        return action()
    except LandauditError as exc:
        if debug:
            raise
        err_console.print(f"[red]错误：{exc}[/red]")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("[red]已中断。[/red]")
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            raise
        err_console.print(f"[red]程序内部错误：{type(exc).__name__}: {exc}。请加 --debug 重新运行，"
                          f"并把输出发给维护人员。[/red]")
        raise typer.Exit(70) from None


def _workspace(path: Path | None):
    from landaudit.workspace import Workspace

    return Workspace.at(path)


@app.command("init")
def init_cmd(
    directory: Annotated[Path | None, typer.Argument(help="要创建的工作区文件夹（默认：当前文件夹）",
                                                     show_default=False)] = None,
    debug: DebugOpt = False,
) -> None:
    """创建工作区：写出可编辑的配置文件（configs/）和数据文件夹（data/raw、data/processed）。"""
    from landaudit.config import CONFIG_FILES, default_config_text

    def action() -> None:
        root = (directory or Path(".")).resolve()
        (root / "configs").mkdir(parents=True, exist_ok=True)
        for sub in ("raw", "processed", "exports"):
            (root / "data" / sub).mkdir(parents=True, exist_ok=True)
        for name in CONFIG_FILES:
            target = root / "configs" / name
            if target.exists():
                console.print(f"已存在，未覆盖：{target}")
            else:
                target.write_text(default_config_text(name), encoding="utf-8")
                console.print(f"已写出：{target}")
        from landaudit.config import load_config
        from landaudit.export.templates import write_templates

        paths = write_templates(root / "data" / "templates", load_config(root))
        console.print(f"已写出 {len(paths)} 个部门填报模板：{root / 'data' / 'templates'}")
        console.print(f"工作区已就绪：{root}。把各部门报表放进 data/raw/<年度>/ 后运行 landaudit ingest。")

    _run(debug, action)


@app.command("template")
def template_cmd(
    workspace: WorkspaceOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="模板写到哪个文件夹（默认：工作区的 data/templates/）",
                                              show_default=False)] = None,
    debug: DebugOpt = False,
) -> None:
    """为各部门写出空白填报模板（.xlsx，带下拉选项和填报说明）；按模板填好的报表可直接读取，不会被拒收。"""
    def action() -> None:
        from landaudit.config import load_config
        from landaudit.export.templates import write_templates

        ws = _workspace(workspace)
        folder = out.resolve() if out else ws.root / "data" / "templates"
        paths = write_templates(folder, load_config(ws.root))
        table = Table(title="部门填报模板")
        table.add_column("文件")
        for path in paths:
            table.add_row(str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path))
        console.print(table)

    _run(debug, action)


@app.command("demo")
def demo_cmd(
    workspace: WorkspaceOpt = None,
    parcels: Annotated[int, typer.Option("--parcels", "-n", help="模拟地块数量（1 至 1,000,000）", min=1,
                                         max=1_000_000)] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="随机种子；同一种子生成完全相同的文件")] = 20231,
    debug: DebugOpt = False,
) -> None:
    """生成模拟的部门报表（两个年度，仅供演示和测试），写入 data/raw/<年度>/。"""
    def action() -> None:
        from landaudit.demo import write_demo

        ws = _workspace(workspace)
        paths = write_demo(ws.raw, parcels=parcels, seed=seed)
        table = Table(title=f"已生成模拟部门报表（{parcels} 个地块，种子 {seed}）")
        table.add_column("文件")
        table.add_column("大小", justify="right")
        for path in paths:
            table.add_row(ws.relative(path), f"{path.stat().st_size / 1024:,.0f} KB")
        console.print(table)

    _run(debug, action)


@app.command("ingest")
def ingest_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="强制指定 CSV/文本文件的编码（如 gbk、utf-8），默认自动识别", show_default=False)] = None,
    max_reject_rate: Annotated[float | None, typer.Option(
        "--max-reject-rate", help="被拒行占比超过此值（0–1）时以退出码 1 结束（默认不检查）",
        min=0.0, max=1.0, show_default=False)] = None,
    strict: Annotated[bool, typer.Option("--strict", help="有任何被拒行或无法读取的文件时以退出码 1 结束")] = False,
    output_format: Annotated[str, typer.Option("--format", help="输出格式：table（表格）或 json")] = "table",
    debug: DebugOpt = False,
) -> None:
    """读取 data/raw/<年度>/ 下的全部部门报表，识别数据集、校验、标准化，写出 Parquet、被拒行清单和 ingest_report.json。"""
    def action() -> int:
        from landaudit.ingest import ingest

        result = ingest(_workspace(workspace), year=year, encoding=encoding)
        if output_format == "json":
            import json

            console.print_json(json.dumps(result.report(), ensure_ascii=False, default=str))
        else:
            _render_ingest(result)
        totals = result.totals
        if strict and (totals["rows_rejected"] or totals["errors"]):
            err_console.print("[yellow]--strict：存在被拒行或无法读取的文件，退出码 1。[/yellow]")
            return 1
        if max_reject_rate is not None and result.reject_rate > max_reject_rate:
            err_console.print(f"[yellow]被拒行占比 {result.reject_rate:.1%} 超过 --max-reject-rate "
                              f"{max_reject_rate:.1%}，退出码 1。[/yellow]")
            return 1
        return 0

    code = _run(debug, action)
    raise typer.Exit(code)


ScopeOpt = Annotated[str | None, typer.Option(
    "--scope", "-s", help="治理范围：pilot（试点）、zone（开发区）、city（全市）或任一镇街名称（默认：按年度阶段表）",
    show_default=False)]


@app.command("classify")
def classify_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    scope: ScopeOpt = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="判断隐患是否逾期的日期，如 2023-12-31（默认：今天）", show_default=False)] = None,
    debug: DebugOpt = False,
) -> None:
    """关联各部门数据到地块，计算亩均指标，识别三类治理对象，确定“四个一批”和 A/B/C/D 等级，写出 parcels.parquet 等。"""
    def action() -> None:
        from landaudit.classify import classify

        result = classify(_workspace(workspace), year=year, scope=scope, as_of=_parse_day(as_of))
        _render_classify(result)

    _run(debug, action)


def _parse_day(text: str | None):
    if text is None:
        return None
    from landaudit.errors import UsageError
    from landaudit.ingest.normalise import CellError, parse_date

    try:
        return parse_date(text)
    except CellError:
        raise UsageError(f"--as-of 的日期“{text}”无法识别，请写成 2023-12-31") from None


def _render_classify(result) -> None:
    counts = result.counts()
    table = Table(title=f"{result.year} 年地块分类（{result.scope}）")
    table.add_column("项目")
    table.add_column("地块数", justify="right")
    for label, key in (("地块总数", "parcels"), ("亩均低效", "low_efficiency"), ("低散乱污", "scattered_polluting"),
                       ("集体工业用地问题", "collective_problem"), ("纳入治理范围", "in_scope")):
        table.add_row(label, f"{counts[key]:,}")
    for batch, n in counts["batches"].items():
        table.add_row(f"四个一批·{batch}", f"{n:,}")
    table.add_row("待核实（未能关联）", f"{counts['unlinked']:,}")
    console.print(table)
    console.print(f"逾期判断日：{result.as_of}。输出：{result.outputs['parcels']} 等；数据库视图：{result.outputs['database']}")


@app.command("export")
def export_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    scope: ScopeOpt = None,
    by_township: Annotated[bool, typer.Option("--by-township", help="另外为每个镇乡（街道）写一个只含本镇街数据的工作簿")] = False,
    debug: DebugOpt = False,
) -> None:
    """写出治理清单工作簿（汇总、各类治理清单、四个一批、亩均效益评价、待核实），以及各部门的退回清单。"""
    def action() -> None:
        from landaudit.export import export

        ws = _workspace(workspace)
        result = export(ws, year=year, scope=scope, by_township=by_township)
        table = Table(title=f"{result.year} 年治理清单（范围：{result.scope}）")
        table.add_column("清单")
        table.add_column("行数", justify="right")
        for name, n in result.list_rows.items():
            table.add_row(name, f"{n:,}")
        console.print(table)
        for path in result.workbooks:
            console.print(f"治理清单：{ws.relative(path)}")
        if result.township_workbooks:
            console.print(f"镇街工作簿 {len(result.township_workbooks)} 个：{ws.relative(result.township_workbooks[0].parent)}/")
        if result.sendback:
            console.print(f"退回清单 {len(result.sendback)} 个：{ws.relative(result.sendback[0].parent)}/")

    _run(debug, action)


@app.command("explain")
def explain_cmd(
    parcel_code: Annotated[str, typer.Argument(help="地块编码（宗地代码或 28 位不动产单元号）")],
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    debug: DebugOpt = False,
) -> None:
    """说明一个地块为什么在它所在的清单里：属性、企业及关联方式、指标、标记和理由、处置规则，以及每条事实的来源文件/工作表/行。"""
    def action() -> None:
        from landaudit.explain import explain

        _render_explain(explain(_workspace(workspace), parcel_code, year=year))

    _run(debug, action)


def _render_explain(facts: dict) -> None:
    from rich.panel import Panel

    parcel = facts["parcel"]
    title = f"地块 {parcel['parcel_code']}（{parcel['township']}{' · ' + parcel['zone'] if parcel.get('zone') else ''}）"
    lines = [f"[bold]{title}[/bold]  {facts['year']} 年  来源：{facts['land_source']}"]
    for label, value in facts["attributes"]:
        lines.append(f"  {label}：{value}")
    console.print(Panel("\n".join(lines), expand=False))
    for heading, rows, columns in facts["sections"]:
        table = Table(title=heading, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*[str(v) if v is not None else "" for v in row])
        console.print(table)
    console.print(f"[bold]结论[/bold]：{facts['conclusion']}")


@app.command("sql")
def sql_cmd(
    query: Annotated[str, typer.Argument(help="只读 SQL 查询，如 \"SELECT batch, count(*) FROM parcels GROUP BY 1\"")],
    workspace: WorkspaceOpt = None,
    output_format: Annotated[str, typer.Option("--format", help="输出格式：table、csv 或 json")] = "table",
    debug: DebugOpt = False,
) -> None:
    """对各年度数据的视图（parcels、land、enterprise、ledger、kpis 等）执行只读 SQL 查询并显示结果。"""
    def action() -> None:
        from landaudit.explain import run_readonly_sql

        columns, rows = run_readonly_sql(_workspace(workspace), query)
        if output_format == "json":
            import json

            print(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], ensure_ascii=False, default=str))
        elif output_format == "csv":
            import csv

            writer = csv.writer(sys.stdout)
            writer.writerow(columns)
            writer.writerows(rows)
        else:
            table = Table(caption=f"{len(rows):,} 行")
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows[:1000]:
                table.add_row(*["" if v is None else str(v) for v in row])
            console.print(table)
            if len(rows) > 1000:
                console.print("（只显示前 1000 行；用 --format csv 导出全部）")

    _run(debug, action)


_DATASET_NAMES = {"land": "工业用地底数", "enterprise": "企业亩均效益", "ledger": "问题隐患台账"}
_SKIP_NAMES = {"blank": "空行", "total": "合计行", "note": "备注行", "duplicate": "重复行",
               "column_numbers": "栏次行", "repeated_header": "重复表头"}


def _render_ingest(result) -> None:
    from landaudit.findings import FINDING_TITLES, NOT_PROBLEMS

    table = Table(title=f"{result.year} 年部门报表读取结果", show_lines=False)
    for header, justify in (("文件", "left"), ("工作表", "left"), ("数据集", "left"), ("表头行", "right"),
                            ("总行数", "right"), ("接收", "right"), ("拒收", "right"), ("跳过", "right"),
                            ("说明", "left")):
        table.add_column(header, justify=justify, overflow="fold")
    for e in result.entries:
        if e.error:
            style = "dim" if e.error["code"] in NOT_PROBLEMS else "red"
            table.add_row(e.path, e.sheet or "", "", "", "", "", "", "", e.error["message"], style=style)
            continue
        dataset = _DATASET_NAMES.get(e.dataset, e.dataset) + (f"·{e.category}" if e.category else "")
        skipped = "，".join(f"{_SKIP_NAMES.get(k, k)} {v}" for k, v in e.skipped.items() if v)
        table.add_row(e.path, e.sheet, dataset, str(e.header_row), f"{e.rows_total:,}", f"{e.rows_accepted:,}",
                      f"[red]{e.rows_rejected:,}[/red]" if e.rows_rejected else "0", f"{e.rows_skipped:,}",
                      skipped)
    console.print(table)
    totals = result.totals
    console.print(f"合计：{totals['files']} 个文件，{totals['sheets']} 个工作表，{totals['rows_total']:,} 行 → "
                  f"接收 {totals['rows_accepted']:,}，拒收 {totals['rows_rejected']:,}，跳过 {totals['rows_skipped']:,}；"
                  f"无法读取 {totals['errors']} 个；待核实/提示 {totals['warnings']:,} 条。")
    by = totals["by_dataset"]
    console.print(f"入库：地块 {by['land']:,} 宗，企业 {by['enterprise']:,} 家，问题隐患 {by['ledger']:,} 条。")
    report = result.report()
    if report["top_reasons"]:
        reasons = Table(title="主要拒收原因")
        reasons.add_column("原因")
        reasons.add_column("次数", justify="right")
        reasons.add_column("示例")
        for item in report["top_reasons"][:5]:
            example = next(f for f in result.findings if f.code == item["code"])
            where = f"{example.file}" + (f" 第 {example.row} 行" if example.row else "")
            reasons.add_row(FINDING_TITLES[item["code"]], str(item["count"]), f"{where}：{example.message}")
        console.print(reasons)
    console.print(f"输出：{result.outputs['report']}、{result.outputs['rejects']} 等，位于 "
                  f"data/processed/{result.year}/")


def main() -> None:
    # Narrow terminals and cron logs: rich decides colour by TTY; keep a sane width without one.
    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        console.width = 160
    app()


if __name__ == "__main__":
    main()
