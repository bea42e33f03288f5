"""Command line (Typer only): parse options, call one library function, render, set the exit code.

Heavy libraries (pandas, pyarrow, duckdb, xlsxwriter) are imported inside the commands so that
`landaudit --help` stays fast.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text

from landaudit import render
from landaudit.errors import LandauditError
from landaudit.log import json_safe

_HELP_WORDS = {
    "Options": "选项", "Commands": "命令", "Arguments": "参数", "Error": "错误",
    "[required]": "[必填]", "required": "必填", "[default: {}]": "[默认：{}]", "default: {default}": "默认：{default}",
    "Missing command.": "缺少命令。",
    "Try [blue]'{command_path} {help_option}'[/] for help.": "运行 '{command_path} {help_option}' 查看帮助。",
    "Aborted!": "已中止！", "Aborted.": "已中止。",
}


_METAVARS = {"<int>": "<整数>", "<str>": "<文字>", "<path>": "<路径>", "<float>": "<数字>", "<bool>": "<是/否>",
             "<int range>": "<整数>", "<float range>": "<数字>", "<list[path]>": "<路径>",
             "<list[Path]>": "<路径>", "<list[str]>": "<文字>"}


def _number_range(low, high) -> str | None:
    """typer's "0.0<=x<=1.0" in help, in words."""
    if low is None and high is None:
        return None
    if low is None:
        return f"不大于 {high}"
    if high is None:
        return f"不小于 {low}"
    return f"{low} 至 {high}"


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
        args = args.replace("[OPTIONS]", "[选项]").replace("COMMAND [ARGS]...", "命令 [参数]...")
        args = re.sub(r"\{([^{}\s]+)\}", r"\1", args)          # typer's {地块编码} → 地块编码
        return original_write_usage(self, prog, args, "用法：" if prefix is None else prefix)

    def get_help_option(self, ctx):
        option = original_help_option(self, ctx)
        if option is not None:
            option.help = "显示本帮助并退出。"
        return option

    formatting.HelpFormatter.write_usage = write_usage
    click_core.Command.get_help_option = get_help_option
    original_display_type = typer.core._TyperParameter.display_type

    def display_type(self, ctx):                 # <int> → <整数>; choices (<table|json>) stay
        shown = original_display_type(self, ctx)
        return _METAVARS.get(shown, shown)

    typer.core._TyperParameter.display_type = display_type
    typer.core.describe_number_range = _number_range
    _localise_wrapping()
    _localise_usage_errors()
    _localise_completion()


def _localise_usage_errors() -> None:
    """Click's usage errors (unknown option, missing argument, bad value ...) in Chinese, exit 2."""
    import typer.core
    from typer._click import exceptions
    from typer._click.utils import echo

    from landaudit.usage_text import usage_error_text

    original_parse_args = typer.core.TyperGroup.parse_args

    def parse_args(self, ctx, args):
        ctx.meta["landaudit.words"] = list(args)            # shared with the subcommand's context
        return original_parse_args(self, ctx, args)

    typer.core.TyperGroup.parse_args = parse_args

    def log_format(ctx) -> str | None:
        """--log-format plain|json among the words of the command line (cron): the error is then
        one log line, like every other fatal error."""
        words = ctx.meta.get("landaudit.words", []) if ctx is not None else []
        for i, word in enumerate(words):
            value = word.split("=", 1)[1] if word.startswith("--log-format=") else (
                words[i + 1] if word == "--log-format" and i + 1 < len(words) else None)
            if value in ("plain", "json"):
                return value
        return None

    def show(self, file=None) -> None:
        file = file or sys.stderr
        fmt = log_format(self.ctx)
        if fmt is not None:
            from landaudit.log import RunLog

            RunLog(fmt).error("usage", usage_error_text(self), exit_code=self.exit_code)
            return
        from landaudit.log import visible  # the words typed may hold escapes (SPEC §13 rev. 2)

        if self.ctx is not None:
            echo(self.ctx.get_usage(), file=file)
            echo(f"运行 {self.ctx.command_path} -h 查看帮助。", file=file)
        else:
            echo("运行 landaudit -h 查看帮助。", file=file)
        echo(visible(f"错误：{usage_error_text(self)}", keep_newlines=True), file=file)

    exceptions.UsageError.show = show


def _localise_wrapping() -> None:
    """Help fits the terminal: click measures characters and breaks only at spaces; Chinese needs
    cells and breaks between characters (usage_text.cjk_wrap)."""
    from rich.cells import cell_len
    from typer._click import _textwrap, formatting

    from landaudit.usage_text import cjk_wrap

    _textwrap.TextWrapper.wrap = cjk_wrap
    formatting.term_len = lambda text: cell_len(text)


def _localise_completion() -> None:
    import typer.main

    original = typer.main.get_install_completion_arguments

    def installed(ctx, param, value):
        if not value or ctx.resilient_parsing:
            return value
        from typer.completion import install

        shell, path = install(shell=value) if isinstance(value, str) else install()
        typer.echo(f"已为 {shell} 安装命令补全（{path}），重新打开终端后生效：输入 landaudit 后按 Tab 键补全命令和选项。")
        sys.exit(0)

    def chinese():
        install, show = original()
        install.help = "为当前 shell（bash、zsh、fish、PowerShell）安装命令补全，按 Tab 补全命令和选项。"
        install.callback = installed
        show.help = "显示当前 shell 的补全脚本，可复制或自行安装。"
        return install, show

    typer.main.get_install_completion_arguments = chinese


_localise_help()

app = typer.Typer(
    name="landaudit",
    help="工业全域治理数据工具：汇总各部门报表，识别亩均低效、“低散乱污”和集体工业用地问题地块，"
         "确定“四个一批”处置方式，输出治理清单。",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Made again for every invocation (see _main): the width follows COLUMNS and the terminal, and
# NO_COLOR is read then. Results go to `console` (stdout), log lines to `err_console` (stderr).
console = render.make_console()
err_console = render.make_console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            shown = version("landaudit")
        except PackageNotFoundError:
            shown = "（未安装，源码运行）"
        typer.echo(f"landaudit {shown}")
        raise typer.Exit(0)


@app.callback()
def _main(
    show_version: Annotated[bool, typer.Option("--version", "-V", help="显示版本号并退出。", callback=_version,
                                               is_eager=True)] = False,
) -> None:
    global console, err_console
    console, err_console = render.make_console(), render.make_console(stderr=True)

# Options shared by commands (defined once, STYLE.md).
WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", help="工作区文件夹（默认：当前文件夹，或环境变量 LANDAUDIT_WORKSPACE）",
    show_default=False)]
