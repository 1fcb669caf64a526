"""Is any worker serving a task queue? The run workflow asks before its first attempt
to tell QUEUED (a worker will take it) from PENDING_VERSION (none serves the task yet).

Either way the attempt stays scheduled on the queue, so a worker that starts serving
the task later picks it up by itself: no re-trigger, no lost payload.
"""

from __future__ import annotations

import time

from temporalio import activity
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

CACHE_SECONDS = 2.0
_served: dict[str, tuple[float, bool]] = {}
"""Per process: queue → (checked at, served), so a burst of runs costs one RPC."""


@activity.defn(name="durableruns.task_is_served")
async def task_is_served(task_queue: str) -> bool:
    """Whether a worker polled ``task_queue`` recently (Temporal's poller list)."""
    client = activity.client()
    key = f"{client.namespace}/{task_queue}"
    now = time.monotonic()
    cached = _served.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    served = bool(response.pollers)
    _served[key] = (now, served)
    return served
