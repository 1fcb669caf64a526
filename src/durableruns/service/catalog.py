"""Registering a worker's tasks in the catalog, and reading the catalog (cached).

See ``catalog_workflow.py`` for why the catalog exists.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from durableruns.catalog_models import Catalog, Deployment
from durableruns.engine.names import CATALOG_MEMO, runs_queue
from durableruns.engine.workflows.catalog import CatalogWorkflow
from durableruns.errors import TaskDefinitionError
from durableruns.task_definitions import TaskRegistry

CACHE_SECONDS = 1.0
READ_TIMEOUT = timedelta(seconds=5)


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
    """The facade's view of the catalog, re-read at most once a second.

    Read from the catalog workflow's memo (``describe``), which is exact and needs no
    worker, by one caller at a time: a burst of triggers costs one read.
    """

    def __init__(self, client: Client, *, task_queue_prefix: str) -> None:
        self._handle = client.get_workflow_handle(catalog_id(task_queue_prefix))
        self._cached: Catalog | None = None
        self._read_at = 0.0
        self._reading = asyncio.Lock()

    async def get(self) -> Catalog:
        """The catalog; empty when nothing was ever deployed."""
        async with self._reading:
            if self._cached is not None and time.monotonic() - self._read_at < CACHE_SECONDS:
                return self._cached
            try:
                description = await self._handle.describe(rpc_timeout=READ_TIMEOUT)
                raw = await description.memo_value(CATALOG_MEMO, None)
                catalog = Catalog.model_validate(raw) if raw else Catalog()
            except RPCError:  # never deployed (not found), or Temporal is unreachable
                catalog = self._cached or Catalog()
            self._cached, self._read_at = catalog, time.monotonic()
            return catalog

    def forget(self) -> None:
        """Read afresh next time (after this facade changed the catalog)."""
        self._read_at = 0.0
