"""What ``durableruns status`` shows: the workers of a stack, its task queues with their
poller counts, and the runs that are not executing (with their ``waitingReason``).

Workers are known by what Temporal knows: the identities polling the runs queue
(every worker polls it) and each task's attempt queues (``task/<id>@<version>`` and
the version-less ``task/<id>``), from ``DescribeTaskQueue``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import Client

from durableruns.engine import search_attributes as sa
from durableruns.engine.names import runs_queue, task_queue
from durableruns.service.limits import LimitService
from durableruns.service.pollers import live_pollers
from durableruns.service.runs import RunService
from durableruns.service.waiting_reason import waiting_reason

NOT_EXECUTING = ("DELAYED", "PENDING_VERSION", "QUEUED", "DEQUEUED", "WAITING")
MAX_RUNS = 50


@dataclass(frozen=True)
class QueueLine:
    """One task queue: which task and version it carries, who polls it."""

    name: str
    task_id: str
    version: str | None
    pollers: list[str]


@dataclass(frozen=True)
class RunLine:
    """A queued or waiting run, as ``durableruns status`` prints it."""

    run_id: str
    task_id: str
    status: str
    reason: str


@dataclass
class StackStatus:
    """What ``durableruns status`` reports: workers, task queues, runs not executing."""

    workers: list[str] = field(default_factory=list)
    queues: list[QueueLine] = field(default_factory=list)
    runs: list[RunLine] = field(default_factory=list)
    more_runs: bool = False


async def stack_status(client: Client, *, task_queue_prefix: str) -> StackStatus:
    """Workers, task queues and not-executing runs of the stack under the prefix."""
    runs = RunService(client, task_queue_prefix=task_queue_prefix)
    limits = LimitService(client, runs, task_queue_prefix=task_queue_prefix)
    catalog = await runs.catalog.get()
    names: list[tuple[str, str, str | None]] = []
    for task_id in sorted({t.id for tasks in catalog.versions.values() for t in tasks}):
        versions = [v for v, ts in catalog.versions.items() if any(t.id == task_id for t in ts)]
        versions.sort(key=lambda v: catalog.registered_at[v], reverse=True)
        for version in [*versions, None]:
            names.append((task_queue(task_queue_prefix, task_id, version), task_id, version))
    workers, *pollers = await asyncio.gather(
        live_pollers(client, runs_queue(task_queue_prefix), TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        *(live_pollers(client, name) for name, _, _ in names),
    )
    status = StackStatus(
        workers=sorted(set(workers)),
        queues=[
            QueueLine(name, task_id, version, sorted(set(found)))
            for (name, task_id, version), found in zip(names, pollers, strict=True)
        ],
    )
    statuses = ", ".join(f"'{s}'" for s in NOT_EXECUTING)
    query = (
        f"TaskQueue = '{runs_queue(task_queue_prefix)}' AND ExecutionStatus = 'Running'"
        f" AND {sa.TRIGGER_STATUS.name} IN ({statuses})"
    )
    ids = [w.id async for w in client.list_workflows(query, limit=MAX_RUNS + 1)]
    status.more_runs = len(ids) > MAX_RUNS
    records = await asyncio.gather(*(runs.retrieve(i) for i in ids[:MAX_RUNS]))
    for record in records:
        if record is None:
            continue
        reason = await waiting_reason(runs, limits, record)
        status.runs.append(
            RunLine(
                record.id, record.task_id, record.status.value, reason.message if reason else ""
            )
        )
    return status
