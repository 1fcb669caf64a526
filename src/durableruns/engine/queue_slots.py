"""The run side of queues: asking a queue for a slot (starting its workflow if needed)
and checking which holders have ended. See ``queue_workflow.py``."""

from __future__ import annotations

import hashlib

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from durableruns.catalog_models import QueueState, SlotRequest
from durableruns.engine.task_queues import runs_queue

SLOT_GRANTED_SIGNAL = "slot_granted"


MAX_READABLE_ID = 500
"""Temporal caps workflow ids at 1,000 characters; a longer queue id names its queue and
key by their hash instead (the same every time, so the queue is still one workflow)."""


def queue_workflow_id(prefix: str, queue: str, concurrency_key: str | None) -> str:
    """The workflow id of a queue (one per concurrency key)."""
    base = f"durableruns-queue:{prefix}:{queue}"
    readable = f"{base}#{concurrency_key}" if concurrency_key else base
    if len(readable) <= MAX_READABLE_ID:
        return readable
    digest = hashlib.sha256(f"{queue}\x1f{concurrency_key or ''}".encode()).hexdigest()
    return f"durableruns-queue:{prefix}:sha256:{digest}"


@activity.defn(name="durableruns.enqueue")
async def enqueue(prefix: str, queue: str, key: str | None, request: SlotRequest) -> None:
    """Signal-with-start the queue's workflow with a slot request."""
    await activity.client().start_workflow(
        "durableruns.queue",
        QueueState(name=queue, concurrency_key=key, limit=request.limit),
        id=queue_workflow_id(prefix, queue, key),
        task_queue=runs_queue(prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="enqueue",
        start_signal_args=[request],
        static_summary=f"queue {queue}" + (f" (key {key})" if key else ""),
    )


@activity.defn(name="durableruns.closed_runs")
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
