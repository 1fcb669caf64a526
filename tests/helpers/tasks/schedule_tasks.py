"""Scheduled tasks the schedule tests attach schedules to."""

from __future__ import annotations

from typing import Any

from durableruns import schedules
from durableruns.scheduling import ScheduledPayload


@schedules.task(id="sched-echo")
async def sched_echo(payload: ScheduledPayload) -> dict[str, Any]:
    """Echo the typed payload back, so tests see what task code received."""
    return {
        "type": payload.type.value,
        "scheduleId": payload.schedule_id,
        "timestampIsDatetime": payload.timestamp.tzinfo is not None,
        "upcoming": len(payload.upcoming),
    }


@schedules.task(id="sched-nightly", cron="0 3 * * *", timezone="Europe/Paris")
async def sched_nightly(payload: ScheduledPayload) -> None:
    """A declarative schedule (version 1)."""


@schedules.task(id="sched-nightly", cron="15 4 * * 1-5", timezone="Asia/Tokyo")
async def sched_nightly_v2(payload: ScheduledPayload) -> None:
    """The same task with another cron (version 2)."""
