"""One tick of a schedule: the tiny workflow a Temporal Schedule's action starts, which
triggers the scheduled run through the one trigger path (``RunService.trigger``).

Why not let the schedule start the run workflow itself: Temporal appends the tick's
time to the id of a workflow a schedule starts, while a run's id must be ``run_…``, and
a run is only ever started through ``RunService.trigger`` (version pinning, queue,
TTL, payload checks). So the action starts this workflow, which reads its scheduled
time (the ``TemporalScheduledStartTime`` search attribute the server sets) and calls
a local activity that builds Trigger.dev's payload (previous tick and the next ten
from the schedule's description) and triggers the run with an id derived from
(namespace, prefix, schedule id, tick time): a retried tick never makes two runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import activity, workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode

    from durableruns.engine.service import RunService
    from durableruns.errors import InvalidInputError
    from durableruns.ids import derived_run_id
    from durableruns.models import RunOptions
    from durableruns.scheduling import (
        UPCOMING_COUNT,
        ScheduleDefinition,
        ScheduledPayload,
    )

SCHEDULE_TICK_WORKFLOW = "durableruns.schedule_tick"
FIRE_TICK_ACTIVITY = "durableruns.fire_schedule_tick"
SCHEDULED_START_TIME = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by the server on every workflow a schedule starts: the tick's time."""
FIRE_TIMEOUT = timedelta(seconds=30)


def temporal_schedule_id(task_queue_prefix: str, schedule_id: str) -> str:
    """The Temporal schedule's id: prefixed, so test stacks never see each other's."""
    return f"{task_queue_prefix}:{schedule_id}"


def tick_time(at: datetime) -> datetime:
    """A tick's time to the second, in UTC: the precision of the scheduled-time search
    attribute (and of the tick workflow's id: two triggers in one second are one tick),
    while the schedule's recent actions keep microseconds."""
    return at.astimezone(UTC).replace(microsecond=0)


def tick_key(at: datetime) -> str:
    """A tick's time as the run id is derived from it."""
    return tick_time(at).isoformat()


def tick_run_id(namespace: str, task_queue_prefix: str, schedule_id: str, at: datetime) -> str:
    """The run a tick makes: a pure function of the schedule and the tick's time."""
    return derived_run_id(namespace, task_queue_prefix, "schedule", schedule_id, tick_key(at))


class TickRequest(BaseModel):
    """What the tick's local activity is given."""

    model_config = ConfigDict(frozen=True)

    definition: ScheduleDefinition
    at: datetime


@workflow.defn(name=SCHEDULE_TICK_WORKFLOW)
class ScheduleTickWorkflow:
    """Started by a schedule for each tick; returns the run id it triggered."""

    @workflow.run
    async def run(self, definition: ScheduleDefinition) -> str:
        """Trigger this tick's run (idempotently)."""
        at = workflow.info().typed_search_attributes.get(SCHEDULED_START_TIME) or workflow.now()
        run_id: str = await workflow.execute_local_activity(
            FIRE_TICK_ACTIVITY,
            TickRequest(definition=definition, at=at),
            start_to_close_timeout=FIRE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)),
        )
        return run_id


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
