"""Registering a worker's tasks in the catalog, and reading the catalog (cached).

See ``catalog_workflow.py`` for why the catalog exists.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from durableruns.engine.catalog_workflow import CatalogWorkflow
from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.task_queues import runs_queue
from durableruns.errors import TaskDefinitionError
from durableruns.models import Catalog, Deployment
from durableruns.task_definitions import TaskRegistry

CACHE_SECONDS = 1.0


def catalog_id(task_queue_prefix: str) -> str:
    """The catalog workflow's id for a prefix."""
    return f"durableruns-catalog:{task_queue_prefix}"


async def register_deployment(
    client: Client, registry: TaskRegistry, *, task_queue_prefix: str, version: str
) -> Catalog:
    """Announce that ``version`` serves the registry's tasks; TaskDefinitionError if the
    version already serves one of them with another definition."""
    deployment = Deployment(
        version=version,
        tasks=tuple(task.descriptor(version) for task in registry),
        registered_at=datetime.now(UTC),
    )
    start = WithStartWorkflowOperation(
        CatalogWorkflow.run,
        None,
        id=catalog_id(task_queue_prefix),
        task_queue=runs_queue(task_queue_prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="durableruns: deployed versions and their tasks",
    )
    try:
        return await client.execute_update_with_start_workflow(
            CatalogWorkflow.register, deployment, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as exc:
        raise TaskDefinitionError(str(exc.cause or exc)) from exc


class CatalogReader:
    """The facade's view of the catalog, re-read at most once a second."""

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._handle = client.get_workflow_handle_for(
            CatalogWorkflow.run, catalog_id(task_queue_prefix)
        )
        self._cached: Catalog | None = None
        self._read_at = 0.0

    async def get(self) -> Catalog:
        """The catalog; empty when nothing was ever deployed (or no worker can answer)."""
        if self._cached is not None and time.monotonic() - self._read_at < CACHE_SECONDS:
            return self._cached
        try:
            catalog = await self._handle.query(CatalogWorkflow.get, rpc_timeout=QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError):
            catalog = self._cached or Catalog()
        self._cached, self._read_at = catalog, time.monotonic()
        return catalog

    def forget(self) -> None:
        """Drop the cache (tests, and after this process registered a deployment)."""
        self._cached = None
