"""The durable records of run logs: a line as task code wrote it, and the batches an
execution sends its run (kept in the run's history, see ``service/run_logs.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


LogLevel = Literal["DEBUG", "LOG", "INFO", "WARN", "ERROR"]
"""Trigger.dev's log levels (``print`` to stdout is LOG, to stderr WARN)."""


class LogLine(_Frozen):
    """One line of a run's log, as task code wrote it."""

    timestamp: datetime
    level: LogLevel = "LOG"
    message: str
    attributes: dict[str, Any] = {}
    attempt: int = 0
    """The attempt number (set by the worker)."""


class LogBatch(_Frozen):
    """Log lines an execution sends its run (a ``log_lines`` signal, kept in history)."""

    lines: tuple[LogLine, ...]
