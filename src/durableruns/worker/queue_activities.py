"""The activities behind queues: asking a queue for a slot (signal-with-start of its
workflow) and checking which holders have ended. See ``engine/workflows/queue.py``."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from durableruns.catalog_models import QueueState, SlotRequest
from durableruns.engine.names import (
    CLOSED_RUNS_ACTIVITY,
    ENQUEUE_ACTIVITY,
    QUEUE_WORKFLOW,
    queue_workflow_id,
    runs_queue,
)


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


@activity.defn(name=CLOSED_RUNS_ACTIVITY)
async def closed_runs(run_ids: list[str]) -> list[str]:
    """Which of these runs' workflows are no longer running (so hold no slot)."""
    client = activity.client()
    closed = []
    for run_id in run_ids:
        try:
            description = await client.get_workflow_handle(run_id).describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                closed.append(run_id)
            continue
        if description.status is not WorkflowExecutionStatus.RUNNING:
            closed.append(run_id)
    return closed
