"""Wire shapes of a run's log and timeline (durableruns extensions), shared by the
facade and the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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


class TimelineSpan(WireModel):
    """durableruns extension: one bar of a run's waterfall (``GET /api/v1/runs/{id}/timeline``)."""

    id: str
    parent: str | None = None
    kind: Literal[
        "run",
        "delay",
        "queue",
        "attempt",
        "execution",
        "wait",
        "timer",
        "child",
        "step",
        "backoff",
        "input",
    ]
    name: str
    start: datetime
    end: datetime | None = None
    """None while it lasts."""
    queued_at: datetime | None = None
    """An execution: when it was dispatched (``start`` is when a worker picked it up)."""
    status: str | None = None
    attempt: int | None = None
    continuation: int | None = None
    run_id: str | None = None
    """A child run's id."""
    token_id: str | None = None
    """A wait on one wait token: the token's id."""
    position: int | None = None
    """A step: its position in the run's journal (what a rerun's ``fromStep`` names)."""


class RunTimeline(WireModel):
    """durableruns extension: a run's waterfall, from its own history."""

    data: list[TimelineSpan]
    truncated: bool = False
