"""A scheduled task: ``every-minute`` runs at the start of every minute (UTC), with
Trigger.dev's schedule payload."""

from __future__ import annotations

from durableruns import schedules
from durableruns.scheduling import ScheduledPayload


@schedules.task(id="every-minute", cron="* * * * *")
async def every_minute(payload: ScheduledPayload) -> dict[str, str | None]:
    """Report which tick this is and the one before it."""
    return {
        "scheduleId": payload.schedule_id,
        "timestamp": payload.timestamp.isoformat(),
        "lastTimestamp": payload.last_timestamp.isoformat() if payload.last_timestamp else None,
    }
