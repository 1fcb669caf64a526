"""The batch workflow: the durable record of one batch (workflow id = ``batch_…``).

The facade creates the runs of a batch itself (each with an id derived from the batch
and the item's index, so a resent item stream creates nothing twice) and then tells
this workflow which items exist. It completes once every item has arrived, so a
sealed batch is readable with no worker running.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.batch_models import BatchInput, BatchRecord
    from durableruns.engine.names import BATCH_MEMO, BATCH_WORKFLOW

"""The batch record is also kept in the workflow's memo: readers ``describe`` it, which
is exact, needs no worker and does not queue behind a busy runs queue like a query."""
UNSEALED_BATCH_LIFETIME = timedelta(days=1)
"""A batch whose items never all arrive is closed after this, as it is."""


@workflow.defn(name=BATCH_WORKFLOW)
class BatchWorkflow:
    """Holds a batch's item → run id map until all items have arrived."""

    @workflow.init
    def __init__(self, input: BatchInput) -> None:
        # Set before any handler runs: the facade's first ``items_created`` Update can
        # arrive with the start, in the same activation, before ``run`` begins.
        self._batch = BatchRecord(
            id=input.batch_id,
            run_count=input.run_count,
            task_identifiers=list(input.task_identifiers),
            created_at=input.created_at,
            updated_at=input.created_at,
            idempotency_key=input.idempotency_key,
        )

    @workflow.run
    async def run(self, input: BatchInput) -> BatchRecord:
        """Wait until sealed (or given up on); returns the final record."""
        batch = self._batch
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: batch.sealed, timeout=UNSEALED_BATCH_LIFETIME)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return batch

    @workflow.query
    def get(self) -> BatchRecord:
        """The batch as it is now."""
        return self._batch

    @workflow.update
    def items_created(self, run_ids: dict[int, str]) -> BatchRecord:
        """Record the runs created for these item indexes (idempotent)."""
        batch = self._batch
        batch.run_ids.update(run_ids)
        batch.updated_at = workflow.now()
        if batch.sealed and batch.sealed_at is None:
            batch.sealed_at = workflow.now()
        # Batches recorded before the memo existed must replay without it.
        if workflow.patched("batch-memo"):
            workflow.upsert_memo({BATCH_MEMO: batch.model_dump(mode="json")})
        return batch