YearOpt = Annotated[int | None, typer.Option(
    "--year", "-y", help="年度（默认：data/raw 下最新的年度文件夹）", show_default=False)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="出错时显示完整的 Python 错误堆栈（排查程序问题用）")]
LogFormatOpt = Annotated[Literal["auto", "plain", "json", "rich"], typer.Option(
    "--log-format", help="日志格式（写到标准错误）：auto（终端上彩色和进度条，否则带时间的纯文本行）、plain、"
    "json（每行一个 JSON 对象）或 rich（总是彩色）")]
TableJsonOpt = Annotated[Literal["table", "json"], typer.Option("--format", help="输出格式：table（表格）或 json")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="只输出警告和错误")]
LockWaitOpt = Annotated[float, typer.Option(
    "--lock-wait", help="工作区被另一个运行占用时最多等待的秒数（默认不等待，直接以退出码 3 结束）", min=0.0)]
StrictOpt = Annotated[bool, typer.Option("--strict", help="有任何被拒行或无法读取的文件时以退出码 1 结束")]
MaxRejectOpt = Annotated[float | None, typer.Option(
    "--max-reject-rate", help="被拒行占比超过此值（0–1）时以退出码 1 结束（默认不检查）",
    min=0.0, max=1.0, show_default=False)]
EncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", help="强制指定 CSV/文本文件的编码（如 gbk、utf-8），默认自动识别", show_default=False)]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", help="判断隐患是否已销号、逾期、已发现的日期，如 2023-12-31（默认：分类时所用的日期；"
    "分类时默认过去年度为当年 12 月 31 日，本年度为今天）", show_default=False)]
AllowIncompleteOpt = Annotated[bool, typer.Option(
    "--allow-incomplete", help="缺少整类部门数据（工业用地、企业或问题隐患）时仍然导出并替换原有的治理清单"
    "（默认不导出，保留原有工作簿；退出码仍为 1）")]


def _run(debug: bool, action, log=None):
    """The one place errors become a Chinese sentence and an exit code (SPEC §2). With a run log,
    the library's log records (logging, `landaudit` loggers) are rendered by it meanwhile."""
    try:
        if log is None:
            return action()
        with log.capture():
            return action()
    except LandauditError as exc:
        if debug:
            raise
        text = str(exc)
        _fatal(log, text if "错误：" in text[:8] else f"错误：{text}", exc.exit_code)      # "SQL 错误：…" stays
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("已中断。", style="red")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # `landaudit report | head`: the reader left; say nothing more (Python docs' recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except Exception as exc:
        if debug:
            raise
        from landaudit.errors import environment_problem

        if (problem := environment_problem(exc)) is not None:      # SPEC §2 rev. 2: the machine, exit 2
            _fatal(log, f"错误：{problem}", problem.exit_code)
            raise typer.Exit(problem.exit_code) from None
        _fatal(log, f"程序内部错误：{type(exc).__name__}: {exc}。请加 --debug 重新运行，并把输出发给维护人员。", 70)
        raise typer.Exit(70) from None


def _out_encoding() -> str | None:
    """The encoding of stdout, so --format json escapes what it cannot encode (GBK console) as \\uXXXX."""
    return getattr(sys.stdout, "encoding", None)


def _fatal(log, message: str, exit_code: int) -> None:
    """A fatal error: one red sentence on a terminal (soft-wrapped: the terminal folds it, copying it
    keeps one line); one ERROR log line in plain/JSON log mode."""
    if log is not None and log.mode in ("json", "plain"):
        log.error("error", message.removeprefix("错误："), exit_code=exit_code)
    else:
        err_console.print(message, style="red", soft_wrap=True)


def _workspace(path: Path | None):
    from landaudit.errors import UsageError
    from landaudit.workspace import Workspace

    ws = Workspace.at(path)
    if ws.root.exists() and not ws.root.is_dir():        # issue 14 item 8: a file given as -w
        raise UsageError(f"工作区 {ws.root} 不是文件夹（是一个文件）：--workspace/-w 要给出工作区文件夹，"
                         f"如 -w {ws.root.parent}")
    return ws


def _log(log_format: str, quiet: bool):
    from landaudit.log import RunLog

    return RunLog(log_format, quiet=quiet, console=err_console)


def _start_workers_early() -> None:
    """The workers' forkserver imports the readers while this process imports and sets up (ingest/workers.py)."""
    from landaudit.ingest.workers import start_early

    start_early()


def _locked(ws, command: str, wait: float):
    """The workspace lock for a writing command, with a killed run's leftovers cleaned up."""
    from landaudit.run import writing

    return writing(ws, command, wait)


