"""Run logs (SPEC §1, §13): colour and progress bars on a terminal only; plain timestamped lines
without one (cron); one JSON object per line with `--log-format json`; `--quiet` keeps warnings and
errors only.

Library code never prints: it logs through the standard `logging` module, to loggers under
`landaudit` (`logging.getLogger(__name__)`), with `info`/`warning`/`stage` below (a stage name and
counts ride along as the record's `extra`). Only a NullHandler is added to the `landaudit` logger
(here, not in landaudit/__init__.py: `import landaudit` stays free of `logging`; every record goes
through these helpers, so this module is loaded before any), so a script or notebook decides what
it sees (`logging.basicConfig(level=logging.INFO)`). The CLI installs
`RunLog.capture()` around each command: one handler that renders every record through `RunLog.emit`,
so a library warning looks exactly like the CLI's own lines in every `--log-format`.

Log lines go to stderr (the console given is the CLI's stderr console); results — tables, JSON —
go to stdout, so `landaudit ingest --format json > report.json` holds only the report."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

LEVELS = {"info": "INFO", "warning": "WARN", "error": "ERROR"}
# Cell text reaches log lines (file names, values): control characters and line breaks are shown
# as \xNN so one cell can never forge a log line or send terminal escapes. The same goes for every
# console (render.make_console) and fatal message (SPEC §13 rev. 2: text from files reaches the
# terminal without control characters): C0 and C1 controls, DEL, line/paragraph separators and the
# BiDi embeddings, overrides and isolates that make "exe.txt" look like "txt.exe".
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_CONTROL_KEEP_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_NOT_JSON_ESCAPED = re.compile(f"[\x7f-\x9f\u2028\u2029{_BIDI}]")     # json.dumps escapes C0 itself


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as a visible escape (ESC → \\x1b, U+202E → \\u202e);
    line breaks and tabs too unless `keep_newlines` (a table cell or a message may span lines)."""
    return (_CONTROL_KEEP_LINES if keep_newlines else _CONTROL).sub(_escape, text)


def json_safe(text: str, encoding: str | None = None) -> str:
    """JSON text with the characters json.dumps leaves raw (C1, DEL, BiDi, U+2028/9) as \\uXXXX:
    the same value, nothing a terminal acts on (they can only occur inside JSON strings). Given the
    `encoding` of the stream it goes to, characters it cannot encode (𠮷 or 😀 on a GBK console) are
    \\uXXXX escapes too (a surrogate pair above U+FFFF): still the same value, never a crash."""
    text = _NOT_JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if encoding is None or _is_utf(encoding) or _encodes(text, encoding):
        return text
    return "".join(ch if ch.isascii() or _encodes(ch, encoding) else _json_escape(ch) for ch in text)


def json_line(record: object, encoding: str | None = None) -> str:
    return json_safe(json.dumps(record, ensure_ascii=False, default=str), encoding)


# ------------------------------------------------------------------- consoles that are not UTF-8

# A GBK console (Windows cmd.exe, code page 936, or output redirected to a file there) cannot encode
# every character: a file name with 𠮷, an emoji, U+FFFD standing for undecodable bytes. Such a
# character is shown as Python's backslashreplace shows it (\U00020bb7), never a UnicodeEncodeError;
# the CLI's own marks have a same-width substitute GBK has.
SUBSTITUTES = {"✓": "√", "✗": "×"}


def _is_utf(encoding: str) -> bool:
    return encoding.lower().replace("-", "").replace("_", "").startswith("utf")


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:                   # an encoding Python does not know: leave the text alone
        return True
    return True


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def encodable(text: str, encoding: str | None) -> str:
    """`text` with every character `encoding` cannot encode substituted (SUBSTITUTES) or shown as a
    backslash escape; unchanged for UTF-8 and for text that encodes."""
    if not encoding or _is_utf(encoding) or _encodes(text, encoding):
        return text
    shown = []
    for ch in text:
        if _encodes(ch, encoding):
            shown.append(ch)
        elif (substitute := SUBSTITUTES.get(ch)) is not None and _encodes(substitute, encoding):
            shown.append(substitute)
        else:
            shown.append(ch.encode("ascii", "backslashreplace").decode("ascii"))
    return "".join(shown)


