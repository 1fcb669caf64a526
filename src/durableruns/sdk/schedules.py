"""``schedules``: scheduled tasks, and schedules made, read and changed at run time.

Example::

    from durableruns import ScheduledPayload, schedules

    @schedules.task(id="nightly-report", cron="0 2 * * *", timezone="Europe/Paris")
    async def nightly_report(payload: ScheduledPayload) -> None: ...

    created = await schedules.create(
        task="nightly-report", cron="0 9 * * 1", deduplication_key="user-42-weekly"
    )
    await schedules.deactivate(created.id)
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import NamedTuple

from durableruns.scheduling import ScheduledPayload, ScheduleType, task
from durableruns.sdk.client import request
from durableruns.wire_schedules import (
    CreateScheduleRequest,
    ListSchedulesResponse,
    ScheduleObject,
    TimezonesResponse,
    UpdateScheduleRequest,
)

__all__ = [
    "ScheduleObject",
    "SchedulePage",
    "ScheduleType",
    "ScheduledPayload",
    "activate",
    "create",
    "deactivate",
    "delete",
    "list",
    "list_page",
    "retrieve",
    "task",
    "timezones",
    "update",
]


async def create(
    *,
    task: str,
    cron: str,
    timezone: str | None = None,
    external_id: str | None = None,
    deduplication_key: str | None = None,
) -> ScheduleObject:
    """Attach a schedule to a scheduled task; the same ``deduplication_key`` again
    updates that schedule instead of making a second one."""
    body = CreateScheduleRequest(
        task=task,
        cron=cron,
        timezone=timezone,
        external_id=external_id,
        deduplication_key=deduplication_key,
    )
    response = await request("POST", "/api/v1/schedules", json=body.to_wire())
    return ScheduleObject.model_validate(response.json())


async def retrieve(schedule_id: str) -> ScheduleObject:
    """One schedule (``sched_…``)."""
    response = await request("GET", f"/api/v1/schedules/{schedule_id}")
    return ScheduleObject.model_validate(response.json())


async def update(
    schedule_id: str,
    *,
    task: str,
    cron: str,
    timezone: str | None = None,
    external_id: str | None = None,
) -> ScheduleObject:
    """Replace an imperative schedule's task, cron, time zone and external id."""
    body = UpdateScheduleRequest(task=task, cron=cron, timezone=timezone, external_id=external_id)
    response = await request("PUT", f"/api/v1/schedules/{schedule_id}", json=body.to_wire())
    return ScheduleObject.model_validate(response.json())


async def delete(schedule_id: str) -> str:
    """Delete an imperative schedule (Trigger.dev's ``schedules.del``); its id."""
    response = await request("DELETE", f"/api/v1/schedules/{schedule_id}")
    deleted: str = response.json()["id"]
    return deleted


async def activate(schedule_id: str) -> ScheduleObject:
    """Resume a deactivated schedule."""
    response = await request("POST", f"/api/v1/schedules/{schedule_id}/activate")
    return ScheduleObject.model_validate(response.json())


async def deactivate(schedule_id: str) -> ScheduleObject:
    """Stop a schedule ticking until it is activated."""
    response = await request("POST", f"/api/v1/schedules/{schedule_id}/deactivate")
    return ScheduleObject.model_validate(response.json())


class SchedulePage(NamedTuple):
    """One page of schedules and where it sits."""

    items: builtins.list[ScheduleObject]
    page: int
    total_pages: int
    total: int
    """How many schedules there are in all."""


async def list_page(*, page: int = 1, per_page: int = 10) -> SchedulePage:
    """One page (1-based) of the environment's schedules, newest first."""
    response = await request("GET", f"/api/v1/schedules?page={page}&perPage={per_page}")
    body = ListSchedulesResponse.model_validate(response.json())
    p = body.pagination
    return SchedulePage(body.data, p.current_page, p.total_pages, p.count)


async def list(  # shadows the builtin on purpose: Trigger.dev's name
    *, per_page: int = 10
) -> AsyncIterator[ScheduleObject]:
    """Every schedule, newest first, fetching page after page."""
    page = await list_page(per_page=per_page)
    while True:
        for item in page.items:
            yield item
        if page.page >= page.total_pages:
            return
        page = await list_page(page=page.page + 1, per_page=per_page)


async def timezones(*, exclude_utc: bool = False) -> builtins.list[str]:
    """The IANA time zones a schedule accepts (``UTC`` first unless excluded)."""
    suffix = "?excludeUtc=true" if exclude_utc else ""
    response = await request("GET", f"/api/v1/timezones{suffix}")
    return TimezonesResponse.model_validate(response.json()).timezones
