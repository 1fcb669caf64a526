"""Reading queues and changing their limits at runtime (``/api/v1/queues``)."""

from __future__ import annotations

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from durableruns.catalog_models import QueueState
from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.names import queue_workflow_id, runs_queue
from durableruns.engine.workflows.queue import QueueWorkflow
from durableruns.errors import (
    UnknownQueueError as UnknownQueueError,  # defined in errors.py (the one tree)
)
from durableruns.service.runs import RunService


class QueueService:
    """Queues as the facade sees them."""

    def __init__(self, client: Client, runs: RunService, *, task_queue_prefix: str) -> None:
        self._client = client
        self._runs = runs
        self._prefix = task_queue_prefix

    async def get(self, name: str, concurrency_key: str | None = None) -> QueueState:
        """A queue's limit, holders and waiting runs."""
        catalog = await self._runs.catalog.get()
        if not catalog.knows_queue(name):
            raise UnknownQueueError(name)
        handle = self._client.get_workflow_handle(
            queue_workflow_id(self._prefix, name, concurrency_key), result_type=type(None)
        )
        try:
            state: QueueState = await handle.query(QueueWorkflow.get, rpc_timeout=QUERY_TIMEOUT)
            return state
        except (RPCError, WorkflowQueryFailedError):  # no run has used it yet
            limit = catalog.queue_limit(name)
            return QueueState(name=name, concurrency_key=concurrency_key, limit=limit or 0)

    async def set_limit(self, name: str, limit: int) -> QueueState:
        """Change a queue's limit now, for every concurrency key already in use."""
        catalog = await self._runs.catalog.get()
        if not catalog.knows_queue(name):
            raise UnknownQueueError(name)
        base_id = queue_workflow_id(self._prefix, name, None)
        start = WithStartWorkflowOperation(
            QueueWorkflow.run,
            QueueState(name=name, limit=limit, limit_overridden=True),
            id=base_id,
            task_queue=runs_queue(self._prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        state = await self._client.execute_update_with_start_workflow(
            QueueWorkflow.set_limit, limit, start_workflow_operation=start
        )
        query = (
            f"WorkflowType = 'durableruns.queue' AND ExecutionStatus = 'Running' "
            f"AND WorkflowId STARTS_WITH '{base_id}#'"
        )
        async for keyed in self._client.list_workflows(query):
            await self._client.get_workflow_handle(keyed.id).execute_update(
                QueueWorkflow.set_limit, limit
            )
        return state
