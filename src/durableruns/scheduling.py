"""Schedules as users see them: ``schedules.task``, the payload a scheduled run
receives, and the definition a schedule's every tick starts from.

Core only (pydantic, no Temporal): the engine keeps a :class:`ScheduleDefinition` as
the argument of the schedule's action, the facade maps it to Trigger.dev's
``ScheduleObject``, and task code receives a :class:`ScheduledPayload`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from durableruns.task_definitions import Task, TaskFunction
from durableruns.task_definitions import task as plain_task

UPCOMING_COUNT = 10
"""How many future ticks a payload's ``upcoming`` lists."""


class ScheduleType(StrEnum):
    """How a schedule was made."""

    DECLARATIVE = "DECLARATIVE"
    """From a task's ``cron=``: synced with the deployed code, not editable by the API."""
    IMPERATIVE = "IMPERATIVE"
    """Made by ``schedules.create`` (SDK, HTTP or dashboard)."""


class ScheduledPayload(BaseModel):
    """What a scheduled run receives, as in Trigger.dev (camelCase on the wire).

    Example::

        @schedules.task(id="nightly-report", cron="0 2 * * *", timezone="Europe/Paris")
        async def nightly_report(payload: ScheduledPayload) -> None:
            print(payload.timestamp, payload.last_timestamp, payload.upcoming[:3])
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    type: ScheduleType
    timestamp: datetime
    """The tick this run was scheduled for (UTC)."""
    last_timestamp: datetime | None = None
    """The schedule's previous tick, None for its first."""
    timezone: str
    """The IANA time zone the cron is evaluated in."""
    schedule_id: str
    """``sched_…``: retrieve, update or delete the schedule with it."""
    external_id: str | None = None
    """The id given at creation (a user id, say), if any."""
    upcoming: list[datetime] = []
    """The next ticks after this one (up to 10)."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON a run's payload holds."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ScheduleDefinition(BaseModel):
    """A schedule's own fields; the argument every tick of it starts from."""

    model_config = ConfigDict(frozen=True)

    schedule_id: str
    task_id: str
    type: ScheduleType
    cron: str
    timezone: str = "UTC"
    external_id: str | None = None
    deduplication_key: str | None = None
    task_queue_prefix: str
    default_ttl_s: float | None = None
    """The environment's default TTL for the runs it makes (the facade's setting)."""


def task(
    id: str, *, cron: str | None = None, timezone: str | None = None, **options: Any
) -> Callable[[TaskFunction], Task[Any, Any]]:
    """Define a scheduled task, optionally with its declarative schedule.

    With ``cron`` the schedule is created (or updated) when a worker serving the task's
    newest version starts, and removed once that version no longer has it. Without,
    attach schedules with ``schedules.create(task=id, cron=…)``. Other options are
    :func:`~durableruns.task` 's.

    Example::

        @schedules.task(id="every-minute", cron="* * * * *")
        async def every_minute(payload: ScheduledPayload) -> dict:
            return {"at": payload.timestamp.isoformat()}
    """
    make = plain_task(id, cron=cron, timezone=timezone, **options)

    def decorate(fn: TaskFunction) -> Task[Any, Any]:
        return replace(make(fn), scheduled=True)

    return decorate
