"""Trigger.dev's schedule shapes (``/api/v1/schedules``, ``/api/v1/timezones``),
shared by the facade and the Python SDK like ``durableruns.wire``.

``upcoming``, ``lastRun`` and ``createdAt`` on a schedule are durableruns extensions
(the official client ignores unknown fields); the dashboard shows them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from durableruns.scheduling import ScheduleType
from durableruns.wire import ScheduleGenerator, WireModel


class ScheduleEnvironment(WireModel):
    """The environment a schedule lives in."""

    id: str
    type: str
    user_name: str | None = None


class ScheduleLastRun(WireModel):
    """The last tick: when, and the run it made."""

    id: str
    timestamp: datetime


class ScheduleObject(WireModel):
    """A schedule as every ``/api/v1/schedules`` call answers it."""

    id: str
    type: ScheduleType
    task: str
    active: bool
    deduplication_key: str | None = None
    external_id: str | None = None
    generator: ScheduleGenerator
    timezone: str
    next_run: datetime | None = None
    environments: list[ScheduleEnvironment] = []
    upcoming: list[datetime] = []
    last_run: ScheduleLastRun | None = None
    created_at: datetime | None = None


class CreateScheduleRequest(WireModel):
    """Body of ``POST /api/v1/schedules``."""

    task: str = Field(min_length=1, max_length=128)
    cron: str = Field(min_length=1, max_length=256)
    deduplication_key: str | None = Field(default=None, min_length=1, max_length=256)
    external_id: str | None = Field(default=None, max_length=256)
    timezone: str | None = None


class UpdateScheduleRequest(WireModel):
    """Body of ``PUT /api/v1/schedules/{id}``."""

    task: str = Field(min_length=1, max_length=128)
    cron: str = Field(min_length=1, max_length=256)
    external_id: str | None = Field(default=None, max_length=256)
    timezone: str | None = None


class SchedulePagination(WireModel):
    """Offset pagination, 1-based."""

    current_page: int
    total_pages: int
    count: int


class ListSchedulesResponse(WireModel):
    """Body of ``GET /api/v1/schedules``."""

    data: list[ScheduleObject]
    pagination: SchedulePagination


class DeletedSchedule(WireModel):
    """Answer of ``DELETE /api/v1/schedules/{id}``."""

    id: str


class TimezonesResponse(WireModel):
    """Body of ``GET /api/v1/timezones``."""

    timezones: list[str]
