"""A schedule definition as a Temporal Schedule: the cron as calendar specs in the
schedule's time zone, the tick workflow as the action, and the policies (overlap
ALLOW_ALL, a 5-minute catch-up window; see docs/schedules.md)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)

from durableruns.cron import CronExpression, parse_cron
from durableruns.engine.names import runs_queue
from durableruns.engine.workflows.schedule_tick import ScheduleTickWorkflow
from durableruns.scheduling import ScheduleDefinition

CATCHUP_WINDOW = timedelta(minutes=5)
"""Ticks missed while Temporal was down still run when it returns if this recent."""


def calendars(expr: CronExpression) -> list[ScheduleCalendarSpec]:
    """Temporal calendar specs for a cron; two when both day fields are restricted,
    since cron ORs day of month with day of week while a calendar ANDs its fields."""
    any_day, any_weekday = [ScheduleRange(1, 31)], [ScheduleRange(0, 6)]
    days = [
        (_ranges(expr.days_of_month), _ranges(expr.days_of_week)),
    ]
    if expr.restricts_day_of_month and expr.restricts_day_of_week:
        days = [(_ranges(expr.days_of_month), any_weekday), (any_day, _ranges(expr.days_of_week))]
    return [
        ScheduleCalendarSpec(
            second=[ScheduleRange(0)],
            minute=_ranges(expr.minutes),
            hour=_ranges(expr.hours),
            day_of_month=dom,
            month=_ranges(expr.months),
            day_of_week=dow,
            comment=expr.source,
        )
        for dom, dow in days
    ]


def _ranges(values: tuple[int, ...]) -> list[ScheduleRange]:
    """Consecutive runs of values as inclusive ranges."""
    ranges: list[ScheduleRange] = []
    for value in values:
        if ranges and ranges[-1].end == value - 1:
            ranges[-1] = ScheduleRange(ranges[-1].start, value)
        else:
            ranges.append(ScheduleRange(value, value))
    return ranges


def temporal_schedule(definition: ScheduleDefinition, *, paused: bool) -> Schedule:
    """The Temporal Schedule for a definition (its cron already checked)."""
    prefix = definition.task_queue_prefix
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ScheduleTickWorkflow.run,
            definition,
            id=f"{prefix}:schedule-tick:{definition.schedule_id}",
            task_queue=runs_queue(prefix),
            static_summary=f"{definition.task_id} schedule tick",
        ),
        spec=ScheduleSpec(
            calendars=calendars(parse_cron(definition.cron)), time_zone_name=definition.timezone
        ),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW
        ),
        state=ScheduleState(paused=paused, note="deactivated" if paused else None),
    )
