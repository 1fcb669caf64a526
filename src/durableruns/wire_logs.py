"""Wire shapes of run logs (a durableruns extension): shared by the facade and the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from durableruns.wire import WireModel


class LogLineBody(WireModel):
    """durableruns extension: one line of a run's log."""

    timestamp: datetime
    level: str
    attempt: int
    message: str
    attributes: dict[str, Any] = {}
    cursor: str
    """Where the next page starts, to resume after this line."""


class LogPagination(WireModel):
    """The cursor of the next page, or none at the end."""

    next: str | None = None


class LogPage(WireModel):
    """A page of a run's log (``GET /api/v1/runs/{id}/logs``)."""

    data: list[LogLineBody]
    pagination: LogPagination
