"""Schedules on Temporal Schedules: create, read, list, update, delete, activate and
deactivate, in one environment (namespace) and task-queue prefix.

A schedule is one Temporal Schedule, id ``<prefix>:sched_…``, whose action starts a
tick workflow (``schedule_tick.py``) with the schedule's :class:`ScheduleDefinition`
as its argument: that argument is the source of truth for our fields (task, cron,
time zone, external id, deduplication key), read back from ``describe``. The cron is
parsed here and handed to Temporal as calendar specs, so what runs is what we parsed.

Policies (``schedule_spec.py``): overlap ALLOW_ALL (Trigger.dev starts every tick's
run, subject to the queue's concurrency; a tick workflow only triggers and ends), and a
catch-up window of ``CATCHUP_WINDOW``: ticks missed while Temporal was down run late if
they are that recent, older ones are skipped. Deactivate is a pause (with a note),
activate an unpause.

A deduplication key (or, for a declarative schedule, its task) derives the schedule
id, so two creates race on Temporal's schedule-id uniqueness and the second updates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from durableruns.catalog_models import TaskSchedule
from durableruns.cron import check_timezone, parse_cron
from durableruns.engine.workflows.schedule_tick import (
    temporal_schedule_id,
    tick_run_id,
    tick_time,
)
from durableruns.errors import InvalidScheduleError
from durableruns.errors import (
    ScheduleNotFoundError as ScheduleNotFoundError,  # defined in errors.py (the one tree)
)
from durableruns.ids import derived_schedule_id, is_schedule_id, new_schedule_id
from durableruns.scheduling import ScheduleDefinition, ScheduleType
from durableruns.service.catalog import CatalogReader
from durableruns.service.runs import EngineUnavailableError
from durableruns.service.schedule_spec import temporal_schedule

MEMO_KEY = "durableruns"
"""Schedule memo: ``{"created_at": …}`` (memo is fixed at creation; list sorts by it)."""


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as the facade shows it."""

    definition: ScheduleDefinition
    active: bool
    created_at: datetime
    next_runs: tuple[datetime, ...] = ()
    last_run_at: datetime | None = None
    last_run_id: str | None = None
    """The run the last tick made (derived, so it may be gone by retention)."""

    @property
    def id(self) -> str:
        """``sched_…``."""
        return self.definition.schedule_id


