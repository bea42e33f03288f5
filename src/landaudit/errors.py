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


class OutputError(LandauditError):
    """An output could not be written (disk full, no permission); the previous file is intact."""

    def __init__(self, path, exc: OSError):
        import errno

        reasons = {errno.ENOSPC: "磁盘空间不足", errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限",
                   errno.EROFS: "文件系统只读", errno.EDQUOT: "超出磁盘配额"}
        reason = reasons.get(exc.errno, exc.strerror or type(exc).__name__)
        self.path = path
        super().__init__(f"无法写入 {path}：{reason}。原有的输出文件未被改动；请腾出空间或修正权限后重新运行。")


class DataTestError(LandauditError):
    """A data test of classify (sql/checks/) selected rows: the results contradict the rules, so they
    are not written. An internal error (exit 70): the code is wrong, not the user's data."""

    exit_code = 70

    def __init__(self, name: str, count: int, sample: list):
        self.name, self.count, self.sample = name, count, sample
        shown = "；".join(" ".join(str(v) for v in row) for row in sample)
        super().__init__(f"内部一致性检查 {name} 未通过：{count} 行违反（例：{shown}）。分类结果未写出，"
                         f"原有结果保持不变；请加 --debug 重新运行，并把输出发给维护人员。")
