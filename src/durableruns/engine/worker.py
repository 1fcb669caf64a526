"""A durableruns worker: the run workflow, plus the attempt activity on the queue of
each task it serves.

Every worker polls the shared runs queue, so run workflows make progress wherever
workers are; attempts go only to workers that have the task's code.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from durableruns.engine.attempt_activity import AttemptActivity
from durableruns.engine.batch_workflow import BatchWorkflow
from durableruns.engine.run_workflow import RunWorkflow
from durableruns.engine.task_queues import runs_queue, task_queue
from durableruns.task_definitions import TaskRegistry


def default_version(today: datetime | None = None) -> str:
    """A version derived from the date, e.g. ``20261128.1``."""
    return f"{(today or datetime.now(UTC)):%Y%m%d}.1"


def build_workers(
    client: Client, registry: TaskRegistry, *, task_queue_prefix: str, version: str
) -> list[Worker]:
    """One Temporal worker for run workflows and one per served task."""
    attempts = AttemptActivity(registry, version, task_queue_prefix)
    workers = [
        Worker(
            client, task_queue=runs_queue(task_queue_prefix), workflows=[RunWorkflow, BatchWorkflow]
        )
    ]
    for task in registry:
        workers.append(
            Worker(
                client,
                task_queue=task_queue(task_queue_prefix, task.id),
                activities=[attempts.run_attempt],
                # Cancellation reaches the task's code at the next heartbeat: keep it close.
                max_heartbeat_throttle_interval=timedelta(seconds=1),
                max_concurrent_activity_task_polls=2,
            )
        )
    return workers


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, registry: TaskRegistry, *, task_queue_prefix: str, version: str
) -> AsyncIterator[list[Worker]]:
    """Run a worker for the duration of the ``async with`` block."""
    async with contextlib.AsyncExitStack() as stack:
        workers = build_workers(
            client, registry, task_queue_prefix=task_queue_prefix, version=version
        )
        for worker in workers:
            await stack.enter_async_context(worker)
        yield workers