def _data_exit(result, strict: bool, max_reject_rate: float | None, log) -> int:
    """Exit 1 when data problems exceed --max-reject-rate, or any with --strict (SPEC §2)."""
    totals = result.totals
    if strict and (totals["rows_rejected"] or totals["errors"]):
        log.warning("ingest", "--strict：存在被拒行或无法读取的文件，退出码 1")
        return 1
    if max_reject_rate is not None and result.reject_rate > max_reject_rate:
        log.warning("ingest", f"被拒行占比 {result.reject_rate:.1%} 超过 --max-reject-rate {max_reject_rate:.1%}，退出码 1")
        return 1
    return 1 if result.missing_datasets else 0         # SPEC §2 rev. 2 (warned by run.warn_missing)


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
        folder = ws.inside(out) if out else ws.root / "data" / "templates"
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
    force: Annotated[bool, typer.Option("--force", help="data/raw/ 中已有真实报表时也写入模拟报表（会与真实数据混在一起）")] = False,
    debug: DebugOpt = False,
) -> None:
    """生成模拟的部门报表（两个年度，仅供演示和测试），写入 data/raw/<年度>/。data/raw/ 中已有不是演示生成的文件时拒绝写入。"""
    def action() -> None:
        from landaudit.demo import foreign_files, record_demo, write_demo
        from landaudit.errors import UsageError

        ws = _workspace(workspace)
        foreign = foreign_files(ws.raw)
        if foreign and not force:
            names = "、".join(ws.relative(p) for p in foreign[:3]) + (f" 等 {len(foreign)} 个文件" if len(foreign) > 3 else "")
            raise UsageError(f"{ws.relative(ws.raw)}/ 中已有不是演示生成的文件（{names}）：模拟报表不能与真实报表混在一起。"
                             f"请在一个新的空文件夹中运行 landaudit demo -w 新文件夹；确要写入时加 --force")
        with _log("auto", False).spinner(f"正在生成模拟部门报表（{parcels:,} 个地块）……"):
            paths = write_demo(ws.raw, parcels=parcels, seed=seed)
        record_demo(ws.raw, paths)
        table = Table(title=f"已生成模拟部门报表（{parcels} 个地块，种子 {seed}）")
        table.add_column("文件", overflow="fold")
        table.add_column("大小", justify="right", no_wrap=True)
        for path in paths:
            table.add_row(ws.relative(path), f"{path.stat().st_size / 1024:,.0f} KB")
        console.print(table)

    _run(debug, action)


@app.command("ingest")
def ingest_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    encoding: EncodingOpt = None,
    max_reject_rate: MaxRejectOpt = None,
    strict: StrictOpt = False,
    output_format: Annotated[Literal["table", "json"], typer.Option(
        "--format", help="输出格式：table（表格）或 json（完整读取报告）")] = "table",
    log_format: LogFormatOpt = "auto",
    quiet: QuietOpt = False,
    lock_wait: LockWaitOpt = 0.0,
    debug: DebugOpt = False,
) -> None:
    """读取 data/raw/<年度>/ 下的全部部门报表，识别数据集、校验、标准化，写出 Parquet、被拒行清单和 ingest_report.json。"""
    log = _log(log_format, quiet)

    def action() -> int:
        _start_workers_early()
        from landaudit.ingest import ingest

        ws = _workspace(workspace)
        with _locked(ws, "landaudit ingest", lock_wait), log.progress("读取") as progress:
            result = ingest(ws, year=year, encoding=encoding, progress=progress)
        if output_format == "json":
            import json

            print(json_safe(json.dumps(result.report(), ensure_ascii=False, default=str, indent=1), _out_encoding()))
        else:
            _render_ingest(result, log)
        from landaudit.run import warn_missing

        warn_missing(result.missing_datasets)
        return _data_exit(result, strict, max_reject_rate, log)

    code = _run(debug, action, log)
    raise typer.Exit(code)


ScopeOpt = Annotated[str | None, typer.Option(
    "--scope", "-s", help="治理范围：全市、开发区、试点（或 city、zone、pilot）或任一镇街名称（默认：按年度阶段表）",
    show_default=False)]


@app.command("classify")
def classify_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    scope: ScopeOpt = None,
    as_of: AsOfOpt = None,
    log_format: LogFormatOpt = "auto",
    quiet: QuietOpt = False,
    lock_wait: LockWaitOpt = 0.0,
    debug: DebugOpt = False,
) -> None:
    """关联各部门数据到地块，计算亩均指标，识别三类治理对象，确定“四个一批”和 A/B/C/D 等级，写出 parcels.parquet 等。"""
    log = _log(log_format, quiet)

    def action() -> None:
        from landaudit.classify import classify

        ws = _workspace(workspace)
        with _locked(ws, "landaudit classify", lock_wait), log.spinner("正在分类（关联、计算指标、分批）……"):
            result = classify(ws, year=year, scope=scope, as_of=_parse_day(as_of))
        _render_classify(result, log)
        from landaudit.classify import recorded_ingest
        from landaudit.run import warn_missing

        # SPEC §2 rev. 2: classify may run on an incomplete year, but says so (export will refuse)
        warn_missing(recorded_ingest(ws, result.year).get("missing_datasets") or [])

    _run(debug, action, log)


def _parse_day(text: str | None, option: str = "--as-of"):
    if text is None:
        return None
    from landaudit.errors import UsageError
    from landaudit.ingest.normalise import CellError, parse_date

    try:
        return parse_date(text)
    except CellError:
        raise UsageError(f"{option} 的日期“{text}”无法识别，请写成 2023-12-31") from None


def _render_classify(result, log) -> None:
    counts = result.counts()
    if not log.rich:
        log.info("classify", f"{result.year} 年（{result.scope_name}）：地块 {counts['parcels']}，亩均低效 {counts['low_efficiency']}，"
                 f"低散乱污 {counts['scattered_polluting']}，集体工业用地问题 {counts['collective_problem']}，"
                 f"纳入治理 {counts['in_scope']}；" + "，".join(f"{b} {n}" for b, n in counts["batches"].items()) +
                 f"；待核实 {counts['unlinked']}", **{k: v for k, v in counts.items() if k != "batches"})
        return
    table = Table(title=f"{result.year} 年地块分类（{result.scope_name}）")
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
    as_of: AsOfOpt = None,
    allow_incomplete: AllowIncompleteOpt = False,
    log_format: LogFormatOpt = "auto",
    quiet: QuietOpt = False,
    lock_wait: LockWaitOpt = 0.0,
    debug: DebugOpt = False,
) -> None:
    """写出治理清单工作簿（汇总、各类治理清单、四个一批、亩均效益评价、待核实），以及各部门的退回清单。"""
    log = _log(log_format, quiet)

    def action() -> int:
        from landaudit.export import export
        from landaudit.run import warn_missing

        ws = _workspace(workspace)
        with _locked(ws, "landaudit export", lock_wait), log.spinner("正在写出治理清单工作簿……"):
            result = export(ws, year=year, scope=scope, by_township=by_township, as_of=_parse_day(as_of),
                            allow_incomplete=allow_incomplete)
        _render_export(result, ws, log)
        warn_missing(result.missing_datasets)        # written anyway (--allow-incomplete): still exit 1
        return 1 if result.missing_datasets else 0

    raise typer.Exit(_run(debug, action, log))


