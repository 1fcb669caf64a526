"""Batches: create the batch record, create its runs item by item, read it back.

Each item's run id is derived from the batch id and the item's index, and started with
workflow-id uniqueness, so an item stream sent twice (the official client resends it
when a batch is not sealed) never creates a run twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.batch_models import BatchInput, BatchRecord
from durableruns.engine.names import BATCH_MEMO, runs_queue
from durableruns.engine.workflows.batch import BatchWorkflow
from durableruns.errors import engine_unavailable
from durableruns.ids import derived_batch_id, derived_run_id, is_batch_id, new_batch_id
from durableruns.models import RunOptions
from durableruns.service.runs import EngineUnavailableError, RunService

MAX_BATCH_ITEMS = 1000
CONCURRENT_STARTS = 32
"""Run starts in flight at once while creating a batch's runs."""


@dataclass(frozen=True)
class BatchItemRun:
    """One item of a batch, validated: where it goes and what it carries."""

    index: int
    task_id: str
    payload: Any
    options: RunOptions


@dataclass(frozen=True)
class ItemsResult:
    """What an item stream did: runs created, items seen before, whether sealed."""

    accepted: int
    deduplicated: int
    sealed: bool


class BatchService:
    """Create and read batches on Temporal."""

    def __init__(self, client: Client, runs: RunService, *, task_queue_prefix: str) -> None:
        self._client = client
        self._runs = runs
        self._prefix = task_queue_prefix

    @property
    def client(self) -> Client:
        """The Temporal client (realtime follows a batch workflow's history through it)."""
        return self._client

    async def create(
        self, run_count: int, task_identifiers: list[str], idempotency_key: str | None = None
    ) -> tuple[BatchRecord, bool]:
        """A new batch (or, for a known idempotency key, the existing one, cached)."""
        batch_id = (
            derived_batch_id(self._client.namespace, self._prefix, "batch", idempotency_key)
            if idempotency_key
            else new_batch_id()
        )
        now = datetime.now(UTC)
        batch = BatchInput(
            batch_id=batch_id,
            run_count=run_count,
            task_identifiers=tuple(sorted(set(task_identifiers))),
            created_at=now,
            idempotency_key=idempotency_key,
        )
        record = BatchRecord(
            id=batch_id,
            run_count=run_count,
            task_identifiers=list(batch.task_identifiers),
            created_at=now,
            updated_at=now,
            idempotency_key=idempotency_key,
        )
        try:
            await self._client.start_workflow(
                BatchWorkflow.run,
                batch,
                id=batch_id,
                memo={BATCH_MEMO: record.model_dump(mode="json")},
                task_queue=runs_queue(self._prefix),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"batch of {run_count} runs",
            )
        except WorkflowAlreadyStartedError:
            existing = await self.retrieve(batch_id)
            if existing is not None:
                return existing, True
        except RPCError as exc:
            raise engine_unavailable("Could not create the batch", exc.message) from exc
        return record, False

    def item_run_id(self, batch_id: str, index: int) -> str:
        """The run id of item ``index`` of a batch."""
        return derived_run_id(self._client.namespace, self._prefix, batch_id, str(index))

    async def add_items(
        self, batch: BatchRecord, items: list[BatchItemRun], *, default_ttl_s: float | None
    ) -> ItemsResult:
        """Create the runs of the items not seen before, then record them in the batch."""
        new = {item.index: item for item in items if item.index not in batch.run_ids}
        gate = asyncio.Semaphore(CONCURRENT_STARTS)

        async def start(item: BatchItemRun) -> tuple[int, str]:
            async with gate:
                options = item.options.model_copy(
                    update={"batch_id": batch.id, "trigger_function": "batchTrigger"}
                )
                triggered = await self._runs.trigger(
                    item.task_id,
                    item.payload,
                    options,
                    run_id=self.item_run_id(batch.id, item.index),
                    default_ttl_s=default_ttl_s,
                    payload_checked=True,  # items come decoded (and checked) by the facade
                )
                # An item with an idempotency key gets its key's run, not the derived id.
                return item.index, triggered.run_id

        created = dict(await asyncio.gather(*(start(item) for item in new.values())))
        sealed = batch.sealed
        if created:
            handle = self._client.get_workflow_handle(batch.id)
            try:
                record = await handle.execute_update(BatchWorkflow.items_created, created)
            except RPCError as exc:
                raise EngineUnavailableError(f"Could not record the batch: {exc.message}") from exc
            sealed = record.sealed
        return ItemsResult(
            accepted=len(created), deduplicated=len(items) - len(created), sealed=sealed
        )

    async def retrieve(self, batch_id: str) -> BatchRecord | None:
        """The batch, or None when there is no such batch."""
        if not is_batch_id(batch_id):
            return None
        try:
            description = await self._client.get_workflow_handle(batch_id).describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not read the batch: {exc.message}") from exc
        return BatchRecord.model_validate(await description.memo_value(BATCH_MEMO))
