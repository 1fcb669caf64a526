"""Trigger.dev's error-group shapes (``/api/v1/errors`` in its ``v3-openapi.yaml``),
shared by the facade and the Python SDK like ``durableruns.wire``.

Beyond Trigger.dev's fields (the official client ignores unknown ones): ``frame`` (the
innermost user frame fingerprinted), ``sampleRunId`` / ``lastRunId``, ``regressedAt`` /
``regressions``, ``sparkline`` (occurrences per hour, the last 24 hours, oldest first)
and ``ignoredUntilTotalOccurrences`` counting from ``ignoredAtCount``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from durableruns.wire import WireModel

ErrorStatus = Literal["unresolved", "resolved", "ignored"]


class ErrorListItem(WireModel):
    """One group in ``GET /api/v1/errors``; ``count`` is within the requested range."""

    id: str
    fingerprint: str
    task_identifier: str
    error_type: str
    error_message: str
    status: ErrorStatus
    count: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    ignored_until: datetime | None = None
    sample_run_id: str | None = None
    sparkline: list[int] = []


class ErrorPagination(WireModel):
    """Error ids to page from (``page[after]`` / ``page[before]``)."""

    next: str | None = None
    previous: str | None = None


class ListErrorsResult(WireModel):
    """``GET /api/v1/errors``."""

    data: list[ErrorListItem]
    pagination: ErrorPagination = ErrorPagination()


class ErrorObject(WireModel):
    """``GET /api/v1/errors/{id}`` and the answer of resolve / ignore / unresolve."""

    id: str
    fingerprint: str
    task_identifier: str
    error_type: str
    error_message: str
    status: ErrorStatus
    count: int
    first_seen: datetime
    last_seen: datetime
    affected_versions: list[str] = []
    resolved_at: datetime | None = None
    resolved_in_version: str | None = None
    resolved_by: str | None = None
    ignored_at: datetime | None = None
    ignored_until: datetime | None = None
    ignored_reason: str | None = None
    ignored_by_user_id: str | None = None
    ignored_until_occurrence_rate: float | None = None
    ignored_until_total_occurrences: int | None = None
    frame: str | None = None
    sample_message: str | None = None
    sample_run_id: str | None = None
    last_run_id: str | None = None
    regressed_at: datetime | None = None
    regressions: int = 0
    sparkline: list[int] = []


class ResolveErrorRequest(WireModel):
    """Body of ``POST /api/v1/errors/{id}/resolve``."""

    resolved_in_version: str | None = Field(default=None, min_length=1, max_length=128)


class IgnoreErrorRequest(WireModel):
    """Body of ``POST /api/v1/errors/{id}/ignore``; no bound ignores for good."""

    duration: int | None = Field(default=None, ge=1, description="Milliseconds")
    occurrence_rate: float | None = Field(default=None, gt=0)
    total_occurrences: int | None = Field(default=None, ge=1)
    reason: str | None = Field(default=None, max_length=1000)