def _render_export(result, ws, log) -> None:
    if log.rich:
        table = Table(title=f"{result.year} 年治理清单（范围：{result.scope_name}）")
        table.add_column("清单")
        table.add_column("行数", justify="right")
        for name, n in result.list_rows.items():
            table.add_row(name, f"{n:,}")
        console.print(table)
    else:
        log.info("export", "各清单行数：" + "，".join(f"{k} {v}" for k, v in result.list_rows.items()), **result.list_rows)
    for path in result.workbooks:
        log.info("export", f"治理清单：{ws.relative(path)}")
    if result.township_workbooks:
        log.info("export", f"镇街工作簿 {len(result.township_workbooks)} 个：{ws.relative(result.township_workbooks[0].parent)}/")
    if result.sendback:
        log.info("export", f"退回清单 {len(result.sendback)} 个：{ws.relative(result.sendback[0].parent)}/")


@app.command("run")
def run_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    scope: ScopeOpt = None,
    by_township: Annotated[bool, typer.Option("--by-township", help="另外为每个镇乡（街道）写一个只含本镇街数据的工作簿")] = False,
    encoding: EncodingOpt = None,
    as_of: AsOfOpt = None,
    max_reject_rate: MaxRejectOpt = None,
    strict: StrictOpt = False,
    allow_incomplete: AllowIncompleteOpt = False,
    log_format: LogFormatOpt = "auto",
    quiet: QuietOpt = False,
    lock_wait: LockWaitOpt = 0.0,
    debug: DebugOpt = False,
) -> None:
    """一次完成读取 → 分类 → 导出（供定时任务使用），写出 run_manifest.json；退出码：0 成功，1 数据问题超限或缺少整类部门数据（此时不导出，保留原有治理清单），2 用法、配置或环境错误，3 工作区被占用。"""
    log = _log(log_format, quiet)

    def action() -> int:
        _start_workers_early()
        from landaudit.run import KEPT_WORKBOOKS, run, warn_missing

        ws = _workspace(workspace)
        result = run(ws, progress=log.progress, year=year, scope=scope, by_township=by_township, encoding=encoding,
                     as_of=_parse_day(as_of), lock_wait=lock_wait, allow_incomplete=allow_incomplete)
        if log.rich:
            _render_ingest(result.ingest, log)
            _render_classify(result.classify, log)
            if not result.export_skipped:
                _render_export(result.export, ws, log)
            warn_missing(result.missing_datasets)      # again below the tables, where it is read
            if result.export_skipped:
                log.warning("export", KEPT_WORKBOOKS.format(year=result.year))
        done = "读取和分类已完成（未导出）" if result.export_skipped else "全部完成"
        log.info("run", f"{done}，用时 {result.timings['total']:.1f} 秒；运行记录：{ws.relative(result.manifest)}",
                 **result.timings)
        return _data_exit(result.ingest, strict, max_reject_rate, log)

    code = _run(debug, action, log)
    raise typer.Exit(code)


@app.command("census")
def census_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    scope: ScopeOpt = None,
    encoding: EncodingOpt = None,
    as_of: AsOfOpt = None,
    log_format: LogFormatOpt = "auto",
    quiet: QuietOpt = False,
    lock_wait: LockWaitOpt = 0.0,
    debug: DebugOpt = False,
) -> None:
    """年度大普查（工业用地大普查）：读取 → 分类 → 导出治理清单和各镇街工作簿，再显示目标指标（即 run --by-township 之后 report）。"""
    try:
        # report then shows the as-of date the classification recorded
        run_cmd(workspace=workspace, year=year, scope=scope, by_township=True, encoding=encoding, as_of=as_of,
                max_reject_rate=None, strict=False, log_format=log_format, quiet=quiet, lock_wait=lock_wait,
                debug=debug)
    except typer.Exit as finished:
        if finished.exit_code:
            raise
    report_cmd(workspace=workspace, year=year, scope=scope, as_of=None, output_format="table", debug=debug)


@app.command("report")
def report_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    scope: ScopeOpt = None,
    as_of: AsOfOpt = None,
    output_format: TableJsonOpt = "table",
    debug: DebugOpt = False,
) -> None:
    """按范围和镇街显示目标指标（规上亩均税收、亩均增加值增速、重大较大隐患清零等）及是否达标（✓ 达标，✗ 未达标）；终端较窄时每个范围/镇街显示为一段。"""
    def action() -> None:
        from landaudit.report import report

        data = report(_workspace(workspace), year=year, scope=scope, as_of=_parse_day(as_of))
        if output_format == "json":
            import json

            print(json_safe(json.dumps(data, ensure_ascii=False, default=str, indent=1), _out_encoding()))
            return
        render.report(console, data)

    _run(debug, action)


@app.command("track")
def track_cmd(
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    as_of: AsOfOpt = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="与这一天（含当天）或之前最近的一次快照比较，如 2023-06-30（默认：最近一次状态不同的快照；"
        "本年没有时与上年最后一次快照比较）", show_default=False)] = None,
    output_format: TableJsonOpt = "table",
    debug: DebugOpt = False,
) -> None:
    """整改销号进度：按问题编号比较最近一次台账快照和上一次状态不同的快照（新增、销号、仍未整改、逾期、重新打开、已从台账移除），以及上年末未整改问题的去向。信访件不计入。"""
    def action() -> None:
        from landaudit.track import track

        result = track(_workspace(workspace), year=year, as_of=_parse_day(as_of),
                       since=_parse_day(since, "--since"))
        if output_format == "json":
            import json

            print(json_safe(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), _out_encoding()))
            return
        _render_track(result)

    _run(debug, action)


SHOWN_ROWS = 20                          # rows a terminal table lists before pointing to --format json


