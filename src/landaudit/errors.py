"""Exceptions for when work cannot go on. Row-level problems are data (see findings.py)."""


class LandauditError(Exception):
    """Root error; the message is one Chinese sentence for the user. `exit_code` per SPEC §2."""

    exit_code = 2


class ConfigError(LandauditError):
    def __init__(self, file: str, key: str, reason: str):
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"配置文件 {file} 有误：{key or '(整个文件)'} — {reason}")


class UsageError(LandauditError):
    """A command was asked for something that cannot be done (missing folder, bad year ...)."""


class LockError(LandauditError):
    exit_code = 3


def os_reason(exc: OSError, *, writing: bool | None = True) -> str:
    """An OSError's cause in Chinese (SPEC §2 rev. 2: an environment problem is one sentence)."""
    import errno

    denied = {True: "没有写入权限", False: "没有读取权限", None: "没有访问权限"}[writing]
    reasons = {errno.ENOSPC: "磁盘空间不足", errno.EACCES: denied, errno.EPERM: denied,
               errno.EROFS: "文件系统只读", errno.EDQUOT: "超出磁盘配额",
               errno.EEXIST: "路径上有一个同名的文件挡住了文件夹", errno.ENOTDIR: "路径上有一个同名的文件挡住了文件夹",
               errno.EISDIR: "同名的文件夹挡住了文件", errno.ENOENT: "文件夹不存在或已被移走",
               errno.ENAMETOOLONG: "路径太长（文件夹嵌套过深或名称过长）", errno.ELOOP: "符号链接过多或指向自身",
               errno.EMFILE: "同时打开的文件过多", errno.ENFILE: "同时打开的文件过多",
               errno.EIO: "读写出错（磁盘或网络盘故障）", errno.ENOLCK: "文件系统不支持加锁（如某些网络盘）"}
    return reasons.get(exc.errno, exc.strerror or type(exc).__name__)


class OutputError(LandauditError):
    """An output could not be written (disk full, no permission); the previous file is intact."""

    def __init__(self, path, exc: OSError):
        reason = os_reason(exc)
        self.path = path
        super().__init__(f"无法写入 {path}：{reason}。原有的输出文件未被改动；请腾出空间或修正权限后重新运行。")


class LockFileError(LandauditError):
    """The lock file itself cannot be used (a symlink, another user's, not a file): exit 2, not 3 —
    no run holds the workspace, the environment is wrong (SPEC §2 rev. 2)."""

    def __init__(self, path, why: str):
        self.path = path
        super().__init__(f"无法使用工作区锁 {path}：{why}")


class EnvironmentProblem(LandauditError):
    """An OSError (or DuckDB's I/O error) from anywhere, caught in cli._run: the machine, not the
    code (SPEC §2 rev. 2: unwritable folder, disk full, unreadable file are exit 2, never 70)."""

    def __init__(self, exc: BaseException):
        filename = getattr(exc, "filename", None)
        reason = os_reason(exc, writing=None) if isinstance(exc, OSError) else _duckdb_reason(str(exc))
        where = f" {filename}" if filename else ""
        super().__init__(f"无法访问{where}：{reason}。请腾出空间或修正权限后重新运行（加 --debug 可看详情）。")


_DUCKDB_IO = (("No space left", "磁盘空间不足"), ("Disk quota", "超出磁盘配额"), ("Permission denied", "没有写入权限"),
              ("Read-only file system", "文件系统只读"), ("File name too long", "路径太长"))


def environment_problem(exc: BaseException) -> EnvironmentProblem | None:
    """`exc` as an environment problem, or None when it is not one (then it is a bug: exit 70)."""
    if isinstance(exc, OSError):
        return EnvironmentProblem(exc)
    if type(exc).__module__.startswith("duckdb") and any(needle in str(exc) for needle, _ in _DUCKDB_IO):
        return EnvironmentProblem(exc)
    return None


def _duckdb_reason(message: str) -> str:
    return next((reason for needle, reason in _DUCKDB_IO if needle in message), message.splitlines()[0])


class IncompleteDataError(LandauditError):
    """The year lacks a whole dataset kind (SPEC §2 rev. 2): the workbooks would be empty or
    crippled, so the previous ones are kept. Exit 1: a data problem, not a usage error."""

    exit_code = 1

    def __init__(self, year: int, missing: list[dict]):
        self.year, self.missing = year, missing
        shown = "；".join(m["message"] for m in missing)
        super().__init__(f"{year} 年的数据不完整：{shown}。未导出，原有的治理清单工作簿保持不变；"
                         f"补齐报表后重新运行 landaudit run --year {year}，确要导出不完整的清单时加 --allow-incomplete。")


class StaleClassifyError(UsageError):
    """export after a re-ingest without classify would write lists of the old classification."""

    def __init__(self, year: int, ingested: str, classified: str):
        self.year = year
        super().__init__(f"{year} 年的分类结果早于最近一次读取（读取 {ingested}，分类 {classified}）："
                         f"请先运行 landaudit classify --year {year}")


class WorkbookOpenError(UsageError):
    """An output workbook is open in Excel/WPS/LibreOffice (its lock file is beside it): nothing is
    written, so the set of workbooks stays consistent (docs/decisions.md, Guard rails)."""

    def __init__(self, held: list[tuple[str, str]]):
        self.held = held
        shown = "；".join(f"{name} 正被 {holder} 打开" for name, holder in held)
        super().__init__(f"{shown}：请先在 Excel/WPS 中关闭，再重新运行。本次未写出任何工作簿，原有工作簿保持不变。")


class DataTestError(LandauditError):
    """A data test of classify (sql/checks/) selected rows: the results contradict the rules, so they
    are not written. An internal error (exit 70): the code is wrong, not the user's data."""

    exit_code = 70

    def __init__(self, name: str, count: int, sample: list):
        self.name, self.count, self.sample = name, count, sample
        shown = "；".join(" ".join(str(v) for v in row) for row in sample)
        super().__init__(f"内部一致性检查 {name} 未通过：{count} 行违反（例：{shown}）。分类结果未写出，"
                         f"原有结果保持不变；请加 --debug 重新运行，并把输出发给维护人员。")


class NoResultsError(UsageError):
    """The notebook API (Workspace.parcels, .ledger, .kpis …) asked for a year's table that the
    command writing it has not produced: one sentence naming the file and what to run (exit 2)."""

    def __init__(self, year: int, name: str, path: str, command: str, function: str):
        self.year, self.name, self.path = year, name, path
        done = "分类" if command == "classify" else "读取"
        super().__init__(f"{year} 年尚未{done}（找不到 {path}）：请先运行 landaudit {command} --year {year}，"
                         f"或在 Python 中运行 la.{function}(ws, year={year})")