def safe_streams() -> None:
    """stdout and stderr never raise UnicodeEncodeError (a GBK console, PYTHONIOENCODING=gbk):
    what a console or a log line did not escape already is backslash-escaped by the stream."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        if not _is_utf(encoding) and getattr(stream, "errors", "strict") != "backslashreplace":
            try:
                stream.reconfigure(errors="backslashreplace")
            except (AttributeError, ValueError):          # not a TextIOWrapper (tests, IDEs)
                pass


_visible = visible
_RICH_STYLE = {"info": "", "warning": "yellow", "error": "red"}


class RunLog:
    def __init__(self, fmt: str = "auto", *, quiet: bool = False, console=None):
        from landaudit.render import make_console

        self.console = console or make_console(stderr=True)
        if fmt == "auto":
            fmt = "rich" if self.console.is_terminal else "plain"
        if fmt not in ("rich", "plain", "json"):
            from landaudit.errors import UsageError

            raise UsageError(f"--log-format 只能是 auto、plain 或 json，不是“{fmt}”")
        self.mode, self.quiet = fmt, quiet
        self.started = time.monotonic()

    @property
    def rich(self) -> bool:
        return self.mode == "rich"

    def emit(self, level: str, stage: str, message: str, **counts) -> None:
        if self.quiet and level == "info":
            return
        elapsed = round(time.monotonic() - self.started, 3)
        if self.mode == "json":
            record = {"time": datetime.now().isoformat(timespec="seconds"), "level": level, "stage": stage,
                      "message": message, "counts": counts, "elapsed": elapsed}
            sys.stderr.write(json_line(record, getattr(sys.stderr, "encoding", None)) + "\n")
            sys.stderr.flush()
        elif self.mode == "plain":
            extra = _visible(" ".join(f"{k}={v}" for k, v in counts.items()))
            line = f"{datetime.now().isoformat(timespec='seconds')} {LEVELS[level]:5} [{stage}] {_visible(message)}"
            line = encodable(line + (f" ({extra})" if extra else ""), getattr(sys.stderr, "encoding", None))
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        else:
            style = _RICH_STYLE[level]
            self.console.print(message, style=style or None, markup=False)

    def info(self, stage: str, message: str, **counts) -> None:
        self.emit("info", stage, message, **counts)

    def warning(self, stage: str, message: str, **counts) -> None:
        self.emit("warning", stage, message, **counts)

    def error(self, stage: str, message: str, **counts) -> None:
        self.emit("error", stage, message, **counts)

    @contextmanager
    def capture(self) -> Iterator[None]:
        """While the block runs, the records of the `landaudit` loggers (library code) are rendered
        by this log: info and above, `--quiet` applied by `emit` as for the CLI's own lines."""
        handler = _RunLogHandler(self)
        logger = logging.getLogger(LOGGER)
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    @contextmanager
    def progress(self, label: str) -> Iterator[Callable[[int, int, str], None]]:
        """A progress bar on a terminal; nothing elsewhere (cron logs get per-stage lines)."""
        if not self.rich or self.quiet:
            yield lambda done, total, name: None
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=None)

            def advance(done: int, total: int, name: str) -> None:
                bar.update(task, completed=done, total=total, description=f"{label} {name}")

            yield advance

    @contextmanager
    def spinner(self, label: str) -> Iterator[None]:
        """A spinner while one long step runs, on a terminal only (classify, export, demo)."""
        if not self.rich or self.quiet:
            yield
            return
        with self.console.status(label, spinner="dots"):
            yield


# ---------------------------------------------------------------------------------------- logging

LOGGER = "landaudit"
logging.getLogger(LOGGER).addHandler(logging.NullHandler())      # Python's advice for libraries


class _RunLogHandler(logging.Handler):
    """A library record → `RunLog.emit`: the stage is the record's `stage` (else the logger's last
    name), the counts its `counts`, the text its unescaped `text` (emit escapes per format)."""

    def __init__(self, run_log: RunLog):
        super().__init__(logging.INFO)
        self.run_log = run_log

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else "warning" if record.levelno >= logging.WARNING else "info"
        stage = getattr(record, "stage", None) or record.name.rsplit(".", 1)[-1]
        text = getattr(record, "text", None)
        self.run_log.emit(level, stage, record.getMessage() if text is None else text,
                          **(getattr(record, "counts", None) or {}))


def _log(logger: logging.Logger, level: int, stage: str, message: str, counts: dict) -> None:
    if logger.isEnabledFor(level):
        # the message is escaped (file names and cells reach whatever handler a caller installed,
        # often a terminal); `text` keeps the original for the CLI, which escapes per format
        logger.log(level, visible(message), extra={"stage": stage, "counts": counts, "text": message})


def info(logger: logging.Logger, stage: str, message: str, **counts) -> None:
    """Library code: an info line of `stage` (ingest, classify, export, lock …) with counts."""
    _log(logger, logging.INFO, stage, message, counts)


def warning(logger: logging.Logger, stage: str, message: str, **counts) -> None:
    """Library code: a warning the user should read (a lock taken over, a missing dataset …)."""
    _log(logger, logging.WARNING, stage, message, counts)


@contextmanager
def stage(logger: logging.Logger, name: str, label: str) -> Iterator[dict]:
    """Log the start and the end (with elapsed seconds) of a stage; the body may add counts."""
    info(logger, name, f"开始：{label}")
    counts: dict = {}
    begun = time.monotonic()
    yield counts
    seconds = time.monotonic() - begun
    info(logger, name, f"完成：{label}，用时 {seconds:.1f} 秒", seconds=round(seconds, 3), **counts)