def _render_track(result) -> None:
    if result.previous is None:
        compared = "（没有更早的快照，全部为新增）"
    elif result.previous_snapshot_year != result.year:
        compared = f"{result.previous}（{result.previous_snapshot_year} 年最后一次快照）"
    else:
        compared = result.previous
    console.print(f"本次快照：{result.newest}")
    console.print(f"对比快照：{compared}")
    table = Table(title=f"{result.year} 年整改销号进度")
    table.add_column("情况")
    table.add_column("条数", justify="right")
    for name, n in result.counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    if result.previous_year:
        y = result.year_counts
        fates = Table(title=f"对比 {result.previous_year} 年末（{result.previous_year_as_of}）")
        fates.add_column("情况")
        fates.add_column("条数", justify="right")
        for label, key in (("已销号", "上年未整改已销号"), ("仍未整改", "上年未整改仍未整改"),
                           ("已从台账移除", "上年未整改已从台账移除")):
            fates.add_row(f"上年末未整改：{label}", f"{y[key]:,}")
        fates.add_row("上年末未整改合计", f"{y['上年未整改']:,}", style="bold")
        fates.add_row("上年末已销号、现重新打开", f"{y['上年已销号重新打开']:,}")
        fates.add_row("本年新增", f"{y['本年新增']:,}")
        console.print(fates)
        gone = [r for r in result.last_year_open if r["fate"] == "已从台账移除"]
        if gone:
            render.rows_view(console, ("类别", "问题编号", "企业名称", "地块编码"),
                             [[r[k] or "" for k in ("category", "item_id", "name", "parcel_code")]
                              for r in gone[:SHOWN_ROWS]],
                             title="上年末未整改、现已从台账移除（请核实是否已整改）", fold=("企业名称",),
                             block_title=lambda i, row: f"{row[0]} {row[1]}")
            if len(gone) > SHOWN_ROWS:
                console.print(f"……另有 {len(gone) - SHOWN_ROWS:,} 条，见 --format json 的 last_year_open。")
    console.print(f"逾期判断日：{result.as_of}；信访件不计入。")
    console.print("明细见 landaudit export 的“整改销号进度”工作表，或 --format json。")


@app.command("explain")
def explain_cmd(
    parcel_code: Annotated[str, typer.Argument(help="地块编码（宗地代码或 28 位不动产单元号）", metavar="地块编码")],
    workspace: WorkspaceOpt = None,
    year: YearOpt = None,
    output_format: TableJsonOpt = "table",
    debug: DebugOpt = False,
) -> None:
    """说明一个地块为什么在它所在的清单里：属性、企业及关联方式、指标、标记和理由、处置规则，以及每条事实的来源文件/工作表/行。"""
    def action() -> None:
        from landaudit.explain import explain

        facts = explain(_workspace(workspace), parcel_code, year=year)
        if output_format == "json":
            import json

            print(json_safe(json.dumps(facts, ensure_ascii=False, default=str, indent=1), _out_encoding()))
            return
        render.explain(console, facts)

    _run(debug, action)


SQL_SHOWN_ROWS = 20                      # rows `sql` shows on a screen unless --limit says otherwise


@app.command("sql")
def sql_cmd(
    query: Annotated[str | None, typer.Argument(
        help="只读 SQL 查询，如 \"SELECT batch, count(*) FROM parcels GROUP BY 1\"", show_default=False,
        metavar="查询")] = None,
    workspace: WorkspaceOpt = None,
    year: Annotated[int | None, typer.Option(
        "--year", "-y", help="只查这一年：每个视图只保留 data_year 等于该年的行（默认：全部年度，可在 SQL 中写 "
        "WHERE data_year = 2023）", show_default=False)] = None,
    tables: Annotated[bool, typer.Option("--tables", help="列出可以查询的表和视图")] = False,
    columns: Annotated[str | None, typer.Option(
        "--columns", help="列出一个表或视图的列和类型，如 --columns parcels", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", help=f"最多输出多少行（表格默认 {SQL_SHOWN_ROWS} 行，csv 和 json 默认全部；0 = 全部）", min=0,
        show_default=False)] = None,
    output_format: Annotated[Literal["table", "csv", "json"], typer.Option(
        "--format", help="输出格式：table（表格，行太宽时逐行竖排）、csv（UTF-8 带 BOM，Excel/WPS 可直接打开）或 json")] = "table",
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="把结果写到这个文件而不是屏幕（按 --format，表格时写 csv；.json 结尾写 json）",
        show_default=False)] = None,
    debug: DebugOpt = False,
) -> None:
    """对各年度数据的视图（parcels、land、enterprise、ledger、kpis 等）执行只读 SQL 查询并显示结果；--tables 列出全部表，--columns 表名 列出一个表的列。"""
    def action() -> None:
        from landaudit.errors import UsageError
        from landaudit.explain import list_tables, run_readonly_sql, table_columns

        ws = _workspace(workspace)
        if tables:
            render.name_list(console, "可以查询的表和视图", ["名称", "类型", "列数", "内容"], list_tables(ws))
            console.print("列出一个表的列：landaudit sql --columns parcels")
            return
        if columns:
            render.name_list(console, f"{columns} 的列", ["列", "类型"], table_columns(ws, columns))
            return
        if not query:
            raise UsageError("缺少 SQL 查询：如 landaudit sql \"SELECT batch, count(*) FROM parcels GROUP BY 1\"；"
                             "landaudit sql --tables 列出可以查询的表")
        chosen = output_format
        if out is not None and chosen == "table":
            chosen = "json" if out.suffix.lower() == ".json" else "csv"
        shown = limit if limit is not None else (SQL_SHOWN_ROWS if chosen == "table" and out is None else 0)
        result = run_readonly_sql(ws, query, year=year, limit=shown or None)
        if chosen == "table":
            render.sql_rows(console, result.columns, result.types, result.rows, result.total)
            if result.total > len(result.rows):
                console.print("导出全部：--format csv --out 结果.csv（Excel 可直接打开）")
            return
        _write_sql_result(result, chosen, out)

    _run(debug, action)


