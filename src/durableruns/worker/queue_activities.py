"""The activities behind queues and limits: asking for a slot (signal-with-start of the
queue's or limit's workflow) and checking which holders have ended. See
``engine/workflows/queue.py`` and ``engine/workflows/limit.py``."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from durableruns.catalog_models import QueueState, SlotRequest
from durableruns.engine.names import (
    CLOSED_RUNS_ACTIVITY,
    ENQUEUE_ACTIVITY,
    ENQUEUE_LIMIT_ACTIVITY,
    LIMIT_ENQUEUE_SIGNAL,
    LIMIT_WORKFLOW,
    QUEUE_WORKFLOW,
    limit_workflow_id,
    queue_workflow_id,
    runs_queue,
)
from durableruns.limit_models import LimitRequest, LimitState


@activity.defn(name=ENQUEUE_ACTIVITY)
async def enqueue(prefix: str, queue: str, key: str | None, request: SlotRequest) -> None:
    """Signal-with-start the queue's workflow with a slot request."""
    await activity.client().start_workflow(
        QUEUE_WORKFLOW,
        QueueState(name=queue, concurrency_key=key, limit=request.limit),
        id=queue_workflow_id(prefix, queue, key),
        task_queue=runs_queue(prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="enqueue",
        start_signal_args=[request],
        static_summary=f"queue {queue}" + (f" (key {key})" if key else ""),
    )


@activity.defn(name=ENQUEUE_LIMIT_ACTIVITY)
async def enqueue_limit(prefix: str, request: LimitRequest) -> None:
    """Signal-with-start a limit's workflow with a slot request (a run calls this only
    when its plain signal found no workflow: the first use of the limit)."""
    await activity.client().start_workflow(
        LIMIT_WORKFLOW,
        LimitState(spec=request.spec),
        id=limit_workflow_id(prefix, request.spec.name),
        task_queue=runs_queue(prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=LIMIT_ENQUEUE_SIGNAL,
        start_signal_args=[request],
        static_summary=f"concurrency limit {request.spec.name}",
    )


@activity.defn(name=CLOSED_RUNS_ACTIVITY)
async def closed_runs(run_ids: list[str]) -> list[str]:
    """Which of these runs' workflows are no longer running (so hold no slot); asked
    twenty at a time."""
    client = activity.client()
    gate = asyncio.Semaphore(20)

    async def is_closed(run_id: str) -> bool:
        async with gate:
            try:
                description = await client.get_workflow_handle(run_id).describe()
            except RPCError as exc:
                return exc.status is RPCStatusCode.NOT_FOUND
        return description.status is not WorkflowExecutionStatus.RUNNING

    closed = await asyncio.gather(*(is_closed(r) for r in run_ids))
    return [run_id for run_id, gone in zip(run_ids, closed, strict=True) if gone]