class ScheduleService:
    """Schedules of one environment and prefix. ``catalog`` (the facade's) checks that
    an imperative schedule's task is a deployed scheduled task."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue_prefix: str,
        catalog: CatalogReader | None = None,
        default_ttl_s: float | None = None,
    ) -> None:
        self._client = client
        self._prefix = task_queue_prefix
        self._catalog = catalog
        self._default_ttl_s = default_ttl_s

    # --- create and update -------------------------------------------------------------
    async def create(
        self,
        task_id: str,
        cron: str,
        *,
        timezone: str | None = None,
        external_id: str | None = None,
        deduplication_key: str | None = None,
    ) -> ScheduleView:
        """A new imperative schedule; with a ``deduplication_key`` already used, that
        schedule is updated instead."""
        schedule_id = (
            derived_schedule_id(self._client.namespace, self._prefix, "dedup", deduplication_key)
            if deduplication_key
            else new_schedule_id()
        )
        definition = await self._checked(
            schedule_id,
            task_id,
            cron,
            timezone,
            external_id=external_id,
            deduplication_key=deduplication_key,
        )
        await self._put(definition)
        return await self.require(schedule_id)

    async def update(
        self,
        schedule_id: str,
        task_id: str,
        cron: str,
        *,
        timezone: str | None = None,
        external_id: str | None = None,
    ) -> ScheduleView:
        """Replace an imperative schedule's task, cron, time zone and external id
        (its active state and deduplication key stay)."""
        current = await self.require(schedule_id)
        if current.definition.type is ScheduleType.DECLARATIVE:
            raise InvalidScheduleError(
                "schedule", "a declarative schedule changes with its task's cron, not by update"
            )
        definition = await self._checked(
            schedule_id,
            task_id,
            cron,
            timezone,
            external_id=external_id,
            deduplication_key=current.definition.deduplication_key,
        )
        await self._replace(definition)
        return await self.require(schedule_id)

    async def upsert_declarative(self, task_id: str, schedule: TaskSchedule) -> str:
        """Create or update a task's declarative schedule; its id."""
        schedule_id = self.declarative_id(task_id)
        definition = ScheduleDefinition(
            schedule_id=schedule_id,
            task_id=task_id,
            type=ScheduleType.DECLARATIVE,
            cron=parse_cron(schedule.cron).source,
            timezone=check_timezone(schedule.timezone),
            task_queue_prefix=self._prefix,
            default_ttl_s=self._default_ttl_s,
        )
        current = await self.retrieve(schedule_id)
        if current is None:
            await self._put(definition)
        elif current.definition != definition:
            await self._replace(definition)
        return schedule_id

    def declarative_id(self, task_id: str) -> str:
        """The id of a task's declarative schedule."""
        return derived_schedule_id(self._client.namespace, self._prefix, "declarative", task_id)

    async def _checked(
        self, schedule_id: str, task_id: str, cron: str, timezone: str | None, **extra: Any
    ) -> ScheduleDefinition:
        expr = parse_cron(cron)
        zone = check_timezone(timezone or "UTC")
        if self._catalog is not None:
            task = (await self._catalog.get()).latest_serving(task_id)
            if task is None:
                raise InvalidScheduleError("task", f"no deployed version serves {task_id!r}")
            if not task.scheduled:
                raise InvalidScheduleError(
                    "task", f"{task_id!r} is not a scheduled task (define it with schedules.task)"
                )
        return ScheduleDefinition(
            schedule_id=schedule_id,
            task_id=task_id,
            type=ScheduleType.IMPERATIVE,
            cron=expr.source,
            timezone=zone,
            task_queue_prefix=self._prefix,
            default_ttl_s=self._default_ttl_s,
            **extra,
        )

    async def _put(self, definition: ScheduleDefinition) -> None:
        """Create the schedule; if its id exists already, update it."""
        memo = {MEMO_KEY: {"created_at": datetime.now(UTC).isoformat()}}
        try:
            await self._client.create_schedule(
                self._temporal_id(definition.schedule_id),
                temporal_schedule(definition, paused=False),
                memo=memo,
            )
        except ScheduleAlreadyRunningError:
            await self._replace(definition)
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not create the schedule: {exc.message}") from exc

    async def _replace(self, definition: ScheduleDefinition) -> None:
        def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
            paused = current.description.schedule.state.paused
            return ScheduleUpdate(schedule=temporal_schedule(definition, paused=paused))

        await self._call(self._handle(definition.schedule_id).update(updater))

    # --- read ------------------------------------------------------------------------
    async def retrieve(self, schedule_id: str) -> ScheduleView | None:
        """The schedule, or None when there is no such schedule here."""
        if not is_schedule_id(schedule_id):
            return None
        try:
            description = await self._handle(schedule_id).describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not read the schedule: {exc.message}") from exc
        return await self._view(description)

    async def require(self, schedule_id: str) -> ScheduleView:
        """:meth:`retrieve`, or ScheduleNotFoundError."""
        view = await self.retrieve(schedule_id)
        if view is None:
            raise ScheduleNotFoundError(schedule_id)
        return view

    async def list(self, *, page: int = 1, per_page: int = 10) -> tuple[list[ScheduleView], int]:
        """One page (1-based) of this environment's schedules, newest first, and how
        many there are. Read from visibility, so a change can take a moment to show."""
        found: list[tuple[str, str]] = []
        try:
            async for listed in await self._client.list_schedules():
                if listed.id.startswith(f"{self._prefix}:sched_"):
                    memo = await listed.memo_value(MEMO_KEY, {})
                    found.append((str(memo.get("created_at", "")), listed.id))
        except RPCError as exc:
            raise EngineUnavailableError(f"Could not list schedules: {exc.message}") from exc
        found.sort(reverse=True)
        chosen = found[(page - 1) * per_page : page * per_page]
        views = await asyncio.gather(
            *(
                self.retrieve(temporal_id.removeprefix(f"{self._prefix}:"))
                for _, temporal_id in chosen
            )
        )
        return [v for v in views if v is not None], len(found)

    async def _view(self, description: ScheduleDescription) -> ScheduleView:
        action = description.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        [definition] = await self._client.data_converter.decode(
            action.args,
            [ScheduleDefinition],
        )
        memo = await description.memo_value(MEMO_KEY, {})
        created = memo.get("created_at")
        info = description.info
        active = not description.schedule.state.paused
        last = tick_time(info.recent_actions[-1].scheduled_at) if info.recent_actions else None
        return ScheduleView(
            definition=definition,
            active=active,
            created_at=datetime.fromisoformat(created) if created else info.created_at,
            next_runs=tuple(info.next_action_times) if active else (),
            last_run_at=last,
            last_run_id=tick_run_id(
                self._client.namespace, self._prefix, definition.schedule_id, last
            )
            if last
            else None,
        )

    # --- control ---------------------------------------------------------------------
    async def delete(self, schedule_id: str) -> None:
        """Delete an imperative schedule (its runs stay)."""
        current = await self.require(schedule_id)
        if current.definition.type is ScheduleType.DECLARATIVE:
            raise InvalidScheduleError(
                "schedule", "a declarative schedule is removed with its task's cron, not by delete"
            )
        await self.remove(schedule_id)

    async def remove(self, schedule_id: str) -> None:
        """Delete any schedule; a missing one is fine (declarative sync)."""
        try:
            await self._handle(schedule_id).delete()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise EngineUnavailableError(
                    f"Could not delete the schedule: {exc.message}"
                ) from exc

    async def activate(self, schedule_id: str) -> ScheduleView:
        """Resume ticking."""
        await self.require(schedule_id)
        await self._call(self._handle(schedule_id).unpause(note="activated"))
        return await self.require(schedule_id)

    async def deactivate(self, schedule_id: str) -> ScheduleView:
        """Stop ticking until activated (a Temporal pause)."""
        await self.require(schedule_id)
        await self._call(self._handle(schedule_id).pause(note="deactivated"))
        return await self.require(schedule_id)

    def _temporal_id(self, schedule_id: str) -> str:
        return temporal_schedule_id(self._prefix, schedule_id)

    def _handle(self, schedule_id: str) -> ScheduleHandle:
        return self._client.get_schedule_handle(self._temporal_id(schedule_id))

    async def _call(self, operation: Any) -> None:
        try:
            await operation
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise ScheduleNotFoundError(str(exc)) from exc
            raise EngineUnavailableError(f"Schedule operation failed: {exc.message}") from exc