def _csv_cell(value):
    if isinstance(value, (list, tuple)):
        return "；".join("" if v is None else str(v) for v in value)
    return value


def _write_sql_result(result, chosen: str, out: Path | None) -> None:
    """csv (UTF-8 with a BOM, so Excel and WPS read the Chinese) or json, to stdout or --out."""
    import csv
    import io
    import json

    if chosen == "json":
        text = json_safe(json.dumps([dict(zip(result.columns, r, strict=True)) for r in result.rows], ensure_ascii=False,
                                    default=str, indent=1)) + "\n"
        data = text.encode("utf-8")
    else:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        writer.writerows([_csv_cell(v) for v in row] for row in result.rows)
        data = buffer.getvalue().encode("utf-8-sig")
    if out is None:
        if render._isatty(sys.stdout):              # CSV cells on a screen: no raw escapes (SPEC §13 rev. 2)
            from landaudit.log import visible

            data = visible(data.decode("utf-8"), keep_newlines=True).encode("utf-8")
        sys.stdout.flush()
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:
            sys.stdout.write(data.decode("utf-8"))
        else:
            stream.write(data)
            stream.flush()
        return
    from landaudit.workspace import atomic_write

    target = out.resolve()
    atomic_write(target, lambda tmp: tmp.write_bytes(data))
    err_console.print(f"已写出 {len(result.rows):,} 行：{target}", soft_wrap=True)


_DATASET_NAMES = {"land": "工业用地底数", "enterprise": "企业亩均效益", "ledger": "问题隐患台账"}
_SKIP_NAMES = {"blank": "空行", "total": "合计行", "note": "备注行", "duplicate": "重复行",
               "column_numbers": "栏次行", "repeated_header": "重复表头"}


def _render_ingest(result, log) -> None:
    """One compact line per file on a terminal (render.ingest); one log line per sheet otherwise
    (cron logs, --log-format json)."""
    from landaudit.findings import FINDING_TITLES, NOT_PROBLEMS

    totals, by = result.totals, result.totals["by_dataset"]
    summary = (f"合计：{totals['files']} 个文件，{totals['sheets']} 个工作表，{totals['rows_total']:,} 行 → "
               f"接收 {totals['rows_accepted']:,}，拒收 {totals['rows_rejected']:,}，跳过 {totals['rows_skipped']:,}；"
               f"无法读取 {totals['errors']} 个；待核实/提示 {totals['warnings']:,} 条。"
               f"入库：地块 {by['land']:,} 宗，企业 {by['enterprise']:,} 家，问题隐患 {by['ledger']:,} 条。")
    reasons = []
    for item in result.report()["top_reasons"][:5]:
        example = next(f for f in result.findings if f.code == item["code"])
        where = f"{example.file}" + (f" 第 {example.row} 行" if example.row else "")
        reasons.append((FINDING_TITLES[item["code"]], item["count"], f"{where}：{example.message}"))
    if not log.rich:
        for e in result.entries:
            where = e.path + (f"（{e.sheet}）" if e.sheet else "")
            if e.error:
                emit = log.info if e.error["code"] in NOT_PROBLEMS else log.warning
                emit("ingest", f"{where}：{e.error['message']}", code=e.error["code"])
            else:
                log.info("ingest", f"{where}：{_DATASET_NAMES.get(e.dataset)}，表头第 {e.header_row} 行，总 {e.rows_total} 行，"
                         f"接收 {e.rows_accepted}，拒收 {e.rows_rejected}，跳过 {e.rows_skipped}",
                         dataset=e.dataset, rows_total=e.rows_total, rows_accepted=e.rows_accepted,
                         rows_rejected=e.rows_rejected, rows_skipped=e.rows_skipped)
        for title, count, example in reasons:
            log.info("ingest", f"拒收原因：{title} {count} 次，例如 {example}", count=count)
        log.info("ingest", summary, **{k: v for k, v in totals.items() if k != "by_dataset"})
        return
    reasons = [(title, count, example.removeprefix(f"data/raw/{result.year}/")) for title, count, example in reasons]
    render.ingest(console, result, summary, reasons)


@app.command("status")
def status_cmd(
    workspace: WorkspaceOpt = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="只看这一年（默认：全部年度）",
                                             show_default=False)] = None,
    output_format: TableJsonOpt = "table",
    debug: DebugOpt = False,
) -> None:
    """工作区现状（类似 git status）：各年度的部门报表、读取、分类、导出情况，哪些已过时或缺少，以及下一步该运行的命令。只读，不写任何文件，也不占用工作区。"""
    def action() -> None:
        from landaudit.status import status

        data = status(_workspace(workspace), year=year)
        if output_format == "json":
            import json

            print(json_safe(json.dumps(data, ensure_ascii=False, indent=1), _out_encoding()))
        else:
            _render_status(data)

    _run(debug, action)


