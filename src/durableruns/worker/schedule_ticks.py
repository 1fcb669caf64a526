"""The schedule tick's local activity: builds Trigger.dev's scheduled payload (the previous
tick and the next ten, from the schedule's description) and triggers the tick's run
through the one trigger path, with an id derived from the tick (see
``engine/workflows/schedule_tick.py`` for why a tick is a workflow of its own)."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.workflows.schedule_tick import (
    FIRE_TICK_ACTIVITY,
    TickRequest,
    temporal_schedule_id,
    tick_key,
    tick_run_id,
    tick_time,
)
from durableruns.errors import InvalidInputError
from durableruns.models import RunOptions
from durableruns.scheduling import UPCOMING_COUNT, ScheduleDefinition, ScheduledPayload
from durableruns.service.runs import RunService

_services: dict[tuple[str, str], RunService] = {}
"""Run services by (namespace, prefix): their catalog cache outlives one tick."""


@activity.defn(name=FIRE_TICK_ACTIVITY)
async def fire_tick(request: TickRequest) -> str:
    """Build the tick's payload and trigger its run; the run id."""
    client = activity.client()
    definition = request.definition
    prefix = definition.task_queue_prefix
    last, upcoming = await _neighbours(client, definition, request.at)
    payload = ScheduledPayload(
        type=definition.type,
        timestamp=tick_time(request.at),
        last_timestamp=last,
        timezone=definition.timezone,
        schedule_id=definition.schedule_id,
        external_id=definition.external_id,
        upcoming=upcoming,
    )
    key = (client.namespace, prefix)
    service = _services.get(key) or _services.setdefault(
        key, RunService(client, task_queue_prefix=prefix)
    )
    try:
        triggered = await service.trigger(
            definition.task_id,
            payload.to_wire(),
            RunOptions(schedule_id=definition.schedule_id),
            run_id=tick_run_id(client.namespace, prefix, definition.schedule_id, request.at),
            default_ttl_s=definition.default_ttl_s,
        )
    except InvalidInputError as exc:  # e.g. the task's payload schema refuses it: final
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
    return triggered.run_id


async def _neighbours(
    client: Client, definition: ScheduleDefinition, at: datetime
) -> tuple[datetime | None, list[datetime]]:
    """The schedule's tick before ``at`` (from its recent actions) and those after it."""
    handle = client.get_schedule_handle(
        temporal_schedule_id(definition.task_queue_prefix, definition.schedule_id)
    )
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:  # deleted since this tick started
            return None, []
        raise
    now = tick_key(at)
    earlier = [
        tick_time(a.scheduled_at)
        for a in description.info.recent_actions
        if tick_key(a.scheduled_at) < now
    ]
    later = [tick_time(t) for t in description.info.next_action_times if tick_key(t) > now]
    return (max(earlier) if earlier else None), later[:UPCOMING_COUNT]
