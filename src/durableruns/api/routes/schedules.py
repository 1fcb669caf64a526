"""``/api/v1/schedules`` and ``/api/v1/timezones``: schedules at Trigger.dev's paths
and shapes, in the caller's environment (``engine.schedules``)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from durableruns.api.deps import EnvironmentDep
from durableruns.api.environments import Environment
from durableruns.cron import describe, parse_cron, timezones
from durableruns.service.schedules import ScheduleView
from durableruns.wire import RunSchedule, ScheduleGenerator
from durableruns.wire_schedules import (
    CreateScheduleRequest,
    DeletedSchedule,
    ListSchedulesResponse,
    ScheduleEnvironment,
    ScheduleLastRun,
    ScheduleObject,
    SchedulePagination,
    TimezonesResponse,
    UpdateScheduleRequest,
)

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])
public_router = APIRouter(tags=["schedules"])
"""Routes the official client calls without a key (``schedules.timezones()``)."""

ScheduleId = Annotated[str, Path(description="The schedule's id, ``sched_…``")]
RESPONSE = {"response_model": ScheduleObject, "response_model_exclude_none": True}
ENVIRONMENT_TYPES = {"dev": "DEVELOPMENT", "staging": "STAGING", "prod": "PRODUCTION"}
MAX_PER_PAGE = 100


@router.post("", **RESPONSE)  # type: ignore[arg-type]
async def create_schedule(
    environment: EnvironmentDep, body: Annotated[CreateScheduleRequest, Body()]
) -> ScheduleObject:
    """Create a schedule; the same ``deduplicationKey`` again updates that schedule."""
    view = await environment.schedules.create(
        body.task,
        body.cron,
        timezone=body.timezone,
        external_id=body.external_id,
        deduplication_key=body.deduplication_key,
    )
    return schedule_object(view, environment)


@router.get("", response_model=ListSchedulesResponse, response_model_exclude_none=True)
async def list_schedules(
    environment: EnvironmentDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=MAX_PER_PAGE)] = 10,
) -> ListSchedulesResponse:
    """The environment's schedules, newest first, a page at a time."""
    views, count = await environment.schedules.list(page=page, per_page=per_page)
    return ListSchedulesResponse(
        data=[schedule_object(v, environment) for v in views],
        pagination=SchedulePagination(
            current_page=page, total_pages=math.ceil(count / per_page), count=count
        ),
    )


@router.get("/{schedule_id}", **RESPONSE)  # type: ignore[arg-type]
async def retrieve_schedule(schedule_id: ScheduleId, environment: EnvironmentDep) -> ScheduleObject:
    """One schedule: its cron, time zone, next run and last run."""
    return schedule_object(await environment.schedules.require(schedule_id), environment)


@router.put("/{schedule_id}", **RESPONSE)  # type: ignore[arg-type]
async def update_schedule(
    schedule_id: ScheduleId,
    environment: EnvironmentDep,
    body: Annotated[UpdateScheduleRequest, Body()],
) -> ScheduleObject:
    """Replace an imperative schedule's task, cron, time zone and external id."""
    view = await environment.schedules.update(
        schedule_id, body.task, body.cron, timezone=body.timezone, external_id=body.external_id
    )
    return schedule_object(view, environment)


@router.delete("/{schedule_id}", response_model=DeletedSchedule)
async def delete_schedule(schedule_id: ScheduleId, environment: EnvironmentDep) -> DeletedSchedule:
    """Delete an imperative schedule; the runs it made stay."""
    await environment.schedules.delete(schedule_id)
    return DeletedSchedule(id=schedule_id)


@router.post("/{schedule_id}/activate", **RESPONSE)  # type: ignore[arg-type]
async def activate_schedule(schedule_id: ScheduleId, environment: EnvironmentDep) -> ScheduleObject:
    """Resume ticking."""
    return schedule_object(await environment.schedules.activate(schedule_id), environment)


@router.post("/{schedule_id}/deactivate", **RESPONSE)  # type: ignore[arg-type]
async def deactivate_schedule(
    schedule_id: ScheduleId, environment: EnvironmentDep
) -> ScheduleObject:
    """Stop ticking until activated."""
    return schedule_object(await environment.schedules.deactivate(schedule_id), environment)


@public_router.get("/api/v1/timezones", response_model=TimezonesResponse)
async def list_timezones(
    exclude_utc: Annotated[bool, Query(alias="excludeUtc")] = False,
) -> TimezonesResponse:
    """Every IANA time zone a schedule accepts, ``UTC`` first unless excluded."""
    names = timezones()
    return TimezonesResponse(timezones=list(names[1:] if exclude_utc else names))


def generator(cron: str) -> ScheduleGenerator:
    """The generator of a (checked) cron: the expression and its words."""
    return ScheduleGenerator(expression=cron, description=describe(parse_cron(cron)))


def schedule_object(view: ScheduleView, environment: Environment) -> ScheduleObject:
    """The wire shape of a schedule."""
    d = view.definition
    env = ScheduleEnvironment(
        id=environment.name, type=ENVIRONMENT_TYPES.get(environment.name, "DEVELOPMENT")
    )
    last = (
        ScheduleLastRun(id=view.last_run_id, timestamp=view.last_run_at)
        if view.last_run_id and view.last_run_at
        else None
    )
    return ScheduleObject(
        id=d.schedule_id,
        type=d.type,
        task=d.task_id,
        active=view.active,
        deduplication_key=d.deduplication_key,
        external_id=d.external_id,
        generator=generator(d.cron),
        timezone=d.timezone,
        next_run=view.next_runs[0] if view.next_runs else None,
        environments=[env],
        upcoming=list(view.next_runs),
        last_run=last,
        created_at=view.created_at,
    )


async def run_schedule(environment: Environment, schedule_id: str | None) -> RunSchedule | None:
    """A run's ``schedule``: None when it has none, or the schedule was deleted."""
    view = await environment.schedules.retrieve(schedule_id) if schedule_id else None
    if view is None:
        return None
    d = view.definition
    return RunSchedule(
        id=d.schedule_id,
        external_id=d.external_id,
        deduplication_key=d.deduplication_key,
        generator=generator(d.cron),
    )
