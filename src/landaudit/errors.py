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
