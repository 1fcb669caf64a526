"""Why isn't it running? The ``waitingReason`` of a run that is not executing.

Read from where the truth is, at the moment of asking: the run's own record (delay,
timers, child runs, its version), the queue workflow's state (slots held, the line of
waiting runs) and Temporal's task-queue pollers (``DescribeTaskQueue``: which workers
poll the queue the run's attempt is dispatched to: ``service/pollers.py``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from durableruns.engine.names import task_queue
from durableruns.ids import derived_run_id
from durableruns.models import RunRecord, WaitSpec
from durableruns.service.pollers import live_pollers
from durableruns.service.queues import QueueService, UnknownQueueError
from durableruns.service.runs import RunService
from durableruns.status import RunStatus, is_completed
from durableruns.wire import WaitingReason

log = logging.getLogger(__name__)
MAX_CHILDREN_READ = 100


async def waiting_reason(
    runs: RunService, queues: QueueService, record: RunRecord
) -> WaitingReason | None:
    """Why ``record``'s run is not executing; None when it is executing or finished, or
    when the engine could not tell (a retrieve never fails for want of a reason)."""
    try:
        return await _reason(runs, queues, record)
    except Exception:
        log.warning("could not tell why run %s is waiting", record.id, exc_info=True)
        return None


async def _reason(
    runs: RunService, queues: QueueService, record: RunRecord
) -> WaitingReason | None:
    status = record.status
    if is_completed(status) or status is RunStatus.EXECUTING:
        return None
    if status is RunStatus.DELAYED and record.delayed_until is not None:
        until = record.delayed_until
        return WaitingReason(code="DELAYED", message=f"Delayed until {_when(until)}", until=until)
    if status is RunStatus.PENDING_VERSION:
        return WaitingReason(
            code="PENDING_VERSION",
            message=f"No deployed version serves task {record.task_id!r}; the run starts"
            " when a worker serving it appears",
        )
    if status is RunStatus.WAITING:
        reason = await _waits(runs.client, record)
        if reason is not None:
            return reason
    if status in (RunStatus.QUEUED, RunStatus.WAITING) and record.options.concurrency_limit:
        reason = await _queue_slot(queues, record)
        if reason is not None:
            return reason
    return await _dispatch(runs, record)


async def _waits(client: Client, record: RunRecord) -> WaitingReason | None:
    """A timer not yet over, or child runs not all done (None: every wait is over)."""
    now = datetime.now(UTC)
    timers = [w.until for w in record.waits if w.kind == "timer" and w.until and w.until > now]
    child_ids = _child_ids(record.id, [w for w in record.waits if w.kind == "runs"])
    if child_ids:
        done = await _done_count(client, child_ids[:MAX_CHILDREN_READ])
        if done < len(child_ids):
            return WaitingReason(
                code="CHILD_RUNS",
                message=f"Waiting for {len(child_ids)} child run"
                f"{'s' if len(child_ids) != 1 else ''} ({done} done)",
                child_runs=len(child_ids),
                child_runs_done=done,
            )
    if timers:
        until = max(timers)
        return WaitingReason(code="TIMER", message=f"A timer until {_when(until)}", until=until)
    return None


def _child_ids(run_id: str, waits: list[WaitSpec]) -> list[str]:
    return [
        derived_run_id(run_id, "child", str(w.position), str(i))
        for w in waits
        for i in range(len(w.items))
    ]


async def _done_count(client: Client, run_ids: list[str]) -> int:
    async def closed(run_id: str) -> bool:
        try:
            description = await client.get_workflow_handle(run_id).describe()
        except RPCError:
            return False
        return description.status is not WorkflowExecutionStatus.RUNNING

    return sum(await asyncio.gather(*(closed(i) for i in run_ids)))


async def _queue_slot(queues: QueueService, record: RunRecord) -> WaitingReason | None:
    """In line for a slot of a limited queue (None: it holds one, or is not in line)."""
    options = record.options
    name = options.queue or f"task/{record.task_id}"
    try:
        state = await queues.get(name, options.concurrency_key)
    except UnknownQueueError:
        return None
    if record.id in state.holders:
        return None
    line = sorted(state.waiting, key=lambda w: w.enqueued_at - timedelta(seconds=w.priority_s))
    position = next((i + 1 for i, w in enumerate(line) if w.run_id == record.id), None)
    if position is None:
        return None
    running, limit = len(state.holders), state.limit
    key = f" (key {options.concurrency_key})" if options.concurrency_key else ""
    return WaitingReason(
        code="QUEUE_AT_LIMIT",
        message=f"Queue {name}{key} is at its limit: {running}/{limit} running,"
        f" position {position}",
        queue=name,
        concurrency_key=options.concurrency_key,
        running=running,
        limit=limit,
        position=position,
    )


async def _dispatch(runs: RunService, record: RunRecord) -> WaitingReason:
    """Its execution is on a task queue: is any worker (of its version) polling it?"""
    client, prefix = runs.client, runs.task_queue_prefix
    version = record.version if record.attempts else None
    version = version or record.options.lock_to_version
    queue = task_queue(prefix, record.task_id, version)
    pollers = await live_pollers(client, queue)
    if pollers:
        return WaitingReason(
            code="DISPATCHED",
            message=f"Waiting for one of {len(pollers)} polling worker"
            f"{'s' if len(pollers) != 1 else ''} to start it (queue {queue})",
            task_queue=queue,
            pollers=len(pollers),
            version=version,
        )
    serving = await _serving_versions(runs, record.task_id, version)
    if version and serving:
        return WaitingReason(
            code="NO_WORKER_FOR_VERSION",
            message=f"No worker of version {version} is alive (workers serve {', '.join(serving)})",
            task_queue=queue,
            pollers=0,
            version=version,
            serving_versions=serving,
        )
    return WaitingReason(
        code="NO_WORKER",
        message=f"No worker is polling the queue of task {record.task_id!r} ({queue})",
        task_queue=queue,
        pollers=0,
        version=version,
    )


async def _serving_versions(runs: RunService, task_id: str, other_than: str | None) -> list[str]:
    """Deployed versions of the task with a live worker (newest first)."""
    catalog = await runs.catalog.get()
    versions = [v for v, tasks in catalog.versions.items() if any(t.id == task_id for t in tasks)]
    versions = [v for v in versions if v != other_than]
    versions.sort(key=lambda v: catalog.registered_at[v], reverse=True)
    queues = [task_queue(runs.task_queue_prefix, task_id, v) for v in versions]
    alive = await asyncio.gather(*(live_pollers(runs.client, q) for q in queues))
    return [v for v, pollers in zip(versions, alive, strict=True) if pollers]


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
