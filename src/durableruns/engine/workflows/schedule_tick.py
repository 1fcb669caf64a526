"""One tick of a schedule: the tiny workflow a Temporal Schedule's action starts, which
triggers the scheduled run through the one trigger path (``RunService.trigger``).

Why not let the schedule start the run workflow itself: Temporal appends the tick's
time to the id of a workflow a schedule starts, while a run's id must be ``run_…``, and
a run is only ever started through ``RunService.trigger`` (version pinning, queue,
TTL, payload checks). So the action starts this workflow, which reads its scheduled
time (the ``TemporalScheduledStartTime`` search attribute the server sets) and calls
a local activity (``worker/schedule_ticks.py``) that builds Trigger.dev's payload
(previous tick and the next ten
from the schedule's description) and triggers the run with an id derived from
(namespace, prefix, schedule id, tick time): a retried tick never makes two runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from durableruns.ids import derived_run_id
    from durableruns.scheduling import ScheduleDefinition

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