def _render_status(data: dict) -> None:
    from landaudit.status import DATASET_TITLES

    _line(0, f"工作区：{data['workspace']}")
    if data["running"]:
        r = data["running"]
        _line(0, f"正在运行：{r['command']}（PID {r['pid']}，开始于 {r['started']}）", "yellow")
    if data["config_error"]:
        _line(0, f"配置有误：{data['config_error']}", "red")
    for y in data["years"]:
        console.print()
        _line(0, f"{y['year']} 年", "bold")
        raw = y["raw"]
        newest = f"，最近改动 {raw['newest']}" if raw["newest"] else ""
        _line(2, f"部门报表：{raw['folder']} 共 {raw['files']} 个文件{newest}")
        ingest = y["ingest"]
        if ingest is None:
            _line(2, "读取：尚未读取")
        else:
            _line(2, f"读取：{ingest['at']}，{ingest['files']} 个文件，{ingest['sheets']} 个工作表")
            _line(6, f"接收 {ingest['rows_accepted']:,} 行，拒收 {ingest['rows_rejected']:,} 行，"
                     f"跳过 {ingest['rows_skipped']:,} 行")
            _line(6, "，".join(f"{DATASET_TITLES[k]} {v['rows']:,} 行" for k, v in ingest["datasets"].items()))
            for u in ingest["unreadable"]:
                _line(6, f"无法读取：{u['path']}" + (f"（{u['sheet']}）" if u["sheet"] else ""), "red")
            for label, key in (("新文件", "new"), ("读取后改动过", "changed"), ("已删除", "removed")):
                for path in y["changes"][key]:
                    _line(6, f"{label}：{path}", "yellow")
        classified = y["classify"]
        if classified is None:
            _line(2, "分类：尚未分类")
        else:
            stale = "；早于最近一次读取，已过时" if classified["stale"] else ""
            _line(2, f"分类：{classified['at']}，范围 {classified['scope_name']}，隐患判断日 {classified['as_of']}{stale}",
                  "yellow" if stale else None)
        exported = y["export"]
        if exported is None:
            _line(2, "导出：尚未导出")
        else:
            stale = "；早于最近一次分类，已过时" if exported["stale"] else ""
            names = "、".join(p.rsplit("/", 1)[-1] for p in exported["workbooks"]) or "没有治理清单"
            _line(2, f"导出：{exported['at']}，{names}{stale}", "yellow" if stale else None)
            _line(6, f"镇街工作簿 {exported['township_workbooks']} 个，退回清单 {exported['sendback_workbooks']} 个")
        for problem in y["problems"]:
            _line(2, f"注意：{problem}", "yellow")
        if y["next"] is not None and y["year"] != (data["next"] or {}).get("year"):
            _print_step("  待办：", y["next"])
    console.print()
    if data["next"] is None:
        _line(0, "全部是最新的，没有需要运行的命令。", "green")
    else:
        _print_step("下一步：", data["next"], style="bold")


def _line(indent: int, text: str, style: str | None = None) -> None:
    """A line whose wrapped continuation keeps the indent (80 columns: nothing is cut)."""
    from rich.padding import Padding

    console.print(Padding(Text(text, style=style or ""), (0, 0, 0, indent), expand=False))


def _print_step(label: str, step: dict, style: str | None = None) -> None:
    """The command and why, on one line when it fits, else the reason below: a command is never
    broken across lines."""
    from rich.cells import cell_len

    indent = cell_len(label) - cell_len(label.lstrip())
    if not step["command"]:
        _line(indent, label.lstrip() + step["reason"], style)
    elif cell_len(f"{label}{step['command']}（{step['reason']}）") <= console.width:
        _line(indent, f"{label.lstrip()}{step['command']}（{step['reason']}）", style)
    else:
        _line(indent, label.lstrip() + step["command"], style)
        _line(cell_len(label), step["reason"])


@app.command("check")
def check_cmd(
    files: Annotated[list[Path], typer.Argument(help="要检查的报表文件或文件夹（可以多个）", metavar="文件", show_default=False)],
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="用这个工作区的配置检查（默认：当前文件夹是工作区时用它的配置，否则用内置默认配置）",
        show_default=False)] = None,
    xlsx: Annotated[Path | None, typer.Option(
        "--xlsx", help="另外把全部问题写成一个退回清单格式的工作簿（.xlsx），便于逐条修改", show_default=False)] = None,
    encoding: EncodingOpt = None,
    output_format: TableJsonOpt = "table",
    debug: DebugOpt = False,
) -> None:
    """报送前自查：按读取（ingest）时完全相同的规则检查部门报表，列出识别出的数据集、表头行和每一个问题（行、列、原值、怎么改）。不写入工作区。退出码：0 可以报送，1 有拒收行或无法读取的文件，2 用法错误。"""
    def action() -> int:
        _start_workers_early()
        from landaudit.check import check, find_workspace, write_problems_workbook

        result = check(files, workspace=find_workspace(workspace), encoding=encoding)
        written = write_problems_workbook(result, xlsx) if xlsx else None
        if output_format == "json":
            import json

            print(json_safe(json.dumps(result.to_dict() | {"xlsx": str(written) if written else None},
                             ensure_ascii=False, indent=1, default=str), _out_encoding()))
        else:
            _render_check(result, written)
        return 0 if result.valid else 1

    raise typer.Exit(_run(debug, action))


_CHECK_LEVELS = {"error": "无法读取", "reject": "拒收", "verify": "待核实", "warning": "提示"}


def _render_check(result, written) -> None:
    """frictionless validate's shape: a verdict per file, its sheets, then its problems — a table
    on a wide terminal, one block per problem on a narrow one (80 columns: nothing is cut)."""
    from rich.cells import cell_len, chop_cells

    from landaudit.findings import NOT_PROBLEMS

    specs = result.settings.dataset_specs
    for f in result.files:
        counts = f.counts
        tally = "，".join(f"{label} {counts[key]:,} {unit}" for label, key, unit in (
            ("拒收", "rows_rejected", "行"), ("待核实", "verify", "条"), ("提示", "warnings", "条")) if counts[key])
        verdict = ("✓ 通过：" if f.valid else "✗ 不通过：") + f.path
        if tally and cell_len(f"{verdict}（{tally}）") <= console.width:
            verdict, tally = f"{verdict}（{tally}）", ""
        # cut only where the terminal ends (a long path), never between the verdict and its file
        for part in chop_cells(verdict, console.width):
            console.print(part, style="green" if f.valid else "bold red", no_wrap=True)
        if tally:
            _line(2, tally)
        for e in f.entries:
            where = f"工作表“{e.sheet}”：" if e.sheet else ""
            if e.error:
                _line(2, where + e.error["message"], "dim" if e.error["code"] in NOT_PROBLEMS else "red")
                continue
            spec = specs.get(e.dataset)
            dataset = (spec.title + (f"（{spec.department}）" if spec.department != spec.title else "")) if spec else e.dataset
            _line(2, f"{where}{dataset}{'·' + e.category if e.category else ''}，表头在第 {e.header_row} 行")
            _line(4, f"{e.rows_total:,} 行：可接收 {e.rows_accepted:,}，拒收 {e.rows_rejected:,}，跳过 {e.rows_skipped:,}")
        if not f.has_data and not any(e.error and e.error["code"] not in NOT_PROBLEMS for e in f.entries):
            _line(2, "文件中没有可读取的数据表", "red")
        problems = [p for p in f.findings if p.level != "error"]      # unreadable: said on the sheet lines
        if problems and console.width >= 110:
            _check_table(problems)
        for p in problems if console.width < 110 else ():
            level = _CHECK_LEVELS.get(p.level, p.level)
            where = "，".join(x for x in (
                f"工作表“{p.sheet}”" if len(f.entries) > 1 and p.sheet else "", f"第 {p.row} 行" if p.row else "",
                f"列“{p.column}”" if p.column else "", f"原值“{p.value}”" if p.value is not None else "") if x)
            _line(2, f"{level}  {where or '整张表'}", "red" if p.level == "reject" else None)
            _line(4, p.message)
        console.print()
    invalid = sum(not f.valid for f in result.files)
    if invalid:
        _line(0, f"{len(result.files)} 个文件中 {invalid} 个不能报送：请按上面的要求改正后重新检查。", "bold red")
    else:
        _line(0, f"{len(result.files)} 个文件都可以报送。", "bold green")
    _line(0, f"所用配置：{result.workspace or '内置默认配置（当前不在工作区中）'}")
    if written:
        _line(0, f"问题清单已写出：{written}")
    elif sum(len(f.findings) for f in result.files) > 30:
        _line(0, "问题较多时可加 --xlsx 问题清单.xlsx，写成工作簿逐条修改。")


