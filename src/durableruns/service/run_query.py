"""Asking a running run's workflow for its record, patient with a busy worker.

A read first gives the worker :data:`QUERY_TIMEOUT` to answer. When it does not, the
reason matters: with no worker polling the runs queue the caller rebuilds the record
from history (what it can know without workflow code), but a worker that is only busy
(hundreds of reads at once on a loaded machine) must not turn a retrieve into a
degraded record with its metadata and waits missing. So when a worker is polling, the
query is asked again with :data:`BUSY_WORKER_TIMEOUT`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError

from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.workflows.run import RunWorkflow
from durableruns.models import RunRecord
from durableruns.service.pollers import live_pollers

BUSY_WORKER_TIMEOUT = timedelta(seconds=10)
"""How long a read waits for a worker that polls but did not answer in QUERY_TIMEOUT."""


async def query_record(
    client: Client, handle: WorkflowHandle[Any, Any], runs_queue: str
) -> RunRecord | None:
    """The run's record from its ``get`` query; None when no worker answers (none polls
    ``runs_queue``, or the one that does stayed silent for BUSY_WORKER_TIMEOUT too)."""
    try:
        return await handle.query(RunWorkflow.get, rpc_timeout=QUERY_TIMEOUT)
    except WorkflowQueryFailedError:
        return None  # the workflow could not answer (its task fails): rebuild it
    except RPCError:
        pass
    if not await live_pollers(client, runs_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW):
        return None
    try:
        return await handle.query(RunWorkflow.get, rpc_timeout=BUSY_WORKER_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError):
        return None
