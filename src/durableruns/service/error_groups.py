"""Reading and changing an environment's error groups (held by its error-groups
workflow, ``engine/workflows/monitor.py``; ``monitor_state`` starts it).

Reads go through ``monitor_state`` (a query when a worker runs, else the memo; cached
for a moment so a page that lists and counts costs one read); changes are Updates,
validated by the workflow, so an unknown group is refused without writing anything.
Runs of a group are listed by the ``TriggerErrorGroup`` search attribute
(``filter[errorGroup]`` on the run list).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.names import monitor_id
from durableruns.engine.workflows.monitor import (
    UNKNOWN_GROUP_TYPE,
    MonitorState,
    MonitorWorkflow,
    StatusChange,
)
from durableruns.error_group_models import ErrorGroup, ErrorGroupStatus, IgnoreRule
from durableruns.errors import EngineUnavailableError
from durableruns.service.monitor_state import read_monitor

READ_TIMEOUT = timedelta(seconds=5)
CACHE_SECONDS = 0.5


@dataclass(frozen=True)
class GroupFilter:
    """What ``GET /api/v1/errors`` filters by; empty tuples and None match everything."""

    statuses: tuple[ErrorGroupStatus, ...] = ()
    task_ids: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    search: str | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class CountedGroup:
    """A group as of now: its effective status and its count within the filter's range."""

    group: ErrorGroup
    status: ErrorGroupStatus
    count: int


class ErrorGroupService:
    """One environment's error groups."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix
        self._cached: MonitorState | None = None
        self._read_at = 0.0
        self._reading = asyncio.Lock()

    async def state(self) -> MonitorState:
        """Every group (empty when no worker ever started in this environment)."""
        async with self._reading:
            if self._cached is not None and time.monotonic() - self._read_at < CACHE_SECONDS:
                return self._cached
            state = await read_monitor(self._client, self._prefix)
            self._cached, self._read_at = state, time.monotonic()
            return state

    async def list(self, group_filter: GroupFilter, *, now: datetime) -> list[CountedGroup]:
        """Matching groups, most occurrences in the range first, then most recent."""
        state = await self.state()
        counted = [
            CountedGroup(
                g, g.effective_status(now), g.count_between(group_filter.start, group_filter.end)
            )
            for g in state.groups.values()
        ]
        matching = [c for c in counted if _matches(c, group_filter)]
        return sorted(
            matching, key=lambda c: (-c.count, -c.group.last_seen.timestamp(), c.group.id)
        )

    async def get(self, group_id: str) -> ErrorGroup | None:
        """One group, or None."""
        return (await self.state()).groups.get(group_id)

    async def resolve(self, group_id: str, version: str | None) -> ErrorGroup | None:
        """Mark resolved; None for an unknown group."""
        return await self._change(
            StatusChange(group_id=group_id, action="resolve", resolved_in_version=version)
        )

    async def ignore(self, group_id: str, rule: IgnoreRule) -> ErrorGroup | None:
        """Mark ignored until ``rule``'s bound; None for an unknown group."""
        return await self._change(StatusChange(group_id=group_id, action="ignore", ignore=rule))

    async def unresolve(self, group_id: str) -> ErrorGroup | None:
        """Back to unresolved; None for an unknown group."""
        return await self._change(StatusChange(group_id=group_id, action="unresolve"))

    async def _change(self, change: StatusChange) -> ErrorGroup | None:
        if change.group_id not in (await self.state()).groups:
            return None  # checked here too: no Update waits on a worker for nothing
        handle = self._client.get_workflow_handle_for(MonitorWorkflow.run, monitor_id(self._prefix))
        try:
            group = await handle.execute_update(
                MonitorWorkflow.change, change, rpc_timeout=READ_TIMEOUT
            )
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == UNKNOWN_GROUP_TYPE:
                return None
            raise EngineUnavailableError(f"Could not change the error group: {exc}") from exc
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
            if isinstance(exc, RPCError) and exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not change the error group: {exc}") from exc
        self._cached = None
        return group


def _matches(counted: CountedGroup, f: GroupFilter) -> bool:
    group = counted.group
    if f.statuses and counted.status not in f.statuses:
        return False
    if f.task_ids and group.task_id not in f.task_ids:
        return False
    if f.versions and not set(f.versions) & set(group.versions):
        return False
    if f.search:
        needle = f.search.lower()
        haystack = f"{group.error_type} {group.message} {group.sample_message}".lower()
        if needle not in haystack:
            return False
    return not ((f.start or f.end) and counted.count == 0)