def _check_table(problems) -> None:
    from rich import box

    several = len({p.sheet for p in problems}) > 1
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("结果", no_wrap=True)
    if several:
        table.add_column("工作表", max_width=16, overflow="fold")
    table.add_column("行", justify="right", no_wrap=True)
    table.add_column("列", max_width=16, overflow="fold")
    table.add_column("原值", max_width=30, overflow="fold")
    table.add_column("问题及修改要求", ratio=1, overflow="fold")
    for p in problems:
        level = Text(_CHECK_LEVELS.get(p.level, p.level), style="red" if p.level == "reject" else "")
        table.add_row(level, *([p.sheet or ""] if several else []), str(p.row or ""), p.column or "",
                      p.value or "", p.message)
    console.print(table)

# The 示例 block at the end of every command's --help (issue 13 item 6). "\b" keeps click from
# joining the lines into one paragraph.
EXAMPLES = {
    "init": ["landaudit init 诸暨工业用地", "landaudit init            # 当前文件夹"],
    "template": ["landaudit template", "landaudit template -o 发各部门的模板"],
    "demo": ["landaudit demo -w 演示", "landaudit demo -w 演示 --parcels 500 --seed 7"],
    "ingest": ["landaudit ingest", "landaudit ingest -y 2023 --strict", "landaudit ingest --format json > 读取报告.json"],
    "classify": ["landaudit classify", "landaudit classify -y 2023 -s 开发区 --as-of 2023-12-31"],
    "export": ["landaudit export", "landaudit export -y 2023 --by-township"],
    "run": ["landaudit run -w /data/诸暨 --log-format plain", "landaudit run -y 2023 --by-township -q"],
    "census": ["landaudit census -y 2023", "landaudit census -y 2023 --as-of 2023-12-31"],
    "report": ["landaudit report", "landaudit report -y 2023 -s 开发区", "landaudit report --format json"],
    "track": ["landaudit track", "landaudit track --since 2023-06-30", "landaudit track --format json"],
    "explain": ["landaudit explain 330681001001GB00031", "landaudit explain 330681001001GB00031 -y 2022",
                "landaudit explain 330681001001GB00031 --format json"],
    "sql": ["landaudit sql --tables", "landaudit sql --columns parcels",
            "landaudit sql \"SELECT batch, count(*) FROM parcels GROUP BY 1\" -y 2023",
            "landaudit sql \"SELECT * FROM parcels\" --format csv -o 地块.csv"],
    "status": ["landaudit status", "landaudit status -w 工作区 --format json"],
    "check": ["landaudit check 亩均效益_2023.xlsx", "landaudit check 消防/ --xlsx 问题清单.xlsx"],
}


# One line each in `landaudit -h` (click would cut the long Chinese first sentences to "...").
SHORT_HELP = {
    "init": "创建工作区（配置文件、数据文件夹、填报模板）", "template": "写出各部门的空白填报模板（.xlsx）",
    "demo": "生成模拟的部门报表（仅供演示和测试）", "ingest": "读取各部门报表：识别、校验、标准化，写出 Parquet",
    "classify": "分类：三类治理对象、四个一批、亩均效益等级", "export": "写出治理清单工作簿和各部门的退回清单",
    "run": "读取 → 分类 → 导出，一次完成（供定时任务）", "census": "年度大普查：run --by-township 之后 report",
    "report": "目标指标及是否达标（按范围和镇街）", "track": "整改销号进度（按问题编号比较台账快照）",
    "explain": "说明一个地块为什么在它所在的清单里", "sql": "对数据视图执行只读 SQL 查询",
    "status": "工作区现状和下一步该运行的命令", "check": "报送前自查部门报表（不写入工作区）",
}


def _add_examples() -> None:
    for info in app.registered_commands:
        name = info.name or info.callback.__name__
        if not info.short_help and name in SHORT_HELP:
            info.short_help = SHORT_HELP[name]
        lines = EXAMPLES.get(name)
        if lines and not info.epilog and "示例" not in (info.callback.__doc__ or ""):
            info.epilog = "示例：\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


_add_examples()


def main() -> None:
    # A run makes millions of small dicts and strings and almost no reference cycles; Python's
    # default (a young-generation collection every 700 allocations) spent 5-8% of a city-scale run
    # scanning them (issue 7, docs/benchmarks.md). Cycles are still collected, just less often.
    gc.set_threshold(50_000, 20, 100)
    from landaudit.log import safe_streams

    safe_streams()              # a GBK console never raises UnicodeEncodeError (issue 15)
    app()


if __name__ == "__main__":
    main()
