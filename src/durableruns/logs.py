"""Run logs from task code: ``durableruns.logger``, the standard ``logging`` module and
``print()``, each line kept with its run.

Inside task code, ``logger.info("charged", amount=5)`` (``debug``/``log``/``info``/``warn``/
``error``), ``logging.getLogger(...).warning(...)`` and ``print(...)`` all land in the
run's log, with their level, the attempt number and any attributes; outside task code
they behave as usual (``logger`` then writes to the ``durableruns`` logger). The lines
travel to the run in batches (about twice a second) and are stored in Temporal with
the run, readable while it runs and after it finished (``GET /api/v1/runs/{id}/logs``).

Example::

    from durableruns import logger, task

    @task(id="report")
    async def report(payload: dict) -> None:
        logger.info("building report", rows=len(payload["rows"]))
        print("done")  # a LOG line of the run
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from durableruns.context import current_context
from durableruns.log_models import LogLevel, LogLine

ECHO_ENV = "DURABLERUNS_ECHO_TASK_LOGS"
"""``1``: a worker also prints each run log line to its terminal, prefixed by the run
(``durableruns dev`` sets it, so ``print`` in a task shows where the developer looks)."""
MAX_MESSAGE_CHARS = 8_192
"""A longer message is cut (with a note): a log line is not a place for payloads."""
_IGNORED_LOGGERS = ("temporalio", "durableruns", "asyncio")
"""Records of these loggers are the engine's own, never the run's."""
_LEVELS: dict[int, LogLevel] = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARN",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "ERROR",
}
_fallback = logging.getLogger("durableruns.tasks")


def emit(level: LogLevel, message: str, attributes: dict[str, Any] | None = None) -> bool:
    """Send a line to the running task's log; False outside task code."""
    ctx = current_context()
    if ctx is None or ctx.log is None:
        return False
    if len(message) > MAX_MESSAGE_CHARS:
        cut = len(message) - MAX_MESSAGE_CHARS
        message = f"{message[:MAX_MESSAGE_CHARS]}… [{cut} more characters cut]"
    ctx.log(
        LogLine(
            timestamp=datetime.now(UTC),
            level=level,
            message=message,
            attributes=_plain(attributes or {}),
        )
    )
    return True


class RunLogger:
    """``durableruns.logger``: leveled lines with attributes, kept with the run."""

    def debug(self, message: str, **attributes: Any) -> None:
        """A DEBUG line."""
        self._write("DEBUG", logging.DEBUG, message, attributes)

    def log(self, message: str, **attributes: Any) -> None:
        """A LOG line (Trigger.dev's default level)."""
        self._write("LOG", logging.INFO, message, attributes)

    def info(self, message: str, **attributes: Any) -> None:
        """An INFO line."""
        self._write("INFO", logging.INFO, message, attributes)

    def warn(self, message: str, **attributes: Any) -> None:
        """A WARN line."""
        self._write("WARN", logging.WARNING, message, attributes)

    warning = warn

    def error(self, message: str, **attributes: Any) -> None:
        """An ERROR line."""
        self._write("ERROR", logging.ERROR, message, attributes)

    @staticmethod
    def _write(level: LogLevel, number: int, message: str, attributes: dict[str, Any]) -> None:
        if not emit(level, str(message), attributes):
            _fallback.log(number, "%s %s", message, attributes or "")


logger = RunLogger()
"""Log from task code: ``logger.info("message", key=value)``."""


class RunLogHandler(logging.Handler):
    """Routes records made inside task code (any logger but the engine's) to the run."""

    def emit(self, record: logging.LogRecord) -> None:
        """Send the record to the running task's log, if it is made in task code."""
        if record.name.startswith(_IGNORED_LOGGERS) or current_context() is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            level = _LEVELS.get(record.levelno, "LOG")
            emit(level, message, {"logger": record.name})
        except Exception:
            self.handleError(record)


class _CapturedStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` that sends whole lines written by task code to the
    run's log, and passes everything else through to the real stream."""

    def __init__(self, stream: TextIO, level: LogLevel) -> None:
        self._stream = stream
        self._level = level
        self._partial = threading.local()

    def write(self, text: str) -> int:
        if current_context() is None:
            return self._stream.write(text)
        pending = getattr(self._partial, "text", "") + text
        *lines, rest = pending.split("\n")
        self._partial.text = rest
        for line in lines:
            emit(self._level, line)
        return len(text)

    def flush(self) -> None:
        rest = getattr(self._partial, "text", "")
        if rest and current_context() is not None:
            self._partial.text = ""
            emit(self._level, rest)
        self._stream.flush()

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")


_handler_installed = False


def capture_task_output(*, task_process: bool) -> None:
    """Make task code's output go to its run: the logging handler (once per process) and
    the stdout/stderr wrappers (again whenever something replaced them). In a task
    process the root logger goes down to INFO, so ``logging.info`` in task code is kept
    (a logger set lower keeps DEBUG too); in the worker's own process
    (``--no-isolation``) logging keeps the worker's configured level."""
    global _handler_installed
    if not _handler_installed:
        _handler_installed = True
        root = logging.getLogger()
        root.addHandler(RunLogHandler())
        if task_process:
            root.setLevel(min(root.level, logging.INFO) or logging.INFO)
    if not isinstance(sys.stdout, _CapturedStream):
        sys.stdout = _CapturedStream(sys.stdout, "LOG")
    if not isinstance(sys.stderr, _CapturedStream):
        sys.stderr = _CapturedStream(sys.stderr, "WARN")


def _plain(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes as JSON values (anything else as its repr)."""
    plain: dict[str, Any] = {}
    for key, value in attributes.items():
        plain[str(key)] = (
            value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        )
    return plain


def echo_enabled() -> bool:
    """Whether run log lines are echoed to the worker's terminal (:data:`ECHO_ENV`)."""
    return os.environ.get(ECHO_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def echo(run_id: str, line: LogLine) -> None:
    """Print ``line`` on the process's real stdout as ``[run_… #attempt] LEVEL message``;
    the real stream, not ``sys.stdout``, which task code's ``print`` is captured through."""
    stream = sys.__stdout__
    if stream is None:
        return
    attempt = f" #{line.attempt}" if line.attempt else ""
    attributes = f" {json.dumps(line.attributes)}" if line.attributes else ""
    with contextlib.suppress(OSError, ValueError):
        stream.write(f"[{run_id}{attempt}] {line.level} {line.message}{attributes}\n")
        stream.flush()
