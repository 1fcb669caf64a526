"""Gathers the numbers of the health verdict (``durableruns.health_report``) from
Temporal: pollers of the runs queue and of each waiting task's queue, open queued runs
from visibility, counts of runs started, completed and failed in the window and in its
baseline (visibility counts, exact), limited queues' state, and the error groups' counts
in the window. A report costs a dozen visibility calls and a few queries; no run is
touched.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import Client

from durableruns.alert_models import Probe, SaturatedLimit
from durableruns.engine import search_attributes as sa
from durableruns.engine.names import runs_queue, task_queue
from durableruns.error_group_models import GROUPED_STATUSES
from durableruns.health_report import BASELINE_WINDOWS, HealthInputs, SaturatedQueue, TopGroup
from durableruns.service.error_groups import ErrorGroupService, GroupFilter
from durableruns.service.limits import LimitService
from durableruns.service.pollers import live_pollers
from durableruns.service.runs import RunService
from durableruns.status import RunStatus

MAX_QUEUED_READ = 1000
"""Open queued runs read to attribute them to tasks and queues (counts beyond are exact
totals, attribution is of the first thousand)."""
TOP_GROUPS = 3


async def gather(
    client: Client, runs: RunService, *, task_queue_prefix: str, window: timedelta, now: datetime
) -> HealthInputs:
    """The verdict's inputs for the window ending ``now``."""
    prefix = task_queue_prefix
    scope = f"TaskQueue = '{runs_queue(prefix)}' AND WorkflowType = 'durableruns.run'"
    start, base_start = now - window, now - window * (1 + BASELINE_WINDOWS)
    failed = ", ".join(f"'{s.value}'" for s in sorted(GROUPED_STATUSES))

    async def count(query: str) -> int:
        return (await client.count_workflows(f"{scope} AND {query}")).count

    def closed(since: datetime, until: datetime) -> str:
        return f"CloseTime >= '{_iso(since)}' AND CloseTime < '{_iso(until)}'"

    workers, found = await asyncio.gather(
        live_pollers(client, runs_queue(prefix), TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        probe(client, runs, task_queue_prefix=prefix, now=now),
    )
    started, completed, failures, base_completed, base_failed = await asyncio.gather(
        count(f"StartTime >= '{_iso(start)}'"),
        count(f"{closed(start, now)} AND {sa.TRIGGER_STATUS.name} = 'COMPLETED'"),
        count(f"{closed(start, now)} AND {sa.TRIGGER_STATUS.name} IN ({failed})"),
        count(f"{closed(base_start, start)} AND {sa.TRIGGER_STATUS.name} = 'COMPLETED'"),
        count(f"{closed(base_start, start)} AND {sa.TRIGGER_STATUS.name} IN ({failed})"),
    )
    groups = await ErrorGroupService(client, task_queue_prefix=prefix).list(
        GroupFilter(start=start, end=now), now=now
    )
    return HealthInputs(
        window_minutes=round(window.total_seconds() / 60),
        workers=len(set(workers)),
        queued=sum(found.queued_by_queue.values()),
        tasks_without_worker=found.tasks_without_worker,
        saturated=tuple(
            SaturatedQueue(s.name, s.bound, s.running, s.waiting) for s in found.saturated
        ),
        started=started,
        completed=completed,
        failed=failures,
        baseline_completed=base_completed,
        baseline_failed=base_failed,
        top_groups=tuple(
            TopGroup(g.group.id, g.group.task_id, g.group.error_type, g.group.message, g.count)
            for g in groups[:TOP_GROUPS]
        ),
    )


async def probe(
    client: Client, runs: RunService, *, task_queue_prefix: str, now: datetime
) -> Probe:
    """The lasting states alerts watch: runs queued for tasks no worker polls for,
    queued runs per queue, and limits at their bound with runs waiting."""
    prefix = task_queue_prefix
    scope = f"TaskQueue = '{runs_queue(prefix)}' AND WorkflowType = 'durableruns.run'"
    queued = await _queued(client, scope)
    by_task = Counter(task for task, _ in queued)
    pollers = await asyncio.gather(*(live_pollers(client, task_queue(prefix, t)) for t in by_task))
    return Probe(
        at=now,
        tasks_without_worker={
            t: n for (t, n), p in zip(by_task.items(), pollers, strict=True) if not p
        },
        queued_by_queue=dict(Counter(q or "" for _, q in queued)),
        saturated=await _saturated(client, runs, prefix),
    )


async def _queued(client: Client, scope: str) -> list[tuple[str, str | None]]:
    """(task, queue) of open runs waiting to start."""
    statuses = ", ".join(f"'{s.value}'" for s in (RunStatus.QUEUED, RunStatus.PENDING_VERSION))
    query = f"{scope} AND ExecutionStatus = 'Running' AND {sa.TRIGGER_STATUS.name} IN ({statuses})"
    found = []
    async for execution in client.list_workflows(query, limit=MAX_QUEUED_READ):
        attrs = execution.typed_search_attributes
        found.append((attrs.get(sa.TRIGGER_TASK_ID) or "", attrs.get(sa.TRIGGER_QUEUE)))
    return found


async def _saturated(client: Client, runs: RunService, prefix: str) -> tuple[SaturatedLimit, ...]:
    """Concurrency limits with runs waiting whose bound (total, or the per-key bound of
    a waiting run's key) is reached."""
    service = LimitService(client, runs, task_queue_prefix=prefix)
    declared = await service.declared()
    now = datetime.now(UTC)
    found: list[SaturatedLimit] = []
    for spec in sorted(declared.values(), key=lambda s: s.name):
        state = await service.state(spec)
        if not state.waiting or state.paused:
            continue
        total = state.total_bound
        if total is not None and len(state.holders) >= total:
            found.append(
                SaturatedLimit(
                    name=spec.name,
                    bound=total,
                    running=len(state.holders),
                    waiting=len(state.waiting),
                )
            )
            continue
        for pool in sorted({w.pool for w in state.waiting}):
            bound = state.per_key_bound(pool, now)
            if bound is not None and state.running_in(pool) >= bound:
                running, waiting = state.running_in(pool), state.queued_in(pool)
                found.append(
                    SaturatedLimit(name=spec.name, bound=bound, running=running, waiting=waiting)
                )
                break
    return tuple(found)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")
