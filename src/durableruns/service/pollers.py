"""Which workers poll a Temporal task queue now (``DescribeTaskQueue``).

A poller counts as alive when it polled within :data:`POLLER_ALIVE_S`: an idle long
poll is renewed every minute, and Temporal keeps a stopped worker's pollers listed for
minutes. Used to tell a slow worker from a missing one (``service/run_query.py``), why a
run is not running (``service/waiting_reason.py``) and the stack's status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

POLLER_ALIVE_S = 75.0


async def live_pollers(
    client: Client,
    queue: str,
    kind: TaskQueueType.ValueType = TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
) -> list[str]:
    """Identities of the workers polling task queue ``queue`` (its activity side by
    default) now; none when Temporal cannot tell."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=queue), task_queue_type=kind
    )
    try:
        response = await client.workflow_service.describe_task_queue(request)
    except RPCError:
        return []
    cutoff = datetime.now(UTC) - timedelta(seconds=POLLER_ALIVE_S)
    return [
        p.identity for p in response.pollers if p.last_access_time.ToDatetime(tzinfo=UTC) >= cutoff
    ]
